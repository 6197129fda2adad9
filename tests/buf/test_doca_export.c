/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * export_pci / create_from_export across two processes (two nodes of one simntb fabric), with the data
 * checked both ways; the key (a plain SISCI connect and a forged key are refused); truncated and
 * corrupted descriptors; stop invalidating the importer; stale descriptors after stop and restart.
 * The parent exports (node 31), the child imports (node 32); descriptors travel over a pipe.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../common/osci_test.h"
#include "doca_test.h"
#include "buf_desc.h"
#include "doca_mmap.h"
#include "opensci/doca_osci.h"
#include "sisci_api.h"

#define LEN (64 * 1024)
#define T_MS 20000

enum { STEP_READY = 1, STEP_STOPPED, STEP_RESTARTED, STEP_DONE };

static uint8_t pat(size_t i, unsigned int round) { return (uint8_t)(i * 131u + round * 7u + 1u); }

static int send_desc(int fd, const void *d, size_t len)
{
    if (tproc_send_u32(fd, (uint32_t)len) < 0)
        return -1;
    return tproc_send(fd, d, len);
}

static int recv_desc(int fd, uint8_t *d, size_t *len)
{
    uint32_t l;
    if (tproc_recv_u32(fd, &l, T_MS) < 0 || l > BUF_DESC_MAX)
        return -1;
    *len = l;
    return tproc_recv(fd, d, l, T_MS);
}

/* The CRC of a descriptor edited by a test: a forged one that passes the checksum. */
static void reseal(uint8_t *d, size_t len)
{
    uint32_t c = buf_crc32(d, len - 4);
    for (int i = 0; i < 4; i++)
        d[len - 4 + i] = (uint8_t)(c >> (8 * i));
}

static int wait_reset(struct doca_mmap *r)
{
    for (int i = 0; i < 500; i++) {
        if (doca_osci_mmap_check(r) == DOCA_ERROR_CONNECTION_RESET)
            return 0;
        usleep(10000);
    }
    return -1;
}

