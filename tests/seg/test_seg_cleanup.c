/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Nothing left in /dev/shm by SISCI programs (docs/simntb.md §6): a process that returns from main
 * without SCITerminate (its event thread still running) leaves no fabric file; when every node of a
 * fabric was SIGKILLed, the next program to run on it reclaims everything and leaves nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/osci_test.h"

#define SEGSZ 8192
#define T_MS 10000
#define SEG_ID 7
#define PAIR_RUNS 10

#include "seg_owner.h"

enum { HOW_EXIT = 1, HOW_TERMINATE, HOW_HANG };

/* /dev/shm entries of this test's fabric: /osci.<fabric>, its windows, wake directories and multicast windows. */
static int shm_count(void)
{
    const char *fabric = getenv("OSCI_FABRIC");
    char prefix[96];
    size_t n;
    int count = 0;
    struct dirent *e;
    DIR *dir = opendir("/dev/shm");
    if (!dir || !fabric)
        return -1;
    n = (size_t)snprintf(prefix, sizeof(prefix), "osci.%s", fabric);
    while ((e = readdir(dir)))
        if (!strncmp(e->d_name, prefix, n) && (e->d_name[n] == '\0' || e->d_name[n] == '.'))
            count++;
    closedir(dir);
    return count;
}

/* Owner: a segment created, prepared, available and mapped; reports its node id, then on a
 * command returns from "main" (exit) without any cleanup, or waits to be killed. */
static int owner_exit(int rd, int wr, void *arg)
{
    sci_error_t e;
    sci_desc_t sd;
    sci_local_segment_t ls, bs;
    sci_map_t map;
    uint32_t how;
    volatile uint32_t *p;

    sd = child_open();
    SCICreateSegment(sd, &ls, SEG_ID, SEGSZ, NULL, NULL, 0, &e); CHECK(e == SCI_ERR_OK);
    SCIPrepareSegment(ls, 0, 0, &e); CHECK(e == SCI_ERR_OK);
    SCISetSegmentAvailable(ls, 0, 0, &e); CHECK(e == SCI_ERR_OK);
    p = SCIMapLocalSegment(ls, &map, 0, SEGSZ, NULL, 0, &e); CHECK(e == SCI_ERR_OK);
    p[0] = 0x1234;
    /* a reflective-memory member too: its multicast window must go as well */
    SCICreateSegment(sd, &bs, SEG_ID + 1, SEGSZ, NULL, NULL, SCI_FLAG_BROADCAST, &e); CHECK(e == SCI_ERR_OK);
    SCIPrepareSegment(bs, 0, SCI_FLAG_BROADCAST, &e); CHECK(e == SCI_ERR_OK);
    SCISetSegmentAvailable(bs, 0, 0, &e); CHECK(e == SCI_ERR_OK);
    CHECK(tproc_send_u32(wr, my_node()) == 0);
    CHECK(tproc_recv_u32(rd, &how, 30000) == 0);
    if (how == HOW_HANG)
        pause();
    exit(0);                          /* as a return from main: no SCITerminate */
}

/* Remote: connects and maps the owner's segment, reads what it wrote, reports, then the same. */
static int remote_exit(int rd, int wr, void *arg)
{
    uint32_t node = (uint32_t)(uintptr_t)arg, how;
    sci_error_t e;
    sci_desc_t sd;
    sci_remote_segment_t rs;
    sci_map_t map;
    volatile uint32_t *p;

    sd = child_open();
    CHECK(connect_retry(sd, &rs, node, SEG_ID) == SCI_ERR_OK);
    p = SCIMapRemoteSegment(rs, &map, 0, SEGSZ, NULL, 0, &e); CHECK(e == SCI_ERR_OK);
    CHECK(p[0] == 0x1234);
    CHECK(tproc_send_u32(wr, my_node()) == 0);
    CHECK(tproc_recv_u32(rd, &how, 30000) == 0);
    if (how == HOW_HANG)
        pause();
    exit(0);
}

/* A program that runs on the fabric and leaves: with SCITerminate, or by returning from main. */
static int visitor(int rd, int wr, void *arg)
{
    uint32_t how = (uint32_t)(uintptr_t)arg;
    sci_error_t e;
    sci_desc_t sd;

    sd = child_open();
    if (how == HOW_EXIT)
        exit(0);
    SCIClose(sd, 0, &e); CHECK(e == SCI_ERR_OK);
    SCITerminate();
    return 0;
}

static void start_pair(struct tproc *o, struct tproc *r, uint32_t *onode)
{
    uint32_t rnode;
    assert_int_equal(tproc_start(o, owner_exit, NULL), 0);
    assert_int_equal(tproc_recv_u32(o->rd, onode, T_MS), 0);
    assert_int_equal(tproc_start(r, remote_exit, (void *)(uintptr_t)*onode), 0);
    assert_int_equal(tproc_recv_u32(r->rd, &rnode, T_MS), 0);
    assert_int_not_equal(rnode, *onode);
    assert_int_equal(shm_count(), 6);   /* fabric file, two windows and wake directories, the multicast window */
}

static void test_owner_exits_alone(void **state)
{
    struct tproc o;
    uint32_t node;
    assert_int_equal(shm_count(), 0);
    assert_int_equal(tproc_start(&o, owner_exit, NULL), 0);
    assert_int_equal(tproc_recv_u32(o.rd, &node, T_MS), 0);
    assert_int_equal(shm_count(), 4);   /* fabric file, window, wake directory, multicast window */
    assert_int_equal(tproc_send_u32(o.wr, HOW_EXIT), 0);
    assert_int_equal(tproc_wait(&o, T_MS), 0);
    assert_int_equal(shm_count(), 0);
}

/* Owner and remote return from main at the same moment, connected and mapped. */
static void test_pair_exits(void **state)
{
    for (int i = 0; i < PAIR_RUNS; i++) {
        struct tproc o, r;
        uint32_t onode;
        start_pair(&o, &r, &onode);
        assert_int_equal(tproc_send_u32(r.wr, HOW_EXIT), 0);
        assert_int_equal(tproc_send_u32(o.wr, HOW_EXIT), 0);
        assert_int_equal(tproc_wait(&r, T_MS), 0);
        assert_int_equal(tproc_wait(&o, T_MS), 0);
        assert_int_equal(shm_count(), 0);
    }
}

/* Every node killed: the files stay; the next program reclaims them and leaves nothing, whether
 * it calls SCITerminate or returns from main. */
static void test_killed_then_visited(void **state)
{
    for (uint32_t how = HOW_EXIT; how <= HOW_TERMINATE; how++) {
        struct tproc o, r, v;
        uint32_t onode;
        start_pair(&o, &r, &onode);
        kill(r.pid, SIGKILL);
        kill(o.pid, SIGKILL);
        tproc_kill(&r);
        tproc_kill(&o);
        /* the fabric file and the windows a survivor did not reclaim in between */
        assert_true(shm_count() >= 2);
        assert_int_equal(tproc_start(&v, visitor, (void *)(uintptr_t)how), 0);
        assert_int_equal(tproc_wait(&v, T_MS), 0);
        assert_int_equal(shm_count(), 0);
    }
}

OSCI_TEST_MAIN("seg_cleanup", NULL, NULL,
               cmocka_unit_test_teardown(test_owner_exits_alone, tproc_teardown),
               cmocka_unit_test_teardown(test_pair_exits, tproc_teardown),
               cmocka_unit_test_teardown(test_killed_then_visited, tproc_teardown))
