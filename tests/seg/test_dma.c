/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * DMA queues across processes on simntb: write and read transfers (data checked through a
 * remote map), vector transfers, DMA_WAIT, callbacks, abort, remove BUSY, bad offsets, sizes,
 * vectors and flags, and a transfer to a segment whose owner was SIGKILLed (ERROR state).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "sisci_api.h"

#include "seg_peer.h"

/* ---- fixture: the child exports a segment, the parent connects and maps it ---- */

#define SEGSZ   (6u << 20)
#define SEG_ID  77u

static int child_owner(int rfd, int wfd, void *arg)
{
    sci_local_segment_t ls;
    unsigned int node;
    uint32_t cmd;
    sci_desc_t sd = child_init(&node);

    COK(SCICreateSegment(sd, &ls, SEG_ID, SEGSZ, NULL, NULL, 0, &e_));
    COK(SCIPrepareSegment(ls, 0, 0, &e_));
    COK(SCISetSegmentAvailable(ls, 0, 0, &e_));
    CHECK(tproc_send_u32(wfd, node) == 0);
    CHECK(tproc_recv_u32(rfd, &cmd, 18000) == 0 && cmd == 0);
    COK(SCISetSegmentUnavailable(ls, 0, SCI_FLAG_NOTIFY, &e_));
    CHECK(remove_retry(ls) == SCI_ERR_OK);
    child_fini(sd);
    return 0;
}

struct fix {
    struct tproc p;
    sci_desc_t sd;
    unsigned int cnode;
    sci_remote_segment_t rs;
    sci_map_t rmap;
    volatile uint8_t *rptr;
    sci_local_segment_t ls;
    sci_map_t lmap;
    uint8_t *lptr;
    sci_dma_queue_t dq;
};

static void fix_up(struct fix *f)
{
    sci_error_t e;

    assert_int_equal(tproc_start(&f->p, child_owner, NULL), 0);
    f->sd = parent_init();
    f->cnode = precv(&f->p);
    assert_int_equal(connect_retry(f->sd, &f->rs, f->cnode, SEG_ID), SCI_ERR_OK);
    f->rptr = SCIMapRemoteSegment(f->rs, &f->rmap, 0, SEGSZ, NULL, 0, &e);
    assert_int_equal(e, SCI_ERR_OK);
    OK(SCICreateSegment(f->sd, &f->ls, 1000, SEGSZ, NULL, NULL, 0, &e_));
    f->lptr = SCIMapLocalSegment(f->ls, &f->lmap, 0, SEGSZ, NULL, 0, &e);
    assert_int_equal(e, SCI_ERR_OK);
    OK(SCICreateDMAQueue(f->sd, &f->dq, 0, 4, 0, &e_));
    assert_int_equal(SCIDMAQueueState(f->dq), SCI_DMAQUEUE_IDLE);
}

static void fix_down(struct fix *f, bool peer_alive)
{
    OK(SCIRemoveDMAQueue(f->dq, 0, &e_));
    OK(SCIUnmapSegment(f->lmap, 0, &e_));
    OK(SCIRemoveSegment(f->ls, 0, &e_));
    if (f->rmap) {
        OK(SCIUnmapSegment(f->rmap, 0, &e_));
    }
    OK(SCIDisconnectSegment(f->rs, 0, &e_));
    if (peer_alive) {
        assert_int_equal(tproc_send_u32(f->p.wr, 0), 0);
        assert_int_equal(tproc_end(&f->p, 10000), 0);
    }
    parent_fini(f->sd);
}

static uint8_t pat(size_t i, unsigned int seed)
{
    return (uint8_t)((i * 131u + seed * 7u + (i >> 11)) & 0xff);
}

static void fill(uint8_t *p, size_t off, size_t len, unsigned int seed)
{
    for (size_t i = 0; i < len; i++)
        p[off + i] = pat(i, seed);
}

static bool check_remote(volatile uint8_t *p, size_t off, size_t len, unsigned int seed)
{
    for (size_t i = 0; i < len; i++)
        if (p[off + i] != pat(i, seed))
            return false;
    return true;
}

/* ---- write, read, vector ---- */

