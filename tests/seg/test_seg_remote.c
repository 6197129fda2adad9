/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Two- and three-node segment tests on simntb, each node a process: connect, data through remote maps
 * and SCIMemCpy, transfer maps, disconnect, SetSegmentUnavailable with no flag / NOTIFY / FORCE_DISCONNECT seen from
 * the remote, callbacks (CONTINUE/CANCEL) versus queued events, loopback to this node's own segment,
 * and the remote state machine on a bare object. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../common/osci_test.h"
#include "seg_obj.h"
#include "seg_peer.h"
#include "seg_state.h"

#define SEGSZ (64 * 1024)
#define T_MS 10000

enum { CMD_GO = 1, CMD_NOTIFY, CMD_FORCE, CMD_REMOVE, CMD_CHECK, CMD_QUIT, CMD_UNAVAIL };

/* ---------------------------------------------------------------- owner processes */

struct owner_args {
    uint32_t id;
    unsigned int expect_conns;   /* CONNECT events to wait for */
};

/* Creates segment `id`, fills the first half with a pattern, reports its node id, then serves
 * commands: CMD_CHECK verifies the second half (written by remotes), NOTIFY/FORCE/UNAVAIL set it
 * unavailable, CMD_REMOVE removes it (reporting the error), CMD_QUIT ends. Events are reported
 * back as they come (reason, node). */
static int owner_main(int rd, int wr, void *arg)
{
    struct owner_args *oa = arg;
    sci_error_t e;
    sci_desc_t sd;
    sci_local_segment_t ls;
    sci_map_t m;
    volatile uint8_t *p;
    uint32_t cmd, node;
    unsigned int n_conn = 0;

    sd = child_open();
    SCICreateSegment(sd, &ls, oa->id, SEGSZ, NULL, NULL, 0, &e); CHECK(e == SCI_ERR_OK);
    p = SCIMapLocalSegment(ls, &m, 0, SEGSZ, NULL, 0, &e); CHECK(e == SCI_ERR_OK);
    for (int i = 0; i < SEGSZ / 2; i++)
        p[i] = (uint8_t)(i * 13 + 1);
    SCIPrepareSegment(ls, 0, 0, &e); CHECK(e == SCI_ERR_OK);
    SCISetSegmentAvailable(ls, 0, 0, &e); CHECK(e == SCI_ERR_OK);
    CHECK(tproc_send_u32(wr, my_node()) == 0);
    while (n_conn < oa->expect_conns) {
        unsigned int src = 0, ad = 9;
        sci_segment_cb_reason_t r = SCIWaitForLocalSegmentEvent(ls, &src, &ad, T_MS, 0, &e);
        CHECK(e == SCI_ERR_OK);
        CHECK(r == SCI_CB_CONNECT && ad == 0 && src != 0);
        CHECK(tproc_send_u32(wr, src) == 0);
        n_conn++;
    }
    for (;;) {
        if (tproc_recv_u32(rd, &cmd, 20000) < 0)
            return 3;
        switch (cmd) {
        case CMD_CHECK:
            for (int i = SEGSZ / 2; i < SEGSZ; i++)
                CHECK(p[i] == (uint8_t)(i * 31 + 7));
            CHECK(tproc_send_u32(wr, 0) == 0);
            break;
        case CMD_UNAVAIL:
        case CMD_NOTIFY:
        case CMD_FORCE:
            SCISetSegmentUnavailable(ls, 0, cmd == CMD_UNAVAIL ? 0 : cmd == CMD_NOTIFY ? SCI_FLAG_NOTIFY :
                                     SCI_FLAG_NOTIFY | SCI_FLAG_FORCE_DISCONNECT, &e);
            CHECK(e == SCI_ERR_OK);
            CHECK(tproc_send_u32(wr, 0) == 0);
            break;
        case CMD_REMOVE:
            SCIRemoveSegment(ls, 0, &e);   /* still mapped: BUSY */
            CHECK(e == SCI_ERR_BUSY);
            COK(SCIUnmapSegment(m, 0, &e_));
            SCIRemoveSegment(ls, 0, &e);
            if (e == SCI_ERR_OK)
                ls = NULL;
            else
                p = SCIMapLocalSegment(ls, &m, 0, SEGSZ, NULL, 0, &e);
            CHECK(tproc_send_u32(wr, ls ? 1 : 0) == 0);
            if (!ls)
                goto out;
            break;
        case CMD_GO: {     /* wait for one event and report it */
            unsigned int src = 0, ad = 0;
            sci_segment_cb_reason_t r = SCIWaitForLocalSegmentEvent(ls, &src, &ad, T_MS, 0, &e);
            node = e == SCI_ERR_OK ? (uint32_t)r << 16 | src : 0;
            CHECK(tproc_send_u32(wr, node) == 0);
            break;
        }
        case CMD_QUIT:
            goto out;
        default:
            return 4;
        }
    }
out:
    if (ls) {
        SCIUnmapSegment(m, 0, &e);
        COK(SCIRemoveSegment(ls, 0, &e_));
    }
    COK(SCIClose(sd, 0, &e_));
    SCITerminate();
    return 0;
}

