/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * pcishm: the window-device core (driver/wdev/, docs/wdev.md) over a PCI BAR that several machines
 * share (docs/pcishm.md): an ivshmem-doorbell device found and mapped with libpciaccess. BAR2 holds
 * the core's region, then one inbound window per ivshmem peer; a machine's port is its ivshmem peer id
 * (IVPosition), so there is no claim protocol; a wake-up is a doorbell (BAR0) raising the peer's MSI-X
 * vector, which kernel/osci_ivshmem makes a pollable fd; liveness is the peer's heartbeat and epoch in
 * its register page (another host's clock: alive while it changes).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "osci_drv.h"
#include "osci_ivshmem.h"
#include "wdev.h"

#define MOD "pcishm"
#define PS_TIMER_MS     20            /* heartbeat timer */
#define PS_HB_DEFAULT   2000          /* ms: another machine's silence before it is dead (hb_timeout=) */
#define PS_WIN_ALIGN    (1ull << 20)  /* windows start on MiB boundaries of BAR2 */
#define PS_VEC_WAKE     0u            /* MSI-X vector: progress() has something to look at */
#define PS_VEC_DB       1u            /* MSI-X vector: a doorbell for a blocking db_wait */
#define PS_DB_POLL_MS   10            /* a db_wait re-checks at least this often */
#define PS_PEERS_MAX    WD_PORTS

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "pcishm's region is little-endian: the core stores native words (docs/pcishm.md)"
#endif

struct ps_drv {
    struct wdev w;                    /* the window-device core: first */
    struct osci_ivshmem pci;
    int irq_fd;                       /* the interrupt device; -1: polling (module not loaded) */
    int pci_open;
    int res_fd;                       /* BAR2's sysfs resource file: the fd of every window (rmem_map) */
    int epfd, tfd;                    /* event fd: the interrupt device and a timer */
    int db_fd;                        /* a second open of the interrupt device for db_wait; -1: polling */
    unsigned int peers;               /* windows in BAR2 (peers=) */
    uint64_t win_base, win_size;
    uint32_t db_gen;                  /* bumped when a db_wait saw vector PS_VEC_DB */
};

static inline struct ps_drv *to_ps(struct wdev *w) { return (struct ps_drv *)w; }

/* BAR2: [0, WD_REGION_SIZE) the core's region, windows from win_base, `peers` of win_size each. */
static int ps_layout(struct ps_drv *d, const struct osci_adapter_conf *conf)
{
    uint64_t base = (WD_REGION_SIZE + PS_WIN_ALIGN - 1) & ~(PS_WIN_ALIGN - 1);
    uint64_t bar = d->pci.mem_size;

    d->win_base = base;
    if (bar <= base || (bar - base) / d->peers < PS_WIN_ALIGN) {
        osci_log(OSCI_LOG_ERROR, MOD, "adapter %u: %s: BAR2 of %" PRIu64 " bytes has no room for %u windows of 1 MiB "
                 "after the %" PRIu64 "-byte region (a larger ivshmem size, or fewer peers=)", conf->adapter_no,
                 d->pci.slot, bar, d->peers, base);
        return -ENOSPC;
    }
    d->win_size = ((bar - base) / d->peers) & ~(PS_WIN_ALIGN - 1);
    if (d->pci.peer_id >= d->peers && !conf->observe) {
        osci_log(OSCI_LOG_ERROR, MOD, "adapter %u: %s: ivshmem peer id %u, but the layout has peers=%u",
                 conf->adapter_no, d->pci.slot, d->pci.peer_id, d->peers);
        return -ERANGE;
    }
    return 0;
}

static int ps_configure(struct ps_drv *d, const struct osci_adapter_conf *conf)
{
    const char *v;
    uint64_t window, hb;
    unsigned long n;
    char *end;

    osci_log_init();
    d->res_fd = d->epfd = d->tfd = d->db_fd = d->irq_fd = -1;
    d->peers = 2;
    for (unsigned int i = 0; i < conf->n_opts; i++) {
        const char *k = conf->opts[i].key;
        if (strcmp(k, "slot") && strcmp(k, "peers") && strcmp(k, "hb_timeout")) {
            osci_log(OSCI_LOG_ERROR, MOD, "adapter %u: unknown option %s (slot, peers, hb_timeout)", conf->adapter_no, k);
            return -EINVAL;
        }
    }
    if (wdev_parse_opts(conf, &window, &hb) < 0)
        return -EINVAL;
    d->w.hb_timeout_ms = osci_conf_opt(conf, "hb_timeout") ? hb : PS_HB_DEFAULT;
    d->w.hb_remote = 1;
    if ((v = osci_conf_opt(conf, "peers"))) {
        errno = 0;
        n = strtoul(v, &end, 10);
        if (errno || *end || end == v || n < 2 || n > PS_PEERS_MAX) {
            osci_log(OSCI_LOG_ERROR, MOD, "adapter %u: peers=%s is not in 2..%u", conf->adapter_no, v, PS_PEERS_MAX);
            return -EINVAL;
        }
        d->peers = (unsigned int)n;
    }
    if (conf->node_id > 255) {
        osci_log(OSCI_LOG_ERROR, MOD, "adapter %u: node id %u not in 1..255", conf->adapter_no, conf->node_id);
        return -EINVAL;
    }
    return 0;
}

/* Finds and maps the device, decides the layout, and writes the region's header when nobody has (every
 * machine writes the same values: no claim needed), then checks a snapshot of it. */
static int ps_attach(struct ps_drv *d, const struct osci_adapter_conf *conf)
{
    struct wd_hdr snap, *h;
    char path[96];
    int ret;

    if ((ret = osci_ivshmem_open(osci_conf_opt(conf, "slot"), &d->pci)) < 0)
        return ret;
    d->pci_open = 1;
    snprintf(d->w.name, sizeof(d->w.name), "%s", d->pci.slot);
    if ((ret = ps_layout(d, conf)) < 0)
        return ret;
    d->w.map = d->pci.mem;
    h = (struct wd_hdr *)d->w.map;
    if (WD_LD(&h->magic) != WD_MAGIC || WD_LD(&h->initialized) != 1) {
        if (conf->observe) {
            osci_log(OSCI_LOG_ERROR, MOD, "adapter %u: %s: BAR2 holds no pcishm region yet", conf->adapter_no,
                     d->pci.slot);
            return -ENOENT;
        }
        wdev_region_init(&d->w, d->win_size);
        WD_ST(&h->initialized, 1u);
        osci_log(OSCI_LOG_INFO, MOD, "%s: region written (%u windows of %" PRIu64 " bytes)", d->pci.slot, d->peers,
                 d->win_size);
    }
    if (!conf->observe)               /* ports no machine of this layout owns: whatever is there is junk */
        for (unsigned int p = d->peers; p < WD_PORTS; p++)
            memset(wdev_port(&d->w, p), 0, WD_PORT_SIZE);
    memcpy(&snap, h, sizeof(snap));
    d->w.hdr = h;
    if ((ret = wdev_region_check(&d->w, &snap, d->pci.slot)) < 0)
        return ret;
    if (snap.default_window != d->win_size) {
        osci_log(OSCI_LOG_ERROR, MOD, "adapter %u: %s: the region's windows are %" PRIu64 " bytes, peers=%u here "
                 "gives %" PRIu64 ": every machine needs the same peers=", conf->adapter_no, d->pci.slot,
                 snap.default_window, d->peers, d->win_size);
        return -EPROTO;
    }
    snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource2", d->pci.slot);
    d->res_fd = open(path, (conf->observe ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOFOLLOW);
    if (d->res_fd < 0) {
        ret = -errno;
        osci_log(OSCI_LOG_ERROR, MOD, "adapter %u: %s: %s", conf->adapter_no, path, strerror(errno));
        return ret;
    }
    return 0;
}

static void ps_detach(struct ps_drv *d)
{
    if (d->res_fd >= 0) close(d->res_fd);
    if (d->epfd >= 0) close(d->epfd);
    if (d->tfd >= 0) close(d->tfd);
    if (d->db_fd >= 0) close(d->db_fd);
    if (d->irq_fd >= 0) close(d->irq_fd);
    d->res_fd = d->epfd = d->tfd = d->db_fd = d->irq_fd = -1;
    if (d->pci_open)
        osci_ivshmem_close(&d->pci);
    d->pci_open = 0;
}

static int ps_setup_fds(struct ps_drv *d)
{
    struct epoll_event ev = { .events = EPOLLIN };
    struct itimerspec its = { .it_interval = { 0, PS_TIMER_MS * 1000000L }, .it_value = { 0, PS_TIMER_MS * 1000000L } };

    d->epfd = epoll_create1(EPOLL_CLOEXEC);
    d->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (d->epfd < 0 || d->tfd < 0 || timerfd_settime(d->tfd, 0, &its, NULL) < 0)
        return -errno;
    ev.data.fd = d->tfd;
    if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->tfd, &ev) < 0)
        return -errno;
    d->irq_fd = osci_ivshmem_irq_open(&d->pci);
    if (d->irq_fd >= 0) {
        ev.data.fd = d->irq_fd;
        if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->irq_fd, &ev) < 0)
            return -errno;
        d->db_fd = osci_ivshmem_irq_open(&d->pci);
        if (d->db_fd < 0)
            d->db_fd = -1;
    } else {
        d->irq_fd = -1;
    }
    return 0;
}

