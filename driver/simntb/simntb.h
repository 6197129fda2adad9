/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * simntb fabric layout (see docs/simntb.md). Everything here lives in the shared fabric file
 * /dev/shm/osci.<fabric>; fields shared between processes are accessed with __atomic builtins.
 * Nothing in it is a lock, and no word before the host-local area is written by two processes
 * (single writer per word), so the same layout works where no cross-host atomic exists.
 */
#ifndef SIMNTB_H
#define SIMNTB_H

#include <stdint.h>

#include "osci_drv.h"

#define SN_MAGIC        0x3142544e4d495355ull  /* "USIMNTB1" little-endian */
#define SN_VERSION      2u                     /* 2: single writer per word, no lock in the region */
#define SN_PAGE         4096u
#define SN_PORTS        32u
#define SN_SLOTS        16u
#define SN_DBS          64u                    /* doorbell bits per direction (OSCI_DRV_DB_COUNT) */
#define SN_INFO_SIZE    16384u
#define SN_PORT_SIZE    512u
#define SN_HDR_SIZE     4096u
#define SN_LOCAL_SIZE   64u                    /* host-local words of one port (struct sn_local) */

enum sn_port_state { SN_FREE = 0, SN_JOINING = 1, SN_ACTIVE = 2 };
#define SN_F_LIVENESS_LOST 0x1u
#define SN_F_EXITING       0x2u   /* owner is exiting without close; its window is unlinked */

/* Written once by the creator before `initialized`; read once (a snapshot) at attach. */
struct sn_hdr {
    uint64_t magic;
    uint32_t version;
    uint32_t initialized;            /* written last by the creator (release) */
    uint64_t total_size;             /* bytes of the fabric file */
    uint32_t hdr_size, max_ports;
    uint32_t port_size, ring_size;
    uint32_t ring_slots, slot_size;
    uint32_t info_size, closing;     /* closing: the last node unlinked the file (informative only) */
    uint64_t ports_off, rings_off, info_off;
    uint64_t default_window;
    uint64_t local_off;              /* the simntb provider's host-local words (struct sn_local) */
    uint32_t local_size, n_doorbells;
};

/*
 * Registers of one port. Every word is written by the port's owner only (the single writer); the
 * simntb provider clears the page of an owner that is dead, under its host-local claim lock. Peers
 * only read it.
 */
struct sn_port {
    uint32_t state;                  /* enum sn_port_state */
    uint32_t node_id;
    uint32_t flags;                  /* SN_F_* */
    uint32_t reserved0;
    uint64_t epoch;                  /* random per incarnation, never 0 */
    uint64_t heartbeat_ms;           /* CLOCK_MONOTONIC */
    uint64_t window_size;
    uint64_t event_mask;             /* doorbell bits reported by progress() (wake datagram) */
    uint32_t info_seq;               /* seqlock of the info area: odd while writing */
    uint32_t info_len;
    uint8_t reserved[200];
    uint64_t link_down[SN_PORTS];    /* epoch of port q's incarnation whose link the owner took down; 0 none */
};

struct sn_slot {
    uint32_t len;
    uint32_t reserved;
    uint64_t src_epoch;              /* sender incarnation */
    uint64_t dst_epoch;              /* receiver incarnation it was meant for */
    uint8_t data[OSCI_DRV_MSG_MAX];
};

/*
 * One direction src -> dst: a single producer (src) / single consumer (dst) message ring with
 * free-running indices, and the doorbells of that direction as counters: src bumps db_seq[b] and
 * db_count per ring of bit b, dst writes db_ack[b] := the db_seq[b] it consumed. Bit b is pending
 * while db_seq[b] != db_ack[b]. The first half is written by src only, the second by dst only.
 */
struct sn_ring {
    uint32_t head;                   /* src */
    uint32_t db_count;               /* src: rings of any bit (a reader skips an unchanged direction) */
    uint8_t pad0[56];
    uint32_t db_seq[SN_DBS];         /* src */
    uint32_t tail;                   /* dst */
    uint8_t pad1[60];
    uint32_t db_ack[SN_DBS];         /* dst */
    struct sn_slot slot[SN_SLOTS];   /* src writes a slot before head covers it */
};

/*
 * The simntb provider's host-local words of one port, after the info areas: words that are only
 * meaningful between processes of one host (a pid, a futex, the arm handshake of the wake socket).
 * Several processes of the host write armed, futex and db_waiters (local atomics); the window-device
 * core never touches them (docs/wdev.md).
 */
struct sn_local {
    int32_t pid;                     /* owner */
    uint32_t armed;                  /* 1: the owner sleeps on its event fd; a waker exchanges it to 0 */
    uint64_t start_time;             /* /proc/<pid>/stat field 22 */
    uint64_t name_rand;              /* random part of this incarnation's window and wake names */
    uint32_t futex;                  /* bumped per doorbell; db_wait sleeps on it */
    uint32_t db_waiters;
    uint8_t reserved[32];
};

/* Region offsets: constants of this build. The header's copies are checked once at attach
 * (docs/simntb.md §3) and never read again. */
#define SN_PORTS_OFF ((uint64_t)SN_HDR_SIZE)
#define SN_RINGS_OFF (SN_PORTS_OFF + (uint64_t)SN_PORTS * SN_PORT_SIZE)
#define SN_INFO_OFF  (SN_RINGS_OFF + (uint64_t)SN_PORTS * SN_PORTS * sizeof(struct sn_ring))
#define SN_LOCAL_OFF (SN_INFO_OFF + (uint64_t)SN_PORTS * SN_INFO_SIZE)

_Static_assert(sizeof(struct sn_hdr) <= SN_HDR_SIZE, "header fits its page");
_Static_assert(sizeof(struct sn_port) == SN_PORT_SIZE, "port registers fit");
_Static_assert(sizeof(struct sn_slot) == 264, "slot layout");
_Static_assert(sizeof(struct sn_ring) % 64 == 0, "ring alignment");
_Static_assert(sizeof(struct sn_local) == SN_LOCAL_SIZE, "local words");
_Static_assert(SN_DBS == OSCI_DRV_DB_COUNT, "doorbell count");

/* Packed transport description of exported memory (little-endian). */
#define SN_XPORT_MAGIC   0x58544e53u   /* "SNTX" */
#define SN_XPORT_VERSION 1u
#define SN_XPORT_LEN     40u

#endif
