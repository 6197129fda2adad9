/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* osci-bench: inter-node latency, bandwidth and message rate of OpenSCI, beside the raw floors and the peers. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "tool_json.h"

#ifdef OSCI_VERSION
#define BENCH_VERSION OSCI_VERSION
#else
#define BENCH_VERSION "0.1.0"
#endif
#define EXIT_USAGE 2
#define MAX_SELECTED 64
#define PROGRESS_AFTER_S 3          /* a test running longer than this shows its progress */

static const struct bench_suite *const suites[] = {
    &bench_seg_suite,
    &bench_ipc_suite,
    /* doca_mmap (libopensci-buf): not part of "all", so "all" runs what it ran before (docs/bench.md) */
    &bench_buf_suite,
    /* two hosts: not part of "all"; its ratios against perftest are the lab's (docs/bench.md) */
    &bench_rdma_suite,
};
#define N_SUITES (sizeof(suites) / sizeof(suites[0]))

struct ratio {
    const struct bench_ratio_def *def;
    double value;                     /* NAN when a side is missing or failed */
    int met;
};

static struct bench_result *results;
static unsigned int n_results;
static struct ratio ratios[64];
static unsigned int n_ratios;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: osci-bench [options]\n"
            "  --suite seg|ipc|all   which tests to run (default all: seg and ipc)\n"
            "  --suite buf           doca_mmap export/import latency and copy bandwidth (libopensci-buf)\n"
            "  -t, --test NAME[,NAME...]\n"
            "                        run only these tests (repeatable; names from --list)\n"
            "  --suite rdma --role server|client --peer-node N\n"
            "                        RDMA tests between two hosts (one process on each; the client prints)\n"
            "  --adapter N           rdma suite: the local adapter (default: the first rdma adapter)\n"
            "  --path auto|memcpy|transfer|dma\n"
            "                        rdma suite: SCIMemCpy through a load/store map (memcpy) or a transfer map\n"
            "                        (transfer: the driver's RDMA WRITE/READ), or DMA queues (dma); auto: memcpy\n"
            "                        where the adapter maps remote memory, transfer otherwise\n"
            "  --dma-queues N        rdma suite: DMA queues kept busy by rdma.write.bw (1..8, default 4; 2 on one CPU)\n"
            "  --json                one JSON object on stdout (docs/bench.md)\n"
            "  --csv                 one CSV row per result\n"
            "  -n, --iters N         measured iterations of latency and rate tests (and rdma bandwidth)\n"
            "  -n, --iters TEST=N    iterations of one test (repeatable), e.g. -n rdma.write.lat=100\n"
            "  -w, --warmup N        warm-up iterations, not measured (default iters/10)\n"
            "  -s, --size S          message / copy size, e.g. 64, 4K, 1M (repeatable or a comma list)\n"
            "  --quick               fewer iterations and shorter bandwidth runs\n"
            "  --cpu                 CPU columns (each node's %% of wall time and us per iteration) for every\n"
            "                        two-node result (perftest's --cpu_util); event and sleep modes always show them\n"
            "  --units U[,U]         text and CSV units: latency ns (default) or us; bandwidth MB/s (default,\n"
            "                        10^6 B/s), MiB/s or Gbit/s; perftest or ucx: us,MiB/s (their units)\n"
            "  --progress            progress of long tests on stderr (default: when stderr is a terminal)\n"
            "  --plot FILE.png       draw the results with gnuplot\n"
            "  -l, --list            list the tests\n"
            "  -V, --version         print the version\n"
            "  -h, --help            this text\n"
            "exit: 0 ran (a failed test or a missed target is reported, not an exit code), 1 could not run,\n"
            "      2 usage error\n");
}

static int parse_size(const char *s, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *s == '-')
        return -1;
    switch (*end) {
    case 'k': case 'K': v <<= 10; end++; break;
    case 'm': case 'M': v <<= 20; end++; break;
    case 'g': case 'G': v <<= 30; end++; break;
    default: break;
    }
    if (*end == 'i' || *end == 'B')
        end += (*end == 'i' && end[1] == 'B') ? 2 : 1;
    if (*end)
        return -1;
    *out = (size_t)v;
    return 0;
}

/* Calls fn on each item of the comma list arg until one fails: 0, or -1. */
static int each_item(struct bench_opts *o, const char *arg, int (*fn)(struct bench_opts *o, const char *item,
                                                                      const char *arg))
{
    char *dup = strdup(arg), *save = NULL;
    int rc = 0;
    if (!dup)
        return -1;
    for (char *tok = strtok_r(dup, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save))
        rc = fn(o, tok, arg);
    free(dup);
    return rc;
}

static int parse_size_item(struct bench_opts *o, const char *tok, const char *arg)
{
    size_t v;
    if (parse_size(tok, &v) || v == 0) {
        fprintf(stderr, "osci-bench: --size: bad size '%s' (a positive number, optionally with K, M or G)\n", tok);
        return -1;
    }
    if (o->n_sizes == BENCH_MAX_SIZES) {
        fprintf(stderr, "osci-bench: --size %s: at most %d sizes\n", arg, BENCH_MAX_SIZES);
        return -1;
    }
    o->sizes[o->n_sizes++] = v;
    return 0;
}