static const struct osci_wdev_provider_ops ps_prov;

static int ps_open(const struct osci_adapter_conf *conf, struct osci_drv **drv_p)
{
    struct ps_drv *d;
    uint32_t node;
    int ret;

    if (conf->observe)
        return -EOPNOTSUPP;           /* observers come through the observe ops */
    d = (struct ps_drv *)wdev_alloc(&ps_prov, sizeof(*d));
    if (!d)
        return -ENOMEM;
    if ((ret = ps_configure(d, conf)) < 0 || (ret = ps_attach(d, conf)) < 0 || (ret = ps_setup_fds(d)) < 0)
        goto err;
    /* One instance per machine and device owns the port: a host-local lock on BAR2's resource file,
     * released by the kernel when its holder dies. */
    if (flock(d->res_fd, LOCK_EX | LOCK_NB) < 0) {
        ret = errno == EWOULDBLOCK ? -EADDRINUSE : -errno;
        osci_log(OSCI_LOG_ERROR, MOD, "adapter %u: %s: ivshmem peer id %u is in use by another pcishm adapter "
                 "open on this machine (one per machine and device)", conf->adapter_no, d->pci.slot, d->pci.peer_id);
        goto err;
    }
    /* The port is the ivshmem peer id: the server gives each machine its own, so there is no claim; one
     * OpenSCI process per machine and adapter uses it (docs/pcishm.md). */
    node = conf->node_id ? conf->node_id : d->pci.peer_id + 1;
    d->w.win_size = d->win_size;
    d->w.win_fd = d->res_fd;
    d->w.win_fd_off = (off_t)(d->win_base + (uint64_t)d->pci.peer_id * d->win_size);
    d->w.win = (uint8_t *)d->pci.mem + d->w.win_fd_off;
    memset(d->w.win, 0, d->win_size);  /* nothing of an earlier incarnation is left to the next user */
    wdev_port_begin(&d->w, d->pci.peer_id, node, wdev_random());
    wdev_port_activate(&d->w);
    osci_log(OSCI_LOG_INFO, MOD, "%s: node %u on port %u (ivshmem peer id), epoch %" PRIx64 ", window %" PRIu64
             " bytes at BAR2+%#" PRIx64 "%s", d->pci.slot, d->w.base.node_id, d->w.me, d->w.epoch, d->win_size,
             (uint64_t)d->w.win_fd_off, d->irq_fd < 0 ? " (polling: no interrupt device)" : "");
    wdev_wake_all(&d->w);
    *drv_p = &d->w.base;
    return 0;
err:
    ps_detach(d);
    wdev_free(&d->w);
    return ret;
}

