/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Teardown as Dolphin's library does it, and the flags real programs pass: SCIRemoveSegment while a
 * remote is connected (unmapped, or still mapped) force-disconnects it and quarantines the memory
 * until it answered; SCIUnmapSegment with a live sequence orphans the sequence; SCI_FLAG_DMA_GLOBAL
 * (and the other engine selectors) on segments, queues and transfers; map hint flags on both map
 * calls. Remote sides are forked processes on simntb; one-node cases connect to this node. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/osci_test.h"
#include "seg_obj.h"
#include "seg_peer.h"
#include "seg_state.h"

#define SEGSZ (64 * 1024)
#define T_MS 10000

/* The quarantined memory of segment `id` (NULL: none), read under the library lock. */
static void *quarantined(uint32_t id)
{
    struct seg_quarantine *q;
    void *addr = NULL;
    pthread_mutex_lock(&seg.lock);
    osci_list_for_each(q, &segx.quar, link)
        if (q->seg_id == id)
            addr = q->mem.view.addr;
    pthread_mutex_unlock(&seg.lock);
    return addr;
}

static int wait_unquarantined(uint32_t id)
{
    for (int i = 0; i < 1000; i++) {
        if (!quarantined(id))
            return 0;
        usleep(10000);
    }
    return -1;
}

/* ---------------------------------------------------------------- remote processes */

enum { R_MAPPED = 1 };   /* remote_main's argument: keep a map, a transfer map and a sequence */

/*
 * Connects to segment `id` of the node it is sent, checks the pattern, reports ready (after
 * unmapping, unless R_MAPPED), then waits for the owner's remove: SCI_CB_DISCONNECT, the segment no
 * longer reachable (maps read zeros, SCIMemCpy and sequences fail, no new map), unmap and disconnect
 * still succeed. Reports 0 at the end.
 */
static int remote_main(int rd, int wr, void *arg)
{
    int mode = (int)(intptr_t)arg;
    uint32_t onode, id;
    sci_desc_t sd;
    sci_remote_segment_t rs;
    sci_map_t m, mt = NULL;
    sci_sequence_t seq = NULL;
    sci_error_t e, st;
    volatile uint8_t *p;
    uint8_t b[16];

    CHECK(tproc_recv_u32(rd, &onode, T_MS) == 0);
    CHECK(tproc_recv_u32(rd, &id, T_MS) == 0);
    sd = child_open();
    CHECK(connect_retry(sd, &rs, onode, id) == SCI_ERR_OK);
    CHECK(SCIWaitForRemoteSegmentEvent(rs, &st, T_MS, 0, &e) == SCI_CB_CONNECT);
    p = SCIMapRemoteSegment(rs, &m, 0, SEGSZ, NULL, 0, &e);
    CHECK(e == SCI_ERR_OK);
    CHECK(p[100] == 100 && p[SEGSZ - 1] == (uint8_t)(SEGSZ - 1));
    if (mode == R_MAPPED) {
        COK(SCIMapRemoteSegment(rs, &mt, 0, SEGSZ, NULL, SCI_FLAG_OSCI_TRANSFER_MAP, &e_));
        COK(SCICreateMapSequence(m, &seq, 0, &e_));
        CHECK(SCIStartSequence(seq, 0, &e) == SCI_SEQ_OK);
    } else {
        COK(SCIUnmapSegment(m, 0, &e_));
    }
    CHECK(tproc_send_u32(wr, 1) == 0);

    CHECK(SCIWaitForRemoteSegmentEvent(rs, &st, T_MS, 0, &e) == SCI_CB_DISCONNECT);
    CHECK(e == SCI_ERR_OK);
    CERR(SCI_ERR_SEGMENT_NOT_CONNECTED, SCIMapRemoteSegment(rs, &m, 0, SEGSZ, NULL, 0, &e_));
    if (mode == R_MAPPED) {
        CHECK(p[100] == 0);                       /* revoked: a private zero page */
        CHECK(SCICheckSequence(seq, 0, &e) == SCI_SEQ_NOT_RETRIABLE);
        CERR(SCI_ERR_TRANSFER_FAILED, SCIMemCpy(seq, b, mt, 0, sizeof(b), SCI_FLAG_BLOCK_READ, &e_));
        CERR(SCI_ERR_TRANSFER_FAILED, SCIMemCpy(NULL, b, mt, 0, sizeof(b), 0, &e_));
        COK(SCIUnmapSegment(mt, 0, &e_));
        SCIUnmapSegment(m, 0, &e);                 /* with its sequence */
        CHECK(e == SCI_ERR_OK);
        COK(SCIRemoveSequence(seq, 0, &e_));
    }
    COK(SCIDisconnectSegment(rs, 0, &e_));
    child_fini(sd);
    CHECK(tproc_send_u32(wr, 0) == 0);
    return 0;
}

