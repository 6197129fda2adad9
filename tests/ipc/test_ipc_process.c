/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* INTER_PROCESS channels between forked processes: 100k checked frames, SIGKILL of a peer (CONN_RESET, no leak,
 * restart), reset in the middle of a stream, Busy on double open, gid enforcement. */
#include <errno.h>
#include <grp.h>
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

#include "ipc_frame.h"
#include "ipc_util.h"

#define WAIT_US 5000000
#define CHILD_TIMEOUT_MS 15000

static char cfg_path[64];
static char ep_a[NVSCIIPC_MAX_ENDPOINT_NAME], ep_b[NVSCIIPC_MAX_ENDPOINT_NAME];
static int test_no;

/* One INTER_PROCESS channel with unique names; gid < 0: no gid column. */
static void write_cfg(unsigned nframes, unsigned fsize, long gid)
{
    char gcol[24] = "";
    test_no++;
    snprintf(ep_a, sizeof(ep_a), "ip%d_%d_a", (int)getpid(), test_no);
    snprintf(ep_b, sizeof(ep_b), "ip%d_%d_b", (int)getpid(), test_no);
    if (gid >= 0) snprintf(gcol, sizeof(gcol), " %ld", gid);
    /* 0644: readable by a child that dropped privileges */
    assert_int_equal(tcfg_write(cfg_path, sizeof(cfg_path), "ipc-proc", 0644, "#CFGVER:1\nINTER_PROCESS %s %s %u %u%s\n",
                                ep_a, ep_b, nframes, fsize, gcol), 0);
}

static int teardown(void **state)
{
    int i;
    (void)state;
    unlink(cfg_path);
    tproc_reap_all();   /* after a failed test: no child survives it */
    for (i = 0; i < 8; i++) NvSciIpcDeinit();   /* and what it left open is closed */
    return 0;
}


/* Waits for the event fd of h to become readable; 0, or -1 on timeout. */
static int wait_fd(NvSciIpcEndpoint h, int us)
{
    int32_t fd;
    fd_set rfds;
    struct timeval tv = { us / 1000000, us % 1000000 };
    if (NvSciIpcGetLinuxEventFd(h, &fd) != NvSciError_Success) return -1;
    FD_ZERO(&rfds);
    FD_SET(fd, &rfds);
    return select(fd + 1, &rfds, NULL, NULL, &tv) > 0 ? 0 : -1;
}

/* Loops GetEventSafe until one of `want` shows up; returns the events, 0 on timeout or error. */
static uint32_t wait_for(NvSciIpcEndpoint h, uint32_t want)
{
    time_t end = time(NULL) + 10;
    while (time(NULL) < end) {
        uint32_t ev;
        if (NvSciIpcGetEventSafe(h, &ev) != NvSciError_Success) return 0;
        if (ev & want) return ev;
        if (wait_fd(h, WAIT_US) < 0) return 0;
    }
    return 0;
}

static int establish(NvSciIpcEndpoint h)
{
    if (NvSciIpcResetEndpointSafe(h) != NvSciError_Success) return -1;
    return wait_for(h, NV_SCI_IPC_EVENT_CONN_EST) ? 0 : -1;
}

/* In the parent: NvSciIpcInit and ep_a open. */
static NvSciIpcEndpoint open_a(void)
{
    NvSciIpcEndpoint h;
    assert_int_equal(NvSciIpcInit(), NvSciError_Success);
    assert_int_equal(NvSciIpcOpenEndpoint(ep_a, &h), NvSciError_Success);
    return h;
}

static pid_t spawn(int (*fn)(void *), void *arg)
{
    pid_t pid = tproc_fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(fn(arg));
    return pid;
}

/* A channel of nframes 64-byte frames with child(arg) at ep_b: ep_a, open and established. */
static NvSciIpcEndpoint connect_child(unsigned nframes, int (*child)(void *), void *arg, pid_t *pid)
{
    NvSciIpcEndpoint h;
    write_cfg(nframes, 64, -1);
    *pid = spawn(child, arg);
    h = open_a();
    assert_int_equal(establish(h), 0);
    return h;
}

