/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Window-device core, region side (docs/wdev.md): the layout written at creation and checked once at
 * attach, the join of a port (registers written by their owner only), open/close of an instance over
 * a provider, and the observe ops.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include "osci_parse.h"
#include "osci_time.h"
#include "wdev.h"
#include "wdev_int.h"

#define WD_DEFAULT_WINDOW (256ull << 20)
#define WD_HB_TIMEOUT_MS  500

_Static_assert(WD_REGION_SIZE % WD_PAGE == 0, "region size");

/* Regions at this build's constant offsets: nothing here is read from shared memory. */
struct wd_port *wdev_port(struct wdev *w, unsigned int p)
{
    return (struct wd_port *)(w->map + WD_PORTS_OFF + (size_t)(p % WD_PORTS) * WD_PORT_SIZE);
}

struct wd_ring *wdev_ring(struct wdev *w, unsigned int dst, unsigned int src)
{
    return (struct wd_ring *)(w->map + WD_RINGS_OFF +
                              ((size_t)(dst % WD_PORTS) * WD_PORTS + src % WD_PORTS) * sizeof(struct wd_ring));
}

uint8_t *wdev_info(struct wdev *w, unsigned int p)
{
    return w->map + WD_INFO_OFF + (size_t)(p % WD_PORTS) * WD_INFO_SIZE;
}

void *wdev_local(struct wdev *w, unsigned int p)
{
    return w->map + WD_LOCAL_OFF + (size_t)(p % WD_PORTS) * WD_LOCAL_SIZE;
}

uint64_t wdev_random(void)
{
    uint64_t r = 0;
    while (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r) || r == 0)
        ;                             /* EINTR only: 8 bytes never block once the pool is up */
    return r;
}

/* ---- the layout ---- */

/* The header's layout fields and this build's values: written by wdev_region_init, checked by
 * wdev_region_check. */
#define WD_LAYOUT(X)                         \
    X(total_size, WD_REGION_SIZE)            \
    X(hdr_size, WD_HDR_SIZE)                 \
    X(max_ports, WD_PORTS)                   \
    X(port_size, WD_PORT_SIZE)               \
    X(ring_size, sizeof(struct wd_ring))     \
    X(ring_slots, WD_SLOTS)                  \
    X(slot_size, sizeof(struct wd_slot))     \
    X(info_size, WD_INFO_SIZE)               \
    X(ports_off, WD_PORTS_OFF)               \
    X(rings_off, WD_RINGS_OFF)               \
    X(info_off, WD_INFO_OFF)                 \
    X(local_off, WD_LOCAL_OFF)               \
    X(local_size, WD_LOCAL_SIZE)             \
    X(n_doorbells, WD_DBS)

void wdev_region_init(struct wdev *w, uint64_t default_window)
{
    struct wd_hdr *h = (struct wd_hdr *)w->map;

    w->hdr = h;
    h->magic = WD_MAGIC;
    h->version = WD_VERSION;
#define WD_SET(field, value) h->field = value;
    WD_LAYOUT(WD_SET)
#undef WD_SET
    h->default_window = default_window;
    w->default_window = default_window;
}

/* Checks a snapshot of an initialised header against this build's layout: -EPROTO and a line naming the
 * first field that differs. After this, nothing of the header is read again (`closing` is written
 * once, by the last node, and never read). */
int wdev_region_check(struct wdev *w, const struct wd_hdr *h, const char *what)
{
    const struct { const char *name; uint64_t got, want; } f[] = {
#define WD_FIELD(field, value) { #field, h->field, value },
        WD_LAYOUT(WD_FIELD)
#undef WD_FIELD
    };

    if (h->magic != WD_MAGIC) {
        osci_log(OSCI_LOG_ERROR, MOD, "%s: not a %s fabric (bad magic)", what, w->prov->name);
        return -EPROTO;
    }
    if (h->version != WD_VERSION) {
        osci_log(OSCI_LOG_ERROR, MOD, "%s: fabric layout version %u, this library speaks %u", what, h->version,
                 WD_VERSION);
        return -EPROTO;
    }
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
        if (f[i].got != f[i].want) {
            osci_log(OSCI_LOG_ERROR, MOD, "%s: header field %s = %" PRIu64 ", this library's layout has %" PRIu64
                     ": refused", what, f[i].name, f[i].got, f[i].want);
            return -EPROTO;
        }
    if (h->default_window < WD_PAGE || h->default_window > (1ull << 40) || h->default_window % WD_PAGE) {
        osci_log(OSCI_LOG_ERROR, MOD, "%s: header field default_window = %" PRIu64 " is not a multiple of 4K in 4K..1T"
                 ": refused", what, h->default_window);
        return -EPROTO;
    }
    w->default_window = h->default_window;
    return 0;
}

