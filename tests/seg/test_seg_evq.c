/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Segment event queues are bounded (issue 8). An owner that exports a segment, has no callback and
 * never waits while a peer connects and disconnects thousands of times keeps its memory; when it
 * waits at last it gets SCI_ERR_OVERFLOW once, then the coalesced events, the last of which tells
 * the connection's state truthfully. An owner that keeps up sees every event in order and no
 * overflow. The merge rules of the queue itself (remote segments keep DISCONNECT and LOST, a full
 * queue of distinct connections drops its oldest) are checked on the queue directly. A callback
 * interrupt flooded while its callback is busy keeps its memory too, and calls back once per trigger.
 */
#include <errno.h>
#include <malloc.h>
#include <stdatomic.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/osci_test.h"
#include "seg_obj.h"

#define SEGSZ 4096
#define T_MS 10000
#define SEGID 310
#define INTNO 3100          /* the data interrupt the peer rings once its messages before are sent */
#define CB_INTNO 3101       /* the owner's callback interrupt the peer floods */

#include "seg_owner.h"

#ifdef SEG_LSEG_EVQ_LEN
#define QLEN SEG_LSEG_EVQ_LEN
#else
#define QLEN 64u            /* main before the bound: the tests still build, and fail */
#endif

/* Connect/disconnect cycles the flood test sends unconsumed (sanitizers run it several times slower). */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define FLOOD 5000u
#else
#define FLOOD 20000u
#endif
/* Heap growth allowed over the flood: an unbounded queue takes >= 24 bytes an event, 48 a cycle. */
#define FLOOD_GROWTH_MAX ((size_t)FLOOD * 8u)
/* Triggers of a callback interrupt sent while its callback is busy (a queued call each took >= 32 bytes). */
#define TRIGGERS 100000u
#define TRIGGER_GROWTH_MAX ((size_t)TRIGGERS * 8u)

extern size_t __sanitizer_get_current_allocated_bytes(void) __attribute__((weak));

