/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The driver-level lab programs' shared part (rdma_pair.c, pcishm_pair.c): the one driver instance, its
 * peer, die/say with the program's name (LAB_DRV_NAME, defined before the include), and an event loop
 * over the driver's ops (progress, arm, poll on the event fd) that keeps unconsumed events in a backlog.
 */
#ifndef LAB_DRV_H
#define LAB_DRV_H

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "osci_drv.h"
#include "osci_time.h"

static struct osci_drv *drv;
static uint32_t self_id, peer_id;
static const char *role;
static struct osci_drv_event backlog[512];
static unsigned int n_backlog;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, LAB_DRV_NAME " %s: FAIL: ", role);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;
    printf(LAB_DRV_NAME " %s: ", role);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static const char *ev_name(enum osci_drv_event_type t)
{
    switch (t) {
    case OSCI_DRV_EV_LINK_UP: return "LINK_UP";
    case OSCI_DRV_EV_LINK_DOWN: return "LINK_DOWN";
    case OSCI_DRV_EV_PEER_DEAD: return "PEER_DEAD";
    case OSCI_DRV_EV_MSG: return "MSG";
    case OSCI_DRV_EV_DOORBELL: return "DOORBELL";
    }
    return "?";
}

/* One round of the event loop: progress, else arm and sleep on the event fd. */
static void pump(int sleep_ms)
{
    struct osci_drv_event ev[16];
    int n = osci_drv_progress(drv, ev, 16);
    struct pollfd pfd;

    if (n < 0)
        die("progress: %s", strerror(-n));
    for (int i = 0; i < n; i++) {
        if (ev[i].type != OSCI_DRV_EV_MSG)
            say("event %s node %u epoch %016" PRIx64 " bits %016" PRIx64, ev_name(ev[i].type), ev[i].node,
                ev[i].epoch, ev[i].db_bits);
        if (n_backlog == sizeof(backlog) / sizeof(backlog[0]))
            die("more than %u unconsumed events", n_backlog);
        backlog[n_backlog++] = ev[i];
    }
    if (n > 0 || osci_drv_arm(drv) == -EAGAIN)
        return;
    pfd.fd = osci_drv_event_fd(drv);
    pfd.events = POLLIN;
    if (poll(&pfd, 1, sleep_ms) < 0 && errno != EINTR)
        die("poll: %s", strerror(errno));
}

/* Takes the first event matching (type, any of types2), waiting up to timeout_ms; 0 or -ETIMEDOUT. */
static int take(enum osci_drv_event_type type, enum osci_drv_event_type type2, int timeout_ms,
                struct osci_drv_event *out)
{
    uint64_t deadline = osci_now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        for (unsigned int i = 0; i < n_backlog; i++) {
            if (backlog[i].type == type || backlog[i].type == type2) {
                if (out)
                    *out = backlog[i];
                memmove(&backlog[i], &backlog[i + 1], (n_backlog - i - 1) * sizeof(backlog[0]));
                n_backlog--;
                return 0;
            }
        }
        if (osci_now_ms() >= deadline)
            return -ETIMEDOUT;
        pump(50);
    }
}

static void send_retry(const void *msg, size_t len)
{
    uint64_t deadline = osci_now_ms() + 10000;
    int r;
    while ((r = osci_drv_msg_send(drv, peer_id, msg, len)) == -EAGAIN && osci_now_ms() < deadline)
        pump(1);
    if (r < 0)
        die("msg_send of %zu bytes: %s", len, strerror(-r));
}

static void recv_msg(struct osci_drv_event *ev, int timeout_ms, const char *what)
{
    if (take(OSCI_DRV_EV_MSG, OSCI_DRV_EV_MSG, timeout_ms, ev) < 0)
        die("no message (%s) within %d ms", what, timeout_ms);
    if (ev->node != peer_id)
        die("message (%s) from node %u, expected %u", what, ev->node, peer_id);
}

/* The peer's LINK_UP, checked against peers() and probe() (absent_rc: what probe says of node 77). */
static uint64_t wait_link_up(int timeout_ms, int absent_rc)
{
    struct osci_drv_event ev;
    struct osci_peer_info pi[4];
    unsigned int n = 0;

    if (take(OSCI_DRV_EV_LINK_UP, OSCI_DRV_EV_LINK_UP, timeout_ms, &ev) < 0)
        die("no LINK_UP within %d ms", timeout_ms);
    if (ev.node != peer_id || !ev.epoch)
        die("LINK_UP from node %u epoch %" PRIx64, ev.node, ev.epoch);
    if (osci_drv_peers(drv, pi, 4, &n) < 0 || n != 1 || pi[0].node_id != peer_id || !pi[0].link_up ||
        pi[0].epoch != ev.epoch || pi[0].pid != -1)
        die("peers() disagrees with LINK_UP");
    if (osci_drv_probe(drv, peer_id) != 0 || osci_drv_probe(drv, 77) != absent_rc)
        die("probe");
    return ev.epoch;
}

/* Message i: length i*11 % 241 (so 0 and 240 occur), bytes from node, i. */
/* Message i: length i*11 % 241 (so 0 and 240 occur), bytes from node, i. */
static size_t fill_msg(uint8_t *b, uint32_t from, unsigned int i)
{
    size_t len = (i == 5) ? OSCI_DRV_MSG_MAX : (i * 11u) % (OSCI_DRV_MSG_MAX + 1);
    for (size_t k = 0; k < len; k++)
        b[k] = (uint8_t)(from * 31 + i * 7 + k);
    return len;
}

#endif
