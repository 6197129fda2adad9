/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Driver conformance (docs/testing.md): the ops-table contract of driver/core/osci_drv.h, reached only
 * through the osci_drv_* wrappers, on the driver adapter 0 of OSCI_CONF names (simntb when unset). Two sides
 * per case (tests/common/osci_conform.h): forked on one host, or one per host in the two-host lab.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "osci_conf.h"
#include "osci_drv.h"
#include "osci_time.h"
#include "../common/osci_conform.h"

#define KNOWN_CAPS (OSCI_DRV_CAP_MAP_REMOTE | OSCI_DRV_CAP_PUT_GET | OSCI_DRV_CAP_MEM_ALLOC | OSCI_DRV_CAP_DB_WAIT | \
                    OSCI_DRV_CAP_INFO | OSCI_DRV_CAP_OWN_LIVENESS | OSCI_DRV_CAP_FULL_VIEW | OSCI_DRV_CAP_EXPORT_FOREIGN)
#define MEM_SIZE (256u << 10)
#define N_MSGS 64

/* One side's driver instance and the events it has seen but not yet asked for. */
struct dside {
    struct osci_drv *d;
    struct osci_drv_info info;
    uint32_t peer;                     /* the other side's node id */
    struct osci_drv_event ev[64];
    unsigned int n_ev;
};

/* Opens adapter 0 as the configuration and the environment say, and learns the other side's node id. */
static void dopen(struct conform_side *s, struct dside *x)
{
    struct osci_adapter_conf ad[OSCI_MAX_ADAPTERS];
    unsigned int n = 0;

    memset(x, 0, sizeof(*x));
    CHECK(osci_conf_load(ad, OSCI_MAX_ADAPTERS, &n) == 0 && n >= 1);
    CHECK(osci_drv_open(&ad[0], &x->d) == 0);
    CHECK(osci_drv_query(x->d, &x->info) == 0);
    conform_send(s, x->info.node_id);
    x->peer = conform_recv(s);
    CHECK(x->peer != 0 && x->peer != x->info.node_id);
}

/* dopen, then both sides state their capabilities: 1 when both have `need`, else 0 with the driver closed
 * (the case skips: return CONFORM_SKIP). */
static int dopen_need(struct conform_side *s, struct dside *x, uint32_t need, const char *what)
{
    dopen(s, x);
    if (conform_need(s, x->info.caps, need, what))
        return 1;
    osci_drv_close(x->d);
    return 0;
}

/* Adds n events to the side's list, keeping the newest 64 (the oldest dropped). */
static void keep(struct dside *x, const struct osci_drv_event *ev, int n)
{
    for (int i = 0; i < n; i++) {
        if (x->n_ev == 64) {
            memmove(&x->ev[0], &x->ev[1], 63 * sizeof(x->ev[0]));
            x->n_ev--;
        }
        x->ev[x->n_ev++] = ev[i];
    }
}

/* Waits for an event of `type` from the other side, sleeping on the event fd (arm, then poll): a driver
 * whose fd does not wake its waiter fails here. 0 or -ETIMEDOUT. */
static int dwait(struct dside *x, enum osci_drv_event_type type, struct osci_drv_event *out, int timeout_ms)
{
    uint64_t end = osci_now_ms() + (uint64_t)timeout_ms;

    for (;;) {
        for (unsigned int i = 0; i < x->n_ev; i++) {
            if (x->ev[i].type == type && x->ev[i].node == x->peer) {
                if (out)
                    *out = x->ev[i];
                memmove(&x->ev[i], &x->ev[i + 1], (x->n_ev - i - 1) * sizeof(x->ev[0]));
                x->n_ev--;
                return 0;
            }
        }
        struct osci_drv_event ev[8];
        int n = osci_drv_progress(x->d, ev, 8);
        CHECK(n >= 0);
        keep(x, ev, n);
        if (n > 0)
            continue;
        uint64_t now = osci_now_ms();
        if (now >= end)
            return -ETIMEDOUT;
        int rc = osci_drv_arm(x->d);
        CHECK(rc == 0 || rc == -EAGAIN);
        if (rc == 0) {
            struct pollfd p = { .fd = osci_drv_event_fd(x->d), .events = POLLIN };
            CHECK(p.fd >= 0);
            poll(&p, 1, (int)(end - now));
        }
    }
}