static void kill_reap(pid_t pid)
{
    kill(pid, SIGKILL);
    tproc_reap(pid, CHILD_TIMEOUT_MS);
}

/* Exit status of the child, or -1 (killed after CHILD_TIMEOUT_MS or by a signal). */
static int reap(pid_t pid)
{
    int st;
    if (pid <= 0) return -1;
    st = tproc_reap(pid, CHILD_TIMEOUT_MS);
    if (st == -1) {
        fprintf(stderr, "child %d: timed out\n", (int)pid);
        return -1;
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st)) fprintf(stderr, "child %d: status 0x%x\n", (int)pid, st);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- 100k frames, writer in the child ---- */
struct wjob {
    uint64_t n;
    int restart;   /* the reader resets the stream once */
};

/* Writes frames 0..n-1 and waits until the reader took them. restart: also until a CONN_RESET came, after
 * each of which it establishes again and starts over from 0. */
static int child_writer(void *arg)
{
    const struct wjob *j = arg;
    uint32_t want = NV_SCI_IPC_EVENT_WRITE | (j->restart ? NV_SCI_IPC_EVENT_CONN_RESET : 0);
    uint64_t seq = 0;
    NvSciIpcEndpoint h;
    int resets = 0;
    if (NvSciIpcInit() != NvSciError_Success) return 10;
    if (NvSciIpcOpenEndpoint(ep_b, &h) != NvSciError_Success) return 11;
    if (establish(h) < 0) return 12;
    while (resets < j->restart || seq < j->n) {
        uint64_t buf[8];
        uint32_t bytes, ev;
        NvSciError err;
        fill(buf, seq);
        err = NvSciIpcWriteSafe(h, buf, sizeof(buf), &bytes);
        if (err == NvSciError_Success) {
            seq++;
            continue;
        }
        if (err != NvSciError_InsufficientMemory && !(j->restart && err == NvSciError_ConnectionReset)) return 13;
        if (!(ev = wait_for(h, want))) return 14;
        if (j->restart && (ev & NV_SCI_IPC_EVENT_CONN_RESET)) {   /* the reader restarted: so do we, from 0 */
            if (establish(h) < 0) return 15;
            resets++;
            seq = 0;
        }
    }
    if (!wait_for(h, NV_SCI_IPC_EVENT_WRITE_EMPTY)) return 16;   /* everything consumed */
    NvSciIpcCloseEndpointSafe(h, false);
    NvSciIpcDeinit();
    return 0;
}

/* Reads n frames expecting seq 0..n-1. */
static void read_n(NvSciIpcEndpoint h, uint64_t n)
{
    uint64_t seq = 0;
    while (seq < n) {
        uint64_t buf[8];
        uint32_t bytes;
        NvSciError err = NvSciIpcReadSafe(h, buf, sizeof(buf), &bytes);
        if (err == NvSciError_InsufficientMemory) {
            assert_true(wait_for(h, NV_SCI_IPC_EVENT_READ) != 0);
            continue;
        }
        assert_int_equal(err, NvSciError_Success);
        if (!check(buf, seq)) fail_msg("frame %llu lost/duplicated/reordered/corrupt (seq %llu)",
                                       (unsigned long long)seq, (unsigned long long)buf[0]);
        seq++;
    }
}

static void test_stream_across_fork(void **state)
{
    struct wjob j = { 100000, 0 };
    NvSciIpcEndpoint h;
    pid_t pid;
    (void)state;
    h = connect_child(64, child_writer, &j, &pid);
    read_n(h, j.n);
    assert_int_equal(reap(pid), 0);
    assert_int_equal(NvSciIpcCloseEndpointSafe(h, false), NvSciError_Success);
    NvSciIpcDeinit();
}

/* ---- a peer killed with SIGKILL ---- */
/* Opens ep_b (and establishes when est), says so on pipefd[1] and waits to be killed. */
static int hold(int *pipefd, int est)
{
    NvSciIpcEndpoint h;
    char c = 'x';
    if (NvSciIpcInit() != NvSciError_Success) return 10;
    if (NvSciIpcOpenEndpoint(ep_b, &h) != NvSciError_Success) return 11;
    if (est && establish(h) < 0) return 12;
    if (write(pipefd[1], &c, 1) != 1) return 13;
    for (;;) pause();
}

