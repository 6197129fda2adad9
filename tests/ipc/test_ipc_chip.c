/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* INTER_CHIP channels between two forked processes, each a node of a private simntb fabric (node 1 and
 * node 2) with its own config naming the same endpoint: 100k checked frames (select() on the Linux event
 * fd on one side, WaitForEvent on the other), the same over transfer maps (SCIMemCpy), SIGKILL of a peer
 * (CONN_RESET, restart, reconnect), a link cut beyond the grace period, reset in the middle of a stream, Busy,
 * and config errors. The parent
 * never initialises a library: it only forks, steers over pipes and reaps. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "opensci/osci.h"
#include "ipc_frame.h"
#include "ipc_util.h"

#define WAIT_US 5000000
#define T_MS 15000

enum { MSG_EST = 1, MSG_RESET, MSG_DONE, MSG_GO };

static char ep_name[NVSCIIPC_MAX_ENDPOINT_NAME];
static int test_no;

struct node_args {
    unsigned node, peer;          /* this child's node id, the peer= of its config */
    unsigned nframes, fsize;
    uint64_t n;                   /* frames to stream */
    int transfer;                 /* OSCI_IPC_CHIP_TRANSFER=1 */
    const char *extra;            /* appended to the INTER_CHIP line */
};

/* libseg revokes the map of a segment whose owner left by mapping zero pages over it (simntb's
 * sn_rmem_revoke, on libseg's event thread) while the user may still store through it: by design a late
 * store lands in the zero page. TSan sees that mmap as a write racing with the store; nothing else is
 * suppressed. */
__attribute__((visibility("default"))) const char *__tsan_default_suppressions(void);
__attribute__((visibility("default"))) const char *__tsan_default_suppressions(void)
{
    return "race:sn_rmem_revoke\n";
}

static void new_channel(void)
{
    test_no++;
    snprintf(ep_name, sizeof(ep_name), "c2c_%d_%d", (int)getpid(), test_no);
}


/* ---- waiting: select() on the Linux event fd, or the event service (ipc_wait) ---- */
/* Loops GetEventSafe until one of `want` shows up; the events, 0 on error or when a wait timed out (the
 * peers of these tests never pause that long: a timeout means a lost notification or a dead peer). */
static uint32_t wait_for(struct ipc_waiter *w, uint32_t want)
{
    for (;;) {
        uint32_t ev;
        int rc;
        if (NvSciIpcGetEventSafe(w->h, &ev) != NvSciError_Success) return 0;
        if (ev & want) return ev;
        if ((rc = ipc_wait(w, WAIT_US)) != 1) {
            if (rc == 0) fprintf(stderr, "child %d: no wake-up for %#x within %d us\n", (int)getpid(), want, WAIT_US);
            return 0;
        }
    }
}

static int establish(struct ipc_waiter *w)
{
    if (NvSciIpcResetEndpointSafe(w->h) != NvSciError_Success) return -1;
    return wait_for(w, NV_SCI_IPC_EVENT_CONN_EST) ? 0 : -1;
}

/* In the child: its own config file and node id before any library call, then the endpoint opened (with the
 * event service when svc) and established. */
static void child_open(struct ipc_waiter *w, const struct node_args *a, int svc)
{
    CHECK(tnode_ipc_cfg(cfg_dir, a->node, "#CFGVER:1\nINTER_CHIP %s 0000 36000 peer=%u nframes=%u frame_size=%u %s\n",
                        ep_name, a->peer, a->nframes, a->fsize, a->extra ? a->extra : "") == 0);
    if (a->transfer) setenv("OSCI_IPC_CHIP_TRANSFER", "1", 1);
    CHECK(ipc_open(w, ep_name, svc) == 0);
    CHECK(establish(w) == 0);
}