/* Owner side: segment `id` created, mapped, filled and available; the remote told where. */
static sci_local_segment_t owner_up(sci_desc_t sd, struct tproc *r, uint32_t id, sci_map_t *m)
{
    sci_local_segment_t ls;
    sci_error_t e;
    unsigned int src, ad;

    OK(SCICreateSegment(sd, &ls, id, SEGSZ, NULL, NULL, 0, &e_));
    volatile uint8_t *p = SCIMapLocalSegment(ls, m, 0, SEGSZ, NULL, 0, &e);
    assert_int_equal(e, SCI_ERR_OK);
    for (int i = 0; i < SEGSZ; i++)
        p[i] = (uint8_t)i;
    OK(SCIPrepareSegment(ls, 0, 0, &e_));
    OK(SCISetSegmentAvailable(ls, 0, 0, &e_));
    assert_int_equal(tproc_send_u32(r->wr, my_node()), 0);
    assert_int_equal(tproc_send_u32(r->wr, id), 0);
    assert_int_equal(SCIWaitForLocalSegmentEvent(ls, &src, &ad, T_MS, 0, &e), SCI_CB_CONNECT);
    assert_int_equal(e, SCI_ERR_OK);
    return ls;
}

/* ---------------------------------------------------------------- tests */

/* Remove while a remote is connected but unmapped: OK; the memory stays quarantined (not released,
 * not reused by the next segment) until the remote answered, which a stopped remote cannot. */
static void test_remove_connected_unmapped(void **state)
{
    struct tproc r;
    sci_desc_t sd;
    sci_local_segment_t ls, ls2;
    sci_map_t m, m2;
    sci_error_t e;
    uint32_t v;

    assert_int_equal(tproc_start(&r, remote_main, NULL), 0);
    sd = parent_init();
    ls = owner_up(sd, &r, 301, &m);
    void *mem = ls->mem.view.addr;
    assert_int_equal(tproc_recv_u32(r.rd, &v, T_MS), 0);       /* connected and unmapped */
    ERR(SCI_ERR_BUSY, SCIRemoveSegment(ls, 0, &e_));           /* our own map still holds it */
    OK(SCIUnmapSegment(m, 0, &e_));
    assert_int_equal(kill(r.pid, SIGSTOP), 0);
    OK(SCIRemoveSegment(ls, 0, &e_));
    assert_ptr_equal(quarantined(301), mem);
    /* the id is free again, the quarantined memory is not */
    OK(SCICreateSegment(sd, &ls2, 301, SEGSZ, NULL, NULL, 0, &e_));
    volatile uint8_t *p2 = SCIMapLocalSegment(ls2, &m2, 0, SEGSZ, NULL, 0, &e);
    assert_int_equal(e, SCI_ERR_OK);
    assert_ptr_not_equal((void *)p2, mem);
    assert_ptr_equal(quarantined(301), mem);
    assert_int_equal(kill(r.pid, SIGCONT), 0);
    assert_int_equal(tproc_recv_u32(r.rd, &v, T_MS), 0);       /* DISCONNECT seen, checks passed */
    assert_int_equal(v, 0);
    assert_int_equal(tproc_wait(&r, T_MS), 0);
    assert_int_equal(wait_unquarantined(301), 0);
    OK(SCIUnmapSegment(m2, 0, &e_));
    OK(SCIRemoveSegment(ls2, 0, &e_));
    parent_fini(sd);
}

/* Remove while a remote is connected and still mapped (with a transfer map and a sequence): OK as
 * well; the remote's maps are revoked, its sequence and SCIMemCpy fail. */
