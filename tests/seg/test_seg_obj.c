/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * One answer to "removed while its callback runs", for every object with a callback (libseg's one
 * object header and callback runner), in one process talking to its own node: a local segment, a
 * remote segment, a callback interrupt, a data interrupt and a DMA queue are each removed
 *  - from inside their own callback: the call succeeds and the callback is not called again;
 *  - from another thread while their callback runs, with more events queued behind it: the remove
 *    returns only after the running call returned, and no call starts after it.
 * Under ASan a freed object touched by the runner fails the test. Also: calls on handles before
 * SCIInitialize give NOT_INITIALIZED (the one entry check).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../common/osci_test.h"
#include "sisci_api.h"

#define OK(call) do { sci_error_t e_ = SCI_ERR_SYSTEM; call; assert_int_equal(e_, SCI_ERR_OK); } while (0)
#define ERR(want, call) do { sci_error_t e_ = SCI_ERR_OK; call; assert_int_equal(e_, (want)); } while (0)
#define SEGSZ 65536u
#define T_MS 10000u
#define ROUNDS 3

enum kind { K_LSEG, K_RSEG, K_INTR, K_DINTR, K_DMA };

/* What a callback saw; guarded by mu. */
struct probe {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    enum kind kind;
    bool remove_self;        /* the callback removes its own object */
    bool removed;            /* ... and did: removal error in self_err */
    sci_error_t self_err;
    unsigned int entered;    /* calls started */
    unsigned int returned;   /* calls returned */
    unsigned int slow_ms;    /* each call lasts this long (remove from another thread) */
};

static struct probe P = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static void probe_reset(enum kind k, bool remove_self, unsigned int slow_ms)
{
    pthread_mutex_lock(&P.mu);
    P.kind = k;
    P.remove_self = remove_self;
    P.removed = false;
    P.self_err = SCI_ERR_SYSTEM;
    P.entered = P.returned = 0;
    P.slow_ms = slow_ms;
    pthread_mutex_unlock(&P.mu);
}

/* The common body of every callback: count, maybe remove the object from here, maybe take long. */
static void probe_call(void (*remove)(void *h, sci_error_t *e), void *h)
{
    bool self;

    pthread_mutex_lock(&P.mu);
    P.entered++;
    self = P.remove_self && !P.removed;
    pthread_cond_broadcast(&P.cv);
    pthread_mutex_unlock(&P.mu);
    if (self) {
        sci_error_t e = SCI_ERR_SYSTEM;
        remove(h, &e);
        pthread_mutex_lock(&P.mu);
        P.removed = true;
        P.self_err = e;
        pthread_mutex_unlock(&P.mu);
    }
    if (P.slow_ms)
        usleep(P.slow_ms * 1000u);
    pthread_mutex_lock(&P.mu);
    P.returned++;
    pthread_cond_broadcast(&P.cv);
    pthread_mutex_unlock(&P.mu);
}

/* Wait until the callback was entered `n` times (and, remove_self, removed its object). */
static void probe_wait(unsigned int n)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += T_MS / 1000;
    pthread_mutex_lock(&P.mu);
    while ((P.entered < n || (P.remove_self && !P.removed)) &&
           pthread_cond_timedwait(&P.cv, &P.mu, &ts) == 0)
        ;
    assert_true(P.entered >= n);
    if (P.remove_self)
        assert_true(P.removed);
    pthread_mutex_unlock(&P.mu);
}

static unsigned int probe_entered(void)
{
    unsigned int n;

    pthread_mutex_lock(&P.mu);
    n = P.entered;
    pthread_mutex_unlock(&P.mu);
    return n;
}

static void rm_lseg(void *h, sci_error_t *e) { SCIRemoveSegment(h, 0, e); }
static void rm_rseg(void *h, sci_error_t *e) { SCIDisconnectSegment(h, 0, e); }
static void rm_intr(void *h, sci_error_t *e) { SCIRemoveInterrupt(h, 0, e); }
static void rm_dintr(void *h, sci_error_t *e) { SCIRemoveDataInterrupt(h, 0, e); }
static void rm_dma(void *h, sci_error_t *e) { SCIRemoveDMAQueue(h, 0, e); }

static sci_callback_action_t lseg_cb(void *arg, sci_local_segment_t ls, sci_segment_cb_reason_t reason,
                                     unsigned int node, unsigned int adapter, sci_error_t status)
{
    (void)arg; (void)node; (void)adapter; (void)status;
    if (reason == SCI_CB_CONNECT)
        probe_call(rm_lseg, ls);
    return SCI_CALLBACK_CONTINUE;
}