static int send_n(struct ipc_waiter *w, uint64_t first, uint64_t n)
{
    uint64_t seq = first;
    while (seq < first + n) {
        uint64_t buf[8];
        uint32_t bytes;
        NvSciError err;
        fill(buf, seq);
        err = NvSciIpcWriteSafe(w->h, buf, sizeof(buf), &bytes);
        if (err == NvSciError_Success) {
            seq++;
            continue;
        }
        if (err != NvSciError_InsufficientMemory) return -1;
        if (!wait_for(w, NV_SCI_IPC_EVENT_WRITE)) return -1;
    }
    return 0;
}

/* Reads n frames expecting seq first..first+n-1; zero-copy when `zc`. */
static int recv_n(struct ipc_waiter *w, uint64_t first, uint64_t n, int zc)
{
    uint64_t seq = first;
    while (seq < first + n) {
        uint64_t buf[8];
        uint32_t bytes;
        NvSciError err;
        if (zc) {
            const volatile void *f;
            err = NvSciIpcReadGetNextFrame(w->h, &f);
            if (err == NvSciError_Success) {
                memcpy(buf, (const void *)f, sizeof(buf));
                err = NvSciIpcReadAdvance(w->h);
            }
        } else {
            err = NvSciIpcReadSafe(w->h, buf, sizeof(buf), &bytes);
        }
        if (err == NvSciError_InsufficientMemory) {
            if (!wait_for(w, NV_SCI_IPC_EVENT_READ)) return -1;
            continue;
        }
        if (err != NvSciError_Success) return -2;
        if (!check(buf, seq)) {
            fprintf(stderr, "frame %llu lost/duplicated/reordered/corrupt (got seq %llu)\n", (unsigned long long)seq,
                    (unsigned long long)buf[0]);
            return -3;
        }
        seq++;
    }
    return 0;
}

/* ---- children ---- */
static int writer_main(int rd, int wr, void *arg)
{
    struct node_args *a = arg;
    struct ipc_waiter w;
    (void)rd;
    child_open(&w, a, 0);
    CHECK(send_n(&w, 0, a->n) == 0);
    CHECK(wait_for(&w, NV_SCI_IPC_EVENT_WRITE_EMPTY) != 0);   /* everything consumed */
    CHECK(tproc_send_u32(wr, MSG_DONE) == 0);
    ipc_close(&w);
    return 0;
}

static int reader_main(int rd, int wr, void *arg)
{
    struct node_args *a = arg;
    struct ipc_waiter w;
    uint32_t m;
    child_open(&w, a, 1);
    CHECK(recv_n(&w, 0, a->n / 2, 0) == 0);
    CHECK(recv_n(&w, a->n / 2, a->n - a->n / 2, 1) == 0);
    CHECK(tproc_send_u32(wr, MSG_DONE) == 0);
    CHECK(tproc_recv_u32(rd, &m, T_MS) == 0);   /* the writer saw WRITE_EMPTY before we close */
    ipc_close(&w);
    return 0;
}

/* A reader on node 1 and a writer on node 2 of a new channel: both report MSG_DONE, then the reader closes. */
static void run_pair(tproc_fn reader, tproc_fn writer, unsigned nframes, uint64_t n, int transfer)
{
    struct node_args ra = { 1, 2, nframes, 64, n, transfer, NULL }, wa = { 2, 1, nframes, 64, n, transfer, NULL };
    struct tproc r, w;
    new_channel();
    assert_int_equal(tproc_start(&r, reader, &ra), 0);
    assert_int_equal(tproc_start(&w, writer, &wa), 0);
    IPC_EXPECT(r.rd, MSG_DONE, T_MS);
    IPC_EXPECT(w.rd, MSG_DONE, T_MS);
    assert_int_equal(tproc_send_u32(r.wr, MSG_GO), 0);
    assert_int_equal(tproc_wait(&r, T_MS), 0);
    assert_int_equal(tproc_wait(&w, T_MS), 0);
}

static void test_stream(void **state)
{
    (void)state;
    run_pair(reader_main, writer_main, 64, 100000, 0);
}

static void test_stream_transfer_map(void **state)
{
    (void)state;
    run_pair(reader_main, writer_main, 16, 20000, 1);
}

/* ---- SIGKILL of a peer, restart, reconnect ---- */
/* Survivor (node 1): establishes, reports, sees CONN_RESET after the kill, re-establishes with the restarted
 * peer, reads a frame from it, reports each step. */