/* Takes every event progress() has now into the side's list (the newest 64 kept). */
static void pump(struct dside *x)
{
    struct osci_drv_event ev[8];
    int n;
    while ((n = osci_drv_progress(x->d, ev, 8)) > 0)
        keep(x, ev, n);
    CHECK(n >= 0);
}

/* Waits for the other side's next message while driving the driver: drivers own no threads, so a side
 * blocked on the harness's socket alone would starve its peer's connects and imports. */
static void wait_other(struct conform_side *s, struct dside *x)
{
    uint64_t end = osci_now_ms() + (uint64_t)conform_timeout_ms();
    for (;;) {
        struct pollfd p[2] = { { .fd = s->fd, .events = POLLIN }, { .fd = osci_drv_event_fd(x->d), .events = POLLIN } };
        uint64_t now = osci_now_ms();
        int rc;
        pump(x);
        CHECK(now < end);
        rc = osci_drv_arm(x->d);
        CHECK(rc == 0 || rc == -EAGAIN);
        if (rc == -EAGAIN) {
            if (poll(p, 1, 0) == 1)
                return;
            continue;
        }
        if (poll(p, 2, (int)(end - now)) > 0 && p[0].revents)
            return;
    }
}

static uint32_t drecv(struct conform_side *s, struct dside *x)
{
    wait_other(s, x);
    return conform_recv(s);
}

static void dsync(struct conform_side *s, struct dside *x, uint32_t tag)
{
    conform_send(s, tag);
    CHECK(drecv(s, x) == tag);
}

/* The end of a side: both sides meet at tag, then this one closes its driver. 0. */
static int dend(struct conform_side *s, struct dside *x, uint32_t tag)
{
    dsync(s, x, tag);
    osci_drv_close(x->d);
    return 0;
}

/* Keeps answering progress() (a driver may need it to serve its peer) for ms milliseconds. */
static void didle(struct dside *x, int ms)
{
    uint64_t end = osci_now_ms() + (uint64_t)ms;
    while (osci_now_ms() < end) {
        struct osci_drv_event ev[8];
        int n = osci_drv_progress(x->d, ev, 8);
        for (int i = 0; i < n && x->n_ev < 64; i++)
            x->ev[x->n_ev++] = ev[i];
        usleep(1000);
    }
}

/* Calls op until it stops answering "the peer is not there yet" (a peer still joining or connecting). */
#define RETRY(xp, expr) \
    ({ int rc_; uint64_t end_ = osci_now_ms() + (uint64_t)conform_timeout_ms(); \
       while (((rc_ = (expr)) == -EHOSTUNREACH || rc_ == -ENOTCONN || rc_ == -EAGAIN) && osci_now_ms() < end_) \
           didle(xp, 2); \
       rc_; })

/* Exported memory of MEM_SIZE: the driver's own (OSCI_DRV_CAP_MEM_ALLOC) or the process's. */
struct xmem {
    struct osci_drv_mem_view view;
    void *own;
    struct osci_drv_mem *mem;
    uint8_t *p;
};

static void xexport(struct dside *x, struct xmem *m)
{
    memset(m, 0, sizeof(*m));
    if (x->info.caps & OSCI_DRV_CAP_MEM_ALLOC) {
        CHECK(osci_drv_mem_alloc(x->d, MEM_SIZE, &m->view) == 0);
        m->p = m->view.addr;
    } else {
        size_t al = x->info.mem_align > 4096 ? x->info.mem_align : 4096;
        CHECK(posix_memalign(&m->own, al, MEM_SIZE) == 0);
        m->p = m->own;
        m->view = (struct osci_drv_mem_view){ .addr = m->own, .size = MEM_SIZE, .fd = -1 };
    }
    CHECK(osci_drv_mem_export(x->d, &m->view, &m->mem) == 0);
}

static void xunexport(struct dside *x, struct xmem *m)
{
    osci_drv_mem_unexport(x->d, m->mem);
    if (m->own)
        free(m->own);
    else
        osci_drv_mem_free(x->d, &m->view);
}

static uint8_t pat(uint32_t seed, size_t i)
{
    uint32_t v = (uint32_t)i * 2654435761u + seed * 40503u;
    return (uint8_t)(v >> 13);
}