static sci_callback_action_t rseg_cb(void *arg, sci_remote_segment_t rs, sci_segment_cb_reason_t reason,
                                     sci_error_t status)
{
    (void)arg; (void)status;
    if (reason == SCI_CB_DISCONNECT)
        probe_call(rm_rseg, rs);
    return SCI_CALLBACK_CONTINUE;
}

static sci_callback_action_t intr_cb(void *arg, sci_local_interrupt_t li, sci_error_t status)
{
    (void)arg; (void)status;
    probe_call(rm_intr, li);
    return SCI_CALLBACK_CONTINUE;
}

static sci_callback_action_t dintr_cb(void *arg, sci_local_data_interrupt_t d, void *data, unsigned int len,
                                      sci_error_t status)
{
    (void)arg; (void)data; (void)len; (void)status;
    probe_call(rm_dintr, d);
    return SCI_CALLBACK_CONTINUE;
}

static sci_callback_action_t dma_cb(void *arg, sci_dma_queue_t q, sci_error_t status)
{
    (void)arg; (void)status;
    probe_call(rm_dma, q);
    return SCI_CALLBACK_CONTINUE;
}

static unsigned int self_node(void)
{
    unsigned int n = 0;

    OK(SCIGetLocalNodeId(0, &n, 0, &e_));
    return n;
}

static sci_local_segment_t make_lseg(sci_desc_t sd, unsigned int id, bool cb)
{
    sci_local_segment_t ls;

    OK(SCICreateSegment(sd, &ls, id, SEGSZ, cb ? lseg_cb : NULL, NULL, cb ? SCI_FLAG_USE_CALLBACK : 0, &e_));
    OK(SCIPrepareSegment(ls, 0, 0, &e_));
    OK(SCISetSegmentAvailable(ls, 0, 0, &e_));
    return ls;
}

/*
 * One object of `k` with a callback, removed from its own callback (self) or from this thread while
 * the first call runs and `more` events are queued behind it; no call may start after the remove.
 */
static void run_case(enum kind k, bool self)
{
    const unsigned int id = 4200u + (unsigned int)k * 10u + (self ? 1u : 0u);
    const unsigned int more = 4;
    sci_local_segment_t ls = NULL, src = NULL;
    sci_remote_segment_t rs = NULL;
    sci_local_interrupt_t li = NULL;
    sci_remote_interrupt_t ri = NULL;
    sci_local_data_interrupt_t di = NULL;
    sci_remote_data_interrupt_t rdi = NULL;
    sci_dma_queue_t dq = NULL;
    unsigned int node, no = 0, at_remove, payload = 7;
    void *h = NULL;
    sci_desc_t sd;

    probe_reset(k, self, self ? 0 : 100);
    OK(SCIInitialize(0, &e_));
    OK(SCIOpen(&sd, 0, &e_));
    node = self_node();

    switch (k) {
    case K_LSEG:                              /* its owner callback gets CONNECT */
        ls = make_lseg(sd, id, true);
        h = ls;
        OK(SCIConnectSegment(sd, &rs, node, id, 0, NULL, NULL, T_MS, 0, &e_));
        for (unsigned int i = 0; i < more && !self; i++) {
            sci_remote_segment_t r2;
            OK(SCIConnectSegment(sd, &r2, node, id, 0, NULL, NULL, T_MS, 0, &e_));
            OK(SCIDisconnectSegment(r2, 0, &e_));
        }
        break;
    case K_RSEG:                              /* its callback gets DISCONNECT when the owner says so */
        ls = make_lseg(sd, id, false);
        OK(SCIConnectSegment(sd, &rs, node, id, 0, rseg_cb, NULL, T_MS, SCI_FLAG_USE_CALLBACK, &e_));
        h = rs;
        OK(SCISetSegmentUnavailable(ls, 0, SCI_FLAG_NOTIFY, &e_));
        break;
    case K_INTR:
        OK(SCICreateInterrupt(sd, &li, 0, &no, intr_cb, NULL, SCI_FLAG_USE_CALLBACK, &e_));
        h = li;
        OK(SCIConnectInterrupt(sd, &ri, node, 0, no, T_MS, 0, &e_));
        for (unsigned int i = 0; i < 1 + (self ? 0 : more); i++)
            OK(SCITriggerInterrupt(ri, 0, &e_));
        break;
    case K_DINTR:
        OK(SCICreateDataInterrupt(sd, &di, 0, &no, dintr_cb, NULL, SCI_FLAG_USE_CALLBACK, &e_));
        h = di;
        OK(SCIConnectDataInterrupt(sd, &rdi, node, 0, no, T_MS, 0, &e_));
        for (unsigned int i = 0; i < 1 + (self ? 0 : more); i++)
            OK(SCITriggerDataInterrupt(rdi, &payload, sizeof(payload), 0, &e_));
        break;
    case K_DMA:
        src = make_lseg(sd, id + 1000u, false);
        ls = make_lseg(sd, id, false);
        OK(SCIConnectSegment(sd, &rs, node, id, 0, NULL, NULL, T_MS, 0, &e_));
        OK(SCICreateDMAQueue(sd, &dq, 0, 1, 0, &e_));
        h = dq;
        OK(SCIStartDmaTransfer(dq, src, rs, 0, 4096, 0, dma_cb, NULL, SCI_FLAG_USE_CALLBACK, &e_));
        break;
    }

    probe_wait(1);
    if (self) {
        assert_int_equal(P.self_err, SCI_ERR_OK);
    } else {
        void (*rm[])(void *, sci_error_t *) = { rm_lseg, rm_rseg, rm_intr, rm_dintr, rm_dma };
        sci_error_t e = SCI_ERR_SYSTEM;
        rm[k](h, &e);
        assert_int_equal(e, SCI_ERR_OK);
        pthread_mutex_lock(&P.mu);
        at_remove = P.entered;
        assert_int_equal(P.returned, P.entered);    /* the running call returned before the remove */
        pthread_mutex_unlock(&P.mu);
    }
    if (self)
        at_remove = probe_entered();

    /* the rest of the fixture; the handle of the object under test is gone */
    if (ri)
        OK(SCIDisconnectInterrupt(ri, 0, &e_));
    if (rdi)
        OK(SCIDisconnectDataInterrupt(rdi, 0, &e_));
    if (rs && k != K_RSEG)
        OK(SCIDisconnectSegment(rs, 0, &e_));
    if (ls && k != K_LSEG)
        OK(SCIRemoveSegment(ls, 0, &e_));
    if (src)
        OK(SCIRemoveSegment(src, 0, &e_));
    OK(SCIClose(sd, 0, &e_));
    SCITerminate();                           /* the event thread is joined: every call is over */
    assert_int_equal(probe_entered(), at_remove);
    assert_int_equal(P.returned, P.entered);
}

