/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Nothing left in /dev/shm or /dev/mqueue by NvSciIpc INTER_PROCESS / INTER_THREAD channels
 * (docs/nvsciipc.md): a process that exits with endpoints open and never calls NvSciIpcDeinit leaves
 * nothing once no other side stays; a channel whose every process was killed is reclaimed by the
 * next opener, and nothing is left after it leaves. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include "ipc_util.h"

#define T_MS 10000
#define PAIR_RUNS 10

static char cfg_path[64];
static char ep_a[NVSCIIPC_MAX_ENDPOINT_NAME], ep_b[NVSCIIPC_MAX_ENDPOINT_NAME];
static int test_no;

enum { HOW_EXIT = 1, HOW_CLOSE, HOW_HANG };

static void write_cfg(const char *backend)
{
    test_no++;
    snprintf(ep_a, sizeof(ep_a), "clean%d_%d_a", (int)getpid(), test_no);
    snprintf(ep_b, sizeof(ep_b), "clean%d_%d_b", (int)getpid(), test_no);
    assert_int_equal(tcfg_write(cfg_path, sizeof(cfg_path), "ipc-clean", 0600, "%s %s %s 16 64\n", backend, ep_a, ep_b), 0);
}

/* Entries of the current channel in /dev/shm and /dev/mqueue (its names hold ep_a); removed too
 * with `remove`. */
static int leftovers_rm(int remove)
{
    static const char *const dirs[] = { "/dev/shm", "/dev/mqueue" };
    char path[400];
    int n = 0;
    for (int i = 0; i < 2; i++) {
        struct dirent *e;
        DIR *dir = opendir(dirs[i]);
        if (!dir)
            continue;
        while ((e = readdir(dir)))
            if (strstr(e->d_name, ep_a)) {
                n++;
                snprintf(path, sizeof(path), "%s/%s", dirs[i], e->d_name);
                if (remove)
                    unlink(path);
            }
        closedir(dir);
    }
    return n;
}

static int leftovers(void)
{
    return leftovers_rm(0);
}

static int teardown(void **state)
{
    unlink(cfg_path);
    tproc_teardown(state);
    leftovers_rm(1);                  /* what a failed test left */
    return 0;
}

/* Set in a child: after the library's exit hooks ran, it reports and waits for a byte. */
static int late_dtor_rd = -1, late_dtor_wr = -1;

/* Priority 101 runs after every destructor without a priority (the exit hooks). */
__attribute__((destructor(101))) static void late_dtor(void)
{
    uint32_t v;
    if (late_dtor_wr >= 0) {
        tproc_send_u32(late_dtor_wr, 'e');
        tproc_recv_u32(late_dtor_rd, &v, T_MS);
    }
}

static int wait_event(NvSciIpcEndpoint h, uint32_t want)
{
    time_t end = time(NULL) + 10;
    int32_t fd;
    if (NvSciIpcGetLinuxEventFd(h, &fd) != NvSciError_Success)
        return -1;
    while (time(NULL) < end) {
        uint32_t ev = 0;
        fd_set rfds;
        struct timeval tv = { 0, 100000 };
        if (NvSciIpcGetEventSafe(h, &ev) != NvSciError_Success)
            return -1;
        if (ev & want)
            return 0;
        FD_ZERO(&rfds);
        FD_SET(fd, &rfds);
        select(fd + 1, &rfds, NULL, NULL, &tv);
    }
    return -1;
}

/* One side (arg: 0 = ep_a, 1 = ep_b): opens, establishes, sends one frame, reports, then acts on a
 * command: exit() with the endpoint open and no Deinit, close + Deinit, or wait to be killed. */
static int side_main(int rd, int wr, void *arg)
{
    const char *name = (uintptr_t)arg ? ep_b : ep_a;
    NvSciIpcEndpoint h;
    uint32_t how, n;
    char frame[64] = "x";

    CHECK(NvSciIpcInit() == NvSciError_Success);
    CHECK(NvSciIpcOpenEndpoint(name, &h) == NvSciError_Success);
    CHECK(NvSciIpcResetEndpointSafe(h) == NvSciError_Success);
    CHECK(wait_event(h, NV_SCI_IPC_EVENT_CONN_EST) == 0);
    CHECK(NvSciIpcWriteSafe(h, frame, sizeof(frame), &n) == NvSciError_Success);
    CHECK(tproc_send_u32(wr, 1) == 0);
    CHECK(tproc_recv_u32(rd, &how, 30000) == 0);
    if (how == HOW_HANG)
        pause();
    if (how == HOW_CLOSE) {
        NvSciIpcCloseEndpointSafe(h, false);
        NvSciIpcDeinit();
        return 0;
    }
    if (how == 'E') {                 /* hold the process after the exit hooks */
        late_dtor_rd = rd;
        late_dtor_wr = wr;
    }
    exit(0);
}