static int parse_count(const char *opt, const char *arg, long min, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(arg, &end, 10);
    if (errno || end == arg || *end || v < min) {
        fprintf(stderr, "osci-bench: %s needs a number >= %ld, not '%s'\n", opt, min, arg);
        return -1;
    }
    *out = v;
    return 0;
}

/* parse_count with an upper bound too; `range` says what the values are when v is above max. */
static int parse_bounded(const char *opt, const char *arg, long min, long max, const char *range, long *out)
{
    if (parse_count(opt, arg, min, out))
        return -1;
    if (*out > max) {
        fprintf(stderr, "osci-bench: %s %ld: %s\n", opt, *out, range);
        return -1;
    }
    return 0;
}

/* -n N or -n TEST=N */
static int parse_iters(struct bench_opts *o, const char *arg)
{
    const char *eq = strchr(arg, '=');
    long v;
    if (!eq)
        return parse_count("--iters", arg, 1, &o->iters);
    if (eq == arg || (size_t)(eq - arg) >= sizeof(o->test_iters[0].name)) {
        fprintf(stderr, "osci-bench: --iters TEST=N needs a test name (see --list), not '%s'\n", arg);
        return -1;
    }
    if (o->n_test_iters == sizeof(o->test_iters) / sizeof(o->test_iters[0])) {
        fprintf(stderr, "osci-bench: at most %zu --iters TEST=N options\n",
                sizeof(o->test_iters) / sizeof(o->test_iters[0]));
        return -1;
    }
    if (parse_count("--iters", eq + 1, 1, &v))
        return -1;
    memcpy(o->test_iters[o->n_test_iters].name, arg, (size_t)(eq - arg));
    o->test_iters[o->n_test_iters].name[eq - arg] = 0;
    o->test_iters[o->n_test_iters++].iters = v;
    return 0;
}

/* --units: a comma list of ns, us, MB/s, MiB/s, Gbit/s, or perftest / ucx (us and MiB/s). */
static int parse_unit_item(struct bench_opts *o, const char *tok, const char *arg)
{
    if (!strcmp(tok, "ns"))
        o->lat_us = 0;
    else if (!strcmp(tok, "us") || !strcmp(tok, "usec"))
        o->lat_us = 1;
    else if (!strcmp(tok, "MB/s") || !strcmp(tok, "MB") || !strcmp(tok, "MBps"))
        o->bw_unit = 0;
    else if (!strcmp(tok, "MiB/s") || !strcmp(tok, "MiB") || !strcmp(tok, "MiBps"))
        o->bw_unit = 1;
    else if (!strcmp(tok, "Gbit/s") || !strcmp(tok, "Gb") || !strcmp(tok, "Gbps"))
        o->bw_unit = 2;
    else if (!strcmp(tok, "perftest") || !strcmp(tok, "ucx"))
        o->lat_us = 1, o->bw_unit = 1;
    else {
        fprintf(stderr, "osci-bench: --units: '%s' is not one of ns, us, MB/s, MiB/s, Gbit/s, perftest, ucx\n", tok);
        return -1;
    }
    return 0;
}

static const char *const bw_unit_names[] = { "MB/s", "MiB/s", "Gbit/s" };
static const char *const bw_csv_names[] = { "MBps", "MiBps", "Gbps" };

static double bw_in_unit(const struct bench_opts *o, double MBps)
{
    return o->bw_unit == 1 ? MBps * 1e6 / 1048576.0 : o->bw_unit == 2 ? MBps * 8 / 1000 : MBps;
}

static const struct bench_test *find_test(const char *name, const char **suite_p)
{
    for (unsigned int s = 0; s < N_SUITES; s++)
        for (unsigned int i = 0; i < suites[s]->n_tests; i++)
            if (!strcmp(suites[s]->tests[i].name, name)) {
                if (suite_p)
                    *suite_p = suites[s]->name;
                return &suites[s]->tests[i];
            }
    return NULL;
}

static const struct bench_test *selected[MAX_SELECTED];
static unsigned int n_selected;

/* -t NAME[,NAME...]: every name must be a test; duplicates run once. */
static int parse_test_item(struct bench_opts *o, const char *tok, const char *arg)
{
    const struct bench_test *t = find_test(tok, NULL);
    unsigned int i;
    if (!t) {
        fprintf(stderr, "osci-bench: --test '%s': no such test (see --list)\n", tok);
        return -1;
    }
    for (i = 0; i < n_selected && selected[i] != t; i++)
        ;
    if (i < n_selected)
        return 0;
    if (n_selected == MAX_SELECTED) {
        fprintf(stderr, "osci-bench: at most %d tests with --test\n", MAX_SELECTED);
        return -1;
    }
    selected[n_selected++] = t;
    return 0;
}

static int have_program(const char *prog)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", prog);
    int st = system(cmd);
    return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* ---- progress ----
 * A thread looks at the running test once a second; past PROGRESS_AFTER_S it writes one status line to stderr
 * (overwritten in place on a terminal, one line every 5 s otherwise). It writes with write(2) and takes only
 * its own mutex, never a stdio lock, because the test forks its node processes meanwhile. */
