/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Segment protocol codec (docs/segment-protocol.md). Fixed-width little-endian fields:
 *   header (16 bytes): u32 magic, u8 version, u8 type, u16 total length, u32 src node, u32 reserved (0)
 * then a body whose length is exact for the type (CONNECT_OK, INTR_CONNECT_OK, INTERRUPT and BCAST carry a
 * counted tail), laid out by the table `layouts` that both directions walk.
 * Padding and reserved fields must be zero, so every message that decodes re-encodes to the same bytes.
 */
#include <errno.h>
#include <stddef.h>
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

/* One field of a body: where it is in struct seg_msg and its width on the wire (4, 8 or SEG_KEY_LEN). */
struct field {
    uint16_t moff;
    uint8_t width;
};
/* A type's body: its fields in wire order from offset 0 (zero-width terminated), `size` bytes in all (the
 * rest zero padding), then for the counted types a tail of up to tail_max bytes whose length is the 32-bit
 * field at count_moff. */
struct layout {
    const char *name;
    uint8_t size;
    struct field f[6];
    uint16_t count_moff, tail_moff;   /* tail_moff 0: no tail */
    uint32_t tail_max;
};

#define F32(mem) { offsetof(struct seg_msg, u.mem), 4 }
#define F64(mem) { offsetof(struct seg_msg, u.mem), 8 }
#define TAIL(count, bytes, max) offsetof(struct seg_msg, u.count), offsetof(struct seg_msg, u.bytes), (max)

static const struct layout layouts[SEG_MSG_TYPE_COUNT] = {
    [SEG_MSG_HELLO] = { "HELLO", 16, { F32(hello.node), F32(hello.flags), F64(hello.epoch) } },
    [SEG_MSG_CONNECT] = { "CONNECT", 32, { F32(connect.seg_id), F32(connect.requester), F64(connect.conn_id),
                                           { offsetof(struct seg_msg, u.connect.key), SEG_KEY_LEN } } },
    [SEG_MSG_CONNECT_OK] = { "CONNECT_OK", 20,
                             { F64(connect_ok.conn_id), F64(connect_ok.size), F32(connect_ok.xport_len) },
                             TAIL(connect_ok.xport_len, connect_ok.xport, OSCI_DRV_XPORT_MAX) },
    [SEG_MSG_CONNECT_REFUSED] = { "CONNECT_REFUSED", 16, { F64(refused.conn_id), F32(refused.reason) } },
    [SEG_MSG_DISCONNECT] = { "DISCONNECT", 16, { F64(disconnect.conn_id), F32(disconnect.seg_id) } },
    [SEG_MSG_UNAVAILABLE] = { "UNAVAILABLE", 16,
                              { F64(unavailable.conn_id), F32(unavailable.seg_id), F32(unavailable.mode) } },
    [SEG_MSG_HEARTBEAT] = { "HEARTBEAT", 16, { F64(heartbeat.epoch), F64(heartbeat.clock_ms) } },
    [SEG_MSG_INTERRUPT] = { "INTERRUPT", 16, { F32(interrupt.intno), F32(interrupt.len), F64(interrupt.conn_id) },
                            TAIL(interrupt.len, interrupt.data, SEG_DATA_INTR_MAX) },
    [SEG_MSG_INTR_CONNECT] = { "INTR_CONNECT", 16,
                               { F32(intr_connect.intno), F32(intr_connect.kind), F64(intr_connect.req_id) } },
    [SEG_MSG_INTR_CONNECT_OK] = { "INTR_CONNECT_OK", 24,
                                  { F64(intr_connect_ok.req_id), F32(intr_connect_ok.db_bit),
                                    F32(intr_connect_ok.slot), F32(intr_connect_ok.credits),
                                    F32(intr_connect_ok.xport_len) },
                                  TAIL(intr_connect_ok.xport_len, intr_connect_ok.xport, OSCI_DRV_XPORT_MAX) },
    [SEG_MSG_INTR_CONNECT_REFUSED] = { "INTR_CONNECT_REFUSED", 16, { F64(refused.conn_id), F32(refused.reason) } },
    [SEG_MSG_INTR_DISCONNECT] = { "INTR_DISCONNECT", 16, { F32(intr_disconnect.intno), F32(intr_disconnect.kind),
                                                           F64(intr_disconnect.conn_id) } },
    [SEG_MSG_BCAST] = { "BCAST", 20, { F32(bcast.seg_id), F32(bcast.op), F64(bcast.size), F32(bcast.xport_len) },
                        TAIL(bcast.xport_len, bcast.xport, OSCI_DRV_XPORT_MAX) },
    [SEG_MSG_INTR_CREDIT] = { "INTR_CREDIT", 16,
                              { F64(intr_credit.conn_id), F32(intr_credit.intno), F32(intr_credit.count) } },
};

/* The layout of type t, or NULL for an unknown type. */
static const struct layout *layout_of(unsigned int t)
{
    return t < SEG_MSG_TYPE_COUNT && layouts[t].size ? &layouts[t] : NULL;
}

static uint32_t field32(const struct seg_msg *m, uint16_t moff)
{
    uint32_t v;

    memcpy(&v, (const char *)m + moff, sizeof(v));
    return v;
}

