/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* The tools' monotonic clock (tools/common/; the libraries' is common/osci_time.h, which tools do not see). */
#ifndef OSCI_TOOL_TIME_H
#define OSCI_TOOL_TIME_H

#include <stdint.h>
#include <time.h>

static inline uint64_t tool_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t tool_now_ms(void) { return tool_now_ns() / 1000000u; }

#endif