static struct {
    pthread_mutex_t lock;
    int on, tty, shown;
    const char *name;                 /* NULL: no test running */
    size_t size;
    unsigned int index, total;
    uint64_t start_ns;
} prog = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void prog_write(const char *s)
{
    size_t len = strlen(s);
    while (len) {
        ssize_t w = write(STDERR_FILENO, s, len);
        if (w <= 0)
            return;
        s += w;
        len -= (size_t)w;
    }
}

static void *prog_thread(void *arg)
{
    (void)arg;
    for (;;) {
        struct timespec ts = { 1, 0 };
        char line[256];
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&prog.lock);
        if (prog.name) {
            uint64_t el = (tool_now_ns() - prog.start_ns) / 1000000000ull;
            if (el >= PROGRESS_AFTER_S && (prog.tty || el % 5 == 0)) {
                snprintf(line, sizeof(line), "%sosci-bench: [%u/%u] %s size %zu: running for %llu s%s",
                         prog.tty ? "\r\033[K" : "", prog.index, prog.total, prog.name, prog.size,
                         (unsigned long long)el, prog.tty ? "" : "\n");
                prog_write(line);
                prog.shown = 1;
            }
        }
        pthread_mutex_unlock(&prog.lock);
    }
    return NULL;
}

static void prog_start(const struct bench_opts *o, unsigned int total)
{
    pthread_t th;
    prog.tty = isatty(STDERR_FILENO);
    prog.on = o->progress || prog.tty;
    prog.total = total;
    if (prog.on && pthread_create(&th, NULL, prog_thread, NULL) == 0)
        pthread_detach(th);
    else
        prog.on = 0;
}

static void prog_test(const char *name, size_t size)
{
    if (!prog.on)
        return;
    pthread_mutex_lock(&prog.lock);
    if (name) {
        prog.index++;
        prog.start_ns = tool_now_ns();
        prog.size = size;
    } else if (prog.shown && prog.tty) {
        prog_write("\r\033[K");   /* the result replaces the status line */
    }
    prog.shown = 0;
    prog.name = name;
    pthread_mutex_unlock(&prog.lock);
}

/* ---- running ---- */

static int add_result(const struct bench_result *r)
{
    struct bench_result *n = realloc(results, (n_results + 1) * sizeof(*n));
    if (!n)
        return -1;
    results = n;
    results[n_results++] = *r;
    return 0;
}

static const struct bench_result *find_result(const char *name, size_t size)
{
    for (unsigned int i = 0; i < n_results; i++)
        if (!strcmp(results[i].test->name, name) && results[i].size == size && !results[i].error[0])
            return &results[i];
    return NULL;
}

static double figure(const struct bench_result *r)
{
    switch (r->test->kind) {
    case BENCH_LAT:
    case BENCH_RTT: return r->lat.p50;
    case BENCH_BW: return r->bw_MBps;
    case BENCH_RATE: return r->rate_Mps;
    }
    return NAN;
}

static void compute_ratios(const struct bench_suite *s)
{
    for (unsigned int i = 0; i < s->n_ratios && n_ratios < sizeof(ratios) / sizeof(ratios[0]); i++) {
        const struct bench_ratio_def *d = &s->ratios[i];
        const struct bench_result *a = find_result(d->num, d->size), *b = find_result(d->den, d->size);
        struct ratio *r = &ratios[n_ratios];
        int num_ran = 0, den_ran = 0;
        for (unsigned int k = 0; k < n_results; k++) {
            num_ran |= !strcmp(results[k].test->name, d->num) && results[k].size == d->size;
            den_ran |= !strcmp(results[k].test->name, d->den) && results[k].size == d->size;
        }
        if (!num_ran || !den_ran)
            continue;     /* the user chose other sizes */
        r->def = d;
        r->value = (a && b && figure(b) > 0) ? figure(a) / figure(b) : NAN;
        r->met = !isnan(r->value) && d->target > 0 &&
                 (d->higher_is_better ? r->value >= d->target : r->value <= d->target);
        n_ratios++;
    }
}

/* The CPU columns: always beside a figure whose nodes sleep while they wait (event, sleep), on every row
 * with --cpu. */
static int show_cpu(const struct bench_opts *o, const char *mode)
{
    return o->cpu || !strcmp(mode, "event") || !strcmp(mode, "sleep");
}

static void print_text_header(const struct bench_opts *o, const struct bench_test *t, const char *mode)
{
    const char *lu = o->lat_us ? "us" : "ns", *bu = bw_unit_names[o->bw_unit];
    mode = mode ? mode : t->mode;
    printf("\n%s  [%s]  %s\n", t->name, mode, t->what);
    switch (t->kind) {
    case BENCH_LAT:
    case BENCH_RTT:
        printf("%9s %9s %9s %9s %9s %9s %9s %9s %9s", "size", "iters", "min", "p50", "avg", "stdev", "p99", "p99.9",
               "max");
        if (t->kind == BENCH_LAT)
            printf(" %9s", "rtt.p50");
        if (show_cpu(o, mode))
            printf(" %6s %6s %8s %8s", "cpuA%", "cpuB%", "A.us/it", "B.us/it");
        printf("   %s, %s\n", t->kind == BENCH_LAT ? "one-way = RTT/2" : "round trip", lu);
        break;
    case BENCH_BW:
        printf("%9s %9s %12s %8s\n", "size", "copies", bu, "secs");
        break;
    case BENCH_RATE:
        printf("%9s %9s %12s %12s", "size", "msgs", "Mmsg/s", bu);
        if (show_cpu(o, mode))
            printf(" %6s %6s %8s %8s", "cpuA%", "cpuB%", "A.us/it", "B.us/it");
        printf("\n");
        break;
    }
    fflush(stdout);
}

