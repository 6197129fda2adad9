/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Two-host test of reflective memory (SCI_FLAG_BROADCAST) and interrupts over adapter 0, run by
 * tests/vmlab/steps/52-bcast-rdma.sh on two guests with soft-RoCE (adapter 0 = rdma). Also runs on one
 * host over simntb (two processes; with `adapter 0 simntb multicast=0` the group is written with one
 * put per member, as on rdma).
 *
 *   bcast_pair --role server|client --peer-node N --sync PREFIX [--self-node N] [--values N] [--rounds N]
 *
 * Both sides follow Dolphin's reflective-memory flow: SCICreateSegment(group, SCI_FLAG_BROADCAST),
 * SCIPrepareSegment(SCI_FLAG_BROADCAST), SCIMapLocalSegment (where it reads), SCISetSegmentAvailable,
 * SCIConnectSegment(DIS_BROADCAST_NODEID_GROUP_ALL, SCI_FLAG_BROADCAST) retried while NO_SUCH_SEGMENT,
 * SCIMapRemoteSegment(SCI_FLAG_BROADCAST) (over rdma NOT_SUPPORTED: then with SCI_FLAG_OSCI_TRANSFER_MAP
 * too), SCICreateMapSequence. Then:
 *   1. each side's local segment reports CB_CONNECT with the other node id (the peer joined);
 *   2. per round, each side writes its slots (--values u64 values: node id, round, counter) with one
 *      SCIMemCpy each through the broadcast map, SCIFlush, SCICheckSequence, and signals; the other
 *      checks every value of the peer's slots in its own local map, and its own values in it too, and
 *      reads the peer's slots back through the broadcast map (SCI_FLAG_BLOCK_READ);
 *   3. interrupts: the server creates interrupt 40000 and data interrupt 40001 (SCI_FLAG_FIXED_INTNO)
 *      only now; the client connects to both (retrying on NO_SUCH_INTNO, NO_SUCH_SEGMENT's value),
 *      triggers 100 times and sends 20 payloads of 200 bytes; the server counts them all (wait mode)
 *      and checks each payload;
 *   4. the client leaves (SCISetSegmentUnavailable, SCIRemoveSegment): the server's local segment
 *      reports CB_DISCONNECT with the client's node id; a write through the broadcast map still works
 *      (only the own copy is left);
 *   5. the client joins again with a new local segment (its broadcast remote segment stays connected):
 *      CB_CONNECT on both sides, and one more round as in 2 reaches the new copy;
 *   6. both close down in Dolphin's order; the server sees the client's second leave (CB_DISCONNECT).
 * Sync points between the hosts are files PREFIX.<name>.<role> (the lab's shared directory), never the
 * layer under test. Prints a transcript and "bcast-rdma <role>: N passed, N failed"; exit 0 only when
 * nothing failed.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sisci_api.h"

#define LAB_NAME "bcast-rdma"
#include "lab_report.h"
#include "lab_sisci.h"

#define GROUP_ID      7u                /* the broadcast group (segment id) */
#define GROUP_SIZE    (64u * 1024u)
#define SLOT_AREA     (16u * 1024u)     /* bytes of slots per rank: rank 0 (server) first */
#define INTNO         40000u
#define DINTNO        40001u
#define TRIGGERS      100u
#define PAYLOADS      20u
#define PAYLOAD_LEN   200u
#define SYNC_MS       120000u           /* TCG guests are slow: generous, never a timing assertion */

static bool server;
static unsigned int values = 200, rounds = 2;

/* ---------------------------------------------------------------- checks (lab_report.h) */

static void lab_on_die(void)
{
    /* nothing held that exit() does not end */
}

/* ---------------------------------------------------------------- data */

/* Value i of node's slots in round r: node id, round and counter, never 0. */
static uint64_t slot_val(unsigned int node, unsigned int r, unsigned int i)
{
    return (uint64_t)node << 48 | (uint64_t)(r + 1) << 32 | (uint64_t)(i + 1);
}

static size_t slot_off(bool of_server, unsigned int i)
{
    return (of_server ? 0 : SLOT_AREA) + (size_t)i * sizeof(uint64_t);
}

/* Number of values of node's slots (in round r) that differ in mem; the first one goes to *first. */
static unsigned int count_bad(const volatile uint8_t *mem, bool of_server, unsigned int node, unsigned int r,
                              long *first)
{
    unsigned int bad = 0;
    *first = -1;
    for (unsigned int i = 0; i < values; i++) {
        uint64_t v = *(const volatile uint64_t *)(mem + slot_off(of_server, i));
        if (v != slot_val(node, r, i)) {
            if (!bad++)
                *first = (long)i;
        }
    }
    return bad;
}

static uint8_t pat(unsigned int k, size_t i)
{
    return (uint8_t)(((i + 1) * 2654435761u) >> 13) ^ (uint8_t)(k * 37 + 1);
}

/* ---------------------------------------------------------------- common pieces */

/* Local segment events until `want` from the peer node (others are printed and skipped). */
static bool member_event(sci_local_segment_t ls, sci_segment_cb_reason_t want, const char *what)
{
    uint64_t t0 = osci_now_ms(), deadline = t0 + SYNC_MS;

    for (;;) {
        uint64_t t = osci_now_ms();
        unsigned int node = 0, adapter = 99;
        sci_segment_cb_reason_t r;
        sci_error_t err;

        if (t >= deadline)
            break;
        r = SCIWaitForLocalSegmentEvent(ls, &node, &adapter, (unsigned int)(deadline - t), 0, &err);
        if (err != SCI_ERR_OK) {
            say("SCIWaitForLocalSegmentEvent: %s", SCIGetErrorString(err));
            break;
        }
        say("local broadcast segment: %s from node %u adapter %u", reason_str(r), node, adapter);
        if (r == want && node == peer_node)
            return check(adapter == 0, "%s: %s with node %u (adapter %u), %llu ms", what, reason_str(r), node,
                         adapter, (unsigned long long)(osci_now_ms() - t0));
    }
    return check(false, "%s: no %s with node %u within %u ms", what, reason_str(want), peer_node, SYNC_MS);
}

/* ---------------------------------------------------------------- reflective memory */

struct rm {
    sci_local_segment_t ls;
    sci_map_t lmap, rmap;
    sci_remote_segment_t rs;
    sci_sequence_t seq;
    volatile uint8_t *mem;             /* the local map: this node's copy */
    bool ls_gone;
};

/* The member's side: the local broadcast segment, mapped and available (the node joins the group). */
static void member_up(struct rm *rm)
{
    sci_error_t err;

    SCICreateSegment(sd, &rm->ls, GROUP_ID, GROUP_SIZE, NULL, NULL, SCI_FLAG_BROADCAST, &err);
    if (!check_err(err, SCI_ERR_OK, "SCICreateSegment(group, SCI_FLAG_BROADCAST)"))
        die("no broadcast segment");
    SCIPrepareSegment(rm->ls, 0, SCI_FLAG_BROADCAST, &err);
    if (!check_err(err, SCI_ERR_OK, "SCIPrepareSegment(SCI_FLAG_BROADCAST)"))
        die("broadcast segment not prepared");
    rm->mem = SCIMapLocalSegment(rm->ls, &rm->lmap, 0, GROUP_SIZE, NULL, 0, &err);
    if (!check_err(err, SCI_ERR_OK, "SCIMapLocalSegment"))
        die("no local map");
    SCISetSegmentAvailable(rm->ls, 0, 0, &err);
    if (!check_err(err, SCI_ERR_OK, "SCISetSegmentAvailable"))
        die("broadcast segment not available");
    rm->ls_gone = false;
}

/* Leaves the group as Dolphin's closeout does: sequence, local map, local segment. */
static void member_leave(struct rm *rm)
{
    sci_error_t err;

    SCIRemoveSequence(rm->seq, 0, &err);
    check_err(err, SCI_ERR_OK, "SCIRemoveSequence");
    rm->seq = NULL;
    SCIUnmapSegment(rm->lmap, 0, &err);
    check_err(err, SCI_ERR_OK, "SCIUnmapSegment (local map)");
    SCISetSegmentUnavailable(rm->ls, 0, 0, &err);
    check_err(err, SCI_ERR_OK, "SCISetSegmentUnavailable (leaving the group)");
    SCIRemoveSegment(rm->ls, 0, &err);
    check_err(err, SCI_ERR_OK, "SCIRemoveSegment (local broadcast segment)");
    rm->ls_gone = true;
}

static void rm_join(struct rm *rm)
{
    uint64_t t0;
    unsigned int attempts = 0;
    bool rdma = card_type() == CARD_RDMA;
    volatile void *p;
    sci_error_t err;

    member_up(rm);
    sig("joined", "ok\n");

    t0 = osci_now_ms();
    for (;;) {
        attempts++;
        SCIConnectSegment(sd, &rm->rs, DIS_BROADCAST_NODEID_GROUP_ALL, GROUP_ID, 0, NULL, NULL, 10000,
                          SCI_FLAG_BROADCAST, &err);
        if (err != SCI_ERR_NO_SUCH_SEGMENT || osci_now_ms() - t0 > SYNC_MS)
            break;
        usleep(100000);
    }
    if (!check(err == SCI_ERR_OK, "SCIConnectSegment(DIS_BROADCAST_NODEID_GROUP_ALL, SCI_FLAG_BROADCAST): %s "
               "after %u attempt(s), %llu ms", SCIGetErrorString(err), attempts,
               (unsigned long long)(osci_now_ms() - t0)))
        die("not connected to the group");
    check(SCIGetRemoteSegmentSize(rm->rs) == GROUP_SIZE && SCIGetRemoteSegmentId(rm->rs) == GROUP_ID,
          "broadcast remote segment: size %zu, id %u", SCIGetRemoteSegmentSize(rm->rs),
          SCIGetRemoteSegmentId(rm->rs));

    /* 1: the peer joined (at either side's join, whichever came last) */
    member_event(rm->ls, SCI_CB_CONNECT, "the peer's join on the local broadcast segment");

    p = SCIMapRemoteSegment(rm->rs, &rm->rmap, 0, GROUP_SIZE, NULL, SCI_FLAG_BROADCAST, &err);
    if (rdma)
        check(err == SCI_ERR_NOT_SUPPORTED && !p, "SCIMapRemoteSegment(SCI_FLAG_BROADCAST) over rdma: %s "
              "(expected %s: no CPU pointer reaches every member)", SCIGetErrorString(err),
              SCIGetErrorString(SCI_ERR_NOT_SUPPORTED));
    else
        check((err == SCI_ERR_OK && p) || (err == SCI_ERR_NOT_SUPPORTED && !p),
              "SCIMapRemoteSegment(SCI_FLAG_BROADCAST): %s (%s)", SCIGetErrorString(err),
              err == SCI_ERR_OK ? "a multicast window" : "one put per member");
    if (err == SCI_ERR_NOT_SUPPORTED) {
        p = SCIMapRemoteSegment(rm->rs, &rm->rmap, 0, GROUP_SIZE, NULL,
                                SCI_FLAG_BROADCAST | SCI_FLAG_OSCI_TRANSFER_MAP, &err);
        check(err == SCI_ERR_OK && !p && !SCIGetMapPointer(rm->rmap),
              "SCIMapRemoteSegment(SCI_FLAG_BROADCAST | SCI_FLAG_OSCI_TRANSFER_MAP): %s, no CPU pointer",
              SCIGetErrorString(err));
    }
    if (err != SCI_ERR_OK)
        die("no broadcast map");
    SCICreateMapSequence(rm->rmap, &rm->seq, 0, &err);
    if (!check_err(err, SCI_ERR_OK, "SCICreateMapSequence"))
        die("no sequence");
    sig("mapped", "ok\n");
    wait_sig("mapped", SYNC_MS, NULL, 0);
}

/* 2: one round of writes and checks. */
static void rm_round(struct rm *rm, unsigned int r)
{
    char name[32], msg[64];
    unsigned int bad, n_ok = 0;
    sci_sequence_status_t sst;
    uint64_t t0, *back;
    sci_error_t err, first_err = SCI_ERR_OK;
    long first;

    sst = SCIStartSequence(rm->seq, 0, &err);
    check(sst == SCI_SEQ_OK && err == SCI_ERR_OK, "round %u: SCIStartSequence: %d (SCI_SEQ_OK=%d), %s", r,
          (int)sst, (int)SCI_SEQ_OK, SCIGetErrorString(err));
    t0 = osci_now_ms();
    for (unsigned int i = 0; i < values; i++) {
        uint64_t v = slot_val(self_node, r, i);
        SCIMemCpy(rm->seq, &v, rm->rmap, slot_off(server, i), sizeof(v), i + 1 == values ? SCI_FLAG_ERROR_CHECK : 0,
                  &err);
        if (err == SCI_ERR_OK)
            n_ok++;
        else if (first_err == SCI_ERR_OK)
            first_err = err;
    }
    SCIFlush(rm->seq, 0);
    check(n_ok == values, "round %u: %u of %u SCIMemCpy of 8 bytes through the broadcast map OK (the last with "
          "ERROR_CHECK), %llu ms with the flush%s%s", r, n_ok, values, (unsigned long long)(osci_now_ms() - t0),
          n_ok == values ? "" : "; first error ", n_ok == values ? "" : SCIGetErrorString(first_err));
    sst = SCICheckSequence(rm->seq, 0, &err);
    check(sst == SCI_SEQ_OK && err == SCI_ERR_OK, "round %u: SCICheckSequence after the writes: %d (SCI_SEQ_OK=%d), "
          "%s", r, (int)sst, (int)SCI_SEQ_OK, SCIGetErrorString(err));
    snprintf(name, sizeof(name), "written-%u", r);
    sig(name, "%u\n", n_ok);

    bad = count_bad(rm->mem, server, self_node, r, &first);
    if (!check(!bad, "round %u: own %u values in the own copy (local map): %u differ", r, values, bad))
        say("round %u: slot %ld holds %#llx, expected %#llx", r, first,
            (unsigned long long)*(const volatile uint64_t *)(rm->mem + slot_off(server, (unsigned int)first)),
            (unsigned long long)slot_val(self_node, r, (unsigned int)first));
    wait_sig(name, SYNC_MS, msg, sizeof(msg));
    bad = count_bad(rm->mem, !server, peer_node, r, &first);
    if (!check(!bad, "round %u: the %s's %u values (node %u) in the own copy (local map): %u differ", r, peer_role,
               values, peer_node, bad))
        say("round %u: slot %ld holds %#llx, expected %#llx", r, first,
            (unsigned long long)*(const volatile uint64_t *)(rm->mem + slot_off(!server, (unsigned int)first)),
            (unsigned long long)slot_val(peer_node, r, (unsigned int)first));
    back = calloc(values, sizeof(*back));
    if (!back)
        die("out of memory");
    SCIMemCpy(NULL, back, rm->rmap, slot_off(!server, 0), values * sizeof(*back), SCI_FLAG_BLOCK_READ, &err);
    bad = 0;
    for (unsigned int i = 0; i < values; i++)
        bad += back[i] != slot_val(peer_node, r, i);
    check(err == SCI_ERR_OK && !bad, "round %u: SCIMemCpy BLOCK_READ of the %s's slots through the broadcast map: %s, "
          "%u differ", r, peer_role, SCIGetErrorString(err), bad);
    free(back);
    snprintf(name, sizeof(name), "checked-%u", r);
    sig(name, "ok\n");
    wait_sig(name, SYNC_MS, NULL, 0);     /* the next round overwrites what the peer checks */
}

/* Dolphin's closeout order: sequence, local map, local segment (unless gone), remote map, remote segment. */
static void rm_close(struct rm *rm)
{
    sci_error_t err;

    if (!rm->ls_gone)
        member_leave(rm);
    SCIUnmapSegment(rm->rmap, 0, &err);
    check_err(err, SCI_ERR_OK, "SCIUnmapSegment (broadcast map)");
    rm->rmap = NULL;
    SCIDisconnectSegment(rm->rs, 0, &err);
    check_err(err, SCI_ERR_OK, "SCIDisconnectSegment (broadcast remote segment)");
}

/* ---------------------------------------------------------------- interrupts */

static void intr_server(void)
{
    sci_local_interrupt_t li;
    sci_local_data_interrupt_t ldi;
    unsigned int no, count = 0, n_good = 0, n_got = 0;
    uint8_t buf[256];
    sci_error_t err;

    no = INTNO;
    SCICreateInterrupt(sd, &li, 0, &no, NULL, NULL, SCI_FLAG_FIXED_INTNO, &err);
    if (!check(err == SCI_ERR_OK && no == INTNO, "SCICreateInterrupt(%u, SCI_FLAG_FIXED_INTNO): %s, number %u",
               INTNO, SCIGetErrorString(err), no))
        die("no interrupt");
    no = DINTNO;
    SCICreateDataInterrupt(sd, &ldi, 0, &no, NULL, NULL, SCI_FLAG_FIXED_INTNO, &err);
    if (!check(err == SCI_ERR_OK && no == DINTNO, "SCICreateDataInterrupt(%u, SCI_FLAG_FIXED_INTNO): %s, number %u",
               DINTNO, SCIGetErrorString(err), no))
        die("no data interrupt");
    sig("intr-created", "ok\n");
    for (unsigned int i = 0; i < TRIGGERS; i++) {
        SCIWaitForInterrupt(li, 60000, 0, &err);
        if (err != SCI_ERR_OK) {
            say("SCIWaitForInterrupt after %u: %s", count, SCIGetErrorString(err));
            break;
        }
        count++;
    }
    check(count == TRIGGERS, "interrupt %u: %u of %u triggers received (wait mode)", INTNO, count, TRIGGERS);
    for (unsigned int k = 0; k < PAYLOADS; k++) {
        unsigned int len = sizeof(buf);
        bool ok = true;
        SCIWaitForDataInterrupt(ldi, buf, &len, 60000, 0, &err);
        if (err != SCI_ERR_OK) {
            say("SCIWaitForDataInterrupt after %u: %s", n_got, SCIGetErrorString(err));
            break;
        }
        n_got++;
        for (size_t i = 0; i < len && ok; i++)
            ok = buf[i] == pat(k, i);
        if (len == PAYLOAD_LEN && ok)
            n_good++;
        else
            say("data interrupt %u: %u bytes (expected %u), payload %s", k, len, PAYLOAD_LEN, ok ? "ok" : "differs");
    }
    check(n_got == PAYLOADS && n_good == PAYLOADS, "data interrupt %u: %u of %u payloads received, %u of %u bytes "
          "in order and intact", DINTNO, n_got, PAYLOADS, n_good, PAYLOAD_LEN);
    sig("intr-counted", "%u %u\n", count, n_good);
    wait_sig("intr-done", SYNC_MS, NULL, 0);
    SCIRemoveDataInterrupt(ldi, 0, &err);
    check_err(err, SCI_ERR_OK, "SCIRemoveDataInterrupt");
    SCIRemoveInterrupt(li, 0, &err);
    check_err(err, SCI_ERR_OK, "SCIRemoveInterrupt");
}

static void intr_client(void)
{
    sci_remote_interrupt_t ri;
    sci_remote_data_interrupt_t rdi;
    unsigned int attempts = 0, sent = 0, retries = 0;
    uint8_t buf[PAYLOAD_LEN];
    char msg[64];
    uint64_t t0 = osci_now_ms();
    sci_error_t err;

    /* NO_SUCH_INTNO is NO_SUCH_SEGMENT's value: the server creates its interrupts only now */
    for (;;) {
        attempts++;
        SCIConnectInterrupt(sd, &ri, peer_node, 0, INTNO, 10000, 0, &err);
        if (err != SCI_ERR_NO_SUCH_INTNO || osci_now_ms() - t0 > SYNC_MS)
            break;
        usleep(50000);
    }
    if (!check(err == SCI_ERR_OK, "SCIConnectInterrupt(node %u, %u): %s after %u attempt(s), %llu ms", peer_node,
               INTNO, SCIGetErrorString(err), attempts, (unsigned long long)(osci_now_ms() - t0)))
        die("no interrupt");
    t0 = osci_now_ms();
    for (unsigned int i = 0; i < TRIGGERS; i++) {
        SCITriggerInterrupt(ri, 0, &err);
        if (err != SCI_ERR_OK) {
            say("SCITriggerInterrupt %u: %s", i, SCIGetErrorString(err));
            break;
        }
        sent++;
    }
    check(sent == TRIGGERS, "SCITriggerInterrupt %u of %u times, %llu ms", sent, TRIGGERS,
          (unsigned long long)(osci_now_ms() - t0));
    attempts = 0;
    t0 = osci_now_ms();
    for (;;) {
        attempts++;
        SCIConnectDataInterrupt(sd, &rdi, peer_node, 0, DINTNO, 10000, 0, &err);
        if (err != SCI_ERR_NO_SUCH_INTNO || osci_now_ms() - t0 > SYNC_MS)
            break;
        usleep(50000);
    }
    if (!check(err == SCI_ERR_OK, "SCIConnectDataInterrupt(node %u, %u): %s after %u attempt(s)", peer_node, DINTNO,
               SCIGetErrorString(err), attempts))
        die("no data interrupt");
    sent = 0;
    t0 = osci_now_ms();
    for (unsigned int k = 0; k < PAYLOADS; k++) {
        for (size_t i = 0; i < sizeof(buf); i++)
            buf[i] = pat(k, i);
        /* no credit within 1 s (a slow receiver): TIMEOUT, nothing sent; the caller may retry */
        do
            SCITriggerDataInterrupt(rdi, buf, sizeof(buf), 0, &err);
        while (err == SCI_ERR_TIMEOUT && ++retries <= 60);
        if (err != SCI_ERR_OK) {
            say("SCITriggerDataInterrupt %u: %s", k, SCIGetErrorString(err));
            break;
        }
        sent++;
    }
    check(sent == PAYLOADS, "SCITriggerDataInterrupt %u of %u payloads of %u bytes, %llu ms, %u retries on TIMEOUT "
          "(no credit yet)", sent, PAYLOADS, PAYLOAD_LEN, (unsigned long long)(osci_now_ms() - t0), retries);
    wait_sig("intr-counted", SYNC_MS, msg, sizeof(msg));
    say("server counted (triggers, good payloads): %s", msg);
    SCIDisconnectDataInterrupt(rdi, 0, &err);
    check_err(err, SCI_ERR_OK, "SCIDisconnectDataInterrupt");
    SCIDisconnectInterrupt(ri, 0, &err);
    check_err(err, SCI_ERR_OK, "SCIDisconnectInterrupt");
    sig("intr-done", "ok\n");
}

/* ---------------------------------------------------------------- the two sides */

static int run(void)
{
    struct rm rm = { 0 };
    sci_error_t err;

    open_lib();
    rm_join(&rm);
    for (unsigned int r = 0; r < rounds; r++)
        rm_round(&rm, r);

    if (server)
        intr_server();
    else
        intr_client();

    /* 4: the client leaves; the server sees it go and writes on alone */
    if (server) {
        uint64_t v = slot_val(self_node, rounds, 0);

        member_event(rm.ls, SCI_CB_DISCONNECT, "the client's leave on the local broadcast segment");
        wait_sig("left", SYNC_MS, NULL, 0);
        SCIMemCpy(rm.seq, &v, rm.rmap, slot_off(true, 0), sizeof(v), SCI_FLAG_ERROR_CHECK, &err);
        check(err == SCI_ERR_OK && *(const volatile uint64_t *)(rm.mem + slot_off(true, 0)) == v,
              "SCIMemCpy(ERROR_CHECK) through the broadcast map after the client left: %s, own copy updated",
              SCIGetErrorString(err));
        sig("left-seen", "ok\n");
    } else {
        member_leave(&rm);
        sig("left", "ok\n");
        wait_sig("left-seen", SYNC_MS, NULL, 0);
    }

    /* 5: the client joins again with a new segment (its broadcast remote segment stayed connected): the
     * server sees it come back, and one more round reaches the new copy (on rdma a new, zeroed memory) */
    if (server) {
        member_event(rm.ls, SCI_CB_CONNECT, "the client's rejoin on the local broadcast segment");
    } else {
        member_up(&rm);
        SCICreateMapSequence(rm.rmap, &rm.seq, 0, &err);
        if (!check_err(err, SCI_ERR_OK, "SCICreateMapSequence (rejoined)"))
            die("no sequence");
        member_event(rm.ls, SCI_CB_CONNECT, "the server, already a member, on the rejoined local segment");
    }
    sig("rejoined", "ok\n");
    wait_sig("rejoined", SYNC_MS, NULL, 0);
    rm_round(&rm, rounds);

    /* 6: the client leaves for good; Dolphin's closeout on both sides */
    if (server) {
        member_event(rm.ls, SCI_CB_DISCONNECT, "the client's second leave on the local broadcast segment");
        wait_sig("closed", SYNC_MS, NULL, 0);
        rm_close(&rm);
        wait_sig("finished", SYNC_MS, NULL, 0);
    } else {
        rm_close(&rm);
        sig("closed", "ok\n");
    }
    SCIClose(sd, 0, &err);
    check_err(err, SCI_ERR_OK, "SCIClose (nothing left open)");
    SCITerminate();
    if (!server)
        sig("finished", "%u %u\n", n_pass, n_fail);
    summary();
    return n_fail ? 1 : 0;
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv)
{
    static const struct lab_opt opts[] = {
        { "--peer-node", .num = &peer_node, .max = 100000 },
        { "--self-node", .num = &self_node, .max = 100000 },
        { "--values", .num = &values, .max = SLOT_AREA / sizeof(uint64_t) },
        { "--rounds", .num = &rounds, .max = 100000 },
        { NULL },
    };

    server = lab_args(argc, argv, opts, "usage: bcast_pair --role server|client --peer-node N --sync PREFIX "
                      "[--self-node N] [--values N (at most 2048)] [--rounds N]");
    if (!peer_node || !sync_prefix)
        lab_usage();
    return run();
}
