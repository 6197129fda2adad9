/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Fuzzes the doca_mmap export descriptor (libbuf/buf_desc.c, docs/doca.md "Export descriptor"):
 *  1. arbitrary bytes either fail to decode or decode to fields within their bounds that re-encode to
 *     exactly the same bytes; create_from_export without a device refuses them before anything is used;
 *  2. the same with the checksum made right, so the field checks behind it are reached;
 *  3. against a live export: this process exports a range on its own fabric (OSCI_FABRIC, simntb) and the
 *     input's first 8 bytes patch 4 bytes of that export's real descriptor ({offset, xor} pairs; checksum
 *     made right again); create_from_export
 *     of the variant may succeed only when the exporter's node, segment id, size and 128-bit key are the
 *     real ones, and then reads the real data; anything else is refused with INVALID_VALUE or
 *     NOT_PERMITTED (never a crash, never access to the memory).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "buf_desc.h"
#include "doca_mmap.h"
#include "opensci/doca_osci.h"
#include "opensci/osci_log.h"

#define LIVE_LEN 8192

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int live_state;                    /* 0 not tried, 1 live, -1 unavailable */
static struct doca_dev *dev;
static struct doca_mmap *live;
static uint8_t real[BUF_DESC_MAX];
static size_t real_len;
static struct buf_desc real_d;

static void reseal(uint8_t *b, size_t len)
{
    uint32_t c = buf_crc32(b, len - 4);
    for (int i = 0; i < 4; i++)
        b[len - 4 + i] = (uint8_t)(c >> (8 * i));
}

static void live_init(void)
{
    struct doca_devinfo **list;
    uint32_t n = 0;
    const void *desc;
    void *p;

    live_state = -1;
    osci_log_set_level(OSCI_LOG_ERROR);         /* every refused key would log a warning */
    setenv("OSCI_DOCA_NODE_WAIT_MS", "0", 1);   /* forged node ids: refused at once, not waited for */
    if (doca_devinfo_create_list(&list, &n) != DOCA_SUCCESS)
        return;
    if (n == 0 || doca_dev_open(list[0], &dev) != DOCA_SUCCESS) {
        doca_devinfo_destroy_list(list);
        return;
    }
    doca_devinfo_destroy_list(list);
    p = mmap(NULL, LIVE_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        abort();
    memset(p, 0xc3, LIVE_LEN);
    if (doca_mmap_create(&live) != DOCA_SUCCESS || doca_mmap_add_dev(live, dev) != DOCA_SUCCESS ||
        doca_mmap_set_permissions(live, DOCA_ACCESS_FLAG_PCI_READ_WRITE) != DOCA_SUCCESS ||
        doca_mmap_set_memrange(live, p, LIVE_LEN) != DOCA_SUCCESS || doca_mmap_start(live) != DOCA_SUCCESS ||
        doca_mmap_export_pci(live, dev, &desc, &real_len) != DOCA_SUCCESS || real_len > sizeof(real))
        abort();
    memcpy(real, desc, real_len);
    if (buf_desc_decode(real, real_len, &real_d) != 0)
        abort();
    live_state = 1;
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

/* The input patched into the live export's descriptor: refused unless it still names the export exactly. */
static void against_live(const uint8_t *data, size_t size)
{
    uint8_t v[BUF_DESC_MAX];
    struct buf_desc d;
    struct doca_mmap *m = NULL;
    doca_error_t e;
    int named;

    /* the input's first bytes as up to 4 patches {offset, xor}: a few bytes of the real one changed */
    memcpy(v, real, real_len);
    for (size_t i = 0; i + 1 < size && i < 8; i += 2)
        v[data[i] % (real_len - 4)] ^= data[i + 1];
    reseal(v, real_len);
    e = doca_mmap_create_from_export(NULL, v, real_len, dev, &m);
    named = buf_desc_decode(v, real_len, &d) == 0 && d.kind == BUF_DESC_PCI && d.node_id == real_d.node_id &&
            d.segment_id == real_d.segment_id && d.size == real_d.size &&
            !memcmp(d.key, real_d.key, BUF_DESC_KEY_LEN);
    if (e == DOCA_SUCCESS) {
        uint8_t b[64];
        if (!named || doca_osci_mmap_copy_from(m, 0, b, sizeof(b)) != DOCA_SUCCESS || b[0] != 0xc3)
            abort();                     /* access through a descriptor that does not name the export */
        doca_mmap_destroy(m);
        return;
    }
    if (m || (e != DOCA_ERROR_INVALID_VALUE && e != DOCA_ERROR_NOT_PERMITTED && e != DOCA_ERROR_NOT_SUPPORTED)) {
        fprintf(stderr, "fuzz_doca_desc: variant refused with %s\n", doca_error_get_name(e));
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t sealed[BUF_DESC_MAX];

    check(data, size);
    if (size >= BUF_DESC_FIXED && size <= BUF_DESC_MAX) {
        memcpy(sealed, data, size);
        reseal(sealed, size);
        check(sealed, size);
    }
    if (!live_state && getenv("OSCI_FABRIC"))
        live_init();
    if (live_state == 1)
        against_live(data, size);
    return 0;
}
