/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * osci-bench buf suite: doca_mmap (libopensci-buf) between two nodes of one fabric.
 *   buf.export.lat   node B exports a range (create, set_memrange, start, export_pci), node A imports it
 *                    (create_from_export) and reads its first 64 bytes; the sum of both, per round
 *   buf.copy.bw      A copies into B's exported range through the from-export mmap (doca_osci_mmap_copy_to)
 *   buf.scimemcpy.bw the same size by SCIMemCpy into a plain segment of B on the same adapter (the baseline)
 * The descriptor travels through the pair's shared page.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "bench.h"
#include "doca_mmap.h"
#include "opensci/doca_osci.h"
#include "sisci_api.h"

#define MiB (1024 * 1024)
#define DESC_MAX 1024
#define SCI_SEG_ID 0x4255

/* The shared page: the descriptor's length, then its bytes. */
struct buf_shm {
    volatile uint32_t desc_len;
    unsigned char desc[DESC_MAX];
};

static double bw_seconds;   /* set before fork; read by the children */

static int doca_fail(struct pair_ctl *c, int me, const char *call, doca_error_t e)
{
    bench_pair_fail(c, me, "node %c: %s: %s", me ? 'B' : 'A', call, doca_error_get_name(e));
    return -1;
}

static struct doca_dev *open_dev(struct pair_ctl *c, int me)
{
    struct doca_devinfo **list;
    struct doca_dev *dev = NULL;
    uint32_t n = 0;
    doca_error_t e = doca_devinfo_create_list(&list, &n);

    if (e != DOCA_SUCCESS) {
        doca_fail(c, me, "doca_devinfo_create_list", e);
        return NULL;
    }
    for (uint32_t i = 0; i < n && !dev; i++) {
        uint8_t cap = 0;
        if (doca_mmap_cap_is_export_pci_supported(list[i], &cap) == DOCA_SUCCESS && cap &&
            (e = doca_dev_open(list[i], &dev)) != DOCA_SUCCESS)
            doca_fail(c, me, "doca_dev_open", e);
    }
    doca_devinfo_destroy_list(list);
    if (!dev)
        bench_pair_fail(c, me, "node %c: no device that exports over a window", me ? 'B' : 'A');
    return dev;
}

static void *alloc_range(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    memset(p, 0x5a, size);
    return p;
}

/* B: an exported mmap of `p` (started, PCI read-write); its descriptor into the shared page. */
static int export_range(struct pair_ctl *c, int me, struct doca_dev *dev, void *p, size_t size, struct doca_mmap **m_p)
{
    struct buf_shm *s = (struct buf_shm *)c->shm;
    const void *desc;
    size_t dlen;
    doca_error_t e;

    if ((e = doca_mmap_create(m_p)) != DOCA_SUCCESS)
        return doca_fail(c, me, "doca_mmap_create", e);
    if ((e = doca_mmap_add_dev(*m_p, dev)) != DOCA_SUCCESS ||
        (e = doca_mmap_set_permissions(*m_p, DOCA_ACCESS_FLAG_LOCAL_READ_WRITE | DOCA_ACCESS_FLAG_PCI_READ_WRITE)) !=
            DOCA_SUCCESS ||
        (e = doca_mmap_set_memrange(*m_p, p, size)) != DOCA_SUCCESS || (e = doca_mmap_start(*m_p)) != DOCA_SUCCESS ||
        (e = doca_mmap_export_pci(*m_p, dev, &desc, &dlen)) != DOCA_SUCCESS) {
        doca_mmap_destroy(*m_p);
        *m_p = NULL;
        return doca_fail(c, me, "export", e);
    }
    if (dlen > DESC_MAX) {
        bench_pair_fail(c, me, "node B: descriptor of %zu bytes", dlen);
        return -1;
    }
    memcpy(s->desc, desc, dlen);
    s->desc_len = (uint32_t)dlen;
    return 0;
}

