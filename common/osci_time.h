/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* The one monotonic clock (CLOCK_MONOTONIC: never steps back, stops nowhere a caller would notice) in
 * the units its callers count in, and absolute deadlines for the calls that take a struct timespec
 * (pthread_cond_timedwait on a condition set to a clock, pthread_mutex_timedlock on CLOCK_REALTIME). */
#ifndef OSCI_TIME_H
#define OSCI_TIME_H

#include <stdint.h>
#include <time.h>

static inline uint64_t osci_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t osci_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000ull + (uint64_t)ts.tv_nsec / 1000u;
}

static inline uint64_t osci_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The time `ms` milliseconds from now on clock `clk`, as an absolute timespec. */
static inline struct timespec osci_ts_after_ms(clockid_t clk, unsigned int ms)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

#endif
