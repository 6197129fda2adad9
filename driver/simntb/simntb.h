/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * simntb fabric layout (see docs/simntb.md). Everything here lives in the shared fabric file
 * /dev/shm/osci.<fabric>; fields shared between processes are accessed with __atomic builtins.
 */
#ifndef SIMNTB_H
#define SIMNTB_H

#include <pthread.h>
#include <stdint.h>

#include "osci_drv.h"

#define SN_MAGIC        0x3142544e4d495355ull  /* "USIMNTB1" little-endian */
#define SN_VERSION      1u
#define SN_PAGE         4096u
#define SN_PORTS        32u
#define SN_SLOTS        16u
#define SN_INFO_SIZE    16384u
#define SN_PORT_SIZE    512u
#define SN_HDR_SIZE     4096u

enum sn_port_state { SN_FREE = 0, SN_JOINING = 1, SN_ACTIVE = 2 };
#define SN_F_LIVENESS_LOST 0x1u
#define SN_F_EXITING       0x2u   /* owner is exiting without close; its window is unlinked */

struct sn_hdr {
    uint64_t magic;
    uint32_t version;
    uint32_t initialized;            /* written last by the creator (release) */
    uint64_t total_size;             /* bytes of the fabric file */
    uint32_t hdr_size, max_ports;
    uint32_t port_size, ring_size;
    uint32_t ring_slots, slot_size;
    uint32_t info_size, closing;     /* closing: the last node unlinked the file */
    uint64_t ports_off, rings_off, info_off;
    uint64_t default_window;
    uint64_t epoch_counter;          /* under lock: ++ per port incarnation */
    pthread_mutex_t lock;            /* robust, process-shared: join / leave / reclaim */
};

struct sn_port {
    uint32_t state;                  /* enum sn_port_state */
    uint32_t node_id;
    int32_t pid;
    uint32_t flags;                  /* SN_F_* */
    uint64_t start_time;             /* /proc/<pid>/stat field 22 */
    uint64_t epoch;
    uint64_t heartbeat_ms;           /* CLOCK_MONOTONIC */
    uint64_t window_size;
    uint64_t event_mask;             /* doorbell bits reported by progress() (wake datagram) */
    uint32_t armed;                  /* 1: the owner sleeps on its event fd */
    uint32_t futex;                  /* bumped per doorbell; db_wait sleeps on it */
    uint32_t db_waiters;
    uint32_t link_disabled;          /* bit q: link to port q disabled (fault injection) */
    uint32_t info_seq;               /* seqlock of the info area: odd while writing */
    uint32_t info_len;
    uint64_t name_rand;              /* random part of this incarnation's window and wake names */
    uint8_t reserved[40];
    uint64_t db[SN_PORTS];           /* doorbell word per source port */
};

struct sn_slot {
    uint32_t len;
    uint32_t reserved;
    uint64_t src_epoch;              /* sender incarnation */
    uint64_t dst_epoch;              /* receiver incarnation it was meant for */
    uint8_t data[OSCI_DRV_MSG_MAX];
};

/* Single producer (src) / single consumer (dst); free-running indices. */
struct sn_ring {
    uint32_t head;                   /* written by the producer */
    uint8_t pad0[60];
    uint32_t tail;                   /* written by the consumer */
    uint8_t pad1[60];
    struct sn_slot slot[SN_SLOTS];
};

/* Region offsets: constants of this build. The header's copies are checked once at attach
 * (docs/simntb.md §3) and never read again. */
#define SN_PORTS_OFF ((uint64_t)SN_HDR_SIZE)
#define SN_RINGS_OFF (SN_PORTS_OFF + (uint64_t)SN_PORTS * SN_PORT_SIZE)
#define SN_INFO_OFF  (SN_RINGS_OFF + (uint64_t)SN_PORTS * SN_PORTS * sizeof(struct sn_ring))

_Static_assert(sizeof(struct sn_hdr) <= SN_HDR_SIZE, "header fits its page");
_Static_assert(sizeof(struct sn_port) <= SN_PORT_SIZE, "port registers fit");
_Static_assert(sizeof(struct sn_slot) == 264, "slot layout");
_Static_assert(sizeof(struct sn_ring) % 8 == 0, "ring alignment");

/* Packed transport description of exported memory (little-endian). */
#define SN_XPORT_MAGIC   0x58544e53u   /* "SNTX" */
#define SN_XPORT_VERSION 1u
#define SN_XPORT_LEN     40u

#endif