static int importer(int rd, int wr, void *arg)
{
    struct doca_dev *dev;
    struct doca_mmap *r, *bad;
    uint8_t desc[BUF_DESC_MAX], forged[BUF_DESC_MAX], buf[LEN];
    size_t dlen, len;
    void *addr, *map;
    uint8_t f;
    uint32_t step, seg_id;
    sci_desc_t sd;
    sci_remote_segment_t rs;
    sci_error_t err;
    struct buf_desc d;

    (void)arg;
    setenv("OSCI_NODE_ID", "32", 1);
    CHECK((dev = dt_open_first()) != NULL);
    CHECK(recv_desc(rd, desc, &dlen) == 0);
    CHECK(buf_desc_decode(desc, dlen, &d) == 0);
    seg_id = d.segment_id;

    /* truncated, corrupted, unknown version: INVALID_VALUE, before anything is connected */
    for (size_t l = 0; l < dlen; l += 7)
        CHECK(doca_mmap_create_from_export(NULL, desc, l, dev, &bad) == DOCA_ERROR_INVALID_VALUE);
    memcpy(forged, desc, dlen);
    forged[30] ^= 0x40;
    CHECK(doca_mmap_create_from_export(NULL, forged, dlen, dev, &bad) == DOCA_ERROR_INVALID_VALUE);
    memcpy(forged, desc, dlen);
    forged[4] = 2;
    reseal(forged, dlen);
    CHECK(doca_mmap_create_from_export(NULL, forged, dlen, dev, &bad) == DOCA_ERROR_INVALID_VALUE);
    /* forged key (checksum right): the exporter refuses it */
    memcpy(forged, desc, dlen);
    forged[48 + 5] ^= 0x01;
    reseal(forged, dlen);
    {
        doca_error_t e = doca_mmap_create_from_export(NULL, forged, dlen, dev, &bad);
        if (e != DOCA_ERROR_NOT_PERMITTED)
            fprintf(stderr, "forged key: %s\n", doca_error_get_name(e));
        CHECK(e == DOCA_ERROR_NOT_PERMITTED);
    }
    /* forged segment id: no such export */
    memcpy(forged, desc, dlen);
    forged[20] ^= 0x55;
    reseal(forged, dlen);
    CHECK(doca_mmap_create_from_export(NULL, forged, dlen, dev, &bad) == DOCA_ERROR_NOT_PERMITTED);
    /* a plain SISCI connect (no key) to the exported segment: refused */
    SCIInitialize(0, &err);
    CHECK(err == SCI_ERR_OK);
    SCIOpen(&sd, 0, &err);
    CHECK(err == SCI_ERR_OK);
    SCIConnectSegment(sd, &rs, d.node_id, seg_id, 0, NULL, NULL, 2000, 0, &err);
    CHECK(err == SCI_ERR_ACCESS);

    /* the real descriptor */
    union doca_data ud = { .u64 = 5 }, got;
    CHECK(doca_mmap_create_from_export(&ud, desc, dlen, dev, &r) == DOCA_SUCCESS);
    CHECK(doca_mmap_get_from_export(r, &f) == DOCA_SUCCESS && f == 1);
    CHECK(doca_mmap_get_user_data(r, &got) == DOCA_SUCCESS && got.u64 == 5);
    CHECK(doca_mmap_get_memrange(r, &addr, &len) == DOCA_SUCCESS && len == LEN);
    /* nothing configurable on it */
    CHECK(doca_mmap_start(r) == DOCA_ERROR_NOT_PERMITTED);
    CHECK(doca_mmap_stop(r) == DOCA_ERROR_NOT_PERMITTED);
    CHECK(doca_mmap_set_memrange(r, buf, 4096) == DOCA_ERROR_NOT_PERMITTED);
    CHECK(doca_mmap_add_dev(r, dev) == DOCA_ERROR_NOT_PERMITTED);
    CHECK(doca_mmap_set_permissions(r, 0) == DOCA_ERROR_NOT_PERMITTED);
    {
        const void *x;
        size_t xl;
        CHECK(doca_mmap_export_pci(r, dev, &x, &xl) == DOCA_ERROR_NOT_PERMITTED);
    }
    /* read the exporter's pattern by copy and through the mapping */
    CHECK(doca_osci_mmap_copy_from(r, 0, buf, LEN) == DOCA_SUCCESS);
    for (size_t i = 0; i < LEN; i++)
        CHECK(buf[i] == pat(i, 0));
    CHECK(doca_osci_mmap_copy_from(r, LEN - 8, buf, 16) == DOCA_ERROR_INVALID_VALUE);
    CHECK(doca_osci_mmap_map(r, &map, &len) == DOCA_SUCCESS && map == addr && len == LEN);
    CHECK(memcmp(map, buf, LEN) == 0);
    /* write round 1: first half by copy, second half through the mapping */
    for (size_t i = 0; i < LEN; i++)
        buf[i] = pat(i, 1);
    CHECK(doca_osci_mmap_copy_to(r, 0, buf, LEN / 2) == DOCA_SUCCESS);
    memcpy((uint8_t *)map + LEN / 2, buf + LEN / 2, LEN / 2);
    CHECK(doca_mmap_destroy(r) == DOCA_ERROR_NOT_PERMITTED);   /* the mapping is a buffer */
    CHECK(doca_osci_mmap_unmap(r, map) == DOCA_SUCCESS);
    CHECK(tproc_send_u32(wr, STEP_READY) == 0);

    /* the exporter stops: this mmap is invalidated; the descriptor is stale */
    CHECK(tproc_recv_u32(rd, &step, T_MS) == 0 && step == STEP_STOPPED);
    CHECK(wait_reset(r) == 0);
    CHECK(doca_osci_mmap_copy_from(r, 0, buf, 64) == DOCA_ERROR_CONNECTION_RESET);
    CHECK(doca_osci_mmap_copy_to(r, 0, buf, 64) == DOCA_ERROR_CONNECTION_RESET);
    CHECK(doca_mmap_destroy(r) == DOCA_SUCCESS);
    CHECK(doca_mmap_create_from_export(NULL, desc, dlen, dev, &bad) == DOCA_ERROR_NOT_PERMITTED);

    /* restarted and exported again: the old descriptor stays stale, the new one works */
    CHECK(tproc_recv_u32(rd, &step, T_MS) == 0 && step == STEP_RESTARTED);
    {
        uint8_t nd[BUF_DESC_MAX];
        size_t nl;
        CHECK(recv_desc(rd, nd, &nl) == 0);
        CHECK(doca_mmap_create_from_export(NULL, desc, dlen, dev, &bad) == DOCA_ERROR_NOT_PERMITTED);
        CHECK(doca_mmap_create_from_export(NULL, nd, nl, dev, &r) == DOCA_SUCCESS);
        CHECK(doca_osci_mmap_copy_from(r, 0, buf, LEN) == DOCA_SUCCESS);
        for (size_t i = 0; i < LEN; i++)
            CHECK(buf[i] == pat(i, 1));
        /* read-only export: copies into it refused */
        CHECK(doca_osci_mmap_copy_to(r, 0, buf, 64) == DOCA_ERROR_NOT_PERMITTED);
        CHECK(doca_mmap_destroy(r) == DOCA_SUCCESS);
    }
    CHECK(tproc_send_u32(wr, STEP_DONE) == 0);
    SCIClose(sd, 0, &err);
    SCITerminate();
    CHECK(doca_dev_close(dev) == DOCA_SUCCESS);
    return 0;
}

