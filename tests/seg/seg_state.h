/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* libseg's state machines seen from a test: read under the library lock, as the event thread writes them. */
#ifndef SEG_STATE_H
#define SEG_STATE_H

#include <pthread.h>

#include "seg_obj.h"
#include "../common/osci_test.h"
#include "seg_peer.h"

/* A remote segment's state (CONNECTING, OPERATIONAL, NOT_OPERATIONAL, LOST, ...). */
static inline enum rseg_state rstate(sci_remote_segment_t rs)
{
    enum rseg_state st;

    pthread_mutex_lock(&seg.lock);
    st = rs->state;
    pthread_mutex_unlock(&seg.lock);
    return st;
}

/* A peer's liveness on adapter 0 (docs/segment-protocol.md, "Peer liveness state machine"). */
static inline enum seg_peer_state pstate(uint32_t node)
{
    enum seg_peer_state st;

    pthread_mutex_lock(&seg.lock);
    st = seg.adapter[0].peer[node].state;
    pthread_mutex_unlock(&seg.lock);
    return st;
}

/* rs's next event within ms is ev; after it rs is in state st and its owner's node (adapter 0) in ps. */
static inline void expect_event(sci_remote_segment_t rs, uint32_t node, unsigned int ms, sci_segment_cb_reason_t ev,
                                enum rseg_state st, enum seg_peer_state ps)
{
    assert_int_equal(next_event(rs, ms), ev);
    assert_int_equal(rstate(rs), st);
    assert_int_equal(pstate(node), ps);
}

/* cmocka teardown: every child reaped, the library terminated as often as a failed test left it initialised. */
static inline int seg_td(void **state)
{
    (void)state;
    tproc_reap_all();
    while (seg.initialized)
        SCITerminate();
    return 0;
}

#endif
