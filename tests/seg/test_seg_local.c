/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* libseg in one process: initialisation, descriptors, local segments and their state machine,
 * local maps, sequences on local maps, waits, bad input on every entry point, error strings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../common/osci_test.h"
#include "seg_obj.h"
#include "seg_peer.h"

static int teardown(void **state)
{
    int r = sd_teardown(state);

    tproc_reap_all();
    return r;
}

static void test_not_initialized(void **state)
{
    sci_desc_t sd = NULL;
    sci_local_segment_t ls = NULL;
    sci_remote_segment_t rs = NULL;
    (void)state;
    ERR(SCI_ERR_NOT_INITIALIZED, SCIOpen(&sd, 0, &e_));
    ERR(SCI_ERR_NOT_INITIALIZED, SCICreateSegment(sd, &ls, 1, 4096, NULL, NULL, 0, &e_));
    ERR(SCI_ERR_NOT_INITIALIZED, SCIConnectSegment(sd, &rs, 1, 1, 0, NULL, NULL, 0, 0, &e_));
    ERR(SCI_ERR_NOT_INITIALIZED, SCIPrepareSegment(ls, 0, 0, &e_));
    ERR(SCI_ERR_NOT_INITIALIZED, SCIClose(sd, 0, &e_));
    ERR(SCI_ERR_NOT_INITIALIZED, SCIShareSegment(ls, 0, &e_));
    assert_int_equal(osci_fault_inject(0, OSCI_FAULT_LINK_DOWN, 1, 0), -SEG_ENOTINIT);
    ERR(SCI_ERR_ILLEGAL_FLAG, SCIInitialize(0x80, &e_));
    /* reference counted */
    OK(SCIInitialize(0, &e_));
    OK(SCIInitialize(0, &e_));
    SCITerminate();
    OK(SCIOpen(&sd, 0, &e_));
    OK(SCIClose(sd, 0, &e_));
    SCITerminate();
    ERR(SCI_ERR_NOT_INITIALIZED, SCIOpen(&sd, 0, &e_));
    SCITerminate();   /* extra terminate is harmless */
}

