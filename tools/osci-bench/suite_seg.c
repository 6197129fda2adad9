/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* osci-bench seg suite: segment PIO, SCIMemCpy and interrupts, each beside its raw floor. */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sisci_api.h"
#include "bench.h"

#define SEG_ID_BASE 0x0B00u    /* node A's segment id; B uses +1 */
#define BENCH_INTNO 3u
#define CONNECT_TRIES_MS 20000

struct node {
    sci_desc_t sd;
    sci_local_segment_t lseg;
    sci_map_t lmap;
    volatile uint8_t *local;
    sci_remote_segment_t rseg;
    sci_map_t rmap;
    volatile uint8_t *remote;
    sci_local_interrupt_t lintr;
    sci_remote_interrupt_t rintr;
    unsigned int peer;
    int inited, opened, avail;
};

static int sci_fail(struct pair_ctl *c, int me, const char *call, sci_error_t err)
{
    bench_pair_fail(c, me, "node %c: %s: %s", 'A' + me, call, SCIGetErrorString(err));
    return -1;
}

/* Initialise, open, publish our node id and learn the peer's. */
static int node_start(struct pair_ctl *c, int me, struct node *n)
{
    sci_error_t err;
    unsigned int id = 0;
    memset(n, 0, sizeof(*n));
    SCIInitialize(0, &err);
    if (err != SCI_ERR_OK)
        return sci_fail(c, me, "SCIInitialize", err);
    n->inited = 1;
    SCIOpen(&n->sd, 0, &err);
    if (err != SCI_ERR_OK)
        return sci_fail(c, me, "SCIOpen", err);
    n->opened = 1;
    SCIGetLocalNodeId(0, &id, 0, &err);
    if (err != SCI_ERR_OK)
        return sci_fail(c, me, "SCIGetLocalNodeId", err);
    c->node_id[me] = id;
    if (c->nparts == 2) {
        if (bench_pair_barrier(c))
            return -1;
        n->peer = c->node_id[1 - me];
    }
    return 0;
}

static void node_stop(struct node *n)
{
    sci_error_t err;
    if (n->opened)
        SCIClose(n->sd, 0, &err);
    if (n->inited)
        SCITerminate();
}

static int seg_create(struct pair_ctl *c, int me, struct node *n, unsigned int id, size_t size)
{
    sci_error_t err;
    char what[96];
    SCICreateSegment(n->sd, &n->lseg, id, size, NULL, NULL, 0, &err);
    if (err != SCI_ERR_OK) {
        snprintf(what, sizeof(what), "SCICreateSegment(id %#x, %zu bytes)", id, size);
        n->lseg = NULL;
        return sci_fail(c, me, what, err);
    }
    SCIPrepareSegment(n->lseg, 0, 0, &err);
    if (err != SCI_ERR_OK)
        return sci_fail(c, me, "SCIPrepareSegment", err);
    n->local = SCIMapLocalSegment(n->lseg, &n->lmap, 0, size, NULL, 0, &err);
    if (err != SCI_ERR_OK) {
        n->lmap = NULL;
        return sci_fail(c, me, "SCIMapLocalSegment", err);
    }
    memset((void *)n->local, 0, size);
    SCISetSegmentAvailable(n->lseg, 0, 0, &err);
    if (err != SCI_ERR_OK)
        return sci_fail(c, me, "SCISetSegmentAvailable", err);
    n->avail = 1;
    return 0;
}

/* The peer may not have made its segment available yet: retry until it has (or the run is aborted). */
static int seg_connect(struct pair_ctl *c, int me, struct node *n, unsigned int id, size_t size)
{
    sci_error_t err = SCI_ERR_OK;
    uint64_t deadline = tool_now_ns() + CONNECT_TRIES_MS * 1000000ull;
    do {
        SCIConnectSegment(n->sd, &n->rseg, n->peer, id, 0, NULL, NULL, 1000, 0, &err);
        if (err == SCI_ERR_OK)
            break;
        n->rseg = NULL;
        if (bench_pair_aborted(c))
            return -1;
        usleep(2000);
    } while (tool_now_ns() < deadline);
    if (err != SCI_ERR_OK)
        return sci_fail(c, me, "SCIConnectSegment", err);
    n->remote = SCIMapRemoteSegment(n->rseg, &n->rmap, 0, size, NULL, 0, &err);
    if (err != SCI_ERR_OK) {
        n->rmap = NULL;
        return sci_fail(c, me, "SCIMapRemoteSegment", err);
    }
    return 0;
}

