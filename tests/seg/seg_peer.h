/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Library set-up on either side of the two-process interrupt, DMA and query tests, which fork their
 * peer with the common harness (tests/common/osci_test.h: tproc_start, CHECK in the child, tproc_end).
 */
#ifndef SEG_PEER_H
#define SEG_PEER_H

#include <signal.h>
#include <stdint.h>
#include <unistd.h>

#include "sisci_api.h"
#include "../common/osci_test.h"

/* The peer's next u32 (cmocka assert: parent side). */
static inline uint32_t precv(struct tproc *p)
{
    uint32_t v = 0;

    assert_int_equal(tproc_recv_u32(p->rd, &v, 10000), 0);
    return v;
}

static inline sci_desc_t child_init(unsigned int *node_p)
{
    sci_error_t e;
    sci_desc_t sd;

    SCIInitialize(0, &e);
    CHECK(e == SCI_ERR_OK);
    SCIOpen(&sd, 0, &e);
    CHECK(e == SCI_ERR_OK);
    SCIGetLocalNodeId(0, node_p, 0, &e);
    CHECK(e == SCI_ERR_OK);
    return sd;
}

static inline void child_fini(sci_desc_t sd)
{
    sci_error_t e;

    SCIClose(sd, 0, &e);
    CHECK(e == SCI_ERR_OK);
    SCITerminate();
}

static inline sci_desc_t parent_init(void)
{
    sci_error_t e;
    sci_desc_t sd;

    SCIInitialize(0, &e);
    assert_int_equal(e, SCI_ERR_OK);
    SCIOpen(&sd, 0, &e);
    assert_int_equal(e, SCI_ERR_OK);
    return sd;
}

static inline void parent_fini(sci_desc_t sd)
{
    sci_error_t e;

    SCIClose(sd, 0, &e);
    assert_int_equal(e, SCI_ERR_OK);
    SCITerminate();
}

#endif
