/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Two-process plumbing shared by the interrupt, DMA and query tests: a peer process forked with
 * two pipes, u32 messages, reaping with a timeout, and library set-up on either side.
 * Children must not use cmocka asserts: CHK exits the child with status 1 and the failing line.
 */
#ifndef SEG_PEER_H
#define SEG_PEER_H

#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sisci_api.h"


#define CHK(c) do { if (!(c)) { fprintf(stderr, "child %d: %s:%d: %s\n", (int)getpid(), __FILE__, __LINE__, #c); \
                                _exit(1); } } while (0)
#define CHK_OK(e) CHK((e) == SCI_ERR_OK)

struct peer { pid_t pid; int wfd, rfd; };
typedef int (*peer_fn)(int rfd, int wfd);

static inline void peer_start(struct peer *p, peer_fn fn)
{
    int a[2], b[2];

    assert_int_equal(pipe(a), 0);
    assert_int_equal(pipe(b), 0);
    p->pid = fork();
    assert_true(p->pid >= 0);
    if (p->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(a[1]);
        close(b[0]);
        _exit(fn(a[0], b[1]));
    }
    close(a[0]);
    close(b[1]);
    p->wfd = a[1];
    p->rfd = b[0];
}

static inline int xsend(int fd, uint32_t v)
{
    return write(fd, &v, sizeof(v)) == sizeof(v) ? 0 : -1;
}

static inline int xrecv(int fd, uint32_t *v, int timeout_ms)
{
    struct pollfd pf = { .fd = fd, .events = POLLIN };

    if (poll(&pf, 1, timeout_ms) != 1)
        return -1;
    return read(fd, v, sizeof(*v)) == sizeof(*v) ? 0 : -1;
}

static inline uint32_t precv(struct peer *p)
{
    uint32_t v = 0;

    assert_int_equal(xrecv(p->rfd, &v, 10000), 0);
    return v;
}

/* Reap the peer (killing it after timeout_ms); its exit status, 128+signal when killed. */
static inline int peer_end(struct peer *p, int timeout_ms)
{
    int st = 0;

    for (int i = 0; i < timeout_ms / 10; i++) {
        if (waitpid(p->pid, &st, WNOHANG) == p->pid)
            goto done;
        usleep(10000);
    }
    kill(p->pid, SIGKILL);
    waitpid(p->pid, &st, 0);
done:
    close(p->wfd);
    close(p->rfd);
    p->pid = -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static inline sci_desc_t child_init(unsigned int *node_p)
{
    sci_error_t e;
    sci_desc_t sd;

    SCIInitialize(0, &e);
    CHK_OK(e);
    SCIOpen(&sd, 0, &e);
    CHK_OK(e);
    SCIGetLocalNodeId(0, node_p, 0, &e);
    CHK_OK(e);
    return sd;
}

static inline void child_fini(sci_desc_t sd)
{
    sci_error_t e;

    SCIClose(sd, 0, &e);
    CHK_OK(e);
    SCITerminate();
}

static inline sci_desc_t parent_init(void)
{
    sci_error_t e;
    sci_desc_t sd;

    SCIInitialize(0, &e);
    assert_int_equal(e, SCI_ERR_OK);
    SCIOpen(&sd, 0, &e);
    assert_int_equal(e, SCI_ERR_OK);
    return sd;
}

static inline void parent_fini(sci_desc_t sd)
{
    sci_error_t e;

    SCIClose(sd, 0, &e);
    assert_int_equal(e, SCI_ERR_OK);
    SCITerminate();
}

#endif
