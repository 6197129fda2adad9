/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Segment protocol codec (docs/segment-protocol.md). Fixed-width little-endian fields:
 *   header (16 bytes): u32 magic, u8 version, u8 type, u16 total length, u32 src node, u32 reserved (0)
 * then a body whose length is exact for the type (CONNECT_OK, INTR_CONNECT_OK and INTERRUPT carry a
 * counted tail).
 * Padding and reserved fields must be zero, so every message that decodes re-encodes to the same bytes.
 */
#include <errno.h>
#include <string.h>

#include "seg_proto.h"

_Static_assert(SEG_MSG_HDR_SIZE == 16, "header layout");
_Static_assert(SEG_DATA_INTR_MAX + SEG_MSG_HDR_SIZE + 16 <= OSCI_DRV_MSG_MAX, "data interrupt fits");
_Static_assert(SEG_MSG_HDR_SIZE + 24 + OSCI_DRV_XPORT_MAX <= OSCI_DRV_MSG_MAX, "INTR_CONNECT_OK fits");
_Static_assert(SEG_MSG_HDR_SIZE + 20 + OSCI_DRV_XPORT_MAX <= OSCI_DRV_MSG_MAX, "CONNECT_OK fits");

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }
static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32; }

/* Body length of a fixed-size type; -1 for the counted ones. */
static int body_len(enum seg_msg_type t)
{
    switch (t) {
    case SEG_MSG_HELLO: return 16;
    case SEG_MSG_CONNECT: return 32;
    case SEG_MSG_CONNECT_OK: return -1;
    case SEG_MSG_CONNECT_REFUSED: return 16;
    case SEG_MSG_DISCONNECT: return 16;
    case SEG_MSG_UNAVAILABLE: return 16;
    case SEG_MSG_HEARTBEAT: return 16;
    case SEG_MSG_INTERRUPT: return -1;
    case SEG_MSG_INTR_CONNECT: return 16;
    case SEG_MSG_INTR_CONNECT_OK: return -1;
    case SEG_MSG_INTR_CONNECT_REFUSED: return 16;
    case SEG_MSG_INTR_DISCONNECT: return 16;
    case SEG_MSG_BCAST: return -1;
    case SEG_MSG_INTR_CREDIT: return 16;
    default: return -2;
    }
}

static int reason_ok(int32_t r) { return r < 0 && r > -4096; }
static int kind_ok(uint32_t k) { return k == SEG_INTR_PLAIN || k == SEG_INTR_DATA; }
static int mode_ok(uint32_t m) { return m == SEG_UNAVAIL_NOTIFY || m == SEG_UNAVAIL_FORCE; }
static int bcast_op_ok(uint32_t o) { return o >= SEG_BCAST_JOIN && o <= SEG_BCAST_LEAVE; }

