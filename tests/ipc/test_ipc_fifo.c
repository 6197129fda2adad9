/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* libipc's one FIFO (ipc_fifo.c) against a counting backend, both sides in this thread: on a transfer
 * backend (no mapped words or frames) every frame is exactly one put_frame call and every other word one
 * store; on a mapped backend the hooks are never called for words; notifications go out only to a side
 * that armed itself, once per arming; indices, full/empty and CONN_RESET behave as NvSciIpc says. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "ipc_internal.h"
#include "../common/osci_test.h"

#define NF 4
#define FS 64

struct fake_side {
    int s;
    struct fake_chan *ch;
    struct ipc_fifo f;
    struct ipc_conn conn;
    int notify_enabled;
    uint8_t bounce[FS];
    unsigned stores[IPC_FW_N], put_frames, notified_peer, notified_self;
};

struct fake_chan {
    _Atomic uint32_t w[2][IPC_FW_N];   /* side s's words */
    uint8_t frames[2][NF * FS];        /* FIFO s, written by side s */
    struct fake_side side[2];
};

static struct fake_chan ch;

static void fake_store(void *ctx, enum ipc_fifo_word w, uint32_t v)
{
    struct fake_side *fs = ctx;
    fs->stores[w]++;
    atomic_store(&fs->ch->w[fs->s][w], v);
}

static void fake_put_frame(void *ctx, uint32_t slot, const void *frame, uint32_t tail)
{
    struct fake_side *fs = ctx;
    assert_true(slot < NF);
    fs->put_frames++;
    memcpy(fs->ch->frames[fs->s] + (size_t)slot * FS, frame, FS);
    atomic_store(&fs->ch->w[fs->s][IPC_FW_TAIL], tail);
}

static void fake_notify(void *ctx, enum ipc_fifo_whom whom)
{
    struct fake_side *fs = ctx;
    if (whom == IPC_FIFO_PEER) fs->notified_peer++;
    else fs->notified_self++;
}

static const struct ipc_fifo_backend fake_be = {
    .store = fake_store,
    .put_frame = fake_put_frame,
    .notify = fake_notify,
};

/* mapped: our words and frames are stored directly (out[], tx_frames), as INTER_PROCESS does */
static void setup_chan(int mapped)
{
    int s, i;
    memset(&ch, 0, sizeof(ch));
    for (s = 0; s < 2; s++) {
        struct fake_side *fs = &ch.side[s];
        int p = 1 - s;
        fs->s = s;
        fs->ch = &ch;
        fs->notify_enabled = 1;
        fs->conn.state = IPC_CS_EST;
        fs->f = (struct ipc_fifo){ .be = &fake_be, .ctx = fs, .conn = &fs->conn, .notify_enabled = &fs->notify_enabled,
                                   .nframes = NF, .fsize = FS, .in_tail = &ch.w[p][IPC_FW_TAIL],
                                   .in_head = &ch.w[p][IPC_FW_HEAD], .rx_frames = ch.frames[p],
                                   .bounce = fs->bounce };
        for (i = 0; i < IPC_FIFO_ARM_N; i++) fs->f.in_arm[i] = &ch.w[p][IPC_FW_ARM_READ + i];
        if (mapped) {
            for (i = 0; i < IPC_FW_N; i++) fs->f.out[i] = &ch.w[s][i];
            fs->f.tx_frames = ch.frames[s];
        }
    }
}

static int write_one(struct fake_side *fs, uint8_t tag)
{
    volatile void *frame;
    int ret = ipc__fifo_write_frame(&fs->f, &frame);
    if (ret < 0) return ret;
    memset((void *)frame, tag, FS);
    return ipc__fifo_write_advance(&fs->f);
}

static int read_one(struct fake_side *fs, uint8_t *tag)
{
    const volatile void *frame;
    int ret = ipc__fifo_read_frame(&fs->f, &frame);
    if (ret < 0) return ret;
    *tag = ((const volatile uint8_t *)frame)[FS - 1];
    return ipc__fifo_read_advance(&fs->f);
}

static unsigned total_stores(const struct fake_side *fs)
{
    unsigned n = 0, i;
    for (i = 0; i < IPC_FW_N; i++) n += fs->stores[i];
    return n;
}

static void test_transfer_one_crossing(void **state)
{
    struct fake_side *a = &ch.side[0], *b = &ch.side[1];
    uint8_t tag;
    int i;
    (void)state;
    setup_chan(0);
    for (i = 0; i < NF; i++) assert_int_equal(write_one(a, (uint8_t)(0x10 + i)), 0);
    assert_int_equal(write_one(a, 0xee), -EAGAIN);          /* full */
    assert_int_equal(a->put_frames, NF);                    /* one crossing per frame ... */
    assert_int_equal(total_stores(a), 0);                   /* ... and nothing else */
    for (i = 0; i < NF; i++) {
        assert_int_equal(read_one(b, &tag), 0);
        assert_int_equal(tag, 0x10 + i);
    }
    assert_int_equal(read_one(b, &tag), -EAGAIN);          /* empty */
    assert_int_equal(b->stores[IPC_FW_HEAD], NF);           /* one store of head per frame read */
    assert_int_equal(total_stores(b), NF);
    assert_int_equal(a->notified_peer + b->notified_peer, 0);   /* nobody armed: no notification */
    for (i = 0; i < 3 * NF; i++) {                          /* wrap the free-running indices' slots */
        assert_int_equal(write_one(a, (uint8_t)i), 0);
        assert_int_equal(read_one(b, &tag), 0);
        assert_int_equal(tag, (uint8_t)i);
    }
}