static int child_hold(void *arg)
{
    return hold(arg, 1);
}

static void test_peer_killed(void **state)
{
    NvSciIpcEndpoint h;
    int pipefd[2];
    uint64_t buf[8];
    uint32_t bytes, ev;
    char c;
    pid_t pid;
    (void)state;
    assert_int_equal(pipe(pipefd), 0);
    h = connect_child(16, child_hold, pipefd, &pid);
    assert_int_equal(read(pipefd[0], &c, 1), 1);
    kill_reap(pid);
    /* The event fd alone (what select() users watch) becomes readable, then CONN_RESET is reported once. */
    assert_int_equal(wait_fd(h, WAIT_US), 0);
    ev = wait_for(h, NV_SCI_IPC_EVENT_CONN_RESET);
    assert_true(ev & NV_SCI_IPC_EVENT_CONN_RESET);
    assert_int_equal(NvSciIpcGetEventSafe(h, &ev), NvSciError_Success);
    assert_false(ev & NV_SCI_IPC_EVENT_CONN_RESET);
    fill(buf, 0);
    assert_int_equal(NvSciIpcWriteSafe(h, buf, sizeof(buf), &bytes), NvSciError_ConnectionReset);
    /* A restarted peer may open the dead one's endpoint; both reset and talk again. */
    pid = spawn(child_hold, pipefd);
    assert_int_equal(establish(h), 0);
    assert_int_equal(read(pipefd[0], &c, 1), 1);
    assert_int_equal(NvSciIpcWriteSafe(h, buf, sizeof(buf), &bytes), NvSciError_Success);
    kill_reap(pid);
    assert_true(wait_for(h, NV_SCI_IPC_EVENT_CONN_RESET) & NV_SCI_IPC_EVENT_CONN_RESET);
    assert_int_equal(NvSciIpcCloseEndpointSafe(h, false), NvSciError_Success);   /* last user: unlinks */
    NvSciIpcDeinit();
    close(pipefd[0]);
    close(pipefd[1]);
}

/* ---- reset in the middle of a stream ---- */
static void test_reset_mid_stream(void **state)
{
    struct wjob j = { 50000, 1 };
    uint64_t buf[8];
    uint32_t bytes;
    NvSciIpcEndpoint h;
    pid_t pid;
    (void)state;
    h = connect_child(32, child_writer, &j, &pid);
    read_n(h, 1000);
    assert_int_equal(NvSciIpcResetEndpointSafe(h), NvSciError_Success);
    /* During our reset I/O is refused, unless the peer already answered it: nothing old is readable. */
    {
        NvSciError err = NvSciIpcReadSafe(h, buf, sizeof(buf), &bytes);
        assert_true(err == NvSciError_ConnectionReset || err == NvSciError_InsufficientMemory);
    }
    assert_true(wait_for(h, NV_SCI_IPC_EVENT_CONN_EST) & NV_SCI_IPC_EVENT_CONN_EST);
    read_n(h, j.n);   /* the old stream's frames were discarded: the new one starts at 0 */
    assert_int_equal(reap(pid), 0);
    assert_int_equal(NvSciIpcCloseEndpointSafe(h, false), NvSciError_Success);
    NvSciIpcDeinit();
}

/* ---- Busy ---- */
static int child_open_b(void *arg)
{
    return hold(arg, 0);
}

