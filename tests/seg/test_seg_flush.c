/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Flushing posted puts (osci_drv.h flush): the wrapper's default for drivers without the op (simntb is
 * synchronous), and every libseg path that flushes a transfer map, on simntb: SCIMemCpy through a
 * transfer map, SCIFlush (a sequence, NULL, CPU buffers only), SCIStoreBarrier, SCICheckSequence with and
 * without NO_FLUSH, SCI_FLAG_ERROR_CHECK, SCIUnmapSegment, and a DMA transfer that is DONE. The data is
 * checked through a load/store map of the same segment. Also osci__map_put_word (libnvsciipc's frame +
 * index + fence in one call) through both kinds of map, and its refusals. The rdma driver's posted puts need a device:
 * they run in the two-host lab (docs/vmlab.md, steps 23, 50, 51, 60). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#define SEGSZ (64 * 1024)
#define T_MS 10000
#include "osci_seg_priv.h"
#include "seg_owner.h"
#include "seg_obj.h"
#include "seg_state.h"

extern const struct osci_drv_ops osci_simntb_ops;

/* The owner of segment id connected and mapped (c->p) by an initialised library. */
static void up(struct owner_conn *c, uint32_t id)
{
    owner_connect(c, id);
    owner_map(c);
}

/* Unmap, disconnect, the owner quits, the library closes. */
static void down(struct owner_conn *c)
{
    OK(SCIUnmapSegment(c->m, 0, &e_));
    OK(SCIDisconnectSegment(c->rs, 0, &e_));
    owner_quit(c);
    parent_fini(c->sd);
}

static void test_wrapper_default(void **state)
{
    (void)state;
    const struct osci_drv_ops *sim = osci_drv_find("simntb");

    assert_non_null(sim);
    assert_null(osci_simntb_ops.flush);   /* synchronous: a put has landed when it returns */
    assert_non_null(sim->flush);          /* the registry's stub */
#ifdef OSCI_HAVE_RDMA                     /* built with the rdma driver (make RDMA=yes/auto) */
    assert_non_null(osci_drv_find("rdma"));
    assert_non_null(osci_drv_find("rdma")->flush);   /* posted puts */
#endif
    OK(SCIInitialize(0, &e_));
    assert_ptr_equal(seg.adapter[0].drv->ops, sim);
    assert_int_equal(osci_drv_flush(seg.adapter[0].drv, NULL), 0);
    SCIFlush(NULL, 0);                    /* every adapter: nothing to wait for */
    SCITerminate();
}

static void test_transfer_map_flush(void **state)
{
    (void)state;
    struct owner_conn c;
    sci_map_t mt;
    sci_sequence_t seq;
    sci_error_t e;
    uint8_t buf[4096];

    up(&c, 300);
    assert_null(SCIMapRemoteSegment(c.rs, &mt, 0, SEGSZ, NULL, SCI_FLAG_OSCI_TRANSFER_MAP, &e));
    assert_int_equal(e, SCI_ERR_OK);
    OK(SCICreateMapSequence(mt, &seq, 0, &e_));
    assert_int_equal(SCIStartSequence(seq, 0, &e), SCI_SEQ_OK);

    /* puts, then each way of asking for them to have landed */
    for (int k = 0; k < 8; k++) {
        for (size_t i = 0; i < sizeof(buf); i++)
            buf[i] = (uint8_t)(i * 7 + (size_t)k);
        OK(SCIMemCpy(seq, buf, mt, (size_t)k * sizeof(buf), sizeof(buf), 0, &e_));
    }
    SCIFlush(seq, 0);
    SCIStoreBarrier(seq, 0);
    SCIFlush(seq, SCI_FLAG_FLUSH_CPU_BUFFERS_ONLY);
    SCIFlush(NULL, 0);
    assert_int_equal(SCICheckSequence(seq, 0, &e), SCI_SEQ_OK);
    assert_int_equal(e, SCI_ERR_OK);
    assert_int_equal(SCICheckSequence(seq, SCI_FLAG_NO_FLUSH, &e), SCI_SEQ_OK);
    assert_int_equal(e, SCI_ERR_OK);
    for (size_t k = 0; k < 8; k++)
        for (size_t i = 0; i < sizeof(buf); i++)
            if (c.p[k * sizeof(buf) + i] != (uint8_t)(i * 7 + k))
                fail_msg("byte %zu of put %zu did not land", i, k);

    /* ERROR_CHECK: the put is flushed before the check */
    memset(buf, 0xa5, 64);
    OK(SCIMemCpy(seq, buf, mt, SEGSZ - 64, 64, SCI_FLAG_ERROR_CHECK, &e_));
    for (int i = 0; i < 64; i++)
        assert_int_equal(c.p[SEGSZ - 64 + i], 0xa5);

    /* a get sees every earlier put */
    memset(buf, 0x3c, 100);
    OK(SCIMemCpy(NULL, buf, mt, 40000, 100, 0, &e_));
    memset(buf, 0, 100);
    OK(SCIMemCpy(NULL, buf, mt, 40000, 100, SCI_FLAG_BLOCK_READ, &e_));
    for (int i = 0; i < 100; i++)
        assert_int_equal(buf[i], 0x3c);

    /* unmapping flushes; the last put is visible after it */
    memset(buf, 0x5a, 16);
    OK(SCIMemCpy(NULL, buf, mt, 100, 16, 0, &e_));
    OK(SCIRemoveSequence(seq, 0, &e_));
    OK(SCIUnmapSegment(mt, 0, &e_));
    for (int i = 0; i < 16; i++)
        assert_int_equal(c.p[100 + i], 0x5a);
    down(&c);
}