static void test_write_read_vec(void **state)
{
    struct fix f = { 0 };
    const size_t len = (2u << 20) + 4097;   /* three chunks, odd tail */
    dis_dma_vec_t v[3];
    sci_error_t e;

    (void)state;
    fix_up(&f);

    /* write: local 100.. -> remote 5000.. */
    fill(f.lptr, 100, len, 1);
    memset((void *)f.rptr, 0, SEGSZ);
    OK(SCIStartDmaTransfer(f.dq, f.ls, f.rs, 100, len, 5000, NULL, NULL, SCI_FLAG_DMA_WAIT, &e_));
    assert_int_equal(SCIDMAQueueState(f.dq), SCI_DMAQUEUE_DONE);
    assert_true(check_remote(f.rptr, 5000, len, 1));
    assert_int_equal(f.rptr[4999], 0);
    assert_int_equal(f.rptr[5000 + len], 0);

    /* read: remote 3333.. -> local 7.. */
    for (size_t i = 0; i < len; i++)
        f.rptr[3333 + i] = pat(i, 2);
    memset(f.lptr, 0, SEGSZ);
    OK(SCIStartDmaTransfer(f.dq, f.ls, f.rs, 7, len, 3333, NULL, NULL, SCI_FLAG_DMA_READ | SCI_FLAG_DMA_WAIT, &e_));
    assert_true(check_remote(f.lptr, 7, len, 2));
    assert_int_equal(f.lptr[6], 0);
    assert_int_equal(f.lptr[7 + len], 0);

    /* vector: three entries, then wait for the queue */
    fill(f.lptr, 0, SEGSZ, 3);
    memset((void *)f.rptr, 0, SEGSZ);
    v[0] = (dis_dma_vec_t){ .size = 10, .local_offset = 0, .remote_offset = SEGSZ - 10 };
    v[1] = (dis_dma_vec_t){ .size = 1u << 20, .local_offset = 4096, .remote_offset = 0 };
    v[2] = (dis_dma_vec_t){ .size = 999, .local_offset = SEGSZ - 999, .remote_offset = 2u << 20 };
    OK(SCIStartDmaTransferVec(f.dq, f.ls, f.rs, 3, v, NULL, NULL, 0, &e_));
    assert_int_equal(SCIWaitForDMAQueue(f.dq, 10000, 0, &e), SCI_DMAQUEUE_DONE);
    assert_int_equal(e, SCI_ERR_OK);
    for (int k = 0; k < 3; k++)
        for (size_t i = 0; i < v[k].size; i++)
            assert_int_equal(f.rptr[v[k].remote_offset + i], pat(v[k].local_offset + i, 3));
    assert_int_equal(f.rptr[(1u << 20)], 0);

    fix_down(&f, true);
}

/* ---- callbacks, abort, BUSY ---- */

static pthread_mutex_t cb_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cb_cond = PTHREAD_COND_INITIALIZER;
static int cb_count;
static sci_error_t cb_status;
static sci_dma_queue_t cb_queue;

static sci_callback_action_t dma_cb(void *arg, sci_dma_queue_t q, sci_error_t status)
{
    pthread_mutex_lock(&cb_lock);
    cb_count += (arg == &cb_count);
    cb_status = status;
    cb_queue = q;
    pthread_cond_broadcast(&cb_cond);
    pthread_mutex_unlock(&cb_lock);
    return SCI_CALLBACK_CONTINUE;
}

static void wait_cb(int n)
{
    pthread_mutex_lock(&cb_lock);
    while (cb_count < n)
        pthread_cond_wait(&cb_cond, &cb_lock);
    pthread_mutex_unlock(&cb_lock);
}

