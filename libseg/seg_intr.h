/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Internals of seg_intr.c, seg_dma.c and seg_query.c (interrupts, data interrupts, DMA queues,
 * queries) that more than one of those files needs.
 */
#ifndef SEG_INTR_H
#define SEG_INTR_H

#include <stddef.h>

#include "seg_internal.h"

#define SEG_DMA_CHUNK        (1024u * 1024u)  /* the DMA engine copies in chunks of this size */
#define SEG_INTNO_MAX        0x7fffffffu      /* interrupt numbers: 0..2^31-1 (fit an int and the u32 field) */
#define SEG_INTR_SLOTS       4032             /* connections to local interrupts per adapter (trigger slots) */
#define SEG_DATA_INTR_CREDITS 16              /* payloads in flight per data-interrupt connection */
#define SEG_DATA_INTR_CREDIT_MS 1000          /* longest wait of a data trigger for a credit */
#define SEG_WAIT_SLICE_MS    200              /* longest single driver wait of a doorbell waiter */

/* Milliseconds left until deadline_ms (0 = infinite: returns -1), at least 0. */
int seg__ms_left(uint64_t deadline_ms);

/* True while a DMA transfer is POSTED on the segment (seg_dma.c; for remove/disconnect BUSY). Lock held. */
bool seg__dma_lseg_busy(sci_local_segment_t ls);
bool seg__dma_rseg_busy(sci_remote_segment_t rs);
/*
 * SCITerminate with objects left (lock held, event thread stopped, before the adapters close):
 * free every interrupt, data interrupt and DMA queue (the DMA workers are stopped and joined).
 */
void seg__intr_free_all(void);
void seg__dma_free_all(void);

#endif