/* ---- joining ---- */

int wdev_pick_port(struct wdev *w, uint32_t want_node, unsigned int *port_p, uint32_t *node_p)
{
    uint32_t used[8] = { 0 };
    unsigned int p, port = WD_PORTS;
    uint32_t node = want_node;

    for (p = 0; p < WD_PORTS; p++) {
        struct wd_port *P = wdev_port(w, p);
        uint32_t n = WD_LDR(&P->node_id);
        if (WD_LD(&P->state) == WD_FREE) {
            if (port == WD_PORTS)
                port = p;
            continue;
        }
        used[n / 32 % 8] |= 1u << (n % 32);
    }
    if (want_node && (used[want_node / 32] & (1u << (want_node % 32)))) {
        osci_log(OSCI_LOG_ERROR, MOD, "fabric %s: node id %u is taken by a live process", w->name, want_node);
        return -EADDRINUSE;
    }
    if (!want_node)
        for (node = 1; node < 256 && (used[node / 32] & (1u << (node % 32))); node++)
            ;
    if (port == WD_PORTS || node >= 256) {
        osci_log(OSCI_LOG_ERROR, MOD, "fabric %s: all %u ports are taken", w->name, WD_PORTS);
        return -ENOSPC;
    }
    *port_p = port;
    *node_p = node;
    return 0;
}

/* Writes our registers (all ours: nobody else writes them while we hold the port) and makes our
 * inbound directions empty; state JOINING until wdev_port_activate. */
void wdev_port_begin(struct wdev *w, unsigned int port, uint32_t node, uint64_t epoch)
{
    struct wd_port *P = wdev_port(w, port);

    w->me = port;
    w->epoch = epoch;
    P->node_id = node;
    P->window_size = w->win_size;
    P->flags = 0;
    P->event_mask = 0;
    P->info_len = 0;
    if (P->info_seq & 1)
        P->info_seq++;
    for (unsigned int p = 0; p < WD_PORTS; p++) {
        struct wd_ring *in = wdev_ring(w, port, p), *out = wdev_ring(w, p, port);
        WD_ST(&P->link_down[p], 0);
        /* Our inbound rings start empty, whatever their indices (we own their tails and doorbell
         * acknowledgements; our copy is the truth). An outbound ring keeps its head and doorbell
         * counters (a live receiver may still be dropping what our port's last incarnation sent)
         * unless it is inconsistent: then head := tail, and the receiver resyncs when it announces
         * us (the scan). */
        w->rx_tail[p] = WD_LD(&in->head);
        WD_ST(&in->tail, w->rx_tail[p]);
        for (unsigned int b = 0; b < WD_DBS; b++)
            WD_ST(&in->db_ack[b], WD_LD(&in->db_seq[b]));
        w->db_seen[p] = WD_LD(&in->db_count);
        uint32_t t = WD_LD(&out->tail);
        if (WD_LD(&out->head) - t > WD_SLOTS)
            WD_ST(&out->head, t);
    }
    WD_ST(&P->heartbeat_ms, osci_now_ms());
    WD_ST(&P->epoch, epoch);
    WD_ST(&P->state, WD_JOINING);
}

void wdev_port_activate(struct wdev *w)
{
    WD_ST(&wdev_port(w, w->me)->state, WD_ACTIVE);
    w->base.node_id = WD_LDR(&wdev_port(w, w->me)->node_id);
}

void wdev_port_clear(struct wdev *w, unsigned int p)
{
    struct wd_port *P = wdev_port(w, p);
    WD_ST(&P->state, WD_FREE);
    WD_ST(&P->epoch, 0);
    __atomic_store_n(&P->node_id, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&P->flags, 0, __ATOMIC_RELAXED);
}

void wdev_wake_all(struct wdev *w)
{
    for (unsigned int p = 0; p < WD_PORTS; p++)
        if (p != w->me && WD_LD(&wdev_port(w, p)->state) == WD_ACTIVE)
            w->prov->wake(w, p);
}

