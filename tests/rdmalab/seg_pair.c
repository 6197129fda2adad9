/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Two-host test of libseg (the SISCI API) over adapter 0, run by tests/vmlab/steps/50-seg-rdma.sh on
 * two guests with soft-RoCE (adapter 0 = rdma), and by 51-seg-rdma-cut.sh (--mode cut). Also runs on
 * one host over simntb (two processes).
 *
 *   seg_pair --role server|client --peer-node N --sync PREFIX [--self-node N] [--marker FILE] [--iters N]
 *            [--mode full|cut] [--cut-cmd SHELL-CMD --heal-cmd SHELL-CMD (client, --mode cut)]
 *
 * --mode full (default): the server exports a 256 KiB segment, an interrupt and a data interrupt;
 * the client:
 *   1. connects, retrying on NO_SUCH_SEGMENT only (a node not up yet answers it too); the owner sees
 *      CB_CONNECT;
 *   2. SCIMapRemoteSegment: SCI_ERR_NOT_SUPPORTED over rdma (a working map elsewhere), then a
 *      transfer map (SCI_FLAG_OSCI_TRANSFER_MAP: no CPU pointer, SCIMemCpy through put/get);
 *   3. SCIMemCpy to the server in a sequence with ERROR_CHECK (checked there) and with
 *      SCI_FLAG_BLOCK_READ back (checked here);
 *   4. DMA queue: a write (checked by the server) and a DMA_READ (checked here);
 *   5. interrupt ping-pong (the server counts in wait mode) and data interrupts with payloads;
 *   6. the server sets the segment unavailable with SCI_FLAG_NOTIFY: the client's callback sees
 *      CB_DISCONNECT, it disconnects, the owner sees CB_DISCONNECT;
 *   7. reconnect; the server writes MARKER (its own "passed/failed" counts) and waits to be SIGKILLed
 *      by the step; the client must see CB_LOST within a bound, and survive it.
 * --mode cut: the client connects, runs --cut-cmd, stays idle for 1.5 s (the cut must be seen:
 * CB_NOT_OPERATIONAL or CB_LOST), starts a DMA write into the cut (it must end, not hang), runs
 * --heal-cmd at 3 s; the segment must then be OPERATIONAL again or LOST (the client reconnects), and a
 * DMA write + read back must work; with OSCI_GRACE_MS at least 3 s over the cut it must be
 * NOT_OPERATIONAL then OPERATIONAL, never LOST. Both sides end cleanly.
 * Sync points between the hosts are files PREFIX.<name>.<role> (the lab's shared directory).
 * Prints a transcript and "seg-rdma <role>: N passed, N failed"; exit 0 only when nothing failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sisci_api.h"

#define LAB_NAME "seg-rdma"
#include "lab_report.h"
#include "lab_sisci.h"

#define SEG_ID        0x5e90u           /* the server's segment */
#define CSEG_ID       0x5e91u           /* the client's local DMA segment */
#define SEG_SIZE      (256u * 1024u)
#define XFER          (64u * 1024u)
#define OFF_MEMCPY    0u                /* client -> server, SCIMemCpy, seed 2 */
#define OFF_SERVER    (64u * 1024u)     /* filled by the server, seed 1: BLOCK_READ and DMA_READ */
#define OFF_DMA       (128u * 1024u)    /* client -> server, DMA write, seed 3 */
#define INTNO_SERVER  4003u           /* numbers in the thousands, as programs in the wild use */
#define INTNO_CLIENT  4005u
#define DINTNO_SERVER 4004u
#define LOST_BOUND_MS 15000u            /* CB_LOST must come within this of the server's last word */
#define CUT_MS        3000u             /* the link cut lasts this long (traffic only in its second half) */
#define HEAL_MS       8000u             /* after the heal: time for CB_OPERATIONAL or CB_LOST */
#define OFF_CUT       (192u * 1024u)    /* DMA after the cut, seed 5 (checked by reading back) */
#define GRACE_MARGIN_MS 3000u           /* OSCI_GRACE_MS >= CUT_MS + this: the cut must not lose the segment */

static const char *marker, *cut_cmd, *heal_cmd;
static bool server, cut_mode;
static unsigned int iters = 20, grace_ms = 1000;

/* ---------------------------------------------------------------- checks (lab_report.h) */

static void lab_on_die(void)
{
    /* nothing held that exit() does not end */
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* min / median / max of n times (us), then each in ms in the order measured. */
static void print_rtts(const char *what, uint64_t *us, unsigned int n)
{
    char line[1024];
    size_t len = 0;
    uint64_t *sorted;

    if (!n || !(sorted = malloc(n * sizeof(*sorted))))
        return;
    for (unsigned int i = 0; i < n && len < sizeof(line) - 16; i++)
        len += (size_t)snprintf(line + len, sizeof(line) - len, " %.1f", (double)us[i] / 1000.0);
    memcpy(sorted, us, n * sizeof(*sorted));
    qsort(sorted, n, sizeof(*sorted), cmp_u64);
    say("%s: min %.2f ms, median %.2f ms, max %.2f ms; each:%s", what, (double)sorted[0] / 1000.0,
        (double)sorted[n / 2] / 1000.0, (double)sorted[n - 1] / 1000.0, line);
    free(sorted);
}

/* ---------------------------------------------------------------- data */

static uint8_t pat(unsigned int seed, size_t i)
{
    return (uint8_t)((i * 2654435761u) >> 11) ^ (uint8_t)(seed * 77);
}

static void fill(volatile uint8_t *b, size_t off, size_t len, unsigned int seed)
{
    for (size_t i = 0; i < len; i++)
        b[i] = pat(seed, off + i);
}

/* -1 when b holds pattern seed for [off, off + len), else the first wrong index. */
static long verify(const volatile uint8_t *b, size_t off, size_t len, unsigned int seed)
{
    for (size_t i = 0; i < len; i++)
        if (b[i] != pat(seed, off + i))
            return (long)i;
    return -1;
}

static double mb_s(size_t bytes, uint64_t ms)
{
    return ms ? (double)bytes / 1e3 / (double)ms : 0.0;
}

/* ---------------------------------------------------------------- remote segment callbacks */

static pthread_mutex_t cb_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cb_cond = PTHREAD_COND_INITIALIZER;
static sci_segment_cb_reason_t cb_seen[32];
static unsigned int n_cb_seen;

static sci_callback_action_t rseg_cb(void *arg, sci_remote_segment_t rs, sci_segment_cb_reason_t reason,
                                     sci_error_t status)
{
    (void)arg;
    (void)rs;
    say("remote segment callback: %s (status %s)", reason_str(reason), SCIGetErrorString(status));
    pthread_mutex_lock(&cb_lock);
    if (n_cb_seen < sizeof(cb_seen) / sizeof(cb_seen[0]))
        cb_seen[n_cb_seen++] = reason;
    pthread_cond_broadcast(&cb_cond);
    pthread_mutex_unlock(&cb_lock);
    return SCI_CALLBACK_CONTINUE;
}

static bool wait_cb(sci_segment_cb_reason_t want, unsigned int timeout_ms)
{
    struct timespec ts = osci_ts_after_ms(CLOCK_REALTIME, timeout_ms);
    bool found = false;

    pthread_mutex_lock(&cb_lock);
    for (;;) {
        for (unsigned int i = 0; i < n_cb_seen && !found; i++)
            found = cb_seen[i] == want;
        if (found || pthread_cond_timedwait(&cb_cond, &cb_lock, &ts) == ETIMEDOUT)
            break;
    }
    for (unsigned int i = 0; i < n_cb_seen && !found; i++)
        found = cb_seen[i] == want;
    pthread_mutex_unlock(&cb_lock);
    return found;
}

/* ---------------------------------------------------------------- common pieces */

/* Owner side: the next local segment event, skipping none; returns the reason or 0 on timeout. */
static sci_segment_cb_reason_t next_local_event(sci_local_segment_t ls, unsigned int timeout_ms, unsigned int *node)
{
    unsigned int adapter = 99;
    sci_error_t err;
    sci_segment_cb_reason_t r = SCIWaitForLocalSegmentEvent(ls, node, &adapter, timeout_ms, 0, &err);
    if (err != SCI_ERR_OK) {
        say("SCIWaitForLocalSegmentEvent: %s", SCIGetErrorString(err));
        return 0;
    }
    say("local segment event %s from node %u adapter %u", reason_str(r), *node, adapter);
    return r;
}

static bool owner_sees(sci_local_segment_t ls, sci_segment_cb_reason_t want, unsigned int timeout_ms)
{
    uint64_t deadline = osci_now_ms() + timeout_ms;
    for (;;) {
        uint64_t t = osci_now_ms();
        unsigned int node = 0;
        sci_segment_cb_reason_t r;
        if (t >= deadline)
            break;
        r = next_local_event(ls, (unsigned int)(deadline - t), &node);
        if (!r)
            break;
        if (r == want)
            return check(node == peer_node, "owner sees %s from node %u (expected %u)", reason_str(r), node,
                         peer_node);
    }
    return check(false, "owner did not see %s within %u ms", reason_str(want), timeout_ms);
}

/* Connects to the server's segment, retrying while it (or the node) is not there yet. */
static sci_remote_segment_t connect_loop(bool with_callback)
{
    uint64_t t0 = osci_now_ms(), deadline = t0 + (cut_mode ? 20000 : 60000);
    sci_remote_segment_t rs = NULL;
    unsigned int attempts = 0;
    sci_error_t err, last = SCI_ERR_OK;

    for (;;) {
        attempts++;
        SCIConnectSegment(sd, &rs, peer_node, SEG_ID, 0, with_callback ? rseg_cb : NULL, NULL, 5000,
                          with_callback ? SCI_FLAG_USE_CALLBACK : 0, &err);
        if (err == SCI_ERR_OK)
            break;
        if (err != last)
            say("SCIConnectSegment attempt %u: %s", attempts, SCIGetErrorString(err));
        last = err;
        /* as SISCI programs do: a node not up yet answers NO_SUCH_SEGMENT too; TIMEOUT for a slow owner */
        if (err != SCI_ERR_NO_SUCH_SEGMENT && err != SCI_ERR_TIMEOUT)
            die("SCIConnectSegment: %s", SCIGetErrorString(err));
        if (osci_now_ms() >= deadline)
            die("SCIConnectSegment: still %s after %u attempts", SCIGetErrorString(err), attempts);
        usleep(100000);
    }
    check(true, "connected to node %u segment %#x after %u attempt(s), %llu ms (%s)", peer_node, SEG_ID,
          attempts, (unsigned long long)(osci_now_ms() - t0), with_callback ? "callback mode" : "queue mode");
    check(SCIGetRemoteSegmentSize(rs) == SEG_SIZE && SCIGetRemoteSegmentId(rs) == SEG_ID &&
          SCIGetRemoteSegmentNodeId(rs) == peer_node,
          "remote segment size %zu id %#x node %u", SCIGetRemoteSegmentSize(rs), SCIGetRemoteSegmentId(rs),
          SCIGetRemoteSegmentNodeId(rs));
    return rs;
}

/* ---------------------------------------------------------------- server */

/* Waits for the client's NAME-written; when it wrote, checks pattern seed at off and answers NAME-verified. */
static void server_verify(const char *name, const volatile uint8_t *mem, size_t off, unsigned int seed,
                          const char *what, const char *failed)
{
    char sync[32], msg[128];
    long bad;

    snprintf(sync, sizeof(sync), "%s-written", name);
    wait_sig(sync, 60000, msg, sizeof(msg));
    snprintf(sync, sizeof(sync), "%s-verified", name);
    if (!strcmp(msg, "written")) {
        bad = verify(mem + off, off, XFER, seed);
        check(bad < 0, "client's %s of %u KiB found in segment memory (first bad byte %ld)", what, XFER / 1024, bad);
        sig(sync, "%s\n", bad < 0 ? "ok" : "bad");
    } else {
        say("%s (%s): nothing to verify", failed, msg);
        sig(sync, "skipped\n");
    }
}

/* --mode cut: the client cuts its link and heals it; this side follows and ends cleanly. */
static int server_cut(sci_local_segment_t ls, sci_map_t lmap)
{
    char msg[128];
    sci_error_t err;

    wait_sig("reconnected", 60000, NULL, 0);
    wait_sig("cut-done", 60000, msg, sizeof(msg));
    say("client's link cut: %s", msg);
    if (!strcmp(msg, "lost"))
        owner_sees(ls, SCI_CB_CONNECT, 60000);
    wait_sig("cut-checked", 60000, NULL, 0);
    wait_sig("finished", 60000, NULL, 0);
    SCIUnmapSegment(lmap, 0, &err);
    check_err(err, SCI_ERR_OK, "SCIUnmapSegment");
    SCIRemoveSegment(ls, 0, &err);
    check_err(err, SCI_ERR_OK, "SCIRemoveSegment");
    SCITerminate();
    summary();
    return n_fail ? 1 : 0;
}

static int run_server(void)
{
    sci_local_segment_t ls;
    sci_local_interrupt_t li;
    sci_local_data_interrupt_t ldi;
    sci_remote_interrupt_t ri;
    sci_map_t lmap;
    volatile uint8_t *mem;
    unsigned int no, count = 0;
    sci_error_t err;
    long bad;

    open_lib();
    SCICreateSegment(sd, &ls, SEG_ID, SEG_SIZE, NULL, NULL, 0, &err);
    if (err != SCI_ERR_OK)
        die("SCICreateSegment: %s", SCIGetErrorString(err));
    mem = SCIMapLocalSegment(ls, &lmap, 0, SEG_SIZE, NULL, 0, &err);
    if (err != SCI_ERR_OK)
        die("SCIMapLocalSegment: %s", SCIGetErrorString(err));
    memset((void *)mem, 0, SEG_SIZE);
    fill(mem + OFF_SERVER, OFF_SERVER, XFER, 1);
    SCIPrepareSegment(ls, 0, 0, &err);
    if (err != SCI_ERR_OK)
        die("SCIPrepareSegment: %s", SCIGetErrorString(err));
    no = INTNO_SERVER;
    SCICreateInterrupt(sd, &li, 0, &no, NULL, NULL, SCI_FLAG_FIXED_INTNO, &err);
    if (err != SCI_ERR_OK)
        die("SCICreateInterrupt(%u): %s", no, SCIGetErrorString(err));
    no = DINTNO_SERVER;
    SCICreateDataInterrupt(sd, &ldi, 0, &no, NULL, NULL, SCI_FLAG_FIXED_INTNO, &err);
    if (err != SCI_ERR_OK)
        die("SCICreateDataInterrupt(%u): %s", no, SCIGetErrorString(err));
    SCISetSegmentAvailable(ls, 0, 0, &err);
    if (err != SCI_ERR_OK)
        die("SCISetSegmentAvailable: %s", SCIGetErrorString(err));
    say("segment %#x (%u KiB), interrupt %u, data interrupt %u available", SEG_ID, SEG_SIZE / 1024,
        INTNO_SERVER, DINTNO_SERVER);
    sig("ready", "ok\n");

    /* 1 */
    owner_sees(ls, SCI_CB_CONNECT, 90000);
    if (cut_mode)
        return server_cut(ls, lmap);

    /* 3: SCIMemCpy */
    server_verify("memcpy", mem, OFF_MEMCPY, 2, "SCIMemCpy", "client did not SCIMemCpy");

    /* 4: DMA write */
    server_verify("dma", mem, OFF_DMA, 3, "DMA write", "client's DMA write failed");

    /* 5: interrupts */
    wait_sig("intr-ready", 60000, NULL, 0);
    SCIConnectInterrupt(sd, &ri, peer_node, 0, INTNO_CLIENT, 10000, 0, &err);
    if (!check_err(err, SCI_ERR_OK, "SCIConnectInterrupt to the client's interrupt"))
        die("no interrupt path back to the client");
    sig("intr-connected", "ok\n");
    for (unsigned int i = 0; i < iters; i++) {
        SCIWaitForInterrupt(li, 10000, 0, &err);
        if (err != SCI_ERR_OK) {
            say("SCIWaitForInterrupt %u: %s", i, SCIGetErrorString(err));
            break;
        }
        count++;
        SCITriggerInterrupt(ri, 0, &err);
        if (err != SCI_ERR_OK) {
            say("SCITriggerInterrupt %u: %s", i, SCIGetErrorString(err));
            break;
        }
    }
    check(count == iters, "interrupt %u waited for %u times (wait mode), expected %u", INTNO_SERVER, count, iters);
    {
        static const unsigned int lens[3] = { 1, 100, 200 };
        uint8_t buf[256];
        for (unsigned int k = 0; k < 3; k++) {
            unsigned int len = sizeof(buf);
            SCIWaitForDataInterrupt(ldi, buf, &len, 10000, 0, &err);
            if (err != SCI_ERR_OK) {
                check(false, "data interrupt %u: %s", k, SCIGetErrorString(err));
                continue;
            }
            bad = verify(buf, 1000u * k, len, 4);
            check(len == lens[k] && bad < 0, "data interrupt %u: %u bytes (expected %u), payload %s", k, len,
                  lens[k], bad < 0 ? "checked" : "differs");
        }
    }
    SCIDisconnectInterrupt(ri, 0, &err);
    check_err(err, SCI_ERR_OK, "SCIDisconnectInterrupt");

    /* 6: unavailable with NOTIFY */
    wait_sig("pre-unavailable", 60000, NULL, 0);
    SCISetSegmentUnavailable(ls, 0, SCI_FLAG_NOTIFY, &err);
    check_err(err, SCI_ERR_OK, "SCISetSegmentUnavailable(NOTIFY)");
    sig("unavailable", "ok\n");
    owner_sees(ls, SCI_CB_DISCONNECT, 30000);

    /* 7: reconnect, then this process is SIGKILLed */
    wait_sig("disconnected", 60000, NULL, 0);
    SCISetSegmentAvailable(ls, 0, 0, &err);
    check_err(err, SCI_ERR_OK, "SCISetSegmentAvailable again");
    sig("available-again", "ok\n");
    owner_sees(ls, SCI_CB_CONNECT, 60000);
    wait_sig("reconnected", 60000, NULL, 0);
    summary();
    sig("ready-to-die", "ok\n");        /* before the marker: the step kills this process on it */
    if (marker) {
        FILE *f = fopen(marker, "w");
        if (!f || fprintf(f, "passed %u failed %u\n", n_pass, n_fail) < 0 || fclose(f) != 0)
            die("cannot write %s", marker);
    }
    say("waiting to be killed");
    sleep(120);
    say("not killed within 120 s");
    return 3;
}

/* ---------------------------------------------------------------- client */

static int shell(const char *what, const char *cmd)
{
    int rc = system(cmd);
    say("%s: '%s' exited with %d", what, cmd, rc);
    return rc;
}

/* Remote segment events until one of stop1/stop2 (or the deadline); records the times of each reason. */
static sci_segment_cb_reason_t watch(sci_remote_segment_t rs, uint64_t deadline, sci_segment_cb_reason_t stop1,
                                     sci_segment_cb_reason_t stop2, uint64_t t_ref, uint64_t *t_seen)
{
    sci_error_t err, status;
    for (;;) {
        uint64_t t = osci_now_ms();
        sci_segment_cb_reason_t r;
        if (t >= deadline)
            return 0;
        r = SCIWaitForRemoteSegmentEvent(rs, &status, (unsigned int)(deadline - t), 0, &err);
        if (err == SCI_ERR_TIMEOUT)
            return 0;
        if (err != SCI_ERR_OK) {
            say("SCIWaitForRemoteSegmentEvent: %s", SCIGetErrorString(err));
            return 0;
        }
        say("remote segment event %s (status %s) at %+lld ms", reason_str(r), SCIGetErrorString(status),
            (long long)(osci_now_ms() - t_ref));
        if (r <= SCI_CB_LOST && !t_seen[r])
            t_seen[r] = osci_now_ms();
        if (r == stop1 || r == stop2)
            return r;
    }
}

/* A DMA write of seed 5 and a read back into the second half of the local segment, compared here. */
static bool dma_roundtrip(sci_dma_queue_t dq, sci_local_segment_t cls, sci_remote_segment_t rs,
                          volatile uint8_t *cmem, const char *what)
{
    sci_error_t err;
    long bad;

    fill(cmem, OFF_CUT, 4096, 5);
    memset((void *)(cmem + XFER), 0, 4096);
    SCIStartDmaTransfer(dq, cls, rs, 0, 4096, OFF_CUT, NULL, NULL, SCI_FLAG_DMA_WAIT, &err);
    if (err != SCI_ERR_OK)
        return check(false, "%s: DMA write: %s", what, SCIGetErrorString(err));
    SCIStartDmaTransfer(dq, cls, rs, XFER, 4096, OFF_CUT, NULL, NULL, SCI_FLAG_DMA_READ | SCI_FLAG_DMA_WAIT, &err);
    bad = verify(cmem + XFER, OFF_CUT, 4096, 5);
    return check(err == SCI_ERR_OK && bad < 0, "%s: DMA write + read back 4 KiB: %s, first bad byte %ld", what,
                 SCIGetErrorString(err), bad);
}

/* Phase 7: cut the link, idle for half the cut, then a DMA write into the cut; heal; see what happened. */
static sci_remote_segment_t link_cut(sci_remote_segment_t rs, sci_dma_queue_t dq, sci_local_segment_t cls,
                                     volatile uint8_t *cmem)
{
    uint64_t seen[SCI_CB_LOST + 1] = { 0 }, t_cut, t_heal, t_dma;
    sci_dma_queue_state_t st = SCI_DMAQUEUE_IDLE;
    sci_segment_cb_reason_t r;
    bool idle_seen, dma_posted;
    sci_error_t err;

    (void)watch(rs, osci_now_ms() + 300, 0, 0, osci_now_ms(), seen);   /* the reconnection's own events */
    memset(seen, 0, sizeof(seen));
    t_cut = osci_now_ms();
    if (shell("cut the link", cut_cmd) != 0)
        die("the link cut command failed");
    r = watch(rs, t_cut + CUT_MS / 2, SCI_CB_LOST, SCI_CB_LOST, t_cut, seen);
    idle_seen = seen[SCI_CB_NOT_OPERATIONAL] || seen[SCI_CB_LOST];
    check(idle_seen, "a link cut without traffic is seen within %u ms (CB_NOT_OPERATIONAL or CB_LOST)", CUT_MS / 2);
    /* traffic into the cut */
    fill(cmem, OFF_CUT, 4096, 6);
    t_dma = osci_now_ms();
    SCIStartDmaTransfer(dq, cls, rs, 0, 4096, OFF_CUT, NULL, NULL, 0, &err);
    dma_posted = err == SCI_ERR_OK;
    say("DMA write into the cut: %s", SCIGetErrorString(err));
    if (dma_posted) {
        st = SCIWaitForDMAQueue(dq, CUT_MS / 2, 0, &err);
        say("DMA write into the cut: %s, queue state %d after %llu ms", SCIGetErrorString(err), (int)st,
            (unsigned long long)(osci_now_ms() - t_dma));
    }
    if (dma_posted && st == SCI_DMAQUEUE_DONE && !idle_seen)
        check(false, "the link cut did not stop the traffic: the DMA write completed during the cut");
    if (r != SCI_CB_LOST)
        r = watch(rs, t_cut + CUT_MS, SCI_CB_LOST, SCI_CB_LOST, t_cut, seen);
    if (!idle_seen)
        check(seen[SCI_CB_NOT_OPERATIONAL] || seen[SCI_CB_LOST],
              "the link cut is seen once there is traffic (CB_NOT_OPERATIONAL or CB_LOST)");
    t_heal = osci_now_ms();
    if (shell("heal the link", heal_cmd) != 0)
        die("the link heal command failed");
    if (dma_posted && st == SCI_DMAQUEUE_POSTED) {
        st = SCIWaitForDMAQueue(dq, HEAL_MS, 0, &err);
        say("DMA write into the cut: %s, queue state %d, %llu ms after it started", SCIGetErrorString(err), (int)st,
            (unsigned long long)(osci_now_ms() - t_dma));
    }
    check(!dma_posted || st == SCI_DMAQUEUE_DONE || st == SCI_DMAQUEUE_ERROR || st == SCI_DMAQUEUE_ABORTED,
          "the DMA write into the cut ended (state %d: DONE=%d, ERROR=%d) instead of hanging", (int)st,
          (int)SCI_DMAQUEUE_DONE, (int)SCI_DMAQUEUE_ERROR);
    if (r != SCI_CB_LOST && (seen[SCI_CB_NOT_OPERATIONAL] || !seen[SCI_CB_OPERATIONAL]))
        r = watch(rs, t_heal + HEAL_MS, SCI_CB_OPERATIONAL, SCI_CB_LOST, t_cut, seen);
    if (grace_ms >= CUT_MS + GRACE_MARGIN_MS)
        check(seen[SCI_CB_NOT_OPERATIONAL] && seen[SCI_CB_OPERATIONAL] && !seen[SCI_CB_LOST],
              "a cut of %u ms, shorter than the grace period (%u ms): CB_NOT_OPERATIONAL then CB_OPERATIONAL, "
              "no CB_LOST", CUT_MS, grace_ms);
    if (r == SCI_CB_LOST || seen[SCI_CB_LOST]) {
        say("link cut: CB_LOST %lld ms after the cut; reconnecting", (long long)(seen[SCI_CB_LOST] - t_cut));
        SCIDisconnectSegment(rs, 0, &err);
        check_err(err, SCI_ERR_OK, "SCIDisconnectSegment of the segment lost in the cut");
        rs = connect_loop(false);
        sig("cut-done", "lost\n");
        (void)watch(rs, osci_now_ms() + 300, 0, 0, t_cut, seen);
    } else if (seen[SCI_CB_OPERATIONAL]) {
        say("link cut: CB_OPERATIONAL %lld ms after the cut (%lld ms after the heal)",
            (long long)(seen[SCI_CB_OPERATIONAL] - t_cut), (long long)(seen[SCI_CB_OPERATIONAL] - t_heal));
        sig("cut-done", "operational\n");
    } else {
        say("link cut: no segment event at all within %u ms of the heal", HEAL_MS);
        sig("cut-done", "unnoticed\n");
    }
    dma_roundtrip(dq, cls, rs, cmem, "after the link cut");
    sig("cut-checked", "ok\n");
    return rs;
}

static int run_client(void)
{
    sci_remote_segment_t rs;
    sci_local_segment_t cls;
    sci_local_interrupt_t li;
    sci_remote_interrupt_t ri;
    sci_remote_data_interrupt_t rdi;
    sci_dma_queue_t dq;
    sci_dma_queue_state_t st;
    sci_map_t rmap = NULL, cmap;
    volatile void *rp;
    volatile uint8_t *cmem;
    uint8_t *buf;
    unsigned int no, got = 0;
    bool rdma;
    char msg[128];
    sci_error_t err, status;
    uint64_t t0, *rtt_us;
    long bad;

    open_lib();
    rdma = card_type() == CARD_RDMA;
    buf = malloc(XFER);
    if (!buf)
        die("out of memory");
    no = INTNO_CLIENT;
    SCICreateInterrupt(sd, &li, 0, &no, NULL, NULL, SCI_FLAG_FIXED_INTNO, &err);
    if (err != SCI_ERR_OK)
        die("SCICreateInterrupt(%u): %s", no, SCIGetErrorString(err));
    SCICreateSegment(sd, &cls, CSEG_ID, 2 * XFER, NULL, NULL, 0, &err);
    if (err != SCI_ERR_OK)
        die("SCICreateSegment (DMA source/target): %s", SCIGetErrorString(err));
    cmem = SCIMapLocalSegment(cls, &cmap, 0, 2 * XFER, NULL, 0, &err);
    if (err != SCI_ERR_OK)
        die("SCIMapLocalSegment: %s", SCIGetErrorString(err));
    SCIPrepareSegment(cls, 0, 0, &err);
    if (err != SCI_ERR_OK)
        die("SCIPrepareSegment: %s", SCIGetErrorString(err));

    /* 1 */
    wait_sig("ready", 90000, NULL, 0);
    if (cut_mode) {
        rs = connect_loop(false);
        SCICreateDMAQueue(sd, &dq, 0, 4, 0, &err);
        if (!check_err(err, SCI_ERR_OK, "SCICreateDMAQueue"))
            die("no DMA queue");
        sig("reconnected", "cut\n");
        rs = link_cut(rs, dq, cls, cmem);
        SCIDisconnectSegment(rs, 0, &err);
        check_err(err, SCI_ERR_OK, "SCIDisconnectSegment");
        sig("finished", "ok\n");
        SCITerminate();
        summary();
        return n_fail ? 1 : 0;
    }
    rs = connect_loop(true);

    /* 2 */
    rp = SCIMapRemoteSegment(rs, &rmap, 0, SEG_SIZE, NULL, 0, &err);
    if (rdma) {
        check(err == SCI_ERR_NOT_SUPPORTED && !rp, "SCIMapRemoteSegment over rdma: %s (expected %s)",
              SCIGetErrorString(err), SCIGetErrorString(SCI_ERR_NOT_SUPPORTED));
    } else {
        check_err(err, SCI_ERR_OK, "SCIMapRemoteSegment (load/store transport)");
    }
    if (err == SCI_ERR_NOT_SUPPORTED) {
        /* no CPU mapping: a transfer map, the target of SCIMemCpy and sequences (put/get) */
        rp = SCIMapRemoteSegment(rs, &rmap, 0, SEG_SIZE, NULL, SCI_FLAG_OSCI_TRANSFER_MAP, &err);
        check(err == SCI_ERR_OK && !rp && !SCIGetMapPointer(rmap),
              "SCIMapRemoteSegment(SCI_FLAG_OSCI_TRANSFER_MAP): %s, no CPU pointer", SCIGetErrorString(err));
    }
    if (err != SCI_ERR_OK)
        rmap = NULL;

    /* 3: SCIMemCpy both ways, the write inside a sequence with ERROR_CHECK */
    if (rmap) {
        sci_sequence_t seq = NULL;
        sci_sequence_status_t sst;

        SCICreateMapSequence(rmap, &seq, 0, &err);
        if (!check_err(err, SCI_ERR_OK, "SCICreateMapSequence"))
            seq = NULL;
        sst = seq ? SCIStartSequence(seq, 0, &err) : SCI_SEQ_OK;
        check(sst == SCI_SEQ_OK, "SCIStartSequence: %d (SCI_SEQ_OK=%d)", (int)sst, (int)SCI_SEQ_OK);
        fill(buf, OFF_MEMCPY, XFER, 2);
        t0 = osci_now_ms();
        SCIMemCpy(seq, buf, rmap, OFF_MEMCPY, XFER, SCI_FLAG_ERROR_CHECK, &err);
        check_err(err, SCI_ERR_OK, "SCIMemCpy client -> server, 64 KiB, ERROR_CHECK in a sequence");
        say("SCIMemCpy write: %llu ms, %.1f MB/s", (unsigned long long)(osci_now_ms() - t0), mb_s(XFER, osci_now_ms() - t0));
        if (seq) {
            sst = SCICheckSequence(seq, 0, &err);
            check(err == SCI_ERR_OK && sst == SCI_SEQ_OK, "SCICheckSequence after the write: %d (SCI_SEQ_OK=%d), %s",
                  (int)sst, (int)SCI_SEQ_OK, SCIGetErrorString(err));
            SCIRemoveSequence(seq, 0, &err);
            check_err(err, SCI_ERR_OK, "SCIRemoveSequence");
        }
        sig("memcpy-written", "%s\n", err == SCI_ERR_OK ? "written" : "failed");
        wait_sig("memcpy-verified", 60000, msg, sizeof(msg));
        check(!strcmp(msg, "ok"), "server verified the SCIMemCpy data: %s", msg);
        memset(buf, 0, XFER);
        t0 = osci_now_ms();
        SCIMemCpy(NULL, buf, rmap, OFF_SERVER, XFER, SCI_FLAG_BLOCK_READ | SCI_FLAG_ERROR_CHECK, &err);
        bad = verify(buf, OFF_SERVER, XFER, 1);
        check(err == SCI_ERR_OK && bad < 0, "SCIMemCpy BLOCK_READ server -> client, 64 KiB, %llu ms: %s, first bad "
              "byte %ld", (unsigned long long)(osci_now_ms() - t0), SCIGetErrorString(err), bad);
        SCIUnmapSegment(rmap, 0, &err);
        check_err(err, SCI_ERR_OK, "SCIUnmapSegment");
    } else {
        check(false, "SCIMemCpy client -> server: not possible, SCIMemCpy takes a remote map and "
              "SCIMapRemoteSegment gave none");
        check(false, "SCIMemCpy BLOCK_READ server -> client: not possible (no remote map)");
        sig("memcpy-written", "no-map\n");
        wait_sig("memcpy-verified", 60000, msg, sizeof(msg));
    }

    /* 4: DMA queue */
    SCICreateDMAQueue(sd, &dq, 0, 4, 0, &err);
    if (!check_err(err, SCI_ERR_OK, "SCICreateDMAQueue"))
        die("no DMA queue");
    fill(cmem, OFF_DMA, XFER, 3);
    t0 = osci_now_ms();
    SCIStartDmaTransfer(dq, cls, rs, 0, XFER, OFF_DMA, NULL, NULL, 0, &err);
    st = err == SCI_ERR_OK ? SCIWaitForDMAQueue(dq, 30000, 0, &err) : SCI_DMAQUEUE_ERROR;
    check(err == SCI_ERR_OK && st == SCI_DMAQUEUE_DONE, "DMA write 64 KiB: %s, queue state %d (DONE=%d), %llu ms, "
          "%.1f MB/s", SCIGetErrorString(err), (int)st, (int)SCI_DMAQUEUE_DONE, (unsigned long long)(osci_now_ms() - t0),
          mb_s(XFER, osci_now_ms() - t0));
    sig("dma-written", "%s\n", st == SCI_DMAQUEUE_DONE ? "written" : "failed");
    wait_sig("dma-verified", 60000, msg, sizeof(msg));
    check(!strcmp(msg, "ok"), "server verified the DMA write: %s", msg);
    memset((void *)(cmem + XFER), 0, XFER);
    t0 = osci_now_ms();
    SCIStartDmaTransfer(dq, cls, rs, XFER, XFER, OFF_SERVER, NULL, NULL, SCI_FLAG_DMA_READ | SCI_FLAG_DMA_WAIT,
                        &err);
    st = SCIDMAQueueState(dq);
    bad = verify(cmem + XFER, OFF_SERVER, XFER, 1);
    check(err == SCI_ERR_OK && st == SCI_DMAQUEUE_DONE && bad < 0, "DMA_READ|DMA_WAIT 64 KiB: %s, state %d, %llu ms, "
          "first bad byte %ld", SCIGetErrorString(err), (int)st, (unsigned long long)(osci_now_ms() - t0), bad);

    /* 5: interrupts */
    SCIConnectInterrupt(sd, &ri, peer_node, 0, INTNO_SERVER, 10000, 0, &err);
    if (!check_err(err, SCI_ERR_OK, "SCIConnectInterrupt to the server's interrupt"))
        die("no interrupt path to the server");
    sig("intr-ready", "ok\n");
    wait_sig("intr-connected", 60000, NULL, 0);
    t0 = osci_now_ms();
    rtt_us = calloc(iters, sizeof(*rtt_us));
    if (!rtt_us)
        die("out of memory");
    for (unsigned int i = 0; i < iters; i++) {
        uint64_t t_i = osci_now_us();
        SCITriggerInterrupt(ri, 0, &err);
        if (err != SCI_ERR_OK) {
            say("SCITriggerInterrupt %u: %s", i, SCIGetErrorString(err));
            break;
        }
        SCIWaitForInterrupt(li, 10000, 0, &err);
        if (err != SCI_ERR_OK) {
            say("SCIWaitForInterrupt %u: %s", i, SCIGetErrorString(err));
            break;
        }
        rtt_us[got++] = osci_now_us() - t_i;
    }
    check(got == iters, "%u interrupt round trips of %u, %.2f ms each", got, iters,
          got ? (double)(osci_now_ms() - t0) / got : 0.0);
    print_rtts("interrupt round trips", rtt_us, got);
    free(rtt_us);
    t0 = osci_now_us();
    SCIConnectDataInterrupt(sd, &rdi, peer_node, 0, DINTNO_SERVER, 10000, 0, &err);
    say("SCIConnectDataInterrupt (one control message round trip): %.2f ms", (double)(osci_now_us() - t0) / 1000.0);
    if (check_err(err, SCI_ERR_OK, "SCIConnectDataInterrupt")) {
        static const unsigned int lens[3] = { 1, 100, 200 };
        uint8_t big[4096];
        for (unsigned int k = 0; k < 3; k++) {
            fill(big, 1000u * k, lens[k], 4);
            SCITriggerDataInterrupt(rdi, big, lens[k], 0, &err);
            check_err(err, SCI_ERR_OK, k == 0 ? "SCITriggerDataInterrupt 1 byte" :
                      k == 1 ? "SCITriggerDataInterrupt 100 bytes" : "SCITriggerDataInterrupt 200 bytes");
        }
        SCITriggerDataInterrupt(rdi, big, sizeof(big), 0, &err);
        check(err != SCI_ERR_OK, "SCITriggerDataInterrupt of %zu bytes refused: %s", sizeof(big),
              SCIGetErrorString(err));
        SCIDisconnectDataInterrupt(rdi, 0, &err);
        check_err(err, SCI_ERR_OK, "SCIDisconnectDataInterrupt");
    }

    /* 6: unavailable with NOTIFY */
    sig("pre-unavailable", "ok\n");
    wait_sig("unavailable", 60000, NULL, 0);
    check(wait_cb(SCI_CB_DISCONNECT, 30000), "remote segment callback saw CB_DISCONNECT after NOTIFY");
    SCIDisconnectSegment(rs, 0, &err);
    check_err(err, SCI_ERR_OK, "SCIDisconnectSegment");
    sig("disconnected", "ok\n");

    /* 7: reconnect, the server is SIGKILLed */
    wait_sig("available-again", 60000, NULL, 0);
    rs = connect_loop(false);
    sig("reconnected", "ok\n");
    wait_sig("ready-to-die", 60000, NULL, 0);
    {
        uint64_t t_ready = osci_now_ms(), t_notop = 0, t_lost = 0, deadline = t_ready + LOST_BOUND_MS;
        while (!t_lost && osci_now_ms() < deadline) {
            sci_segment_cb_reason_t r = SCIWaitForRemoteSegmentEvent(rs, &status,
                                                                     (unsigned int)(deadline - osci_now_ms()), 0, &err);
            if (err == SCI_ERR_TIMEOUT)
                break;
            if (err != SCI_ERR_OK) {
                say("SCIWaitForRemoteSegmentEvent: %s", SCIGetErrorString(err));
                break;
            }
            say("remote segment event %s (status %s) %llu ms after the server's last word", reason_str(r),
                SCIGetErrorString(status), (unsigned long long)(osci_now_ms() - t_ready));
            if (r == SCI_CB_NOT_OPERATIONAL && !t_notop)
                t_notop = osci_now_ms();
            if (r == SCI_CB_LOST)
                t_lost = osci_now_ms();
        }
        if (check(t_lost != 0, "CB_LOST after the server's SIGKILL within %u ms", LOST_BOUND_MS)) {
            say("CB_LOST %llu ms after the server's last word (including the step's kill)%s",
                (unsigned long long)(t_lost - t_ready), t_notop ? "," : "");
            if (t_notop)
                say("CB_NOT_OPERATIONAL first, CB_LOST %llu ms after it (the grace period)",
                    (unsigned long long)(t_lost - t_notop));
        }
    }
    /* the survivor goes on: operations on the lost segment fail cleanly */
    SCIStartDmaTransfer(dq, cls, rs, 0, 4096, OFF_DMA, NULL, NULL, SCI_FLAG_DMA_WAIT, &err);
    check(err != SCI_ERR_OK, "DMA to the lost segment refused: %s", SCIGetErrorString(err));
    SCITriggerInterrupt(ri, 0, &err);
    say("SCITriggerInterrupt towards the dead server: %s", SCIGetErrorString(err));
    SCIDisconnectSegment(rs, 0, &err);
    check_err(err, SCI_ERR_OK, "SCIDisconnectSegment of the lost segment");
    SCIDisconnectInterrupt(ri, 0, &err);
    check_err(err, SCI_ERR_OK, "SCIDisconnectInterrupt");
    SCIRemoveDMAQueue(dq, 0, &err);
    check_err(err, SCI_ERR_OK, "SCIRemoveDMAQueue");
    SCIUnmapSegment(cmap, 0, &err);
    check_err(err, SCI_ERR_OK, "SCIUnmapSegment (local)");
    SCIRemoveSegment(cls, 0, &err);
    check_err(err, SCI_ERR_OK, "SCIRemoveSegment (local)");
    SCIRemoveInterrupt(li, 0, &err);
    check_err(err, SCI_ERR_OK, "SCIRemoveInterrupt");
    SCIClose(sd, 0, &err);
    check_err(err, SCI_ERR_OK, "SCIClose (nothing left open)");
    SCITerminate();
    free(buf);
    summary();
    return n_fail ? 1 : 0;
}

/* ---------------------------------------------------------------- main */

static void set_mode(const char *v)
{
    if (strcmp(v, "full") && strcmp(v, "cut"))
        lab_usage();
    cut_mode = !strcmp(v, "cut");
}

int main(int argc, char **argv)
{
    static const struct lab_opt opts[] = {
        { "--peer-node", .num = &peer_node, .max = 100000 },
        { "--self-node", .num = &self_node, .max = 100000 },
        { "--marker", .str = &marker },
        { "--iters", .num = &iters, .max = 100000 },
        { "--mode", .fn = set_mode },
        { "--cut-cmd", .str = &cut_cmd },
        { "--heal-cmd", .str = &heal_cmd },
        { NULL },
    };

    server = lab_args(argc, argv, opts, "usage: seg_pair --role server|client --peer-node N --sync PREFIX "
                      "[--self-node N] [--marker FILE] [--iters N] [--mode full|cut] [--cut-cmd CMD --heal-cmd CMD]");
    if (!peer_node || !sync_prefix || !cut_cmd != !heal_cmd || (cut_mode && !server && !cut_cmd))
        lab_usage();
    if (getenv("OSCI_GRACE_MS") && *getenv("OSCI_GRACE_MS"))
        grace_ms = (unsigned int)strtoul(getenv("OSCI_GRACE_MS"), NULL, 10);
    return server ? run_server() : run_client();
}