static void fill(uint8_t *p, size_t len, uint32_t seed, size_t base)
{
    for (size_t i = 0; i < len; i++)
        p[i] = pat(seed, base + i);
}

static int same(const uint8_t *p, size_t len, uint32_t seed, size_t base)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] != pat(seed, base + i))
            return 0;
    return 1;
}

/* ---- open, info ---- */
static int open_info(struct conform_side *s, void *arg)
{
    struct dside x;

    dopen(s, &x);
    CHECK(x.info.name[0] != '\0');
    CHECK(x.info.node_id != 0 && x.info.node_id <= x.info.max_nodes);
    CHECK(s->node == 0 || x.info.node_id == s->node);
    CHECK(x.info.n_doorbells >= 1 && x.info.n_doorbells <= OSCI_DRV_DB_COUNT);
    CHECK(x.info.mem_align != 0 && (x.info.mem_align & (x.info.mem_align - 1)) == 0);
    CHECK(x.info.max_mem_size >= x.info.mem_align);
    CHECK((x.info.caps & ~(uint32_t)KNOWN_CAPS) == 0);
    CHECK(x.info.card_type != OSCI_DRV_CARD_UNKNOWN);
    CHECK(osci_drv_event_fd(x.d) >= 0);
    return dend(s, &x, 1);
}

/* ---- peers: each side sees the other (probe, or the peer list) ---- */
static int listed(struct dside *x)
{
    struct osci_peer_info p[64];
    unsigned int n = 0;
    CHECK(osci_drv_peers(x->d, p, 64, &n) == 0);
    for (unsigned int i = 0; i < n && i < 64; i++)
        if (p[i].node_id == x->peer)
            return 1;
    return 0;
}

static int peers(struct conform_side *s, void *arg)
{
    struct dside x;
    uint64_t end;
    int rc;

    dopen(s, &x);
    dsync(s, &x, 1);
    end = osci_now_ms() + (uint64_t)conform_timeout_ms();
    while ((rc = osci_drv_probe(x.d, x.peer)) != 0 && rc != -EOPNOTSUPP && osci_now_ms() < end)
        didle(&x, 5);
    CHECK(rc == 0 || rc == -EOPNOTSUPP);
    if (x.info.caps & OSCI_DRV_CAP_FULL_VIEW) {
        while (!listed(&x) && osci_now_ms() < end)
            didle(&x, 5);
        CHECK(listed(&x));
    }
    /* a node id outside the driver's range is never reachable */
    CHECK(osci_drv_probe(x.d, 100000) != 0);
    return dend(s, &x, 2);
}

/* ---- control messages: in order, intact, every length up to OSCI_DRV_MSG_MAX ---- */
static int msgs_a(struct conform_side *s, void *arg)
{
    struct dside x;
    struct osci_drv_event ev;
    uint8_t buf[OSCI_DRV_MSG_MAX + 1];

    dopen(s, &x);
    dsync(s, &x, 1);
    for (uint32_t k = 0; k < N_MSGS; k++) {
        size_t len = 1 + (k * 37) % OSCI_DRV_MSG_MAX;
        if (k == N_MSGS - 1)
            len = OSCI_DRV_MSG_MAX;
        fill(buf, len, k, 0);
        buf[0] = (uint8_t)k;
        CHECK(RETRY(&x, osci_drv_msg_send(x.d, x.peer, buf, len)) == 0);
    }
    CHECK(osci_drv_msg_send(x.d, x.peer, buf, OSCI_DRV_MSG_MAX + 1) == -EMSGSIZE);
    CHECK(dwait(&x, OSCI_DRV_EV_MSG, &ev, conform_timeout_ms()) == 0);    /* B's answer */
    CHECK(ev.len == 4);
    uint32_t got;
    memcpy(&got, ev.msg, 4);
    CHECK(got == N_MSGS);
    return dend(s, &x, 2);
}