static void pnum(double v, int width, int prec)
{
    if (isnan(v))
        printf(" %*s", width, "-");
    else
        printf(" %*.*f", width, prec, v);
}

static void plat(const struct bench_opts *o, double ns)
{
    o->lat_us ? pnum(ns / 1e3, 9, 2) : pnum(ns, 9, 1);
}

static void print_text_row(const struct bench_opts *o, const struct bench_result *r)
{
    const char *mode = r->mode ? r->mode : r->test->mode;
    printf("%9zu", r->size);
    if (r->error[0]) {
        printf("   error: %s\n", r->error);
        fflush(stdout);
        return;
    }
    printf(" %9llu", (unsigned long long)r->iters);
    switch (r->test->kind) {
    case BENCH_LAT:
    case BENCH_RTT:
        plat(o, r->lat.min);
        plat(o, r->lat.p50);
        plat(o, r->lat.avg);
        plat(o, r->lat.stdev);
        plat(o, r->lat.p99);
        plat(o, r->lat.p999);
        plat(o, r->lat.max);
        if (r->test->kind == BENCH_LAT)
            plat(o, r->rtt.p50);
        break;
    case BENCH_BW:
        printf(" %12.*f %8.3f", o->bw_unit == 2 ? 2 : 1, bw_in_unit(o, r->bw_MBps), r->seconds);
        break;
    case BENCH_RATE:
        printf(" %12.3f %12.*f", r->rate_Mps, o->bw_unit == 2 ? 2 : 1, bw_in_unit(o, r->bw_MBps));
        break;
    }
    if (r->test->kind != BENCH_BW && show_cpu(o, mode)) {
        if (r->has_cpu) {
            pnum(r->cpu_pct[0], 6, 1);
            pnum(r->cpu_pct[1], 6, 1);
            pnum(r->cpu_us_per_iter[0], 8, 2);
            pnum(r->cpu_us_per_iter[1], 8, 2);
        } else {
            printf(" %6s %6s %8s %8s", "-", "-", "-", "-");
        }
        if (r->has_cpu && !isnan(r->waits_per_iter[0]))
            printf("   waits/it A %.2f B %.2f", r->waits_per_iter[0], r->waits_per_iter[1]);
    }
    printf("\n");
    fflush(stdout);
}

/* The sizes a test runs: -s replaces the defaults, except for tests that carry no payload (size 0). */
static unsigned int test_sizes(const struct bench_test *t, const struct bench_opts *o, const size_t **sizes_p)
{
    unsigned int n = 0;
    if (o->n_sizes && t->sizes[0] != 0) {
        if (sizes_p)
            *sizes_p = o->sizes;
        return o->n_sizes;
    }
    while (n < sizeof(t->sizes) / sizeof(t->sizes[0]) && (n == 0 || t->sizes[n]))
        n++;
    if (sizes_p)
        *sizes_p = t->sizes;
    return n;
}

static void run_test(const struct bench_test *t, const struct bench_opts *o)
{
    const size_t *sizes;
    unsigned int n = test_sizes(t, o, &sizes);
    for (unsigned int i = 0; i < n; i++) {
        struct bench_result r;
        memset(&r, 0, sizeof(r));
        r.test = t;
        r.size = sizes[i];
        prog_test(t->name, sizes[i]);
        t->run(t, o, sizes[i], &r);
        prog_test(NULL, 0);
        if (add_result(&r)) {
            fprintf(stderr, "osci-bench: out of memory\n");
            exit(1);
        }
        if (!o->json && !o->csv && i == 0)
            print_text_header(o, t, r.mode);
        if (!o->json && !o->csv)
            print_text_row(o, &r);
        else if (r.error[0])
            fprintf(stderr, "osci-bench: %s size %zu: %s\n", t->name, r.size, r.error);
    }
}

/* ---- output ---- */

static void json_num(double v)
{
    if (isnan(v) || isinf(v))
        printf("null");
    else
        printf("%.3f", v);
}

struct json_field {
    const char *key;
    double v;
};

/* `, "key": v` for each field; inside `, "obj": {...}` when obj is not NULL. */
static void json_nums(const char *obj, const struct json_field *f, unsigned int n)
{
    if (obj)
        printf(", \"%s\": {", obj);
    for (unsigned int i = 0; i < n; i++) {
        printf("%s\"%s\": ", obj && !i ? "" : ", ", f[i].key);
        json_num(f[i].v);
    }
    if (obj)
        printf("}");
}

static void json_stats(const char *key, const struct bench_stats *s)
{
    const struct json_field f[] = { { "min", s->min }, { "p50", s->p50 }, { "avg", s->avg }, { "p99", s->p99 },
                                    { "p999", s->p999 }, { "max", s->max }, { "stdev", s->stdev } };
    json_nums(key, f, BENCH_N(f));
}