/* osci__map_put_word: the frame and then the word land (transfer map: put, put, flush); bad arguments. */
static void test_map_put_word(void **state)
{
    (void)state;
    struct owner_conn c;
    sci_map_t mt, mr;
    sci_error_t e;
    uint8_t frame[1536];

    up(&c, 301);
    assert_null(SCIMapRemoteSegment(c.rs, &mt, 0, SEGSZ, NULL, SCI_FLAG_OSCI_TRANSFER_MAP, &e));
    assert_int_equal(e, SCI_ERR_OK);

    for (uint32_t k = 1; k <= 4; k++) {
        memset(frame, (int)k, sizeof(frame));
        assert_int_equal(osci__map_put_word(k & 1 ? mt : c.m, 4096 + (k - 1) * sizeof(frame), frame, sizeof(frame),
                                            128, k), 0);
        assert_int_equal(*(volatile uint32_t *)(c.p + 128), k);
        for (size_t i = 0; i < sizeof(frame); i++)
            if (c.p[4096 + (k - 1) * sizeof(frame) + i] != (uint8_t)k)
                fail_msg("byte %zu of frame %u did not land", i, k);
    }
    assert_int_equal(osci__map_put_word(mt, 0, NULL, 0, 256, 77), 0);   /* the word alone */
    assert_int_equal(*(volatile uint32_t *)(c.p + 256), 77);

    assert_int_equal(osci__map_put_word(mt, 0, NULL, 0, 130, 1), -EINVAL);            /* unaligned word */
    assert_int_equal(osci__map_put_word(mt, 0, NULL, 0, SEGSZ - 2, 1), -EINVAL);
    assert_int_equal(osci__map_put_word(mt, 0, NULL, 0, SEGSZ, 1), -ERANGE);
    assert_int_equal(osci__map_put_word(mt, SEGSZ - 8, frame, 16, 0, 1), -ERANGE);
    assert_int_equal(osci__map_put_word(mt, 0, NULL, 16, 0, 1), -EFAULT);
    assert_int_equal(osci__map_put_word(NULL, 0, NULL, 0, 0, 1), -EINVAL);
    assert_null(SCIMapRemoteSegment(c.rs, &mr, 0, SEGSZ, NULL, SCI_FLAG_OSCI_TRANSFER_MAP | SCI_FLAG_READONLY_MAP,
                                    &e));
    if (e == SCI_ERR_OK) {
        assert_int_equal(osci__map_put_word(mr, 0, NULL, 0, 0, 1), -EACCES);
        OK(SCIUnmapSegment(mr, 0, &e_));
    }
    assert_int_equal(*(volatile uint32_t *)(c.p + 0), 0);

    OK(SCIUnmapSegment(mt, 0, &e_));
    assert_int_equal(osci__map_put_word(mt, 0, NULL, 0, 0, 1), -EINVAL);              /* unmapped */
    down(&c);
}

/* A DMA write is DONE only once its data landed (the engine flushes before DONE). */
static void test_dma_done_landed(void **state)
{
    (void)state;
    struct owner_conn c;
    sci_local_segment_t ls;
    sci_map_t lm;
    sci_dma_queue_t dq;
    sci_error_t e;

    up(&c, 301);
    OK(SCICreateSegment(c.sd, &ls, 302, SEGSZ, NULL, NULL, 0, &e_));
    OK(SCIPrepareSegment(ls, 0, 0, &e_));
    uint8_t *l = SCIMapLocalSegment(ls, &lm, 0, SEGSZ, NULL, 0, &e);
    assert_int_equal(e, SCI_ERR_OK);
    for (int i = 0; i < SEGSZ; i++)
        l[i] = (uint8_t)(i * 11 + 3);
    OK(SCICreateDMAQueue(c.sd, &dq, 0, 1, 0, &e_));
    OK(SCIStartDmaTransfer(dq, ls, c.rs, 0, SEGSZ, 0, NULL, NULL, SCI_FLAG_DMA_WAIT, &e_));
    assert_int_equal(SCIDMAQueueState(dq), SCI_DMAQUEUE_DONE);
    for (int i = 0; i < SEGSZ; i++)
        if (c.p[i] != (uint8_t)(i * 11 + 3))
            fail_msg("byte %d of a DONE transfer did not land", i);
    OK(SCIRemoveDMAQueue(dq, 0, &e_));
    OK(SCIUnmapSegment(lm, 0, &e_));
    OK(SCIRemoveSegment(ls, 0, &e_));
    down(&c);
}

OSCI_TEST_MAIN("seg_flush", NULL, NULL,
               cmocka_unit_test_teardown(test_wrapper_default, seg_td),
               cmocka_unit_test_teardown(test_transfer_map_flush, seg_td),
               cmocka_unit_test_teardown(test_map_put_word, seg_td),
               cmocka_unit_test_teardown(test_dma_done_landed, seg_td))
