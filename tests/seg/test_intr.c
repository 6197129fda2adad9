/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Interrupts across processes on simntb: wait and callback delivery with exact counts,
 * CONTINUE/CANCEL, timeouts, CANCELLED on removal, NO_SUCH_INTNO, the number namespace (0, 77, 4000,
 * 65535, 2^31-1; beyond: OUT_OF_RANGE), automatic vs fixed numbers, 130 interrupts sharing the 64
 * doorbell bits with bursts and concurrent waiters (every trigger counted, no stray wake-up), trigger
 * after the peer died, a dropped doorbell (the trigger is not lost).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
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

#include "seg_peer.h"

/* ---- wait mode: ping-pong with exact counts ---- */

#define ROUNDS 200

static int child_pingpong(int rfd, int wfd, void *arg)
{
    sci_local_interrupt_t li;
    sci_remote_interrupt_t ri;
    unsigned int node, intno, pnode, pintno;
    sci_desc_t sd = child_init(&node);
    int n;

    COK(SCICreateInterrupt(sd, &li, 0, &intno, NULL, NULL, 0, &e_));
    CHECK(tproc_send_u32(wfd, node) == 0 && tproc_send_u32(wfd, intno) == 0);
    CHECK(tproc_recv_u32(rfd, &pnode, 10000) == 0 && tproc_recv_u32(rfd, &pintno, 10000) == 0);
    COK(SCIConnectInterrupt(sd, &ri, pnode, 0, pintno, 5000, 0, &e_));
    CHECK(tproc_send_u32(wfd, 1) == 0);
    for (n = 0; n < ROUNDS; n++) {
        COK(SCIWaitForInterrupt(li, 5000, 0, &e_));
        COK(SCITriggerInterrupt(ri, 0, &e_));
    }
    /* nothing more was rung */
    CERR(SCI_ERR_TIMEOUT, SCIWaitForInterrupt(li, 100, 0, &e_));
    COK(SCIDisconnectInterrupt(ri, 0, &e_));
    COK(SCIRemoveInterrupt(li, 0, &e_));
    child_fini(sd);
    return 0;
}

static void test_wait_pingpong(void **state)
{
    struct tproc p;
    sci_local_interrupt_t li;
    sci_remote_interrupt_t ri;
    unsigned int node, intno, cnode, cintno;
    sci_error_t e;
    sci_desc_t sd;
    int n;

    (void)state;
    assert_int_equal(tproc_start(&p, child_pingpong, NULL), 0);
    sd = parent_init();
    SCIGetLocalNodeId(0, &node, 0, &e);
    OK(SCICreateInterrupt(sd, &li, 0, &intno, NULL, NULL, 0, &e_));
    cnode = precv(&p);
    cintno = precv(&p);
    assert_int_not_equal(cnode, node);
    assert_int_equal(tproc_send_u32(p.wr, node), 0);
    assert_int_equal(tproc_send_u32(p.wr, intno), 0);
    OK(SCIConnectInterrupt(sd, &ri, cnode, 0, cintno, 5000, 0, &e_));
    assert_int_equal(precv(&p), 1);
    for (n = 0; n < ROUNDS; n++) {
        OK(SCITriggerInterrupt(ri, 0, &e_));
        OK(SCIWaitForInterrupt(li, 5000, 0, &e_));
    }
    assert_int_equal(tproc_end(&p, 10000), 0);
    OK(SCIDisconnectInterrupt(ri, 0, &e_));
    OK(SCIRemoveInterrupt(li, 0, &e_));
    parent_fini(sd);
}

/* ---- callback mode: CONTINUE for the first calls, CANCEL on the K-th ---- */

#define CB_K 5
static int cb_calls;
static int cb_wfd;

