/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Segment fault tests across processes: SIGKILL of the owner or of a remote (CB_LOST), link flap by
 * fault injection (NOT_OPERATIONAL then OPERATIONAL), link down beyond the grace period (LOST),
 * sequences across those faults (RETRIABLE / NOT_RETRIABLE), corrupted control messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../common/osci_test.h"
#include "seg_obj.h"

#define SEGSZ 16384
#define T_MS 10000

#include "seg_owner.h"
#include "seg_state.h"

/* Connected (CB_CONNECT on both sides), mapped, with a sequence. */
static void connect_owner(struct owner_conn *c, uint32_t id)
{
    owner_connect(c, id);
    owner_connected(c, 1000);
    owner_map(c);
    OK(SCICreateMapSequence(c->m, &c->seq, 0, &e_));
}

static void release(struct owner_conn *c)
{
    OK(SCIRemoveSequence(c->seq, 0, &e_));
    OK(SCIUnmapSegment(c->m, 0, &e_));
    OK(SCIDisconnectSegment(c->rs, 0, &e_));
}

static void test_kill_owner(void **state)
{
    struct owner_conn c;
    sci_error_t e;
    uint8_t buf[8] = { 0 };

    connect_owner(&c, 200);
    assert_int_equal(SCIStartSequence(c.seq, 0, &e), SCI_SEQ_OK);
    c.p[0] = 1;
    uint64_t t0 = osci_now_ms();
    kill(c.o.pid, SIGKILL);
    assert_int_equal(next_event(c.rs, 5000), SCI_CB_LOST);
    uint64_t dt = osci_now_ms() - t0;
    print_message("CB_LOST %llu ms after SIGKILL of the owner\n", (unsigned long long)dt);
    tproc_kill(&c.o);
    assert_int_equal(c.rs->state, RSEG_LOST);
    assert_int_equal(pstate(c.onode), PEER_LOST);           /* UP --dead--> LOST */
    assert_int_equal(SCICheckSequence(c.seq, 0, &e), SCI_SEQ_NOT_RETRIABLE);
    assert_int_equal(SCIStartSequence(c.seq, 0, &e), SCI_SEQ_NOT_RETRIABLE);
    ERR(SCI_ERR_TRANSFER_FAILED, SCIMemCpy(c.seq, buf, c.m, 0, sizeof(buf), 0, &e_));
    c.p[1] = 2;                /* revoked: lands nowhere, does not fault */
    ERR(SCI_ERR_SEGMENT_NOT_CONNECTED, SCIMapRemoteSegment(c.rs, &c.m, 0, 16, NULL, 0, &e_));
    /* the dead node is gone for new connections */
    sci_remote_segment_t rs2;
    sci_error_t ce;
    SCIConnectSegment(c.sd, &rs2, c.onode, 200, 0, NULL, NULL, 500, 0, &ce);
    assert_int_not_equal(ce, SCI_ERR_OK);
    release(&c);
    parent_fini(c.sd);
}

static void test_kill_remote(void **state)
{
    sci_desc_t sd;
    sci_local_segment_t ls;
    struct tproc r;
    unsigned int src, ad;
    sci_error_t e;

    /* fork before initialising: a child must not inherit an initialised library */
    assert_int_equal(tproc_start(&r, remote_main, (void *)(uintptr_t)201), 0);
    uint32_t rnode = serve_remote(&r, &sd, &ls, 201);
    uint64_t t0 = osci_now_ms();
    kill(r.pid, SIGKILL);
    assert_int_equal(SCIWaitForLocalSegmentEvent(ls, &src, &ad, 5000, 0, &e), SCI_CB_LOST);
    print_message("owner CB_LOST %llu ms after SIGKILL of the remote\n", (unsigned long long)(osci_now_ms() - t0));
    assert_int_equal(src, rnode);
    tproc_kill(&r);
    OK(SCIRemoveSegment(ls, 0, &e_));
    parent_fini(sd);
}