static void test_remove_connected_mapped(void **state)
{
    struct tproc r;
    sci_desc_t sd;
    sci_local_segment_t ls;
    sci_map_t m;
    uint32_t v;

    assert_int_equal(tproc_start(&r, remote_main, (void *)(intptr_t)R_MAPPED), 0);
    sd = parent_init();
    ls = owner_up(sd, &r, 302, &m);
    assert_int_equal(tproc_recv_u32(r.rd, &v, T_MS), 0);
    OK(SCIUnmapSegment(m, 0, &e_));
    OK(SCIRemoveSegment(ls, 0, &e_));
    assert_int_equal(tproc_recv_u32(r.rd, &v, T_MS), 0);
    assert_int_equal(v, 0);
    assert_int_equal(tproc_wait(&r, T_MS), 0);
    assert_int_equal(wait_unquarantined(302), 0);
    parent_fini(sd);
}

/* Unmap with live sequences succeeds; every use of an orphaned sequence is an error, removing it
 * works once. A remote map's sequence outlives even the disconnect of its segment. */
static void test_unmap_with_sequence(void **state)
{
    sci_desc_t sd;
    sci_local_segment_t ls;
    sci_remote_segment_t rs;
    sci_map_t lm, lm2, rm;
    sci_sequence_t s1, s2, s3;
    sci_error_t e;
    uint8_t b[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

    sd = parent_init();
    OK(SCICreateSegment(sd, &ls, 303, 8192, NULL, NULL, 0, &e_));
    OK(SCIPrepareSegment(ls, 0, 0, &e_));
    OK(SCISetSegmentAvailable(ls, 0, 0, &e_));
    OK(SCIMapLocalSegment(ls, &lm, 0, 8192, NULL, 0, &e_));
    volatile uint8_t *lp = SCIMapLocalSegment(ls, &lm2, 0, 8192, NULL, 0, &e);
    assert_int_equal(e, SCI_ERR_OK);
    OK(SCICreateMapSequence(lm, &s1, 0, &e_));
    OK(SCICreateMapSequence(lm, &s2, SCI_FLAG_FAST_BARRIER, &e_));
    OK(SCIUnmapSegment(lm, 0, &e_));
    for (int k = 0; k < 2; k++) {
        sci_sequence_t s = k ? s2 : s1;
        assert_int_equal(SCIStartSequence(s, 0, &e), SCI_SEQ_NOT_RETRIABLE);
        assert_int_equal(e, SCI_ERR_ILLEGAL_OPERATION);
        assert_int_equal(SCICheckSequence(s, 0, &e), SCI_SEQ_NOT_RETRIABLE);
        assert_int_equal(e, SCI_ERR_ILLEGAL_OPERATION);
        assert_int_equal(SCICheckSequence(s, SCI_FLAG_NO_FLUSH, &e), SCI_SEQ_NOT_RETRIABLE);
        assert_int_equal(e, SCI_ERR_ILLEGAL_OPERATION);
        SCIFlush(s, 0);
        SCIStoreBarrier(s, 0);
        ERR(SCI_ERR_ILLEGAL_OPERATION, SCIMemCpy(s, b, lm2, 0, sizeof(b), 0, &e_));
    }
    assert_int_equal(lp[0], 0);                                /* the refused copy wrote nothing */
    OK(SCIMemCpy(NULL, b, lm2, 0, sizeof(b), 0, &e_));
    assert_int_equal(lp[7], 8);
    OK(SCIRemoveSequence(s1, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCIRemoveSequence(s1, 0, &e_));
    /* a sequence of the other (live) map is untouched */
    OK(SCICreateMapSequence(lm2, &s3, 0, &e_));
    assert_int_equal(SCIStartSequence(s3, 0, &e), SCI_SEQ_OK);
    OK(SCIRemoveSequence(s3, 0, &e_));

    /* a remote map (this node's own segment): unmap, then disconnect, with the sequence alive */
    OK(SCIConnectSegment(sd, &rs, my_node(), 303, 0, NULL, NULL, T_MS, 0, &e_));
    OK(SCIMapRemoteSegment(rs, &rm, 0, 8192, NULL, 0, &e_));
    OK(SCICreateMapSequence(rm, &s3, 0, &e_));
    assert_int_equal(SCIStartSequence(s3, 0, &e), SCI_SEQ_OK);
    OK(SCIUnmapSegment(rm, 0, &e_));
    OK(SCIDisconnectSegment(rs, 0, &e_));
    assert_int_equal(SCIStartSequence(s3, 0, &e), SCI_SEQ_NOT_RETRIABLE);
    assert_int_equal(e, SCI_ERR_ILLEGAL_OPERATION);
    assert_int_equal(SCICheckSequence(s3, 0, &e), SCI_SEQ_NOT_RETRIABLE);
    assert_int_equal(e, SCI_ERR_ILLEGAL_OPERATION);
    OK(SCIRemoveSequence(s3, 0, &e_));
    OK(SCIRemoveSequence(s2, 0, &e_));
    OK(SCIUnmapSegment(lm2, 0, &e_));
    OK(SCIRemoveSegment(ls, 0, &e_));
    parent_fini(sd);
}

/* SCI_FLAG_DMA_GLOBAL on create and prepare (as real programs pass it), and the engine selectors
 * on queues and transfers: accepted, the data moves; physical DMA stays refused. */
static void test_dma_global(void **state)
{
    static const unsigned int engines[] = { SCI_FLAG_DMA_GLOBAL, SCI_FLAG_DMA_SYSDMA, SCI_FLAG_DMA_ADAPTER, 0 };
    sci_desc_t sd;
    sci_local_segment_t src, dst;
    sci_remote_segment_t rs;
    sci_map_t ms, md;
    sci_dma_queue_t dq;
    sci_error_t e;

    sd = parent_init();
    OK(SCICreateSegment(sd, &src, 0, 8192, NULL, NULL, SCI_FLAG_DMA_GLOBAL | SCI_FLAG_AUTO_ID, &e_));
    OK(SCIPrepareSegment(src, 0, SCI_FLAG_DMA_GLOBAL, &e_));
    OK(SCICreateSegment(sd, &dst, 304, 8192, NULL, NULL, SCI_FLAG_DMA_GLOBAL, &e_));
    OK(SCIPrepareSegment(dst, 0, SCI_FLAG_DMA_GLOBAL | SCI_FLAG_DMA_SOURCE_ONLY, &e_));
    OK(SCISetSegmentAvailable(dst, 0, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_FLAG, SCICreateSegment(sd, &dst, 305, 8192, NULL, NULL, SCI_FLAG_DMA_SYSDMA, &e_));
    uint8_t *sp = (uint8_t *)SCIMapLocalSegment(src, &ms, 0, 8192, NULL, 0, &e);
    assert_int_equal(e, SCI_ERR_OK);
    volatile uint8_t *dp = SCIMapLocalSegment(dst, &md, 0, 8192, NULL, 0, &e);
    assert_int_equal(e, SCI_ERR_OK);
    OK(SCIConnectSegment(sd, &rs, my_node(), 304, 0, NULL, NULL, T_MS, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_FLAG, SCICreateDMAQueue(sd, &dq, 0, 1, SCI_FLAG_DMA_PHDMA, &e_));
    for (unsigned int k = 0; k < sizeof(engines) / sizeof(engines[0]); k++) {
        unsigned int fl = engines[k];
        OK(SCICreateDMAQueue(sd, &dq, 0, 1, fl, &e_));
        for (int i = 0; i < 4096; i++)
            sp[i] = (uint8_t)(i * 7 + k + 1);
        OK(SCIStartDmaTransfer(dq, src, rs, 0, 4096, 1024, NULL, NULL, fl | SCI_FLAG_DMA_WAIT, &e_));
        for (int i = 0; i < 4096; i++)
            assert_int_equal(dp[1024 + i], (uint8_t)(i * 7 + k + 1));
        memset(sp + 4096, 0, 4096);
        OK(SCIStartDmaTransfer(dq, src, rs, 4096, 4096, 1024, NULL, NULL,
                               fl | SCI_FLAG_DMA_READ | SCI_FLAG_DMA_WAIT, &e_));
        assert_int_equal(memcmp(sp, sp + 4096, 4096), 0);
        ERR(SCI_ERR_ILLEGAL_FLAG, SCIStartDmaTransfer(dq, src, rs, 0, 16, 0, NULL, NULL,
                                                      fl | SCI_FLAG_DMA_PHDMA, &e_));
        OK(SCIRemoveDMAQueue(dq, 0, &e_));
    }
    OK(SCIDisconnectSegment(rs, 0, &e_));
    OK(SCIUnmapSegment(ms, 0, &e_));
    OK(SCIUnmapSegment(md, 0, &e_));
    OK(SCIRemoveSegment(src, 0, &e_));
    OK(SCIRemoveSegment(dst, 0, &e_));
    parent_fini(sd);
}

/* Each cache/placement hint on both map calls: accepted, the map works. SCI-era remote atomics and
 * interrupt maps: NOT_SUPPORTED on a remote map, ILLEGAL_FLAG on a local one. */
static void test_map_hints(void **state)
{
    static const unsigned int hints[] = { SCI_FLAG_IO_MAP_IOSPACE, SCI_FLAG_SHARED_MAP, SCI_FLAG_WRITE_BACK_CACHE_MAP,
                                          SCI_FLAG_NO_MEMORY_LOOPBACK_MAP,
                                          SCI_FLAG_IO_MAP_IOSPACE | SCI_FLAG_SHARED_MAP | SCI_FLAG_READONLY_MAP };
    static const unsigned int notsup[] = { SCI_FLAG_LOCK_OPERATION, SCI_FLAG_CONDITIONAL_INTERRUPT_MAP,
                                           SCI_FLAG_UNCONDITIONAL_DATA_INTERRUPT_MAP };
    sci_desc_t sd;
    sci_local_segment_t ls;
    sci_remote_segment_t rs;
    sci_map_t lm, rm, m;
    sci_error_t e;

    sd = parent_init();
    OK(SCICreateSegment(sd, &ls, 306, 8192, NULL, NULL, 0, &e_));
    OK(SCIPrepareSegment(ls, 0, 0, &e_));
    OK(SCISetSegmentAvailable(ls, 0, 0, &e_));
    volatile uint8_t *base = SCIMapLocalSegment(ls, &m, 0, 8192, NULL, 0, &e);
    assert_int_equal(e, SCI_ERR_OK);
    OK(SCIConnectSegment(sd, &rs, my_node(), 306, 0, NULL, NULL, T_MS, 0, &e_));
    for (unsigned int k = 0; k < sizeof(hints) / sizeof(hints[0]); k++) {
        bool ro = hints[k] & SCI_FLAG_READONLY_MAP;
        volatile uint8_t *lp = SCIMapLocalSegment(ls, &lm, 100, 200, NULL, hints[k], &e);
        assert_int_equal(e, SCI_ERR_OK);
        volatile uint8_t *rp = SCIMapRemoteSegment(rs, &rm, 300, 200, NULL, hints[k], &e);
        assert_int_equal(e, SCI_ERR_OK);
        base[100] = (uint8_t)(k + 10);
        base[300] = (uint8_t)(k + 20);
        assert_int_equal(lp[0], k + 10);
        assert_int_equal(rp[0], k + 20);
        if (!ro) {
            lp[1] = (uint8_t)(k + 30);
            rp[1] = (uint8_t)(k + 40);
            assert_int_equal(base[101], k + 30);
            assert_int_equal(base[301], k + 40);
        }
        OK(SCIUnmapSegment(lm, 0, &e_));
        OK(SCIUnmapSegment(rm, 0, &e_));
        OK(SCIMapRemoteSegment(rs, &rm, 0, 64, NULL, hints[k] | SCI_FLAG_OSCI_TRANSFER_MAP, &e_));
        OK(SCIUnmapSegment(rm, 0, &e_));
    }
    for (unsigned int k = 0; k < sizeof(notsup) / sizeof(notsup[0]); k++) {
        ERR(SCI_ERR_NOT_SUPPORTED, SCIMapRemoteSegment(rs, &rm, 0, 64, NULL, notsup[k], &e_));
        ERR(SCI_ERR_ILLEGAL_FLAG, SCIMapLocalSegment(ls, &lm, 0, 64, NULL, notsup[k], &e_));
    }
    ERR(SCI_ERR_ILLEGAL_FLAG, SCIMapRemoteSegment(rs, &rm, 0, 64, NULL, 0x100000, &e_));
    OK(SCIDisconnectSegment(rs, 0, &e_));
    OK(SCIUnmapSegment(m, 0, &e_));
    OK(SCIRemoveSegment(ls, 0, &e_));
    parent_fini(sd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_unmap_with_sequence, seg_td),
        cmocka_unit_test_teardown(test_dma_global, seg_td),
        cmocka_unit_test_teardown(test_map_hints, seg_td),
        cmocka_unit_test_teardown(test_remove_connected_unmapped, seg_td),
        cmocka_unit_test_teardown(test_remove_connected_mapped, seg_td),
    };
    /* a stopped remote must not be declared lost while the test looks at the quarantine */
    setenv("OSCI_HEARTBEAT_TIMEOUT_MS", "20000", 0);
    tproc_default_fabric("seg_teardown");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