static void seg_drop_remote(struct node *n)
{
    sci_error_t err;
    if (n->rmap)
        SCIUnmapSegment(n->rmap, 0, &err);
    if (n->rseg)
        SCIDisconnectSegment(n->rseg, 0, &err);
    n->rmap = NULL;
    n->rseg = NULL;
}

static void seg_drop_local(struct node *n)
{
    sci_error_t err;
    if (n->lmap)
        SCIUnmapSegment(n->lmap, 0, &err);
    if (n->avail)
        SCISetSegmentUnavailable(n->lseg, 0, 0, &err);
    if (n->lseg)
        SCIRemoveSegment(n->lseg, 0, &err);
    n->lmap = NULL;
    n->lseg = NULL;
    n->avail = 0;
}

/* ---- ping-pong on a flag word: the same loop for segment maps and the plain shared mmap ---- */

static int wait_flag(struct pair_ctl *c, volatile uint8_t *mine, size_t size, uint64_t seq)
{
    volatile uint64_t *flag = (volatile uint64_t *)(mine + size - 8);
    unsigned int spins = 0;
    while (__atomic_load_n(flag, __ATOMIC_ACQUIRE) != seq) {
        bench_cpu_relax();
        if (++spins == 1u << 20) {
            spins = 0;
            if (bench_pair_aborted(c))
                return -1;
        }
    }
    return 0;
}

static void post(volatile uint8_t *theirs, const uint8_t *payload, size_t size, uint64_t seq, int flush)
{
    if (size > 8)
        memcpy((void *)theirs, payload, size - 8);
    __atomic_store_n((volatile uint64_t *)(theirs + size - 8), seq, __ATOMIC_RELEASE);
    if (flush)
        SCIFlush(NULL, 0);
}

static int pingpong(struct pair_ctl *c, int me, volatile uint8_t *mine, volatile uint8_t *theirs, int flush)
{
    uint8_t payload[4096];
    size_t size = c->size;
    uint64_t total = c->warmup + c->iters;
    if (size > sizeof(payload))
        size = sizeof(payload);
    memset(payload, 0x5a, sizeof(payload));
    if (bench_pair_barrier(c))
        return -1;
    bench_pair_cpu(c, me, 1);
    for (uint64_t i = 0; i < total; i++) {
        uint64_t seq = i + 1;
        if (me == 0) {
            uint64_t t0 = tool_now_ns();
            post(theirs, payload, size, seq, flush);
            if (wait_flag(c, mine, size, seq))
                return -1;
            uint64_t t1 = tool_now_ns();
            if (i >= c->warmup)
                c->samples[i - c->warmup] = t1 - t0;
        } else {
            if (wait_flag(c, mine, size, seq))
                return -1;
            if (size > 8)
                memcpy(payload, (const void *)mine, size - 8);
            post(theirs, payload, size, seq, flush);
        }
    }
    bench_pair_cpu(c, me, 0);
    return 0;
}

static int pio_node(struct pair_ctl *c, int me)
{
    struct node n;
    int rc = -1;
    size_t seg_size = (c->size + 4095) & ~(size_t)4095;
    if (node_start(c, me, &n))
        goto out;
    if (seg_create(c, me, &n, SEG_ID_BASE + (unsigned int)me, seg_size))
        goto out;
    if (seg_connect(c, me, &n, SEG_ID_BASE + (unsigned int)(1 - me), seg_size))
        goto out;
    if (pingpong(c, me, n.local, n.remote, 1))
        goto out;
    rc = 0;
out:
    /* Both stop using the peer's memory before either removes its own segment. */
    if (rc == 0)
        rc = bench_pair_barrier(c);
    seg_drop_remote(&n);
    if (rc == 0)
        rc = bench_pair_barrier(c);
    seg_drop_local(&n);
    node_stop(&n);
    return rc;
}

