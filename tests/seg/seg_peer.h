/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Library set-up on either side of the multi-process segment, interrupt, DMA and query tests, which fork
 * their peer with the common harness (tests/common/osci_test.h: tproc_start, CHECK in the child, tproc_end),
 * and the checks and retry loops they share.
 */
#ifndef SEG_PEER_H
#define SEG_PEER_H

#include <signal.h>
#include <stdint.h>
#include <unistd.h>

#include "sisci_api.h"
#include "../common/osci_test.h"

/* A call whose last argument is &e_: its error is OK / want (cmocka assert: parent side). */
#define OK(call) do { sci_error_t e_ = SCI_ERR_SYSTEM; call; assert_int_equal(e_, SCI_ERR_OK); } while (0)
#define ERR(want, call) do { sci_error_t e_ = SCI_ERR_OK; call; assert_int_equal(e_, (want)); } while (0)
/* The same in a child (CHECK: print the line and exit). */
#define COK(call) do { sci_error_t e_ = SCI_ERR_SYSTEM; call; CHECK(e_ == SCI_ERR_OK); } while (0)
#define CERR(want, call) do { sci_error_t e_ = SCI_ERR_OK; call; CHECK(e_ == (want)); } while (0)

/* The peer's next u32 (cmocka assert: parent side). */
static inline uint32_t precv(struct tproc *p)
{
    uint32_t v = 0;

    assert_int_equal(tproc_recv_u32(p->rd, &v, 10000), 0);
    return v;
}

static inline sci_desc_t child_open(void)
{
    sci_desc_t sd;

    COK(SCIInitialize(0, &e_));
    COK(SCIOpen(&sd, 0, &e_));
    return sd;
}

static inline sci_desc_t child_init(unsigned int *node_p)
{
    sci_desc_t sd = child_open();

    COK(SCIGetLocalNodeId(0, node_p, 0, &e_));
    return sd;
}

static inline void child_fini(sci_desc_t sd)
{
    COK(SCIClose(sd, 0, &e_));
    SCITerminate();
}

static inline sci_desc_t parent_init(void)
{
    sci_desc_t sd;

    OK(SCIInitialize(0, &e_));
    OK(SCIOpen(&sd, 0, &e_));
    return sd;
}

/* Starts the peer fn, initialises the library here and reads what the peer tells first: its node and the
 * number of the interrupt it created. */
static inline sci_desc_t peer_start(struct tproc *p, tproc_fn fn, unsigned int *node, unsigned int *intno)
{
    sci_desc_t sd;

    assert_int_equal(tproc_start(p, fn, NULL), 0);
    sd = parent_init();
    *node = precv(p);
    *intno = precv(p);
    return sd;
}

/* cmocka setup: an initialised library, its descriptor in *state; -1 on failure. */
static inline int sd_setup(void **state)
{
    sci_error_t e;
    sci_desc_t sd;

    SCIInitialize(0, &e);
    if (e != SCI_ERR_OK)
        return -1;
    SCIOpen(&sd, 0, &e);
    if (e != SCI_ERR_OK)
        return -1;
    *state = sd;
    return 0;
}

/* cmocka teardown: closes sd_setup's descriptor and terminates; -1 when the close failed. */
static inline int sd_teardown(void **state)
{
    sci_error_t e;

    SCIClose(*state, 0, &e);
    SCITerminate();
    return e == SCI_ERR_OK ? 0 : -1;
}

static inline void parent_fini(sci_desc_t sd)
{
    OK(SCIClose(sd, 0, &e_));
    SCITerminate();
}

static inline uint32_t my_node(void)
{
    unsigned int n = 0;
    sci_error_t e;

    SCIGetLocalNodeId(0, &n, 0, &e);
    return e == SCI_ERR_OK ? n : 0;
}

/* Connects as SISCI programs do: retries while the segment or its node is not there (yet). */
static inline sci_error_t connect_retry_cb(sci_desc_t sd, sci_remote_segment_t *rs, uint32_t node, uint32_t id,
                                           sci_cb_remote_segment_t cb, void *arg, unsigned int flags)
{
    sci_error_t e = SCI_ERR_SYSTEM;

    for (int i = 0; i < 500; i++) {
        SCIConnectSegment(sd, rs, node, id, 0, cb, arg, SCI_INFINITE_TIMEOUT, flags, &e);
        if (e != SCI_ERR_NO_SUCH_SEGMENT && e != SCI_ERR_NO_SUCH_NODEID && e != SCI_ERR_NO_LINK_ACCESS)
            break;
        usleep(10000);
    }
    return e;
}

static inline sci_error_t connect_retry(sci_desc_t sd, sci_remote_segment_t *rs, uint32_t node, uint32_t id)
{
    return connect_retry_cb(sd, rs, node, id, NULL, NULL, 0);
}

/* Removes a local segment: BUSY until the last remote's DISCONNECT has arrived, so loop, as SISCI owners do. */
static inline sci_error_t remove_retry(sci_local_segment_t ls)
{
    sci_error_t e = SCI_ERR_SYSTEM;

    for (int i = 0; i < 500; i++) {
        SCIRemoveSegment(ls, 0, &e);
        if (e != SCI_ERR_BUSY)
            break;
        usleep(10000);
    }
    return e;
}

/* The next event of a remote segment within ms, 0 when none came. */
static inline sci_segment_cb_reason_t next_event(sci_remote_segment_t rs, unsigned int ms)
{
    sci_error_t e, st;
    sci_segment_cb_reason_t r = SCIWaitForRemoteSegmentEvent(rs, &st, ms, 0, &e);

    return e == SCI_ERR_OK ? r : 0;
}

#endif
