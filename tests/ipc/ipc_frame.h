/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* The checked frame of the ipc tests: seq, 6 payload words derived from seq, a checksum (64 bytes). */
#ifndef IPC_FRAME_H
#define IPC_FRAME_H

#include <stdint.h>

static inline void fill(volatile void *frame, uint64_t seq)
{
    volatile uint64_t *w = frame;
    uint64_t sum = seq;
    unsigned i;
    w[0] = seq;
    for (i = 1; i < 7; i++) {
        w[i] = seq * 0x9E3779B97F4A7C15ull + i;
        sum = sum * 31 + w[i];
    }
    w[7] = sum;
}

/* 1 when the frame holds sequence number `want`, intact. */
static inline int check(const volatile void *frame, uint64_t want)
{
    const volatile uint64_t *w = frame;
    uint64_t sum = w[0];
    unsigned i;
    if (w[0] != want) return 0;
    for (i = 1; i < 7; i++) {
        if (w[i] != want * 0x9E3779B97F4A7C15ull + i) return 0;
        sum = sum * 31 + w[i];
    }
    return w[7] == sum;
}

#endif