static int spin_node(struct pair_ctl *c, int me)
{
    volatile uint8_t *a = c->shm, *b = c->shm + c->shm_size / 2;
    return pingpong(c, me, me == 0 ? a : b, me == 0 ? b : a, 0);
}

static size_t floor_pow2(size_t v)
{
    size_t p = 4096;
    while (p < v)
        p <<= 1;
    return p;
}

static void run_lat(const struct bench_test *t, const struct bench_opts *o, size_t size, struct bench_result *r,
                    pair_fn fn, int sci)
{
    if (size < 8 || size % 8) {
        snprintf(r->error, sizeof(r->error), "size %zu: ping-pong sizes must be multiples of 8 bytes", size);
        return;
    }
    if (size > 4096) {
        snprintf(r->error, sizeof(r->error), "size %zu: ping-pong sizes are at most 4096 bytes", size);
        return;
    }
    bench_pair_lat(t, o, size, sci ? 0 : 2 * floor_pow2(size), fn, sci, 1, r);
}

static void run_pio_lat(const struct bench_test *t, const struct bench_opts *o, size_t size, struct bench_result *r)
{
    run_lat(t, o, size, r, pio_node, 1);
}

static void run_spin_lat(const struct bench_test *t, const struct bench_opts *o, size_t size, struct bench_result *r)
{
    run_lat(t, o, size, r, spin_node, 0);
}

/* ---- bandwidth ---- */

static double bw_seconds;   /* set before fork; read by the children */

static void *alloc_warm(size_t size)
{
    void *p = NULL;
    if (posix_memalign(&p, 4096, size))
        return NULL;
    memset(p, 0xa5, size);
    return p;
}

static int memcpy_seg_node(struct pair_ctl *c, int me)
{
    struct node n;
    sci_error_t err;
    int rc = -1;
    void *buf = NULL;
    if (node_start(c, me, &n))
        goto out;
    if (me == 1) {
        /* B owns the target segment and waits until A has copied into it. */
        if (seg_create(c, me, &n, SEG_ID_BASE + 1, c->size))
            goto out;
        if (bench_pair_barrier(c))
            goto out;
        rc = 0;
        goto out;
    }
    if (seg_connect(c, me, &n, SEG_ID_BASE + 1, c->size))
        goto out;
    if (!(buf = alloc_warm(c->size))) {
        bench_pair_fail(c, me, "node A: no memory for a %zu-byte buffer", c->size);
        goto out;
    }
    BENCH_BW_LOOP(c, bw_seconds, {
        SCIMemCpy(NULL, buf, n.rmap, 0, c->size, 0, &err);
        if (err != SCI_ERR_OK) {
            sci_fail(c, me, "SCIMemCpy", err);
            goto out;
        }
    });
    seg_drop_remote(&n);
    rc = bench_pair_barrier(c);
out:
    free(buf);
    seg_drop_remote(&n);
    seg_drop_local(&n);
    node_stop(&n);
    return rc;
}

static int memcpy_floor_node(struct pair_ctl *c, int me)
{
    void *src = alloc_warm(c->size), *dst = alloc_warm(c->size);
    int rc = -1;
    if (!src || !dst) {
        bench_pair_fail(c, me, "no memory for two %zu-byte buffers", c->size);
        goto out;
    }
    BENCH_BW_LOOP(c, bw_seconds, {
        memcpy(dst, src, c->size);
        __asm__ __volatile__("" : : "r"(dst) : "memory");
    });
    rc = 0;
out:
    free(src);
    free(dst);
    return rc;
}

static void run_bw(const struct bench_opts *o, size_t size, struct bench_result *r, pair_fn fa, pair_fn fb, int sci)
{
    struct pair_ctl *c;
    if (size == 0) {
        snprintf(r->error, sizeof(r->error), "size 0: bandwidth needs a size");
        return;
    }
    bw_seconds = bench_bw_seconds(o);
    if (!(c = bench_pair_new(0, 0, size, 0))) {
        snprintf(r->error, sizeof(r->error), "mmap: %s", strerror(errno));
        return;
    }
    if (bench_pair_run(c, fa, fb, sci, r) == 0 && c->elapsed_ns) {
        r->iters = c->count;
        r->seconds = (double)c->elapsed_ns / 1e9;
        r->bw_MBps = (double)c->count * (double)size / (double)c->elapsed_ns * 1e3;
    }
    bench_pair_free(c);
}