static void machine_info(long *nproc, char *kernel, size_t klen, char *cpu, size_t clen)
{
    struct utsname u;
    FILE *f;
    char line[256];
    *nproc = sysconf(_SC_NPROCESSORS_ONLN);
    snprintf(kernel, klen, "unknown");
    if (uname(&u) == 0)
        snprintf(kernel, klen, "%s %s %s", u.sysname, u.release, u.machine);
    snprintf(cpu, clen, "unknown");
    if ((f = fopen("/proc/cpuinfo", "r"))) {
        while (fgets(line, sizeof(line), f)) {
            char *colon = strchr(line, ':');
            if (colon && !strncmp(line, "model name", 10)) {
                colon++;
                while (*colon == ' ' || *colon == '\t')
                    colon++;
                colon[strcspn(colon, "\n")] = 0;
                snprintf(cpu, clen, "%s", colon);
                break;
            }
        }
        fclose(f);
    }
}

static void ratio_target(const struct ratio *r, char *buf, size_t len)
{
    if (r->def->target > 0)
        snprintf(buf, len, "%s %.2g", r->def->higher_is_better ? ">=" : "<=", r->def->target);
    else
        snprintf(buf, len, "none");
}

static void print_json(const struct bench_opts *o, const char *suite_arg)
{
    long nproc;
    char kernel[256], cpu[128], tgt[32];
    machine_info(&nproc, kernel, sizeof(kernel), cpu, sizeof(cpu));
    printf("{\n  \"tool\": \"osci-bench\", \"version\": \"%s\", \"suite\": ", BENCH_VERSION);
    tool_json_str(suite_arg);
    printf(", \"quick\": %s,\n  \"machine\": {\"nproc\": %ld, \"kernel\": ", o->quick ? "true" : "false", nproc);
    tool_json_str(kernel);
    printf(", \"cpu\": ");
    tool_json_str(cpu);
    printf("}");
    if (!strcmp(suite_arg, "rdma"))
        bench_rdma_json();
    printf(",\n  \"results\": [");
    for (unsigned int i = 0; i < n_results; i++) {
        const struct bench_result *r = &results[i];
        printf("%s\n    {\"test\": ", i ? "," : "");
        tool_json_str(r->test->name);
        printf(", \"suite\": \"%s\", \"mode\": \"%s\", \"size\": %zu", r->test->suite, r->mode ? r->mode : r->test->mode,
               r->size);
        if (r->error[0]) {
            printf(", \"error\": ");
            tool_json_str(r->error);
            printf("}");
            continue;
        }
        printf(", \"iters\": %llu, \"warmup\": %llu", (unsigned long long)r->iters, (unsigned long long)r->warmup);
        switch (r->test->kind) {
        case BENCH_LAT:
            printf(", \"unit\": \"ns\", \"metric\": \"one-way\"");
            json_stats("lat_ns", &r->lat);
            json_stats("rtt_ns", &r->rtt);
            break;
        case BENCH_RTT:
            printf(", \"unit\": \"ns\", \"metric\": \"round-trip\"");
            json_stats("lat_ns", &r->lat);
            break;
        case BENCH_BW: {
            const struct json_field f[] = { { "bw_MBps", r->bw_MBps }, { "bw_Gbps", r->bw_MBps * 8 / 1000 },
                                            { "seconds", r->seconds } };
            json_nums(NULL, f, BENCH_N(f));
            break;
        }
        case BENCH_RATE: {
            const struct json_field f[] = { { "rate_Mps", r->rate_Mps }, { "bw_MBps", r->bw_MBps } };
            json_nums(NULL, f, BENCH_N(f));
            break;
        }
        }
        if (r->has_cpu) {
            const struct json_field f[] = {
                { "a_pct", r->cpu_pct[0] },          { "b_pct", r->cpu_pct[1] },
                { "a_us_per_iter", r->cpu_us_per_iter[0] }, { "b_us_per_iter", r->cpu_us_per_iter[1] },
                { "a_waits_per_iter", r->waits_per_iter[0] }, { "b_waits_per_iter", r->waits_per_iter[1] },
            };
            json_nums("cpu", f, BENCH_N(f));
        }
        printf("}");
    }
    printf("\n  ],\n  \"ratios\": [");
    for (unsigned int i = 0; i < n_ratios; i++) {
        const struct ratio *r = &ratios[i];
        ratio_target(r, tgt, sizeof(tgt));
        printf("%s\n    {\"name\": \"%s/%s\", \"size\": %zu, \"stat\": \"%s\", \"value\": ", i ? "," : "",
               r->def->num, r->def->den, r->def->size, r->def->higher_is_better ? "bw" : "p50");
        json_num(r->value);
        printf(", \"target\": ");
        if (r->def->target > 0)
            tool_json_str(tgt);
        else
            printf("null");
        printf(", \"met\": %s}", isnan(r->value) || r->def->target <= 0 ? "null" : r->met ? "true" : "false");
    }
    printf("\n  ]\n}\n");
}

static void csv_num(double v, int prec)
{
    isnan(v) ? printf(",") : printf("%.*f,", prec, v);
}