static void test_mapped_no_hooks(void **state)
{
    struct fake_side *a = &ch.side[0], *b = &ch.side[1];
    uint8_t tag;
    uint32_t ev = 0;
    (void)state;
    setup_chan(1);
    ipc__fifo_events(&b->f, &ev);                           /* arms READ: a direct store too */
    assert_int_equal(write_one(a, 7), 0);
    assert_int_equal(read_one(b, &tag), 0);
    assert_int_equal(tag, 7);
    assert_int_equal(a->put_frames + total_stores(a) + total_stores(b), 0);
    assert_int_equal(a->notified_peer, 1);                  /* b had armed */
}

static void test_notify_only_when_armed(void **state)
{
    struct fake_side *a = &ch.side[0], *b = &ch.side[1];
    uint8_t tag;
    uint32_t ev = 0;
    (void)state;
    setup_chan(0);
    ipc__fifo_events(&b->f, &ev);                           /* nothing to read: b arms READ and EMPTY */
    assert_int_equal(ev & NV_SCI_IPC_EVENT_READ, 0);
    assert_true(ev & NV_SCI_IPC_EVENT_WRITE);
    assert_int_equal(b->stores[IPC_FW_ARM_READ], 1);
    assert_int_equal(write_one(a, 1), 0);
    assert_int_equal(a->notified_peer, 1);                  /* the armed reader is woken ... */
    assert_int_equal(write_one(a, 2), 0);
    assert_int_equal(a->notified_peer, 1);                  /* ... once */
    ev = 0;
    ipc__fifo_events(&b->f, &ev);
    assert_true(ev & NV_SCI_IPC_EVENT_READ);
    assert_int_equal(read_one(b, &tag), 0);
    assert_int_equal(read_one(b, &tag), 0);
    assert_int_equal(read_one(b, &tag), -EAGAIN);          /* ran dry after GetEvent said READ: arms */
    assert_int_equal(b->stores[IPC_FW_ARM_READ], 2);
    assert_int_equal(read_one(b, &tag), -EAGAIN);          /* a polling reader does not arm again */
    assert_int_equal(b->stores[IPC_FW_ARM_READ], 2);
    assert_int_equal(write_one(a, 3), 0);
    assert_int_equal(a->notified_peer, 2);
    b->notify_enabled = 0;                                  /* NvSciIpcEnableNotification(false) on b */
    assert_int_equal(read_one(b, &tag), 0);
    assert_int_equal(b->notified_peer, 0);
    ev = 0;
    ipc__fifo_events(&a->f, &ev);                           /* a waits for WRITE_EMPTY? it is empty */
    assert_true(ev & NV_SCI_IPC_EVENT_WRITE_EMPTY);
}

static void test_empty_and_write_wakeups(void **state)
{
    struct fake_side *a = &ch.side[0], *b = &ch.side[1];
    uint8_t tag;
    uint32_t ev = 0;
    int i;
    (void)state;
    setup_chan(0);
    for (i = 0; i < NF; i++) assert_int_equal(write_one(a, (uint8_t)i), 0);
    ipc__fifo_events(&a->f, &ev);                           /* full, not empty: a arms WRITE and EMPTY */
    assert_int_equal(ev & (NV_SCI_IPC_EVENT_WRITE | NV_SCI_IPC_EVENT_WRITE_EMPTY), 0);
    assert_int_equal(read_one(b, &tag), 0);
    assert_int_equal(b->notified_peer, 1);                  /* room: WRITE */
    for (i = 1; i < NF - 1; i++) assert_int_equal(read_one(b, &tag), 0);
    assert_int_equal(b->notified_peer, 1);
    assert_int_equal(read_one(b, &tag), 0);                 /* the last frame: EMPTY */
    assert_int_equal(b->notified_peer, 2);
}

static void test_conn_states(void **state)
{
    struct fake_side *a = &ch.side[0], *b = &ch.side[1];
    volatile void *wf;
    const volatile void *rf;
    uint8_t tag;
    (void)state;
    setup_chan(0);
    assert_int_equal(write_one(a, 9), 0);
    b->conn.draining = 1;                                   /* the peer left: its last frame is still read */
    assert_int_equal(ipc__fifo_write_frame(&b->f, &wf), -ECONNRESET);
    assert_int_equal(ipc__fifo_rx_pending(&b->f), 1);
    assert_int_equal(read_one(b, &tag), 0);
    assert_int_equal(tag, 9);
    assert_int_equal(b->notified_self, 1);                  /* its CONN_RESET comes next */
    assert_int_equal(ipc__fifo_rx_pending(&b->f), 0);
    b->conn.state = IPC_CS_SYNC;
    assert_int_equal(ipc__fifo_read_frame(&b->f, &rf), -ECONNRESET);
    atomic_store(&ch.w[0][IPC_FW_TAIL], 1000);              /* a corrupt index */
    b->conn.state = IPC_CS_EST;
    b->conn.draining = 0;
    assert_int_equal(ipc__fifo_read_frame(&b->f, &rf), -ECONNRESET);
}

OSCI_TEST_MAIN(NULL, NULL, NULL,
               cmocka_unit_test(test_transfer_one_crossing),
               cmocka_unit_test(test_mapped_no_hooks),
               cmocka_unit_test(test_notify_only_when_armed),
               cmocka_unit_test(test_empty_and_write_wakeups),
               cmocka_unit_test(test_conn_states))
