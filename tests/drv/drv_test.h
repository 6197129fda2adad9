/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Helpers for the driver tests: fabrics of their own, event collection; peers fork with tests/common/osci_test.h. */
#ifndef DRV_TEST_H
#define DRV_TEST_H

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "osci_drv.h"
#include "osci_time.h"
#include "../common/osci_test.h"

static char t_fabric[64];

/* A fabric name unique to this test case. */
static inline const char *t_new_fabric(void)
{
    static unsigned int n;
    const char *base = getenv("OSCI_FABRIC");
    snprintf(t_fabric, sizeof(t_fabric), "%.24s-%d-%u", base && *base ? base : "tdrv", (int)getpid(), n++);
    return t_fabric;
}

static inline void t_conf(struct osci_adapter_conf *c, uint32_t node, const char *extra_key, const char *extra_val)
{
    memset(c, 0, sizeof(*c));
    strcpy(c->driver, "simntb");
    c->node_id = node;
    strcpy(c->opts[0].key, "fabric");
    snprintf(c->opts[0].value, sizeof(c->opts[0].value), "%s", t_fabric);
    c->n_opts = 1;
    if (extra_key) {
        snprintf(c->opts[1].key, sizeof(c->opts[1].key), "%s", extra_key);
        snprintf(c->opts[1].value, sizeof(c->opts[1].value), "%s", extra_val);
        c->n_opts = 2;
    }
}

static inline int t_open(uint32_t node, struct osci_drv **d_p)
{
    struct osci_adapter_conf c;
    t_conf(&c, node, "window", "16M");
    return osci_drv_open(&c, d_p);
}

/* Events seen but not yet asked for. */
struct t_evlog { struct osci_drv_event ev[256]; unsigned int n; };

static inline int t_match(const struct osci_drv_event *e, enum osci_drv_event_type type, uint32_t node)
{
    return e->type == type && (node == 0 || e->node == node);
}

/* Waits up to timeout_ms for an event of `type` from `node` (0: any); 0 or -ETIMEDOUT. use_fd: sleep on the
 * event fd between progress calls (arm + poll), else spin. */
static inline int t_wait_ev(struct osci_drv *d, struct t_evlog *log, enum osci_drv_event_type type, uint32_t node,
                            int timeout_ms, int use_fd, struct osci_drv_event *out)
{
    uint64_t deadline = osci_now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        for (unsigned int i = 0; i < log->n; i++) {
            if (t_match(&log->ev[i], type, node)) {
                if (out)
                    *out = log->ev[i];
                memmove(&log->ev[i], &log->ev[i + 1], (log->n - i - 1) * sizeof(log->ev[0]));
                log->n--;
                return 0;
            }
        }
        if (osci_now_ms() > deadline)
            return -ETIMEDOUT;
        struct osci_drv_event ev[8];
        int n = osci_drv_progress(d, ev, 8);
        if (n < 0)
            return n;
        for (int i = 0; i < n && log->n < 256; i++)
            log->ev[log->n++] = ev[i];
        if (n == 0) {
            if (use_fd) {
                if (osci_drv_arm(d) == 0) {
                    struct pollfd pfd = { .fd = osci_drv_event_fd(d), .events = POLLIN };
                    poll(&pfd, 1, 50);
                }
            } else {
                usleep(200);
            }
        }
    }
}

/* Keeps a node alive and answering progress() for ms milliseconds. */
static inline void t_idle(struct osci_drv *d, struct t_evlog *log, int ms)
{
    uint64_t end = osci_now_ms() + (uint64_t)ms;
    while (osci_now_ms() < end) {
        struct osci_drv_event ev[8];
        int n = osci_drv_progress(d, ev, 8);
        for (int i = 0; i < n && log && log->n < 256; i++)
            log->ev[log->n++] = ev[i];
        usleep(1000);
    }
}

/* The start of a case: a fabric of its own, and node 1 on it (the test fails when it does not open). */
static inline void t_start(struct osci_drv **d_p)
{
    t_new_fabric();
    assert_int_equal(t_open(1, d_p), 0);
}

/* Simple one-byte pipe handshakes between parent and child. */
struct t_sync { int to_child[2], to_parent[2]; };
static inline void t_sync_init(struct t_sync *s)
{
    if (pipe(s->to_child) < 0 || pipe(s->to_parent) < 0)
        abort();
}
static inline int t_sync_wait(int fd, int timeout_ms)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    char c;
    if (poll(&pfd, 1, timeout_ms) != 1 || read(fd, &c, 1) != 1)
        return -1;
    return c;
}
static inline void t_sync_post(int fd, char c)
{
    if (write(fd, &c, 1) != 1)
        abort();
}

/* Reaps a child within timeout_ms (killing it after): its wait status, or -1. */
static inline int t_reap(pid_t pid, int timeout_ms) { return tproc_reap(pid, timeout_ms); }

/* Number of /dev/shm entries belonging to the current test fabric. */
/* Names of this test's fabric in /dev/shm: shm objects (fabric file, windows), wake directories, or both. */
static inline int t_shm_names(int objects, int dirs)
{
    char prefix[80];
    int n = 0;
    struct dirent *e;
    DIR *dir = opendir("/dev/shm");
    snprintf(prefix, sizeof(prefix), "osci.%s", t_fabric);
    if (!dir)
        return -1;
    while ((e = readdir(dir)))
        if (!strncmp(e->d_name, prefix, strlen(prefix)) &&
            (e->d_name[strlen(prefix)] == '\0' || e->d_name[strlen(prefix)] == '.') &&
            (e->d_type == DT_DIR ? dirs : objects))
            n++;
    closedir(dir);
    return n;
}

/* The fabric file and the windows. */
static inline int t_shm_count(void) { return t_shm_names(1, 0); }
/* Everything left, wake directories included. */
static inline int t_names_left(void) { return t_shm_names(1, 1); }

/* A peer: the common harness's fork (killed by t_teardown if a test fails half-way). */
static inline pid_t t_fork(void) { return tproc_fork(); }

/* A peer that talks through s: makes s's pipes, then t_fork (the test fails when fork does). */
static inline pid_t t_fork_sync(struct t_sync *s)
{
    pid_t pid;
    t_sync_init(s);
    pid = t_fork();
    assert_true(pid >= 0);
    return pid;
}

/* Tells a t_fork_sync peer to quit ('q'); it must exit 0 within 10 s. */
static inline void t_quit(struct t_sync *s, pid_t pid)
{
    t_sync_post(s->to_child[1], 'q');
    assert_int_equal(t_reap(pid, 10000), 0);
}

/* The end of a case: the last node closes, and nothing of the fabric is left. */
static inline void t_end(struct osci_drv *d)
{
    osci_drv_close(d);
    assert_int_equal(t_names_left(), 0);
}

/* Teardown: the children still alive, then what the fabric left. */
static inline int t_teardown(void **state)
{
    char prefix[80], path[400];
    struct dirent *e;
    DIR *dir;
    (void)state;
    tproc_reap_all();
    snprintf(prefix, sizeof(prefix), "osci.%s", t_fabric);
    if ((dir = opendir("/dev/shm"))) {
        while ((e = readdir(dir)))
            if (!strncmp(e->d_name, prefix, strlen(prefix)) &&
                (e->d_name[strlen(prefix)] == '\0' || e->d_name[strlen(prefix)] == '.')) {
                snprintf(path, sizeof(path), "/dev/shm/%s", e->d_name);
                unlink(path);
            }
        closedir(dir);
    }
    return 0;
}

#endif
