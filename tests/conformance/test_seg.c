/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * SISCI conformance (docs/testing.md): the documented flows of the public SISCI API on the driver adapter 0
 * of OSCI_CONF names (simntb when unset). Side A owns, side B connects (tests/common/osci_conform.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sisci_api.h"
#include "../common/osci_conform.h"

#define SEG_ID   7100u
#define SEG_SIZE (128u << 10)
#define XFER     (32u << 10)
#define ROUNDS   20

#define OK(call) do { sci_error_t e_ = SCI_ERR_SYSTEM; call; if (e_ != SCI_ERR_OK) { \
        fprintf(stderr, "child %d: %s:%d: %s: %s\n", (int)getpid(), __FILE__, __LINE__, #call, SCIGetErrorString(e_)); \
        fflush(NULL); _exit(100 + __LINE__ % 100); } } while (0)

static uint8_t pat(uint32_t seed, size_t i) { return (uint8_t)(((uint32_t)i * 2654435761u + seed * 40503u) >> 13); }
static void fill(volatile uint8_t *p, size_t len, uint32_t seed, size_t base)
{
    for (size_t i = 0; i < len; i++)
        p[i] = pat(seed, base + i);
}
static int same(const volatile uint8_t *p, size_t len, uint32_t seed, size_t base)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] != pat(seed, base + i))
            return 0;
    return 1;
}

static sci_desc_t side_open(struct conform_side *s, unsigned int *node, unsigned int *peer)
{
    sci_desc_t sd;
    OK(SCIInitialize(0, &e_));
    OK(SCIOpen(&sd, 0, &e_));
    OK(SCIGetLocalNodeId(0, node, 0, &e_));
    conform_send(s, *node);
    *peer = conform_recv(s);
    CHECK(*peer != 0 && *peer != *node);
    return sd;
}

static void side_close(sci_desc_t sd)
{
    OK(SCIClose(sd, 0, &e_));
    SCITerminate();
}

/* Connects, retrying while the segment or its node is not there yet. */
static sci_remote_segment_t connect_retry(sci_desc_t sd, unsigned int node, unsigned int id)
{
    sci_remote_segment_t rs;
    sci_error_t e = SCI_ERR_SYSTEM;
    int ms = conform_timeout_ms();
    for (int i = 0; i < ms / 20; i++) {
        SCIConnectSegment(sd, &rs, node, id, 0, NULL, NULL, SCI_INFINITE_TIMEOUT, 0, &e);
        if (e != SCI_ERR_NO_SUCH_SEGMENT && e != SCI_ERR_NO_SUCH_NODEID && e != SCI_ERR_NO_LINK_ACCESS &&
            e != SCI_ERR_CONNECTION_REFUSED && e != SCI_ERR_TIMEOUT)
            break;
        usleep(20000);
    }
    if (e != SCI_ERR_OK)
        fprintf(stderr, "connect to %u/%u: %s\n", node, id, SCIGetErrorString(e));
    CHECK(e == SCI_ERR_OK);
    return rs;
}

static void remove_retry(sci_local_segment_t ls)
{
    sci_error_t e = SCI_ERR_SYSTEM;
    for (int i = 0; i < conform_timeout_ms() / 10; i++) {
        SCIRemoveSegment(ls, 0, &e);
        if (e != SCI_ERR_BUSY)
            break;
        usleep(10000);
    }
    CHECK(e == SCI_ERR_OK);
}

/* ---- create / prepare / set available / connect / map / memcpy / remove, in both start orders ---- */
enum { OWNER_FIRST, PEER_FIRST };

static int flow_a(struct conform_side *s, void *arg)
{
    unsigned int node, peer, src = 0, ad = 0;
    sci_local_segment_t ls;
    sci_map_t lm;
    volatile uint8_t *p;
    sci_desc_t sd = side_open(s, &node, &peer);

    if ((intptr_t)arg == PEER_FIRST) {
        CHECK(conform_recv(s) == 1);      /* B is already connecting */
        usleep(200000);
    }
    OK(SCICreateSegment(sd, &ls, SEG_ID, SEG_SIZE, NULL, NULL, 0, &e_));
    CHECK(SCIGetLocalSegmentSize(ls) == SEG_SIZE && SCIGetLocalSegmentId(ls) == SEG_ID);
    OK(p = SCIMapLocalSegment(ls, &lm, 0, SEG_SIZE, NULL, 0, &e_));
    fill(p, SEG_SIZE, 1, 0);
    OK(SCIPrepareSegment(ls, 0, 0, &e_));
    OK(SCISetSegmentAvailable(ls, 0, 0, &e_));
    if ((intptr_t)arg == OWNER_FIRST)
        conform_send(s, 1);
    /* the owner hears of the connection */
    sci_segment_cb_reason_t r;
    OK(r = SCIWaitForLocalSegmentEvent(ls, &src, &ad, (unsigned int)conform_timeout_ms(), 0, &e_));
    CHECK(r == SCI_CB_CONNECT && src == peer);
    /* B's writes: SCIMemCpy at XFER, its own stores (when it maps) at 2 * XFER */
    uint32_t mapped = conform_recv(s);
    CHECK(same(p + XFER, XFER, 2, XFER));
    if (mapped)
        CHECK(same(p + 2 * XFER, XFER, 3, 2 * XFER));
    conform_send(s, 1);
    CHECK(conform_recv(s) == 2);          /* B disconnected */
    OK(SCIUnmapSegment(lm, 0, &e_));
    remove_retry(ls);
    side_close(sd);
    return 0;
}

