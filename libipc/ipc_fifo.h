/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* The one NvSciIpc frame FIFO (ipc_fifo.c): indices, arming, levels, the zero-copy data path. A backend
 * (INTER_THREAD/PROCESS in ipc_shm.c, INTER_CHIP in ipc_chip.c, INTER_VM in ipc_vm.c) gives it the words the peer
 * writes (read locally), where this side's words go, and two hooks: store an index, notify. Every word has
 * a single writer and is only ever stored, never read-modify-written across the two sides, so the FIFO
 * works over memory where no atomic RMW reaches the peer (a PCIe BAR, an rdma segment). docs/nvsciipc.md
 * "One FIFO, several backends". */
#ifndef OSCI_IPC_FIFO_H
#define OSCI_IPC_FIFO_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct ipc_conn;

/* This side's words, each read by the peer. An ARM_* word is a counter raised each time this side
 * waits for that event; the peer notifies when it differs from the value it last answered. */
enum ipc_fifo_word {
    IPC_FW_TAIL = 0,      /* frames written into the peer's receive FIFO */
    IPC_FW_HEAD,          /* frames consumed of the peer's transmit FIFO */
    IPC_FW_ARM_READ,      /* waiting for a frame to read */
    IPC_FW_ARM_WRITE,     /* waiting for room to write */
    IPC_FW_ARM_EMPTY,     /* waiting for the peer to have read everything */
    IPC_FW_N
};
#define IPC_FIFO_ARM_N 3
#define IPC_FIFO_ARM(w) ((w) - IPC_FW_ARM_READ)

enum ipc_fifo_whom { IPC_FIFO_PEER = 0, IPC_FIFO_SELF = 1 };

struct ipc_fifo_backend {
    /* Makes this side's word `w` = v visible to the peer, sequentially consistent: a later load of a
     * word the peer writes must not see memory older than the store's arrival. Used for words whose
     * out[] pointer is NULL. Never fails: a peer that is gone is found by the handshake. */
    void (*store)(void *ctx, enum ipc_fifo_word w, uint32_t v);
    /* Optional, for a FIFO without a mapped transmit area (tx_frames NULL: a transfer map): writes the
     * frame in slot `slot` from `frame` (frame_size bytes) and then the TAIL word = tail, as store() does,
     * in one step. */
    void (*put_frame)(void *ctx, uint32_t slot, const void *frame, uint32_t tail);
    /* Wakes the peer's event fd (IPC_FIFO_PEER) or this side's own (IPC_FIFO_SELF). */
    void (*notify)(void *ctx, enum ipc_fifo_whom whom);
};

struct ipc_fifo {
    const struct ipc_fifo_backend *be;
    void *ctx;
    struct ipc_conn *conn;                   /* reads: state EST, draining */
    const int *notify_enabled;               /* NvSciIpcEnableNotification */
    uint32_t nframes, fsize;
    /* the peer's words, read locally */
    const _Atomic uint32_t *in_tail;         /* frames the peer wrote into our receive FIFO */
    const _Atomic uint32_t *in_head;         /* frames the peer consumed of our transmit FIFO */
    const _Atomic uint32_t *in_arm[IPC_FIFO_ARM_N];
    /* our words: stored directly where mapped (seq_cst), else through be->store */
    _Atomic uint32_t *out[IPC_FW_N];
    const uint8_t *rx_frames;
    uint8_t *tx_frames;                      /* NULL: frames are written to `bounce` and put by be->put_frame */
    uint8_t *bounce;
    /* local copies */
    uint32_t tx_tail, tx_head_cache, rx_head, rx_tail_cache;
    int rearm_rx, rearm_tx;                  /* GetEvent last reported READ / WRITE: arm when the I/O runs dry */
    uint32_t arm_seen[IPC_FIFO_ARM_N];       /* the peer's arm counters already answered */
    uint32_t arm_mine[IPC_FIFO_ARM_N];       /* what we last stored into our arm words */
};

/* Zeroes the local indices (the handshake's clear, after the backend zeroed the shared ones). */
void ipc__fifo_clear(struct ipc_fifo *f);
/* The peer's arm counters as they are now count as answered (a peer that left, or a new one). */
void ipc__fifo_forget_arms(struct ipc_fifo *f);
/* Frames the peer wrote that we have not read (0 when the index is out of range). */
int ipc__fifo_rx_pending(const struct ipc_fifo *f);

/* The data path: 0, -EAGAIN (empty / full), -ECONNRESET (not established, or a corrupt index). */
int ipc__fifo_write_frame(struct ipc_fifo *f, volatile void **frame_p);
int ipc__fifo_write_advance(struct ipc_fifo *f);
int ipc__fifo_read_frame(struct ipc_fifo *f, const volatile void **frame_p);
int ipc__fifo_read_advance(struct ipc_fifo *f);

/* GetEvent after the backend's drain and handshake: adds the level events (READ, WRITE, WRITE_EMPTY) of
 * an established channel to *ev, arming for the ones that are not there. */
void ipc__fifo_events(struct ipc_fifo *f, uint32_t *ev);

#endif
