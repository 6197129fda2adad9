/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Multi-process test helper (osci_test.h). */
#include <errno.h>
#include <ftw.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "osci_log.h"
#include "osci_test.h"
#include "osci_time.h"

#define MAX_CHILDREN 32
static pid_t children[MAX_CHILDREN];
static int atexit_done;

static void track(pid_t pid, int add)
{
    for (int i = 0; i < MAX_CHILDREN; i++) {
        if (add && children[i] == 0) {
            children[i] = pid;
            return;
        }
        if (!add && children[i] == pid) {
            children[i] = 0;
            return;
        }
    }
}

void tproc_reap_all(void)
{
    for (int i = 0; i < MAX_CHILDREN; i++) {
        if (children[i] > 0) {
            kill(children[i], SIGKILL);
            waitpid(children[i], NULL, 0);
            children[i] = 0;
        }
    }
}

int tproc_teardown(void **state)
{
    (void)state;
    tproc_reap_all();
    return 0;
}

/* Every child: dies with the parent, at most 60 s, default crash handling, no children of its own yet. */
static void child_setup(pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(120);
    alarm(60);
    /* the test framework's crash handlers belong to the parent */
    signal(SIGSEGV, SIG_DFL);
    signal(SIGBUS, SIG_DFL);
    signal(SIGILL, SIG_DFL);
    signal(SIGFPE, SIG_DFL);
    signal(SIGABRT, SIG_DFL);
    memset(children, 0, sizeof(children));
}

static void reap_at_exit(void)
{
    if (!atexit_done) {
        atexit(tproc_reap_all);
        atexit_done = 1;
    }
}

pid_t tproc_fork(void)
{
    pid_t parent = getpid(), pid;

    reap_at_exit();
    fflush(NULL);
    pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        child_setup(parent);
        return 0;
    }
    track(pid, 1);
    return pid;
}