static int survivor_main(int rd, int wr, void *arg)
{
    struct node_args *a = arg;
    struct ipc_waiter w;
    uint64_t buf[8];
    uint32_t bytes, ev;
    (void)rd;
    child_open(&w, a, 0);
    CHECK(tproc_send_u32(wr, MSG_EST) == 0);
    ev = wait_for(&w, NV_SCI_IPC_EVENT_CONN_RESET);
    CHECK(ev & NV_SCI_IPC_EVENT_CONN_RESET);
    CHECK(NvSciIpcGetEventSafe(w.h, &ev) == NvSciError_Success);
    CHECK(!(ev & NV_SCI_IPC_EVENT_CONN_RESET));   /* an edge: reported once */
    fill(buf, 0);
    CHECK(NvSciIpcWriteSafe(w.h, buf, sizeof(buf), &bytes) == NvSciError_ConnectionReset);
    CHECK(tproc_send_u32(wr, MSG_RESET) == 0);
    CHECK(establish(&w) == 0);
    CHECK(recv_n(&w, 7, 1, 0) == 0);
    CHECK(tproc_send_u32(wr, MSG_EST) == 0);
    ipc_close(&w);
    return 0;
}

/* The peer (node 2): establishes, optionally writes frame 7, then waits to be killed or told to quit. */
static int victim_main(int rd, int wr, void *arg)
{
    struct node_args *a = arg;
    struct ipc_waiter w;
    uint32_t m;
    child_open(&w, a, 0);
    if (a->n) CHECK(send_n(&w, 7, 1) == 0);
    CHECK(tproc_send_u32(wr, MSG_EST) == 0);
    CHECK(tproc_recv_u32(rd, &m, T_MS) == 0);
    ipc_close(&w);
    return 0;
}

static void test_peer_killed(void **state)
{
    struct node_args sa = { 1, 2, 8, 64, 0, 0, NULL }, va = { 2, 1, 8, 64, 0, 0, NULL };
    struct tproc s, v;
    uint32_t m;
    (void)state;
    new_channel();
    assert_int_equal(tproc_start(&s, survivor_main, &sa), 0);
    assert_int_equal(tproc_start(&v, victim_main, &va), 0);
    IPC_EXPECT(s.rd, MSG_EST, T_MS);
    assert_int_equal(tproc_recv_u32(v.rd, &m, T_MS), 0);
    tproc_kill(&v);
    /* CONN_RESET reaches the survivor through its event fd alone (wait_for gives up after ~10 s). */
    IPC_EXPECT(s.rd, MSG_RESET, T_MS);
    va.n = 1;   /* the restarted peer sends frame 7 */
    assert_int_equal(tproc_start(&v, victim_main, &va), 0);
    assert_int_equal(tproc_recv_u32(v.rd, &m, T_MS), 0);
    IPC_EXPECT(s.rd, MSG_EST, T_MS);
    assert_int_equal(tproc_wait(&s, T_MS), 0);
    assert_int_equal(tproc_send_u32(v.wr, MSG_GO), 0);
    assert_int_equal(tproc_wait(&v, T_MS), 0);
}

/* ---- a cut link: longer than the grace period, then back ---- */
/* Node 1 cuts the link to node 2 (both ends see it) until both saw CONN_RESET, brings it back, and both
 * ends re-establish by themselves and exchange a frame each way. */