static uint32_t owner_cmd(struct tproc *o, uint32_t cmd)
{
    uint32_t v = 0xdead;
    assert_int_equal(tproc_send_u32(o->wr, cmd), 0);
    assert_int_equal(tproc_recv_u32(o->rd, &v, T_MS), 0);
    return v;
}

/* A connection to an owner_main child that waits for one CONNECT. */
struct rconn {
    struct owner_args oa;
    struct tproc o;
    uint32_t onode;
    sci_desc_t sd;
    sci_remote_segment_t rs;
};

/* Starts the owner of segment id, initialises the library and connects to it (cb, arg and flags as
 * SCIConnectSegment takes them); the owner reports our CONNECT. */
static void owner_up(struct rconn *c, uint32_t id, sci_cb_remote_segment_t cb, void *arg, unsigned int flags)
{
    uint32_t src;

    c->oa = (struct owner_args){ .id = id, .expect_conns = 1 };
    assert_int_equal(tproc_start(&c->o, owner_main, &c->oa), 0);
    assert_int_equal(tproc_recv_u32(c->o.rd, &c->onode, T_MS), 0);
    c->sd = parent_init();
    assert_int_equal(connect_retry_cb(c->sd, &c->rs, c->onode, id, cb, arg, flags), SCI_ERR_OK);
    assert_int_equal(tproc_recv_u32(c->o.rd, &src, T_MS), 0);
    assert_int_equal(src, my_node());                 /* the owner saw CB_CONNECT from this node */
}

/* After our disconnect: the owner sees CB_DISCONNECT, removes and exits; the library closes. */
static void owner_down(struct rconn *c)
{
    assert_int_equal(owner_cmd(&c->o, CMD_GO), (uint32_t)SCI_CB_DISCONNECT << 16 | my_node());
    assert_int_equal(owner_cmd(&c->o, CMD_REMOVE), 0);
    assert_int_equal(tproc_wait(&c->o, T_MS), 0);
    parent_fini(c->sd);
}

/* ---------------------------------------------------------------- tests */