static void ps_close(struct osci_drv *drv)
{
    struct ps_drv *d = to_ps((struct wdev *)drv);

    wdev_unmap_peers(&d->w);
    if (getpid() == d->w.pid && d->w.me < WD_PORTS) {
        wdev_port_clear(&d->w, d->w.me);
        wdev_wake_all(&d->w);
    }
    ps_detach(d);
    wdev_free(&d->w);
}

/* ---- wake-ups and doorbells ---- */

static void ps_wake(struct wdev *w, unsigned int port)
{
    struct ps_drv *d = to_ps(w);
    if (port < WD_PORTS && !w->observer)
        osci_ivshmem_ring(&d->pci, port, PS_VEC_WAKE);
}

static void ps_arm(struct wdev *w, int on)
{
    (void)w;                          /* ivshmem interrupts are edge: nothing to arm */
    (void)on;
}

static int ps_event_fd(struct wdev *w)
{
    return to_ps(w)->epfd;
}

static void ps_sweep(struct wdev *w)
{
    struct ps_drv *d = to_ps(w);
    uint64_t ticks;

    if (d->irq_fd >= 0)
        (void)osci_ivshmem_irq_take(d->irq_fd);
    if (d->tfd >= 0 && read(d->tfd, &ticks, sizeof(ticks)) < 0)
        ticks = 0;
}

static void ps_db_notify(struct wdev *w, unsigned int port)
{
    struct ps_drv *d = to_ps(w);
    if (port < WD_PORTS)
        osci_ivshmem_ring(&d->pci, port, PS_VEC_DB);
}

static uint32_t ps_db_wait_begin(struct wdev *w)
{
    return __atomic_load_n(&to_ps(w)->db_gen, __ATOMIC_ACQUIRE);
}

/* Sleeps on the second open of the interrupt device until vector PS_VEC_DB (or any: the core
 * re-checks) or PS_DB_POLL_MS; without the module, PS_DB_POLL_MS of sleep (polling mode). */