/* The columns of docs/bench.md, then stdev and the CPU time per iteration; latency and bandwidth in --units. */
static void print_csv(const struct bench_opts *o)
{
    const char *lu = o->lat_us ? "us" : "ns", *bu = bw_csv_names[o->bw_unit];
    double ls = o->lat_us ? 1e-3 : 1;
    int lp = o->lat_us ? 3 : 1;
    printf("test,suite,mode,size,iters,min_%s,p50_%s,avg_%s,p99_%s,p999_%s,max_%s,rtt_p50_%s,bw_%s,rate_Mps,error,"
           "cpu_a_pct,cpu_b_pct,stdev_%s,cpu_a_us_per_iter,cpu_b_us_per_iter\n",
           lu, lu, lu, lu, lu, lu, lu, bu, lu);
    for (unsigned int i = 0; i < n_results; i++) {
        const struct bench_result *r = &results[i];
        printf("%s,%s,%s,%zu,", r->test->name, r->test->suite, r->mode ? r->mode : r->test->mode, r->size);
        if (r->error[0]) {
            printf(",,,,,,,,,,\"");
            for (const char *p = r->error; *p; p++)
                printf(*p == '"' ? "\"\"" : "%c", *p);
            printf("\",,,,,\n");
            continue;
        }
        printf("%llu,", (unsigned long long)r->iters);
        int lat = r->test->kind == BENCH_LAT || r->test->kind == BENCH_RTT;
        if (lat) {
            const double v[] = { r->lat.min, r->lat.p50, r->lat.avg, r->lat.p99, r->lat.p999, r->lat.max,
                                 r->test->kind == BENCH_LAT ? r->rtt.p50 : NAN };
            for (unsigned int k = 0; k < 7; k++)
                csv_num(v[k] * ls, lp);
            printf(",,");
        } else {
            printf(",,,,,,,");
            csv_num(bw_in_unit(o, r->bw_MBps), o->bw_unit == 2 ? 3 : 1);
            r->test->kind == BENCH_RATE ? printf("%.4f,", r->rate_Mps) : printf(",");
        }
        printf(",");                                           /* error */
        r->has_cpu ? printf("%.1f,%.1f,", r->cpu_pct[0], r->cpu_pct[1]) : printf(",,");
        lat ? csv_num(r->lat.stdev * ls, lp) : printf(",");
        r->has_cpu ? printf("%.3f,%.3f\n", r->cpu_us_per_iter[0], r->cpu_us_per_iter[1]) : printf(",\n");
    }
}

static void print_text_ratios(void)
{
    char tgt[32];
    if (!n_ratios)
        return;
    printf("\nratios (latency: p50 over p50; bandwidth: MB/s over MB/s)\n");
    for (unsigned int i = 0; i < n_ratios; i++) {
        const struct ratio *r = &ratios[i];
        char name[96];
        ratio_target(r, tgt, sizeof(tgt));
        snprintf(name, sizeof(name), "%s/%s", r->def->num, r->def->den);
        printf("  %-40s size %-9zu ", name, r->def->size);
        if (isnan(r->value))
            printf("%8s", "n/a");
        else
            printf("%8.3f", r->value);
        printf("  target %-8s %s\n", tgt,
               isnan(r->value) ? "(not measured)" : r->def->target <= 0 ? "" : r->met ? "met" : "MISSED");
    }
}

/* ---- plot ---- */

/* One panel per kind of figure that has results (latency, bandwidth, message rate): an empty panel or a
 * zero on a log scale is what made gnuplot fail with "all points y value undefined". */