static int cut_main(int rd, int wr, void *arg)
{
    struct node_args *a = arg;
    struct ipc_waiter w;
    uint32_t m;
    setenv("OSCI_GRACE_MS", "200", 1);
    child_open(&w, a, a->node == 2);
    CHECK(tproc_send_u32(wr, MSG_EST) == 0);
    if (a->node == 1) {
        CHECK(tproc_recv_u32(rd, &m, T_MS) == 0);
        CHECK(osci_fault_inject(0, OSCI_FAULT_LINK_DOWN, a->peer, 0) == 0);
    }
    CHECK(wait_for(&w, NV_SCI_IPC_EVENT_CONN_RESET) & NV_SCI_IPC_EVENT_CONN_RESET);
    CHECK(tproc_send_u32(wr, MSG_RESET) == 0);
    if (a->node == 1) {
        CHECK(tproc_recv_u32(rd, &m, T_MS) == 0);   /* the peer saw its reset too */
        usleep(3500 * 1000);   /* longer than the retries a lost peer is given: the down link itself is retried */
        CHECK(osci_fault_inject(0, OSCI_FAULT_LINK_UP, a->peer, 0) == 0);
    }
    CHECK(establish(&w) == 0);
    CHECK(send_n(&w, a->node, 1) == 0);
    CHECK(recv_n(&w, a->peer, 1, 0) == 0);
    CHECK(wait_for(&w, NV_SCI_IPC_EVENT_WRITE_EMPTY) != 0);
    CHECK(tproc_send_u32(wr, MSG_DONE) == 0);
    CHECK(tproc_recv_u32(rd, &m, T_MS) == 0);
    ipc_close(&w);
    return 0;
}

static void test_link_cut(void **state)
{
    struct node_args a1 = { 1, 2, 8, 64, 0, 0, NULL }, a2 = { 2, 1, 8, 64, 0, 0, NULL };
    struct tproc c1, c2;
    (void)state;
    new_channel();
    assert_int_equal(tproc_start(&c1, cut_main, &a1), 0);
    assert_int_equal(tproc_start(&c2, cut_main, &a2), 0);
    IPC_EXPECT(c1.rd, MSG_EST, T_MS);
    IPC_EXPECT(c2.rd, MSG_EST, T_MS);
    assert_int_equal(tproc_send_u32(c1.wr, MSG_GO), 0);            /* cut */
    IPC_EXPECT(c1.rd, MSG_RESET, T_MS);
    IPC_EXPECT(c2.rd, MSG_RESET, T_MS);
    assert_int_equal(tproc_send_u32(c1.wr, MSG_GO), 0);            /* back */
    ipc_end_pair(&c1, &c2, MSG_DONE, MSG_GO, T_MS);
}

/* ---- reset in the middle of a stream ---- */
static int restarting_writer_main(int rd, int wr, void *arg)
{
    struct node_args *a = arg;
    struct ipc_waiter w;
    uint64_t seq = 0;
    int resets = 0;
    (void)rd;
    child_open(&w, a, 0);
    while (resets == 0 || seq < a->n) {
        uint64_t buf[8];
        uint32_t bytes, ev;
        NvSciError err;
        fill(buf, seq);
        err = NvSciIpcWriteSafe(w.h, buf, sizeof(buf), &bytes);
        if (err == NvSciError_Success) {
            seq++;
            continue;
        }
        CHECK(err == NvSciError_InsufficientMemory || err == NvSciError_ConnectionReset);
        CHECK((ev = wait_for(&w, NV_SCI_IPC_EVENT_WRITE | NV_SCI_IPC_EVENT_CONN_RESET)) != 0);
        if (ev & NV_SCI_IPC_EVENT_CONN_RESET) {   /* the reader restarted: so do we, from 0 */
            CHECK(establish(&w) == 0);
            resets++;
            seq = 0;
        }
    }
    CHECK(wait_for(&w, NV_SCI_IPC_EVENT_WRITE_EMPTY) != 0);
    CHECK(tproc_send_u32(wr, MSG_DONE) == 0);
    ipc_close(&w);
    return 0;
}

static int resetting_reader_main(int rd, int wr, void *arg)
{
    struct node_args *a = arg;
    struct ipc_waiter w;
    uint64_t buf[8];
    uint32_t bytes, m;
    NvSciError err;
    child_open(&w, a, 1);
    CHECK(recv_n(&w, 0, 1000, 0) == 0);
    CHECK(NvSciIpcResetEndpointSafe(w.h) == NvSciError_Success);
    err = NvSciIpcReadSafe(w.h, buf, sizeof(buf), &bytes);   /* nothing old is readable */
    CHECK(err == NvSciError_ConnectionReset || err == NvSciError_InsufficientMemory);
    CHECK(wait_for(&w, NV_SCI_IPC_EVENT_CONN_EST) & NV_SCI_IPC_EVENT_CONN_EST);
    CHECK(recv_n(&w, 0, a->n, 0) == 0);   /* the new stream starts at 0 */
    CHECK(tproc_send_u32(wr, MSG_DONE) == 0);
    CHECK(tproc_recv_u32(rd, &m, T_MS) == 0);
    ipc_close(&w);
    return 0;
}