static void run_seg_memcpy(const struct bench_test *t, const struct bench_opts *o, size_t size,
                           struct bench_result *r)
{
    run_bw(o, size, r, memcpy_seg_node, memcpy_seg_node, 1);
}

static void run_floor_memcpy(const struct bench_test *t, const struct bench_opts *o, size_t size,
                             struct bench_result *r)
{
    run_bw(o, size, r, memcpy_floor_node, NULL, 0);
}

/* ---- interrupts and the futex floor ---- */

static int intr_node(struct pair_ctl *c, int me)
{
    struct node n;
    sci_error_t err = SCI_ERR_OK;
    unsigned int intno = BENCH_INTNO;
    int rc = -1;
    uint64_t deadline, total = c->warmup + c->iters;
    if (node_start(c, me, &n))
        goto out;
    SCICreateInterrupt(n.sd, &n.lintr, 0, &intno, NULL, NULL, SCI_FLAG_FIXED_INTNO, &err);
    if (err != SCI_ERR_OK) {
        n.lintr = NULL;
        sci_fail(c, me, "SCICreateInterrupt", err);
        goto out;
    }
    deadline = tool_now_ns() + CONNECT_TRIES_MS * 1000000ull;
    do {
        SCIConnectInterrupt(n.sd, &n.rintr, n.peer, 0, BENCH_INTNO, 1000, 0, &err);
        if (err == SCI_ERR_OK)
            break;
        n.rintr = NULL;
        if (bench_pair_aborted(c))
            goto out;
        usleep(2000);
    } while (tool_now_ns() < deadline);
    if (err != SCI_ERR_OK) {
        sci_fail(c, me, "SCIConnectInterrupt", err);
        goto out;
    }
    if (bench_pair_barrier(c))
        goto out;
    bench_pair_cpu(c, me, 1);
    for (uint64_t i = 0; i < total; i++) {
        uint64_t t0 = tool_now_ns();
        if (me == 0) {
            SCITriggerInterrupt(n.rintr, 0, &err);
            if (err != SCI_ERR_OK) {
                sci_fail(c, me, "SCITriggerInterrupt", err);
                goto out;
            }
        }
        SCIWaitForInterrupt(n.lintr, 10000, 0, &err);
        if (err != SCI_ERR_OK) {
            if (!bench_pair_aborted(c))
                sci_fail(c, me, "SCIWaitForInterrupt", err);
            goto out;
        }
        if (me == 0) {
            if (i >= c->warmup)
                c->samples[i - c->warmup] = tool_now_ns() - t0;
        } else {
            SCITriggerInterrupt(n.rintr, 0, &err);
            if (err != SCI_ERR_OK) {
                sci_fail(c, me, "SCITriggerInterrupt", err);
                goto out;
            }
        }
    }
    bench_pair_cpu(c, me, 0);
    rc = bench_pair_barrier(c);
out:
    if (n.rintr)
        SCIDisconnectInterrupt(n.rintr, 0, &err);
    if (rc == 0)
        rc = bench_pair_barrier(c);
    if (n.lintr)
        SCIRemoveInterrupt(n.lintr, 0, &err);
    node_stop(&n);
    return rc;
}

static long futex(volatile uint32_t *addr, int op, uint32_t val, const struct timespec *ts)
{
    return syscall(SYS_futex, addr, op, val, ts, NULL, 0);
}

static int futex_wait_for(struct pair_ctl *c, volatile uint32_t *w, uint32_t want)
{
    const struct timespec ts = { 1, 0 };
    uint32_t v;
    while ((v = __atomic_load_n(w, __ATOMIC_ACQUIRE)) != want) {
        if (futex(w, FUTEX_WAIT, v, &ts) < 0 && errno != EAGAIN && errno != EINTR && errno != ETIMEDOUT)
            return -1;
        if (bench_pair_aborted(c))
            return -1;
    }
    return 0;
}