int tproc_reap(pid_t pid, int timeout_ms)
{
    uint64_t end = osci_now_ms() + (uint64_t)timeout_ms;
    int st;

    for (;;) {
        if (waitpid(pid, &st, WNOHANG) == pid) {
            track(pid, 0);
            return st;
        }
        if (osci_now_ms() >= end)
            break;
        usleep(1000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    track(pid, 0);
    return -1;
}

int tproc_start(struct tproc *p, tproc_fn fn, void *arg)
{
    int to_child[2], to_parent[2];
    pid_t pid;
    pid_t parent = getpid();

    reap_at_exit();
    if (pipe(to_child) < 0)
        return -errno;
    if (pipe(to_parent) < 0) {
        close(to_child[0]);
        close(to_child[1]);
        return -errno;
    }
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        int e = -errno;
        close(to_child[0]); close(to_child[1]); close(to_parent[0]); close(to_parent[1]);
        return e;
    }
    if (pid == 0) {
        child_setup(parent);
        close(to_child[1]);
        close(to_parent[0]);
        int rc = fn(to_child[0], to_parent[1], arg);
        fflush(NULL);
        _exit(rc & 0xff);
    }
    close(to_child[0]);
    close(to_parent[1]);
    p->pid = pid;
    p->rd = to_parent[0];
    p->wr = to_child[1];
    track(pid, 1);
    return 0;
}

static void close_fds(struct tproc *p)
{
    if (p->rd >= 0) close(p->rd);
    if (p->wr >= 0) close(p->wr);
    p->rd = p->wr = -1;
}

int tproc_wait(struct tproc *p, int timeout_ms)
{
    uint64_t end = osci_now_ms() + (uint64_t)timeout_ms;
    int st;

    if (p->pid <= 0)
        return -1;
    for (;;) {
        pid_t r = waitpid(p->pid, &st, WNOHANG);
        if (r == p->pid) {
            track(p->pid, 0);
            p->pid = 0;
            close_fds(p);
            if (WIFEXITED(st))
                return WEXITSTATUS(st);
            return 200 + (WIFSIGNALED(st) ? WTERMSIG(st) % 50 : 0);
        }
        if (osci_now_ms() >= end) {
            tproc_kill(p);
            return -1;
        }
        usleep(2000);
    }
}

int tproc_end(struct tproc *p, int timeout_ms)
{
    int st;

    if (p->pid <= 0)
        return -1;
    st = tproc_reap(p->pid, timeout_ms);
    if (st == -1)
        st = SIGKILL;                   /* W_EXITCODE(0, SIGKILL): killed after the timeout */
    p->pid = 0;
    close_fds(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void tproc_kill(struct tproc *p)
{
    if (p->pid > 0) {
        kill(p->pid, SIGKILL);
        waitpid(p->pid, NULL, 0);
        track(p->pid, 0);
        p->pid = 0;
    }
    close_fds(p);
}

/* Writes wbuf, or reads rbuf waiting at most timeout_ms in all: len bytes. 0, -ETIMEDOUT or -EPIPE. */
static int pipe_io(int fd, const void *wbuf, void *rbuf, size_t len, int timeout_ms)
{
    uint64_t end = osci_now_ms() + (uint64_t)timeout_ms;
    size_t done = 0;
    while (done < len) {
        if (rbuf) {
            struct pollfd pfd = { .fd = fd, .events = POLLIN };
            uint64_t now = osci_now_ms();
            if (now >= end)
                return -ETIMEDOUT;
            int r = poll(&pfd, 1, (int)(end - now));
            if (r < 0 && errno == EINTR)
                continue;
            if (r == 0)
                return -ETIMEDOUT;
        }
        ssize_t n = rbuf ? read(fd, (char *)rbuf + done, len - done)
                         : write(fd, (const char *)wbuf + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -EPIPE;
        done += (size_t)n;
    }
    return 0;
}

int tproc_send(int fd, const void *buf, size_t len) { return pipe_io(fd, buf, NULL, len, 0); }
int tproc_recv(int fd, void *buf, size_t len, int timeout_ms) { return pipe_io(fd, NULL, buf, len, timeout_ms); }

int tproc_send_u32(int fd, uint32_t v) { return tproc_send(fd, &v, sizeof(v)); }
int tproc_recv_u32(int fd, uint32_t *v, int timeout_ms) { return tproc_recv(fd, v, sizeof(*v), timeout_ms); }

void tproc_default_fabric(const char *suite)
{
    char name[64];
    if (getenv("OSCI_FABRIC"))
        return;
    snprintf(name, sizeof(name), "t%d-%s", (int)getpid(), suite);
    setenv("OSCI_FABRIC", name, 0);
}

int tdir_make(char *dir, size_t len, const char *tag)
{
    if (snprintf(dir, len, "/tmp/osci-%s-XXXXXX", tag) >= (int)len)
        return -1;
    return mkdtemp(dir) ? 0 : -1;
}

static int tdir_unlink_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    return remove(path);
}

int tdir_remove(const char *dir)
{
    return nftw(dir, tdir_unlink_one, 16, FTW_DEPTH | FTW_PHYS);
}

int tnode_ipc_cfg(const char *dir, unsigned int node, const char *fmt, ...)
{
    char path[256], id[16];
    va_list ap;
    FILE *f;
    int ok;

    snprintf(path, sizeof(path), "%s/node%u.cfg", dir, node);
    if (!(f = fopen(path, "w")))
        return -1;
    va_start(ap, fmt);
    ok = vfprintf(f, fmt, ap) >= 0;
    va_end(ap);
    if (fclose(f) != 0 || !ok)
        return -1;
    snprintf(id, sizeof(id), "%u", node);
    return setenv("NVSCIIPC_CFG", path, 1) || setenv("OSCI_NODE_ID", id, 1) ? -1 : 0;
}

/* A new file /tmp/osci-<tag>-XXXXXX with mode, opened for writing; NULL on failure. */
static FILE *tfile_open(char *path, size_t len, const char *tag, unsigned int mode)
{
    FILE *f;
    int fd;

    if (snprintf(path, len, "/tmp/osci-%s-XXXXXX", tag) >= (int)len || (fd = mkstemp(path)) < 0)
        return NULL;
    if ((mode != 0600 && fchmod(fd, (mode_t)mode) != 0) || !(f = fdopen(fd, "w"))) {
        close(fd);
        unlink(path);
        return NULL;
    }
    return f;
}

/* Closes what tfile_open gave, removing the file when writing it failed (ok 0): 0 or -1. */
static int tfile_close(FILE *f, const char *path, int ok)
{
    if (fclose(f) != 0 || !ok) {
        unlink(path);
        return -1;
    }
    return 0;
}

int tfile_write(char *path, size_t len, const char *tag, unsigned int mode, const char *text)
{
    FILE *f = tfile_open(path, len, tag, mode);
    return f ? tfile_close(f, path, fputs(text, f) >= 0) : -1;
}

int tcfg_write(char *path, size_t len, const char *tag, unsigned int mode, const char *fmt, ...)
{
    FILE *f = tfile_open(path, len, tag, mode);
    va_list ap;
    int ok;

    if (!f)
        return -1;
    va_start(ap, fmt);
    ok = vfprintf(f, fmt, ap) >= 0;
    va_end(ap);
    if (tfile_close(f, path, ok) != 0)
        return -1;
    return setenv("NVSCIIPC_CFG", path, 1) ? -1 : 0;
}

static pthread_mutex_t tlog_lock = PTHREAD_MUTEX_INITIALIZER;
static char tlog_buf[16384];
static size_t tlog_len;

static void tlog_line(int level, const char *line, void *arg)
{
    size_t n = strlen(line);
    (void)level;
    if (arg)
        fprintf(stderr, "%s\n", line);
    pthread_mutex_lock(&tlog_lock);
    if (tlog_len + n + 1 < sizeof(tlog_buf)) {
        memcpy(tlog_buf + tlog_len, line, n);
        tlog_len += n;
        tlog_buf[tlog_len++] = '\n';
        tlog_buf[tlog_len] = '\0';
    }
    pthread_mutex_unlock(&tlog_lock);
}

void tlog_begin(int echo)
{
    tlog_len = 0;
    tlog_buf[0] = '\0';
    osci_log_set_handler(tlog_line, echo ? tlog_buf : NULL);
}

const char *tlog_end(void)
{
    osci_log_set_handler(NULL, NULL);
    return tlog_buf;
}
