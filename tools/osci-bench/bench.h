/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* osci-bench: shared types. Suites are tables of tests; each test measures one size at a time. */
#ifndef OSCI_BENCH_H
#define OSCI_BENCH_H

#include <stddef.h>
#include <sched.h>
#include <stdint.h>

#include "tool_time.h"

#define BENCH_MAX_SIZES 32
#define BENCH_ERR_MAX 160

enum bench_kind {
    BENCH_LAT = 1,   /* ping-pong: one-way = RTT/2 in lat_ns, the round trip in rtt_ns */
    BENCH_RTT,       /* round trip only (interrupts, futex): lat_ns holds the round trip */
    BENCH_BW,        /* bandwidth: bw_MBps (decimal) */
    BENCH_RATE,      /* message rate: rate_Mps */
};

struct bench_opts {
    int json, csv, quick;
    long iters;                        /* -n, 0: per-test default */
    long warmup;                       /* -w, -1: per-test default */
    size_t sizes[BENCH_MAX_SIZES];     /* -s, n_sizes 0: per-test default */
    unsigned int n_sizes;
    const char *plot;
    int ncpu;
    int cpu;                           /* --cpu: CPU columns for every two-node result */
    int lat_us;                        /* --units: latency in microseconds (perftest, ucx_perftest) */
    int bw_unit;                       /* --units: 0 MB/s (10^6), 1 MiB/s (ucx_perftest, perftest), 2 Gbit/s */
    int progress;                      /* --progress, or stderr is a terminal */
    /* -n TEST=N: iterations of one test (the rdma suite matches perftest's counts this way) */
    struct { char name[48]; long iters; } test_iters[16];
    unsigned int n_test_iters;
    /* rdma suite: two hosts */
    enum { BENCH_ROLE_NONE = 0, BENCH_ROLE_SERVER, BENCH_ROLE_CLIENT } role;
    unsigned int peer_node;
    int adapter;                       /* -1: the first rdma adapter */
    enum { BENCH_PATH_AUTO = 0, BENCH_PATH_DMA, BENCH_PATH_MEMCPY, BENCH_PATH_TRANSFER } path;
    unsigned int dma_queues;           /* DMA queues kept busy by rdma.write.bw, 0: 4 (2 on one CPU) */
};

struct bench_stats {
    double min, p50, avg, p99, p999, max;   /* nanoseconds */
    double stdev;                           /* population standard deviation (perftest's t_stdev), ns */
};

struct bench_result {
    const struct bench_test *test;
    size_t size;
    uint64_t iters;
    uint64_t warmup;
    struct bench_stats lat;                  /* BENCH_LAT: one-way; BENCH_RTT: round trip */
    struct bench_stats rtt;                  /* BENCH_LAT only */
    double bw_MBps;
    double rate_Mps;
    double seconds;                          /* measured time of BW / RATE runs */
    const char *mode;                        /* NULL: test->mode; else the path chosen at run time */
    /* The two nodes' CPU time over the measured loop (getrusage of each node process, every thread):
     * percent of wall time and microseconds per iteration; waits_per_iter: the times a node blocked (NAN:
     * not counted). has_cpu 0: not measured. */
    int has_cpu;
    double cpu_pct[2], cpu_us_per_iter[2], waits_per_iter[2];
    char error[BENCH_ERR_MAX];               /* non-empty: the test could not run */
};

struct bench_test {
    const char *name;                        /* e.g. "seg.pio.lat" */
    const char *suite;                       /* "seg", "ipc" */
    const char *mode;                        /* "poll", "event", "copy", "sleep" */
    const char *what;                        /* one line for the text table */
    enum bench_kind kind;
    size_t sizes[6];                         /* default sizes, 0-terminated */
    long iters, quick_iters;                 /* default iteration counts */
    /* Fills r (iters, stats / bw / rate) or writes r->error. */
    void (*run)(const struct bench_test *t, const struct bench_opts *o, size_t size, struct bench_result *r);
    int arg;                                 /* what run needs to know beyond the above (suite_ipc.c: IPC_*) */
};

/* A ratio between two tests at one size, with its target. */
struct bench_ratio_def {
    const char *num, *den;
    size_t size;
    int higher_is_better;                    /* bandwidth: value >= target; latency: value <= target */
    double target;
};

/* A suite: its tests and the ratios between them, defined at the end of its suite_*.c. */
struct bench_suite {
    const char *name;
    const struct bench_test *tests;
    unsigned int n_tests;
    const struct bench_ratio_def *ratios;
    unsigned int n_ratios;
};
extern const struct bench_suite bench_seg_suite, bench_ipc_suite, bench_buf_suite, bench_rdma_suite;
#define BENCH_N(a) (unsigned int)(sizeof(a) / sizeof((a)[0]))