/* ---- instances ---- */

int wdev_parse_opts(const struct osci_adapter_conf *conf, uint64_t *window_p, uint64_t *hb_p)
{
    const char *v;

    *window_p = WD_DEFAULT_WINDOW;
    *hb_p = WD_HB_TIMEOUT_MS;
    if ((v = osci_conf_opt(conf, "window")) &&
        (osci_parse_size(v, 1ull << 40, window_p) < 0 || *window_p < WD_PAGE || *window_p % WD_PAGE)) {
        osci_log(OSCI_LOG_ERROR, MOD, "adapter %u: window=%s is not a multiple of 4K in 4K..1T",
                 conf->adapter_no, v);
        return -EINVAL;
    }
    if ((v = osci_conf_opt(conf, "hb_timeout")) &&
        (osci_parse_size(v, 1ull << 40, hb_p) < 0 || *hb_p < 20 || *hb_p > 600000)) {
        osci_log(OSCI_LOG_ERROR, MOD, "adapter %u: hb_timeout=%s is not in 20..600000 ms", conf->adapter_no, v);
        return -EINVAL;
    }
    return 0;
}

struct wdev *wdev_alloc(const struct osci_wdev_provider_ops *prov, size_t size)
{
    struct wdev *w;

    if (size < sizeof(*w))
        return NULL;
    w = calloc(1, size);
    if (!w)
        return NULL;
    w->prov = prov;
    osci_list_init(&w->pwins);
    w->win_fd = -1;
    w->me = WD_PORTS;
    w->pid = getpid();
    w->hb_timeout_ms = WD_HB_TIMEOUT_MS;
    pthread_mutex_init(&w->lock, NULL);
    pthread_mutex_init(&w->send_lock, NULL);
    pthread_mutex_init(&w->db_lock, NULL);
    for (unsigned int p = 0; p < WD_PORTS; p++)
        w->faulty_epoch[p] = ~0ull;
    return w;
}

void wdev_free(struct wdev *w)
{
    pthread_mutex_destroy(&w->lock);
    pthread_mutex_destroy(&w->send_lock);
    pthread_mutex_destroy(&w->db_lock);
    free(w->free_r);
    free(w);
}

/* Unmaps every peer window still mapped (their rmems are gone with the instance). */
void wdev_unmap_peers(struct wdev *w)
{
    struct wd_pwin *pw, *tmp;

    osci_list_for_each_safe(pw, tmp, &w->pwins, link) {
        osci_list_del(&pw->link);
        w->prov->window_unmap(w, pw->base, pw->size, pw->fd);
        free(pw);
    }
}

/* ---- observing ---- */

static struct wdev *obs_wd(struct osci_drv_observe *obs) { return (struct wdev *)obs; }

int wdev_observe_open(const struct osci_adapter_conf *conf, const struct osci_wdev_provider_ops *prov,
                      size_t size, struct osci_drv_observe **obs_p)
{
    struct wdev *w;
    int ret;

    if (!conf || !obs_p)
        return -EINVAL;
    w = wdev_alloc(prov, size);
    if (!w)
        return -ENOMEM;
    w->observer = 1;
    ret = prov->observe_attach(w, conf);
    if (ret < 0) {
        wdev_free(w);
        return ret;
    }
    w->base.node_id = 0;
    w->base.adapter_no = conf->adapter_no;
    *obs_p = (struct osci_drv_observe *)w;
    return 0;
}

int wdev_obs_query(struct osci_drv_observe *obs, struct osci_drv_info *info)
{
    return wdev_query(&obs_wd(obs)->base, info);
}

int wdev_obs_peers(struct osci_drv_observe *obs, struct osci_peer_info *out, unsigned int max, unsigned int *count_p)
{
    return wdev_peers(&obs_wd(obs)->base, out, max, count_p);
}

int wdev_obs_info_read(struct osci_drv_observe *obs, uint32_t node, void *buf, size_t len, size_t *len_p)
{
    return wdev_info_read(&obs_wd(obs)->base, node, buf, len, len_p);
}

void wdev_obs_close(struct osci_drv_observe *obs)
{
    struct wdev *w = obs_wd(obs);

    if (!w)
        return;
    w->prov->observe_detach(w);
    wdev_free(w);
}
