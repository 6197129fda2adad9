/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * What the NvSciIpc tests (tests/ipc, tests/compat, tests/buf) share: the group's private config
 * directory, an IPC_TEST_FILTER honoured by every program that includes this, the two waits a reader
 * may use (WaitForEvent or select() on the Linux event fd) and a process's or thread's CPU time.
 */
#ifndef IPC_UTIL_H
#define IPC_UTIL_H

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <time.h>
#include <cmocka.h>

#include "../common/osci_test.h"
#include "nvscievent.h"
#include "nvsciipc.h"

/* IPC_TEST_FILTER=<glob> runs only the matching tests of the program. */
__attribute__((constructor)) static void ipc_test_filter(void)
{
    if (getenv("IPC_TEST_FILTER")) cmocka_set_test_filter(getenv("IPC_TEST_FILTER"));
}

/* The group's private directory /tmp/osci-<program>-XXXXXX (the configs of the nodes). */
static char cfg_dir[64];

static inline int ipc_dir_setup(void **state)
{
    (void)state;
    return tdir_make(cfg_dir, sizeof(cfg_dir), program_invocation_short_name);
}

/* Group teardown: no child survives the group, the directory goes. */
static inline int ipc_dir_teardown(void **state)
{
    (void)state;
    tproc_reap_all();
    return tdir_remove(cfg_dir);
}

/* An open endpoint and how its owner waits: WaitForEvent on note when svc, else select() on fd. */
struct ipc_waiter {
    NvSciEventLoopService *svc;
    NvSciEventNotifier *note;
    NvSciIpcEndpoint h;
    int32_t fd;
};

/* NvSciIpcInit, then opens ep (with an event service and its notifier when svc) and takes its Linux event
 * fd. 0 or -1. */
static inline int ipc_open(struct ipc_waiter *e, const char *ep, int svc)
{
    memset(e, 0, sizeof(*e));
    if (NvSciIpcInit() != NvSciError_Success) return -1;
    if (svc) {
        if (NvSciEventLoopServiceCreateSafe(1, NULL, &e->svc) != NvSciError_Success) return -1;
        if (NvSciIpcOpenEndpointWithEventService(ep, &e->h, &e->svc->EventService) != NvSciError_Success) return -1;
        if (NvSciIpcGetEventNotifier(e->h, &e->note) != NvSciError_Success) return -1;
    } else if (NvSciIpcOpenEndpoint(ep, &e->h) != NvSciError_Success) {
        return -1;
    }
    return NvSciIpcGetLinuxEventFd(e->h, &e->fd) == NvSciError_Success ? 0 : -1;
}

/* Undoes ipc_open; the close's result, NvSciError_Success when it succeeded. */
static inline NvSciError ipc_close(struct ipc_waiter *e)
{
    NvSciError err;
    if (e->note) e->note->Delete(e->note);
    err = NvSciIpcCloseEndpointSafe(e->h, false);
    NvSciIpcDeinit();
    if (e->svc) e->svc->EventService.Delete(&e->svc->EventService);
    return err;
}

/* Waits at most us (< 0: 0). 1 woken, 0 timeout, -1 error. */
static inline int ipc_wait(struct ipc_waiter *e, int64_t us)
{
    if (us < 0) us = 0;
    if (e->svc) {
        NvSciError err = e->svc->WaitForEvent(e->note, us);
        return err == NvSciError_Success ? 1 : err == NvSciError_Timeout ? 0 : -1;
    } else {
        fd_set rfds;
        struct timeval tv = { (time_t)(us / 1000000), (suseconds_t)(us % 1000000) };
        int n;
        FD_ZERO(&rfds);
        FD_SET(e->fd, &rfds);
        n = select(e->fd + 1, &rfds, NULL, NULL, &tv);
        return n > 0 ? 1 : n == 0 ? 0 : -1;
    }
}

/* In the parent: the next message from a child (its pipe end fd) is want. */
#define IPC_EXPECT(fd, want, timeout_ms) \
    do { \
        uint32_t msg_; \
        assert_int_equal(tproc_recv_u32((fd), &msg_, (timeout_ms)), 0); \
        assert_int_equal(msg_, (want)); \
    } while (0)

/* In the parent: children a and b both report want, are both sent go, and both exit 0. */
static inline void ipc_end_pair(struct tproc *a, struct tproc *b, uint32_t want, uint32_t go, int timeout_ms)
{
    IPC_EXPECT(a->rd, want, timeout_ms);
    IPC_EXPECT(b->rd, want, timeout_ms);
    assert_int_equal(tproc_send_u32(a->wr, go), 0);
    assert_int_equal(tproc_send_u32(b->wr, go), 0);
    assert_int_equal(tproc_wait(a, timeout_ms), 0);
    assert_int_equal(tproc_wait(b, timeout_ms), 0);
}

/* In the parent: fn(arg) in a child that must exit 0 within timeout_ms. */
#define IPC_RUN_CHILD(fn, arg, timeout_ms) \
    do { \
        struct tproc child_; \
        assert_int_equal(tproc_start(&child_, (fn), (arg)), 0); \
        assert_int_equal(tproc_wait(&child_, (timeout_ms)), 0); \
    } while (0)

/* CPU time of RUSAGE_SELF or RUSAGE_THREAD, in us. */
static inline uint64_t ipc_cpu_us(int who)
{
    struct rusage ru;
    getrusage(who, &ru);
    return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u + (uint64_t)ru.ru_utime.tv_usec +
           (uint64_t)ru.ru_stime.tv_usec;
}

#endif