static void test_desc(void **state)
{
    sci_desc_t sd = *state, sd2;
    sci_local_segment_t ls;
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCIOpen(NULL, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_FLAG, SCIOpen(&sd2, 0x8000, &e_));
    OK(SCIOpen(&sd2, SCI_FLAG_THREAD_SAFE, &e_));
    OK(SCICreateSegment(sd2, &ls, 7, 4096, NULL, NULL, 0, &e_));
    ERR(SCI_ERR_BUSY, SCIClose(sd2, 0, &e_));
    OK(SCIRemoveSegment(ls, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_FLAG, SCIClose(sd2, 1, &e_));
    OK(SCIClose(sd2, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCIClose(sd2, 0, &e_));     /* stale */
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCIClose(NULL, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCICreateSegment(sd2, &ls, 8, 4096, NULL, NULL, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCICreateSegment((sci_desc_t)&ls, &ls, 8, 4096, NULL, NULL, 0, &e_));
    (void)sd;
}

static sci_callback_action_t nop_cb(void *arg, sci_local_segment_t s, sci_segment_cb_reason_t r, unsigned int n,
                                    unsigned int a, sci_error_t e)
{
    return SCI_CALLBACK_CONTINUE;
}

static void test_create_bad_input(void **state)
{
    sci_desc_t sd = *state;
    sci_local_segment_t ls, ls2, p1, p2, a1, a2;
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCICreateSegment(NULL, &ls, 1, 4096, NULL, NULL, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCICreateSegment(sd, NULL, 1, 4096, NULL, NULL, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_FLAG, SCICreateSegment(sd, &ls, 1, 4096, NULL, NULL, 0x100, &e_));
    ERR(SCI_ERR_ILLEGAL_FLAG, SCICreateSegment(sd, &ls, 1, 4096, NULL, NULL, SCI_FLAG_BROADCAST | SCI_FLAG_PRIVATE, &e_));
    ERR(SCI_ERR_SIZE_ALIGNMENT, SCICreateSegment(sd, &ls, 1, 0, NULL, NULL, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCICreateSegment(sd, &ls, 1, 4096, NULL, NULL, SCI_FLAG_USE_CALLBACK, &e_));
    ERR(SCI_ERR_NOSPC, SCICreateSegment(sd, &ls, 1, (size_t)1 << 50, NULL, NULL, 0, &e_));
    OK(SCICreateSegment(sd, &ls, 1, 100, NULL, NULL, 0, &e_));
    assert_int_equal(SCIGetLocalSegmentSize(ls), 100);
    assert_int_equal(SCIGetLocalSegmentId(ls), 1);
    ERR(SCI_ERR_SEGMENTID_USED, SCICreateSegment(sd, &ls2, 1, 4096, NULL, NULL, 0, &e_));
    OK(SCICreateSegment(sd, &ls2, 2, 4096, nop_cb, NULL, SCI_FLAG_USE_CALLBACK, &e_));
    /* PRIVATE segments take no id; AUTO_ID picks distinct unused ones */
    OK(SCICreateSegment(sd, &p1, 1, 4096, NULL, NULL, SCI_FLAG_PRIVATE, &e_));
    OK(SCICreateSegment(sd, &p2, 1, 4096, NULL, NULL, SCI_FLAG_PRIVATE, &e_));
    OK(SCICreateSegment(sd, &a1, 0, 4096, NULL, NULL, SCI_FLAG_AUTO_ID, &e_));
    OK(SCICreateSegment(sd, &a2, 0, 4096, NULL, NULL, SCI_FLAG_AUTO_ID, &e_));
    assert_int_not_equal(SCIGetLocalSegmentId(a1), SCIGetLocalSegmentId(a2));
    assert_int_not_equal(SCIGetLocalSegmentId(a1), 1);
    ERR(SCI_ERR_SEGMENTID_USED, SCICreateSegment(sd, &ls2, SCIGetLocalSegmentId(a1), 4096, NULL, NULL, 0, &e_));
    sci_local_segment_t all[] = { ls, p1, p2, a1, a2 };
    for (unsigned int i = 0; i < 5; i++)
        OK(SCIRemoveSegment(all[i], 0, &e_));
    OK(SCIRemoveSegment(ls2, 0, &e_));
    /* stale handles */
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCIRemoveSegment(ls, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCIPrepareSegment(ls, 0, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCISetSegmentAvailable(ls, 0, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCIRemoveSegment(NULL, 0, &e_));
    assert_int_equal(SCIGetLocalSegmentSize(ls), 0);
    assert_int_equal(SCIGetLocalSegmentId(NULL), 0);
    /* the id is free again */
    OK(SCICreateSegment(sd, &ls, 1, 4096, NULL, NULL, 0, &e_));
    OK(SCIRemoveSegment(ls, 0, &e_));
}

/* Every (state, event) pair of the local machine, on a bare object. */
static void test_lseg_machine(void **state)
{
    static const int want[LSEG_STATE_COUNT][LSEG_EV_COUNT] = {
        /* PREPARE, SET_AVAILABLE, SET_UNAVAILABLE, REMOVE: resulting state, or -errno */
        [LSEG_CREATED] = { LSEG_PREPARED, -SEG_ENOTPREP, -SEG_ENOTPREP, LSEG_REMOVED },
        [LSEG_PREPARED] = { LSEG_PREPARED, LSEG_AVAILABLE, LSEG_PREPARED, LSEG_REMOVED },
        [LSEG_AVAILABLE] = { LSEG_AVAILABLE, LSEG_AVAILABLE, LSEG_PREPARED, LSEG_REMOVED },
        [LSEG_REMOVED] = { -EPROTO, -EPROTO, -EPROTO, -EPROTO },
    };
    struct sci_local_segment ls;
    (void)state;
    for (int s = 0; s < LSEG_STATE_COUNT; s++) {
        for (int ev = 0; ev < LSEG_EV_COUNT; ev++) {
            memset(&ls, 0, sizeof(ls));
            ls.state[1] = (enum lseg_state)s;
            int rc = lseg_transition(&ls, 1, (enum lseg_event)ev);
            if (want[s][ev] < 0) {
                assert_int_equal(rc, want[s][ev]);
                assert_int_equal(ls.state[1], s);
            } else {
                assert_int_equal(rc, 0);
                assert_int_equal(ls.state[1], want[s][ev]);
            }
            assert_int_equal(ls.state[0], LSEG_CREATED);   /* per adapter */
        }
    }
    memset(&ls, 0, sizeof(ls));
    ls.flags = SCI_FLAG_PRIVATE;
    ls.state[0] = LSEG_PREPARED;
    assert_int_equal(lseg_transition(&ls, 0, LSEG_EV_SET_AVAILABLE), -EPERM);
    assert_int_equal(lseg_transition(&ls, OSCI_MAX_ADAPTERS, LSEG_EV_PREPARE), -EPROTO);
    assert_int_equal(lseg_transition(&ls, 0, LSEG_EV_COUNT), -EPROTO);
    assert_string_equal(lseg_state_str(LSEG_AVAILABLE), "AVAILABLE");
}

static void test_lseg_api_states(void **state)
{
    sci_desc_t sd = *state;
    sci_local_segment_t ls, pv;
    OK(SCICreateSegment(sd, &ls, 10, 8192, NULL, NULL, 0, &e_));
    ERR(SCI_ERR_SEGMENT_NOT_PREPARED, SCISetSegmentAvailable(ls, 0, 0, &e_));
    ERR(SCI_ERR_SEGMENT_NOT_PREPARED, SCISetSegmentUnavailable(ls, 0, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_ADAPTERNO, SCIPrepareSegment(ls, OSCI_MAX_ADAPTERS, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_ADAPTERNO, SCIPrepareSegment(ls, 1000, 0, &e_));
    ERR(SCI_ERR_NO_SUCH_ADAPTERNO, SCIPrepareSegment(ls, 5, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_FLAG, SCIPrepareSegment(ls, 0, 0x4000, &e_));
    OK(SCIPrepareSegment(ls, 0, 0, &e_));
    OK(SCIPrepareSegment(ls, 0, 0, &e_));
    assert_int_equal(ls->state[0], LSEG_PREPARED);
    ERR(SCI_ERR_ILLEGAL_FLAG, SCISetSegmentAvailable(ls, 0, SCI_FLAG_NOTIFY, &e_));
    ERR(SCI_ERR_NO_SUCH_ADAPTERNO, SCISetSegmentAvailable(ls, 3, 0, &e_));
    OK(SCISetSegmentAvailable(ls, 0, 0, &e_));
    assert_int_equal(ls->state[0], LSEG_AVAILABLE);
    ERR(SCI_ERR_ILLEGAL_FLAG, SCISetSegmentUnavailable(ls, 0, 0x1, &e_));
    OK(SCISetSegmentUnavailable(ls, 0, SCI_FLAG_NOTIFY, &e_));
    assert_int_equal(ls->state[0], LSEG_PREPARED);
    OK(SCISetSegmentAvailable(ls, 0, 0, &e_));
    OK(SCISetSegmentUnavailable(ls, 0, SCI_FLAG_NOTIFY | SCI_FLAG_FORCE_DISCONNECT, &e_));
    OK(SCISetSegmentAvailable(ls, 0, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_FLAG, SCIRemoveSegment(ls, 0x1, &e_));
    OK(SCIRemoveSegment(ls, 0, &e_));   /* remove from AVAILABLE with no connections */

    OK(SCICreateSegment(sd, &pv, 11, 4096, NULL, NULL, SCI_FLAG_PRIVATE, &e_));
    OK(SCIPrepareSegment(pv, 0, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_OPERATION, SCISetSegmentAvailable(pv, 0, 0, &e_));
    OK(SCIRemoveSegment(pv, 0, &e_));
}

static void test_empty_and_user_memory(void **state)
{
    sci_desc_t sd = *state;
    sci_local_segment_t ls, full;
    sci_error_t e_;
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    void *mem = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_ptr_not_equal(mem, MAP_FAILED);

    OK(SCICreateSegment(sd, &ls, 20, 2 * pg, NULL, NULL, SCI_FLAG_EMPTY, &e_));
    ERR(SCI_ERR_ILLEGAL_OPERATION, SCIPrepareSegment(ls, 0, 0, &e_));
    sci_map_t m;
    ERR(SCI_ERR_ILLEGAL_OPERATION, SCIMapLocalSegment(ls, &m, 0, pg, NULL, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_ADDRESS, SCIRegisterSegmentMemory(NULL, 2 * pg, ls, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_ADDRESS, SCIRegisterSegmentMemory((char *)mem + 8, 2 * pg, ls, 0, &e_));
    ERR(SCI_ERR_SIZE_ALIGNMENT, SCIRegisterSegmentMemory(mem, 2 * pg + 1, ls, 0, &e_));
    ERR(SCI_ERR_SIZE_ALIGNMENT, SCIRegisterSegmentMemory(mem, 0, ls, 0, &e_));
    ERR(SCI_ERR_OUT_OF_RANGE, SCIRegisterSegmentMemory(mem, pg, ls, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_FLAG, SCIRegisterSegmentMemory(mem, 2 * pg, ls, 0x1, &e_));
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCIRegisterSegmentMemory(mem, 2 * pg, NULL, 0, &e_));
    OK(SCIRegisterSegmentMemory(mem, 2 * pg, ls, SCI_FLAG_LOCK_USER_MEM, &e_));
    ERR(SCI_ERR_ILLEGAL_OPERATION, SCIRegisterSegmentMemory(mem, 2 * pg, ls, 0, &e_));
    /* simntb exports only memory of its own window */
    ERR(SCI_ERR_NOT_SUPPORTED, SCIPrepareSegment(ls, 0, 0, &e_));
    /* a local map of user memory reaches it */
    volatile uint8_t *p = SCIMapLocalSegment(ls, &m, pg, 16, NULL, 0, &e_);
    assert_int_equal(e_, SCI_ERR_OK);
    p[3] = 0x5c;
    assert_int_equal(((uint8_t *)mem)[pg + 3], 0x5c);
    ERR(SCI_ERR_NOT_SUPPORTED, SCIMapLocalSegment(ls, &m, 0, 16, NULL, SCI_FLAG_READONLY_MAP, &e_));
    OK(SCIUnmapSegment(m, 0, &e_));
    OK(SCIRemoveSegment(ls, 0, &e_));
    /* non-EMPTY segments take no user memory */
    OK(SCICreateSegment(sd, &full, 21, pg, NULL, NULL, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_OPERATION, SCIRegisterSegmentMemory(mem, pg, full, 0, &e_));
    OK(SCIRemoveSegment(full, 0, &e_));
    ERR(SCI_ERR_NOT_SUPPORTED, SCIAttachPhysicalMemory(0, mem, 0, pg, full, 0, &e_));
    ERR(SCI_ERR_NOT_SUPPORTED, SCIShareSegment(full, 0, &e_));
    ERR(SCI_ERR_NOT_SUPPORTED, SCIAttachLocalSegment(sd, &ls, 21, NULL, NULL, NULL, 0, &e_));
    munmap(mem, 4 * pg);
}

static int write_readonly(int rd, int wr, void *arg)
{
    volatile uint8_t *p = arg;
    p[0] = 1;       /* must fault */
    return 0;
}

static void test_local_maps(void **state)
{
    sci_desc_t sd = *state;
    sci_local_segment_t ls;
    sci_map_t m, ro, m2;
    sci_sequence_t seq;
    uint8_t buf[64];
    sci_error_t e_;

    OK(SCICreateSegment(sd, &ls, 30, 3 * 4096, NULL, NULL, 0, &e_));
    ERR(SCI_ERR_OUT_OF_RANGE, SCIMapLocalSegment(ls, &m, 3 * 4096, 1, NULL, 0, &e_));
    ERR(SCI_ERR_OUT_OF_RANGE, SCIMapLocalSegment(ls, &m, 4096, 3 * 4096, NULL, 0, &e_));
    ERR(SCI_ERR_SIZE_ALIGNMENT, SCIMapLocalSegment(ls, &m, 0, 0, NULL, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_FLAG, SCIMapLocalSegment(ls, &m, 0, 16, NULL, 0x40000, &e_));
    ERR(SCI_ERR_ILLEGAL_FLAG, SCIMapLocalSegment(ls, &m, 0, 16, NULL, SCI_FLAG_OSCI_TRANSFER_MAP, &e_));
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCIMapLocalSegment(ls, NULL, 0, 16, NULL, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCIMapLocalSegment(NULL, &m, 0, 16, NULL, 0, &e_));
    ERR(SCI_ERR_NOT_SUPPORTED, SCIMapLocalSegment(ls, &m, 0, 16, (void *)0x10000000, SCI_FLAG_FIXED_MAP_ADDR, &e_));

    volatile uint8_t *p = SCIMapLocalSegment(ls, &m, 0, 3 * 4096, NULL, 0, &e_);
    assert_int_equal(e_, SCI_ERR_OK);
    for (int i = 0; i < 3 * 4096; i++)
        p[i] = (uint8_t)(i * 7);
    /* read-only view at an unaligned offset: exact address, same bytes, and really read-only */
    volatile uint8_t *r = SCIMapLocalSegment(ls, &ro, 4097, 100, NULL, SCI_FLAG_READONLY_MAP, &e_);
    assert_int_equal(e_, SCI_ERR_OK);
    for (int i = 0; i < 100; i++)
        assert_int_equal(r[i], (uint8_t)((4097 + i) * 7));
    assert_ptr_equal(SCIGetMapPointer(ro), r);
    assert_int_equal(SCIGetMapPhysAddr(ro), 0);
    struct tproc c;
    assert_int_equal(tproc_start(&c, write_readonly, (void *)r), 0);
    assert_int_equal(tproc_wait(&c, 5000), 200 + SIGSEGV);

    ERR(SCI_ERR_BUSY, SCIRemoveSegment(ls, 0, &e_));
    /* sequences on a local map never fail */
    ERR(SCI_ERR_ILLEGAL_FLAG, SCICreateMapSequence(m, &seq, 0x40, &e_));
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCICreateMapSequence(m, NULL, 0, &e_));
    OK(SCICreateMapSequence(m, &seq, SCI_FLAG_FAST_BARRIER, &e_));
    sci_error_t e;
    assert_int_equal(SCIStartSequence(seq, 0, &e), SCI_SEQ_OK);
    assert_int_equal(e, SCI_ERR_OK);
    assert_int_equal(SCICheckSequence(seq, 0, &e), SCI_SEQ_OK);
    assert_int_equal(SCICheckSequence(seq, 0x80, &e), SCI_SEQ_NOT_RETRIABLE);
    assert_int_equal(e, SCI_ERR_ILLEGAL_FLAG);
    /* SCIMemCpy both ways through a local map */
    memset(buf, 0xa5, sizeof(buf));
    OK(SCIMemCpy(seq, buf, m, 10, sizeof(buf), 0, &e_));
    assert_int_equal(p[10], 0xa5);
    assert_int_equal(p[73], 0xa5);
    memset(buf, 0, sizeof(buf));
    OK(SCIMemCpy(NULL, buf, m, 4096, 8, SCI_FLAG_BLOCK_READ | SCI_FLAG_ERROR_CHECK, &e_));
    assert_int_equal(buf[1], (uint8_t)(4097 * 7));
    ERR(SCI_ERR_OUT_OF_RANGE, SCIMemCpy(NULL, buf, m, 3 * 4096 - 4, 8, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_FLAG, SCIMemCpy(NULL, buf, m, 0, 8, 0x8, &e_));
    ERR(SCI_ERR_ACCESS, SCIMemCpy(NULL, buf, ro, 0, 8, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCIMemCpy(NULL, buf, NULL, 0, 8, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_ADDRESS, SCIMemCpy(NULL, NULL, m, 0, 8, 0, &e_));
    OK(SCIMemWrite(buf, p + 100, 8, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_FLAG, SCIMemWrite(buf, p, 8, 0x2, &e_));
    ERR(SCI_ERR_ILLEGAL_ADDRESS, SCIMemWrite(NULL, p, 8, 0, &e_));
    OK(SCICacheSync(m, (void *)p, 64, SCI_FLAG_CACHE_FLUSH | SCI_FLAG_CACHE_INVALIDATE, &e_));
    OK(SCICacheSync(NULL, buf, sizeof(buf), SCI_FLAG_CACHE_FLUSH, &e_));
    ERR(SCI_ERR_OUT_OF_RANGE, SCICacheSync(m, (void *)(p + 3 * 4096 - 8), 64, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_FLAG, SCICacheSync(m, (void *)p, 64, 0x1, &e_));
    SCIStoreBarrier(seq, 0);
    SCIFlush(NULL, SCI_FLAG_FLUSH_CPU_BUFFERS_ONLY);
    OK(SCIRemoveSequence(seq, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCIRemoveSequence(seq, 0, &e_));
    assert_int_equal(SCIStartSequence(seq, 0, &e), SCI_SEQ_NOT_RETRIABLE);
    assert_int_equal(e, SCI_ERR_ILLEGAL_PARAMETER);

    /* two maps of the same segment see the same memory */
    volatile uint8_t *p2 = SCIMapLocalSegment(ls, &m2, 8192, 16, NULL, 0, &e_);
    assert_int_equal(e_, SCI_ERR_OK);
    p2[0] = 0x42;
    assert_int_equal(p[8192], 0x42);
    OK(SCIUnmapSegment(m2, 0, &e_));
    OK(SCIUnmapSegment(ro, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_FLAG, SCIUnmapSegment(m, 4, &e_));
    OK(SCIUnmapSegment(m, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCIUnmapSegment(m, 0, &e_));
    assert_null(SCIGetMapPointer(m));
    OK(SCIRemoveSegment(ls, 0, &e_));
}

struct waiter {
    sci_local_segment_t ls;
    sci_error_t err;
    pthread_barrier_t bar;
};

static void *wait_thread(void *arg)
{
    struct waiter *w = arg;
    unsigned int node, ad;
    pthread_barrier_wait(&w->bar);
    SCIWaitForLocalSegmentEvent(w->ls, &node, &ad, SCI_INFINITE_TIMEOUT, 0, &w->err);
    return NULL;
}

static void test_local_wait(void **state)
{
    sci_desc_t sd = *state;
    sci_local_segment_t ls, cbs;
    unsigned int node, ad;
    struct waiter w = { .err = SCI_ERR_OK };
    pthread_t t;

    OK(SCICreateSegment(sd, &ls, 40, 4096, NULL, NULL, 0, &e_));
    ERR(SCI_ERR_TIMEOUT, SCIWaitForLocalSegmentEvent(ls, &node, &ad, 0, 0, &e_));
    ERR(SCI_ERR_TIMEOUT, SCIWaitForLocalSegmentEvent(ls, &node, &ad, 30, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_FLAG, SCIWaitForLocalSegmentEvent(ls, &node, &ad, 0, 1, &e_));
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCIWaitForLocalSegmentEvent(NULL, &node, &ad, 0, 0, &e_));
    OK(SCICreateSegment(sd, &cbs, 41, 4096, nop_cb, NULL, SCI_FLAG_USE_CALLBACK, &e_));
    ERR(SCI_ERR_ILLEGAL_OPERATION, SCIWaitForLocalSegmentEvent(cbs, &node, &ad, 0, 0, &e_));
    OK(SCIRemoveSegment(cbs, 0, &e_));

    /* a blocked waiter gets CANCELLED when the segment is removed under it */
    w.ls = ls;
    pthread_barrier_init(&w.bar, NULL, 2);
    assert_int_equal(pthread_create(&t, NULL, wait_thread, &w), 0);
    pthread_barrier_wait(&w.bar);
    for (int i = 0; i < 200; i++) {
        pthread_mutex_lock(&seg.lock);
        unsigned int n = ls->waiters;
        pthread_mutex_unlock(&seg.lock);
        if (n)
            break;
        usleep(1000);
    }
    OK(SCIRemoveSegment(ls, 0, &e_));
    pthread_join(t, NULL);
    assert_int_equal(w.err, SCI_ERR_CANCELLED);
    pthread_barrier_destroy(&w.bar);
}

static void test_error_strings(void **state)
{
    (void)state;
    for (unsigned int c = 0x900; c <= 0xA06; c++) {
        const char *s = SCIGetErrorString((sci_error_t)(c | SCI_ERR_MASK));
        assert_non_null(s);
    }
    assert_string_equal(SCIGetErrorString(SCI_ERR_OK), "OK");
    assert_string_equal(SCIGetErrorString((sci_error_t)12345), "Unknown SISCI error");
    assert_int_not_equal(strcmp(SCIGetErrorString(SCI_ERR_NOT_SUPPORTED), "Unknown SISCI error"), 0);
    assert_int_not_equal(strcmp(SCIGetErrorString(SCI_ERR_TRANSFER_FAILED), "Unknown SISCI error"), 0);
    assert_int_equal(seg__to_sci(0), SCI_ERR_OK);
    assert_int_equal(seg__to_sci(-EBUSY), SCI_ERR_BUSY);
    assert_int_equal(seg__to_sci(-SEG_EFLAG), SCI_ERR_ILLEGAL_FLAG);
    assert_int_equal(seg__to_sci(-SEG_ENOTPREP), SCI_ERR_SEGMENT_NOT_PREPARED);
    assert_int_equal(seg__to_sci(-ENOLINK), SCI_ERR_NO_LINK_ACCESS);
    assert_int_equal(seg__to_sci(-12345), SCI_ERR_SYSTEM);
    assert_string_equal(osci_strerror(-EBUSY), "busy: still in use");
    assert_string_equal(osci_strerror(0), "success");
    assert_string_equal(osci_strerror(-9999), "unknown error");
}

static void test_info(void **state)
{
    sci_desc_t sd = *state;
    sci_local_segment_t ls;
    struct osci_adapter_info ai[4];
    struct osci_seg_info si[8];
    unsigned int n = 0, me;

    OK(SCICreateSegment(sd, &ls, 55, 4096, NULL, NULL, 0, &e_));
    OK(SCIPrepareSegment(ls, 0, 0, &e_));
    OK(SCISetSegmentAvailable(ls, 0, 0, &e_));
    assert_int_equal(osci_info_adapters(ai, 4, &n), 0);
    assert_true(n >= 1);
    assert_string_equal(ai[0].driver, "simntb");
    OK(SCIGetLocalNodeId(0, &me, 0, &e_));
    assert_int_equal(osci_info_segments(0, me, si, 8, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(si[0].segment_id, 55);
    assert_int_equal(si[0].kind, OSCI_SEG_LOCAL);
    assert_string_equal(si[0].state, "AVAILABLE");
    assert_int_equal(osci_info_segments(0, me, NULL, 0, NULL), -EINVAL);
    OK(SCIRemoveSegment(ls, 0, &e_));
    assert_int_equal(osci_info_segments(0, me, si, 8, &n), 0);
    assert_int_equal(n, 0);
}

OSCI_TEST_MAIN("seg_local", NULL, NULL,
               cmocka_unit_test(test_not_initialized),
               cmocka_unit_test(test_lseg_machine),
               cmocka_unit_test(test_error_strings),
               cmocka_unit_test_setup_teardown(test_desc, sd_setup, teardown),
               cmocka_unit_test_setup_teardown(test_create_bad_input, sd_setup, teardown),
               cmocka_unit_test_setup_teardown(test_lseg_api_states, sd_setup, teardown),
               cmocka_unit_test_setup_teardown(test_empty_and_user_memory, sd_setup, teardown),
               cmocka_unit_test_setup_teardown(test_local_maps, sd_setup, teardown),
               cmocka_unit_test_setup_teardown(test_local_wait, sd_setup, teardown),
               cmocka_unit_test_setup_teardown(test_info, sd_setup, teardown))