static int export_lat_node(struct pair_ctl *c, int me)
{
    struct buf_shm *s = (struct buf_shm *)c->shm;
    struct doca_dev *dev = NULL;
    struct doca_mmap *m = NULL;
    unsigned char probe[64];
    size_t size = c->size;
    void *p = NULL;
    int rc = -1;

    if (!(dev = open_dev(c, me)))
        goto out;
    if (me == 1 && !(p = alloc_range(size))) {
        bench_pair_fail(c, me, "node B: no memory for %zu bytes", size);
        goto out;
    }
    for (uint64_t i = 0; i < c->warmup + c->iters; i++) {
        uint64_t t0, el;
        if (me == 1) {
            t0 = tool_now_ns();
            if (export_range(c, me, dev, p, size, &m))
                goto out;
            el = tool_now_ns() - t0;
            if (i >= c->warmup)
                c->samples[i - c->warmup] = el;
        }
        if (bench_pair_barrier(c))
            goto out;
        if (me == 0) {
            doca_error_t e;
            struct doca_mmap *r;
            t0 = tool_now_ns();
            if ((e = doca_mmap_create_from_export(NULL, s->desc, s->desc_len, dev, &r)) != DOCA_SUCCESS) {
                doca_fail(c, me, "doca_mmap_create_from_export", e);
                goto out;
            }
            e = doca_osci_mmap_copy_from(r, 0, probe, sizeof(probe));
            el = tool_now_ns() - t0;
            doca_mmap_destroy(r);
            if (e != DOCA_SUCCESS || probe[0] != 0x5a) {
                doca_fail(c, me, "first access", e);
                goto out;
            }
            if (i >= c->warmup)
                c->samples[i - c->warmup] += el;
        }
        if (bench_pair_barrier(c))
            goto out;
        if (me == 1) {
            doca_mmap_destroy(m);
            m = NULL;
        }
    }
    rc = 0;
out:
    if (m)
        doca_mmap_destroy(m);
    if (p)
        munmap(p, size);
    if (dev)
        doca_dev_close(dev);
    return rc;
}

static int copy_bw_node(struct pair_ctl *c, int me)
{
    struct buf_shm *s = (struct buf_shm *)c->shm;
    struct doca_dev *dev = NULL;
    struct doca_mmap *m = NULL;
    void *p = NULL;
    int rc = -1;

    if (!(dev = open_dev(c, me)))
        goto out;
    if (!(p = alloc_range(c->size))) {
        bench_pair_fail(c, me, "no memory for %zu bytes", c->size);
        goto out;
    }
    if (me == 1 && export_range(c, me, dev, p, c->size, &m))
        goto out;
    if (bench_pair_barrier(c))
        goto out;
    if (me == 0) {
        doca_error_t e = doca_mmap_create_from_export(NULL, s->desc, s->desc_len, dev, &m);
        if (e != DOCA_SUCCESS) {
            doca_fail(c, me, "doca_mmap_create_from_export", e);
            goto out;
        }
        BENCH_BW_LOOP(c, bw_seconds, {
            if ((e = doca_osci_mmap_copy_to(m, 0, p, c->size)) != DOCA_SUCCESS) {
                doca_fail(c, me, "doca_osci_mmap_copy_to", e);
                goto out;
            }
        });
        doca_mmap_destroy(m);
        m = NULL;
    }
    rc = bench_pair_barrier(c);
out:
    if (m)
        doca_mmap_destroy(m);
    if (p)
        munmap(p, c->size);
    if (dev)
        doca_dev_close(dev);
    return rc;
}

static int sci_fail(struct pair_ctl *c, int me, const char *call, sci_error_t err)
{
    bench_pair_fail(c, me, "node %c: %s: %s", me ? 'B' : 'A', call, SCIGetErrorString(err));
    return -1;
}

