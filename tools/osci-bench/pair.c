/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* osci-bench: two node processes forked on a private fabric, sharing a control page. */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <limits.h>
#include <math.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>

#include "bench.h"

int bench_yield_spin;

static void *shared_alloc(size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

struct pair_ctl *bench_pair_new(uint64_t iters, uint64_t warmup, size_t size, size_t shm_size)
{
    struct pair_ctl *c = shared_alloc(sizeof(*c));
    if (!c)
        return NULL;
    memset(c, 0, sizeof(*c));
    c->iters = iters;
    c->warmup = warmup;
    c->size = size;
    if (iters && !(c->samples = shared_alloc(iters * sizeof(uint64_t))))
        goto err_ctl;
    if (shm_size) {
        if (!(c->shm = shared_alloc(shm_size)))
            goto err_samples;
        c->shm_size = shm_size;
    }
    return c;

err_samples:
    if (c->samples)
        munmap(c->samples, iters * sizeof(uint64_t));
err_ctl:
    munmap(c, sizeof(*c));
    return NULL;
}

void bench_pair_free(struct pair_ctl *c)
{
    if (!c)
        return;
    if (c->samples)
        munmap(c->samples, c->iters * sizeof(uint64_t));
    if (c->shm)
        munmap(c->shm, c->shm_size);
    munmap(c, sizeof(*c));
}

int bench_pair_aborted(const struct pair_ctl *c)
{
    return __atomic_load_n(&c->abort, __ATOMIC_RELAXED) != 0;
}

void bench_pair_fail(struct pair_ctl *c, int me, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err[me], sizeof(c->err[me]), fmt, ap);
    va_end(ap);
    __atomic_store_n(&c->abort, 1, __ATOMIC_RELEASE);
}

static uint64_t cpu_now_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ull +
           (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull;
}

void bench_pair_cpu(struct pair_ctl *c, int me, int start)
{
    if (start) {
        c->cpu_ns[me] = cpu_now_ns();
        c->wall_ns[me] = tool_now_ns();
        c->waits[me] = 0;
        return;
    }
    c->cpu_ns[me] = cpu_now_ns() - c->cpu_ns[me];
    c->wall_ns[me] = tool_now_ns() - c->wall_ns[me];
    __atomic_store_n(&c->cpu_done[me], 1, __ATOMIC_RELEASE);
}

void bench_pair_cpu_result(const struct pair_ctl *c, uint64_t iters, int count_waits, struct bench_result *r)
{
    for (int i = 0; i < 2; i++) {
        if (!__atomic_load_n(&c->cpu_done[i], __ATOMIC_ACQUIRE) || !c->wall_ns[i] || !iters)
            return;
    }
    r->has_cpu = 1;
    for (int i = 0; i < 2; i++) {
        r->cpu_pct[i] = 100.0 * (double)c->cpu_ns[i] / (double)c->wall_ns[i];
        r->cpu_us_per_iter[i] = (double)c->cpu_ns[i] / 1e3 / (double)iters;
        r->waits_per_iter[i] = count_waits ? (double)c->waits[i] / (double)iters : NAN;
    }
}

/* Spin barrier for the children; -1 when the run was aborted or the peer never came (30 s). */
int bench_pair_barrier(struct pair_ctl *c)
{
    uint32_t gen = __atomic_load_n(&c->bar_gen, __ATOMIC_ACQUIRE);
    uint64_t deadline = tool_now_ns() + 30ull * 1000000000ull;
    if (__atomic_add_fetch(&c->bar_count, 1, __ATOMIC_ACQ_REL) == c->nparts) {
        __atomic_store_n(&c->bar_count, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&c->bar_gen, gen + 1, __ATOMIC_RELEASE);
        syscall(SYS_futex, &c->bar_gen, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
        return 0;
    }
    /* Sleep, never spin: a spinning waiter would take the core from the node being measured. */
    while (__atomic_load_n(&c->bar_gen, __ATOMIC_ACQUIRE) == gen) {
        struct timespec ts = { 0, 50 * 1000 * 1000 };
        if (bench_pair_aborted(c) || tool_now_ns() > deadline)
            return -1;
        syscall(SYS_futex, &c->bar_gen, FUTEX_WAIT, gen, &ts, NULL, 0);
    }
    return 0;
}

/* The n-th CPU this process may run on, or -1. */
static int allowed_cpu(int n)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set))
        return -1;
    for (int i = 0; i < CPU_SETSIZE; i++)
        if (CPU_ISSET(i, &set) && n-- == 0)
            return i;
    return -1;
}

