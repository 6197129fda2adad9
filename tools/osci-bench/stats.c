/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* osci-bench: sample statistics and per-test defaults. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted samples. */
static double pct(const uint64_t *s, uint64_t n, double p)
{
    uint64_t k = (uint64_t)(p * (double)n + 0.999999);
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return (double)s[k - 1];
}

/* Sorts samples in place; every statistic is multiplied by scale (0.5 turns a round trip into one-way). */
void bench_stats_compute(uint64_t *samples, uint64_t n, double scale, struct bench_stats *st)
{
    long double sum = 0;
    if (n == 0) {
        *st = (struct bench_stats){ 0 };
        return;
    }
    qsort(samples, n, sizeof(*samples), cmp_u64);
    for (uint64_t i = 0; i < n; i++)
        sum += samples[i];
    st->min = (double)samples[0] * scale;
    st->p50 = pct(samples, n, 0.50) * scale;
    st->avg = (double)(sum / n) * scale;
    st->p99 = pct(samples, n, 0.99) * scale;
    st->p999 = pct(samples, n, 0.999) * scale;
    st->max = (double)samples[n - 1] * scale;
    long double mean = sum / n, var = 0;
    for (uint64_t i = 0; i < n; i++)
        var += ((long double)samples[i] - mean) * ((long double)samples[i] - mean);
    st->stdev = sqrt((double)(var / n)) * scale;
}

void bench_iters(const struct bench_test *t, const struct bench_opts *o, uint64_t *iters_p, uint64_t *warmup_p)
{
    uint64_t it = o->iters > 0 ? (uint64_t)o->iters : (uint64_t)(o->quick ? t->quick_iters : t->iters);
    for (unsigned int i = 0; i < o->n_test_iters; i++)
        if (!strcmp(o->test_iters[i].name, t->name))
            it = (uint64_t)o->test_iters[i].iters;
    uint64_t w = o->warmup >= 0 ? (uint64_t)o->warmup : it / 10;
    *iters_p = it;
    *warmup_p = w;
}

void bench_lat_result(struct bench_result *r, uint64_t *samples, uint64_t iters, uint64_t warmup)
{
    r->iters = iters;
    r->warmup = warmup;
    if (r->test->kind == BENCH_LAT) {
        bench_stats_compute(samples, iters, 1.0, &r->rtt);
        bench_stats_compute(samples, iters, 0.5, &r->lat);
    } else {
        bench_stats_compute(samples, iters, 1.0, &r->lat);
    }
}

/* How long one bandwidth size runs. */
double bench_bw_seconds(const struct bench_opts *o)
{
    return o->quick ? 0.03 : 0.3;
}