static void test_callback_abort_busy(void **state)
{
    struct fix f = { 0 };
    sci_dma_queue_state_t s;
    bool saw_busy = false, saw_abort = false;
    sci_error_t e, e2;

    (void)state;
    fix_up(&f);
    fill(f.lptr, 0, SEGSZ, 4);
    cb_count = 0;
    OK(SCIStartDmaTransfer(f.dq, f.ls, f.rs, 0, SEGSZ, 0, dma_cb, &cb_count, SCI_FLAG_USE_CALLBACK, &e_));
    wait_cb(1);
    assert_int_equal(cb_status, SCI_ERR_OK);
    assert_ptr_equal(cb_queue, f.dq);
    assert_int_equal(SCIWaitForDMAQueue(f.dq, 10000, 0, &e), SCI_DMAQUEUE_DONE);
    assert_true(check_remote(f.rptr, 0, SEGSZ, 4));

    /* a posted queue is busy; an abort stops it between chunks (or it was already done) */
    for (int tries = 0; tries < 20 && !(saw_busy && saw_abort); tries++) {
        OK(SCIStartDmaTransfer(f.dq, f.ls, f.rs, 0, SEGSZ, 0, NULL, NULL, 0, &e_));
        SCIStartDmaTransfer(f.dq, f.ls, f.rs, 0, 10, 0, NULL, NULL, 0, &e2);
        assert_true(e2 == SCI_ERR_BUSY || e2 == SCI_ERR_OK);   /* OK: the first was done already */
        SCIRemoveDMAQueue(f.dq, 0, &e);
        if (e == SCI_ERR_OK) {            /* everything had finished: a new queue, another try */
            OK(SCICreateDMAQueue(f.sd, &f.dq, 0, 4, 0, &e_));
            continue;
        }
        assert_int_equal(e, SCI_ERR_BUSY);
        saw_busy = true;
        OK(SCIAbortDMAQueue(f.dq, 0, &e_));
        s = SCIDMAQueueState(f.dq);
        assert_true(s == SCI_DMAQUEUE_ABORTED || s == SCI_DMAQUEUE_DONE);
        saw_abort |= s == SCI_DMAQUEUE_ABORTED;
        assert_int_equal(SCIWaitForDMAQueue(f.dq, 0, 0, &e), s);
        assert_int_equal(e, SCI_ERR_OK);
    }
    assert_true(saw_busy);
    assert_true(saw_abort);
    /* DMA_WAIT with a callback: both */
    SCIStartDmaTransfer(f.dq, f.ls, f.rs, 0, 4096, 0, dma_cb, &cb_count, SCI_FLAG_USE_CALLBACK | SCI_FLAG_DMA_WAIT,
                        &e);
    assert_int_equal(e, SCI_ERR_OK);
    wait_cb(2);
    fix_down(&f, true);
}

/* ---- bad input ---- */