static void test_export_import(void **state)
{
    struct tproc c;
    struct doca_dev *dev;
    struct doca_mmap *m;
    uint8_t *p;
    const void *desc;
    size_t dlen;
    uint32_t step;

    (void)state;
    /* the child first: a fork inherits no library state that way */
    assert_int_equal(tproc_start(&c, importer, NULL), 0);
    setenv("OSCI_NODE_ID", "31", 1);
    assert_non_null(dev = dt_open_first());
    p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(p != MAP_FAILED);
    for (size_t i = 0; i < LEN; i++)
        p[i] = pat(i, 0);
    assert_int_equal(dt_export_pci(dev, p, LEN, DOCA_ACCESS_FLAG_LOCAL_READ_WRITE | DOCA_ACCESS_FLAG_PCI_READ_WRITE, &m,
                                   &desc, &dlen), DOCA_SUCCESS);
    assert_int_equal(send_desc(c.wr, desc, dlen), 0);
    assert_int_equal(tproc_recv_u32(c.rd, &step, T_MS), 0);
    assert_int_equal(step, STEP_READY);
    /* the importer's writes are in the exporter's own range */
    for (size_t i = 0; i < LEN; i++)
        if (p[i] != pat(i, 1))
            fail_msg("byte %zu: %u, expected %u", i, p[i], pat(i, 1));
    assert_int_equal(doca_mmap_stop(m), DOCA_SUCCESS);
    /* stopped: the range is private again and keeps the content */
    assert_int_equal(p[7], pat(7, 1));
    assert_int_equal(tproc_send_u32(c.wr, STEP_STOPPED), 0);
    /* restart read-only and export again */
    usleep(100000);
    assert_int_equal(doca_mmap_destroy(m), DOCA_SUCCESS);
    assert_int_equal(dt_export_pci(dev, p, LEN, DOCA_ACCESS_FLAG_PCI_READ_ONLY, &m, &desc, &dlen), DOCA_SUCCESS);
    assert_int_equal(tproc_send_u32(c.wr, STEP_RESTARTED), 0);
    assert_int_equal(send_desc(c.wr, desc, dlen), 0);
    assert_int_equal(tproc_recv_u32(c.rd, &step, T_MS), 0);
    assert_int_equal(step, STEP_DONE);
    assert_int_equal(tproc_wait(&c, T_MS), 0);
    assert_int_equal(doca_mmap_destroy(m), DOCA_SUCCESS);
    assert_int_equal(doca_dev_close(dev), DOCA_SUCCESS);
    munmap(p, LEN);
}

OSCI_TEST_MAIN("docaexp", NULL, NULL,
               cmocka_unit_test_teardown(test_export_import, tproc_teardown))