static int msgs_b(struct conform_side *s, void *arg)
{
    struct dside x;
    struct osci_drv_event ev;
    uint32_t k;

    dopen(s, &x);
    dsync(s, &x, 1);
    for (k = 0; k < N_MSGS; k++) {
        size_t len = k == N_MSGS - 1 ? OSCI_DRV_MSG_MAX : 1 + (k * 37) % OSCI_DRV_MSG_MAX;
        uint8_t want[OSCI_DRV_MSG_MAX];
        CHECK(dwait(&x, OSCI_DRV_EV_MSG, &ev, conform_timeout_ms()) == 0);
        fill(want, len, k, 0);
        want[0] = (uint8_t)k;
        CHECK(ev.len == len);
        CHECK(memcmp(ev.msg, want, len) == 0);
    }
    CHECK(RETRY(&x, osci_drv_msg_send(x.d, x.peer, &k, 4)) == 0);
    return dend(s, &x, 2);
}

/* ---- doorbells: every bit both sides have arrives as a DOORBELL event ---- */
/* The doorbells both sides have: the fewer of the two counts. */
static uint32_t both_doorbells(struct conform_side *s, struct dside *x)
{
    uint32_t nb;
    conform_send(s, x->info.n_doorbells);
    nb = drecv(s, x);
    return nb < x->info.n_doorbells ? nb : x->info.n_doorbells;
}

static int db_a(struct conform_side *s, void *arg)
{
    struct dside x;
    uint32_t nb;

    dopen(s, &x);
    nb = both_doorbells(s, &x);
    dsync(s, &x, 1);                               /* B's event mask is set */
    CHECK(osci_drv_db_ring(x.d, x.peer, OSCI_DRV_DB_COUNT) == -EINVAL);
    for (unsigned int bit = 0; bit < nb; bit++) {
        CHECK(RETRY(&x, osci_drv_db_ring(x.d, x.peer, bit)) == 0);
        CHECK(drecv(s, &x) == bit);                /* B saw it */
    }
    return dend(s, &x, 2);
}

static int db_b(struct conform_side *s, void *arg)
{
    struct dside x;
    struct osci_drv_event ev;
    uint32_t nb;
    uint64_t seen = 0;

    dopen(s, &x);
    nb = both_doorbells(s, &x);
    CHECK(osci_drv_db_set_event_mask(x.d, nb >= 64 ? ~0ull : (1ull << nb) - 1) == 0);
    dsync(s, &x, 1);
    for (unsigned int bit = 0; bit < nb; bit++) {
        while (!(seen & (1ull << bit))) {
            CHECK(dwait(&x, OSCI_DRV_EV_DOORBELL, &ev, conform_timeout_ms()) == 0);
            seen |= ev.db_bits;
        }
        CHECK((seen >> bit) == 1);                    /* no bit that was not rung */
        conform_send(s, bit);
    }
    return dend(s, &x, 2);
}

/* ---- doorbell wait without the event fd (OSCI_DRV_CAP_DB_WAIT) ---- */
static int dbw_a(struct conform_side *s, void *arg)
{
    struct dside x;

    if (!dopen_need(s, &x, OSCI_DRV_CAP_DB_WAIT, "db_wait"))
        return CONFORM_SKIP;
    dsync(s, &x, 1);
    CHECK(RETRY(&x, osci_drv_db_ring(x.d, x.peer, 0)) == 0);
    return dend(s, &x, 2);
}

/* db_poll with nothing pending: -EAGAIN (osci_drv.h). */
static int nothing_pending(struct dside *x)
{
    uint64_t bits = 0;
    return osci_drv_db_poll(x->d, 1, &bits) == -EAGAIN;
}

static int dbw_b(struct conform_side *s, void *arg)
{
    struct dside x;
    uint64_t bits = 0;

    if (!dopen_need(s, &x, OSCI_DRV_CAP_DB_WAIT, "db_wait"))
        return CONFORM_SKIP;
    CHECK(osci_drv_db_set_event_mask(x.d, 0) == 0);
    CHECK(nothing_pending(&x));
    dsync(s, &x, 1);
    CHECK(osci_drv_db_wait(x.d, 1, conform_timeout_ms(), &bits) == 0);
    CHECK(bits == 1);
    CHECK(nothing_pending(&x));                                  /* taken */
    return dend(s, &x, 2);
}

/* ---- exported memory: A exports, B imports and reads, writes (put/get or a CPU map) ---- */
enum { XS_PUTGET, XS_MAP, XS_BADIMPORT };

