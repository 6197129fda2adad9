/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* libseg heartbeats (docs/segment-protocol.md, Liveness) over simntb with OSCI_HEARTBEAT=on: a peer
 * process stopped with SIGSTOP keeps its pid and its simntb port, so only its silence shows. Remote
 * and owner side see NOT_OPERATIONAL then LOST; a peer resumed within the grace period comes back
 * OPERATIONAL with its connection intact; with the default (auto) simntb sends no heartbeats. */
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

#define SEGSZ 8192
#define T_MS 10000

#include "seg_owner.h"
#include "seg_state.h"

/* Heartbeat settings for this process and the children it forks next. */
static void hb_env(const char *mode, const char *grace_ms)
{
    if (mode)
        setenv("OSCI_HEARTBEAT", mode, 1);
    else
        unsetenv("OSCI_HEARTBEAT");
    setenv("OSCI_HEARTBEAT_MS", "100", 1);
    setenv("OSCI_HEARTBEAT_TIMEOUT_MS", "1000", 1);
    setenv("OSCI_GRACE_MS", grace_ms, 1);
}

static int teardown(void **state)
{
    unsetenv("OSCI_HEARTBEAT");
    unsetenv("OSCI_HEARTBEAT_MS");
    unsetenv("OSCI_HEARTBEAT_TIMEOUT_MS");
    unsetenv("OSCI_GRACE_MS");
    return tproc_teardown(state);
}

static void connect_owner(struct owner_conn *c, uint32_t id)
{
    owner_connect(c, id);
    owner_connected(c, 2000);
}

/* A stopped owner: silent, so NOT_OPERATIONAL after the heartbeat timeout, LOST after the grace. */
static void test_silent_owner_lost(void **state)
{
    struct owner_conn c;
    sci_remote_segment_t rs2;
    uint64_t t0, t_notop, t_lost;

    (void)state;
    hb_env("on", "500");
    connect_owner(&c, 300);
    /* idle but alive: heartbeats keep the link up for several timeouts' worth of periods */
    assert_int_equal(next_event(c.rs, 1500), 0);
    assert_int_equal(rstate(c.rs), RSEG_OPERATIONAL);
    assert_int_equal(pstate(c.onode), PEER_UP);

    t0 = osci_now_ms();
    assert_int_equal(kill(c.o.pid, SIGSTOP), 0);
    assert_int_equal(next_event(c.rs, T_MS), SCI_CB_NOT_OPERATIONAL);
    t_notop = osci_now_ms();
    assert_int_equal(next_event(c.rs, T_MS), SCI_CB_LOST);
    t_lost = osci_now_ms();
    print_message("silent owner: CB_NOT_OPERATIONAL %llu ms after SIGSTOP, CB_LOST %llu ms later\n",
                  (unsigned long long)(t_notop - t0), (unsigned long long)(t_lost - t_notop));
    assert_int_equal(rstate(c.rs), RSEG_LOST);
    assert_int_equal(pstate(c.onode), PEER_LOST_SILENT);    /* still heartbeated: it may come back */
    /* the silent node is gone for new connections: as a segment not there (yet) */
    ERR(SCI_ERR_NO_SUCH_SEGMENT, SCIConnectSegment(c.sd, &rs2, c.onode, 300, 0, NULL, NULL, 500, 0, &e_));
    tproc_kill(&c.o);
    OK(SCIDisconnectSegment(c.rs, 0, &e_));
    parent_fini(c.sd);
}

/* Resumed within the grace period: NOT_OPERATIONAL then OPERATIONAL, and the connection is intact
 * on both sides (the owner, stalled itself, counted no silence of ours). */
static void test_silent_owner_back(void **state)
{
    struct owner_conn c;
    sci_map_t m;
    volatile uint8_t *p;
    sci_error_t e;

    (void)state;
    hb_env("on", "20000");
    connect_owner(&c, 301);
    assert_int_equal(kill(c.o.pid, SIGSTOP), 0);
    expect_event(c.rs, c.onode, T_MS, SCI_CB_NOT_OPERATIONAL, RSEG_NOT_OPERATIONAL, PEER_SILENT);
    p = SCIMapRemoteSegment(c.rs, &m, 0, SEGSZ, NULL, 0, &e);
    assert_int_equal(e, SCI_ERR_NO_LINK_ACCESS);
    assert_null(p);
    assert_int_equal(kill(c.o.pid, SIGCONT), 0);
    /* SILENT --alive--> UP */
    expect_event(c.rs, c.onode, T_MS, SCI_CB_OPERATIONAL, RSEG_OPERATIONAL, PEER_UP);
    p = SCIMapRemoteSegment(c.rs, &m, 0, SEGSZ, NULL, 0, &e);
    assert_int_equal(e, SCI_ERR_OK);
    p[0] = 0x5a;
    OK(SCIUnmapSegment(m, 0, &e_));
    /* the owner's next event is our disconnect: it saw no link trouble of its own */
    owner_leave(&c);
}

