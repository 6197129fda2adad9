/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The owner process and helpers shared by the segment fault and heartbeat tests. The including
 * file defines SEGSZ (segment size) and T_MS (event wait, ms) first.
 */
#ifndef SEG_OWNER_H
#define SEG_OWNER_H

#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "sisci_api.h"
#include "../common/osci_test.h"
#include "osci_time.h"

enum { CMD_EVENT = 1, CMD_QUIT };

static inline uint32_t my_node(void)
{
    unsigned int n = 0;
    sci_error_t e;
    SCIGetLocalNodeId(0, &n, 0, &e);
    return n;
}

static inline sci_error_t connect_retry(sci_desc_t sd, sci_remote_segment_t *rs, uint32_t node, uint32_t id)
{
    sci_error_t e = SCI_ERR_SYSTEM;
    for (int i = 0; i < 500; i++) {
        SCIConnectSegment(sd, rs, node, id, 0, NULL, NULL, SCI_INFINITE_TIMEOUT, 0, &e);
        if (e != SCI_ERR_NO_SUCH_SEGMENT && e != SCI_ERR_NO_SUCH_NODEID && e != SCI_ERR_NO_LINK_ACCESS)
            break;
        usleep(10000);
    }
    return e;
}

/* Owner: segment `id` available; reports its node id; CMD_EVENT reports the next event
 * (reason << 16 | node, 0 on timeout); CMD_QUIT removes and exits. */
static inline int owner_main(int rd, int wr, void *arg)
{
    uint32_t id = (uint32_t)(uintptr_t)arg, cmd;
    sci_error_t e;
    sci_desc_t sd;
    sci_local_segment_t ls;

    SCIInitialize(0, &e); CHECK(e == SCI_ERR_OK);
    SCIOpen(&sd, 0, &e); CHECK(e == SCI_ERR_OK);
    SCICreateSegment(sd, &ls, id, SEGSZ, NULL, NULL, 0, &e); CHECK(e == SCI_ERR_OK);
    SCIPrepareSegment(ls, 0, 0, &e); CHECK(e == SCI_ERR_OK);
    SCISetSegmentAvailable(ls, 0, 0, &e); CHECK(e == SCI_ERR_OK);
    CHECK(tproc_send_u32(wr, my_node()) == 0);
    for (;;) {
        CHECK(tproc_recv_u32(rd, &cmd, 30000) == 0);
        if (cmd == CMD_QUIT)
            break;
        unsigned int src = 0, ad = 0;
        sci_segment_cb_reason_t r = SCIWaitForLocalSegmentEvent(ls, &src, &ad, T_MS, 0, &e);
        CHECK(tproc_send_u32(wr, e == SCI_ERR_OK ? (uint32_t)r << 16 | src : 0) == 0);
    }
    /* BUSY until the last remote's DISCONNECT has arrived: loop, as SISCI owners do */
    for (int i = 0; i < 500; i++) {
        SCIRemoveSegment(ls, 0, &e);
        if (e != SCI_ERR_BUSY)
            break;
        usleep(10000);
    }
    CHECK(e == SCI_ERR_OK);
    SCIClose(sd, 0, &e);
    SCITerminate();
    return 0;
}

static inline uint32_t owner_event(struct tproc *o)
{
    uint32_t v = 0;
    assert_int_equal(tproc_send_u32(o->wr, CMD_EVENT), 0);
    assert_int_equal(tproc_recv_u32(o->rd, &v, T_MS + 2000), 0);
    return v;
}

#endif