static int flow_b(struct conform_side *s, void *arg)
{
    unsigned int node, peer;
    sci_remote_segment_t rs;
    sci_map_t rm;
    sci_sequence_t seq;
    sci_error_t e;
    volatile uint8_t *rp;
    static uint8_t buf[XFER];
    uint32_t mapped;
    sci_desc_t sd = side_open(s, &node, &peer);

    if ((intptr_t)arg == PEER_FIRST)
        conform_send(s, 1);
    else
        CHECK(conform_recv(s) == 1);
    rs = connect_retry(sd, peer, SEG_ID);
    CHECK(SCIGetRemoteSegmentSize(rs) == SEG_SIZE && SCIGetRemoteSegmentId(rs) == SEG_ID &&
          SCIGetRemoteSegmentNodeId(rs) == peer);
    /* a load/store map where the driver maps remote memory; NOT_SUPPORTED elsewhere, then a transfer map */
    rp = SCIMapRemoteSegment(rs, &rm, 0, SEG_SIZE, NULL, 0, &e);
    mapped = e == SCI_ERR_OK;
    if (!mapped) {
        CHECK(e == SCI_ERR_NOT_SUPPORTED && rp == NULL);
        OK(rp = SCIMapRemoteSegment(rs, &rm, 0, SEG_SIZE, NULL, SCI_FLAG_OSCI_TRANSFER_MAP, &e_));
        CHECK(rp == NULL && SCIGetMapPointer(rm) == NULL);
    } else {
        CHECK(rp != NULL && same(rp, SEG_SIZE, 1, 0));
    }
    OK(SCICreateMapSequence(rm, &seq, 0, &e_));
    CHECK(SCIStartSequence(seq, 0, &e) == SCI_SEQ_OK);
    OK(SCIMemCpy(seq, buf, rm, 0, XFER, SCI_FLAG_BLOCK_READ, &e_));
    CHECK(same(buf, XFER, 1, 0));
    fill(buf, XFER, 2, XFER);
    OK(SCIMemCpy(seq, buf, rm, XFER, XFER, SCI_FLAG_ERROR_CHECK, &e_));
    if (mapped) {
        fill(rp + 2 * XFER, XFER, 3, 2 * XFER);
        SCIFlush(seq, 0);
    }
    CHECK(SCICheckSequence(seq, 0, &e) == SCI_SEQ_OK);
    /* out of range is refused, nothing written */
    SCIMemCpy(seq, buf, rm, SEG_SIZE - 16, 32, 0, &e);
    CHECK(e == SCI_ERR_OUT_OF_RANGE);
    conform_send(s, mapped);
    CHECK(conform_recv(s) == 1);
    OK(SCIRemoveSequence(seq, 0, &e_));
    OK(SCIUnmapSegment(rm, 0, &e_));
    OK(SCIDisconnectSegment(rs, 0, &e_));
    conform_send(s, 2);
    side_close(sd);
    return 0;
}

/* ---- interrupts: ping-pong, each side waiting for the other's trigger ---- */
static int intr_side(struct conform_side *s, void *arg)
{
    unsigned int node, peer, no = 41 + (unsigned int)s->b, pno;
    sci_local_interrupt_t li;
    sci_remote_interrupt_t ri;
    sci_error_t e = SCI_ERR_SYSTEM;
    sci_desc_t sd = side_open(s, &node, &peer);

    OK(SCICreateInterrupt(sd, &li, 0, &no, NULL, NULL, SCI_FLAG_FIXED_INTNO, &e_));
    conform_send(s, no);
    pno = conform_recv(s);
    for (int i = 0; i < conform_timeout_ms() / 20; i++) {
        SCIConnectInterrupt(sd, &ri, peer, 0, pno, SCI_INFINITE_TIMEOUT, 0, &e);
        if (e != SCI_ERR_NO_SUCH_INTNO && e != SCI_ERR_NO_SUCH_NODEID && e != SCI_ERR_NO_LINK_ACCESS)
            break;
        usleep(20000);
    }
    CHECK(e == SCI_ERR_OK);
    conform_sync(s, 1);
    for (int k = 0; k < ROUNDS; k++) {
        if (s->b)
            OK(SCIWaitForInterrupt(li, (unsigned int)conform_timeout_ms(), 0, &e_));
        OK(SCITriggerInterrupt(ri, 0, &e_));
        if (!s->b)
            OK(SCIWaitForInterrupt(li, (unsigned int)conform_timeout_ms(), 0, &e_));
    }
    /* nothing more was triggered: the next wait times out */
    SCIWaitForInterrupt(li, 100, 0, &e);
    CHECK(e == SCI_ERR_TIMEOUT);
    conform_sync(s, 2);
    OK(SCIDisconnectInterrupt(ri, 0, &e_));
    conform_sync(s, 3);
    OK(SCIRemoveInterrupt(li, 0, &e_));
    side_close(sd);
    return 0;
}