static void test_bad_input(void **state)
{
    struct fix f = { 0 };
    dis_dma_vec_t v[5];
    sci_dma_queue_t dq;
    sci_error_t e;

    (void)state;
    fix_up(&f);
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCICreateDMAQueue(f.sd, &dq, 0, 0, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_FLAG, SCICreateDMAQueue(f.sd, &dq, 0, 1, 0x8, &e_));
    ERR(SCI_ERR_NO_SUCH_ADAPTERNO, SCICreateDMAQueue(f.sd, &dq, 6, 1, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCICreateDMAQueue(NULL, &dq, 0, 1, 0, &e_));

    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCIStartDmaTransfer(f.dq, f.ls, f.rs, 0, 0, 0, NULL, NULL, 0, &e_));
    ERR(SCI_ERR_OUT_OF_RANGE, SCIStartDmaTransfer(f.dq, f.ls, f.rs, 1, SEGSZ, 0, NULL, NULL, 0, &e_));
    ERR(SCI_ERR_OUT_OF_RANGE, SCIStartDmaTransfer(f.dq, f.ls, f.rs, 0, SEGSZ, 1, NULL, NULL, 0, &e_));
    ERR(SCI_ERR_OUT_OF_RANGE, SCIStartDmaTransfer(f.dq, f.ls, f.rs, SIZE_MAX - 10, 20, 0, NULL, NULL, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_FLAG, SCIStartDmaTransfer(f.dq, f.ls, f.rs, 0, 16, 0, NULL, NULL, 0x80000, &e_));
    ERR(SCI_ERR_ILLEGAL_PARAMETER,
        SCIStartDmaTransfer(f.dq, f.ls, f.rs, 0, 16, 0, NULL, NULL, SCI_FLAG_USE_CALLBACK, &e_));
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCIStartDmaTransfer(f.dq, NULL, f.rs, 0, 16, 0, NULL, NULL, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCIStartDmaTransfer(f.dq, f.ls, NULL, 0, 16, 0, NULL, NULL, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCIStartDmaTransfer(NULL, f.ls, f.rs, 0, 16, 0, NULL, NULL, 0, &e_));

    for (int i = 0; i < 5; i++)
        v[i] = (dis_dma_vec_t){ .size = 64, .local_offset = 64u * i, .remote_offset = 64u * i };
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCIStartDmaTransferVec(f.dq, f.ls, f.rs, 0, v, NULL, NULL, 0, &e_));
    SCIStartDmaTransferVec(f.dq, f.ls, f.rs, 5, v, NULL, NULL, 0, &e);   /* queue has 4 entries */
    assert_int_equal(e, SCI_ERR_MAX_ENTRIES);
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCIStartDmaTransferVec(f.dq, f.ls, f.rs, 2, NULL, NULL, NULL, 0, &e_));
    v[3].remote_offset = SEGSZ - 63;
    ERR(SCI_ERR_OUT_OF_RANGE, SCIStartDmaTransferVec(f.dq, f.ls, f.rs, 4, v, NULL, NULL, 0, &e_));
    v[3].remote_offset = 0;
    v[2].flags = 1;
    ERR(SCI_ERR_ILLEGAL_FLAG, SCIStartDmaTransferVec(f.dq, f.ls, f.rs, 4, v, NULL, NULL, 0, &e_));
    v[2].flags = 0;
    v[1].size = 0;
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCIStartDmaTransferVec(f.dq, f.ls, f.rs, 4, v, NULL, NULL, 0, &e_));
    /* nothing was posted by any of these */
    assert_int_equal(SCIDMAQueueState(f.dq), SCI_DMAQUEUE_IDLE);
    assert_int_equal(SCIWaitForDMAQueue(f.dq, 10, 0, &e), SCI_DMAQUEUE_IDLE);
    assert_int_equal(e, SCI_ERR_OK);
    ERR(SCI_ERR_ILLEGAL_FLAG, SCIWaitForDMAQueue(f.dq, 10, 1, &e_));
    /* the descriptor is busy while it owns a queue */
    fix_down(&f, true);
}

/* ---- the owner is SIGKILLed ---- */

static void test_owner_killed(void **state)
{
    struct fix f = { 0 };
    sci_segment_cb_reason_t r = SCI_CB_CONNECT;
    sci_error_t e, status;

    (void)state;
    fix_up(&f);
    OK(SCIUnmapSegment(f.rmap, 0, &e_));
    f.rmap = NULL;
    kill(f.p.pid, SIGKILL);
    assert_int_equal(tproc_end(&f.p, 5000), 128 + SIGKILL);
    for (int i = 0; i < 20 && r != SCI_CB_LOST; i++) {
        r = SCIWaitForRemoteSegmentEvent(f.rs, &status, 1000, 0, &e);
        if (e == SCI_ERR_TIMEOUT)
            continue;
        assert_int_equal(e, SCI_ERR_OK);
    }
    assert_int_equal(r, SCI_CB_LOST);
    SCIStartDmaTransfer(f.dq, f.ls, f.rs, 0, 4096, 0, dma_cb, &cb_count, SCI_FLAG_USE_CALLBACK | SCI_FLAG_DMA_WAIT,
                        &e);
    assert_int_equal(e, SCI_ERR_NOT_CONNECTED);
    assert_int_equal(SCIDMAQueueState(f.dq), SCI_DMAQUEUE_ERROR);
    assert_int_equal(SCIWaitForDMAQueue(f.dq, 100, 0, &e), SCI_DMAQUEUE_ERROR);
    assert_int_equal(e, SCI_ERR_NOT_CONNECTED);
    pthread_mutex_lock(&cb_lock);
    cb_count = 0;
    pthread_mutex_unlock(&cb_lock);
    fix_down(&f, false);
}

OSCI_TEST_MAIN(NULL, NULL, NULL,
               cmocka_unit_test(test_write_read_vec),
               cmocka_unit_test(test_callback_abort_busy),
               cmocka_unit_test(test_bad_input),
               cmocka_unit_test(test_owner_killed))
