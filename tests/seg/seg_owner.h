/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The owner process and helpers shared by the segment fault, heartbeat, flush, event queue and cleanup
 * tests. The including file defines SEGSZ (segment size) and T_MS (event wait, ms) first.
 */
#ifndef SEG_OWNER_H
#define SEG_OWNER_H

#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "sisci_api.h"
#include "../common/osci_test.h"
#include "osci_time.h"
#include "seg_peer.h"

enum { CMD_EVENT = 1, CMD_QUIT };

/* Owner: segment `id` available; reports its node id; CMD_EVENT reports the next event
 * (reason << 16 | node, 0 on timeout); CMD_QUIT removes and exits. */
static inline int owner_main(int rd, int wr, void *arg)
{
    uint32_t id = (uint32_t)(uintptr_t)arg, cmd;
    sci_error_t e;
    sci_desc_t sd;
    sci_local_segment_t ls;

    sd = child_open();
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
    CHECK(remove_retry(ls) == SCI_ERR_OK);
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

/* The test's side of a connection to an owner_main child; m and p once owner_map mapped it, seq its user's. */
struct owner_conn {
    struct tproc o;
    uint32_t onode;
    sci_desc_t sd;
    sci_remote_segment_t rs;
    sci_map_t m;
    volatile uint8_t *p;
    sci_sequence_t seq;
};

/* Starts the owner of segment id, initialises the library and connects to the segment. */
static inline void owner_connect(struct owner_conn *c, uint32_t id)
{
    assert_int_equal(tproc_start(&c->o, owner_main, (void *)(uintptr_t)id), 0);
    assert_int_equal(tproc_recv_u32(c->o.rd, &c->onode, T_MS), 0);
    c->sd = parent_init();
    assert_int_equal(connect_retry(c->sd, &c->rs, c->onode, id), SCI_ERR_OK);
}

/* Both sides saw the connection: our CB_CONNECT within ms, then the owner's. */
static inline void owner_connected(struct owner_conn *c, unsigned int ms)
{
    sci_error_t e;
    assert_int_equal(SCIWaitForRemoteSegmentEvent(c->rs, &e, ms, 0, &e), SCI_CB_CONNECT);
    assert_int_equal(owner_event(&c->o), (uint32_t)SCI_CB_CONNECT << 16 | my_node());
}

/* The whole segment mapped (load/store) at c->p. */
static inline void owner_map(struct owner_conn *c)
{
    sci_error_t e;
    c->p = SCIMapRemoteSegment(c->rs, &c->m, 0, SEGSZ, NULL, 0, &e);
    assert_int_equal(e, SCI_ERR_OK);
}

/* The owner removes its segment and exits. */
static inline void owner_quit(struct owner_conn *c)
{
    assert_int_equal(tproc_send_u32(c->o.wr, CMD_QUIT), 0);
    assert_int_equal(tproc_wait(&c->o, T_MS), 0);
}

/* Leaves: disconnects; the owner's next event is that CB_DISCONNECT; it quits, the library closes. */
static inline void owner_leave(struct owner_conn *c)
{
    OK(SCIDisconnectSegment(c->rs, 0, &e_));
    assert_int_equal(owner_event(&c->o), (uint32_t)SCI_CB_DISCONNECT << 16 | my_node());
    owner_quit(c);
    parent_fini(c->sd);
}

/* A remote in a child: connects to segment id on the node the test sends, reports its own node, and
 * stays until killed or stopped. */
static inline int remote_main(int rd, int wr, void *arg)
{
    uint32_t onode;
    sci_desc_t sd;
    sci_remote_segment_t rs;

    CHECK(tproc_recv_u32(rd, &onode, T_MS) == 0);
    sd = child_open();
    CHECK(connect_retry(sd, &rs, onode, (uint32_t)(uintptr_t)arg) == SCI_ERR_OK);
    CHECK(tproc_send_u32(wr, my_node()) == 0);
    pause();
    return 0;
}

/* The owner's side for remote_main r (started before the library is initialised: a child must not
 * inherit an initialised library): segment id available, r connected; returns r's node. */
static inline uint32_t serve_remote(struct tproc *r, sci_desc_t *sd, sci_local_segment_t *ls, uint32_t id)
{
    uint32_t rnode;
    unsigned int src, ad;
    sci_error_t e;

    *sd = parent_init();
    OK(SCICreateSegment(*sd, ls, id, SEGSZ, NULL, NULL, 0, &e_));
    OK(SCIPrepareSegment(*ls, 0, 0, &e_));
    OK(SCISetSegmentAvailable(*ls, 0, 0, &e_));
    assert_int_equal(tproc_send_u32(r->wr, my_node()), 0);
    assert_int_equal(tproc_recv_u32(r->rd, &rnode, T_MS), 0);
    assert_int_equal(SCIWaitForLocalSegmentEvent(*ls, &src, &ad, T_MS, 0, &e), SCI_CB_CONNECT);
    assert_int_equal(src, rnode);
    return rnode;
}

#endif
