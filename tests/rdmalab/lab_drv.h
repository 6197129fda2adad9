/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The driver-level lab programs' shared part (rdma_pair.c, pcishm_pair.c): the one driver instance, its
 * peer, die/say with the program's name (LAB_DRV_NAME, defined before the include), an event loop
 * over the driver's ops (progress, arm, poll on the event fd) that keeps unconsumed events in a backlog,
 * and the steps both programs take: opening adapter 0, messages, doorbells, data patterns, the restart.
 */
#ifndef LAB_DRV_H
#define LAB_DRV_H

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "osci_conf.h"
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
static size_t fill_msg(uint8_t *b, uint32_t from, unsigned int i)
{
    size_t len = (i == 5) ? OSCI_DRV_MSG_MAX : (i * 11u) % (OSCI_DRV_MSG_MAX + 1);
    for (size_t k = 0; k < len; k++)
        b[k] = (uint8_t)(from * 31 + i * 7 + k);
    return len;
}

/* The command line: server|client <self id> <peer id> <marker> | restart <self id> <peer id>. */
static void lab_drv_args(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    role = argc > 1 ? argv[1] : "?";
    if (argc < 4 || (strcmp(role, "restart") && argc < 5))
        die("usage: " LAB_DRV_NAME " server|client <self id> <peer id> <marker> | restart <self id> <peer id>");
    self_id = (uint32_t)atoi(argv[2]);
    peer_id = (uint32_t)atoi(argv[3]);
}

/* Adapter 0 of OSCI_CONF, which must use `driver`: opened, queried into *info, all 32 event-mask bits set. */
static void open_adapter0(const char *driver, struct osci_adapter_conf *conf, struct osci_drv_info *info)
{
    unsigned int n;
    int r;

    r = osci_conf_load(conf, OSCI_MAX_ADAPTERS, &n);
    if (r < 0 || n < 1)
        die("osci_conf_load: %s", r < 0 ? strerror(-r) : "no adapter");
    if (strcmp(conf[0].driver, driver))
        die("adapter 0 is %s, not %s", conf[0].driver, driver);
    r = osci_drv_open(&conf[0], &drv);
    if (r < 0)
        die("osci_drv_open: %s", strerror(-r));
    r = osci_drv_query(drv, info);
    if (r < 0)
        die("query: %s", strerror(-r));
    r = osci_drv_db_set_event_mask(drv, 0xffffffffull);
    if (r < 0)
        die("db_set_event_mask: %s", strerror(-r));
}

/* 40 messages each way, the oversized one refused; contents and order checked. */
static void exchange_messages(const char *via)
{
    uint8_t b[OSCI_DRV_MSG_MAX + 1], want[OSCI_DRV_MSG_MAX];
    struct osci_drv_event ev;
    const unsigned int count = 40;

    memset(b, 0, sizeof(b));
    if (osci_drv_msg_send(drv, peer_id, b, OSCI_DRV_MSG_MAX + 1) != -EMSGSIZE)
        die("oversized msg_send not refused with EMSGSIZE");
    for (unsigned int i = 0; i < count; i++)
        send_retry(b, fill_msg(b, self_id, i));
    for (unsigned int i = 0; i < count; i++) {
        size_t len = fill_msg(want, peer_id, i);
        recv_msg(&ev, 30000, "exchange");
        if (ev.len != len || memcmp(ev.msg, want, len))
            die("message %u: %u bytes, expected %zu, or content differs", i, ev.len, len);
    }
    say("%u messages each way%s, contents checked", count, via);
}

/* Bit 3 by event (in the event mask), bit 40 (not in it) by db_poll; bit 64 refused. */
static void doorbells_event_poll(void)
{
    struct osci_drv_event ev;
    uint64_t bits = 0, deadline;

    if (osci_drv_db_ring(drv, peer_id, 64) != -EINVAL)
        die("db_ring of bit 64 not refused");
    if (osci_drv_db_ring(drv, peer_id, 3) < 0 || osci_drv_db_ring(drv, peer_id, 40) < 0)
        die("db_ring");
    if (take(OSCI_DRV_EV_DOORBELL, OSCI_DRV_EV_DOORBELL, 30000, &ev) < 0)
        die("no DOORBELL event for bit 3");
    if (ev.db_bits != (1ull << 3))
        die("DOORBELL bits %016" PRIx64 ", expected bit 3 only (bit 40 is not in the event mask)", ev.db_bits);
    deadline = osci_now_ms() + 30000;
    while (!(bits & (1ull << 40)) && osci_now_ms() < deadline) {
        uint64_t b = 0;
        pump(20);
        if (osci_drv_db_poll(drv, 1ull << 40, &b) < 0)
            die("db_poll");
        bits |= b;
    }
    if (bits != (1ull << 40))
        die("db_poll did not take bit 40 (got %016" PRIx64 ")", bits);
}

static uint8_t pat(unsigned int seed, size_t i)
{
    return (uint8_t)((i * 2654435761u) >> 13) ^ (uint8_t)seed;
}

/* b holds pattern seed for [off, off + len), else die naming the first wrong byte. */
static void check_buf(const volatile uint8_t *b, size_t off, size_t len, unsigned int seed, const char *what)
{
    for (size_t i = 0; i < len; i++)
        if (b[i] != pat(seed, off + i))
            die("%s: byte %zu is %#x, expected %#x", what, off + i, b[i], pat(seed, off + i));
}

static void touch(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        die("cannot create %s: %s", path, strerror(errno));
    close(fd);
}

/* The restarted server's hello and the client's answer. */
static int restarted_server(void)
{
    struct osci_drv_event ev;

    send_retry("restarted", 9);
    recv_msg(&ev, 30000, "reply after restart");
    if (ev.len != 3 || memcmp(ev.msg, "ack", 3))
        die("no ack after restart");
    say("restarted server talked to the client");
    osci_drv_close(drv);
    return 0;
}

static void restarted_client(void)
{
    struct osci_drv_event ev;

    recv_msg(&ev, 30000, "restarted server");
    if (ev.len != 9 || memcmp(ev.msg, "restarted", 9))
        die("unexpected first message from the restarted server");
    send_retry("ack", 3);
}

#endif