static void test_link_flap(void **state)
{
    struct owner_conn c;
    sci_error_t e;
    uint8_t buf[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

    connect_owner(&c, 202);
    assert_int_equal(SCIStartSequence(c.seq, 0, &e), SCI_SEQ_OK);
    assert_int_equal(osci_fault_inject(0, OSCI_FAULT_LINK_DOWN, c.onode, 0), 0);
    /* UP --link-down--> DOWN */
    expect_event(c.rs, c.onode, 5000, SCI_CB_NOT_OPERATIONAL, RSEG_NOT_OPERATIONAL, PEER_DOWN);
    assert_int_equal(owner_event(&c.o), (uint32_t)SCI_CB_NOT_OPERATIONAL << 16 | my_node());
    assert_int_equal(SCICheckSequence(c.seq, 0, &e), SCI_SEQ_RETRIABLE);
    ERR(SCI_ERR_TRANSFER_FAILED, SCIMemCpy(c.seq, buf, c.m, 0, sizeof(buf), SCI_FLAG_ERROR_CHECK, &e_));
    ERR(SCI_ERR_NO_LINK_ACCESS, SCIMapRemoteSegment(c.rs, &c.m, 0, 16, NULL, 0, &e_));
    assert_int_equal(osci_fault_inject(0, OSCI_FAULT_LINK_UP, c.onode, 0), 0);
    /* DOWN --link-up--> UP */
    expect_event(c.rs, c.onode, 5000, SCI_CB_OPERATIONAL, RSEG_OPERATIONAL, PEER_UP);
    assert_int_equal(owner_event(&c.o), (uint32_t)SCI_CB_OPERATIONAL << 16 | my_node());
    /* a sequence started before the flap stays RETRIABLE; a new start is OK */
    assert_int_equal(SCICheckSequence(c.seq, 0, &e), SCI_SEQ_RETRIABLE);
    assert_int_equal(SCIStartSequence(c.seq, 0, &e), SCI_SEQ_OK);
    OK(SCIMemCpy(c.seq, buf, c.m, 0, sizeof(buf), SCI_FLAG_ERROR_CHECK, &e_));
    assert_int_equal(SCICheckSequence(c.seq, 0, &e), SCI_SEQ_OK);
    assert_int_equal(c.p[3], 4);
    release(&c);
    /* terminate only once the owner processed the DISCONNECT (leaving first would read as LOST) */
    assert_int_equal(owner_event(&c.o), (uint32_t)SCI_CB_DISCONNECT << 16 | my_node());
    parent_fini(c.sd);
    owner_quit(&c);
}

static void test_grace_expiry(void **state)
{
    struct owner_conn c;
    sci_error_t e;

    setenv("OSCI_GRACE_MS", "300", 1);
    connect_owner(&c, 203);
    assert_int_equal(SCIStartSequence(c.seq, 0, &e), SCI_SEQ_OK);
    assert_int_equal(osci_fault_inject(0, OSCI_FAULT_LINK_DOWN, c.onode, 0), 0);
    assert_int_equal(next_event(c.rs, 5000), SCI_CB_NOT_OPERATIONAL);
    assert_int_equal(SCICheckSequence(c.seq, 0, &e), SCI_SEQ_RETRIABLE);
    expect_event(c.rs, c.onode, 5000, SCI_CB_LOST, RSEG_LOST, PEER_LOST);           /* DOWN --grace--> LOST */
    assert_int_equal(SCICheckSequence(c.seq, 0, &e), SCI_SEQ_NOT_RETRIABLE);
    assert_int_equal(owner_event(&c.o), (uint32_t)SCI_CB_NOT_OPERATIONAL << 16 | my_node());
    assert_int_equal(owner_event(&c.o), (uint32_t)SCI_CB_LOST << 16 | my_node());
    /* the link comes back: the lost connection stays lost */
    assert_int_equal(osci_fault_inject(0, OSCI_FAULT_LINK_UP, c.onode, 0), 0);
    ERR(SCI_ERR_TIMEOUT, SCIWaitForRemoteSegmentEvent(c.rs, &e, 200, 0, &e_));
    assert_int_equal(c.rs->state, RSEG_LOST);
    release(&c);
    parent_fini(c.sd);
    unsetenv("OSCI_GRACE_MS");
    owner_quit(&c);
}

static void test_corrupt_msg(void **state)
{
    struct owner_conn c;

    owner_connect(&c, 204);
    OK(SCIDisconnectSegment(c.rs, 0, &e_));
    /* the next CONNECT arrives corrupted: the owner drops it and the connect times out */
    assert_int_equal(osci_fault_inject(0, OSCI_FAULT_CORRUPT_MSG, c.onode, 1), 0);
    ERR(SCI_ERR_TIMEOUT, SCIConnectSegment(c.sd, &c.rs, c.onode, 204, 0, NULL, NULL, 300, 0, &e_));
    /* the owner survived and serves the next one */
    OK(SCIConnectSegment(c.sd, &c.rs, c.onode, 204, 0, NULL, NULL, 5000, 0, &e_));
    OK(SCIDisconnectSegment(c.rs, 0, &e_));
    assert_int_equal(owner_event(&c.o), (uint32_t)SCI_CB_CONNECT << 16 | my_node());
    owner_quit(&c);
    parent_fini(c.sd);
}

static int td(void **state)
{
    seg_td(state);
    unsetenv("OSCI_GRACE_MS");
    return 0;
}

OSCI_TEST_MAIN("seg_faults", NULL, NULL,
               cmocka_unit_test_teardown(test_kill_owner, td),
               cmocka_unit_test_teardown(test_kill_remote, td),
               cmocka_unit_test_teardown(test_link_flap, td),
               cmocka_unit_test_teardown(test_grace_expiry, td),
               cmocka_unit_test_teardown(test_corrupt_msg, td))
