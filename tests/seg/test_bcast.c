/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * SCI_FLAG_BROADCAST (reflective memory): members forked as processes follow Dolphin's flow (create +
 * prepare with BROADCAST, map local, set available, connect to DIS_BROADCAST_NODEID_GROUP_ALL with
 * BROADCAST until it stops answering NO_SUCH_SEGMENT, map remote with BROADCAST). A store through one
 * member's broadcast map is read by the others through their local maps; joins, leaves and a SIGKILLed
 * member are reported on the members' local segments; wrong flag / node id combinations are refused.
 */
#include <errno.h>
#include <poll.h>
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "sisci_api.h"
#include "../common/osci_test.h"
#include "seg_peer.h"
#include "osci_time.h"

#define GROUP 3u
#define SIZE  8192u

enum { CMD_WRITE = 1, CMD_READ_WAIT, CMD_WAIT_EVENT, CMD_QUIT };

/* 1: the members run simntb with multicast=0, so the group is written by one put per member, the rdma
 * way: the broadcast map is a transfer map and stores are SCIMemCpy. */
static int put_mode;

/* A member: Dolphin's flow, then commands (cmd, a, b) from the parent, one u32 answer each. */
static int member(int rfd, int wfd, void *arg)
{
    sci_local_segment_t ls;
    sci_remote_segment_t rs;
    sci_map_t lmap, rmap;
    sci_sequence_t seq;
    volatile uint32_t *rd, *wr;
    unsigned int node;
    sci_error_t e;
    sci_desc_t sd = child_init(&node);

    COK(SCICreateSegment(sd, &ls, GROUP, SIZE, NULL, NULL, SCI_FLAG_BROADCAST, &e_));
    COK(SCIPrepareSegment(ls, 0, SCI_FLAG_BROADCAST, &e_));
    rd = SCIMapLocalSegment(ls, &lmap, 0, SIZE, NULL, 0, &e);
    CHECK(e == SCI_ERR_OK);
    COK(SCISetSegmentAvailable(ls, 0, 0, &e_));
    do
        SCIConnectSegment(sd, &rs, DIS_BROADCAST_NODEID_GROUP_ALL, GROUP, 0, NULL, NULL, SCI_INFINITE_TIMEOUT,
                          SCI_FLAG_BROADCAST, &e);
    while (e == SCI_ERR_NO_SUCH_SEGMENT);
    CHECK(e == SCI_ERR_OK);
    CHECK(SCIGetRemoteSegmentSize(rs) == SIZE);
    if (put_mode) {
        wr = SCIMapRemoteSegment(rs, &rmap, 0, SIZE, NULL, SCI_FLAG_BROADCAST, &e);
        CHECK(e == SCI_ERR_NOT_SUPPORTED);   /* no CPU pointer reaches every member */
        SCIMapRemoteSegment(rs, &rmap, 0, SIZE, NULL, SCI_FLAG_BROADCAST | SCI_FLAG_OSCI_TRANSFER_MAP, &e);
        wr = NULL;
    } else {
        wr = SCIMapRemoteSegment(rs, &rmap, 0, SIZE, NULL, SCI_FLAG_BROADCAST, &e);
    }
    CHECK(e == SCI_ERR_OK);
    COK(SCICreateMapSequence(rmap, &seq, 0, &e_));
    CHECK(tproc_send_u32(wfd, node) == 0);
    for (;;) {
        uint32_t cmd, a, b, ans = 0;
        CHECK(tproc_recv_u32(rfd, &cmd, 20000) == 0 && tproc_recv_u32(rfd, &a, 1000) == 0 && tproc_recv_u32(rfd, &b, 1000) == 0);
        if (cmd == CMD_WRITE && put_mode) {           /* answer: 1 when a member loss made it retry */
            SCIMemCpy(seq, &b, rmap, a * sizeof(uint32_t), sizeof(b), SCI_FLAG_ERROR_CHECK, &e);
            if (e == SCI_ERR_TRANSFER_FAILED) {
                CHECK(SCIStartSequence(seq, 0, &e) == SCI_SEQ_OK);
                SCIMemCpy(seq, &b, rmap, a * sizeof(uint32_t), sizeof(b), SCI_FLAG_ERROR_CHECK, &e);
                ans = 1;
            }
            CHECK(e == SCI_ERR_OK);
        } else if (cmd == CMD_WRITE) {
            wr[a] = b;
            SCIFlush(seq, SCI_FLAG_FLUSH_CPU_BUFFERS_ONLY);
        } else if (cmd == CMD_READ_WAIT) {           /* 1 when slot a holds b within 5 s */
            uint64_t end = osci_now_ms() + 5000;
            while (rd[a] != b && osci_now_ms() < end)
                usleep(100);
            ans = rd[a] == b;
        } else if (cmd == CMD_WAIT_EVENT) {          /* 1 when event a from node b arrives within 5 s */
            uint64_t end = osci_now_ms() + 5000;
            while (!ans && osci_now_ms() < end) {
                unsigned int src = 0, ad = 0;
                sci_segment_cb_reason_t r = SCIWaitForLocalSegmentEvent(ls, &src, &ad, 200, 0, &e);
                if (e == SCI_ERR_OK && r == (sci_segment_cb_reason_t)a && src == b)
                    ans = 1;
            }
        } else if (cmd == CMD_QUIT) {
            break;
        }
        CHECK(tproc_send_u32(wfd, ans) == 0);
    }
    /* Dolphin's closeout order: the local segment goes while the broadcast map still exists. */
    COK(SCIRemoveSequence(seq, 0, &e_));
    COK(SCIUnmapSegment(lmap, 0, &e_));
    COK(SCIRemoveSegment(ls, 0, &e_));
    COK(SCIUnmapSegment(rmap, 0, &e_));
    COK(SCIDisconnectSegment(rs, 0, &e_));
    child_fini(sd);
    CHECK(tproc_send_u32(wfd, 0) == 0);
    return 0;
}

