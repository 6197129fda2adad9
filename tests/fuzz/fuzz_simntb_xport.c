/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Fuzzes simntb's transport bytes through the ops table: node 2 exports memory and packs its
 * description; node 1 imports what the input makes of it (rmem_import is what a peer's bytes reach),
 * then reads, maps and releases what it accepted. Both nodes live in this process, opened once.
 *
 * Input: byte 0 is a signed change of the length (the packed length plus it), the other bytes are
 * XORed onto the real description from its first byte, so the input "\0" is the real description.
 * Asserted: no crash (ASan/UBSan under make fuzz); the real description imports and reads back what
 * node 2 wrote; whatever is accepted reads its first byte and maps its first page (or refuses the map
 * with an error), and the same bytes never import as coming from a node that is not on the fabric.
 * Uses only the osci_drv_* wrappers: nothing of simntb's internals.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "osci_log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FX_SIZE (16u << 10)

static struct osci_drv *A, *B;
static struct osci_drv_mem_view bview;
static struct osci_drv_mem *bmem;
static uint8_t pk[OSCI_DRV_XPORT_MAX];
static size_t pl;

static void fx_close(void)
{
    if (bmem)
        osci_drv_mem_unexport(B, bmem);
    if (bview.addr)
        osci_drv_mem_free(B, &bview);
    osci_drv_close(A);
    osci_drv_close(B);
}

static void fx_setup(void)
{
    char fabric[64];

    fz_fabric_name(fabric, sizeof(fabric), "fx");
    osci_log_init();
    if (!getenv("OSCI_LOG_LEVEL"))
        osci_log_level = OSCI_LOG_ERROR;      /* refusals log a warning each: not per run */
    if (fz_simntb_open(&A, 1, fabric, "64K", NULL) || fz_simntb_open(&B, 2, fabric, "64K", NULL)) {
        fprintf(stderr, "fuzz_simntb_xport: cannot open two simntb nodes on fabric %s\n", fabric);
        abort();
    }
    atexit(fx_close);
    pl = sizeof(pk);
    if (osci_drv_mem_alloc(B, FX_SIZE, &bview) || osci_drv_mem_export(B, &bview, &bmem) ||
        osci_drv_mem_pack(B, bmem, pk, &pl) || pl == 0 || pl > sizeof(pk)) {
        fprintf(stderr, "fuzz_simntb_xport: cannot export and pack node 2's memory\n");
        abort();
    }
    for (size_t i = 0; i < FX_SIZE; i++)
        ((uint8_t *)bview.addr)[i] = (uint8_t)(i * 7 + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t tb[OSCI_DRV_XPORT_MAX + 128];
    struct osci_drv_rmem *rm = NULL;
    long len;
    int real, ret;

    if (!A)
        fx_setup();
    if (size == 0)
        return 0;
    len = (long)pl + (int8_t)data[0];
    if (len < 0)
        len = 0;
    memset(tb, 0, sizeof(tb));
    memcpy(tb, pk, pl);
    for (size_t i = 1; i < size && i - 1 < sizeof(tb); i++)
        tb[i - 1] ^= data[i];
    real = (size_t)len == pl && !memcmp(tb, pk, pl);

    if (osci_drv_rmem_import(A, 3, tb, (size_t)len, &rm) == 0)
        abort();                              /* node 3 is not on the fabric */
    ret = osci_drv_rmem_import(A, 2, tb, (size_t)len, &rm);
    if (real && ret != 0)
        abort();
    if (ret == 0) {
        uint8_t b[2] = { 0, 0 };
        void *map = NULL;

        if (osci_drv_get(A, rm, 0, b, 1) != 0)
            abort();                          /* an accepted import reads its first byte */
        if (real && b[0] != 1)
            abort();
        (void)osci_drv_get(A, rm, SIZE_MAX - 1, b, 2);   /* out of range: an error, no access */
        if (osci_drv_rmem_map(A, rm, 0, 4096, 1, &map) == 0) {
            volatile const uint8_t *m = map;
            b[1] = (uint8_t)(m[0] + m[4095]);
            if (real && m[0] != 1)
                abort();
            if (osci_drv_rmem_unmap(A, rm, map, 4096) != 0)
                abort();
        }
        osci_drv_rmem_release(A, rm);
    } else if (ret >= 0) {
        abort();
    }
    return 0;
}