static void test_connect_map_data(void **state)
{
    struct rconn c;
    sci_map_t m, mro;
    sci_sequence_t seq;
    sci_error_t e, st;
    uint8_t buf[256];

    owner_up(&c, 100, NULL, NULL, 0);
    assert_int_equal(SCIGetRemoteSegmentSize(c.rs), SEGSZ);
    assert_int_equal(SCIGetRemoteSegmentId(c.rs), 100);
    assert_int_equal(SCIGetRemoteSegmentNodeId(c.rs), c.onode);
    assert_int_equal(rstate(c.rs), RSEG_OPERATIONAL);
    /* the connect edge is reported as SCI_CB_CONNECT */
    assert_int_equal(SCIWaitForRemoteSegmentEvent(c.rs, &st, 1000, 0, &e), SCI_CB_CONNECT);
    assert_int_equal(e, SCI_ERR_OK);
    ERR(SCI_ERR_TIMEOUT, SCIWaitForRemoteSegmentEvent(c.rs, &st, 20, 0, &e_));

    volatile uint8_t *p = SCIMapRemoteSegment(c.rs, &m, 0, SEGSZ, NULL, 0, &e);
    assert_int_equal(e, SCI_ERR_OK);
    for (int i = 0; i < SEGSZ / 2; i++)
        assert_int_equal(p[i], (uint8_t)(i * 13 + 1));
    for (int i = SEGSZ / 2; i < SEGSZ - 256; i++)
        p[i] = (uint8_t)(i * 31 + 7);
    /* the last 256 bytes through SCIMemCpy, then read back with BLOCK_READ */
    for (int i = 0; i < 256; i++)
        buf[i] = (uint8_t)((SEGSZ - 256 + i) * 31 + 7);
    OK(SCICreateMapSequence(m, &seq, 0, &e_));
    assert_int_equal(SCIStartSequence(seq, 0, &e), SCI_SEQ_OK);
    OK(SCIMemCpy(seq, buf, m, SEGSZ - 256, 256, SCI_FLAG_ERROR_CHECK, &e_));
    assert_int_equal(SCICheckSequence(seq, 0, &e), SCI_SEQ_OK);
    memset(buf, 0, sizeof(buf));
    OK(SCIMemCpy(NULL, buf, m, 10, 100, SCI_FLAG_BLOCK_READ, &e_));
    for (int i = 0; i < 100; i++)
        assert_int_equal(buf[i], (uint8_t)((10 + i) * 13 + 1));
    assert_int_equal(owner_cmd(&c.o, CMD_CHECK), 0);

    /* an unaligned read-only map gives the exact address and cannot be written through MemCpy */
    volatile uint8_t *r = SCIMapRemoteSegment(c.rs, &mro, 4099, 50, NULL, SCI_FLAG_READONLY_MAP, &e);
    assert_int_equal(e, SCI_ERR_OK);
    assert_int_equal(r[0], (uint8_t)(4099 * 13 + 1));
    ERR(SCI_ERR_ACCESS, SCIMemCpy(NULL, buf, mro, 0, 8, 0, &e_));

    /* a transfer map has no CPU pointer; SCIMemCpy through it goes by the driver's put/get */
    sci_map_t mt;
    assert_null(SCIMapRemoteSegment(c.rs, &mt, SEGSZ / 2, 4096, NULL, SCI_FLAG_OSCI_TRANSFER_MAP, &e));
    assert_int_equal(e, SCI_ERR_OK);
    assert_null(SCIGetMapPointer(mt));
    for (int i = 0; i < 256; i++)
        buf[i] = (uint8_t)((SEGSZ / 2 + 1000 + i) * 31 + 7);
    OK(SCIMemCpy(NULL, buf, mt, 1000, 256, 0, &e_));
    assert_int_equal(p[SEGSZ / 2 + 1000 + 255], buf[255]);
    memset(buf, 0, sizeof(buf));
    OK(SCIMemCpy(NULL, buf, mt, 1000, 256, SCI_FLAG_BLOCK_READ, &e_));
    for (int i = 0; i < 256; i++)
        assert_int_equal(buf[i], (uint8_t)((SEGSZ / 2 + 1000 + i) * 31 + 7));
    ERR(SCI_ERR_OUT_OF_RANGE, SCIMemCpy(NULL, buf, mt, 4000, 256, 0, &e_));
    OK(SCIUnmapSegment(mt, 0, &e_));
    ERR(SCI_ERR_OUT_OF_RANGE, SCIMapRemoteSegment(c.rs, &m, SEGSZ - 4, 8, NULL, 0, &e_));
    ERR(SCI_ERR_SIZE_ALIGNMENT, SCIMapRemoteSegment(c.rs, &m, 0, 0, NULL, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_FLAG, SCIMapRemoteSegment(c.rs, &m, 0, 8, NULL, 0x100000, &e_));
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCIMapRemoteSegment(NULL, &m, 0, 8, NULL, 0, &e_));

    ERR(SCI_ERR_BUSY, SCIDisconnectSegment(c.rs, 0, &e_));
    OK(SCIRemoveSequence(seq, 0, &e_));
    OK(SCIUnmapSegment(m, 0, &e_));
    OK(SCIUnmapSegment(mro, 0, &e_));
    ERR(SCI_ERR_BUSY, SCIClose(c.sd, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_FLAG, SCIDisconnectSegment(c.rs, 2, &e_));
    OK(SCIDisconnectSegment(c.rs, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCIDisconnectSegment(c.rs, 0, &e_));   /* stale */
    assert_int_equal(SCIGetRemoteSegmentSize(c.rs), 0);
    /* the owner sees CB_DISCONNECT and can remove */
    owner_down(&c);
}

static void test_connect_errors(void **state)
{
    struct rconn c;
    sci_remote_segment_t rs2;
    sci_error_t e;

    owner_up(&c, 101, NULL, NULL, 0);

    ERR(SCI_ERR_NO_SUCH_SEGMENT, SCIConnectSegment(c.sd, &rs2, c.onode, 999, 0, NULL, NULL, 2000, 0, &e_));
    /* a node id that may join later (simntb: any of 1..255) looks like a segment not there yet */
    ERR(SCI_ERR_NO_SUCH_SEGMENT, SCIConnectSegment(c.sd, &rs2, 200, 101, 0, NULL, NULL, 2000, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_NODEID, SCIConnectSegment(c.sd, &rs2, 0, 101, 0, NULL, NULL, 2000, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_NODEID, SCIConnectSegment(c.sd, &rs2, 5000, 101, 0, NULL, NULL, 2000, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_ADAPTERNO, SCIConnectSegment(c.sd, &rs2, c.onode, 101, 99, NULL, NULL, 2000, 0, &e_));
    ERR(SCI_ERR_NO_SUCH_ADAPTERNO, SCIConnectSegment(c.sd, &rs2, c.onode, 101, 4, NULL, NULL, 2000, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_FLAG, SCIConnectSegment(c.sd, &rs2, c.onode, 101, 0, NULL, NULL, 2000, 0x8, &e_));
    ERR(SCI_ERR_NOT_SUPPORTED, SCIConnectSegment(c.sd, &rs2, c.onode, 101, 0, NULL, NULL, 2000,
                                                 SCI_FLAG_ASYNCHRONOUS_CONNECT, &e_));
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCIConnectSegment(c.sd, NULL, c.onode, 101, 0, NULL, NULL, 2000, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCIConnectSegment(c.sd, &rs2, c.onode, 101, 0, NULL, NULL, 2000,
                                                     SCI_FLAG_USE_CALLBACK, &e_));
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCIConnectSegment(NULL, &rs2, c.onode, 101, 0, NULL, NULL, 2000, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_FLAG, SCIWaitForRemoteSegmentEvent(c.rs, &e, 0, 3, &e_));
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCIWaitForRemoteSegmentEvent(NULL, &e, 0, 0, &e_));

    /* unavailable with no flag: new connects refused, the existing one untouched and silent */
    assert_int_equal(owner_cmd(&c.o, CMD_UNAVAIL), 0);
    ERR(SCI_ERR_NO_SUCH_SEGMENT, SCIConnectSegment(c.sd, &rs2, c.onode, 101, 0, NULL, NULL, 2000, 0, &e_));
    assert_int_equal(SCIWaitForRemoteSegmentEvent(c.rs, &e, 1000, 0, &e), SCI_CB_CONNECT);
    ERR(SCI_ERR_TIMEOUT, SCIWaitForRemoteSegmentEvent(c.rs, &e, 50, 0, &e_));
    assert_int_equal(rstate(c.rs), RSEG_OPERATIONAL);
    OK(SCIDisconnectSegment(c.rs, 0, &e_));
    owner_down(&c);
}

static void test_unavailable_notify(void **state)
{
    struct rconn c;
    sci_map_t m;
    sci_error_t e, st;

    owner_up(&c, 102, NULL, NULL, 0);
    assert_int_equal(SCIWaitForRemoteSegmentEvent(c.rs, &st, 1000, 0, &e), SCI_CB_CONNECT);
    volatile uint8_t *p = SCIMapRemoteSegment(c.rs, &m, 0, SEGSZ, NULL, 0, &e);
    assert_int_equal(e, SCI_ERR_OK);

    assert_int_equal(owner_cmd(&c.o, CMD_NOTIFY), 0);
    assert_int_equal(SCIWaitForRemoteSegmentEvent(c.rs, &st, T_MS, 0, &e), SCI_CB_DISCONNECT);
    assert_int_equal(e, SCI_ERR_OK);
    assert_int_equal(rstate(c.rs), RSEG_DISCONNECTING_OPERATIONAL);
    /* notify only: the map still reaches the owner's memory until we leave */
    assert_int_equal(p[5], (uint8_t)(5 * 13 + 1));
    /* as in Dolphin's library the owner removes while we are connected (and here still mapped):
       we are force-disconnected, and the map stops reaching the owner's memory */
    assert_int_equal(owner_cmd(&c.o, CMD_REMOVE), 0);
    assert_int_equal(tproc_wait(&c.o, T_MS), 0);
    for (int i = 0; i < 1000 && atomic_load(&c.rs->health) != SEG_HEALTH_DEAD; i++)
        usleep(10000);
    assert_int_equal(atomic_load(&c.rs->health), SEG_HEALTH_DEAD);
    assert_int_equal(p[5], 0);
    uint8_t b[8];
    ERR(SCI_ERR_TRANSFER_FAILED, SCIMemCpy(NULL, b, m, 0, sizeof(b), SCI_FLAG_BLOCK_READ, &e_));
    OK(SCIUnmapSegment(m, 0, &e_));
    OK(SCIDisconnectSegment(c.rs, 0, &e_));
    parent_fini(c.sd);
}

static void test_unavailable_force(void **state)
{
    struct rconn c;
    sci_map_t m;
    sci_sequence_t seq;
    sci_error_t e, st;
    uint8_t buf[16] = { 0 };

    owner_up(&c, 103, NULL, NULL, 0);
    volatile uint8_t *p = SCIMapRemoteSegment(c.rs, &m, 0, SEGSZ, NULL, 0, &e);
    assert_int_equal(e, SCI_ERR_OK);
    OK(SCICreateMapSequence(m, &seq, 0, &e_));
    assert_int_equal(SCIStartSequence(seq, 0, &e), SCI_SEQ_OK);
    for (int i = SEGSZ / 2; i < SEGSZ; i++)
        p[i] = (uint8_t)(i * 31 + 7);
    assert_int_equal(owner_cmd(&c.o, CMD_CHECK), 0);

    assert_int_equal(owner_cmd(&c.o, CMD_FORCE), 0);
    assert_int_equal(SCIWaitForRemoteSegmentEvent(c.rs, &st, 1000, 0, &e), SCI_CB_CONNECT);
    assert_int_equal(SCIWaitForRemoteSegmentEvent(c.rs, &st, T_MS, 0, &e), SCI_CB_DISCONNECT);
    assert_int_equal(rstate(c.rs), RSEG_DISCONNECTING_OPERATIONAL);
    /* the map no longer reaches the owner's memory: these writes must not land there */
    for (int i = SEGSZ / 2; i < SEGSZ; i++)
        p[i] = 0;
    assert_int_equal(SCICheckSequence(seq, 0, &e), SCI_SEQ_NOT_RETRIABLE);
    ERR(SCI_ERR_TRANSFER_FAILED, SCIMemCpy(seq, buf, m, 0, sizeof(buf), 0, &e_));
    ERR(SCI_ERR_SEGMENT_NOT_CONNECTED, SCIMapRemoteSegment(c.rs, &m, 0, 16, NULL, 0, &e_));
    assert_int_equal(owner_cmd(&c.o, CMD_CHECK), 0);
    /* the owner dropped the connection at once: it can remove while we are still mapped */
    assert_int_equal(owner_cmd(&c.o, CMD_REMOVE), 0);
    OK(SCIRemoveSequence(seq, 0, &e_));
    OK(SCIUnmapSegment(m, 0, &e_));
    OK(SCIDisconnectSegment(c.rs, 0, &e_));
    assert_int_equal(tproc_wait(&c.o, T_MS), 0);
    parent_fini(c.sd);
}

/* ---------------------------------------------------------------- callbacks */

struct cb_log {
    pthread_mutex_t mu;
    int n;
    sci_segment_cb_reason_t r[16];
    sci_callback_action_t ret_on_disconnect;
};

static sci_callback_action_t rcb(void *arg, sci_remote_segment_t s, sci_segment_cb_reason_t reason,
                                 sci_error_t status)
{
    struct cb_log *l = arg;
    pthread_mutex_lock(&l->mu);
    if (l->n < 16)
        l->r[l->n++] = reason;
    pthread_mutex_unlock(&l->mu);
    return reason == SCI_CB_DISCONNECT ? l->ret_on_disconnect : SCI_CALLBACK_CONTINUE;
}

static int cb_count(struct cb_log *l, int want, int ms)
{
    int n = 0;
    for (int i = 0; i < ms; i++) {
        pthread_mutex_lock(&l->mu);
        n = l->n;
        pthread_mutex_unlock(&l->mu);
        if (n >= want)
            break;
        usleep(1000);
    }
    return n;
}

static void test_remote_callbacks(void **state)
{
    struct rconn c;
    sci_error_t e, st;
    struct cb_log l = { .mu = PTHREAD_MUTEX_INITIALIZER, .ret_on_disconnect = SCI_CALLBACK_CANCEL };

    owner_up(&c, 104, rcb, &l, SCI_FLAG_USE_CALLBACK);
    assert_int_equal(cb_count(&l, 1, 2000), 1);
    pthread_mutex_lock(&l.mu);
    assert_int_equal(l.r[0], SCI_CB_CONNECT);
    pthread_mutex_unlock(&l.mu);
    ERR(SCI_ERR_ILLEGAL_OPERATION, SCIWaitForRemoteSegmentEvent(c.rs, &st, 0, 0, &e_));
    /* NOTIFY: the callback sees DISCONNECT and cancels itself */
    assert_int_equal(owner_cmd(&c.o, CMD_NOTIFY), 0);
    assert_int_equal(cb_count(&l, 2, 5000), 2);
    pthread_mutex_lock(&l.mu);
    assert_int_equal(l.r[1], SCI_CB_DISCONNECT);
    pthread_mutex_unlock(&l.mu);
    /* after CANCEL the callback is never called again */
    usleep(50000);
    assert_int_equal(cb_count(&l, 3, 1), 2);
    ERR(SCI_ERR_TIMEOUT, SCIWaitForRemoteSegmentEvent(c.rs, &st, 0, 0, &e_));
    OK(SCIDisconnectSegment(c.rs, 0, &e_));
    owner_down(&c);
    (void)e;
}

/* Owner with a callback that returns CONTINUE for CONNECT and CANCEL for DISCONNECT: the first
 * connect/disconnect pair reaches the callback, the second pair the wait queue, none both. */
struct lcb_log {
    pthread_mutex_t mu;
    int n;
    sci_segment_cb_reason_t r[16];
    unsigned int node[16];
};

static sci_callback_action_t lcb(void *arg, sci_local_segment_t s, sci_segment_cb_reason_t reason,
                                 unsigned int node, unsigned int ad, sci_error_t err)
{
    struct lcb_log *l = arg;
    pthread_mutex_lock(&l->mu);
    if (l->n < 16) {
        l->r[l->n] = reason;
        l->node[l->n++] = node;
    }
    pthread_mutex_unlock(&l->mu);
    return reason == SCI_CB_DISCONNECT ? SCI_CALLBACK_CANCEL : SCI_CALLBACK_CONTINUE;
}

static int cb_owner_main(int rd, int wr, void *arg)
{
    static struct lcb_log l = { .mu = PTHREAD_MUTEX_INITIALIZER };
    sci_error_t e;
    sci_desc_t sd;
    sci_local_segment_t ls;
    uint32_t cmd;
    unsigned int src, ad;

    sd = child_open();
    SCICreateSegment(sd, &ls, 105, 4096, lcb, &l, SCI_FLAG_USE_CALLBACK, &e); CHECK(e == SCI_ERR_OK);
    SCIPrepareSegment(ls, 0, 0, &e); CHECK(e == SCI_ERR_OK);
    SCISetSegmentAvailable(ls, 0, 0, &e); CHECK(e == SCI_ERR_OK);
    CHECK(tproc_send_u32(wr, my_node()) == 0);
    /* first pair: callback */
    CHECK(tproc_recv_u32(rd, &cmd, T_MS) == 0);
    for (int i = 0; i < 5000; i++) {
        pthread_mutex_lock(&l.mu);
        int n = l.n;
        pthread_mutex_unlock(&l.mu);
        if (n >= 2)
            break;
        usleep(1000);
    }
    pthread_mutex_lock(&l.mu);
    CHECK(l.n == 2 && l.r[0] == SCI_CB_CONNECT && l.r[1] == SCI_CB_DISCONNECT && l.node[0] == cmd);
    pthread_mutex_unlock(&l.mu);
    CHECK(tproc_send_u32(wr, 0) == 0);
    /* second pair: the queue */
    CHECK(tproc_recv_u32(rd, &cmd, T_MS) == 0);
    CHECK(SCIWaitForLocalSegmentEvent(ls, &src, &ad, T_MS, 0, &e) == SCI_CB_CONNECT && e == SCI_ERR_OK);
    CHECK(src == cmd);
    CHECK(SCIWaitForLocalSegmentEvent(ls, &src, &ad, T_MS, 0, &e) == SCI_CB_DISCONNECT && e == SCI_ERR_OK);
    pthread_mutex_lock(&l.mu);
    CHECK(l.n == 2);
    pthread_mutex_unlock(&l.mu);
    SCIRemoveSegment(ls, 0, &e); CHECK(e == SCI_ERR_OK);
    SCIClose(sd, 0, &e); CHECK(e == SCI_ERR_OK);
    SCITerminate();
    CHECK(tproc_send_u32(wr, 0) == 0);
    return 0;
}

static void test_local_callbacks(void **state)
{
    struct tproc o;
    uint32_t onode, v;
    sci_desc_t sd;
    sci_remote_segment_t rs;

    assert_int_equal(tproc_start(&o, cb_owner_main, NULL), 0);
    assert_int_equal(tproc_recv_u32(o.rd, &onode, T_MS), 0);
    sd = parent_init();
    for (int round = 0; round < 2; round++) {
        assert_int_equal(connect_retry(sd, &rs, onode, 105), SCI_ERR_OK);
        OK(SCIDisconnectSegment(rs, 0, &e_));
        assert_int_equal(tproc_send_u32(o.wr, my_node()), 0);
        if (round == 0) {
            assert_int_equal(tproc_recv_u32(o.rd, &v, T_MS), 0);
            assert_int_equal(v, 0);
        }
    }
    assert_int_equal(tproc_recv_u32(o.rd, &v, T_MS), 0);
    assert_int_equal(tproc_wait(&o, T_MS), 0);
    parent_fini(sd);
}

/* ---------------------------------------------------------------- three nodes */

static int second_remote(int rd, int wr, void *arg)
{
    uint32_t onode;
    sci_error_t e;
    sci_desc_t sd;
    sci_remote_segment_t rs;
    sci_map_t m;
    uint8_t buf[SEGSZ / 4];

    CHECK(tproc_recv_u32(rd, &onode, T_MS) == 0);
    sd = child_open();
    CHECK(connect_retry(sd, &rs, onode, 106) == SCI_ERR_OK);
    SCIMapRemoteSegment(rs, &m, 0, SEGSZ, NULL, 0, &e); CHECK(e == SCI_ERR_OK);
    /* this node writes the last quarter by SCIMemCpy */
    for (int i = 0; i < SEGSZ / 4; i++)
        buf[i] = (uint8_t)((i + 3 * SEGSZ / 4) * 31 + 7);
    SCIMemCpy(NULL, buf, m, 3 * SEGSZ / 4, sizeof(buf), 0, &e); CHECK(e == SCI_ERR_OK);
    CHECK(tproc_send_u32(wr, my_node()) == 0);
    CHECK(tproc_recv_u32(rd, &onode, T_MS) == 0);
    SCIUnmapSegment(m, 0, &e); CHECK(e == SCI_ERR_OK);
    SCIDisconnectSegment(rs, 0, &e); CHECK(e == SCI_ERR_OK);
    SCIClose(sd, 0, &e); CHECK(e == SCI_ERR_OK);
    SCITerminate();
    return 0;
}

static void test_three_nodes(void **state)
{
    struct owner_args oa = { .id = 106, .expect_conns = 2 };
    struct tproc o, r2;
    uint32_t onode, n2, c1, c2;
    sci_desc_t sd;
    sci_remote_segment_t rs;
    sci_map_t m;
    sci_error_t e;

    assert_int_equal(tproc_start(&o, owner_main, &oa), 0);
    assert_int_equal(tproc_start(&r2, second_remote, NULL), 0);
    assert_int_equal(tproc_recv_u32(o.rd, &onode, T_MS), 0);
    assert_int_equal(tproc_send_u32(r2.wr, onode), 0);
    sd = parent_init();
    assert_int_equal(connect_retry(sd, &rs, onode, 106), SCI_ERR_OK);
    volatile uint8_t *p = SCIMapRemoteSegment(rs, &m, 0, SEGSZ, NULL, 0, &e);
    assert_int_equal(e, SCI_ERR_OK);
    for (int i = SEGSZ / 2; i < 3 * SEGSZ / 4; i++)
        p[i] = (uint8_t)(i * 31 + 7);
    assert_int_equal(tproc_recv_u32(r2.rd, &n2, T_MS), 0);
    assert_int_equal(tproc_recv_u32(o.rd, &c1, T_MS), 0);
    assert_int_equal(tproc_recv_u32(o.rd, &c2, T_MS), 0);
    /* the owner saw one CONNECT from each remote node */
    assert_true((c1 == my_node() && c2 == n2) || (c1 == n2 && c2 == my_node()));
    assert_int_not_equal(n2, my_node());
    assert_int_equal(owner_cmd(&o, CMD_CHECK), 0);
    /* each node reads the other's writes */
    for (int i = 3 * SEGSZ / 4; i < SEGSZ; i++)
        assert_int_equal(p[i], (uint8_t)(i * 31 + 7));
    assert_int_equal(tproc_send_u32(r2.wr, 0), 0);
    assert_int_equal(tproc_wait(&r2, T_MS), 0);
    OK(SCIUnmapSegment(m, 0, &e_));
    OK(SCIDisconnectSegment(rs, 0, &e_));
    assert_int_equal(owner_cmd(&o, CMD_GO) & 0xffff0000u, (uint32_t)SCI_CB_DISCONNECT << 16);
    assert_int_equal(owner_cmd(&o, CMD_GO) & 0xffff0000u, (uint32_t)SCI_CB_DISCONNECT << 16);
    assert_int_equal(owner_cmd(&o, CMD_REMOVE), 0);
    assert_int_equal(tproc_wait(&o, T_MS), 0);
    parent_fini(sd);
}

/* ---------------------------------------------------------------- one node */

static void test_loopback(void **state)
{
    sci_desc_t sd;
    sci_local_segment_t ls;
    sci_remote_segment_t rs;
    sci_error_t e;
    unsigned int src, ad;

    /* connecting to a segment of this very node works like any other: the window is mapped twice */
    sci_map_t lm, rm;
    volatile uint8_t *lp, *rp;
    sd = parent_init();
    OK(SCICreateSegment(sd, &ls, 107, 8192, NULL, NULL, 0, &e_));
    OK(SCIPrepareSegment(ls, 0, 0, &e_));
    OK(SCISetSegmentAvailable(ls, 0, 0, &e_));
    OK(SCIConnectSegment(sd, &rs, my_node(), 107, 0, NULL, NULL, 2000, 0, &e_));
    assert_int_equal(SCIWaitForLocalSegmentEvent(ls, &src, &ad, 2000, 0, &e), SCI_CB_CONNECT);
    assert_int_equal(src, my_node());
    lp = SCIMapLocalSegment(ls, &lm, 0, 8192, NULL, 0, &e);
    assert_int_equal(e, SCI_ERR_OK);
    rp = SCIMapRemoteSegment(rs, &rm, 0, 8192, NULL, 0, &e);
    assert_int_equal(e, SCI_ERR_OK);
    rp[4097] = 0x5a;
    assert_int_equal(lp[4097], 0x5a);
    ERR(SCI_ERR_BUSY, SCIRemoveSegment(ls, 0, &e_));
    OK(SCIUnmapSegment(rm, 0, &e_));
    OK(SCIUnmapSegment(lm, 0, &e_));
    OK(SCIDisconnectSegment(rs, 0, &e_));
    assert_int_equal(SCIWaitForLocalSegmentEvent(ls, &src, &ad, 2000, 0, &e), SCI_CB_DISCONNECT);
    OK(SCIRemoveSegment(ls, 0, &e_));
    parent_fini(sd);
}

/* Every (state, event) pair of the remote machine, on a bare object. */
static void test_rseg_machine(void **state)
{
    enum { X = -1 };
    static const int want[RSEG_STATE_COUNT][4] = {
        /* CB_OPERATIONAL, CB_NOT_OPERATIONAL, CB_DISCONNECT, CB_LOST */
        [RSEG_CONNECTING] = { RSEG_OPERATIONAL, X, X, RSEG_LOST },
        [RSEG_OPERATIONAL] = { X, RSEG_NOT_OPERATIONAL, RSEG_DISCONNECTING_OPERATIONAL, RSEG_LOST },
        [RSEG_NOT_OPERATIONAL] = { RSEG_OPERATIONAL, X, RSEG_DISCONNECTING_NOT_OPERATIONAL, RSEG_LOST },
        [RSEG_DISCONNECTING_OPERATIONAL] = { X, X, X, RSEG_LOST },
        [RSEG_DISCONNECTING_NOT_OPERATIONAL] = { RSEG_DISCONNECTING_OPERATIONAL, X, X, RSEG_LOST },
        [RSEG_LOST] = { X, X, X, X },
    };
    static const sci_segment_cb_reason_t evs[4] = { SCI_CB_OPERATIONAL, SCI_CB_NOT_OPERATIONAL, SCI_CB_DISCONNECT,
                                                    SCI_CB_LOST };
    struct sci_remote_segment rs;
    (void)state;
    for (int s = 0; s < RSEG_STATE_COUNT; s++) {
        for (int k = 0; k < 4; k++) {
            memset(&rs, 0, sizeof(rs));
            rs.state = (enum rseg_state)s;
            int rc = rseg_transition(&rs, evs[k]);
            if (want[s][k] == X) {
                assert_int_equal(rc, -EPROTO);
                assert_int_equal(rs.state, s);
            } else {
                assert_int_equal(rc, 0);
                assert_int_equal(rs.state, want[s][k]);
            }
        }
        memset(&rs, 0, sizeof(rs));
        rs.state = (enum rseg_state)s;
        assert_int_equal(rseg_transition(&rs, SCI_CB_CONNECT), -EPROTO);
    }
    assert_string_equal(rseg_state_str(RSEG_DISCONNECTING_NOT_OPERATIONAL), "DISCONNECTING_NOT_OPERATIONAL");
}

OSCI_TEST_MAIN("seg_remote", NULL, NULL,
               cmocka_unit_test(test_rseg_machine),
               cmocka_unit_test_teardown(test_loopback, seg_td),
               cmocka_unit_test_teardown(test_connect_map_data, seg_td),
               cmocka_unit_test_teardown(test_connect_errors, seg_td),
               cmocka_unit_test_teardown(test_unavailable_notify, seg_td),
               cmocka_unit_test_teardown(test_unavailable_force, seg_td),
               cmocka_unit_test_teardown(test_remote_callbacks, seg_td),
               cmocka_unit_test_teardown(test_local_callbacks, seg_td),
               cmocka_unit_test_teardown(test_three_nodes, seg_td))
