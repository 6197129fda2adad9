/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Data interrupts across processes on simntb: payload content, too-big payloads, a small
 * receive buffer, flow control (a full receiver makes the trigger fail with TIMEOUT, never a silent
 * drop; every payload of a long stream arrives in order), callback delivery, CANCELLED on removal,
 * numbers of the whole namespace, bad input.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
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

#define DMAX 208          /* SEG_DATA_INTR_MAX */
#define CREDITS 16        /* SEG_DATA_INTR_CREDITS */
#define STREAM 300
#define NMSG 6
static const unsigned int sizes[NMSG] = { 0, 1, 7, 100, DMAX - 1, DMAX };

static uint8_t dpat(unsigned int k, unsigned int i)
{
    return (uint8_t)(k * 31u + i * 7u + 1u);
}

/* ---- wait mode: content, small buffer, overflow ---- */

static int child_data_wait(int rfd, int wfd, void *arg)
{
    sci_local_data_interrupt_t d, sync;
    unsigned int node, no, sno, len, k, i;
    uint8_t buf[DMAX + 8];
    uint32_t cmd;
    sci_error_t e;
    sci_desc_t sd = child_init(&node);

    COK(SCICreateDataInterrupt(sd, &d, 0, &no, NULL, NULL, 0, &e_));
    sno = 9;
    COK(SCICreateDataInterrupt(sd, &sync, 0, &sno, NULL, NULL, SCI_FLAG_FIXED_INTNO, &e_));
    CHECK(tproc_send_u32(wfd, node) == 0 && tproc_send_u32(wfd, no) == 0);
    for (k = 0; k < NMSG; k++) {
        if (sizes[k] > 0) {
            /* too small: the needed size comes back and the payload stays queued */
            len = sizes[k] - 1;
            SCIWaitForDataInterrupt(d, buf, &len, 5000, 0, &e);
            CHECK(e == SCI_ERR_OUT_OF_RANGE && len == sizes[k]);
        }
        len = sizeof(buf);
        COK(SCIWaitForDataInterrupt(d, buf, &len, 5000, 0, &e_));
        CHECK(len == sizes[k]);
        for (i = 0; i < len; i++)
            CHECK(buf[i] == dpat(k, i));
    }
    CHECK(tproc_send_u32(wfd, 1) == 0);
    /* a full receiver: the sender floods until a trigger fails, then rings `sync` */
    len = sizeof(buf);
    COK(SCIWaitForDataInterrupt(sync, buf, &len, 10000, 0, &e_));
    for (k = 0; k < CREDITS; k++) {      /* every payload the sender was told OK for, in order */
        len = sizeof(buf);
        COK(SCIWaitForDataInterrupt(d, buf, &len, 5000, 0, &e_));
        CHECK(len == 4 && buf[0] == k);
    }
    len = sizeof(buf);
    CERR(SCI_ERR_TIMEOUT, SCIWaitForDataInterrupt(d, buf, &len, 50, 0, &e_));
    CHECK(tproc_send_u32(wfd, 2) == 0);
    /* a long stream against a slower receiver: every payload, in order, none lost */
    for (k = 0; k < STREAM; k++) {
        len = sizeof(buf);
        COK(SCIWaitForDataInterrupt(d, buf, &len, 5000, 0, &e_));
        CHECK(len == 4 && buf[0] == (uint8_t)k && buf[1] == (uint8_t)(k >> 8));
        if (k % 50 == 0)
            usleep(20000);
    }
    len = sizeof(buf);
    CERR(SCI_ERR_TIMEOUT, SCIWaitForDataInterrupt(d, buf, &len, 50, 0, &e_));
    CHECK(tproc_recv_u32(rfd, &cmd, 10000) == 0 && cmd == 0);
    COK(SCIRemoveDataInterrupt(sync, 0, &e_));
    COK(SCIRemoveDataInterrupt(d, 0, &e_));
    child_fini(sd);
    return 0;
}