int seg_proto_encode(const struct seg_msg *m, void *buf, size_t cap)
{
    uint8_t *p = buf, *b;
    int blen;
    size_t total;

    if (!m || !buf)
        return -EINVAL;
    blen = body_len(m->type);
    if (blen == -2)
        return -EINVAL;
    if (m->type == SEG_MSG_CONNECT_OK) {
        if (m->u.connect_ok.xport_len > OSCI_DRV_XPORT_MAX)
            return -EINVAL;
        blen = 20 + (int)m->u.connect_ok.xport_len;
    } else if (m->type == SEG_MSG_INTERRUPT) {
        if (m->u.interrupt.len > SEG_DATA_INTR_MAX)
            return -EINVAL;
        blen = 16 + (int)m->u.interrupt.len;
    } else if (m->type == SEG_MSG_INTR_CONNECT_OK) {
        if (m->u.intr_connect_ok.xport_len > OSCI_DRV_XPORT_MAX)
            return -EINVAL;
        blen = 24 + (int)m->u.intr_connect_ok.xport_len;
    } else if (m->type == SEG_MSG_BCAST) {
        if (m->u.bcast.xport_len > OSCI_DRV_XPORT_MAX)
            return -EINVAL;
        blen = 20 + (int)m->u.bcast.xport_len;
    }
    total = SEG_MSG_HDR_SIZE + (size_t)blen;
    if (total > cap || total > OSCI_DRV_MSG_MAX)
        return -EINVAL;
    memset(p, 0, total);
    put32(p, SEG_PROTO_MAGIC);
    p[4] = SEG_PROTO_VERSION;
    p[5] = (uint8_t)m->type;
    p[6] = (uint8_t)total; p[7] = (uint8_t)(total >> 8);
    put32(p + 8, m->src_node);
    b = p + SEG_MSG_HDR_SIZE;
    switch (m->type) {
    case SEG_MSG_HELLO:
        put32(b, m->u.hello.node); put32(b + 4, m->u.hello.flags); put64(b + 8, m->u.hello.epoch);
        break;
    case SEG_MSG_CONNECT:
        put32(b, m->u.connect.seg_id); put32(b + 4, m->u.connect.requester);
        put64(b + 8, m->u.connect.conn_id); memcpy(b + 16, m->u.connect.key, SEG_KEY_LEN);
        break;
    case SEG_MSG_CONNECT_OK:
        put64(b, m->u.connect_ok.conn_id); put64(b + 8, m->u.connect_ok.size);
        put32(b + 16, m->u.connect_ok.xport_len);
        memcpy(b + 20, m->u.connect_ok.xport, m->u.connect_ok.xport_len);
        break;
    case SEG_MSG_CONNECT_REFUSED:
    case SEG_MSG_INTR_CONNECT_REFUSED:
        if (!reason_ok(m->u.refused.reason))
            return -EINVAL;
        put64(b, m->u.refused.conn_id); put32(b + 8, (uint32_t)m->u.refused.reason);
        break;
    case SEG_MSG_DISCONNECT:
        put64(b, m->u.disconnect.conn_id); put32(b + 8, m->u.disconnect.seg_id);
        break;
    case SEG_MSG_UNAVAILABLE:
        if (!mode_ok(m->u.unavailable.mode))
            return -EINVAL;
        put64(b, m->u.unavailable.conn_id); put32(b + 8, m->u.unavailable.seg_id);
        put32(b + 12, m->u.unavailable.mode);
        break;
    case SEG_MSG_HEARTBEAT:
        put64(b, m->u.heartbeat.epoch); put64(b + 8, m->u.heartbeat.clock_ms);
        break;
    case SEG_MSG_INTERRUPT:
        put32(b, m->u.interrupt.intno); put32(b + 4, m->u.interrupt.len);
        put64(b + 8, m->u.interrupt.conn_id);
        memcpy(b + 16, m->u.interrupt.data, m->u.interrupt.len);
        break;
    case SEG_MSG_INTR_CONNECT:
        if (!kind_ok(m->u.intr_connect.kind))
            return -EINVAL;
        put32(b, m->u.intr_connect.intno); put32(b + 4, m->u.intr_connect.kind);
        put64(b + 8, m->u.intr_connect.req_id);
        break;
    case SEG_MSG_INTR_CONNECT_OK:
        if (m->u.intr_connect_ok.db_bit >= OSCI_DRV_DB_COUNT)
            return -EINVAL;
        put64(b, m->u.intr_connect_ok.req_id); put32(b + 8, m->u.intr_connect_ok.db_bit);
        put32(b + 12, m->u.intr_connect_ok.slot); put32(b + 16, m->u.intr_connect_ok.credits);
        put32(b + 20, m->u.intr_connect_ok.xport_len);
        memcpy(b + 24, m->u.intr_connect_ok.xport, m->u.intr_connect_ok.xport_len);
        break;
    case SEG_MSG_INTR_DISCONNECT:
        if (!kind_ok(m->u.intr_disconnect.kind))
            return -EINVAL;
        put32(b, m->u.intr_disconnect.intno); put32(b + 4, m->u.intr_disconnect.kind);
        put64(b + 8, m->u.intr_disconnect.conn_id);
        break;
    case SEG_MSG_INTR_CREDIT:
        if (m->u.intr_credit.count == 0)
            return -EINVAL;
        put64(b, m->u.intr_credit.conn_id); put32(b + 8, m->u.intr_credit.intno);
        put32(b + 12, m->u.intr_credit.count);
        break;
    case SEG_MSG_BCAST:
        if (!bcast_op_ok(m->u.bcast.op))
            return -EINVAL;
        put32(b, m->u.bcast.seg_id); put32(b + 4, m->u.bcast.op); put64(b + 8, m->u.bcast.size);
        put32(b + 16, m->u.bcast.xport_len);
        memcpy(b + 20, m->u.bcast.xport, m->u.bcast.xport_len);
        break;
    default:
        return -EINVAL;
    }
    return (int)total;
}