static int plot(const char *png)
{
    static const struct { const char *title, *color; } panel[3] = {
        { "latency p50 (us; one-way for .lat, round trip for .rtt)", "#3060c0" },
        { "bandwidth (MB/s, decimal)", "#30a050" },
        { "message rate (Mmsg/s)", "#c06030" },
    };
    char dat[] = "/tmp/osci-bench-plot-XXXXXX";
    int fd = mkstemp(dat), rc, has[3] = { 0, 0, 0 }, npanels = 0, index = 0;
    double lo[3] = { INFINITY, INFINITY, INFINITY }, hi[3] = { 0, 0, 0 };
    FILE *f, *g;
    if (fd < 0 || !(f = fdopen(fd, "w"))) {
        fprintf(stderr, "osci-bench: plot data file: %s\n", strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    /* One data block per non-empty panel; rows "test size" value, values > 0 only (log scales). */
    for (int pass = 0; pass < 3; pass++) {
        for (unsigned int i = 0; i < n_results; i++) {
            const struct bench_result *r = &results[i];
            int kind = r->test->kind == BENCH_BW ? 1 : r->test->kind == BENCH_RATE ? 2 : 0;
            double v = kind == 0 ? r->lat.p50 / 1000 : kind == 1 ? r->bw_MBps : r->rate_Mps;
            if (r->error[0] || kind != pass || !(v > 0))
                continue;
            fprintf(f, "\"%s %zu\" %g\n", r->test->name, r->size, v);
            has[pass] = 1;
            lo[pass] = v < lo[pass] ? v : lo[pass];
            hi[pass] = v > hi[pass] ? v : hi[pass];
        }
        if (has[pass]) {
            fprintf(f, "\n\n");
            npanels++;
        }
    }
    fclose(f);
    if (!npanels) {
        fprintf(stderr, "osci-bench: --plot: no result to draw (every test failed)\n");
        unlink(dat);
        return -1;
    }
    if (!(g = popen("gnuplot", "w"))) {
        fprintf(stderr, "osci-bench: cannot run gnuplot: %s\n", strerror(errno));
        unlink(dat);
        return -1;
    }
    fprintf(g, "set terminal pngcairo size %d,600 noenhanced\nset output '%s'\n"
               "set multiplot layout 1,%d title 'osci-bench'\nset style data histograms\n"
               "set style fill solid 0.8 border -1\nset xtics rotate by -40 font ',8'\nset grid ytics\n"
               "set logscale y\n",
            npanels * 700, png, npanels);
    for (int pass = 0; pass < 3; pass++) {
        if (!has[pass])
            continue;
        /* whole decades around the values: labelled ticks, and never the empty range of a single value */
        double ylo = pow(10, floor(log10(lo[pass]))), yhi = pow(10, ceil(log10(hi[pass])));
        fprintf(g, "set yrange [%g:%g]\nset title '%s'\nplot '%s' index %d using 2:xtic(1) notitle lc rgb '%s'\n",
                ylo, yhi > ylo ? yhi : ylo * 10, panel[pass].title, dat, index++, panel[pass].color);
    }
    fprintf(g, "unset multiplot\n");
    rc = pclose(g);
    unlink(dat);
    if (rc != 0) {
        fprintf(stderr, "osci-bench: gnuplot failed writing %s\n", png);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "suite", required_argument, NULL, 'S' }, { "json", no_argument, NULL, 'J' },
        { "csv", no_argument, NULL, 'C' },         { "iters", required_argument, NULL, 'n' },
        { "warmup", required_argument, NULL, 'w' }, { "size", required_argument, NULL, 's' },
        { "quick", no_argument, NULL, 'Q' },       { "plot", required_argument, NULL, 'P' },
        { "list", no_argument, NULL, 'l' },        { "help", no_argument, NULL, 'h' },
        { "role", required_argument, NULL, 'R' },  { "peer-node", required_argument, NULL, 'N' },
        { "adapter", required_argument, NULL, 'A' }, { "path", required_argument, NULL, 'T' },
        { "dma-queues", required_argument, NULL, 'D' }, { "test", required_argument, NULL, 't' },
        { "version", no_argument, NULL, 'V' },     { "cpu", no_argument, NULL, 'c' },
        { "units", required_argument, NULL, 'U' }, { "progress", no_argument, NULL, 'G' },
        { NULL, 0, NULL, 0 },
    };
    struct bench_opts o = { .warmup = -1, .adapter = -1 };
    long v = 0;
    const char *suite_arg = "all";
    int ch, list = 0, suite_given = 0;

    while ((ch = getopt_long(argc, argv, "n:w:s:t:lhV", longopts, NULL)) != -1) {
        switch (ch) {
        case 'S': suite_arg = optarg; suite_given = 1; break;
        case 't':
            if (!*optarg) {
                fprintf(stderr, "osci-bench: --test needs a test name (see --list), not ''\n");
                return EXIT_USAGE;
            }
            if (each_item(&o, optarg, parse_test_item))
                return EXIT_USAGE;
            break;
        case 'V': printf("osci-bench %s\n", BENCH_VERSION); return 0;
        case 'c': o.cpu = 1; break;
        case 'U': if (each_item(&o, optarg, parse_unit_item)) return EXIT_USAGE; break;
        case 'G': o.progress = 1; break;
        case 'J': o.json = 1; break;
        case 'C': o.csv = 1; break;
        case 'n': if (parse_iters(&o, optarg)) return EXIT_USAGE; break;
        case 'R':
            if (!strcmp(optarg, "server"))
                o.role = BENCH_ROLE_SERVER;
            else if (!strcmp(optarg, "client"))
                o.role = BENCH_ROLE_CLIENT;
            else {
                fprintf(stderr, "osci-bench: --role is server or client, not '%s'\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'N':
            if (parse_bounded("--peer-node", optarg, 1, 65535, "node ids are 1..65535", &v))
                return EXIT_USAGE;
            o.peer_node = (unsigned int)v;
            break;
        case 'A':
            if (parse_bounded("--adapter", optarg, 0, 7, "adapter numbers are 0..7", &v))
                return EXIT_USAGE;
            o.adapter = (int)v;
            break;
        case 'D':
            if (parse_bounded("--dma-queues", optarg, 1, 8, "at most 8", &v))
                return EXIT_USAGE;
            o.dma_queues = (unsigned int)v;
            break;
        case 'T':
            if (!strcmp(optarg, "auto"))
                o.path = BENCH_PATH_AUTO;
            else if (!strcmp(optarg, "dma"))
                o.path = BENCH_PATH_DMA;
            else if (!strcmp(optarg, "memcpy"))
                o.path = BENCH_PATH_MEMCPY;
            else if (!strcmp(optarg, "transfer"))
                o.path = BENCH_PATH_TRANSFER;
            else {
                fprintf(stderr, "osci-bench: --path is auto, dma, memcpy or transfer, not '%s'\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'w': if (parse_count("--warmup", optarg, 0, &o.warmup)) return EXIT_USAGE; break;
        case 's': if (each_item(&o, optarg, parse_size_item)) return EXIT_USAGE; break;
        case 'Q': o.quick = 1; break;
        case 'P':
            if (!*optarg) {
                fprintf(stderr, "osci-bench: --plot needs a file name, not ''\n");
                return EXIT_USAGE;
            }
            o.plot = optarg;
            break;
        case 'l': list = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "osci-bench: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return EXIT_USAGE;
    }
    if (o.json && o.csv) {
        fprintf(stderr, "osci-bench: choose one of --json and --csv\n");
        return EXIT_USAGE;
    }
    if (strcmp(suite_arg, "all") && strcmp(suite_arg, "seg") && strcmp(suite_arg, "ipc") &&
        strcmp(suite_arg, "rdma") && strcmp(suite_arg, "buf")) {
        fprintf(stderr, "osci-bench: --suite '%s': not a suite (seg, ipc, buf, rdma or all)\n", suite_arg);
        return EXIT_USAGE;
    }
    for (unsigned int i = 0; i < o.n_test_iters; i++) {
        if (!find_test(o.test_iters[i].name, NULL)) {
            fprintf(stderr, "osci-bench: --iters %s=...: no such test (see --list)\n", o.test_iters[i].name);
            return EXIT_USAGE;
        }
    }
    int rdma = !strcmp(suite_arg, "rdma");
    for (unsigned int i = 0; i < n_selected; i++) {
        const char *ts = NULL;
        find_test(selected[i]->name, &ts);
        if (!strcmp(ts, "rdma") && !rdma) {
            fprintf(stderr, "osci-bench: --test %s runs between two hosts: add --suite rdma\n", selected[i]->name);
            return EXIT_USAGE;
        }
        if (suite_given && strcmp(suite_arg, "all") && strcmp(ts, suite_arg)) {
            fprintf(stderr, "osci-bench: --test %s is in suite %s, not --suite %s\n", selected[i]->name, ts,
                    suite_arg);
            return EXIT_USAGE;
        }
    }
    if (!rdma && (o.role || o.peer_node || o.adapter >= 0 || o.path || o.dma_queues)) {
        fprintf(stderr, "osci-bench: --role, --peer-node, --adapter, --path and --dma-queues belong to "
                        "--suite rdma\n");
        return EXIT_USAGE;
    }
    if (rdma && !list && (!o.role || !o.peer_node)) {
        fprintf(stderr, "osci-bench: --suite rdma runs between two hosts: give --role server|client and "
                        "--peer-node N (the other host's node id)\n");
        return EXIT_USAGE;
    }
    if (rdma && o.role == BENCH_ROLE_SERVER && (o.csv || o.plot || o.n_sizes)) {
        fprintf(stderr, "osci-bench: the rdma server measures nothing: --csv, --plot and --size belong to the "
                        "client\n");
        return EXIT_USAGE;
    }
    if (o.plot && !have_program("gnuplot")) {
        fprintf(stderr, "osci-bench: --plot needs gnuplot, which is not installed "
                        "(Debian: apt-get install gnuplot-nox)\n");
        return 1;
    }
    o.ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (rdma && !list) {
        char err[2 * BENCH_ERR_MAX];
        if (o.role == BENCH_ROLE_SERVER)
            return bench_rdma_serve(&o);
        if (bench_rdma_open(&o, err, sizeof(err))) {
            fprintf(stderr, "osci-bench: rdma client: %s\n", err);
            bench_rdma_close();
            return 1;
        }
    }
    if (list) {
        for (unsigned int s = 0; s < N_SUITES; s++) {
            if (strcmp(suite_arg, "all") && strcmp(suite_arg, suites[s]->name))
                continue;
            for (unsigned int i = 0; i < suites[s]->n_tests; i++)
                printf("%-24s %-6s %s\n", suites[s]->tests[i].name, suites[s]->tests[i].mode, suites[s]->tests[i].what);
        }
        return 0;
    }
    /* What runs: the -t tests in the order given, or every test of the chosen suites. */
    if (!n_selected) {
        for (unsigned int s = 0; s < N_SUITES; s++) {
            if (strcmp(suite_arg, "all") ? strcmp(suite_arg, suites[s]->name) != 0
                                         : !strcmp(suites[s]->name, "rdma") || !strcmp(suites[s]->name, "buf"))
                continue;
            for (unsigned int i = 0; i < suites[s]->n_tests && n_selected < MAX_SELECTED; i++)
                selected[n_selected++] = &suites[s]->tests[i];
        }
    }
    unsigned int runs = 0;
    for (unsigned int i = 0; i < n_selected; i++)
        runs += test_sizes(selected[i], &o, NULL);
    prog_start(&o, runs);
    for (unsigned int i = 0; i < n_selected; i++)
        run_test(selected[i], &o);
    for (unsigned int s = 0; s < N_SUITES; s++)
        compute_ratios(suites[s]);
    if (rdma)
        bench_rdma_close();
    if (o.json)
        print_json(&o, suite_arg);
    else if (o.csv)
        print_csv(&o);
    else
        print_text_ratios();
    fflush(stdout);
    if (o.plot && plot(o.plot))
        return 1;
    free(results);
    return 0;
}
