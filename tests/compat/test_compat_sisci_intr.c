/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * A pair of SISCI programs following Dolphin's interrupt flow, started one after the other in both
 * orders, many times: SCIInitialize, SCIOpen, SCICreateInterrupt with SCI_FLAG_FIXED_INTNO 4000,
 * SCIConnectInterrupt to the other side's 4000 in a loop until it succeeds, then a ping-pong of
 * SCITriggerInterrupt / SCIWaitForInterrupt in which every trigger is counted, then the teardown
 * (SCIDisconnectInterrupt, SCIRemoveInterrupt, SCIClose, SCITerminate).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "sisci_api.h"
#include "opensci/osci.h"

#include "../seg/seg_peer.h"
#include "../common/osci_test.h"

#define INTNO   4000
#define ROUNDS  20
#define RUNS    50
#define NODE_A  4
#define NODE_B  8

/* One side. The pinger triggers first; both count what they receive. Exit 0 when all counts match. */
static int side(int rfd, int wfd, unsigned int me, unsigned int other, bool pinger)
{
    sci_local_interrupt_t li;
    sci_remote_interrupt_t ri;
    unsigned int no = INTNO, node, got = 0, tries;
    char id[16];
    sci_error_t e;
    sci_desc_t sd;

    (void)rfd;
    snprintf(id, sizeof(id), "%u", me);
    setenv("OSCI_NODE_ID", id, 1);
    COK(SCIInitialize(0, &e_));
    COK(SCIOpen(&sd, 0, &e_));
    SCIGetLocalNodeId(0, &node, 0, &e);
    CHECK(e == SCI_ERR_OK && node == me);
    SCICreateInterrupt(sd, &li, 0, &no, NULL, NULL, SCI_FLAG_FIXED_INTNO, &e);
    CHECK(e == SCI_ERR_OK && no == INTNO);
    CHECK(tproc_send_u32(wfd, 1) == 0);                 /* created: the test may start the other side */
    /* as SISCI programs do: retry until the other side's interrupt is there */
    for (tries = 0;; tries++) {
        SCIConnectInterrupt(sd, &ri, other, 0, INTNO, 1000, 0, &e);
        if (e == SCI_ERR_OK)
            break;
        CHECK(e == SCI_ERR_NO_SUCH_INTNO || e == SCI_ERR_NO_SUCH_NODEID || e == SCI_ERR_TIMEOUT ||
            e == SCI_ERR_NOT_CONNECTED);
        CHECK(tries < 2000);
        usleep(5000);
    }
    for (unsigned int n = 0; n < ROUNDS; n++) {
        if (pinger) {
            COK(SCITriggerInterrupt(ri, 0, &e_));
        }
        COK(SCIWaitForInterrupt(li, 10000, 0, &e_));
        got++;
        if (!pinger) {
            COK(SCITriggerInterrupt(ri, 0, &e_));
        }
    }
    CHECK(got == ROUNDS);
    /* nothing more arrives */
    CERR(SCI_ERR_TIMEOUT, SCIWaitForInterrupt(li, 20, 0, &e_));
    CHECK(tproc_send_u32(wfd, got) == 0);
    /* both are done before either removes its interrupt */
    uint32_t go;
    CHECK(tproc_recv_u32(rfd, &go, 20000) == 0 && go == 2);
    COK(SCIDisconnectInterrupt(ri, 0, &e_));
    COK(SCIRemoveInterrupt(li, 0, &e_));
    COK(SCIClose(sd, 0, &e_));
    SCITerminate();
    return 0;
}

static int side_a(int rfd, int wfd, void *arg) { return side(rfd, wfd, NODE_A, NODE_B, true); }
static int side_b(int rfd, int wfd, void *arg) { return side(rfd, wfd, NODE_B, NODE_A, false); }

static void run_pairs(bool a_first)
{
    for (int r = 0; r < RUNS; r++) {
        struct tproc p1, p2;
        assert_int_equal(tproc_start(&p1, a_first ? side_a : side_b, NULL), 0);
        assert_int_equal(precv(&p1), 1);     /* the first side created 4000 and is connecting */
        assert_int_equal(tproc_start(&p2, a_first ? side_b : side_a, NULL), 0);
        assert_int_equal(precv(&p2), 1);
        assert_int_equal(precv(&p1), ROUNDS);
        assert_int_equal(precv(&p2), ROUNDS);
        assert_int_equal(tproc_send_u32(p1.wr, 2), 0);
        assert_int_equal(tproc_send_u32(p2.wr, 2), 0);
        assert_int_equal(tproc_end(&p1, 20000), 0);
        assert_int_equal(tproc_end(&p2, 20000), 0);
    }
}

static void test_pinger_first(void **state)
{
    (void)state;
    run_pairs(true);
}

static void test_ponger_first(void **state)
{
    (void)state;
    run_pairs(false);
}

OSCI_TEST_MAIN(NULL, NULL, NULL,
               cmocka_unit_test(test_pinger_first),
               cmocka_unit_test(test_ponger_first))