static int zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

int seg_proto_decode(const void *buf, size_t len, struct seg_msg *m)
{
    const uint8_t *p = buf, *b;
    size_t total, blen;
    int want;
    struct seg_msg out;

    if (!buf || !m || len < SEG_MSG_HDR_SIZE || len > OSCI_DRV_MSG_MAX)
        return -EBADMSG;
    if (get32(p) != SEG_PROTO_MAGIC)
        return -EBADMSG;
    if (p[4] != SEG_PROTO_VERSION)
        return -EPROTO;
    want = body_len((enum seg_msg_type)p[5]);
    if (p[5] == 0 || want == -2)
        return -EPROTO;
    total = (size_t)p[6] | (size_t)p[7] << 8;
    if (total != len || get32(p + 12) != 0)
        return -EBADMSG;
    blen = total - SEG_MSG_HDR_SIZE;
    if (want >= 0 && blen != (size_t)want)
        return -EBADMSG;
    memset(&out, 0, sizeof(out));
    out.type = (enum seg_msg_type)p[5];
    out.src_node = get32(p + 8);
    b = p + SEG_MSG_HDR_SIZE;
    switch (out.type) {
    case SEG_MSG_HELLO:
        out.u.hello.node = get32(b); out.u.hello.flags = get32(b + 4); out.u.hello.epoch = get64(b + 8);
        if (out.u.hello.flags & ~SEG_HELLO_RESET)
            return -EBADMSG;
        break;
    case SEG_MSG_CONNECT:
        out.u.connect.seg_id = get32(b); out.u.connect.requester = get32(b + 4);
        out.u.connect.conn_id = get64(b + 8); memcpy(out.u.connect.key, b + 16, SEG_KEY_LEN);
        break;
    case SEG_MSG_CONNECT_OK:
        if (blen < 20)
            return -EBADMSG;
        out.u.connect_ok.conn_id = get64(b); out.u.connect_ok.size = get64(b + 8);
        out.u.connect_ok.xport_len = get32(b + 16);
        if (out.u.connect_ok.xport_len > OSCI_DRV_XPORT_MAX || blen != 20 + (size_t)out.u.connect_ok.xport_len)
            return -EBADMSG;
        memcpy(out.u.connect_ok.xport, b + 20, out.u.connect_ok.xport_len);
        break;
    case SEG_MSG_CONNECT_REFUSED:
    case SEG_MSG_INTR_CONNECT_REFUSED:
        out.u.refused.conn_id = get64(b); out.u.refused.reason = (int32_t)get32(b + 8);
        if (!reason_ok(out.u.refused.reason) || !zero(b + 12, 4))
            return -EBADMSG;
        break;
    case SEG_MSG_DISCONNECT:
        if (!zero(b + 12, 4))
            return -EBADMSG;
        out.u.disconnect.conn_id = get64(b); out.u.disconnect.seg_id = get32(b + 8);
        break;
    case SEG_MSG_UNAVAILABLE:
        out.u.unavailable.conn_id = get64(b); out.u.unavailable.seg_id = get32(b + 8);
        out.u.unavailable.mode = get32(b + 12);
        if (!mode_ok(out.u.unavailable.mode))
            return -EBADMSG;
        break;
    case SEG_MSG_HEARTBEAT:
        out.u.heartbeat.epoch = get64(b); out.u.heartbeat.clock_ms = get64(b + 8);
        break;
    case SEG_MSG_INTERRUPT:
        if (blen < 16)
            return -EBADMSG;
        out.u.interrupt.intno = get32(b); out.u.interrupt.len = get32(b + 4);
        out.u.interrupt.conn_id = get64(b + 8);
        if (out.u.interrupt.len > SEG_DATA_INTR_MAX || blen != 16 + (size_t)out.u.interrupt.len)
            return -EBADMSG;
        memcpy(out.u.interrupt.data, b + 16, out.u.interrupt.len);
        break;
    case SEG_MSG_INTR_CONNECT:
        out.u.intr_connect.intno = get32(b); out.u.intr_connect.kind = get32(b + 4);
        out.u.intr_connect.req_id = get64(b + 8);
        if (!kind_ok(out.u.intr_connect.kind))
            return -EBADMSG;
        break;
    case SEG_MSG_INTR_CONNECT_OK:
        if (blen < 24)
            return -EBADMSG;
        out.u.intr_connect_ok.req_id = get64(b); out.u.intr_connect_ok.db_bit = get32(b + 8);
        out.u.intr_connect_ok.slot = get32(b + 12); out.u.intr_connect_ok.credits = get32(b + 16);
        out.u.intr_connect_ok.xport_len = get32(b + 20);
        if (out.u.intr_connect_ok.db_bit >= OSCI_DRV_DB_COUNT || out.u.intr_connect_ok.xport_len > OSCI_DRV_XPORT_MAX ||
            blen != 24 + (size_t)out.u.intr_connect_ok.xport_len)
            return -EBADMSG;
        memcpy(out.u.intr_connect_ok.xport, b + 24, out.u.intr_connect_ok.xport_len);
        break;
    case SEG_MSG_INTR_DISCONNECT:
        out.u.intr_disconnect.intno = get32(b); out.u.intr_disconnect.kind = get32(b + 4);
        out.u.intr_disconnect.conn_id = get64(b + 8);
        if (!kind_ok(out.u.intr_disconnect.kind))
            return -EBADMSG;
        break;
    case SEG_MSG_BCAST:
        if (blen < 20)
            return -EBADMSG;
        out.u.bcast.seg_id = get32(b); out.u.bcast.op = get32(b + 4); out.u.bcast.size = get64(b + 8);
        out.u.bcast.xport_len = get32(b + 16);
        if (!bcast_op_ok(out.u.bcast.op) || out.u.bcast.xport_len > OSCI_DRV_XPORT_MAX ||
            blen != 20 + (size_t)out.u.bcast.xport_len)
            return -EBADMSG;
        memcpy(out.u.bcast.xport, b + 20, out.u.bcast.xport_len);
        break;
    case SEG_MSG_INTR_CREDIT:
        out.u.intr_credit.conn_id = get64(b); out.u.intr_credit.intno = get32(b + 8);
        out.u.intr_credit.count = get32(b + 12);
        if (out.u.intr_credit.count == 0)
            return -EBADMSG;
        break;
    default:
        return -EPROTO;
    }
    *m = out;
    return 0;
}

const char *seg_msg_type_str(enum seg_msg_type t)
{
    switch (t) {
    case SEG_MSG_HELLO: return "HELLO";
    case SEG_MSG_CONNECT: return "CONNECT";
    case SEG_MSG_CONNECT_OK: return "CONNECT_OK";
    case SEG_MSG_CONNECT_REFUSED: return "CONNECT_REFUSED";
    case SEG_MSG_DISCONNECT: return "DISCONNECT";
    case SEG_MSG_UNAVAILABLE: return "UNAVAILABLE";
    case SEG_MSG_HEARTBEAT: return "HEARTBEAT";
    case SEG_MSG_INTERRUPT: return "INTERRUPT";
    case SEG_MSG_INTR_CONNECT: return "INTR_CONNECT";
    case SEG_MSG_INTR_CONNECT_OK: return "INTR_CONNECT_OK";
    case SEG_MSG_INTR_CONNECT_REFUSED: return "INTR_CONNECT_REFUSED";
    case SEG_MSG_INTR_DISCONNECT: return "INTR_DISCONNECT";
    case SEG_MSG_BCAST: return "BCAST";
    case SEG_MSG_INTR_CREDIT: return "INTR_CREDIT";
    default: return "UNKNOWN";
    }
}