static sci_callback_action_t child_cb(void *arg, sci_local_interrupt_t li, sci_error_t status)
{
    (void)li;
    if (arg != (void *)&cb_calls || status != SCI_ERR_OK)
        _exit(3);
    cb_calls++;
    if (tproc_send_u32(cb_wfd, (uint32_t)cb_calls) < 0)
        _exit(4);
    return cb_calls == CB_K ? SCI_CALLBACK_CANCEL : SCI_CALLBACK_CONTINUE;
}

static int child_callback(int rfd, int wfd, void *arg)
{
    sci_local_interrupt_t li;
    unsigned int node, intno;
    uint32_t cmd;
    sci_error_t e;
    sci_desc_t sd = child_init(&node);

    cb_wfd = wfd;
    COK(SCICreateInterrupt(sd, &li, 0, &intno, child_cb, &cb_calls, SCI_FLAG_USE_CALLBACK, &e_));
    /* a callback interrupt is not waited on */
    CERR(SCI_ERR_ILLEGAL_OPERATION, SCIWaitForInterrupt(li, 10, 0, &e_));
    CHECK(tproc_send_u32(wfd, node) == 0 && tproc_send_u32(wfd, intno) == 0);
    /* after the CANCEL, the next trigger is for SCIWaitForInterrupt */
    CHECK(tproc_recv_u32(rfd, &cmd, 10000) == 0 && cmd == 2);
    for (int i = 0; i < 1000; i++) {     /* the CANCEL lands just after the callback's last report */
        SCIWaitForInterrupt(li, 5000, 0, &e);
        if (e != SCI_ERR_ILLEGAL_OPERATION)
            break;
        usleep(1000);
    }
    CHECK(e == SCI_ERR_OK);
    CHECK(cb_calls == CB_K);
    CHECK(tproc_send_u32(wfd, 100) == 0);
    COK(SCIRemoveInterrupt(li, 0, &e_));
    child_fini(sd);
    return 0;
}

static void test_callback_continue_cancel(void **state)
{
    struct tproc p;
    sci_remote_interrupt_t ri;
    unsigned int cnode, cintno;
    sci_desc_t sd;
    int n;

    (void)state;
    sd = peer_start(&p, child_callback, &cnode, &cintno);
    OK(SCIConnectInterrupt(sd, &ri, cnode, 0, cintno, 5000, 0, &e_));
    for (n = 1; n <= CB_K; n++) {
        OK(SCITriggerInterrupt(ri, 0, &e_));
        assert_int_equal(precv(&p), (uint32_t)n);     /* one callback per trigger */
    }
    assert_int_equal(tproc_send_u32(p.wr, 2), 0);
    OK(SCITriggerInterrupt(ri, 0, &e_));
    assert_int_equal(precv(&p), 100);                 /* received by the wait, not the callback */
    assert_int_equal(tproc_end(&p, 10000), 0);
    OK(SCIDisconnectInterrupt(ri, 0, &e_));
    parent_fini(sd);
}

/* ---- local: timeout, CANCELLED, FIXED_INTNO, NOSPC, bad input ---- */

struct waiter { sci_local_interrupt_t li; sci_error_t e; };

static void *wait_thread(void *arg)
{
    struct waiter *w = arg;

    SCIWaitForInterrupt(w->li, SCI_INFINITE_TIMEOUT, 0, &w->e);
    return NULL;
}

