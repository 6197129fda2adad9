/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * A SISCI server/client pair following Dolphin's documented teardown order, with the public API
 * only. Server: create, prepare, set available, wait for the client's data, then
 * SCISetSegmentUnavailable(NOTIFY | FORCE_DISCONNECT), unmap, SCIRemoveSegment while the client may
 * still be connected. Client: connect (looping on NO_SUCH_SEGMENT), map, write, unmap, and
 * disconnect after its SCI_CB_DISCONNECT. Runs cycle the unavailable flags (NOTIFY | FORCE_DISCONNECT,
 * NOTIFY, none: then the remove itself force-disconnects the client). Run with the server tearing down first (the client still
 * connected when the segment goes) and with the client leaving first, each 50 times, alternating
 * which side starts first.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sisci_api.h"
#include "../common/osci_test.h"
#include "../seg/seg_peer.h"

#define RUNS 50
#define SEG_ID 4711
#define SEGSZ 8192
#define T_MS 10000
#define DATA_OFF 64
#define DATA_LEN 1024
#define DONE_OFF 0
#define DONE_MAGIC 0x600dc0deu

enum { ORDER_SERVER_FIRST = 0, ORDER_CLIENT_FIRST = 1 };
enum { GO = 1 };

struct pair_args {
    int order;
    uint32_t run;
};

static const unsigned int unavail_flags[3] = { SCI_FLAG_NOTIFY | SCI_FLAG_FORCE_DISCONNECT, SCI_FLAG_NOTIFY, 0 };

static uint8_t pat(uint32_t run, int i) { return (uint8_t)(i * 29 + run * 3 + 1); }

/* Server. Pipe protocol: sends its node id; waits GO before teardown; sends the remove status;
 * waits GO before it closes and terminates. */
static int server_main(int rd, int wr, void *arg)
{
    struct pair_args *pa = arg;
    sci_desc_t sd;
    sci_local_segment_t ls;
    sci_map_t m;
    sci_error_t e;
    unsigned int node = 0, src = 0, ad = 0;
    uint32_t cmd;
    volatile uint8_t *p;

    sd = child_init(&node);
    SCICreateSegment(sd, &ls, SEG_ID, SEGSZ, NULL, NULL, 0, &e); CHECK(e == SCI_ERR_OK);
    SCIPrepareSegment(ls, 0, 0, &e); CHECK(e == SCI_ERR_OK);
    p = SCIMapLocalSegment(ls, &m, 0, SEGSZ, NULL, 0, &e); CHECK(e == SCI_ERR_OK);
    SCISetSegmentAvailable(ls, 0, 0, &e); CHECK(e == SCI_ERR_OK);
    CHECK(tproc_send_u32(wr, node) == 0);
    CHECK(SCIWaitForLocalSegmentEvent(ls, &src, &ad, T_MS, 0, &e) == SCI_CB_CONNECT);
    CHECK(e == SCI_ERR_OK);
    for (int i = 0; i < T_MS && *(volatile uint32_t *)(p + DONE_OFF) != DONE_MAGIC; i++)
        usleep(1000);
    CHECK(*(volatile uint32_t *)(p + DONE_OFF) == DONE_MAGIC);
    for (int i = 0; i < DATA_LEN; i++)
        CHECK(p[DATA_OFF + i] == pat(pa->run, i));
    CHECK(tproc_recv_u32(rd, &cmd, T_MS) == 0 && cmd == GO);
    /* Dolphin's order: unavailable (with notify and force; programs also pass notify alone or no
       flag, then the remove is what drops the client), unmap, remove */
    COK(SCISetSegmentUnavailable(ls, 0, unavail_flags[pa->run % 3], &e_));
    SCIUnmapSegment(m, 0, &e); CHECK(e == SCI_ERR_OK);
    SCIRemoveSegment(ls, 0, &e);
    CHECK(tproc_send_u32(wr, (uint32_t)e) == 0);
    CHECK(e == SCI_ERR_OK);
    CHECK(tproc_recv_u32(rd, &cmd, T_MS) == 0 && cmd == GO);
    child_fini(sd);
    return 0;
}

/* Client. Pipe protocol: gets the server's node id; writes its data and unmaps; reports 1; then
 * (server first) waits for SCI_CB_DISCONNECT, or (client first) leaves at once; disconnects and
 * reports the event it saw (0: none waited for). */