static int futex_node(struct pair_ctl *c, int me)
{
    volatile uint32_t *w[2] = { (volatile uint32_t *)c->shm, (volatile uint32_t *)(c->shm + 64) };
    uint64_t total = c->warmup + c->iters;
    if (bench_pair_barrier(c))
        return -1;
    bench_pair_cpu(c, me, 1);
    for (uint64_t i = 0; i < total; i++) {
        uint32_t seq = (uint32_t)(i + 1);
        uint64_t t0 = tool_now_ns();
        if (me == 0) {
            __atomic_store_n(w[1], seq, __ATOMIC_RELEASE);
            futex(w[1], FUTEX_WAKE, 1, NULL);
        }
        if (futex_wait_for(c, w[me], seq)) {
            if (!bench_pair_aborted(c))
                bench_pair_fail(c, me, "futex wait: %s", strerror(errno));
            return -1;
        }
        if (me == 0) {
            if (i >= c->warmup)
                c->samples[i - c->warmup] = tool_now_ns() - t0;
        } else {
            __atomic_store_n(w[0], seq, __ATOMIC_RELEASE);
            futex(w[0], FUTEX_WAKE, 1, NULL);
        }
    }
    bench_pair_cpu(c, me, 0);
    return 0;
}

static void run_intr_rtt(const struct bench_test *t, const struct bench_opts *o, size_t size, struct bench_result *r)
{
    bench_pair_lat(t, o, 0, 0, intr_node, 1, 1, r);
}

static void run_futex_rtt(const struct bench_test *t, const struct bench_opts *o, size_t size,
                          struct bench_result *r)
{
    bench_pair_lat(t, o, 0, 4096, futex_node, 0, 1, r);
}

#define MiB (1024u * 1024u)

static const struct bench_test tests[] = {
    { "seg.pio.lat", "seg", "poll", "remote-segment PIO ping-pong (store + SCIFlush, spin on local segment)",
      BENCH_LAT, { 8, 64 }, 100000, 10000, run_pio_lat, 0 },
    { "floor.spin.lat", "seg", "poll", "floor: the same ping-pong on a plain shared mmap",
      BENCH_LAT, { 8, 64 }, 100000, 10000, run_spin_lat, 0 },
    { "seg.memcpy.bw", "seg", "copy", "SCIMemCpy local buffer -> remote segment (sender-side completion)",
      BENCH_BW, { 4096, MiB, 64 * MiB }, 0, 0, run_seg_memcpy, 0 },
    { "floor.memcpy.bw", "seg", "copy", "floor: memcpy between two private buffers",
      BENCH_BW, { 4096, MiB, 64 * MiB }, 0, 0, run_floor_memcpy, 0 },
    { "seg.intr.rtt", "seg", "event", "interrupt round trip (SCITriggerInterrupt / SCIWaitForInterrupt)",
      BENCH_RTT, { 0 }, 10000, 300, run_intr_rtt, 0 },
    { "floor.futex.rtt", "seg", "sleep", "floor: futex wake/wait round trip between two processes",
      BENCH_RTT, { 0 }, 10000, 300, run_futex_rtt, 0 },
};

static const struct bench_ratio_def ratios[] = {
    { "seg.pio.lat", "floor.spin.lat", 8, 0, 1.3 },
    { "seg.pio.lat", "floor.spin.lat", 64, 0, 1.3 },
    { "seg.memcpy.bw", "floor.memcpy.bw", 4096, 1, 0.9 },   /* the per-call cost (issue 9) */
    { "seg.memcpy.bw", "floor.memcpy.bw", MiB, 1, 0.9 },
    { "seg.memcpy.bw", "floor.memcpy.bw", 64 * MiB, 1, 0.9 },
    { "seg.intr.rtt", "floor.futex.rtt", 0, 0, 1.2 },
};
const struct bench_suite bench_seg_suite = { "seg", tests, BENCH_N(tests), ratios, BENCH_N(ratios) };
