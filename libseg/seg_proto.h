/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The segment protocol (ARCHITECTURE §4.4): a small versioned message set carried by the
 * driver's control messages. Every message starts with magic + version + type + length;
 * decode checks every field and bound and refuses an unknown version (-EPROTO).
 */
#ifndef SEG_PROTO_H
#define SEG_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "osci_drv.h"

#define SEG_PROTO_MAGIC   0x4753534fu   /* "OSSG" little-endian */
#define SEG_PROTO_VERSION 3   /* 2: interrupt slots and data-interrupt credits; 3: 128-bit connect key */

enum seg_msg_type {
    SEG_MSG_HELLO = 1,            /* version, node id, epoch */
    SEG_MSG_CONNECT,              /* segment id, requester node, connection id, 128-bit key (0: plain) */
    SEG_MSG_CONNECT_OK,           /* connection id, size, transport bytes */
    SEG_MSG_CONNECT_REFUSED,      /* connection id, reason (errno) */
    SEG_MSG_DISCONNECT,           /* connection id, segment id (either side) */
    SEG_MSG_UNAVAILABLE,          /* connection id, segment id, notify/force */
    SEG_MSG_HEARTBEAT,            /* epoch, sender's clock */
    SEG_MSG_INTERRUPT,            /* data interrupt: number, connection id, payload */
    SEG_MSG_INTR_CONNECT,         /* interrupt number, kind, request id */
    SEG_MSG_INTR_CONNECT_OK,      /* request id, doorbell bit, trigger slot, credits, trigger area */
    SEG_MSG_INTR_CONNECT_REFUSED, /* request id, reason */
    SEG_MSG_INTR_DISCONNECT,      /* interrupt number, kind, connection id (= request id) */
    SEG_MSG_BCAST,                /* broadcast group membership: group id, op, size, transport bytes */
    SEG_MSG_INTR_CREDIT,          /* data interrupt credits returned: connection id, number, count */
    SEG_MSG_TYPE_COUNT
};

enum seg_unavail_mode { SEG_UNAVAIL_NOTIFY = 1, SEG_UNAVAIL_FORCE = 2 };
/* HELLO flags. RESET: the sender declared this node lost and dropped all it had with it. */
#define SEG_HELLO_RESET 0x1u
enum seg_intr_kind { SEG_INTR_PLAIN = 1, SEG_INTR_DATA = 2 };
/* BCAST ops. JOIN: the sender became a member (size, xport), answer with ACK. SCAN: the sender wants the
 * members, answer with ACK. ACK: the sender's membership (size 0: not a member). LEAVE: no longer one. */
enum seg_bcast_op { SEG_BCAST_JOIN = 1, SEG_BCAST_SCAN, SEG_BCAST_ACK, SEG_BCAST_LEAVE };

/* The connect key: all zero for a plain SISCI connect, else the random key of an exported segment
 * (libseg/seg_export.c) that the owner compares before it answers CONNECT_OK. */
#define SEG_KEY_LEN        16
#define SEG_MSG_HDR_SIZE   16
#define SEG_DATA_INTR_MAX  (OSCI_DRV_MSG_MAX - SEG_MSG_HDR_SIZE - 16)  /* largest data-interrupt payload */

struct seg_msg {
    enum seg_msg_type type;
    uint32_t src_node;
    union {
        struct { uint32_t node; uint32_t flags; uint64_t epoch; } hello;
        struct { uint32_t seg_id; uint32_t requester; uint64_t conn_id; uint8_t key[SEG_KEY_LEN]; } connect;
        struct { uint64_t conn_id; uint64_t size; uint32_t xport_len; uint8_t xport[OSCI_DRV_XPORT_MAX]; } connect_ok;
        struct { uint64_t conn_id; int32_t reason; } refused;        /* CONNECT_REFUSED, INTR_CONNECT_REFUSED */
        struct { uint64_t conn_id; uint32_t seg_id; } disconnect;
        struct { uint64_t conn_id; uint32_t seg_id; uint32_t mode; } unavailable;
        struct { uint64_t epoch; uint64_t clock_ms; } heartbeat;
        struct { uint32_t intno; uint32_t len; uint64_t conn_id; uint8_t data[SEG_DATA_INTR_MAX]; } interrupt;
        struct { uint32_t intno; uint32_t kind; uint64_t req_id; } intr_connect;
        struct { uint64_t req_id; uint32_t db_bit; uint32_t slot; uint32_t credits; uint32_t xport_len;
                 uint8_t xport[OSCI_DRV_XPORT_MAX]; } intr_connect_ok;
        struct { uint32_t intno; uint32_t kind; uint64_t conn_id; } intr_disconnect;
        struct { uint64_t conn_id; uint32_t intno; uint32_t count; } intr_credit;
        struct { uint32_t seg_id; uint32_t op; uint64_t size; uint32_t xport_len; uint8_t xport[OSCI_DRV_XPORT_MAX]; } bcast;
    } u;
};

/* Encode `m` into buf (at most OSCI_DRV_MSG_MAX bytes); returns the length or -EINVAL. */
int seg_proto_encode(const struct seg_msg *m, void *buf, size_t cap);
/* Decode and validate; 0, -EBADMSG (malformed), -EPROTO (unknown version or type). */
int seg_proto_decode(const void *buf, size_t len, struct seg_msg *m);
const char *seg_msg_type_str(enum seg_msg_type t);

#endif