/* dopen_need with what the kind of case needs. */
static int mem_open(struct conform_side *s, struct dside *x, int kind)
{
    uint32_t need = kind == XS_MAP ? OSCI_DRV_CAP_MAP_REMOTE : kind == XS_PUTGET ? OSCI_DRV_CAP_PUT_GET : 0;
    return dopen_need(s, x, need, kind == XS_MAP ? "rmem_map" : "put/get");
}

static int mem_a(struct conform_side *s, void *arg)
{
    int kind = (int)(intptr_t)arg;
    struct dside x;
    struct xmem m;
    uint8_t xp[OSCI_DRV_XPORT_MAX];
    size_t len = sizeof(xp);

    if (!mem_open(s, &x, kind))
        return CONFORM_SKIP;
    xexport(&x, &m);
    fill(m.p, MEM_SIZE, 1, 0);
    CHECK(osci_drv_mem_pack(x.d, m.mem, xp, &len) == 0 && len > 0 && len <= OSCI_DRV_XPORT_MAX);
    size_t small = 0;
    CHECK(len == 0 || osci_drv_mem_pack(x.d, m.mem, xp, &small) == -ENOSPC);
    conform_send_buf(s, xp, (uint32_t)len);
    /* B reads pattern 1, then writes pattern 2 over the ranges it names, then says done */
    for (;;) {
        uint32_t off = drecv(s, &x), n = drecv(s, &x);
        if (n == 0)
            break;
        CHECK(off < MEM_SIZE && n <= MEM_SIZE - off);
        CHECK(same(m.p + off, n, 2, off));
        conform_send(s, 1);
    }
    /* B has released its import: the export ends while B is still there, then both close */
    xunexport(&x, &m);
    return dend(s, &x, 9);
}

/* Ranges B writes: aligned and not, one byte, a large one. */
static const uint32_t ranges[][2] = {
    { 0, 64 }, { 1, 1 }, { 4093, 7 }, { 8192, 4096 }, { 12345, 777 }, { 65536, 65536 }, { MEM_SIZE - 3, 3 },
};

static int out_of_range(int rc) { return rc == -EINVAL; }

static int mem_b(struct conform_side *s, void *arg)
{
    int kind = (int)(intptr_t)arg;
    struct dside x;
    struct osci_drv_rmem *r = NULL;
    uint8_t xp[OSCI_DRV_XPORT_MAX];
    static uint8_t buf[MEM_SIZE];
    uint32_t len;

    if (!mem_open(s, &x, kind))
        return CONFORM_SKIP;
    wait_other(s, &x);
    len = conform_recv_buf(s, xp, sizeof(xp));
    if (kind == XS_BADIMPORT) {
        /* what a peer sends is checked: a cut or an empty description is refused, the real one taken */
        CHECK(osci_drv_rmem_import(x.d, x.peer, xp, 0, &r) < 0);
        CHECK(osci_drv_rmem_import(x.d, x.peer, xp, len - 1, &r) < 0);
        CHECK(osci_drv_rmem_import(x.d, 100000, xp, len, &r) < 0);
    }
    CHECK(RETRY(&x, osci_drv_rmem_import(x.d, x.peer, xp, len, &r)) == 0);
    if (kind == XS_MAP) {
        void *map = NULL;
        CHECK(osci_drv_rmem_map(x.d, r, 0, MEM_SIZE, 0, &map) == 0);
        CHECK(same(map, MEM_SIZE, 1, 0));
        for (size_t k = 0; k < sizeof(ranges) / sizeof(ranges[0]); k++) {
            fill((uint8_t *)map + ranges[k][0], ranges[k][1], 2, ranges[k][0]);
            osci_fence_release();
            conform_send(s, ranges[k][0]);
            conform_send(s, ranges[k][1]);
            CHECK(drecv(s, &x) == 1);
        }
        CHECK(osci_drv_rmem_unmap(x.d, r, map, MEM_SIZE) == 0);
    } else if (kind == XS_PUTGET) {
        CHECK(osci_drv_get(x.d, r, 0, buf, MEM_SIZE) == 0);
        CHECK(same(buf, MEM_SIZE, 1, 0));
        CHECK(osci_drv_get(x.d, r, 4099, buf, 13) == 0);
        CHECK(same(buf, 13, 1, 4099));
        /* out of range is refused: -EINVAL (osci_drv.h) */
        CHECK(out_of_range(osci_drv_get(x.d, r, MEM_SIZE - 8, buf, 16)));
        CHECK(out_of_range(osci_drv_put(x.d, r, MEM_SIZE, buf, 1)));
        for (size_t k = 0; k < sizeof(ranges) / sizeof(ranges[0]); k++) {
            fill(buf, ranges[k][1], 2, ranges[k][0]);
            CHECK(osci_drv_put(x.d, r, ranges[k][0], buf, ranges[k][1]) == 0);
            CHECK(osci_drv_flush(x.d, r) == 0);
            memset(buf, 0, ranges[k][1]);
            CHECK(osci_drv_get(x.d, r, ranges[k][0], buf, ranges[k][1]) == 0);   /* sees the put */
            CHECK(same(buf, ranges[k][1], 2, ranges[k][0]));
            conform_send(s, ranges[k][0]);
            conform_send(s, ranges[k][1]);
            CHECK(drecv(s, &x) == 1);
        }
    } else {
        /* only the import is under test: A checks nothing */
    }
    osci_drv_rmem_release(x.d, r);
    conform_send(s, 0);
    conform_send(s, 0);
    return dend(s, &x, 9);
}