/* Opens ep_a (and ep_b too with LONE_BOTH: the two ends of an INTER_THREAD channel), then exits
 * without close and Deinit, or with LONE_CLOSE closes and deinits first. */
#define LONE_BOTH 1u
#define LONE_CLOSE 2u
static int lone_main(int rd, int wr, void *arg)
{
    unsigned int how = (unsigned int)(uintptr_t)arg;
    NvSciIpcEndpoint h, h2;
    CHECK(NvSciIpcInit() == NvSciError_Success);
    CHECK(NvSciIpcOpenEndpoint(ep_a, &h) == NvSciError_Success);
    if (how & LONE_BOTH)
        CHECK(NvSciIpcOpenEndpoint(ep_b, &h2) == NvSciError_Success);
    if (how & LONE_CLOSE) {
        NvSciIpcCloseEndpointSafe(h, false);
        if (how & LONE_BOTH)
            NvSciIpcCloseEndpointSafe(h2, false);
        NvSciIpcDeinit();
        return 0;
    }
    exit(0);
}

static void start_pair(struct tproc *a, struct tproc *b)
{
    uint32_t v;
    assert_int_equal(tproc_start(a, side_main, (void *)0), 0);
    assert_int_equal(tproc_start(b, side_main, (void *)1), 0);
    assert_int_equal(tproc_recv_u32(a->rd, &v, T_MS), 0);
    assert_int_equal(tproc_recv_u32(b->rd, &v, T_MS), 0);
    assert_int_equal(leftovers(), 3);          /* the channel's shm and its two mqueues */
}

static void test_exit_alone(void **state)
{
    write_cfg("INTER_PROCESS");
    IPC_RUN_CHILD(lone_main, (void *)0, T_MS);
    assert_int_equal(leftovers(), 0);
}

static void test_thread_exit(void **state)
{
    write_cfg("INTER_THREAD");
    IPC_RUN_CHILD(lone_main, (void *)(uintptr_t)LONE_BOTH, T_MS);
    assert_int_equal(leftovers(), 0);
}

/* Both connected sides exit at once without close. */
static void test_pair_exit(void **state)
{
    write_cfg("INTER_PROCESS");
    for (int i = 0; i < PAIR_RUNS; i++) {
        struct tproc a, b;
        start_pair(&a, &b);
        assert_int_equal(tproc_send_u32(a.wr, HOW_EXIT), 0);
        assert_int_equal(tproc_send_u32(b.wr, HOW_EXIT), 0);
        assert_int_equal(tproc_wait(&a, T_MS), 0);
        assert_int_equal(tproc_wait(&b, T_MS), 0);
        assert_int_equal(leftovers(), 0);
    }
}

/* One side exits without close, the other closes later: before the first is gone (its exit hook
 * has run), and after. */
static void test_close_after_peer_exit(void **state)
{
    write_cfg("INTER_PROCESS");
    for (int held = 0; held < 2; held++) {
        struct tproc a, b;
        uint32_t v;
        start_pair(&a, &b);
        assert_int_equal(tproc_send_u32(a.wr, held ? 'E' : HOW_EXIT), 0);
        if (held) {
            assert_int_equal(tproc_recv_u32(a.rd, &v, T_MS), 0);
            assert_int_equal(v, 'e');
            assert_int_equal(kill(a.pid, 0), 0);
        } else {
            assert_int_equal(tproc_wait(&a, T_MS), 0);
        }
        assert_int_equal(leftovers(), 3);      /* b stays: the names stay */
        assert_int_equal(tproc_send_u32(b.wr, HOW_CLOSE), 0);
        assert_int_equal(tproc_wait(&b, T_MS), 0);
        assert_int_equal(leftovers(), 0);
        if (held) {
            assert_int_equal(tproc_send_u32(a.wr, 0), 0);
            assert_int_equal(tproc_wait(&a, T_MS), 0);
            assert_int_equal(leftovers(), 0);
        }
    }
}

/* Both sides killed: the names stay; the next opener reclaims them and leaves nothing, whether it
 * closes or exits without close. */
static void test_killed_reclaimed(void **state)
{
    write_cfg("INTER_PROCESS");
    for (int how = 0; how < 2; how++) {
        struct tproc a, b;
        start_pair(&a, &b);
        tproc_kill(&a);
        tproc_kill(&b);
        assert_int_equal(leftovers(), 3);
        IPC_RUN_CHILD(lone_main, (void *)(uintptr_t)(how ? LONE_CLOSE : 0), T_MS);
        assert_int_equal(leftovers(), 0);
    }
}

OSCI_TEST_MAIN(NULL, NULL, NULL,
               cmocka_unit_test_teardown(test_exit_alone, teardown),
               cmocka_unit_test_teardown(test_thread_exit, teardown),
               cmocka_unit_test_teardown(test_pair_exit, teardown),
               cmocka_unit_test_teardown(test_close_after_peer_exit, teardown),
               cmocka_unit_test_teardown(test_killed_reclaimed, teardown))
