/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* osci-bench ipc suite: NvSciIpc INTER_PROCESS and INTER_CHIP (two simntb nodes) channels, and the peers
 * installed on this machine (POSIX mqueue ping-pong, UCX ucx_perftest over posix shared memory). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <mqueue.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#if __has_include("nvsciipc.h")
#include "nvsciipc.h"
#define HAVE_NVSCIIPC_H 1
#endif

/* ---- NvSciIpc INTER_PROCESS and INTER_CHIP ---- */
#ifdef HAVE_NVSCIIPC_H
#define IPC_NFRAMES 64

static char ipc_cfg_path[2][64];   /* INTER_PROCESS: [0] for both; INTER_CHIP: one per node */
static int ipc_event_mode;         /* 1: block on the Linux event fd; 0: poll ReadSafe */
static int ipc_chip;               /* INTER_CHIP between node 1 (A) and node 2 (B) of a private fabric */

static int ipc_fail(struct pair_ctl *c, int me, const char *call, NvSciError e)
{
    bench_pair_fail(c, me, "node %c: %s: NvSciError %#x", 'A' + me, call, (unsigned int)e);
    return -1;
}

/* Waits for the wanted event bits; blocking on the event fd. */
static int ipc_wait_event(struct pair_ctl *c, int me, NvSciIpcEndpoint ep, int fd, uint32_t want, int block)
{
    uint32_t ev = 0;
    for (;;) {
        NvSciError e = NvSciIpcGetEventSafe(ep, &ev);
        if (e != NvSciError_Success)
            return ipc_fail(c, me, "NvSciIpcGetEventSafe", e);
        if (ev & NV_SCI_IPC_EVENT_CONN_RESET) {
            bench_pair_fail(c, me, "node %c: channel reset by the peer", 'A' + me);
            return -1;
        }
        if (ev & want)
            return 0;
        if (bench_pair_aborted(c))
            return -1;
        if (block) {
            struct pollfd p = { .fd = fd, .events = POLLIN };
            c->waits[me]++;
            poll(&p, 1, 1000);
        } else {
            bench_cpu_relax();
        }
    }
}

/* The FIFO was empty (full): wait for `event` in event mode, else spin, checking now and then
 * whether the other node gave up. */
static int ipc_await(struct pair_ctl *c, int me, NvSciIpcEndpoint ep, int fd, uint32_t event, unsigned int *spins)
{
    if (ipc_event_mode)
        return ipc_wait_event(c, me, ep, fd, event, 1) ? -1 : 0;
    bench_cpu_relax();
    if (++*spins == 1u << 20) {
        *spins = 0;
        if (bench_pair_aborted(c))
            return -1;
    }
    return 0;
}

/* Calls fn(...) until it succeeds, awaiting `event` while it finds the FIFO empty (full); returns from the
 * caller on another error or when the other node gave up. */
