/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* The doca_mmap export descriptor (docs/doca.md "Export descriptor"): encode, and a decoder that
 * checks every field and bound of untrusted bytes (tests/fuzz/fuzz_doca_desc.c). */
#ifndef BUF_DESC_H
#define BUF_DESC_H

#include <stddef.h>
#include <stdint.h>

#define BUF_DESC_MAGIC     0x584d444fu   /* "ODMX" little-endian */
#define BUF_DESC_VERSION   1
#define BUF_DESC_KEY_LEN   16
#define BUF_DESC_XPORT_MAX 64
#define BUF_DESC_FIXED     68            /* every byte but the transport bytes */
#define BUF_DESC_MAX       (BUF_DESC_FIXED + BUF_DESC_XPORT_MAX)

enum buf_desc_kind { BUF_DESC_PCI = 1, BUF_DESC_RDMA = 2 };

struct buf_desc {
    uint16_t kind;                       /* enum buf_desc_kind */
    uint32_t node_id;
    uint32_t adapter_no;
    uint32_t segment_id;
    uint64_t size;
    uint64_t addr;                       /* the exporter's address of the range */
    uint32_t access;                     /* doca_access_flag bits granted */
    uint32_t xport_len;
    uint8_t key[BUF_DESC_KEY_LEN];
    uint8_t xport[BUF_DESC_XPORT_MAX];
};

/* Writes the descriptor into buf (at least BUF_DESC_MAX bytes); returns its length or -EINVAL. */
int buf_desc_encode(const struct buf_desc *d, void *buf, size_t cap);
/* 0, or -EINVAL (truncated, wrong magic/length/kind, a field out of bounds, a zero key),
 * -EPROTONOSUPPORT (another format version), -EBADMSG (checksum). */
int buf_desc_decode(const void *buf, size_t len, struct buf_desc *d);
uint32_t buf_crc32(const void *buf, size_t len);

#endif