/* suite_rdma.c: one session per process between two hosts. 0, or -1 with a message in err. */
int bench_rdma_open(const struct bench_opts *o, char *err, size_t errlen);
void bench_rdma_close(void);                 /* client: tells the server to stop, then tears down */
int bench_rdma_serve(const struct bench_opts *o);   /* server role: exit code */
void bench_rdma_json(void);                  /* the session's "rdma" object for --json */

/* stats.c */
void bench_stats_compute(uint64_t *samples_ns, uint64_t n, double scale, struct bench_stats *s);
void bench_iters(const struct bench_test *t, const struct bench_opts *o, uint64_t *iters_p, uint64_t *warmup_p);
/* r's counts and latency from `iters` samples: a BENCH_LAT sample is a round trip (r->rtt, halved in r->lat), a
 * BENCH_RTT one the figure itself (r->lat). Sorts the samples. */
void bench_lat_result(struct bench_result *r, uint64_t *samples, uint64_t iters, uint64_t warmup);
double bench_bw_seconds(const struct bench_opts *o);
/* A bandwidth node's loop: the block `copy` once untimed (it warms the pages), then back to back for `seconds`;
 * how many timed copies ran and their time go to c->count and c->elapsed_ns. `copy` may leave with goto. A macro,
 * so the timed loop holds only the copy, the count and the clock, as it did when written out in each test. */
#define BENCH_BW_LOOP(c, seconds, ...)                                                              \
    do {                                                                                            \
        __VA_ARGS__;                                                                                \
        uint64_t limit_ = (uint64_t)((seconds) * 1e9), count_ = 0, t0_ = tool_now_ns(), el_;       \
        do {                                                                                        \
            __VA_ARGS__;                                                                            \
            count_++;                                                                               \
            el_ = tool_now_ns() - t0_;                                                             \
        } while (el_ < limit_);                                                                     \
        (c)->count = count_;                                                                        \
        (c)->elapsed_ns = el_;                                                                      \
    } while (0)

/* pair.c: two node processes on a private fabric, a shared control page and a sample area. */
#define PAIR_TIMEOUT_S 60

struct pair_ctl {
    volatile uint32_t abort;                 /* set by the parent when a child failed */
    volatile uint32_t node_id[2];            /* published by each child after SCIInitialize */
    volatile uint32_t bar_count, bar_gen;    /* spin barrier */
    uint32_t nparts;                         /* barrier participants */
    volatile uint64_t count;                 /* result counters (copies done, ...) */
    volatile uint64_t elapsed_ns;
    volatile uint64_t cpu_ns[2], wall_ns[2];  /* each node's CPU and wall time over its measured loop */
    volatile uint64_t waits[2];              /* each node's blocking waits in that loop (event modes) */
    volatile uint32_t cpu_done[2];
    char err[2][BENCH_ERR_MAX];
    uint64_t iters, warmup;
    size_t size;
    uint64_t *samples;                       /* iters entries, shared */
    unsigned char *shm;                      /* a shared scratch area for floor tests */
    size_t shm_size;
};

typedef int (*pair_fn)(struct pair_ctl *c, int me);   /* me: 0 = node A, 1 = node B; 0 or -1 */

/* Runs fa in child A and fb in child B (NULL: A alone). sci: give each child OSCI_FABRIC / OSCI_NODE_ID.
 * Returns 0, or -1 with r->error set. */
int bench_pair_run(struct pair_ctl *c, pair_fn fa, pair_fn fb, int sci, struct bench_result *r);
struct pair_ctl *bench_pair_new(uint64_t iters, uint64_t warmup, size_t size, size_t shm_size);
void bench_pair_free(struct pair_ctl *c);
int bench_pair_barrier(struct pair_ctl *c);
void bench_pair_fail(struct pair_ctl *c, int me, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int bench_pair_aborted(const struct pair_ctl *c);
/* In a node: start (start 1) and stop (0) measuring its CPU and wall time. In the parent: the result's
 * has_cpu / cpu_pct / cpu_us_per_iter over `iters` iterations (waits counted when count_waits). */
void bench_pair_cpu(struct pair_ctl *c, int me, int start);
void bench_pair_cpu_result(const struct pair_ctl *c, uint64_t iters, int count_waits, struct bench_result *r);
/* A latency test of t: fn on both nodes (bench_pair_new's size and shm_size), its samples into r
 * (bench_lat_result) and, when cpu, the nodes' CPU time; r->error on failure. */
void bench_pair_lat(const struct bench_test *t, const struct bench_opts *o, size_t size, size_t shm_size, pair_fn fn,
                    int sci, int cpu, struct bench_result *r);

/* Set when the node processes share one CPU: spinning must then yield or the peer never runs. */
extern int bench_yield_spin;

static inline void bench_cpu_relax(void)
{
    if (bench_yield_spin) {
        sched_yield();
        return;
    }
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#endif
}

#endif