/* ---- peer death: B's process is SIGKILLed; A's driver reports PEER_DEAD (OSCI_DRV_CAP_OWN_LIVENESS) ---- */
static int death_a(struct conform_side *s, void *arg)
{
    struct dside x;
    struct osci_drv_event ev;

    if (!dopen_need(s, &x, OSCI_DRV_CAP_OWN_LIVENESS, "its own liveness (PEER_DEAD)"))
        return CONFORM_SKIP;
    CHECK(dwait(&x, OSCI_DRV_EV_MSG, &ev, conform_timeout_ms()) == 0);    /* the doomed peer is there */
    dsync(s, &x, 1);
    CHECK(drecv(s, &x) == 2);                                         /* killed */
    CHECK(dwait(&x, OSCI_DRV_EV_PEER_DEAD, &ev, conform_timeout_ms()) == 0);
    CHECK(ev.node == x.peer);
    osci_drv_close(x.d);
    return 0;
}

static int death_b(struct conform_side *s, void *arg)
{
    struct dside x;
    int p[2];
    pid_t pid;
    char c = 0;

    /* the node that dies is a child of this side: opened here, killed here, never closed */
    CHECK(pipe(p) == 0);
    pid = tproc_fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        uint32_t hello = 1;
        close(p[0]);
        dopen(s, &x);
        if (!conform_need(s, x.info.caps, OSCI_DRV_CAP_OWN_LIVENESS, "its own liveness (PEER_DEAD)"))
            _exit(CONFORM_SKIP);
        CHECK(RETRY(&x, osci_drv_msg_send(x.d, x.peer, &hello, 4)) == 0);
        CHECK(write(p[1], "o", 1) == 1);
        for (;;)
            didle(&x, 1000);
    }
    close(p[1]);
    struct pollfd pf = { .fd = p[0], .events = POLLIN };
    if (poll(&pf, 1, conform_timeout_ms()) != 1 || read(p[0], &c, 1) != 1) {
        int st = tproc_reap(pid, 1000);
        return WIFEXITED(st) && WEXITSTATUS(st) == CONFORM_SKIP ? CONFORM_SKIP : 1;
    }
    conform_sync(s, 1);
    kill(pid, SIGKILL);
    CHECK(tproc_reap(pid, 5000) != -1);
    conform_send(s, 2);
    return 0;
}

CONFORM_MAIN("drv",
             CONFORM_CASE("drv_open_info", open_info, open_info, NULL),
             CONFORM_CASE("drv_peers", peers, peers, NULL),
             CONFORM_CASE("drv_messages", msgs_a, msgs_b, NULL),
             CONFORM_CASE("drv_doorbells", db_a, db_b, NULL),
             CONFORM_CASE("drv_doorbell_wait", dbw_a, dbw_b, NULL),
             CONFORM_CASE("drv_put_get", mem_a, mem_b, (void *)(intptr_t)XS_PUTGET),
             CONFORM_CASE("drv_map", mem_a, mem_b, (void *)(intptr_t)XS_MAP),
             CONFORM_CASE("drv_import_checked", mem_a, mem_b, (void *)(intptr_t)XS_BADIMPORT),
             CONFORM_CASE("drv_peer_death", death_a, death_b, NULL))
