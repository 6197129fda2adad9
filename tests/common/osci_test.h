/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The one multi-process test harness: fork a child running a function (tproc_start) or code inline
 * (tproc_fork), talk to it over two pipes, collect its exit status (tproc_end), and kill + reap it on
 * every path (tproc_reap_all in a cmocka teardown, and at exit).
 * Children must not use cmocka asserts: CHECK prints the failing line and exits the child.
 */
#ifndef OSCI_TEST_H
#define OSCI_TEST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <unistd.h>

struct tproc {
    pid_t pid;          /* 0 once reaped */
    int rd;             /* parent reads what the child writes */
    int wr;             /* parent writes what the child reads */
};

/* The child's function: rd/wr are its pipe ends; its return value is the exit status. */
typedef int (*tproc_fn)(int rd, int wr, void *arg);

int tproc_start(struct tproc *p, tproc_fn fn, void *arg);
/* Exit status (0..255), or -1 if it did not exit within timeout_ms (then it is killed). */
int tproc_wait(struct tproc *p, int timeout_ms);
/* Exit status (0..255) or 128 + signal; kills the child after timeout_ms (then 128 + SIGKILL). */
int tproc_end(struct tproc *p, int timeout_ms);
void tproc_kill(struct tproc *p);                /* SIGKILL and reap */
/* Forks a tracked child with the same set-up as tproc_start and no pipes: 0 in the child, its pid in the
 * parent, -errno. */
pid_t tproc_fork(void);
/* Reaps a tproc_fork child within timeout_ms, killing it after: its wait status, or -1 on timeout. */
int tproc_reap(pid_t pid, int timeout_ms);
void tproc_reap_all(void);                       /* every child still alive */
int tproc_teardown(void **state);                /* cmocka teardown: tproc_reap_all */

/* Pipe messages: 0, -ETIMEDOUT or -EPIPE. */
int tproc_send(int fd, const void *buf, size_t len);
int tproc_recv(int fd, void *buf, size_t len, int timeout_ms);
int tproc_send_u32(int fd, uint32_t v);
int tproc_recv_u32(int fd, uint32_t *v, int timeout_ms);

/* A fabric name of this process's own for tests run by hand (OSCI_FABRIC kept when set). */
void tproc_default_fabric(const char *suite);

/* A private directory /tmp/osci-<tag>-XXXXXX, its path in dir (len >= 64): 0 or -1. */
int tdir_make(char *dir, size_t len, const char *tag);
/* Removes dir and everything in it: 0 or -1. */
int tdir_remove(const char *dir);
/* In a child, before any library call: <dir>/node<node>.cfg holds the formatted NvSciIpc config,
 * NVSCIIPC_CFG names it and OSCI_NODE_ID is node. 0 or -1. */
int tnode_ipc_cfg(const char *dir, unsigned int node, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A file /tmp/osci-<tag>-XXXXXX (path in path, len >= 64) made with mode (0600 from mkstemp, 0644 for a
 * child that drops privileges) holding text: 0 or -1. The caller unlinks it. */
int tfile_write(char *path, size_t len, const char *tag, unsigned int mode, const char *text);
/* The same holding the formatted text, an NvSciIpc config file which NVSCIIPC_CFG then names: 0 or -1. */
int tcfg_write(char *path, size_t len, const char *tag, unsigned int mode, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Log capture: from tlog_begin the libraries' log lines go to a buffer (and to stderr too when echo is set);
 * tlog_end gives the log back and returns the lines captured, each ended by a newline. */
void tlog_begin(int echo);
const char *tlog_end(void);

/* In a child (any function): on failure print the line and exit with 100 + line % 100. */
#define CHECK(cond) \
    do { \
        if (!(cond)) { \
            fprintf(stderr, "child %d: %s:%d: check failed: %s\n", (int)getpid(), __FILE__, __LINE__, #cond); \
            fflush(NULL); \
            _exit(100 + (__LINE__ % 100)); \
        } \
    } while (0)

/* A test program's main: names its own fabric when fabric is not NULL (tproc_default_fabric), then runs
 * the cmocka tests that follow between group_setup and group_teardown. */
#define OSCI_TEST_MAIN(fabric, group_setup, group_teardown, ...) \
    int main(void) \
    { \
        const struct CMUnitTest tests[] = { __VA_ARGS__ }; \
        const char *fabric_name = (fabric); \
        if (fabric_name) \
            tproc_default_fabric(fabric_name); \
        return cmocka_run_group_tests(tests, group_setup, group_teardown); \
    }

#endif
