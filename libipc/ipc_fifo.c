/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* The NvSciIpc frame FIFO shared by every backend (ipc_fifo.h). The data path takes no lock and makes no
 * system call unless the peer armed itself: a writer stores its tail, then loads the peer's ARM_READ
 * counter; a reader about to report "nothing" raises its counter, then reloads the tail (Dekker: of two
 * sides doing store-then-load, one sees the other's store). */
#include <errno.h>

#include "ipc_fifo.h"
#include "ipc_internal.h"

static inline void put_word(struct ipc_fifo *f, enum ipc_fifo_word w, uint32_t v)
{
    if (f->out[w]) atomic_store(f->out[w], v);   /* seq_cst */
    else f->be->store(f->ctx, w, v);
}

/* We are about to report "nothing": ask the peer to notify us. The caller reloads the peer's index. */
static void arm(struct ipc_fifo *f, enum ipc_fifo_word w)
{
    unsigned i = IPC_FIFO_ARM(w);
    put_word(f, w, ++f->arm_mine[i]);
}

/* Notifies the peer if it raised one of `bits` (1 << IPC_FIFO_ARM(w)) since we last answered it. Called
 * right after a sequentially consistent store of an index. */
static void notify_if_armed(struct ipc_fifo *f, unsigned bits)
{
    unsigned i;
    int hit = 0;
    if (!*f->notify_enabled) return;
    for (i = 0; i < IPC_FIFO_ARM_N; i++) {
        uint32_t a;
        if (!(bits & (1u << i))) continue;
        a = atomic_load(f->in_arm[i]);
        if (a != f->arm_seen[i]) {
            f->arm_seen[i] = a;
            hit = 1;
        }
    }
    if (hit) f->be->notify(f->ctx, IPC_FIFO_PEER);
}

void ipc__fifo_clear(struct ipc_fifo *f)
{
    f->tx_tail = f->tx_head_cache = f->rx_head = f->rx_tail_cache = 0;
}

void ipc__fifo_forget_arms(struct ipc_fifo *f)
{
    unsigned i;
    for (i = 0; i < IPC_FIFO_ARM_N; i++) f->arm_seen[i] = atomic_load_explicit(f->in_arm[i], memory_order_relaxed);
}

int ipc__fifo_rx_pending(const struct ipc_fifo *f)
{
    uint32_t n = atomic_load_explicit(f->in_tail, memory_order_acquire) - f->rx_head;
    return n != 0 && n <= f->nframes;
}

int ipc__fifo_write_frame(struct ipc_fifo *f, volatile void **frame_p)
{
    if (f->conn->state != IPC_CS_EST || f->conn->draining) return -ECONNRESET;
    if (f->tx_tail - f->tx_head_cache >= f->nframes) {
        f->tx_head_cache = atomic_load_explicit(f->in_head, memory_order_acquire);
        if (f->tx_tail - f->tx_head_cache > f->nframes) return -ECONNRESET;   /* corrupt or stale */
        if (f->tx_tail - f->tx_head_cache == f->nframes) {
            /* Full. Arm only when GetEvent last reported WRITE (the caller drains it and may wait next);
             * otherwise the caller polls, or its GetEvent arms: a polling writer costs the reader nothing. */
            if (!f->rearm_tx) return -EAGAIN;
            f->rearm_tx = 0;
            arm(f, IPC_FW_ARM_WRITE);
            f->tx_head_cache = atomic_load(f->in_head);
            if (f->tx_tail - f->tx_head_cache >= f->nframes) return -EAGAIN;
        }
    }
    if (f->tx_frames) *frame_p = f->tx_frames + (size_t)(f->tx_tail % f->nframes) * f->fsize;
    else if (f->bounce) *frame_p = f->bounce;
    else return -ECONNRESET;   /* the backend lost its map of the peer's FIFO: the handshake follows */
    return 0;
}

int ipc__fifo_write_advance(struct ipc_fifo *f)
{
    volatile void *frame;
    int ret = ipc__fifo_write_frame(f, &frame);
    if (ret < 0) return ret;
    f->tx_tail++;
    if (f->tx_frames) put_word(f, IPC_FW_TAIL, f->tx_tail);   /* seq_cst, then a load of the peer's arm */
    else f->be->put_frame(f->ctx, (f->tx_tail - 1) % f->nframes, f->bounce, f->tx_tail);
    notify_if_armed(f, 1u << IPC_FIFO_ARM(IPC_FW_ARM_READ));
    return 0;
}

int ipc__fifo_read_frame(struct ipc_fifo *f, const volatile void **frame_p)
{
    if (f->conn->state != IPC_CS_EST) return -ECONNRESET;
    if (f->rx_head == f->rx_tail_cache) {
        f->rx_tail_cache = atomic_load_explicit(f->in_tail, memory_order_acquire);
        if (f->rx_tail_cache - f->rx_head > f->nframes) return -ECONNRESET;
        if (f->rx_head == f->rx_tail_cache) {
            /* Empty. Arm only when GetEvent last reported READ (see ipc__fifo_write_frame). */
            if (!f->rearm_rx) return -EAGAIN;
            f->rearm_rx = 0;
            arm(f, IPC_FW_ARM_READ);
            f->rx_tail_cache = atomic_load(f->in_tail);
            if (f->rx_tail_cache - f->rx_head > f->nframes) return -ECONNRESET;
            if (f->rx_head == f->rx_tail_cache) return -EAGAIN;
        }
    }
    *frame_p = f->rx_frames + (size_t)(f->rx_head % f->nframes) * f->fsize;
    return 0;
}

int ipc__fifo_read_advance(struct ipc_fifo *f)
{
    const volatile void *frame;
    unsigned bits = 1u << IPC_FIFO_ARM(IPC_FW_ARM_WRITE);
    int ret = ipc__fifo_read_frame(f, &frame);
    if (ret < 0) return ret;
    f->rx_head++;
    put_word(f, IPC_FW_HEAD, f->rx_head);   /* seq_cst, then a load of the peer's arm */
    if (f->conn->draining) {
        if (f->rx_head == f->rx_tail_cache && f->rx_head == atomic_load(f->in_tail)) {
            /* the departed peer's last frame: wake our fd for its CONN_RESET */
            f->be->notify(f->ctx, IPC_FIFO_SELF);
            return 0;
        }
    } else if (f->rx_head == f->rx_tail_cache && *f->notify_enabled &&
               atomic_load(f->in_arm[IPC_FIFO_ARM(IPC_FW_ARM_EMPTY)]) != f->arm_seen[IPC_FIFO_ARM(IPC_FW_ARM_EMPTY)] &&
               f->rx_head == atomic_load(f->in_tail)) {
        /* the peer waits for WRITE_EMPTY (checked first: a streaming reader does not reload the tail the
         * writer is storing) and we read everything */
        bits |= 1u << IPC_FIFO_ARM(IPC_FW_ARM_EMPTY);
    }
    notify_if_armed(f, bits);
    return 0;
}

/* Level events of an established channel: loads of the peer's words only. */
static uint32_t levels(struct ipc_fifo *f)
{
    uint32_t ev = 0, tail = atomic_load(f->in_tail), head = atomic_load(f->in_head);
    f->rx_tail_cache = tail;
    f->tx_head_cache = head;
    if (tail != f->rx_head) ev |= NV_SCI_IPC_EVENT_READ;
    if (f->tx_tail - head < f->nframes) ev |= NV_SCI_IPC_EVENT_WRITE;
    if (f->tx_tail == head) ev |= NV_SCI_IPC_EVENT_WRITE_EMPTY;
    return ev;
}

void ipc__fifo_events(struct ipc_fifo *f, uint32_t *ev)
{
    if (f->conn->state == IPC_CS_EST && f->conn->draining) {   /* the peer left: only its last frames */
        *ev |= levels(f) & NV_SCI_IPC_EVENT_READ;
        f->rearm_rx = f->rearm_tx = 0;
    } else if (f->conn->state == IPC_CS_EST) {
        uint32_t lv = levels(f);
        int armed = 0;
        if (!(lv & NV_SCI_IPC_EVENT_READ)) arm(f, IPC_FW_ARM_READ), armed = 1;
        if (!(lv & NV_SCI_IPC_EVENT_WRITE)) arm(f, IPC_FW_ARM_WRITE), armed = 1;
        if (!(lv & NV_SCI_IPC_EVENT_WRITE_EMPTY)) arm(f, IPC_FW_ARM_EMPTY), armed = 1;
        if (armed) lv = levels(f);   /* Dekker with the peer's store-then-check */
        f->rearm_rx = !!(lv & NV_SCI_IPC_EVENT_READ);
        f->rearm_tx = !!(lv & NV_SCI_IPC_EVENT_WRITE);
        *ev |= lv;
    }
}