static uint32_t cmd(struct tproc *p, uint32_t c, uint32_t a, uint32_t b)
{
    assert_int_equal(tproc_send_u32(p->wr, c), 0);
    assert_int_equal(tproc_send_u32(p->wr, a), 0);
    assert_int_equal(tproc_send_u32(p->wr, b), 0);
    return precv(p);
}

static void quit(struct tproc *p)
{
    assert_int_equal(cmd(p, CMD_QUIT, 0, 0), 0);
    assert_int_equal(tproc_end(p, 10000), 0);
}

static void test_store_reaches_every_member(void **state)
{
    struct tproc p[3];
    (void)state;

    for (int i = 0; i < 3; i++) {
        assert_int_equal(tproc_start(&p[i], member, NULL), 0);
        precv(&p[i]);
    }
    for (uint32_t v = 1; v <= 20; v++)
        for (int w = 0; w < 3; w++) {
            assert_int_equal(cmd(&p[w], CMD_WRITE, (uint32_t)w, v * 10 + (uint32_t)w), 0);
            for (int r = 0; r < 3; r++)
                assert_int_equal(cmd(&p[r], CMD_READ_WAIT, (uint32_t)w, v * 10 + (uint32_t)w), 1);
        }
    for (int i = 0; i < 3; i++)
        quit(&p[i]);
}

static void test_join_leave_and_loss(void **state)
{
    struct tproc a, b, c;
    uint32_t nb, nc;
    (void)state;

    assert_int_equal(tproc_start(&a, member, NULL), 0);
    precv(&a);
    assert_int_equal(tproc_start(&b, member, NULL), 0);
    nb = precv(&b);
    assert_int_equal(cmd(&a, CMD_WAIT_EVENT, SCI_CB_CONNECT, nb), 1);
    assert_int_equal(cmd(&a, CMD_WRITE, 7, 0x1234), 0);
    /* a late joiner sees what was stored before it joined (one shared memory on simntb) and new stores */
    assert_int_equal(tproc_start(&c, member, NULL), 0);
    nc = precv(&c);
    assert_int_equal(cmd(&a, CMD_WAIT_EVENT, SCI_CB_CONNECT, nc), 1);
    assert_int_equal(cmd(&b, CMD_WAIT_EVENT, SCI_CB_CONNECT, nc), 1);
    assert_int_equal(cmd(&c, CMD_READ_WAIT, 7, 0x1234), 1);
    assert_int_equal(cmd(&c, CMD_WRITE, 8, 0x5678), 0);
    assert_int_equal(cmd(&a, CMD_READ_WAIT, 8, 0x5678), 1);
    /* a member that leaves is reported as a disconnect ... */
    quit(&c);
    assert_int_equal(cmd(&a, CMD_WAIT_EVENT, SCI_CB_DISCONNECT, nc), 1);
    assert_int_equal(cmd(&b, CMD_WAIT_EVENT, SCI_CB_DISCONNECT, nc), 1);
    /* ... one that dies as lost, and the group goes on */
    kill(b.pid, SIGKILL);
    assert_int_equal(tproc_end(&b, 5000), 128 + SIGKILL);
    assert_int_equal(cmd(&a, CMD_WAIT_EVENT, SCI_CB_LOST, nb), 1);
    assert_int_equal(cmd(&a, CMD_WRITE, 9, 99), 0);
    assert_int_equal(cmd(&a, CMD_READ_WAIT, 9, 99), 1);
    quit(&a);
}