/* Bytes the program holds on the heap (every thread's arena). */
static size_t heap_used(void)
{
    struct mallinfo2 mi;

    if (__sanitizer_get_current_allocated_bytes)
        return __sanitizer_get_current_allocated_bytes();
    mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

/* ---- the peer: a remote that connects and disconnects on command ---- */

enum { P_CYCLES = 1, P_CONNECT, P_DISCONNECT, P_LOCKSTEP, P_TRIGGERS, P_QUIT };
#define PCMD(c, n) ((uint32_t)(c) << 24 | (uint32_t)(n))

/*
 * Commands (u32, command << 24 | count): CYCLES n connect/disconnect cycles, CONNECT (kept),
 * DISCONNECT, each followed by a ring of the owner's data interrupt; LOCKSTEP n cycles, each step
 * after the owner's go on the pipe; TRIGGERS n triggers of the owner's callback interrupt, then a
 * word on the pipe; QUIT.
 */
static int peer_main(int rd, int wr, void *arg)
{
    sci_remote_segment_t held = NULL, rs;
    sci_remote_data_interrupt_t ri = NULL;
    uint32_t onode, cmd, n, seq = 0, go;
    sci_desc_t sd;
    sci_error_t e;

    (void)arg;
    sd = child_open();
    CHECK(tproc_recv_u32(rd, &onode, T_MS) == 0);
    for (int i = 0; i < 500; i++) {
        SCIConnectDataInterrupt(sd, &ri, onode, 0, INTNO, SCI_INFINITE_TIMEOUT, 0, &e);
        if (e == SCI_ERR_OK)
            break;
        usleep(10000);
    }
    CHECK(e == SCI_ERR_OK);
    CHECK(tproc_send_u32(wr, my_node()) == 0);
    for (;;) {
        CHECK(tproc_recv_u32(rd, &cmd, 60000) == 0);
        n = cmd & 0xffffffu;
        switch (cmd >> 24) {
        case P_CYCLES:
            for (uint32_t k = 0; k < n; k++) {
                CHECK(connect_retry(sd, &rs, onode, SEGID) == SCI_ERR_OK);
                SCIDisconnectSegment(rs, 0, &e); CHECK(e == SCI_ERR_OK);
            }
            break;
        case P_CONNECT:
            CHECK(!held && connect_retry(sd, &held, onode, SEGID) == SCI_ERR_OK);
            break;
        case P_DISCONNECT:
            CHECK(held);
            SCIDisconnectSegment(held, 0, &e); CHECK(e == SCI_ERR_OK);
            held = NULL;
            break;
        case P_LOCKSTEP:
            for (uint32_t k = 0; k < n; k++) {
                CHECK(tproc_recv_u32(rd, &go, T_MS) == 0);
                CHECK(connect_retry(sd, &rs, onode, SEGID) == SCI_ERR_OK);
                CHECK(tproc_recv_u32(rd, &go, T_MS) == 0);
                SCIDisconnectSegment(rs, 0, &e); CHECK(e == SCI_ERR_OK);
            }
            continue;
        case P_TRIGGERS: {
            sci_remote_interrupt_t ti;
            COK(SCIConnectInterrupt(sd, &ti, onode, 0, CB_INTNO, SCI_INFINITE_TIMEOUT, 0, &e_));
            for (uint32_t k = 0; k < n; k++) {
                SCITriggerInterrupt(ti, 0, &e); CHECK(e == SCI_ERR_OK);
            }
            SCIDisconnectInterrupt(ti, 0, &e); CHECK(e == SCI_ERR_OK);
            CHECK(tproc_send_u32(wr, n) == 0);
            continue;
        }
        case P_QUIT:
            SCIDisconnectDataInterrupt(ri, 0, &e); CHECK(e == SCI_ERR_OK);
            SCIClose(sd, 0, &e); CHECK(e == SCI_ERR_OK);
            SCITerminate();
            return 0;
        default:
            return 99;
        }
        /* a control message after the segment messages: the owner has handled those when it arrives */
        seq++;
        SCITriggerDataInterrupt(ri, &seq, sizeof(seq), 0, &e); CHECK(e == SCI_ERR_OK);
    }
}

/* ---- the owner: this process ---- */

struct owner {
    struct tproc p;
    uint32_t pnode;
    sci_desc_t sd;
    sci_local_segment_t ls;
    sci_local_data_interrupt_t di;
};

static void owner_start(struct owner *o)
{
    unsigned int intno = INTNO;

    /* the peer is forked before this process starts the library's threads */
    assert_int_equal(tproc_start(&o->p, peer_main, NULL), 0);
    OK(SCIInitialize(0, &e_));
    OK(SCIOpen(&o->sd, 0, &e_));
    OK(SCICreateSegment(o->sd, &o->ls, SEGID, SEGSZ, NULL, NULL, 0, &e_));
    OK(SCIPrepareSegment(o->ls, 0, 0, &e_));
    OK(SCISetSegmentAvailable(o->ls, 0, 0, &e_));
    OK(SCICreateDataInterrupt(o->sd, &o->di, 0, &intno, NULL, NULL, SCI_FLAG_FIXED_INTNO, &e_));
    assert_int_equal(tproc_send_u32(o->p.wr, my_node()), 0);
    assert_int_equal(tproc_recv_u32(o->p.rd, &o->pnode, T_MS), 0);
}

/* A peer command that ends with a ring: returns once its segment messages are handled here. */
static void peer_do(struct owner *o, uint32_t cmd, uint32_t n)
{
    uint32_t seq;
    unsigned int len = sizeof(seq);

    assert_int_equal(tproc_send_u32(o->p.wr, PCMD(cmd, n)), 0);
    OK(SCIWaitForDataInterrupt(o->di, &seq, &len, 60000, 0, &e_));
    assert_int_equal(len, sizeof(seq));
}

/* The next event (timeout ms): reason, *err the error. */
static sci_segment_cb_reason_t next_ev(struct owner *o, unsigned int ms, sci_error_t *err)
{
    unsigned int src = 0, ad = 99;
    sci_segment_cb_reason_t r = SCIWaitForLocalSegmentEvent(o->ls, &src, &ad, ms, 0, err);

    if (*err == SCI_ERR_OK) {
        assert_int_equal(src, o->pnode);
        assert_int_equal(ad, 0);
    }
    return r;
}

static void expect_ev(struct owner *o, sci_segment_cb_reason_t want)
{
    sci_error_t e;
    sci_segment_cb_reason_t r = next_ev(o, T_MS, &e);

    assert_int_equal(e, SCI_ERR_OK);
    assert_int_equal(r, want);
}

static void owner_stop(struct owner *o)
{
    sci_error_t e;

    assert_int_equal(tproc_send_u32(o->p.wr, PCMD(P_QUIT, 0)), 0);
    assert_int_equal(tproc_wait(&o->p, T_MS), 0);
    next_ev(o, 0, &e);
    assert_int_equal(e, SCI_ERR_TIMEOUT);       /* nothing else came */
    OK(SCIRemoveDataInterrupt(o->di, 0, &e_));
    OK(SCIRemoveSegment(o->ls, 0, &e_));
    OK(SCIClose(o->sd, 0, &e_));
    SCITerminate();
}

/* Drains the queue after an overflow: checks each event, returns how many; *net CONNECTs minus
 * DISCONNECTs, *last the last reason. */
static unsigned int drain(struct owner *o, int *net, sci_segment_cb_reason_t *last)
{
    unsigned int n = 0;
    sci_error_t e;

    *net = 0;
    *last = 0;
    for (;;) {
        sci_segment_cb_reason_t r = next_ev(o, 0, &e);
        if (e == SCI_ERR_TIMEOUT)
            break;
        assert_int_equal(e, SCI_ERR_OK);          /* OVERFLOW only once */
        assert_true(r == SCI_CB_CONNECT || r == SCI_CB_DISCONNECT);
        *net += r == SCI_CB_CONNECT ? 1 : -1;
        *last = r;
        assert_true(++n <= QLEN);
    }
    return n;
}

/* An owner that never waits: its memory does not grow; then OVERFLOW once and the truthful state. */
static void test_flood_unconsumed(void **state)
{
    struct owner o;
    sci_segment_cb_reason_t last;
    size_t before, after;
    sci_error_t e;
    int net;

    (void)state;
    owner_start(&o);
    peer_do(&o, P_CYCLES, 2 * QLEN);            /* past the bound: whatever a full queue costs is paid */
    before = heap_used();
    peer_do(&o, P_CYCLES, FLOOD);
    peer_do(&o, P_CONNECT, 0);                  /* the connection's last state: connected */
    after = heap_used();
    print_message("heap before %zu, after %u unconsumed cycles %zu (growth %zd bytes)\n", before, FLOOD, after,
                  (ssize_t)(after - before));
    assert_true(after < before + FLOOD_GROWTH_MAX);

    next_ev(&o, 0, &e);
    assert_int_equal(e, SCI_ERR_OVERFLOW);
    assert_true(drain(&o, &net, &last) > 0);
    assert_int_equal(net, 1);                   /* merged pairs kept the count of connections */
    assert_int_equal(last, SCI_CB_CONNECT);

    /* and the queue goes on: the disconnect comes as it is, without an overflow */
    peer_do(&o, P_DISCONNECT, 0);
    expect_ev(&o, SCI_CB_DISCONNECT);
    owner_stop(&o);
}

/* An owner that keeps up sees every event in order, far past the bound, and never an overflow; a
 * burst that just fills the queue loses nothing; one event more is told. */
static void test_keeps_up(void **state)
{
    struct owner o;
    sci_segment_cb_reason_t last;
    sci_error_t e;
    int net;

    (void)state;
    owner_start(&o);
    assert_int_equal(tproc_send_u32(o.p.wr, PCMD(P_LOCKSTEP, 3 * QLEN)), 0);
    for (unsigned int k = 0; k < 3 * QLEN; k++) {
        assert_int_equal(tproc_send_u32(o.p.wr, 0), 0);
        expect_ev(&o, SCI_CB_CONNECT);
        assert_int_equal(tproc_send_u32(o.p.wr, 0), 0);
        expect_ev(&o, SCI_CB_DISCONNECT);
    }

    peer_do(&o, P_CYCLES, QLEN / 2);            /* exactly QLEN events */
    for (unsigned int k = 0; k < QLEN / 2; k++) {
        expect_ev(&o, SCI_CB_CONNECT);
        expect_ev(&o, SCI_CB_DISCONNECT);
    }
    next_ev(&o, 0, &e);
    assert_int_equal(e, SCI_ERR_TIMEOUT);

    peer_do(&o, P_CYCLES, QLEN / 2 + 1);        /* two more than fit */
    next_ev(&o, 0, &e);
    assert_int_equal(e, SCI_ERR_OVERFLOW);
    drain(&o, &net, &last);
    assert_int_equal(net, 0);
    assert_int_equal(last, SCI_CB_DISCONNECT);
    owner_stop(&o);
}

/* The callback interrupt: the first call waits until the peer has sent every trigger (the event
 * thread is busy meanwhile, so they pile up); every call records the largest heap seen. */
static struct {
    struct owner *o;
    _Atomic unsigned int calls;
    _Atomic size_t peak;
    _Atomic int err;
} icb;

static sci_callback_action_t flood_cb(void *arg, sci_local_interrupt_t li, sci_error_t status)
{
    size_t h = heap_used();
    uint32_t n;

    (void)li;
    if (arg != &icb || status != SCI_ERR_OK)
        atomic_store(&icb.err, 1);
    if (atomic_fetch_add(&icb.calls, 1) == 0 &&
        (tproc_recv_u32(icb.o->p.rd, &n, 60000) != 0 || n != TRIGGERS))
        atomic_store(&icb.err, 2);
    if (h > atomic_load(&icb.peak))
        atomic_store(&icb.peak, h);
    return SCI_CALLBACK_CONTINUE;
}

/* A callback interrupt flooded while its callback is busy: a count, not a queued call per trigger;
 * each trigger still calls back exactly once. */
static void test_intr_flood(void **state)
{
    struct owner o;
    sci_local_interrupt_t li;
    unsigned int intno = CB_INTNO;
    size_t before;

    (void)state;
    owner_start(&o);
    icb.o = &o;
    atomic_store(&icb.calls, 0);
    atomic_store(&icb.err, 0);
    OK(SCICreateInterrupt(o.sd, &li, 0, &intno, flood_cb, &icb, SCI_FLAG_FIXED_INTNO | SCI_FLAG_USE_CALLBACK,
                          &e_));
    before = heap_used();
    atomic_store(&icb.peak, before);
    assert_int_equal(tproc_send_u32(o.p.wr, PCMD(P_TRIGGERS, TRIGGERS)), 0);
    for (int i = 0; i < 6000 && atomic_load(&icb.calls) < TRIGGERS; i++)
        usleep(10000);
    usleep(20000);                              /* not one more */
    assert_int_equal(atomic_load(&icb.err), 0);
    assert_int_equal(atomic_load(&icb.calls), TRIGGERS);
    print_message("heap before %zu, peak over %u triggers %zu (growth %zd bytes)\n", before, TRIGGERS,
                  atomic_load(&icb.peak), (ssize_t)(atomic_load(&icb.peak) - before));
    assert_true(atomic_load(&icb.peak) < before + TRIGGER_GROWTH_MAX);
    OK(SCIRemoveInterrupt(li, 0, &e_));
    owner_stop(&o);
}

#ifdef SEG_LSEG_EVQ_LEN
static void push(struct seg_evq *q, sci_segment_cb_reason_t r, uint32_t node)
{
    seg__evq_push(q, r, node, 0, SCI_ERR_OK);
}

/* A reason, or -errno. */
static int take(struct seg_evq *q, uint32_t *node)
{
    struct seg_sevent e;
    int rc = seg__evq_take(q, &e);

    if (rc < 0)
        return rc;
    *node = e.node;
    return (int)e.reason;
}
#endif

/* The merge rules, on queues directly (no other thread: no lock needed). */
static void test_queue_rules(void **state)
{
#ifdef SEG_LSEG_EVQ_LEN
    static struct seg_sevent rbuf[SEG_RSEG_EVQ_LEN], lbuf[SEG_LSEG_EVQ_LEN];
    struct seg_evq rq, lq, *q;
    uint32_t node;
    int r, prev;
    unsigned int n;

    (void)state;
    /* a remote segment: link flaps merge, its DISCONNECT and LOST stay, in order */
    q = &rq;
    seg__evq_init(q, rbuf, SEG_RSEG_EVQ_LEN, true);
    push(q, SCI_CB_CONNECT, 5);
    for (unsigned int k = 0; k < 1001; k++)
        push(q, k % 2 ? SCI_CB_OPERATIONAL : SCI_CB_NOT_OPERATIONAL, 5);
    push(q, SCI_CB_DISCONNECT, 5);
    push(q, SCI_CB_OPERATIONAL, 5);
    push(q, SCI_CB_LOST, 5);
    assert_int_equal(take(q, &node), -EOVERFLOW);
    assert_int_equal(take(q, &node), SCI_CB_CONNECT);
    prev = SCI_CB_CONNECT;
    n = 1;
    while ((r = take(q, &node)) >= 0) {
        assert_int_not_equal(r, prev);          /* what is left alternates */
        assert_int_equal(node, 5);
        prev = r;
        n++;
    }
    assert_int_equal(r, -EAGAIN);
    assert_int_equal(prev, SCI_CB_LOST);        /* the last state is kept */
    assert_true(n <= SEG_RSEG_EVQ_LEN);

    /* the same on a local segment: a connection that came and went merges too */
    q = &lq;
    seg__evq_init(q, lbuf, SEG_LSEG_EVQ_LEN, false);
    for (unsigned int k = 0; k < 10 * QLEN; k++)
        push(q, k % 2 ? SCI_CB_DISCONNECT : SCI_CB_CONNECT, 7);
    push(q, SCI_CB_CONNECT, 7);
    push(q, SCI_CB_NOT_OPERATIONAL, 7);
    push(q, SCI_CB_LOST, 7);
    assert_int_equal(take(q, &node), -EOVERFLOW);
    for (n = 0, r = 0; (prev = take(q, &node)) >= 0; n++) {
        assert_int_equal(node, 7);
        r += prev == SCI_CB_CONNECT ? 1 : prev == SCI_CB_DISCONNECT || prev == SCI_CB_LOST ? -1 : 0;
        if (prev != SCI_CB_NOT_OPERATIONAL && prev != SCI_CB_LOST)
            assert_true(prev == SCI_CB_CONNECT || prev == SCI_CB_DISCONNECT);
        if (prev == SCI_CB_LOST)
            break;
    }
    assert_int_equal(r, 0);                     /* one connection came and was lost: counts match */
    assert_int_equal(take(q, &node), -EAGAIN);

    /* a connection per node from QLEN + 3 nodes cannot merge: the oldest go */
    seg__evq_clear(q);
    for (uint32_t k = 1; k <= QLEN + 3; k++)
        push(q, SCI_CB_CONNECT, k);
    assert_int_equal(take(q, &node), -EOVERFLOW);
    for (uint32_t k = 4; k <= QLEN + 3; k++) {
        assert_int_equal(take(q, &node), SCI_CB_CONNECT);
        assert_int_equal(node, k);
    }
    assert_int_equal(take(q, &node), -EAGAIN);

    /* full, an older pair of another node makes room: node 1 connects and goes, the rest stays */
    push(q, SCI_CB_CONNECT, 1);
    push(q, SCI_CB_LOST, 1);
    for (uint32_t k = 2; k <= QLEN - 1; k++)
        push(q, SCI_CB_CONNECT, k);
    push(q, SCI_CB_CONNECT, 1000);
    assert_int_equal(take(q, &node), -EOVERFLOW);
    for (uint32_t k = 2; k <= QLEN - 1; k++) {
        assert_int_equal(take(q, &node), SCI_CB_CONNECT);
        assert_int_equal(node, k);
    }
    assert_int_equal(take(q, &node), SCI_CB_CONNECT);
    assert_int_equal(node, 1000);
    assert_int_equal(take(q, &node), -EAGAIN);
#else
    (void)state;
    fail_msg("segment event queues are not bounded");
#endif
}

OSCI_TEST_MAIN("seg_evq", NULL, NULL,
               cmocka_unit_test(test_queue_rules),
               cmocka_unit_test_teardown(test_keeps_up, tproc_teardown),
               cmocka_unit_test_teardown(test_flood_unconsumed, tproc_teardown),
               cmocka_unit_test_teardown(test_intr_flood, tproc_teardown))
