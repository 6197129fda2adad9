/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* INTER_PROCESS with a peer that died and was not reaped (a zombie: the survivor is its parent and has not
 * called waitpid): the survivor sees CONN_RESET, waits for it without burning CPU, and a new peer may take
 * the dead one's endpoint while the zombie is still there. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "nvsciipc.h"
#include "../common/osci_test.h"

#define WATCH_NS 1000000000ll   /* how long the survivor's event loop is watched */
#define CPU_PCT_MAX 20          /* an idle waiter: far below this share of one core */

static char cfg_path[64];
static char ep_a[NVSCIIPC_MAX_ENDPOINT_NAME], ep_b[NVSCIIPC_MAX_ENDPOINT_NAME];
static int test_no;

static void write_cfg(void)
{
    test_no++;
    snprintf(ep_a, sizeof(ep_a), "iz%d_%d_a", (int)getpid(), test_no);
    snprintf(ep_b, sizeof(ep_b), "iz%d_%d_b", (int)getpid(), test_no);
    assert_int_equal(tcfg_write(cfg_path, sizeof(cfg_path), "ipc-zombie", 0600, "#CFGVER:1\nINTER_PROCESS %s %s 16 64\n",
                                ep_a, ep_b), 0);
}

static int teardown(void **state)
{
    int i;
    (void)state;
    unlink(cfg_path);
    tproc_reap_all();
    for (i = 0; i < 4; i++) NvSciIpcDeinit();
    return 0;
}