static pid_t spawn(struct pair_ctl *c, pair_fn fn, int me, int sci, int cpu)
{
    char buf[64];
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(1);
    if (sci) {
        snprintf(buf, sizeof(buf), "bench-%ld", (long)parent);
        setenv("OSCI_FABRIC", buf, 1);
        snprintf(buf, sizeof(buf), "%d", me + 1);
        setenv("OSCI_NODE_ID", buf, 1);
    }
    if (cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        sched_setaffinity(0, sizeof(set), &set);
    }
    int rc = fn(c, me);
    fflush(NULL);
    _exit(rc == 0 ? 0 : 1);
}

static void describe_status(struct pair_ctl *c, int me, int status)
{
    if (WIFSIGNALED(status))
        snprintf(c->err[me], sizeof(c->err[me]), "node %c killed by signal %d", 'A' + me, WTERMSIG(status));
    else if (WIFEXITED(status) && WEXITSTATUS(status))
        snprintf(c->err[me], sizeof(c->err[me]), "node %c exited with %d", 'A' + me, WEXITSTATUS(status));
}

int bench_pair_run(struct pair_ctl *c, pair_fn fa, pair_fn fb, int sci, struct bench_result *r)
{
    pid_t pid[2] = { -1, -1 };
    int status[2] = { 0, 0 }, done[2] = { 0, 0 }, n = fb ? 2 : 1;
    int pin = allowed_cpu(1) >= 0;
    uint64_t deadline = tool_now_ns() + (uint64_t)PAIR_TIMEOUT_S * 1000000000ull, kill_at = 0;

    c->nparts = (uint32_t)n;
    bench_yield_spin = fb && !pin;
    fflush(NULL);
    pid[0] = spawn(c, fa, 0, sci, pin ? allowed_cpu(0) : -1);
    if (pid[0] < 0) {
        snprintf(r->error, sizeof(r->error), "fork: %s", strerror(errno));
        return -1;
    }
    if (fb) {
        pid[1] = spawn(c, fb, 1, sci, pin ? allowed_cpu(1) : -1);
        if (pid[1] < 0) {
            snprintf(r->error, sizeof(r->error), "fork: %s", strerror(errno));
            __atomic_store_n(&c->abort, 1, __ATOMIC_RELEASE);
            done[1] = 1;
        }
    } else {
        done[1] = 1;
    }
    /* Reap both; when one fails the other is told to stop, and killed if it does not. */
    while (!done[0] || !done[1]) {
        for (int i = 0; i < 2; i++) {
            if (done[i])
                continue;
            pid_t w = waitpid(pid[i], &status[i], WNOHANG);
            if (w == pid[i] || (w < 0 && errno == ECHILD)) {
                done[i] = 1;
                if (w == pid[i] && !(WIFEXITED(status[i]) && WEXITSTATUS(status[i]) == 0))
                    __atomic_store_n(&c->abort, 1, __ATOMIC_RELEASE);
            }
        }
        uint64_t now = tool_now_ns();
        if (!kill_at && (bench_pair_aborted(c) || now > deadline)) {
            if (now > deadline && !c->err[0][0])
                snprintf(c->err[0], sizeof(c->err[0]), "timed out after %d s", PAIR_TIMEOUT_S);
            __atomic_store_n(&c->abort, 1, __ATOMIC_RELEASE);
            kill_at = now + 5000000000ull;
        }
        if (kill_at && now > kill_at) {
            for (int i = 0; i < 2; i++)
                if (!done[i])
                    kill(pid[i], SIGKILL);
            kill_at = UINT64_MAX;
        }
        if (!done[0] || !done[1])
            usleep(2000);
    }
    for (int i = 0; i < n; i++)
        if (!c->err[0][0] && !c->err[1][0])
            describe_status(c, i, status[i]);
    if (c->err[0][0] || c->err[1][0] || r->error[0]) {
        if (!r->error[0]) {
            char tmp[2 * BENCH_ERR_MAX + 4];
            size_t len;
            snprintf(tmp, sizeof(tmp), "%s%s%s", c->err[0], c->err[0][0] && c->err[1][0] ? "; " : "", c->err[1]);
            len = strnlen(tmp, sizeof(r->error) - 1);
            memcpy(r->error, tmp, len);
            r->error[len] = 0;
        }
        return -1;
    }
    return 0;
}

void bench_pair_lat(const struct bench_test *t, const struct bench_opts *o, size_t size, size_t shm_size, pair_fn fn,
                    int sci, int cpu, struct bench_result *r)
{
    uint64_t iters, warmup;
    struct pair_ctl *c;

    bench_iters(t, o, &iters, &warmup);
    if (!(c = bench_pair_new(iters, warmup, size, shm_size))) {
        snprintf(r->error, sizeof(r->error), "mmap: %s", strerror(errno));
        return;
    }
    if (bench_pair_run(c, fn, fn, sci, r) == 0) {
        bench_lat_result(r, c->samples, iters, warmup);
        if (cpu)
            bench_pair_cpu_result(c, warmup + iters, 0, r);
    }
    bench_pair_free(c);
}