static void test_timeout_and_cancel(void **state)
{
    sci_local_interrupt_t li;
    struct waiter w;
    unsigned int intno;
    pthread_t t;
    sci_desc_t sd;

    (void)state;
    sd = parent_init();
    OK(SCICreateInterrupt(sd, &li, 0, &intno, NULL, NULL, 0, &e_));
    ERR(SCI_ERR_TIMEOUT, SCIWaitForInterrupt(li, 30, 0, &e_));
    ERR(SCI_ERR_TIMEOUT, SCIWaitForInterrupt(li, 0, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_FLAG, SCIWaitForInterrupt(li, 10, 0x100, &e_));
    /* the descriptor is busy while it owns an interrupt */
    ERR(SCI_ERR_BUSY, SCIClose(sd, 0, &e_));

    w.li = li;
    w.e = SCI_ERR_OK;
    assert_int_equal(pthread_create(&t, NULL, wait_thread, &w), 0);
    usleep(20000);
    OK(SCIRemoveInterrupt(li, 0, &e_));
    pthread_join(t, NULL);
    assert_int_equal(w.e, SCI_ERR_CANCELLED);
    /* the handle is gone */
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCIWaitForInterrupt(li, 10, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCIRemoveInterrupt(li, 0, &e_));
    parent_fini(sd);
}

#define NS_AUTO 150

static void test_fixed_intno_and_nospc(void **state)
{
    static const unsigned int good[] = { 0, 77, 4000, 65535, 0x7fffffffu };
    static const unsigned int bad[] = { 0x80000000u, 0xffffffffu };
    sci_local_interrupt_t li[NS_AUTO], lf[5], lx;
    unsigned int intno, n, k;
    sci_desc_t sd;

    (void)state;
    sd = parent_init();
    /* every number class of the namespace 0..2^31-1; beyond it OUT_OF_RANGE */
    for (k = 0; k < 5; k++) {
        intno = good[k];
        OK(SCICreateInterrupt(sd, &lf[k], 0, &intno, NULL, NULL, SCI_FLAG_FIXED_INTNO, &e_));
        assert_int_equal(intno, good[k]);
        intno = good[k];
        ERR(SCI_ERR_INTNO_USED, SCICreateInterrupt(sd, &lx, 0, &intno, NULL, NULL, SCI_FLAG_FIXED_INTNO, &e_));
    }
    for (k = 0; k < 2; k++) {
        intno = bad[k];
        ERR(SCI_ERR_OUT_OF_RANGE, SCICreateInterrupt(sd, &lx, 0, &intno, NULL, NULL, SCI_FLAG_FIXED_INTNO, &e_));
    }
    /* automatic numbers never take a fixed one, and more interrupts than doorbell bits exist */
    for (n = 0; n < NS_AUTO; n++) {
        OK(SCICreateInterrupt(sd, &li[n], 0, &intno, NULL, NULL, 0, &e_));
        for (k = 0; k < 5; k++)
            assert_int_not_equal(intno, good[k]);
        assert_int_equal(intno, n < 76 ? n + 1 : n + 2);     /* the lowest free: 0 and 77 are fixed */
    }
    /* fixed after automatic: the number is used */
    intno = 5;
    ERR(SCI_ERR_INTNO_USED, SCICreateInterrupt(sd, &lx, 0, &intno, NULL, NULL, SCI_FLAG_FIXED_INTNO, &e_));
    /* a freed number is free again */
    OK(SCIRemoveInterrupt(li[4], 0, &e_));
    intno = 5;
    OK(SCICreateInterrupt(sd, &li[4], 0, &intno, NULL, NULL, SCI_FLAG_FIXED_INTNO, &e_));
    for (n = 0; n < NS_AUTO; n++) {
        OK(SCIRemoveInterrupt(li[n], 0, &e_));
    }
    for (k = 0; k < 5; k++) {
        OK(SCIRemoveInterrupt(lf[k], 0, &e_));
    }
    /* flags and parameters */
    ERR(SCI_ERR_ILLEGAL_FLAG, SCICreateInterrupt(sd, &lx, 0, &intno, NULL, NULL, 0x10000, &e_));
    ERR(SCI_ERR_FLAG_NOT_IMPLEMENTED, SCICreateInterrupt(sd, &lx, 0, &intno, NULL, NULL, SCI_FLAG_SHARED_INT, &e_));
    ERR(SCI_ERR_FLAG_NOT_IMPLEMENTED, SCICreateInterrupt(sd, &lx, 0, &intno, NULL, NULL, SCI_FLAG_COUNTING_INT, &e_));
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCICreateInterrupt(sd, &lx, 0, &intno, NULL, NULL, SCI_FLAG_USE_CALLBACK, &e_));
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCICreateInterrupt(sd, &lx, 0, NULL, NULL, NULL, 0, &e_));
    ERR(SCI_ERR_NO_SUCH_ADAPTERNO, SCICreateInterrupt(sd, &lx, 5, &intno, NULL, NULL, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_ADAPTERNO, SCICreateInterrupt(sd, &lx, 99, &intno, NULL, NULL, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCICreateInterrupt(NULL, &lx, 0, &intno, NULL, NULL, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCITriggerInterrupt(NULL, 0, &e_));
    parent_fini(sd);
}

/* ---- connect errors, peer death, dropped doorbell ---- */

static int child_target(int rfd, int wfd, void *arg)
{
    sci_local_interrupt_t li;
    unsigned int node, intno;
    uint32_t cmd;
    sci_error_t e;
    sci_desc_t sd = child_init(&node);

    COK(SCICreateInterrupt(sd, &li, 0, &intno, NULL, NULL, 0, &e_));
    CHECK(tproc_send_u32(wfd, node) == 0 && tproc_send_u32(wfd, intno) == 0);
    for (;;) {
        CHECK(tproc_recv_u32(rfd, &cmd, 15000) == 0);
        if (cmd == 0)
            break;
        /* cmd = timeout in ms: report what the wait gave */
        SCIWaitForInterrupt(li, cmd, 0, &e);
        CHECK(tproc_send_u32(wfd, (uint32_t)e) == 0);
    }
    COK(SCIRemoveInterrupt(li, 0, &e_));
    child_fini(sd);
    return 0;
}

static void test_connect_errors_and_drop(void **state)
{
    struct tproc p;
    sci_remote_interrupt_t ri, rx;
    unsigned int cnode, cintno;
    sci_error_t e;
    sci_desc_t sd;

    (void)state;
    sd = peer_start(&p, child_target, &cnode, &cintno);
    ERR(SCI_ERR_NO_SUCH_INTNO, SCIConnectInterrupt(sd, &rx, cnode, 0, cintno + 1, 5000, 0, &e_));
    ERR(SCI_ERR_NO_SUCH_INTNO, SCIConnectInterrupt(sd, &rx, cnode, 0, 0x80000000u, 5000, 0, &e_));
    ERR(SCI_ERR_NO_SUCH_NODEID, SCIConnectInterrupt(sd, &rx, 200, 0, cintno, 1000, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_NODEID, SCIConnectInterrupt(sd, &rx, 0, 0, cintno, 1000, 0, &e_));
    ERR(SCI_ERR_FLAG_NOT_IMPLEMENTED, SCIConnectInterrupt(sd, &rx, cnode, 0, cintno, 1000, SCI_FLAG_COUNTING_INT, &e_));
    ERR(SCI_ERR_ILLEGAL_FLAG, SCIConnectInterrupt(sd, &rx, cnode, 0, cintno, 1000, 0x4000, &e_));
    OK(SCIConnectInterrupt(sd, &ri, cnode, 0, cintno, 5000, 0, &e_));

    /* a dropped doorbell loses no trigger: the counter in the trigger slot carries it */
    assert_int_equal(osci_fault_inject(0, OSCI_FAULT_DROP_DOORBELL, cnode, 1), 0);
    OK(SCITriggerInterrupt(ri, 0, &e_));
    assert_int_equal(tproc_send_u32(p.wr, 2000), 0);
    assert_int_equal(precv(&p), (uint32_t)SCI_ERR_OK);
    assert_int_equal(tproc_send_u32(p.wr, 100), 0);
    assert_int_equal(precv(&p), (uint32_t)SCI_ERR_TIMEOUT);
    OK(SCITriggerInterrupt(ri, 0, &e_));
    assert_int_equal(tproc_send_u32(p.wr, 5000), 0);
    assert_int_equal(precv(&p), (uint32_t)SCI_ERR_OK);

    /* the peer dies: triggers fail with NOT_CONNECTED */
    kill(p.pid, SIGKILL);
    assert_int_equal(tproc_end(&p, 5000), 128 + SIGKILL);
    for (int i = 0; i < 500; i++) {
        SCITriggerInterrupt(ri, 0, &e);
        if (e != SCI_ERR_OK)
            break;
        usleep(10000);
    }
    assert_int_equal(e, SCI_ERR_NOT_CONNECTED);
    OK(SCIDisconnectInterrupt(ri, 0, &e_));
    parent_fini(sd);
}

/* ---- many interrupts sharing the doorbell bits: bursts, every trigger counted, no stray wake-up ---- */

#define NMANY   130               /* more than twice the 64 doorbell bits of simntb */
#define NTHR    4
#define MANY_NO(i) (4000u + 37u * (i))

static sci_local_interrupt_t many_li[NMANY];
static int many_bad[NTHR];

static unsigned int many_count(unsigned int i)
{
    return 1 + i % 7;
}

/* thread t takes interrupts t, t+NTHR, ...: interrupts on one bit (i, i+64, i+128) have different waiters */
static void *many_waiter(void *arg)
{
    unsigned int t = (unsigned int)(uintptr_t)arg;
    sci_error_t e;

    for (unsigned int i = t; i < NMANY; i += NTHR) {
        for (unsigned int k = 0; k < many_count(i); k++) {
            SCIWaitForInterrupt(many_li[i], 10000, 0, &e);
            if (e != SCI_ERR_OK)
                many_bad[t]++;
        }
    }
    /* all delivered: no interrupt has one more (a stray wake-up or a trigger counted twice) */
    for (unsigned int i = t; i < NMANY; i += NTHR) {
        SCIWaitForInterrupt(many_li[i], 20, 0, &e);
        if (e != SCI_ERR_TIMEOUT)
            many_bad[t]++;
    }
    return NULL;
}

static int child_many(int rfd, int wfd, void *arg)
{
    pthread_t th[NTHR];
    unsigned int node, no, i;
    uint32_t cmd;
    sci_desc_t sd = child_init(&node);

    for (i = 0; i < NMANY; i++) {
        no = MANY_NO(i);
        COK(SCICreateInterrupt(sd, &many_li[i], 0, &no, NULL, NULL, SCI_FLAG_FIXED_INTNO, &e_));
    }
    CHECK(tproc_send_u32(wfd, node) == 0);
    CHECK(tproc_recv_u32(rfd, &cmd, 10000) == 0 && cmd == 1);      /* connected */
    for (i = 0; i < NTHR; i++)
        CHECK(pthread_create(&th[i], NULL, many_waiter, (void *)(uintptr_t)i) == 0);
    for (i = 0; i < NTHR; i++) {
        pthread_join(th[i], NULL);
        CHECK(many_bad[i] == 0);
    }
    CHECK(tproc_send_u32(wfd, 2) == 0);
    CHECK(tproc_recv_u32(rfd, &cmd, 10000) == 0 && cmd == 0);
    for (i = 0; i < NMANY; i++) {
        COK(SCIRemoveInterrupt(many_li[i], 0, &e_));
    }
    child_fini(sd);
    return 0;
}

static void test_many_shared_bits(void **state)
{
    static sci_remote_interrupt_t ri[NMANY];
    struct tproc p;
    unsigned int cnode, i, r;
    sci_desc_t sd;

    (void)state;
    assert_int_equal(tproc_start(&p, child_many, NULL), 0);
    sd = parent_init();
    cnode = precv(&p);
    for (i = 0; i < NMANY; i++) {
        OK(SCIConnectInterrupt(sd, &ri[i], cnode, 0, MANY_NO(i), 5000, 0, &e_));
    }
    assert_int_equal(tproc_send_u32(p.wr, 1), 0);
    /* rounds over all interrupts: each gets many_count(i) triggers, in bursts while its waiter is busy */
    for (r = 0; r < 7; r++) {
        for (i = 0; i < NMANY; i++) {
            if (r < many_count(i)) {
                OK(SCITriggerInterrupt(ri[i], 0, &e_));
            }
        }
    }
    assert_int_equal(precv(&p), 2);
    for (i = 0; i < NMANY; i++) {
        OK(SCIDisconnectInterrupt(ri[i], 0, &e_));
    }
    assert_int_equal(tproc_send_u32(p.wr, 0), 0);
    assert_int_equal(tproc_end(&p, 10000), 0);
    parent_fini(sd);
}

/* ---- one process: waited and callback interrupts on shared bits, timeout 0 polls ---- */

#define NLOC 66                 /* 64 waited (every bit) + callback ones that must share a bit */
static _Atomic int loc_calls;

static sci_callback_action_t loc_cb(void *arg, sci_local_interrupt_t li, sci_error_t status)
{
    (void)arg;
    (void)li;
    if (status == SCI_ERR_OK)
        loc_calls++;
    return SCI_CALLBACK_CONTINUE;
}

static void test_local_mixed_shared(void **state)
{
    sci_local_interrupt_t li[NLOC];
    sci_remote_interrupt_t ri[NLOC];
    unsigned int node, no, i, k;
    sci_error_t e;
    sci_desc_t sd;

    (void)state;
    sd = parent_init();
    SCIGetLocalNodeId(0, &node, 0, &e);
    for (i = 0; i < NLOC; i++) {
        bool cb = i >= 64;
        no = 70000 + i;
        SCICreateInterrupt(sd, &li[i], 0, &no, cb ? loc_cb : NULL, NULL,
                           SCI_FLAG_FIXED_INTNO | (cb ? SCI_FLAG_USE_CALLBACK : 0), &e);
        assert_int_equal(e, SCI_ERR_OK);
        OK(SCIConnectInterrupt(sd, &ri[i], node, 0, no, 1000, 0, &e_));
    }
    /* nothing triggered: a poll (timeout 0) times out at once */
    ERR(SCI_ERR_TIMEOUT, SCIWaitForInterrupt(li[3], 0, 0, &e_));
    for (k = 0; k < 3; k++)
        for (i = 0; i < NLOC; i++) {
            OK(SCITriggerInterrupt(ri[i], 0, &e_));
        }
    for (i = 0; i < 64; i++) {
        for (k = 0; k < 3; k++) {
            SCIWaitForInterrupt(li[i], i % 2 ? 0 : 5000, 0, &e);   /* polls find what was triggered */
            assert_int_equal(e, SCI_ERR_OK);
        }
        ERR(SCI_ERR_TIMEOUT, SCIWaitForInterrupt(li[i], 0, 0, &e_));
    }
    for (k = 0; k < 500 && loc_calls < 3 * (NLOC - 64); k++)
        usleep(10000);
    assert_int_equal(loc_calls, 3 * (NLOC - 64));            /* one call per trigger, none for the others */
    usleep(50000);
    assert_int_equal(loc_calls, 3 * (NLOC - 64));
    for (i = 0; i < NLOC; i++) {
        OK(SCIDisconnectInterrupt(ri[i], 0, &e_));
        OK(SCIRemoveInterrupt(li[i], 0, &e_));
    }
    parent_fini(sd);
}

OSCI_TEST_MAIN(NULL, NULL, NULL,
               cmocka_unit_test(test_timeout_and_cancel),
               cmocka_unit_test(test_fixed_intno_and_nospc),
               cmocka_unit_test(test_wait_pingpong),
               cmocka_unit_test(test_callback_continue_cancel),
               cmocka_unit_test(test_connect_errors_and_drop),
               cmocka_unit_test(test_many_shared_bits),
               cmocka_unit_test(test_local_mixed_shared))