static int kind_ok(uint32_t k) { return k == SEG_INTR_PLAIN || k == SEG_INTR_DATA; }

/* The value checks of each type beyond its layout (HELLO's flags are checked on decode only). */
static int values_ok(const struct seg_msg *m, int decoding)
{
    switch (m->type) {
    case SEG_MSG_HELLO:
        return !decoding || !(m->u.hello.flags & ~SEG_HELLO_RESET);
    case SEG_MSG_CONNECT_REFUSED:
    case SEG_MSG_INTR_CONNECT_REFUSED:
        return m->u.refused.reason < 0 && m->u.refused.reason > -4096;
    case SEG_MSG_UNAVAILABLE:
        return m->u.unavailable.mode == SEG_UNAVAIL_NOTIFY || m->u.unavailable.mode == SEG_UNAVAIL_FORCE;
    case SEG_MSG_INTR_CONNECT:
        return kind_ok(m->u.intr_connect.kind);
    case SEG_MSG_INTR_DISCONNECT:
        return kind_ok(m->u.intr_disconnect.kind);
    case SEG_MSG_INTR_CONNECT_OK:
        return m->u.intr_connect_ok.db_bit < OSCI_DRV_DB_COUNT;
    case SEG_MSG_BCAST:
        return m->u.bcast.op >= SEG_BCAST_JOIN && m->u.bcast.op <= SEG_BCAST_LEAVE;
    case SEG_MSG_INTR_CREDIT:
        return m->u.intr_credit.count != 0;
    default:
        return 1;
    }
}

int seg_proto_encode(const struct seg_msg *m, void *buf, size_t cap)
{
    const struct layout *l;
    uint8_t *p = buf, *b;
    uint32_t tail = 0;
    size_t total;

    if (!m || !buf || !(l = layout_of(m->type)))
        return -EINVAL;
    if (l->tail_moff && (tail = field32(m, l->count_moff)) > l->tail_max)
        return -EINVAL;
    total = SEG_MSG_HDR_SIZE + l->size + (size_t)tail;
    if (total > cap || total > OSCI_DRV_MSG_MAX || !values_ok(m, 0))
        return -EINVAL;
    memset(p, 0, total);
    put32(p, SEG_PROTO_MAGIC);
    p[4] = SEG_PROTO_VERSION;
    p[5] = (uint8_t)m->type;
    p[6] = (uint8_t)total; p[7] = (uint8_t)(total >> 8);
    put32(p + 8, m->src_node);
    b = p + SEG_MSG_HDR_SIZE;
    for (const struct field *f = l->f; f->width; b += f->width, f++) {
        const char *v = (const char *)m + f->moff;
        uint64_t v64;
        if (f->width == 4) {
            put32(b, field32(m, f->moff));
        } else if (f->width == 8) {
            memcpy(&v64, v, sizeof(v64));
            put64(b, v64);
        } else {
            memcpy(b, v, f->width);
        }
    }
    if (l->tail_moff)
        memcpy(p + SEG_MSG_HDR_SIZE + l->size, (const char *)m + l->tail_moff, tail);
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
    const struct layout *l;
    const uint8_t *p = buf, *b;
    size_t total, blen;
    uint32_t tail = 0;
    struct seg_msg out;

    if (!buf || !m || len < SEG_MSG_HDR_SIZE || len > OSCI_DRV_MSG_MAX)
        return -EBADMSG;
    if (get32(p) != SEG_PROTO_MAGIC)
        return -EBADMSG;
    if (p[4] != SEG_PROTO_VERSION)
        return -EPROTO;
    if (!(l = layout_of(p[5])))
        return -EPROTO;
    total = (size_t)p[6] | (size_t)p[7] << 8;
    if (total != len || get32(p + 12) != 0)
        return -EBADMSG;
    blen = total - SEG_MSG_HDR_SIZE;
    if (blen < l->size || (!l->tail_moff && blen != l->size))
        return -EBADMSG;
    memset(&out, 0, sizeof(out));
    out.type = (enum seg_msg_type)p[5];
    out.src_node = get32(p + 8);
    b = p + SEG_MSG_HDR_SIZE;
    for (const struct field *f = l->f; f->width; b += f->width, f++) {
        char *v = (char *)&out + f->moff;
        uint32_t v32;
        uint64_t v64;
        if (f->width == 4) {
            v32 = get32(b);
            memcpy(v, &v32, sizeof(v32));
        } else if (f->width == 8) {
            v64 = get64(b);
            memcpy(v, &v64, sizeof(v64));
        } else {
            memcpy(v, b, f->width);
        }
    }
    if (!zero(b, (size_t)(p + SEG_MSG_HDR_SIZE + l->size - b)))   /* the padding */
        return -EBADMSG;
    if (l->tail_moff) {
        tail = field32(&out, l->count_moff);
        if (tail > l->tail_max || blen != l->size + (size_t)tail)
            return -EBADMSG;
        memcpy((char *)&out + l->tail_moff, p + SEG_MSG_HDR_SIZE + l->size, tail);
    }
    if (!values_ok(&out, 1))
        return -EBADMSG;
    *m = out;
    return 0;
}

const char *seg_msg_type_str(enum seg_msg_type t)
{
    const struct layout *l = layout_of(t);

    return l ? l->name : "UNKNOWN";
}