static int64_t now_ns(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* Waits up to us for the event fd of h; 1 readable, 0 not, -1 error. */
static int wait_fd(NvSciIpcEndpoint h, int64_t us)
{
    int32_t fd;
    fd_set rfds;
    struct timeval tv = { (time_t)(us / 1000000), (suseconds_t)(us % 1000000) };
    if (NvSciIpcGetLinuxEventFd(h, &fd) != NvSciError_Success) return -1;
    FD_ZERO(&rfds);
    FD_SET(fd, &rfds);
    return select(fd + 1, &rfds, NULL, NULL, &tv);
}

static int establish(NvSciIpcEndpoint h)
{
    int64_t end = now_ns(CLOCK_MONOTONIC) + 5 * WATCH_NS;
    if (NvSciIpcResetEndpointSafe(h) != NvSciError_Success) return -1;
    while (now_ns(CLOCK_MONOTONIC) < end) {
        uint32_t ev;
        if (NvSciIpcGetEventSafe(h, &ev) != NvSciError_Success) return -1;
        if (ev & NV_SCI_IPC_EVENT_CONN_EST) return 0;
        if (wait_fd(h, 100000) < 0) return -1;
    }
    return -1;
}

/* The child: opens ep_b, connects, says so on sync_fd, and once go_fd says the parent is connected too,
 * leaves as told: 'e' _exit(), 'k' waits for SIGKILL. */
static int child_peer(int how, int sync_fd, int go_fd)
{
    NvSciIpcEndpoint h;
    char c = 'r';
    if (NvSciIpcInit() != NvSciError_Success) return 10;
    if (NvSciIpcOpenEndpoint(ep_b, &h) != NvSciError_Success) return 11;
    if (establish(h) < 0) return 12;
    if (write(sync_fd, &c, 1) != 1) return 13;
    if (read(go_fd, &c, 1) != 1) return 14;
    if (how == 'k')
        for (;;) pause();
    return 0;   /* _exit: no close, no exit hook */
}

static pid_t spawn(int how, int sync_fd, int go_fd)
{
    pid_t pid = tproc_fork();   /* not reaped until teardown: it stays a zombie */
    assert_true(pid >= 0);
    if (pid == 0) _exit(child_peer(how, sync_fd, go_fd));
    return pid;
}

/* The pid is a zombie now: dead, not yet reaped (its parent is this process). */
static int is_zombie_now(pid_t pid)
{
    siginfo_t si = { 0 };
    return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid;
}

/* Waits up to 5 s for pid to be a zombie. */
static int is_zombie(pid_t pid)
{
    int64_t end = now_ns(CLOCK_MONOTONIC) + 5 * WATCH_NS;
    while (now_ns(CLOCK_MONOTONIC) < end) {
        if (is_zombie_now(pid)) return 1;
        usleep(1000);
    }
    return 0;
}

/* A select + GetEvent loop on h while `pid` dies and for WATCH_NS after it is a zombie (at most 5 s more):
 * the CONN_RESETs seen (the first one's CLOCK_MONOTONIC time in *reset_ns), and the CPU time the whole
 * process used (the peer watcher thread included) in percent of the wall time, over those WATCH_NS. */
static int watch_loop(NvSciIpcEndpoint h, pid_t pid, int64_t *reset_ns, int *cpu_pct)
{
    int64_t t0 = now_ns(CLOCK_MONOTONIC), z = 0, c0 = 0, t;
    int resets = 0;
    *reset_ns = -1;
    while ((t = now_ns(CLOCK_MONOTONIC)) - t0 < 6 * WATCH_NS && (!z || t - z < WATCH_NS)) {
        uint32_t ev;
        int r;
        if (!z && is_zombie_now(pid)) {   /* the watched window starts */
            z = now_ns(CLOCK_MONOTONIC);
            c0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
        }
        r = wait_fd(h, z ? (WATCH_NS - (t - z)) / 1000 + 1 : 1000);
        assert_true(r >= 0);
        if (r == 0) continue;
        assert_int_equal(NvSciIpcGetEventSafe(h, &ev), NvSciError_Success);
        if (ev & NV_SCI_IPC_EVENT_CONN_RESET) {
            if (!resets) *reset_ns = now_ns(CLOCK_MONOTONIC);
            resets++;
        }
    }
    assert_true(z != 0);   /* it died, and nobody reaped it */
    *cpu_pct = (int)((now_ns(CLOCK_PROCESS_CPUTIME_ID) - c0) * 100 / (now_ns(CLOCK_MONOTONIC) - z));
    return resets;
}

/* how: 'e' the child calls _exit(), 'k' this process SIGKILLs it; neither reaps it. */
static void zombie_peer(int how)
{
    NvSciIpcEndpoint h;
    int pipefd[2], gofd[2], cpu, resets;
    int64_t reset_ns, dead_ns;
    uint64_t buf[8] = { 0 };
    uint32_t bytes;
    char c;
    pid_t pid, pid2;

    write_cfg();
    assert_int_equal(pipe(pipefd), 0);
    assert_int_equal(pipe(gofd), 0);
    pid = spawn(how, pipefd[1], gofd[0]);
    assert_int_equal(NvSciIpcInit(), NvSciError_Success);
    assert_int_equal(NvSciIpcOpenEndpoint(ep_a, &h), NvSciError_Success);
    assert_int_equal(establish(h), 0);
    assert_int_equal(read(pipefd[0], &c, 1), 1);
    assert_int_equal(write(gofd[1], "g", 1), 1);   /* 'e': the child exits now */
    dead_ns = now_ns(CLOCK_MONOTONIC);
    if (how == 'k') kill(pid, SIGKILL);
    resets = watch_loop(h, pid, &reset_ns, &cpu);
    print_message("%s peer, unreaped: CONN_RESET %.3f ms after its death (-1: none), survivor CPU %d%% "
                  "over 1 s as a zombie\n", how == 'k' ? "SIGKILLed" : "_exit()ed",
                  reset_ns < 0 ? -1.0 : (reset_ns - dead_ns) / 1e6, cpu);
    assert_int_equal(resets, 1);   /* reported, once */
    assert_true(cpu < CPU_PCT_MAX);
    assert_int_equal(NvSciIpcWriteSafe(h, buf, sizeof(buf), &bytes), NvSciError_ConnectionReset);
    /* The zombie's endpoint is free: a new peer opens it and both talk, the zombie still unreaped. */
    pid2 = spawn('k', pipefd[1], gofd[0]);
    assert_int_equal(establish(h), 0);
    assert_int_equal(read(pipefd[0], &c, 1), 1);
    assert_int_equal(write(gofd[1], "g", 1), 1);
    assert_int_equal(NvSciIpcWriteSafe(h, buf, sizeof(buf), &bytes), NvSciError_Success);
    assert_true(is_zombie(pid));
    kill(pid2, SIGKILL);
    resets = watch_loop(h, pid2, &reset_ns, &cpu);
    assert_int_equal(resets, 1);
    assert_true(cpu < CPU_PCT_MAX);
    assert_int_equal(NvSciIpcCloseEndpointSafe(h, false), NvSciError_Success);
    NvSciIpcDeinit();
    close(pipefd[0]);
    close(pipefd[1]);
    close(gofd[0]);
    close(gofd[1]);
}

static void test_peer_exit_zombie(void **state)
{
    (void)state;
    zombie_peer('e');
}

static void test_peer_killed_zombie(void **state)
{
    (void)state;
    zombie_peer('k');
}

/* The peer died (unreaped) before this side opened: its claim is reclaimed, no spin, no connection. */
static void test_zombie_before_open(void **state)
{
    NvSciIpcEndpoint h;
    int pipefd[2], cpu, est = 0;
    int64_t t0, c0, t;
    char c;
    pid_t pid;
    (void)state;

    write_cfg();
    assert_int_equal(pipe(pipefd), 0);
    pid = tproc_fork();
    assert_true(pid >= 0);
    if (pid == 0) {   /* opens, says so, dies without closing: no peer ever connects */
        NvSciIpcEndpoint hc;
        if (NvSciIpcInit() != NvSciError_Success || NvSciIpcOpenEndpoint(ep_b, &hc) != NvSciError_Success)
            _exit(10);
        _exit(write(pipefd[1], "r", 1) == 1 ? 0 : 11);
    }
    assert_int_equal(read(pipefd[0], &c, 1), 1);
    assert_true(is_zombie(pid));
    assert_int_equal(NvSciIpcInit(), NvSciError_Success);
    assert_int_equal(NvSciIpcOpenEndpoint(ep_a, &h), NvSciError_Success);
    assert_int_equal(NvSciIpcResetEndpointSafe(h), NvSciError_Success);
    t0 = now_ns(CLOCK_MONOTONIC);
    c0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
    while ((t = now_ns(CLOCK_MONOTONIC)) - t0 < WATCH_NS) {
        uint32_t ev;
        assert_int_equal(NvSciIpcGetEventSafe(h, &ev), NvSciError_Success);
        if (ev & NV_SCI_IPC_EVENT_CONN_EST) est = 1;
        assert_true(wait_fd(h, (WATCH_NS - (t - t0)) / 1000 + 1) >= 0);
    }
    cpu = (int)((now_ns(CLOCK_PROCESS_CPUTIME_ID) - c0) * 100 / (now_ns(CLOCK_MONOTONIC) - t0));
    print_message("peer dead before open: survivor CPU %d%% of 1 s\n", cpu);
    assert_false(est);
    assert_true(cpu < CPU_PCT_MAX);
    assert_int_equal(NvSciIpcCloseEndpointSafe(h, false), NvSciError_Success);   /* last user: unlinks */
    NvSciIpcDeinit();
    close(pipefd[0]);
    close(pipefd[1]);
}

OSCI_TEST_MAIN(NULL, NULL, NULL,
               cmocka_unit_test_teardown(test_peer_exit_zombie, teardown),
               cmocka_unit_test_teardown(test_peer_killed_zombie, teardown),
               cmocka_unit_test_teardown(test_zombie_before_open, teardown))
