/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Two-host test of doca_mmap export_rdma / create_from_export (libopensci-buf) over adapter 0 = rdma,
 * run by tests/vmlab/steps/55-doca-rdma.sh on the two guests; also runs on one host over simntb
 * (--kind pci, two processes).
 *
 *   doca_pair --role server|client --sync PREFIX [--kind rdma|pci]
 *
 * The server exports a 256 KiB range filled with its pattern (RDMA_READ | RDMA_WRITE, or PCI_READ_WRITE)
 * and publishes the descriptor (hex) as sync file "desc". The client: a truncated and a forged (wrong
 * key) descriptor are refused; create_from_export; get_memrange gives the size; it reads the server's
 * pattern (copy_from: RDMA READ), writes its own into the second half (copy_to: RDMA WRITE) and signals
 * "written". The server checks the client's data in its own range, stops the mmap and signals
 * "stopped"; the client then sees CONNECTION_RESET and the descriptor stale (NOT_PERMITTED).
 * Prints a transcript and "doca-rdma <role>: N passed, N failed"; exit 0 only when nothing failed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define LAB_NAME "doca-rdma"
#include "lab_report.h"
#include "lab_doca.h"

#define SIZE (256u * 1024u)

static uint8_t pat(size_t i, int who) { return (uint8_t)(i * 13u + (who ? 0x55u : 0x21u)); }

static int run_server(void)
{
    struct doca_mmap *m;
    const void *desc;
    size_t dlen;
    uint8_t *p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    doca_error_t e;
    long bad = 0;

    if (p == MAP_FAILED)
        die("mmap: %s", strerror(errno));
    for (size_t i = 0; i < SIZE; i++)
        p[i] = pat(i, 0);
    if ((e = doca_mmap_create(&m)) != DOCA_SUCCESS || (e = doca_mmap_add_dev(m, dev)) != DOCA_SUCCESS ||
        (e = doca_mmap_set_permissions(m, DOCA_ACCESS_FLAG_LOCAL_READ_WRITE |
                                              (rdma ? DOCA_ACCESS_FLAG_RDMA_READ | DOCA_ACCESS_FLAG_RDMA_WRITE
                                                    : DOCA_ACCESS_FLAG_PCI_READ_WRITE))) != DOCA_SUCCESS ||
        (e = doca_mmap_set_memrange(m, p, SIZE)) != DOCA_SUCCESS || (e = doca_mmap_start(m)) != DOCA_SUCCESS)
        die("mmap setup: %s", doca_error_get_name(e));
    e = rdma ? doca_mmap_export_rdma(m, dev, &desc, &dlen) : doca_mmap_export_pci(m, dev, &desc, &dlen);
    if (!check(e == DOCA_SUCCESS, "export_%s: %s (%zu bytes)", rdma ? "rdma" : "pci", doca_error_get_name(e), dlen))
        die("no descriptor");
    desc_publish(desc, dlen);
    wait_sig("written", T_MS, NULL, 0);
    for (size_t i = SIZE / 2; i < SIZE; i++)
        bad += p[i] != pat(i, 1);
    check(bad == 0, "the client's %u bytes are in this node's own range (%ld wrong)", SIZE / 2, bad);
    e = doca_mmap_stop(m);
    check(e == DOCA_SUCCESS, "stop: %s", doca_error_get_name(e));
    sig("stopped", "1\n");
    wait_sig("done", T_MS, NULL, 0);
    doca_mmap_destroy(m);
    munmap(p, SIZE);
    return 0;
}

static int run_client(void)
{
    uint8_t desc[DESC_MAX], forged[DESC_MAX], *buf = malloc(SIZE);
    size_t dlen, len;
    struct doca_mmap *r, *x = NULL;
    struct doca_osci_desc_info di;
    void *addr;
    doca_error_t e;

    if (!buf)
        die("no memory");
    dlen = desc_receive(desc);
    e = doca_osci_desc_decode(desc, dlen, &di);
    check(e == DOCA_SUCCESS && di.kind == (rdma ? 2u : 1u) && di.size == SIZE, "descriptor decodes: kind %u, %" PRIu64
          " bytes, node %u", di.kind, di.size, di.node_id);
    e = doca_mmap_create_from_export(NULL, desc, dlen - 3, dev, &x);
    check(e == DOCA_ERROR_INVALID_VALUE, "truncated descriptor: %s", doca_error_get_name(e));
    memcpy(forged, desc, dlen);
    forged[50] ^= 0x80;                                /* a key bit */
    {
        uint32_t c = 0xffffffffu;                      /* CRC-32 made right again: only the key is wrong */
        for (size_t i = 0; i < dlen - 4; i++) {
            c ^= forged[i];
            for (int k = 0; k < 8; k++)
                c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
        }
        c = ~c;
        for (int i = 0; i < 4; i++)
            forged[dlen - 4 + (size_t)i] = (uint8_t)(c >> (8 * i));
    }
    e = doca_mmap_create_from_export(NULL, forged, dlen, dev, &x);
    check(e == DOCA_ERROR_NOT_PERMITTED, "forged key refused by the exporter: %s", doca_error_get_name(e));
    e = doca_mmap_create_from_export(NULL, desc, dlen, dev, &r);
    if (!check(e == DOCA_SUCCESS, "create_from_export: %s", doca_error_get_name(e)))
        die("cannot import");
    e = doca_mmap_get_memrange(r, &addr, &len);
    check(e == DOCA_SUCCESS && len == SIZE, "get_memrange: %zu bytes at %p", len, addr);
    read_then_write_half(r, buf, SIZE, "", "");
    sig("written", "1\n");
    wait_sig("stopped", T_MS, NULL, 0);
    e = DOCA_SUCCESS;
    for (int i = 0; i < 1000 && (e = doca_osci_mmap_check(r)) == DOCA_SUCCESS; i++)
        usleep(10000);
    check(e == DOCA_ERROR_CONNECTION_RESET, "after the server's stop: %s", doca_error_get_name(e));
    e = doca_osci_mmap_copy_from(r, 0, buf, 64);
    check(e == DOCA_ERROR_CONNECTION_RESET, "copy_from after stop: %s", doca_error_get_name(e));
    doca_mmap_destroy(r);
    e = doca_mmap_create_from_export(NULL, desc, dlen, dev, &x);
    check(e == DOCA_ERROR_NOT_PERMITTED, "the stale descriptor: %s", doca_error_get_name(e));
    sig("done", "1\n");
    free(buf);
    return 0;
}

static void set_kind(const char *v)
{
    rdma = strcmp(v, "pci") != 0;
}

int main(int argc, char **argv)
{
    static const struct lab_opt opts[] = {
        { "--kind", .fn = set_kind },
        { NULL },
    };
    return lab_doca_main(argc, argv, opts, "usage: doca_pair --role server|client --sync PREFIX [--kind rdma|pci]");
}