/* ---- the owner removes a connected segment: the remote sees DISCONNECT ---- */
static int rm_a(struct conform_side *s, void *arg)
{
    unsigned int node, peer;
    sci_local_segment_t ls;
    sci_desc_t sd = side_open(s, &node, &peer);

    OK(SCICreateSegment(sd, &ls, SEG_ID + 1, SEG_SIZE, NULL, NULL, 0, &e_));
    OK(SCIPrepareSegment(ls, 0, 0, &e_));
    OK(SCISetSegmentAvailable(ls, 0, 0, &e_));
    conform_send(s, 1);
    CHECK(conform_recv(s) == 2);          /* connected */
    OK(SCIRemoveSegment(ls, 0, &e_));     /* remotes do not keep it (docs/sisci-compat.md) */
    CHECK(conform_recv(s) == 3);
    side_close(sd);
    return 0;
}

/* ---- the owner's process is SIGKILLed: the remote sees LOST ---- */
static int kill_a(struct conform_side *s, void *arg)
{
    pid_t pid;
    int p[2];
    char c = 0;

    CHECK(pipe(p) == 0);
    pid = tproc_fork();
    CHECK(pid >= 0);
    if (pid == 0) {                       /* the owner that dies: never removes, never closes */
        unsigned int node, peer;
        sci_local_segment_t ls;
        close(p[0]);
        sci_desc_t sd = side_open(s, &node, &peer);
        OK(SCICreateSegment(sd, &ls, SEG_ID + 2, SEG_SIZE, NULL, NULL, 0, &e_));
        OK(SCIPrepareSegment(ls, 0, 0, &e_));
        OK(SCISetSegmentAvailable(ls, 0, 0, &e_));
        CHECK(write(p[1], "o", 1) == 1);
        for (;;)
            pause();
    }
    close(p[1]);
    struct pollfd pf = { .fd = p[0], .events = POLLIN };
    CHECK(poll(&pf, 1, conform_timeout_ms()) == 1 && read(p[0], &c, 1) == 1);
    conform_send(s, 1);
    CHECK(conform_recv(s) == 2);          /* B is connected */
    kill(pid, SIGKILL);
    CHECK(tproc_reap(pid, 5000) != -1);
    conform_send(s, 3);
    CHECK(conform_recv(s) == 4);
    return 0;
}

/* B of both: connects, then sees the end its owner chose (arg END_REMOVE or END_KILL). */
enum { END_REMOVE = 1, END_KILL };

static int end_b(struct conform_side *s, void *arg)
{
    int killed = (intptr_t)arg == END_KILL;
    unsigned int node, peer;
    sci_remote_segment_t rs;
    sci_error_t st;
    sci_segment_cb_reason_t r;
    sci_desc_t sd = side_open(s, &node, &peer);

    CHECK(conform_recv(s) == 1);
    rs = connect_retry(sd, peer, SEG_ID + (killed ? 2 : 1));
    conform_send(s, 2);
    if (killed)
        CHECK(conform_recv(s) == 3);
    /* removed: DISCONNECT; killed: LOST (liveness by the driver or by heartbeats), maybe after
     * NOT_OPERATIONAL, within the timeout */
    do
        OK(r = SCIWaitForRemoteSegmentEvent(rs, &st, (unsigned int)conform_timeout_ms(), 0, &e_));
    while (r == SCI_CB_CONNECT || r == SCI_CB_OPERATIONAL || (killed && r == SCI_CB_NOT_OPERATIONAL));
    CHECK(killed ? r == SCI_CB_LOST || r == SCI_CB_DISCONNECT : r == SCI_CB_DISCONNECT);
    OK(SCIDisconnectSegment(rs, 0, &e_));
    conform_send(s, killed ? 4 : 3);
    side_close(sd);
    return 0;
}

CONFORM_MAIN("seg",
             CONFORM_CASE("seg_flow_owner_first", flow_a, flow_b, (void *)(intptr_t)OWNER_FIRST),
             CONFORM_CASE("seg_flow_peer_first", flow_a, flow_b, (void *)(intptr_t)PEER_FIRST),
             CONFORM_CASE("seg_interrupts", intr_side, intr_side, NULL),
             CONFORM_CASE("seg_remove_connected", rm_a, end_b, (void *)(intptr_t)END_REMOVE),
             CONFORM_CASE("seg_owner_killed", kill_a, end_b, (void *)(intptr_t)END_KILL))