static void test_data_wait(void **state)
{
    struct tproc p;
    sci_remote_data_interrupt_t rd, rsync;
    unsigned int cnode, cno, k, i;
    uint8_t buf[DMAX + 8];
    sci_error_t e;
    sci_desc_t sd;

    (void)state;
    sd = peer_start(&p, child_data_wait, &cnode, &cno);
    OK(SCIConnectDataInterrupt(sd, &rd, cnode, 0, cno, 5000, 0, &e_));
    ERR(SCI_ERR_NO_SUCH_INTNO, SCIConnectDataInterrupt(sd, &rsync, cnode, 0, 10, 5000, 0, &e_));
    ERR(SCI_ERR_NO_SUCH_INTNO, SCIConnectDataInterrupt(sd, &rsync, cnode, 0, 64, 5000, 0, &e_));
    OK(SCIConnectDataInterrupt(sd, &rsync, cnode, 0, 9, 5000, 0, &e_));
    ERR(SCI_ERR_OUT_OF_RANGE, SCITriggerDataInterrupt(rd, buf, DMAX + 1, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCITriggerDataInterrupt(rd, NULL, 4, 0, &e_));
    for (k = 0; k < NMSG; k++) {
        for (i = 0; i < sizes[k]; i++)
            buf[i] = dpat(k, i);
        OK(SCITriggerDataInterrupt(rd, buf, sizes[k], 0, &e_));
    }
    assert_int_equal(precv(&p), 1);
    for (k = 0; k < CREDITS + 3; k++) {
        memset(buf, (int)k, 4);
        SCITriggerDataInterrupt(rd, buf, 4, 0, &e);
        if (e != SCI_ERR_OK)
            break;
    }
    assert_int_equal(k, CREDITS);          /* the receiver's room, then an error the caller sees */
    assert_int_equal(e, SCI_ERR_TIMEOUT);
    OK(SCITriggerDataInterrupt(rsync, buf, 1, 0, &e_));
    assert_int_equal(precv(&p), 2);
    for (k = 0; k < STREAM; k++) {
        buf[0] = (uint8_t)k;
        buf[1] = (uint8_t)(k >> 8);
        SCITriggerDataInterrupt(rd, buf, 4, 0, &e);
        assert_int_equal(e, SCI_ERR_OK);     /* waits for credits, never drops */
    }
    assert_int_equal(tproc_send_u32(p.wr, 0), 0);
    assert_int_equal(tproc_end(&p, 10000), 0);
    OK(SCIDisconnectDataInterrupt(rd, 0, &e_));
    OK(SCIDisconnectDataInterrupt(rsync, 0, &e_));
    parent_fini(sd);
}

/* ---- callback mode ---- */

static int dcb_calls;
static int dcb_wfd;

static sci_callback_action_t child_dcb(void *arg, sci_local_data_interrupt_t d, void *data, unsigned int length,
                                       sci_error_t status)
{
    const uint8_t *b = data;
    unsigned int k = (unsigned int)dcb_calls;

    (void)d;
    if (arg != &dcb_calls || status != SCI_ERR_OK || k >= NMSG || length != sizes[k])
        _exit(3);
    for (unsigned int i = 0; i < length; i++)
        if (b[i] != dpat(k, i))
            _exit(4);
    dcb_calls++;
    if (tproc_send_u32(dcb_wfd, (uint32_t)dcb_calls) < 0)
        _exit(5);
    return dcb_calls == NMSG ? SCI_CALLBACK_CANCEL : SCI_CALLBACK_CONTINUE;
}

static int child_data_cb(int rfd, int wfd, void *arg)
{
    sci_local_data_interrupt_t d;
    unsigned int node, no, len;
    uint8_t buf[DMAX];
    uint32_t cmd;
    sci_error_t e;
    sci_desc_t sd = child_init(&node);

    dcb_wfd = wfd;
    COK(SCICreateDataInterrupt(sd, &d, 0, &no, child_dcb, &dcb_calls, SCI_FLAG_USE_CALLBACK, &e_));
    len = sizeof(buf);
    CERR(SCI_ERR_ILLEGAL_OPERATION, SCIWaitForDataInterrupt(d, buf, &len, 10, 0, &e_));
    CHECK(tproc_send_u32(wfd, node) == 0 && tproc_send_u32(wfd, no) == 0);
    /* after the CANCEL (the callback returns it just after its last report) the next payload is waited for */
    CHECK(tproc_recv_u32(rfd, &cmd, 10000) == 0 && cmd == 2);
    for (int i = 0; i < 1000; i++) {
        len = sizeof(buf);
        SCIWaitForDataInterrupt(d, buf, &len, 10000, 0, &e);
        if (e != SCI_ERR_ILLEGAL_OPERATION)
            break;
        usleep(1000);
    }
    CHECK(e == SCI_ERR_OK);
    CHECK(len == 3 && buf[0] == 0xab && dcb_calls == NMSG);
    CHECK(tproc_send_u32(wfd, 100) == 0);
    COK(SCIRemoveDataInterrupt(d, 0, &e_));
    child_fini(sd);
    return 0;
}

static void test_data_callback(void **state)
{
    struct tproc p;
    sci_remote_data_interrupt_t rd;
    unsigned int cnode, cno, k, i;
    uint8_t buf[DMAX];
    sci_error_t e;
    sci_desc_t sd;

    (void)state;
    sd = peer_start(&p, child_data_cb, &cnode, &cno);
    OK(SCIConnectDataInterrupt(sd, &rd, cnode, 0, cno, 5000, 0, &e_));
    for (k = 0; k < NMSG; k++) {
        for (i = 0; i < sizes[k]; i++)
            buf[i] = dpat(k, i);
        OK(SCITriggerDataInterrupt(rd, buf, sizes[k], 0, &e_));
        assert_int_equal(precv(&p), k + 1);
    }
    assert_int_equal(tproc_send_u32(p.wr, 2), 0);
    memset(buf, 0xab, 3);
    OK(SCITriggerDataInterrupt(rd, buf, 3, 0, &e_));
    assert_int_equal(precv(&p), 100);
    assert_int_equal(tproc_end(&p, 10000), 0);
    /* the owner is gone: triggers fail once that is known */
    for (int n = 0; n < 500; n++) {
        SCITriggerDataInterrupt(rd, buf, 3, 0, &e);
        if (e != SCI_ERR_OK)
            break;
        usleep(10000);
    }
    assert_int_equal(e, SCI_ERR_NOT_CONNECTED);
    OK(SCIDisconnectDataInterrupt(rd, 0, &e_));
    parent_fini(sd);
}

/* ---- local: loopback, CANCELLED, bad input ---- */

struct dwaiter { sci_local_data_interrupt_t d; sci_error_t e; };

static void *dwait_thread(void *arg)
{
    struct dwaiter *w = arg;
    uint8_t buf[8];
    unsigned int len = sizeof(buf);

    SCIWaitForDataInterrupt(w->d, buf, &len, SCI_INFINITE_TIMEOUT, 0, &w->e);
    return NULL;
}

static void test_data_local(void **state)
{
    sci_local_data_interrupt_t d, dx;
    sci_remote_data_interrupt_t rd;
    unsigned int node, no, len;
    struct dwaiter w;
    uint8_t buf[16];
    pthread_t t;
    sci_error_t e;
    sci_desc_t sd;

    (void)state;
    sd = parent_init();
    SCIGetLocalNodeId(0, &node, 0, &e);
    OK(SCICreateDataInterrupt(sd, &d, 0, &no, NULL, NULL, 0, &e_));
    ERR(SCI_ERR_INTNO_USED, SCICreateDataInterrupt(sd, &dx, 0, &no, NULL, NULL, SCI_FLAG_FIXED_INTNO, &e_));
    ERR(SCI_ERR_ILLEGAL_FLAG, SCICreateDataInterrupt(sd, &dx, 0, &no, NULL, NULL, SCI_FLAG_COUNTING_INT, &e_));
    /* the namespace: 0..2^31-1, numbers in the thousands included */
    {
        static const unsigned int good[] = { 77, 4000, 65535, 0x7fffffffu };
        sci_local_data_interrupt_t dn[4];
        for (unsigned int k = 0; k < 4; k++) {
            unsigned int x = good[k];
            OK(SCICreateDataInterrupt(sd, &dn[k], 0, &x, NULL, NULL, SCI_FLAG_FIXED_INTNO, &e_));
            assert_int_equal(x, good[k]);
        }
        no = 0x80000000u;
        ERR(SCI_ERR_OUT_OF_RANGE, SCICreateDataInterrupt(sd, &dx, 0, &no, NULL, NULL, SCI_FLAG_FIXED_INTNO, &e_));
        for (unsigned int k = 0; k < 4; k++) {
            OK(SCIRemoveDataInterrupt(dn[k], 0, &e_));
        }
        SCIGetLocalNodeId(0, &node, 0, &e);
        no = 0;
    }
    /* loopback through the own node */
    OK(SCIConnectDataInterrupt(sd, &rd, node, 0, no, 1000, 0, &e_));
    OK(SCITriggerDataInterrupt(rd, "hello", 5, 0, &e_));
    len = sizeof(buf);
    OK(SCIWaitForDataInterrupt(d, buf, &len, 5000, 0, &e_));
    assert_int_equal(len, 5);
    assert_memory_equal(buf, "hello", 5);
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCIWaitForDataInterrupt(d, buf, NULL, 10, 0, &e_));
    len = 4;
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCIWaitForDataInterrupt(d, NULL, &len, 10, 0, &e_));
    len = sizeof(buf);
    ERR(SCI_ERR_TIMEOUT, SCIWaitForDataInterrupt(d, buf, &len, 20, 0, &e_));
    /* loopback flow control: CREDITS payloads fit, the next one fails; consuming half returns credit */
    for (unsigned int k = 0; k < CREDITS; k++) {
        buf[0] = (uint8_t)k;
        OK(SCITriggerDataInterrupt(rd, buf, 1, 0, &e_));
    }
    ERR(SCI_ERR_TIMEOUT, SCITriggerDataInterrupt(rd, buf, 1, 0, &e_));
    for (unsigned int k = 0; k < CREDITS / 2; k++) {
        len = sizeof(buf);
        OK(SCIWaitForDataInterrupt(d, buf, &len, 1000, 0, &e_));
        assert_int_equal(buf[0], k);
    }
    buf[0] = CREDITS;
    OK(SCITriggerDataInterrupt(rd, buf, 1, 0, &e_));
    for (unsigned int k = CREDITS / 2; k <= CREDITS; k++) {
        len = sizeof(buf);
        OK(SCIWaitForDataInterrupt(d, buf, &len, 1000, 0, &e_));
        assert_int_equal(buf[0], k);
    }
    OK(SCIDisconnectDataInterrupt(rd, 0, &e_));

    w.d = d;
    w.e = SCI_ERR_OK;
    assert_int_equal(pthread_create(&t, NULL, dwait_thread, &w), 0);
    usleep(20000);
    OK(SCIRemoveDataInterrupt(d, 0, &e_));
    pthread_join(t, NULL);
    assert_int_equal(w.e, SCI_ERR_CANCELLED);
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCIRemoveDataInterrupt(d, 0, &e_));
    parent_fini(sd);
}

OSCI_TEST_MAIN(NULL, NULL, NULL,
               cmocka_unit_test(test_data_local),
               cmocka_unit_test(test_data_wait),
               cmocka_unit_test(test_data_callback))