static void test_reset_mid_stream(void **state)
{
    (void)state;
    run_pair(resetting_reader_main, restarting_writer_main, 32, 30000, 0);
}

/* ---- errors, in one child (node 1) ---- */
static int errors_main(int rd, int wr, void *arg)
{
    char path[128];
    NvSciIpcEndpoint h, h2;
    FILE *f;
    (void)rd;
    (void)wr;
    (void)arg;
    snprintf(path, sizeof(path), "%s/errors.cfg", cfg_dir);
    CHECK((f = fopen(path, "w")) != NULL);
    fprintf(f, "#CFGVER:1\n"
               "INTER_CHIP nopeer 0000\n"           /* no peer=, no interchip mapping: refused at open */
               "INTER_CHIP self 0000 peer=1\n"      /* this node itself */
               "INTER_CHIP noadapter 0007 peer=2\n" /* adapter 7 is not configured */
               "INTER_CHIP ok 0000 peer=2\n");
    fclose(f);
    setenv("NVSCIIPC_CFG", path, 1);
    setenv("OSCI_NODE_ID", "1", 1);
    CHECK(NvSciIpcInit() == NvSciError_Success);
    CHECK(NvSciIpcOpenEndpoint("nopeer", &h) == NvSciError_NoSuchDevice);
    CHECK(NvSciIpcOpenEndpoint("self", &h) == NvSciError_InvalidState);
    CHECK(NvSciIpcOpenEndpoint("noadapter", &h) == NvSciError_InvalidState);
    /* No peer yet: the open succeeds, the reset waits for it; I/O is refused meanwhile. */
    CHECK(NvSciIpcOpenEndpoint("ok", &h) == NvSciError_Success);
    CHECK(NvSciIpcOpenEndpoint("ok", &h2) == NvSciError_Busy);
    CHECK(NvSciIpcResetEndpointSafe(h) == NvSciError_Success);
    {
        uint64_t buf[8] = { 0 };
        uint32_t bytes, ev = 0xff;
        int32_t fd = -1;
        CHECK(NvSciIpcWriteSafe(h, buf, sizeof(buf), &bytes) == NvSciError_ConnectionReset);
        CHECK(NvSciIpcGetEventSafe(h, &ev) == NvSciError_Success && ev == 0);
        CHECK(NvSciIpcGetLinuxEventFd(h, &fd) == NvSciError_Success && fd >= 0);
    }
    CHECK(NvSciIpcCloseEndpointSafe(h, false) == NvSciError_Success);
    /* Reopen after close (the segment id is free again). */
    CHECK(NvSciIpcOpenEndpoint("ok", &h) == NvSciError_Success);
    CHECK(NvSciIpcCloseEndpointSafe(h, false) == NvSciError_Success);
    NvSciIpcDeinit();
    return 0;
}

static void test_errors(void **state)
{
    (void)state;
    IPC_RUN_CHILD(errors_main, NULL, T_MS);
}

OSCI_TEST_MAIN("ipc_chip", ipc_dir_setup, ipc_dir_teardown,
               cmocka_unit_test_teardown(test_errors, tproc_teardown),
               cmocka_unit_test_teardown(test_stream, tproc_teardown),
               cmocka_unit_test_teardown(test_stream_transfer_map, tproc_teardown),
               cmocka_unit_test_teardown(test_peer_killed, tproc_teardown),
               cmocka_unit_test_teardown(test_reset_mid_stream, tproc_teardown),
               cmocka_unit_test_teardown(test_link_cut, tproc_teardown))
