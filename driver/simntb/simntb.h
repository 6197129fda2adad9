/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * simntb: the window-device core (driver/wdev/wdev.h, the region layout) over /dev/shm on one host.
 * The fabric file /dev/shm/osci.<fabric> is the core's region; its host-local area (wd_hdr.local_off)
 * holds these words per port, which only the simntb provider reads and writes (docs/simntb.md §3).
 */
#ifndef SIMNTB_H
#define SIMNTB_H

#include <stdint.h>

#include "wdev.h"

/*
 * Host-local words of one port: only meaningful between processes of one host (a pid, a futex, the
 * arm handshake of the wake socket). The owner writes pid, start_time and name_rand; any process of
 * the host may exchange armed to 0, bump futex and count itself in db_waiters (local atomics).
 */
struct sn_local {
    int32_t pid;                     /* owner */
    uint32_t armed;                  /* 1: the owner sleeps on its event fd; a waker exchanges it to 0 */
    uint64_t start_time;             /* /proc/<pid>/stat field 22 */
    uint64_t name_rand;              /* random part of this incarnation's window and wake names */
    uint32_t futex;                  /* bumped per doorbell; db_wait sleeps on it */
    uint32_t db_waiters;
    uint8_t reserved[32];
};
_Static_assert(sizeof(struct sn_local) == WD_LOCAL_SIZE, "local words");

#endif