static void test_busy(void **state)
{
    NvSciIpcEndpoint h, h2;
    int pipefd[2];
    char c;
    pid_t pid;
    (void)state;
    write_cfg(8, 64, -1);
    assert_int_equal(pipe(pipefd), 0);
    pid = spawn(child_open_b, pipefd);
    h = open_a();
    assert_int_equal(NvSciIpcOpenEndpoint(ep_a, &h2), NvSciError_Busy);       /* same process */
    assert_int_equal(read(pipefd[0], &c, 1), 1);
    assert_int_equal(NvSciIpcOpenEndpoint(ep_b, &h2), NvSciError_Busy);       /* open in the child */
    kill_reap(pid);
    assert_int_equal(NvSciIpcOpenEndpoint(ep_b, &h2), NvSciError_Success);    /* a dead owner's claim */
    assert_int_equal(NvSciIpcCloseEndpointSafe(h2, false), NvSciError_Success);
    assert_int_equal(NvSciIpcCloseEndpointSafe(h, false), NvSciError_Success);
    NvSciIpcDeinit();
    close(pipefd[0]);
    close(pipefd[1]);
}

/* ---- gid enforcement: a child that dropped to nobody/nogroup (65534) ---- */
struct gid_case {
    int *pipefd;
    NvSciError want;
};

static int child_unprivileged(void *arg)
{
    struct gid_case *gc = arg;
    NvSciIpcEndpoint h;
    NvSciError err;
    char c;
    close(gc->pipefd[1]);   /* EOF, not a hang, when the parent fails */
    if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0) return 20;
    if (read(gc->pipefd[0], &c, 1) != 1) return 21;   /* the parent has created the channel */
    if (NvSciIpcInit() != NvSciError_Success) return 22;
    err = NvSciIpcOpenEndpoint(ep_b, &h);
    if (err != gc->want) return 23;
    if (err == NvSciError_Success) {
        if (establish(h) < 0) return 24;
        if (read(gc->pipefd[0], &c, 1) != 1) return 25;   /* the parent saw CONN_EST too */
        NvSciIpcCloseEndpointSafe(h, false);
    }
    NvSciIpcDeinit();
    return 0;
}

static void run_gid_case(long gid, NvSciError want)
{
    NvSciIpcEndpoint h;
    int pipefd[2];
    struct gid_case gc = { pipefd, want };
    char shm[256], c = 'g';
    struct stat st;
    pid_t pid;
    write_cfg(8, 64, gid);
    assert_int_equal(pipe(pipefd), 0);
    pid = spawn(child_unprivileged, &gc);
    h = open_a();
    if (gid >= 0) {   /* the channel's shared memory carries the group, mode 0660 */
        unsigned hit = 0;
        FILE *ls = popen("ls /dev/shm", "r");
        while (ls && fgets(shm, sizeof(shm), ls)) {
            char path[300];
            shm[strcspn(shm, "\n")] = '\0';
            if (!strstr(shm, ep_a)) continue;
            snprintf(path, sizeof(path), "/dev/shm/%s", shm);
            assert_int_equal(stat(path, &st), 0);
            assert_int_equal(st.st_gid, (gid_t)gid);
            assert_int_equal(st.st_mode & 0777, 0660);
            hit++;
        }
        if (ls) pclose(ls);
        assert_int_equal(hit, 1);
    }
    assert_int_equal(write(pipefd[1], &c, 1), 1);
    if (want == NvSciError_Success) {
        assert_int_equal(establish(h), 0);
        assert_int_equal(write(pipefd[1], &c, 1), 1);
    }
    assert_int_equal(reap(pid), 0);
    assert_int_equal(NvSciIpcCloseEndpointSafe(h, false), NvSciError_Success);   /* root closes last */
    NvSciIpcDeinit();
    close(pipefd[0]);
    close(pipefd[1]);
    teardown(NULL);
}

static void test_gid(void **state)
{
    (void)state;
    if (geteuid() != 0) skip();
    run_gid_case(65534, NvSciError_Success);          /* member of the endpoint's group */
    run_gid_case(30000, NvSciError_NotPermitted);     /* not a member */
    run_gid_case(-1, NvSciError_NotPermitted);        /* no gid: 0600, owner only */
}

OSCI_TEST_MAIN(NULL, NULL, NULL,
               cmocka_unit_test_teardown(test_stream_across_fork, teardown),
               cmocka_unit_test_teardown(test_peer_killed, teardown),
               cmocka_unit_test_teardown(test_reset_mid_stream, teardown),
               cmocka_unit_test_teardown(test_busy, teardown),
               cmocka_unit_test_teardown(test_gid, teardown))