/* A second member with another size, and the flag / node id checks, in one child. */
static int child_errors(int rfd, int wfd, void *arg)
{
    static const unsigned int not_with_broadcast[] = { SCI_FLAG_PRIVATE, SCI_FLAG_AUTO_ID, SCI_FLAG_EMPTY };
    sci_local_segment_t ls, ls2, plain;
    sci_remote_segment_t rs;
    unsigned int node;
    sci_error_t e;
    sci_desc_t sd = child_init(&node);
    uint32_t go;
    (void)rfd;

    for (unsigned int k = 0; k < sizeof(not_with_broadcast) / sizeof(not_with_broadcast[0]); k++)
        CERR(SCI_ERR_ILLEGAL_FLAG, SCICreateSegment(sd, &ls, GROUP + 1, SIZE, NULL, NULL,
                                                    SCI_FLAG_BROADCAST | not_with_broadcast[k], &e_));
    /* no member yet: what SISCI programs retry on */
    SCIConnectSegment(sd, &rs, DIS_BROADCAST_NODEID_GROUP_ALL, GROUP + 1, 0, NULL, NULL, 300,
                      SCI_FLAG_BROADCAST, &e);
    CHECK(e == SCI_ERR_NO_SUCH_SEGMENT);
    COK(SCICreateSegment(sd, &ls, GROUP + 1, SIZE, NULL, NULL, SCI_FLAG_BROADCAST, &e_));
    CERR(SCI_ERR_SEGMENTID_USED, SCICreateSegment(sd, &ls2, GROUP + 1, SIZE, NULL, NULL, SCI_FLAG_BROADCAST, &e_));
    COK(SCICreateSegment(sd, &plain, GROUP + 2, SIZE, NULL, NULL, 0, &e_));
    SCIPrepareSegment(plain, 0, SCI_FLAG_BROADCAST, &e);     /* BROADCAST prepare of a plain segment */
    CHECK(e == SCI_ERR_ILLEGAL_FLAG);
    COK(SCIPrepareSegment(plain, 0, 0, &e_));
    COK(SCISetSegmentAvailable(plain, 0, 0, &e_));
    SCIPrepareSegment(ls, 0, 0, &e);                         /* the flag is optional at prepare */
    CHECK(e == SCI_ERR_OK);
    COK(SCISetSegmentAvailable(ls, 0, 0, &e_));
    /* BROADCAST needs the broadcast node id, and a plain segment is no group */
    CERR(SCI_ERR_ILLEGAL_NODEID,
         SCIConnectSegment(sd, &rs, node, GROUP + 1, 0, NULL, NULL, 1000, SCI_FLAG_BROADCAST, &e_));
    SCIConnectSegment(sd, &rs, DIS_BROADCAST_NODEID_GROUP_ALL, GROUP + 2, 0, NULL, NULL, 300,
                      SCI_FLAG_BROADCAST, &e);
    CHECK(e == SCI_ERR_NO_SUCH_SEGMENT);
    SCIConnectSegment(sd, &rs, DIS_BROADCAST_NODEID_GROUP_ALL, GROUP + 1, 0, NULL, NULL, 1000,
                      SCI_FLAG_BROADCAST | SCI_FLAG_ASYNCHRONOUS_CONNECT, &e);
    CHECK(e == SCI_ERR_ILLEGAL_FLAG);
    SCIConnectSegment(sd, &rs, DIS_BROADCAST_NODEID_GROUP_ALL, GROUP + 1, 0, NULL, NULL, 1000,
                      SCI_FLAG_BROADCAST, &e);
    CHECK(e == SCI_ERR_OK);
    CHECK(SCIGetRemoteSegmentNodeId(rs) == DIS_BROADCAST_NODEID_GROUP_ALL);
    {   /* DMA does not reach a group */
        sci_dma_queue_t q;
        COK(SCICreateDMAQueue(sd, &q, 0, 4, 0, &e_));
        CERR(SCI_ERR_NOT_SUPPORTED, SCIStartDmaTransfer(q, plain, rs, 0, 4096, 0, NULL, NULL, 0, &e_));
        COK(SCIRemoveDMAQueue(q, 0, &e_));
    }
    COK(SCIDisconnectSegment(rs, 0, &e_));
    CHECK(tproc_send_u32(wfd, node) == 0);
    CHECK(tproc_recv_u32(rfd, &go, 10000) == 0);
    COK(SCIRemoveSegment(ls, 0, &e_));
    COK(SCIRemoveSegment(plain, 0, &e_));
    child_fini(sd);
    return 0;
}

