/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The export descriptor codec. Layout (little-endian, docs/doca.md "Export descriptor"):
 *   0 u32 magic "ODMX"   4 u16 version   6 u16 kind   8 u32 total length   12 u32 exporter node id
 *  16 u32 adapter       20 u32 segment id 24 u64 size  32 u64 exporter address 40 u32 access mask
 *  44 u32 xport_len     48 key[16]        64 xport[xport_len]   64 + xport_len: u32 CRC-32 of the rest
 */
#include <errno.h>
#include <string.h>

#include "buf_desc.h"

#define ACCESS_DEFINED 0x7fu

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) | (uint32_t)get16(p + 2) << 16; }
static uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32; }

/* CRC-32 (IEEE 802.3, reflected, as zlib's crc32): catches corruption in transit; the key, not the
 * checksum, is what keeps a forged descriptor out. */
uint32_t buf_crc32(const void *buf, size_t len)
{
    const uint8_t *p = buf;
    uint32_t c = 0xffffffffu;

    for (size_t i = 0; i < len; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return ~c;
}

static int kind_ok(uint32_t kind) { return kind == BUF_DESC_PCI || kind == BUF_DESC_RDMA; }

int buf_desc_encode(const struct buf_desc *d, void *buf, size_t cap)
{
    uint8_t *b = buf;
    size_t total;

    if (!d || !buf || !kind_ok(d->kind) || d->xport_len > BUF_DESC_XPORT_MAX)
        return -EINVAL;
    total = BUF_DESC_FIXED + d->xport_len;
    if (cap < total)
        return -EINVAL;
    put32(b, BUF_DESC_MAGIC);
    put16(b + 4, BUF_DESC_VERSION);
    put16(b + 6, d->kind);
    put32(b + 8, (uint32_t)total);
    put32(b + 12, d->node_id);
    put32(b + 16, d->adapter_no);
    put32(b + 20, d->segment_id);
    put64(b + 24, d->size);
    put64(b + 32, d->addr);
    put32(b + 40, d->access);
    put32(b + 44, d->xport_len);
    memcpy(b + 48, d->key, BUF_DESC_KEY_LEN);
    memcpy(b + 64, d->xport, d->xport_len);
    put32(b + 64 + d->xport_len, buf_crc32(b, 64 + d->xport_len));
    return (int)total;
}

int buf_desc_decode(const void *buf, size_t len, struct buf_desc *d)
{
    static const uint8_t zero[BUF_DESC_KEY_LEN];
    const uint8_t *b = buf;
    struct buf_desc out;
    uint32_t total, xlen;

    if (!buf || !d || len < BUF_DESC_FIXED || len > BUF_DESC_MAX)
        return -EINVAL;
    if (get32(b) != BUF_DESC_MAGIC)
        return -EINVAL;
    if (get16(b + 4) != BUF_DESC_VERSION)
        return -EPROTONOSUPPORT;
    total = get32(b + 8);
    xlen = get32(b + 44);
    if (total != len || xlen > BUF_DESC_XPORT_MAX || BUF_DESC_FIXED + xlen != total)
        return -EINVAL;
    if (get32(b + 64 + xlen) != buf_crc32(b, 64 + xlen))
        return -EBADMSG;
    memset(&out, 0, sizeof(out));
    out.kind = get16(b + 6);
    out.node_id = get32(b + 12);
    out.adapter_no = get32(b + 16);
    out.segment_id = get32(b + 20);
    out.size = get64(b + 24);
    out.addr = get64(b + 32);
    out.access = get32(b + 40);
    out.xport_len = xlen;
    memcpy(out.key, b + 48, BUF_DESC_KEY_LEN);
    memcpy(out.xport, b + 64, xlen);
    if (!kind_ok(out.kind) || out.node_id == 0 || out.size == 0 || out.addr + out.size < out.addr ||
        (out.access & ~ACCESS_DEFINED) || !memcmp(out.key, zero, BUF_DESC_KEY_LEN))
        return -EINVAL;
    *d = out;
    return 0;
}