/* Stopped beyond our grace period: we declared the owner lost, but it (stalled itself) never saw us go.
 * When it is heard again, our HELLO tells it to drop what it had with us: it sees CB_LOST for our old
 * connection, and a new connection works. */
static void test_silent_owner_reset(void **state)
{
    struct owner_conn c;
    sci_remote_segment_t rs2;

    (void)state;
    hb_env("on", "500");
    connect_owner(&c, 303);
    assert_int_equal(kill(c.o.pid, SIGSTOP), 0);
    assert_int_equal(next_event(c.rs, T_MS), SCI_CB_NOT_OPERATIONAL);
    assert_int_equal(next_event(c.rs, T_MS), SCI_CB_LOST);
    assert_int_equal(kill(c.o.pid, SIGCONT), 0);
    assert_int_equal(owner_event(&c.o), (uint32_t)SCI_CB_LOST << 16 | my_node());
    assert_int_equal(connect_retry(c.sd, &rs2, c.onode, 303), SCI_ERR_OK);
    assert_int_equal(pstate(c.onode), PEER_UP);             /* LOST_SILENT --alive--> UP */
    assert_int_equal(owner_event(&c.o), (uint32_t)SCI_CB_CONNECT << 16 | my_node());
    OK(SCIDisconnectSegment(rs2, 0, &e_));
    owner_leave(&c);
}

/* A stopped remote: its owner sees NOT_OPERATIONAL then LOST for that connection; remove succeeds. */
static void test_silent_remote_lost(void **state)
{
    sci_desc_t sd;
    sci_local_segment_t ls;
    struct tproc r;
    uint32_t rnode;
    unsigned int src, ad;
    sci_error_t e;

    (void)state;
    hb_env("on", "500");
    assert_int_equal(tproc_start(&r, remote_main, (void *)(uintptr_t)302), 0);
    rnode = serve_remote(&r, &sd, &ls, 302);
    assert_int_equal(kill(r.pid, SIGSTOP), 0);
    assert_int_equal(SCIWaitForLocalSegmentEvent(ls, &src, &ad, T_MS, 0, &e), SCI_CB_NOT_OPERATIONAL);
    assert_int_equal(e, SCI_ERR_OK);
    assert_int_equal(src, rnode);
    assert_int_equal(SCIWaitForLocalSegmentEvent(ls, &src, &ad, T_MS, 0, &e), SCI_CB_LOST);
    assert_int_equal(src, rnode);
    assert_int_equal(pstate(rnode), PEER_LOST_SILENT);
    OK(SCIRemoveSegment(ls, 0, &e_));
    tproc_kill(&r);
    parent_fini(sd);
}

/* Default (auto): simntb detects death itself and gets no heartbeats, so a stopped peer is no event. */
static void test_auto_simntb_quiet(void **state)
{
    struct owner_conn c;

    (void)state;
    hb_env(NULL, "500");
    connect_owner(&c, 303);
    assert_int_equal(kill(c.o.pid, SIGSTOP), 0);
    assert_int_equal(next_event(c.rs, 2500), 0);
    assert_int_equal(rstate(c.rs), RSEG_OPERATIONAL);
    assert_int_equal(kill(c.o.pid, SIGCONT), 0);
    owner_leave(&c);
}

OSCI_TEST_MAIN("seg_heartbeat", NULL, NULL,
               cmocka_unit_test_teardown(test_silent_owner_lost, teardown),
               cmocka_unit_test_teardown(test_silent_owner_back, teardown),
               cmocka_unit_test_teardown(test_silent_owner_reset, teardown),
               cmocka_unit_test_teardown(test_silent_remote_lost, teardown),
               cmocka_unit_test_teardown(test_auto_simntb_quiet, teardown))