static void test_errors(void **state)
{
    struct tproc p;
    sci_local_segment_t ls;
    sci_desc_t sd;
    (void)state;

    assert_int_equal(tproc_start(&p, child_errors, NULL), 0);
    precv(&p);
    sd = parent_init();
    /* the group exists with SIZE bytes: another size is refused */
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCICreateSegment(sd, &ls, GROUP + 1, SIZE * 2, NULL, NULL, SCI_FLAG_BROADCAST, &e_));
    OK(SCICreateSegment(sd, &ls, GROUP + 1, SIZE, NULL, NULL, SCI_FLAG_BROADCAST, &e_));
    OK(SCIRemoveSegment(ls, 0, &e_));
    parent_fini(sd);
    assert_int_equal(tproc_send_u32(p.wr, 1), 0);
    assert_int_equal(tproc_end(&p, 10000), 0);
}

/* The same group written by one put per member (simntb multicast=0, as rdma does it): every member's
 * copy gets every store; a late joiner gets the stores made after it joined; a dead member is lost. */
static void test_per_member_puts(void **state)
{
    char conf[] = "/tmp/osci-bcast-conf-XXXXXX";
    const char *text = "adapter 0 simntb multicast=0\n";
    struct tproc p[3];
    uint32_t n2;
    int fd = mkstemp(conf);
    (void)state;

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    setenv("OSCI_CONF", conf, 1);
    put_mode = 1;
    assert_int_equal(tproc_start(&p[0], member, NULL), 0);
    precv(&p[0]);
    assert_int_equal(tproc_start(&p[1], member, NULL), 0);
    precv(&p[1]);
    assert_int_equal(cmd(&p[1], CMD_WRITE, 1, 0xaa), 0);
    assert_int_equal(cmd(&p[0], CMD_READ_WAIT, 1, 0xaa), 1);
    assert_int_equal(tproc_start(&p[2], member, NULL), 0);
    n2 = precv(&p[2]);
    assert_int_equal(cmd(&p[0], CMD_WAIT_EVENT, SCI_CB_CONNECT, n2), 1);
    assert_int_equal(cmd(&p[1], CMD_WAIT_EVENT, SCI_CB_CONNECT, n2), 1);
    assert_int_equal(cmd(&p[2], CMD_READ_WAIT, 1, 0), 1);     /* its own copy: before its time */
    for (uint32_t v = 1; v <= 20; v++)
        for (int w = 0; w < 3; w++) {
            assert_int_equal(cmd(&p[w], CMD_WRITE, 16 + (uint32_t)w, v * 10 + (uint32_t)w), 0);
            for (int r = 0; r < 3; r++)
                assert_int_equal(cmd(&p[r], CMD_READ_WAIT, 16 + (uint32_t)w, v * 10 + (uint32_t)w), 1);
        }
    kill(p[2].pid, SIGKILL);
    assert_int_equal(tproc_end(&p[2], 5000), 128 + SIGKILL);
    assert_int_equal(cmd(&p[0], CMD_WAIT_EVENT, SCI_CB_LOST, n2), 1);
    assert_int_equal(cmd(&p[1], CMD_WAIT_EVENT, SCI_CB_LOST, n2), 1);
    /* the loss shows once in the writers' sequences (the store may have missed the dead member) */
    assert_int_equal(cmd(&p[0], CMD_WRITE, 2, 0xbb), 1);
    assert_int_equal(cmd(&p[0], CMD_WRITE, 3, 0xcc), 0);
    assert_int_equal(cmd(&p[1], CMD_READ_WAIT, 2, 0xbb), 1);
    assert_int_equal(cmd(&p[1], CMD_READ_WAIT, 3, 0xcc), 1);
    quit(&p[0]);
    quit(&p[1]);
    put_mode = 0;
    unsetenv("OSCI_CONF");
    unlink(conf);
}

/* A group whose every member was SIGKILLed leaves its multicast window; the next node to join reclaims it. */
static void test_dead_group_reclaimed(void **state)
{
    char path[256];
    struct tproc a, b;
    sci_desc_t sd;
    (void)state;

    snprintf(path, sizeof(path), "/dev/shm/osci.%s.mc%x", getenv("OSCI_FABRIC"), GROUP);
    assert_int_equal(tproc_start(&a, member, NULL), 0);
    precv(&a);
    assert_int_equal(tproc_start(&b, member, NULL), 0);
    precv(&b);
    assert_int_equal(access(path, F_OK), 0);
    kill(a.pid, SIGKILL);
    kill(b.pid, SIGKILL);
    assert_int_equal(tproc_end(&a, 5000), 128 + SIGKILL);
    assert_int_equal(tproc_end(&b, 5000), 128 + SIGKILL);
    assert_int_equal(access(path, F_OK), 0);
    sd = parent_init();
    assert_int_equal(access(path, F_OK), -1);
    parent_fini(sd);
}

OSCI_TEST_MAIN("bcast", NULL, NULL,
               cmocka_unit_test(test_store_reaches_every_member),
               cmocka_unit_test(test_join_leave_and_loss),
               cmocka_unit_test(test_errors),
               cmocka_unit_test(test_per_member_puts),
               cmocka_unit_test(test_dead_group_reclaimed))