static void ps_db_sleep(struct wdev *w, uint32_t ticket, const struct timespec *timeout)
{
    struct ps_drv *d = to_ps(w);
    int ms = PS_DB_POLL_MS;
    uint64_t mask;

    if (timeout && timeout->tv_sec == 0 && timeout->tv_nsec / 1000000 < ms)
        ms = (int)(timeout->tv_nsec / 1000000) + 1;
    if (__atomic_load_n(&d->db_gen, __ATOMIC_ACQUIRE) != ticket)
        return;
    if (d->db_fd >= 0) {
        struct pollfd pfd = { .fd = d->db_fd, .events = POLLIN };
        if (poll(&pfd, 1, ms) > 0 && read(d->db_fd, &mask, sizeof(mask)) == (ssize_t)sizeof(mask))
            __atomic_fetch_add(&d->db_gen, 1, __ATOMIC_RELEASE);
    } else {
        struct timespec ts = { 0, (long)ms * 1000000L };
        nanosleep(&ts, NULL);
    }
}

static void ps_db_wait_end(struct wdev *w)
{
    (void)w;
}

/* ---- peers: the heartbeat decides (another machine's processes cannot be watched) ---- */

static int ps_peer_watch(struct wdev *w, unsigned int p, uint64_t epoch)
{
    (void)w, (void)p, (void)epoch;
    return 0;
}

static int ps_peer_state(struct wdev *w, unsigned int p)
{
    (void)w, (void)p;
    return 0;
}

static void ps_peer_unwatch(struct wdev *w, unsigned int p)
{
    (void)w, (void)p;
}

static int32_t ps_peer_pid(struct wdev *w, unsigned int p)
{
    (void)w, (void)p;
    return -1;
}

static void ps_reclaim(struct wdev *w, unsigned int p, uint64_t epoch)
{
    (void)w, (void)p, (void)epoch;    /* the port's next incarnation rewrites its page */
}

/* Port's window: a part of BAR2 (already mapped); its fd is BAR2's resource file at its offset. */
static int ps_window_map(struct wdev *w, unsigned int port, uint64_t epoch, uint64_t size, uint8_t **base_p,
                         int *fd_p)
{
    struct ps_drv *d = to_ps(w);

    if (port >= d->peers)
        return -ENXIO;
    if (WD_LD(&wdev_port(w, port)->epoch) != epoch)
        return -ESTALE;
    if (size > d->win_size) {
        osci_log(OSCI_LOG_WARN, MOD, "%s: port %u states a window of %" PRIu64 " bytes, the layout's are %" PRIu64,
                 d->pci.slot, port, size, d->win_size);
        return -EPROTO;
    }
    w->peer_fd_off[port] = (off_t)(d->win_base + (uint64_t)port * d->win_size);
    *base_p = (uint8_t *)d->pci.mem + w->peer_fd_off[port];
    *fd_p = d->res_fd;
    return 0;
}

static void ps_window_unmap(struct wdev *w, uint8_t *base, uint64_t size, int fd)
{
    (void)w, (void)base, (void)size, (void)fd;   /* part of the BAR mapping, which close() unmaps */
}

/* ---- observing ---- */

static int ps_observe_attach(struct wdev *w, const struct osci_adapter_conf *conf)
{
    struct ps_drv *d = to_ps(w);
    int ret;

    if ((ret = ps_configure(d, conf)) < 0 || (ret = ps_attach(d, conf)) < 0)
        ps_detach(d);
    return ret;
}

static void ps_observe_detach(struct wdev *w)
{
    ps_detach(to_ps(w));
}

static int ps_observe_open(const struct osci_adapter_conf *conf, struct osci_drv_observe **obs_p)
{
    return wdev_observe_open(conf, &ps_prov, sizeof(struct ps_drv), obs_p);
}

static const struct osci_wdev_provider_ops ps_prov = {
    .name = "pcishm",
    .card_type = OSCI_DRV_CARD_PCISHM,
    .caps = 0,                        /* liveness by heartbeat; peers are what the ivshmem server connects */
    .observe_attach = ps_observe_attach,
    .observe_detach = ps_observe_detach,
    .window_map = ps_window_map,
    .window_unmap = ps_window_unmap,
    .wake = ps_wake,
    .arm = ps_arm,
    .event_fd = ps_event_fd,
    .sweep = ps_sweep,
    .db_notify = ps_db_notify,
    .db_wait_begin = ps_db_wait_begin,
    .db_sleep = ps_db_sleep,
    .db_wait_end = ps_db_wait_end,
    .peer_watch = ps_peer_watch,
    .peer_state = ps_peer_state,
    .peer_unwatch = ps_peer_unwatch,
    .peer_pid = ps_peer_pid,
    .reclaim = ps_reclaim,
};

static const struct osci_drv_observe_ops ps_observe_ops = {
    .open = ps_observe_open,
    WDEV_OBSERVE_OPS,
};

const struct osci_drv_ops osci_pcishm_ops = {
    .size = sizeof(struct osci_drv_ops),
    .name = "pcishm",
    .open = ps_open,
    .close = ps_close,
    WDEV_DRV_OPS,
    .observe = &ps_observe_ops,
};