#define IPC_RETRY(c, me, ep, fd, event, fn, ...)                          \
    for (unsigned int spins_ = 0;;) {                                     \
        NvSciError e_ = fn(__VA_ARGS__);                                  \
        if (e_ == NvSciError_Success)                                     \
            break;                                                        \
        if (e_ != NvSciError_InsufficientMemory)                          \
            return ipc_fail(c, me, #fn, e_);                              \
        if (ipc_await(c, me, ep, fd, event, &spins_))                     \
            return -1;                                                    \
    }

static int ipc_recv(struct pair_ctl *c, int me, NvSciIpcEndpoint ep, int fd, void *buf, uint32_t size)
{
    uint32_t got = 0;
    IPC_RETRY(c, me, ep, fd, NV_SCI_IPC_EVENT_READ, NvSciIpcReadSafe, ep, buf, size, &got);
    return 0;
}

/* Poll mode spins on WriteSafe as on ReadSafe: a polling GetEvent would arm for WRITE each time and make
 * the reader notify for every frame it frees. */
static int ipc_send(struct pair_ctl *c, int me, NvSciIpcEndpoint ep, int fd, const void *buf, uint32_t size)
{
    uint32_t put = 0;
    IPC_RETRY(c, me, ep, fd, NV_SCI_IPC_EVENT_WRITE, NvSciIpcWriteSafe, ep, buf, size, &put);
    return 0;
}

/* Zero-copy: the writer fills the channel's frame in place (size bytes, a sequence number first), the
 * reader checks the sequence number where the frame lies, as ucx_perftest's am_bw handler reads only the
 * message's sequence number. */
static int ipc_send_zc(struct pair_ctl *c, int me, NvSciIpcEndpoint ep, int fd, const void *buf, uint32_t size,
                       uint64_t seq)
{
    volatile void *frame;
    IPC_RETRY(c, me, ep, fd, NV_SCI_IPC_EVENT_WRITE, NvSciIpcWriteGetNextFrame, ep, &frame);
    memcpy((void *)frame, buf, size);
    if (size >= sizeof(seq))
        memcpy((void *)frame, &seq, sizeof(seq));
    NvSciError e = NvSciIpcWriteAdvance(ep);
    return e == NvSciError_Success ? 0 : ipc_fail(c, me, "NvSciIpcWriteAdvance", e);
}

static int ipc_recv_zc(struct pair_ctl *c, int me, NvSciIpcEndpoint ep, int fd, uint32_t size, uint64_t seq)
{
    const volatile void *frame;
    IPC_RETRY(c, me, ep, fd, NV_SCI_IPC_EVENT_READ, NvSciIpcReadGetNextFrame, ep, &frame);
    if (size >= sizeof(seq) && *(const volatile uint64_t *)frame != seq) {
        bench_pair_fail(c, me, "node %c: frame %llu carries %llu", 'A' + me, (unsigned long long)seq,
                        (unsigned long long)*(const volatile uint64_t *)frame);
        return -1;
    }
    NvSciError e = NvSciIpcReadAdvance(ep);
    return e == NvSciError_Success ? 0 : ipc_fail(c, me, "NvSciIpcReadAdvance", e);
}

/* rate: 0 ping-pong, 1 stream with WriteSafe/ReadSafe, 2 stream with the zero-copy calls */
static int ipc_node(struct pair_ctl *c, int me, int rate)
{
    char name[48];
    NvSciIpcEndpoint ep = 0;
    NvSciError e;
    int32_t fd = -1;
    int rc = -1, opened = 0, inited = 0;
    uint8_t buf[4096] = { 0 };
    uint32_t size = (uint32_t)c->size;
    uint64_t total = c->warmup + c->iters;

    setenv("NVSCIIPC_CFG", ipc_cfg_path[ipc_chip ? me : 0], 1);
    if (ipc_chip)   /* the same endpoint name on both nodes */
        snprintf(name, sizeof(name), "bench_c2c_%ld", (long)getppid());
    else
        snprintf(name, sizeof(name), "bench_%c_%ld", 'a' + me, (long)getppid());
    if ((e = NvSciIpcInit()) != NvSciError_Success) {
        ipc_fail(c, me, "NvSciIpcInit", e);
        goto out;
    }
    inited = 1;
    if ((e = NvSciIpcOpenEndpoint(name, &ep)) != NvSciError_Success) {
        ipc_fail(c, me, "NvSciIpcOpenEndpoint", e);
        goto out;
    }
    opened = 1;
    if ((e = NvSciIpcGetLinuxEventFd(ep, &fd)) != NvSciError_Success) {
        ipc_fail(c, me, "NvSciIpcGetLinuxEventFd", e);
        goto out;
    }
    if ((e = NvSciIpcResetEndpointSafe(ep)) != NvSciError_Success) {
        ipc_fail(c, me, "NvSciIpcResetEndpointSafe", e);
        goto out;
    }
    if (ipc_wait_event(c, me, ep, fd, NV_SCI_IPC_EVENT_CONN_EST_ALL, 1))
        goto out;
    if (bench_pair_barrier(c))
        goto out;
    bench_pair_cpu(c, me, 1);
    if (rate) {
        /* A streams total frames; B answers the last one; the rate counts the measured frames. */
        uint64_t t0 = 0;
        for (uint64_t i = 0; i < total; i++) {
            if (i == c->warmup && me == 0)
                t0 = tool_now_ns();
            if (rate == 2) {
                if (me == 0 ? ipc_send_zc(c, me, ep, fd, buf, size, i) : ipc_recv_zc(c, me, ep, fd, size, i))
                    goto out;
            } else if (me == 0 ? ipc_send(c, me, ep, fd, buf, size) : ipc_recv(c, me, ep, fd, buf, size)) {
                goto out;
            }
        }
        if (me == 0 ? ipc_recv(c, me, ep, fd, buf, size) : ipc_send(c, me, ep, fd, buf, size))
            goto out;
        if (me == 0) {
            c->count = c->iters;
            c->elapsed_ns = tool_now_ns() - t0;
        }
    } else {
        for (uint64_t i = 0; i < total; i++) {
            uint64_t t0 = tool_now_ns();
            if (me == 0) {
                if (ipc_send(c, me, ep, fd, buf, size) || ipc_recv(c, me, ep, fd, buf, size))
                    goto out;
                if (i >= c->warmup)
                    c->samples[i - c->warmup] = tool_now_ns() - t0;
            } else if (ipc_recv(c, me, ep, fd, buf, size) || ipc_send(c, me, ep, fd, buf, size)) {
                goto out;
            }
        }
    }
    bench_pair_cpu(c, me, 0);
    rc = bench_pair_barrier(c);
out:
    if (opened)
        NvSciIpcCloseEndpointSafe(ep, false);
    if (inited)
        NvSciIpcDeinit();
    return rc;
}

static int ipc_lat_node(struct pair_ctl *c, int me)
{
    return ipc_node(c, me, 0);
}

static int ipc_rate_node(struct pair_ctl *c, int me)
{
    return ipc_node(c, me, 1);
}

static int ipc_zc_node(struct pair_ctl *c, int me)
{
    return ipc_node(c, me, 2);
}

static int ipc_write_cfg(size_t size, struct bench_result *r)
{
    size_t frame = (size + 63) & ~(size_t)63;
    for (int i = 0; i < 1 + ipc_chip; i++) {
        snprintf(ipc_cfg_path[i], sizeof(ipc_cfg_path[i]), "/tmp/osci-bench-%ld-%d.cfg", (long)getpid(), i);
        int fd = open(ipc_cfg_path[i], O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);
        if (fd < 0) {
            snprintf(r->error, sizeof(r->error), "%s: %s", ipc_cfg_path[i], strerror(errno));
            return -1;
        }
        if (ipc_chip)   /* node i + 1 talks to the other node over adapter 0 */
            dprintf(fd, "#CFGVER:1\nINTER_CHIP bench_c2c_%ld 0000 peer=%d nframes=%d frame_size=%zu\n",
                    (long)getpid(), 2 - i, IPC_NFRAMES, frame ? frame : 64);
        else
            dprintf(fd, "#CFGVER:1\nINTER_PROCESS bench_a_%ld bench_b_%ld %d %zu\n", (long)getpid(), (long)getpid(),
                    IPC_NFRAMES, frame ? frame : 64);
        close(fd);
    }
    return 0;
}
#endif

/* run_ipc's test argument: block on the Linux event fd, stream (zero-copy too with IPC_ZC), INTER_CHIP */
enum { IPC_EVENT = 1, IPC_RATE = 2, IPC_ZC = 4, IPC_CHIP = 8 };

static void run_ipc(const struct bench_test *t, const struct bench_opts *o, size_t size, struct bench_result *r)
{
#ifdef HAVE_NVSCIIPC_H
    int event = !!(t->arg & IPC_EVENT), rate = t->arg & IPC_ZC ? 2 : !!(t->arg & IPC_RATE);
    int chip = !!(t->arg & IPC_CHIP);
    uint64_t iters, warmup;
    struct pair_ctl *c;
    if (size == 0 || size > 4096) {
        snprintf(r->error, sizeof(r->error), "size %zu: channel frames are 1..4096 bytes here", size);
        return;
    }
    bench_iters(t, o, &iters, &warmup);
    ipc_chip = chip;
    if (ipc_write_cfg(size, r))
        goto out;
    ipc_event_mode = event;
    if (!(c = bench_pair_new(rate ? 0 : iters, warmup, size, 0))) {
        snprintf(r->error, sizeof(r->error), "mmap: %s", strerror(errno));
        goto out;
    }
    c->iters = iters;
    pair_fn node = rate == 2 ? ipc_zc_node : rate ? ipc_rate_node : ipc_lat_node;
    if (bench_pair_run(c, node, node, chip, r) == 0) {
        if (rate) {
            r->iters = iters;
            r->warmup = warmup;
            r->seconds = (double)c->elapsed_ns / 1e9;
            r->rate_Mps = (double)c->count / (double)c->elapsed_ns * 1e3;
            r->bw_MBps = r->rate_Mps * (double)size;
        } else {
            bench_lat_result(r, c->samples, iters, warmup);
        }
        bench_pair_cpu_result(c, warmup + iters, event, r);
    }
    if (rate)
        c->iters = 0;   /* no sample area to unmap */
    bench_pair_free(c);
out:
    for (int i = 0; i < 2; i++)
        if (ipc_cfg_path[i][0])
            unlink(ipc_cfg_path[i]);
    memset(ipc_cfg_path, 0, sizeof(ipc_cfg_path));
#else
    snprintf(r->error, sizeof(r->error), "nvsciipc.h not available at build time");
#endif
}

/* ---- peer: POSIX message queue ping-pong (NvSciIpc INTER_PROCESS's notifier) ---- */

static mqd_t mq[2] = { (mqd_t)-1, (mqd_t)-1 };

static int mq_node(struct pair_ctl *c, int me)
{
    char buf[8192];
    uint64_t total = c->warmup + c->iters;
    if (bench_pair_barrier(c))
        return -1;
    bench_pair_cpu(c, me, 1);
    for (uint64_t i = 0; i < total; i++) {
        uint64_t t0 = tool_now_ns();
        if (me == 0 && mq_send(mq[1], buf, c->size, 0)) {
            bench_pair_fail(c, me, "mq_send: %s", strerror(errno));
            return -1;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 10;
        if (mq_timedreceive(mq[me], buf, sizeof(buf), NULL, &ts) < 0) {
            if (!bench_pair_aborted(c))
                bench_pair_fail(c, me, "mq_receive: %s", strerror(errno));
            return -1;
        }
        if (me == 0) {
            if (i >= c->warmup)
                c->samples[i - c->warmup] = tool_now_ns() - t0;
        } else if (mq_send(mq[0], buf, c->size, 0)) {
            bench_pair_fail(c, me, "mq_send: %s", strerror(errno));
            return -1;
        }
    }
    bench_pair_cpu(c, me, 0);
    return 0;
}

static void run_mq_lat(const struct bench_test *t, const struct bench_opts *o, size_t size, struct bench_result *r)
{
    struct mq_attr attr = { .mq_maxmsg = 4, .mq_msgsize = 8192 };
    char name[2][48];
    if (size == 0 || size > 8192) {
        snprintf(r->error, sizeof(r->error), "size %zu: mqueue messages are 1..8192 bytes here", size);
        return;
    }
    /* Both queues are unlinked at once: the children inherit the descriptors, nothing is left behind. */
    for (int i = 0; i < 2; i++) {
        snprintf(name[i], sizeof(name[i]), "/osci-bench-%ld-%c", (long)getpid(), 'a' + i);
        mq[i] = mq_open(name[i], O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
        if (mq[i] == (mqd_t)-1) {
            snprintf(r->error, sizeof(r->error), "mq_open %s: %s", name[i], strerror(errno));
            goto out;
        }
        mq_unlink(name[i]);
    }
    bench_pair_lat(t, o, size, 0, mq_node, 0, 1, r);
out:
    for (int i = 0; i < 2; i++) {
        if (mq[i] != (mqd_t)-1)
            mq_close(mq[i]);
        mq[i] = (mqd_t)-1;
    }
}

/* ---- peer: UCX ucx_perftest, UCT active messages over posix shared memory, loopback server/client ---- */

static int find_in_path(const char *prog)
{
    const char *path = getenv("PATH");
    char buf[512];
    if (!path)
        path = "/usr/bin:/bin";
    while (*path) {
        const char *end = strchr(path, ':');
        size_t len = end ? (size_t)(end - path) : strlen(path);
        snprintf(buf, sizeof(buf), "%.*s/%s", (int)len, path, prog);
        if (access(buf, X_OK) == 0)
            return 1;
        path += len + (end ? 1 : 0);
    }
    return 0;
}

static pid_t spawn_ucx(char *const argv[], int out_fd)
{
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDWR);
        dup2(devnull, 0);
        dup2(out_fd >= 0 ? out_fd : devnull, 1);
        dup2(devnull, 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static int wait_pid_timeout(pid_t pid, int seconds, int *status)
{
    for (int i = 0; i < seconds * 100; i++) {
        pid_t w = waitpid(pid, status, WNOHANG);
        if (w == pid)
            return 0;
        if (w < 0)
            return -1;
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, status, 0);
    return -1;
}

/*
 * ucx_perftest -v (CSV, documented in its -h): a header line naming the columns, e.g.
 *   iterations,50.0_percentile_lat,avg_lat,overall_lat,avg_bw,overall_bw,avg_mr,overall_mr
 * then one line of values per report; the last is the final one. Latency in microseconds (one-way),
 * bandwidth in MiB/s (ucx_perftest's "MB/s" divides by 2^20), message rate in messages per second.
 * The columns are found by name, so a UCX that adds or reorders columns still parses.
 */
struct ucx_csv {
    double iters, lat_pct, lat_avg, mr;   /* NAN when the column is missing */
};

static int ucx_col(const char *header, const char *want, int prefix_match)
{
    int col = 0;
    for (const char *p = header; *p; col++) {
        size_t len = strcspn(p, ",\r\n");
        const char *name = p;
        if (prefix_match) {
            /* "50.0_percentile_lat": any percentile rank (-R) */
            if (len > strlen(want) && !strncmp(name + len - strlen(want), want, strlen(want)))
                return col;
        } else if (len == strlen(want) && !strncmp(name, want, len)) {
            return col;
        }
        p += len;
        if (*p != ',')
            break;
        p++;
    }
    return -1;
}

static double ucx_field(const char *line, int col)
{
    const char *p = line;
    char *end;
    if (col < 0)
        return NAN;
    for (int i = 0; i < col; i++) {
        p = strchr(p, ',');
        if (!p)
            return NAN;
        p++;
    }
    double v = strtod(p, &end);
    return end == p ? NAN : v;
}

static int parse_ucx(const char *out, struct ucx_csv *u)
{
    const char *header = NULL, *last = NULL;
    for (const char *line = out; line && *line;) {
        const char *v = line + strspn(line, " ");   /* the values are right-aligned: " 100,0.175,..." */
        if (!strncmp(line, "iterations,", 11))
            header = line;
        else if (header && *v >= '0' && *v <= '9')
            last = v;
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    if (!header || !last)
        return -1;
    u->iters = ucx_field(last, ucx_col(header, "iterations", 0));
    u->lat_pct = ucx_field(last, ucx_col(header, "_percentile_lat", 1));
    u->lat_avg = ucx_field(last, ucx_col(header, "avg_lat", 0));
    u->mr = ucx_field(last, ucx_col(header, "overall_mr", 0));
    return isnan(u->iters) ? -1 : 0;
}

static void run_ucx(const struct bench_test *t, const struct bench_opts *o, size_t size, struct bench_result *r)
{
    const char *ucx_test = t->kind == BENCH_LAT ? "am_lat" : "am_bw";
    static int port_seq;
    uint64_t iters, warmup;
    char s_size[24], s_iters[24], s_warm[24], s_port[16], out[16384];
    int pipefd[2], status = 0, ok = 0;
    struct ucx_csv v;
    pid_t server, client;
    if (!find_in_path("ucx_perftest")) {
        snprintf(r->error, sizeof(r->error), "ucx_perftest not installed");
        return;
    }
    bench_iters(t, o, &iters, &warmup);
    snprintf(s_size, sizeof(s_size), "%zu", size);
    snprintf(s_iters, sizeof(s_iters), "%llu", (unsigned long long)iters);
    snprintf(s_warm, sizeof(s_warm), "%llu", (unsigned long long)warmup);
    for (int attempt = 0; attempt < 3 && !ok; attempt++) {
        snprintf(s_port, sizeof(s_port), "%d", 20000 + (int)(getpid() % 20000) + port_seq++);
        char *sargv[] = { "ucx_perftest", "-t", (char *)ucx_test, "-x", "posix", "-d", "memory", "-D", "bcopy",
                          "-s", s_size, "-n", s_iters, "-w", s_warm, "-p", s_port, "-c", "1", NULL };
        char *cargv[] = { "ucx_perftest", "localhost", "-t", (char *)ucx_test, "-x", "posix", "-d", "memory",
                          "-D", "bcopy", "-s", s_size, "-n", s_iters, "-w", s_warm, "-p", s_port, "-c", "0", "-f",
                          "-v", NULL };
        server = spawn_ucx(sargv, -1);
        if (server < 0)
            break;
        for (int tries = 0; tries < 20 && !ok; tries++) {
            usleep(100000);
            if (pipe(pipefd))
                break;
            client = spawn_ucx(cargv, pipefd[1]);
            close(pipefd[1]);
            size_t len = 0;
            ssize_t n;
            while (len < sizeof(out) - 1 && (n = read(pipefd[0], out + len, sizeof(out) - 1 - len)) > 0)
                len += (size_t)n;
            out[len] = 0;
            close(pipefd[0]);
            if (client < 0 || wait_pid_timeout(client, 60, &status))
                break;
            if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && parse_ucx(out, &v) == 0)
                ok = 1;
            if (waitpid(server, &status, WNOHANG) == server) {
                server = -1;
                break;
            }
        }
        if (server > 0)
            wait_pid_timeout(server, 10, &status);
    }
    if (!ok) {
        snprintf(r->error, sizeof(r->error), "ucx_perftest -t %s -x posix -d memory failed", ucx_test);
        return;
    }
    r->iters = (uint64_t)v.iters;
    r->warmup = warmup;
    if (t->kind == BENCH_LAT) {
        /* ucx_perftest reports one-way latency (RTT/2): the percentile (median) and average only. */
        r->lat = (struct bench_stats){ NAN, v.lat_pct * 1e3, v.lat_avg * 1e3, NAN, NAN, NAN, NAN };
        r->rtt = (struct bench_stats){ NAN, v.lat_pct * 2e3, v.lat_avg * 2e3, NAN, NAN, NAN, NAN };
    } else {
        /* decimal MB/s like every other row (ucx_perftest's own column is MiB/s) */
        r->rate_Mps = v.mr / 1e6;
        r->bw_MBps = r->rate_Mps * (double)size;
    }
}

static const struct bench_test tests[] = {
    { "ipc.process.lat.poll", "ipc", "poll", "NvSciIpc INTER_PROCESS ping-pong, polling ReadSafe",
      BENCH_LAT, { 64, 1536 }, 100000, 5000, run_ipc, 0 },
    { "ipc.process.lat.event", "ipc", "event", "NvSciIpc INTER_PROCESS ping-pong, blocking on the Linux event fd",
      BENCH_LAT, { 64, 1536 }, 10000, 300, run_ipc, IPC_EVENT },
    { "ipc.process.rate", "ipc", "poll", "NvSciIpc INTER_PROCESS one-way stream (frames per second)",
      BENCH_RATE, { 64, 1536 }, 1000000, 20000, run_ipc, IPC_RATE },
    { "ipc.process.rate.zc", "ipc", "poll",
      "NvSciIpc INTER_PROCESS one-way stream, zero-copy (WriteGetNextFrame/WriteAdvance, ReadGetNextFrame/ReadAdvance)",
      BENCH_RATE, { 64, 1536 }, 1000000, 20000, run_ipc, IPC_RATE | IPC_ZC },
    { "ipc.chip.lat.poll", "ipc", "poll", "NvSciIpc INTER_CHIP ping-pong between two simntb nodes, polling ReadSafe",
      BENCH_LAT, { 64, 1536 }, 100000, 5000, run_ipc, IPC_CHIP },
    { "ipc.chip.lat.event", "ipc", "event",
      "NvSciIpc INTER_CHIP ping-pong between two simntb nodes, blocking on the Linux event fd",
      BENCH_LAT, { 64, 1536 }, 10000, 300, run_ipc, IPC_CHIP | IPC_EVENT },
    { "peer.mq.lat", "ipc", "sleep", "peer: POSIX mqueue ping-pong (blocking mq_receive)",
      BENCH_LAT, { 64, 1536 }, 10000, 300, run_mq_lat, 0 },
    { "peer.ucx.am_lat", "ipc", "poll", "peer: ucx_perftest -t am_lat -x posix -d memory -D bcopy",
      BENCH_LAT, { 64, 1536 }, 1000000, 20000, run_ucx, 0 },
    { "peer.ucx.am_rate", "ipc", "poll", "peer: ucx_perftest -t am_bw -x posix -d memory -D bcopy",
      BENCH_RATE, { 64, 1536 }, 1000000, 20000, run_ucx, 0 },
};

static const struct bench_ratio_def ratios[] = {
    /* one-way p50 <= UCX posix AM; event mode <= 1.1x the mqueue it is built on; 64 B stream >= UCX's rate,
     * 1536 B zero-copy stream >= UCX's rate; INTER_CHIP over simntb <= 1.5x INTER_PROCESS */
    { "ipc.process.lat.poll", "peer.ucx.am_lat", 64, 0, 1.0 },
    { "ipc.process.lat.event", "peer.mq.lat", 64, 0, 1.1 },
    { "ipc.process.rate", "peer.ucx.am_rate", 64, 1, 1.0 },
    { "ipc.process.rate.zc", "peer.ucx.am_rate", 64, 1, 1.0 },
    { "ipc.process.rate.zc", "peer.ucx.am_rate", 1536, 1, 1.0 },
    { "ipc.chip.lat.poll", "ipc.process.lat.poll", 64, 0, 1.5 },
    { "ipc.chip.lat.poll", "ipc.process.lat.poll", 1536, 0, 1.5 },
};
const struct bench_suite bench_ipc_suite = { "ipc", tests, BENCH_N(tests), ratios, BENCH_N(ratios) };