static int client_main(int rd, int wr, void *arg)
{
    struct pair_args *pa = arg;
    sci_desc_t sd;
    sci_remote_segment_t rs;
    sci_map_t m;
    sci_error_t e, st;
    sci_segment_cb_reason_t r = 0;
    uint32_t node;
    volatile uint8_t *p;

    CHECK(tproc_recv_u32(rd, &node, T_MS) == 0);
    sd = child_open();
    CHECK(connect_retry(sd, &rs, node, SEG_ID) == SCI_ERR_OK);
    p = SCIMapRemoteSegment(rs, &m, 0, SEGSZ, NULL, 0, &e); CHECK(e == SCI_ERR_OK);
    for (int i = 0; i < DATA_LEN; i++)
        p[DATA_OFF + i] = pat(pa->run, i);
    SCIFlush(NULL, 0);
    *(volatile uint32_t *)(p + DONE_OFF) = DONE_MAGIC;
    SCIFlush(NULL, 0);
    SCIUnmapSegment(m, 0, &e); CHECK(e == SCI_ERR_OK);
    CHECK(tproc_send_u32(wr, 1) == 0);
    if (pa->order == ORDER_SERVER_FIRST) {
        do
            r = SCIWaitForRemoteSegmentEvent(rs, &st, T_MS, 0, &e);
        while (e == SCI_ERR_OK && r == SCI_CB_CONNECT);
        CHECK(e == SCI_ERR_OK);
        /* gone for good: no new map, no new connection */
        CERR(SCI_ERR_SEGMENT_NOT_CONNECTED, SCIMapRemoteSegment(rs, &m, 0, SEGSZ, NULL, 0, &e_));
    }
    SCIDisconnectSegment(rs, 0, &e); CHECK(e == SCI_ERR_OK);
    child_fini(sd);
    CHECK(tproc_send_u32(wr, (uint32_t)r) == 0);
    return 0;
}

static void one_run(int order, uint32_t run)
{
    struct pair_args pa = { .order = order, .run = run };
    struct tproc s, c;
    uint32_t node, v, rm;

    /* alternate which side starts first: the client loops on NO_SUCH_SEGMENT */
    if (run & 1) {
        assert_int_equal(tproc_start(&c, client_main, &pa), 0);
        assert_int_equal(tproc_start(&s, server_main, &pa), 0);
    } else {
        assert_int_equal(tproc_start(&s, server_main, &pa), 0);
        assert_int_equal(tproc_start(&c, client_main, &pa), 0);
    }
    assert_int_equal(tproc_recv_u32(s.rd, &node, T_MS), 0);
    assert_int_equal(tproc_send_u32(c.wr, node), 0);
    assert_int_equal(tproc_recv_u32(c.rd, &v, T_MS), 0);              /* written and unmapped */
    assert_int_equal(v, 1);
    if (order == ORDER_CLIENT_FIRST) {
        assert_int_equal(tproc_recv_u32(c.rd, &v, T_MS), 0);
        assert_int_equal(v, 0);
        assert_int_equal(tproc_wait(&c, T_MS), 0);
    }
    assert_int_equal(tproc_send_u32(s.wr, GO), 0);
    assert_int_equal(tproc_recv_u32(s.rd, &rm, T_MS), 0);
    assert_int_equal(rm, SCI_ERR_OK);                                  /* remove succeeded */
    if (order == ORDER_SERVER_FIRST) {
        assert_int_equal(tproc_recv_u32(c.rd, &v, T_MS), 0);
        assert_int_equal(v, SCI_CB_DISCONNECT);
        assert_int_equal(tproc_wait(&c, T_MS), 0);
    }
    assert_int_equal(tproc_send_u32(s.wr, GO), 0);
    assert_int_equal(tproc_wait(&s, T_MS), 0);
}

static void test_server_tears_down_first(void **state)
{
    for (uint32_t run = 0; run < RUNS; run++)
        one_run(ORDER_SERVER_FIRST, run);
}

static void test_client_leaves_first(void **state)
{
    for (uint32_t run = 0; run < RUNS; run++)
        one_run(ORDER_CLIENT_FIRST, run);
}

OSCI_TEST_MAIN("compat_sisci_teardown", NULL, NULL,
               cmocka_unit_test_teardown(test_server_tears_down_first, tproc_teardown),
               cmocka_unit_test_teardown(test_client_leaves_first, tproc_teardown))