/* Every case of one kind of object (the test's initial state), ROUNDS times. */
static void test_kind(void **state)
{
    enum kind k = (enum kind)(uintptr_t)*state;

    for (int r = 0; r < ROUNDS; r++) {
        run_case(k, true);
        run_case(k, false);
    }
}

/* One cmocka test per kind of object. */
#define KIND_TEST(name, k) { name, test_kind, NULL, NULL, (void *)(uintptr_t)(k) }

/* Before SCIInitialize every call with an error argument says so, whatever the handle. */
static void test_entry_not_initialized(void **state)
{
    unsigned int len = 4, buf = 0;
    (void)state;
    ERR(SCI_ERR_NOT_INITIALIZED, SCIWaitForInterrupt(NULL, 0, 0, &e_));
    ERR(SCI_ERR_NOT_INITIALIZED, SCITriggerInterrupt(NULL, 0, &e_));
    ERR(SCI_ERR_NOT_INITIALIZED, SCIRemoveInterrupt(NULL, 0, &e_));
    ERR(SCI_ERR_NOT_INITIALIZED, SCIWaitForDataInterrupt(NULL, &buf, &len, 0, 0, &e_));
    ERR(SCI_ERR_NOT_INITIALIZED, SCIRemoveDMAQueue(NULL, 0, &e_));
    ERR(SCI_ERR_NOT_INITIALIZED, SCIStartSequence(NULL, 0, &e_));
    ERR(SCI_ERR_NOT_INITIALIZED, SCIMemCpy(NULL, &buf, NULL, 0, sizeof(buf), 0, &e_));
    ERR(SCI_ERR_NOT_INITIALIZED, SCIUnmapSegment(NULL, 0, &e_));
    /* initialized: a NULL handle is ILLEGAL_PARAMETER, checked before the flags */
    OK(SCIInitialize(0, &e_));
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCITriggerInterrupt(NULL, 0x40, &e_));
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCIRemoveDMAQueue(NULL, 0x40, &e_));
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCIStartSequence(NULL, 0x40, &e_));
    SCITerminate();
}

OSCI_TEST_MAIN("seg_obj", NULL, NULL,
               cmocka_unit_test(test_entry_not_initialized),
               KIND_TEST("test_lseg", K_LSEG),
               KIND_TEST("test_rseg", K_RSEG),
               KIND_TEST("test_intr", K_INTR),
               KIND_TEST("test_dintr", K_DINTR),
               KIND_TEST("test_dma", K_DMA))
