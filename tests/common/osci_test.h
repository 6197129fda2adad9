/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Multi-process test helper: fork a child running a function, talk to it over two pipes, and
 * kill + reap it on every path (tproc_reap_all in a cmocka teardown, and at exit).
 * Children must not use cmocka asserts: return nonzero (TCHECK gives the failing line).
 */
#ifndef OSCI_TEST_H
#define OSCI_TEST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

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
void tproc_kill(struct tproc *p);                /* SIGKILL and reap */
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

#define TCHECK(cond) \
    do { \
        if (!(cond)) { \
            fprintf(stderr, "child %d: %s:%d: check failed: %s\n", (int)getpid(), __FILE__, __LINE__, #cond); \
            return 100 + (__LINE__ % 100); \
        } \
    } while (0)

#endif