/* The baseline: SCIMemCpy into B's plain segment on the same adapter (0). */
static int sci_bw_node(struct pair_ctl *c, int me)
{
    sci_desc_t sd;
    sci_local_segment_t ls;
    sci_remote_segment_t rs;
    sci_map_t map;
    sci_error_t err;
    unsigned int id = 0;
    void *p = NULL;
    int rc = -1, inited = 0, opened = 0, seg = 0, conn = 0, mapped = 0;

    SCIInitialize(0, &err);
    if (err != SCI_ERR_OK)
        return sci_fail(c, me, "SCIInitialize", err);
    inited = 1;
    SCIOpen(&sd, 0, &err);
    if (err != SCI_ERR_OK) {
        sci_fail(c, me, "SCIOpen", err);
        goto out;
    }
    opened = 1;
    SCIGetLocalNodeId(0, &id, 0, &err);
    c->node_id[me] = id;
    if (me == 1) {
        SCICreateSegment(sd, &ls, SCI_SEG_ID, c->size, NULL, NULL, 0, &err);
        if (err == SCI_ERR_OK)
            SCIPrepareSegment(ls, 0, 0, &err);
        if (err == SCI_ERR_OK)
            SCISetSegmentAvailable(ls, 0, 0, &err);
        if (err != SCI_ERR_OK) {
            sci_fail(c, me, "segment", err);
            goto out;
        }
        seg = 1;
    }
    if (bench_pair_barrier(c))
        goto out;
    if (me == 0) {
        if (!(p = alloc_range(c->size))) {
            bench_pair_fail(c, me, "node A: no memory for %zu bytes", c->size);
            goto out;
        }
        SCIConnectSegment(sd, &rs, c->node_id[1], SCI_SEG_ID, 0, NULL, NULL, 5000, 0, &err);
        if (err != SCI_ERR_OK) {
            sci_fail(c, me, "SCIConnectSegment", err);
            goto out;
        }
        conn = 1;
        SCIMapRemoteSegment(rs, &map, 0, c->size, NULL, 0, &err);
        if (err != SCI_ERR_OK) {
            sci_fail(c, me, "SCIMapRemoteSegment", err);
            goto out;
        }
        mapped = 1;
        BENCH_BW_LOOP(c, bw_seconds, {
            SCIMemCpy(NULL, p, map, 0, c->size, 0, &err);
            if (err != SCI_ERR_OK) {
                sci_fail(c, me, "SCIMemCpy", err);
                goto out;
            }
        });
        SCIUnmapSegment(map, 0, &err);
        mapped = 0;
        SCIDisconnectSegment(rs, 0, &err);
        conn = 0;
    }
    rc = bench_pair_barrier(c);
out:
    if (mapped)
        SCIUnmapSegment(map, 0, &err);
    if (conn)
        SCIDisconnectSegment(rs, 0, &err);
    if (seg)
        SCIRemoveSegment(ls, 0, &err);
    if (opened)
        SCIClose(sd, 0, &err);
    if (inited)
        SCITerminate();
    if (p)
        munmap(p, c->size);
    return rc;
}

static void run_export_lat(const struct bench_test *t, const struct bench_opts *o, size_t size,
                           struct bench_result *r)
{
    if (size == 0 || size % 4096) {
        snprintf(r->error, sizeof(r->error), "size %zu: an exported range is a page multiple", size);
        return;
    }
    bench_pair_lat(t, o, size, sizeof(struct buf_shm), export_lat_node, 1, 0, r);
}

static void run_bw(const struct bench_opts *o, size_t size, struct bench_result *r, pair_fn fn)
{
    struct pair_ctl *c;

    if (size == 0 || size % 4096) {
        snprintf(r->error, sizeof(r->error), "size %zu: an exported range is a page multiple", size);
        return;
    }
    bw_seconds = bench_bw_seconds(o);
    if (!(c = bench_pair_new(0, 0, size, sizeof(struct buf_shm)))) {
        snprintf(r->error, sizeof(r->error), "mmap: %s", strerror(errno));
        return;
    }
    if (bench_pair_run(c, fn, fn, 1, r) == 0 && c->elapsed_ns) {
        r->iters = c->count;
        r->seconds = (double)c->elapsed_ns / 1e9;
        r->bw_MBps = (double)c->count * (double)size / (double)c->elapsed_ns * 1e3;
    }
    bench_pair_free(c);
}

static void run_copy_bw(const struct bench_test *t, const struct bench_opts *o, size_t size, struct bench_result *r)
{
    run_bw(o, size, r, copy_bw_node);
}

static void run_sci_bw(const struct bench_test *t, const struct bench_opts *o, size_t size, struct bench_result *r)
{
    run_bw(o, size, r, sci_bw_node);
}

static const struct bench_test tests[] = {
    { "buf.export.lat", "buf", "sleep", "export_pci + create_from_export + first 64-byte read (one round)",
      BENCH_RTT, { 65536, MiB }, 200, 20, run_export_lat, 0 },
    /* the baseline first: a second bandwidth run on this box tends to be a little faster */
    { "buf.scimemcpy.bw", "buf", "copy", "SCIMemCpy into a plain segment on the same adapter (baseline)",
      BENCH_BW, { 4096, MiB, 16 * MiB }, 0, 0, run_sci_bw, 0 },
    { "buf.copy.bw", "buf", "copy", "doca_osci_mmap_copy_to into a from-export mmap",
      BENCH_BW, { 4096, MiB, 16 * MiB }, 0, 0, run_copy_bw, 0 },
};

static const struct bench_ratio_def ratios[] = {
    { "buf.copy.bw", "buf.scimemcpy.bw", MiB, 1, 0.95 },
};
const struct bench_suite bench_buf_suite = { "buf", tests, BENCH_N(tests), ratios, BENCH_N(ratios) };
