/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Fuzzes the doca_mmap export descriptor decoder (libbuf/buf_desc.c): arbitrary bytes either fail
 * cleanly or decode to fields within their bounds that re-encode to exactly the same bytes. Also
 * feeds them to doca_mmap_create_from_export with no device: refused before anything is used. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf_desc.h"
#include "doca_mmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const uint8_t *data, size_t size);

/* The input as it is, and with its checksum made right so the field checks behind it are reached. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t sealed[BUF_DESC_MAX];

    check(data, size);
    if (size >= BUF_DESC_FIXED && size <= BUF_DESC_MAX) {
        uint32_t c;
        memcpy(sealed, data, size);
        c = buf_crc32(sealed, size - 4);
        for (int i = 0; i < 4; i++)
            sealed[size - 4 + i] = (uint8_t)(c >> (8 * i));
        check(sealed, size);
    }
    return 0;
}

static void check(const uint8_t *data, size_t size)
{
    static const uint8_t zero[BUF_DESC_KEY_LEN];
    struct buf_desc d;
    uint8_t out[BUF_DESC_MAX];
    struct doca_mmap *m = NULL;
    int n;

    if (doca_mmap_create_from_export(NULL, data, size, NULL, &m) != DOCA_ERROR_INVALID_VALUE || m)
        abort();
    if (buf_desc_decode(data, size, &d) != 0)
        return;
    if ((d.kind != BUF_DESC_PCI && d.kind != BUF_DESC_RDMA) || d.xport_len > BUF_DESC_XPORT_MAX || d.size == 0 ||
        d.node_id == 0 || !memcmp(d.key, zero, sizeof(zero)) || d.addr + d.size < d.addr)
        abort();
    n = buf_desc_encode(&d, out, sizeof(out));
    if (n < 0 || (size_t)n != size || memcmp(out, data, size) != 0)
        abort();
}
