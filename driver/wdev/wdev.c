/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Window-device core, events side (docs/wdev.md): port scan and link events, message rings,
 * doorbells, progress/arm, peers. Data paths (messages, doorbells) take no lock shared with a peer
 * and make no syscall unless the receiver sleeps on its event fd; every word of the region written
 * here is one this port owns.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "osci_time.h"
#include "wdev.h"
#include "wdev_int.h"

/* ---- events ---- */

static void wd_push(struct wdev *d, enum osci_drv_event_type type, uint32_t node, uint64_t epoch)
{
    struct osci_drv_event *ev = &d->pend[(d->pend_head + d->pend_count) % WD_PEND];
    static const char *const names[] = { "?", "LINK_UP", "LINK_DOWN", "PEER_DEAD" };
    ev->type = type;
    ev->node = node;
    ev->epoch = epoch;
    ev->db_bits = 0;
    ev->len = 0;
    d->pend_count++;
    osci_log(OSCI_LOG_DEBUG, MOD, "fabric %s node %u: %s node %u epoch %" PRIx64, d->name, d->base.node_id,
             names[type <= 3 ? type : 0], node, epoch);
}

/* The link to port p is down when either end took it down for the other's current incarnation
 * (each end writes only its own link_down words). */
int wdev_link_disabled(struct wdev *d, unsigned int p)
{
    uint64_t ep = WD_LD(&wdev_port(d, p)->epoch);
    return (ep && WD_LD(&wdev_port(d, d->me)->link_down[p % WD_PORTS]) == ep) ||
           WD_LD(&wdev_port(d, p)->link_down[d->me % WD_PORTS]) == d->epoch;
}

/* The provider drains its event fd (wake-ups, timer, peer exits); lock held. */
static void wd_sweep(struct wdev *d)
{
    d->prov->sweep(d);
    d->last_sweep_ms = osci_now_ms();
}

/*
 * A port whose region is inconsistent is faulty: one line naming the port, the field and its value;
 * its incarnation `ep` is dead for this node from now on (sends, probes and imports refuse it, the next
 * scan reports PEER_DEAD as for a dead peer, nothing it wrote is followed), and our link to it is
 * marked down in our own registers, so it sees LINK_DOWN instead of writing into a void. Atomics only:
 * callable with or without the driver lock. A new incarnation of the port starts clean.
 */
void wdev_fault(struct wdev *d, unsigned int p, uint64_t ep, const char *field, uint64_t value)
{
    if (p >= WD_PORTS || __atomic_exchange_n(&d->faulty_epoch[p], ep, __ATOMIC_ACQ_REL) == ep)
        return;
    osci_log(OSCI_LOG_WARN, MOD, "fabric %s: port %u (epoch %" PRIx64 ") is faulty: %s = %" PRIu64 " (0x%" PRIx64
             "); no longer followed", d->name, p, ep, field, value, value);
    if (d->observer)
        return;
    __atomic_store_n(&d->dead_epoch[p], ep, __ATOMIC_RELEASE);
    __atomic_store_n(&wdev_port(d, d->me)->link_down[p], ep, __ATOMIC_SEQ_CST);
    d->prov->wake(d, p);
    d->prov->wake(d, d->me);
}

/* Port p's heartbeat is older than the timeout. On one host it is the owner's CLOCK_MONOTONIC, compared
 * with ours; across hosts (hb_remote) the clocks differ, so it is alive while its value changes, and
 * stale when it has not changed for the timeout by our clock (lock held). */
static int wd_hb_stale(struct wdev *d, unsigned int p, uint64_t now)
{
    uint64_t hb = WD_LD(&wdev_port(d, p)->heartbeat_ms);
    struct wd_known *k = &d->known[p];

    if (!d->hb_remote)
        return now > hb && now - hb > d->hb_timeout_ms;
    if (!k->hb_at || hb != k->hb_seen) {
        k->hb_seen = hb;
        k->hb_at = now;
        return 0;
    }
    return now - k->hb_at > d->hb_timeout_ms;
}

/* Why peer p (known incarnation) should be considered dead now; NULL if it is alive. */
static const char *wd_peer_gone(struct wdev *d, unsigned int p, uint64_t now)
{
    struct wd_port *P = wdev_port(d, p);
    struct wd_known *k = &d->known[p];
    uint32_t node;

    if (WD_LD(&P->state) != WD_ACTIVE)
        return "port freed";
    if (WD_LD(&P->epoch) != k->epoch)
        return "new incarnation";
    if ((node = WD_LDR(&P->node_id)) != k->node)
        wdev_fault(d, p, k->epoch, "node_id", node);   /* fixed for an incarnation */
    if (__atomic_load_n(&d->faulty_epoch[p], __ATOMIC_ACQUIRE) == k->epoch)
        return "faulty";
    if (WD_LD(&P->flags) & WD_F_LIVENESS_LOST)
        return wd_hb_stale(d, p, now) ? "heartbeat timeout" : NULL;
    switch (d->prov->peer_state(d, p)) {
    case -1:
        return "process exited";
    case 0:
        /* The provider does not watch it (simntb without pidfds, pcishm): the heartbeat decides. */
        if (wd_hb_stale(d, p, now))
            return "heartbeat timeout";
        break;
    default:
        break;
    }
    return NULL;
}

static void wd_rx_set(struct wdev *d, unsigned int s, uint32_t tail)
{
    d->rx_tail[s] = tail;
    WD_ST(&wdev_ring(d, d->me, s)->tail, tail);
}

/* Ring [me][s] has head - tail > WD_SLOTS while no incarnation of s is announced here (lock held):
 * what it holds came before that incarnation, except the last slots it already addressed to us
 * (epochs ep -> ours), which stay to be delivered once it is announced. At most WD_SLOTS reads. */
static void wd_ring_resync(struct wdev *d, unsigned int s, uint64_t ep)
{
    struct wd_ring *r = wdev_ring(d, d->me, s);
    uint32_t head = WD_LD(&r->head), n = 0;

    while (n < WD_SLOTS) {
        struct wd_slot *sl = &r->slot[(head - n - 1) % WD_SLOTS];
        if (WD_LDR(&sl->src_epoch) != ep || WD_LDR(&sl->dst_epoch) != d->epoch || WD_LDR(&sl->len) > OSCI_DRV_MSG_MAX)
            break;
        n++;
    }
    osci_log(OSCI_LOG_DEBUG, MOD, "fabric %s: ring from port %u resynced (head %" PRIu32 ", tail %" PRIu32
             ", %u kept)", d->name, s, head, d->rx_tail[s], n);
    wd_rx_set(d, s, head - n);
}

/* Ring [me][s] of a faulty sender: everything in it is dropped (lock held). */
static void wd_ring_drain(struct wdev *d, unsigned int s)
{
    wd_rx_set(d, s, WD_LD(&wdev_ring(d, d->me, s)->head));
}

static uint64_t wd_db_take(struct wdev *d, unsigned int s, uint64_t mask);

/* Compares the port registers with what this node knows; queues link events (lock held). Deaths
 * first, then new incarnations, so a node id freed and taken again in between is never seen twice. */
static int wd_take_msg(struct wdev *d, unsigned int s, struct osci_drv_event *ev);

static void wd_scan(struct wdev *d)
{
    uint64_t now = osci_now_ms();

    for (unsigned int p = 0; p < WD_PORTS; p++) {
        struct wd_known *k = &d->known[p];
        const char *why;

        if (p == d->me || d->pend_count + WD_SLOTS + 3 > WD_PEND)
            continue;
        if ((k->state == WD_K_UP || k->state == WD_K_DOWN) && (why = wd_peer_gone(d, p, now))) {
            osci_log(OSCI_LOG_INFO, MOD, "fabric %s: node %u (epoch %" PRIx64 ") dead: %s", d->name, k->node,
                     k->epoch, why);
            if (strcmp(why, "faulty") == 0) {
                wd_ring_drain(d, p);  /* nothing of a faulty port is delivered */
            } else {
                /* what the peer sent before it died comes first, as on a link that delivers in order */
                for (unsigned int i = 0; i < WD_SLOTS && wd_take_msg(d, p, &d->pend[(d->pend_head + d->pend_count) % WD_PEND]); i++)
                    d->pend_count++;
                uint64_t bits = wd_db_take(d, p, __atomic_load_n(&d->event_mask, __ATOMIC_RELAXED));
                if (bits) {           /* its last doorbells too (wd_push leaves room for this one) */
                    wd_push(d, OSCI_DRV_EV_DOORBELL, k->node, k->epoch);
                    d->pend[(d->pend_head + d->pend_count - 1) % WD_PEND].db_bits = bits;
                }
            }
            wd_push(d, OSCI_DRV_EV_PEER_DEAD, k->node, k->epoch);
            __atomic_store_n(&d->dead_epoch[p], k->epoch, __ATOMIC_RELEASE);
            d->prov->peer_unwatch(d, p);
            k->state = WD_K_DEAD;
            d->prov->reclaim(d, p, k->epoch);
        }
    }
    for (unsigned int p = 0; p < WD_PORTS; p++) {
        struct wd_port *P = wdev_port(d, p);
        struct wd_known *k = &d->known[p];

        if (p == d->me || d->pend_count > WD_PEND - 3)
            continue;
        uint32_t st = WD_LD(&P->state);
        uint64_t ep = WD_LD(&P->epoch);
        if (st != WD_ACTIVE)
            continue;
        if ((k->state == WD_K_NONE || k->state == WD_K_DEAD) && ep != k->epoch) {
            /* A new incarnation: check its registers, have the provider watch its owner. */
            uint32_t node = WD_LDR(&P->node_id);
            unsigned int q;
            if (node == 0 || node > 255) {
                wdev_fault(d, p, ep, "node_id", node);
                k->state = WD_K_DEAD;    /* never announced: nothing to report */
                k->epoch = ep;
                continue;
            }
            for (q = 0; q < WD_PORTS; q++)
                if (q != p && (d->known[q].state == WD_K_UP || d->known[q].state == WD_K_DOWN) && d->known[q].node == node)
                    break;
            if (q < WD_PORTS) {
                struct wd_port *Q = wdev_port(d, q);
                if (WD_LD(&Q->state) == WD_ACTIVE && WD_LD(&Q->epoch) == d->known[q].epoch) {
                    wdev_fault(d, p, ep, "node_id (held by another port)", node);
                    k->state = WD_K_DEAD;
                    k->epoch = ep;
                }
                continue;             /* else q's death is reported first, by the next scan */
            }
            int wr = d->prov->peer_watch(d, p, ep);
            if (wr == -ESRCH) {       /* its owner is gone already: never followed */
                d->prov->reclaim(d, p, ep);
                k->state = WD_K_DEAD;
                k->epoch = ep;
                continue;
            }
            if (wr < 0) {             /* cannot watch it now: the next scan tries again */
                d->prov->reclaim(d, p, ep);
                continue;
            }
            k->epoch = ep;
            k->node = node;
            k->hb_at = 0;
            if (WD_LD(&wdev_ring(d, d->me, p)->head) - d->rx_tail[p] > WD_SLOTS)
                wd_ring_resync(d, p, ep);
            if (wdev_link_disabled(d, p)) {
                k->state = WD_K_DOWN;
            } else {
                k->state = WD_K_UP;
                wd_push(d, OSCI_DRV_EV_LINK_UP, k->node, ep);
            }
        } else if (k->state == WD_K_UP && wdev_link_disabled(d, p)) {
            k->state = WD_K_DOWN;
            wd_push(d, OSCI_DRV_EV_LINK_DOWN, k->node, k->epoch);
        } else if (k->state == WD_K_DOWN && !wdev_link_disabled(d, p)) {
            k->state = WD_K_UP;
            wd_push(d, OSCI_DRV_EV_LINK_UP, k->node, k->epoch);
        }
    }
}

static void wd_heartbeat(struct wdev *d, uint64_t now)
{
    if (!d->liveness_lost)
        WD_ST(&wdev_port(d, d->me)->heartbeat_ms, now);
}

/* Takes one message from src's ring: 1 taken, 0 empty or held back (sender not yet known). Every
 * index, length and epoch is read once and bounded; at most WD_SLOTS + 1 slots are looked at. */
static int wd_take_msg(struct wdev *d, unsigned int s, struct osci_drv_event *ev)
{
    struct wd_ring *r = wdev_ring(d, d->me, s);
    struct wd_known *k = &d->known[s];
    int known = k->state == WD_K_UP || k->state == WD_K_DOWN;

    for (unsigned int i = 0; i <= WD_SLOTS; i++) {
        uint32_t tail = d->rx_tail[s], head = WD_LD(&r->head);
        struct wd_slot *sl = &r->slot[tail % WD_SLOTS];
        if (tail == head)
            return 0;
        if (head - tail > WD_SLOTS) {
            uint64_t pep = WD_LD(&wdev_port(d, s)->epoch);
            if (known && pep == k->epoch) {
                wdev_fault(d, s, k->epoch, "ring head - tail", head - tail);
                wd_ring_drain(d, s);
                return 0;
            }
            wd_ring_resync(d, s, pep);   /* left by an incarnation not followed (any more) */
            continue;
        }
        uint64_t se = WD_LDR(&sl->src_epoch), de = WD_LDR(&sl->dst_epoch);
        uint32_t len = WD_LDR(&sl->len);
        int mine = de == d->epoch;
        if (mine && known && se == k->epoch) {
            if (len > OSCI_DRV_MSG_MAX) {
                wdev_fault(d, s, k->epoch, "message length", len);
                wd_ring_drain(d, s);
                return 0;
            }
            ev->type = OSCI_DRV_EV_MSG;
            ev->node = k->node;
            ev->epoch = se;
            ev->db_bits = 0;
            ev->len = len;
            memcpy(ev->msg, sl->data, len);
            wd_rx_set(d, s, tail + 1);
            return 1;
        }
        if (mine && se == WD_LD(&wdev_port(d, s)->epoch) && WD_LD(&wdev_port(d, s)->state) == WD_ACTIVE && k->epoch != se)
            return 0;                 /* from an incarnation the next scan will announce */
        wd_rx_set(d, s, tail + 1);    /* stale: for an earlier incarnation of either end */
    }
    return 0;
}

/* Bits of mask pending from s (rung since we acknowledged them), without taking them. */
static uint64_t wd_db_peek(struct wdev *d, unsigned int s, uint64_t mask)
{
    struct wd_ring *r = wdev_ring(d, d->me, s);
    uint64_t bits = 0;

    if (WD_LD(&r->db_count) == __atomic_load_n(&d->db_seen[s], __ATOMIC_RELAXED))
        return 0;                     /* nothing rung since the last take left none pending */
    for (unsigned int b = 0; b < WD_DBS; b++)
        if ((mask >> b & 1) && WD_LD(&r->db_seq[b]) != WD_LDR(&r->db_ack[b]))
            bits |= 1ull << b;
    return bits;
}

/* Takes the bits of mask pending from s: we acknowledge each one (db_ack := db_seq, our words
 * only). One taker at a time in this process (db_lock), so a ring is reported once. */
static uint64_t wd_db_take(struct wdev *d, unsigned int s, uint64_t mask)
{
    struct wd_ring *r = wdev_ring(d, d->me, s);
    uint64_t bits = 0, left = 0;
    uint32_t count = WD_LD(&r->db_count);

    if (count == __atomic_load_n(&d->db_seen[s], __ATOMIC_RELAXED))
        return 0;
    pthread_mutex_lock(&d->db_lock);
    count = WD_LD(&r->db_count);         /* read before the counters: a later ring changes it again */
    for (unsigned int b = 0; b < WD_DBS; b++) {
        uint32_t seq = WD_LD(&r->db_seq[b]);
        if (seq == WD_LDR(&r->db_ack[b]))
            continue;
        if (mask >> b & 1) {
            bits |= 1ull << b;
            __atomic_store_n(&r->db_ack[b], seq, __ATOMIC_RELEASE);
        } else {
            left |= 1ull << b;
        }
    }
    if (!left)
        __atomic_store_n(&d->db_seen[s], count, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&d->db_lock);
    return bits;
}

int wdev_progress(struct osci_drv *drv, struct osci_drv_event *ev, unsigned int max)
{
    struct wdev *d = to_wd(drv);
    unsigned int out = 0;
    uint64_t now, mask;

    if (!ev && max)
        return -EINVAL;
    pthread_mutex_lock(&d->lock);
    now = osci_now_ms();
    wd_heartbeat(d, now);
    if (now - d->last_sweep_ms >= WD_SWEEP_MS)
        wd_sweep(d);
    wd_scan(d);
    while (out < max && d->pend_count) {
        ev[out++] = d->pend[d->pend_head];
        d->pend_head = (d->pend_head + 1) % WD_PEND;
        d->pend_count--;
    }
    if (!d->pend_count) {
        for (unsigned int s = 0; s < WD_PORTS && out < max; s++)
            while (s != d->me && out < max && wd_take_msg(d, s, &ev[out]))
                out++;
        mask = __atomic_load_n(&d->event_mask, __ATOMIC_RELAXED);
        for (unsigned int s = 0; s < WD_PORTS && out < max && mask; s++) {
            struct wd_known *k = &d->known[s];
            /* only from announced peers: a node id and epoch this node checked */
            uint64_t bits = s == d->me || (k->state != WD_K_UP && k->state != WD_K_DOWN) ? 0 : wd_db_take(d, s, mask);
            if (bits) {
                ev[out].type = OSCI_DRV_EV_DOORBELL;
                ev[out].node = k->node;
                ev[out].epoch = k->epoch;
                ev[out].db_bits = bits;
                ev[out].len = 0;
                out++;
            }
        }
    }
    pthread_mutex_unlock(&d->lock);
    return (int)out;
}

/* Anything progress() would report now? (lock held) */
static int wd_pending(struct wdev *d)
{
    uint64_t mask = __atomic_load_n(&d->event_mask, __ATOMIC_RELAXED);

    if (d->pend_count)
        return 1;
    for (unsigned int s = 0; s < WD_PORTS; s++) {
        struct wd_ring *r = wdev_ring(d, d->me, s);
        int known = d->known[s].state == WD_K_UP || d->known[s].state == WD_K_DOWN;
        if (s == d->me)
            continue;
        if (d->rx_tail[s] != WD_LD(&r->head) || (known && wd_db_peek(d, s, mask)))  /* seq_cst: after arming */
            return 1;
    }
    return 0;
}

int wdev_arm(struct osci_drv *drv)
{
    struct wdev *d = to_wd(drv);
    int ret = 0;

    pthread_mutex_lock(&d->lock);
    wd_heartbeat(d, osci_now_ms());
    wd_sweep(d);
    wd_scan(d);
    d->prov->arm(d, 1);
    wd_scan(d);                       /* re-check after arming: no lost wake-up */
    if (wd_pending(d)) {
        d->prov->arm(d, 0);
        ret = -EAGAIN;
    }
    pthread_mutex_unlock(&d->lock);
    return ret;
}

int wdev_event_fd(struct osci_drv *drv)
{
    struct wdev *d = to_wd(drv);
    return d->prov->event_fd(d);
}

/* ---- peers ---- */

/* Port of an active node other than this one, or -1. */
int wdev_port_of(struct wdev *d, uint32_t node)
{
    if (node == 0 || node > 255)
        return -1;
    for (unsigned int p = 0; p < WD_PORTS; p++) {
        struct wd_port *P = wdev_port(d, p);
        if (p != d->me && WD_LD(&P->state) == WD_ACTIVE && WD_LDR(&P->node_id) == node)
            return (int)p;
    }
    return -1;
}

int wdev_dead(struct wdev *d, unsigned int p)
{
    uint64_t ep = WD_LD(&wdev_port(d, p)->epoch);
    return __atomic_load_n(&d->dead_epoch[p], __ATOMIC_ACQUIRE) == ep;
}

/* The peers as a member (own view of the links) or as an observer (the links as the ports state them). */
static int wd_peers(struct wdev *d, struct osci_peer_info *out, unsigned int max, unsigned int *count_p)
{
    uint64_t now = osci_now_ms();
    unsigned int n = 0;

    if (!count_p || (!out && max))
        return -EINVAL;
    for (unsigned int p = 0; p < WD_PORTS && n < max; p++) {
        struct wd_port *P = wdev_port(d, p);
        uint32_t node = WD_LDR(&P->node_id);
        if (p == d->me || WD_LD(&P->state) != WD_ACTIVE || node == 0 || node > 255)
            continue;                 /* not a port anyone could talk to */
        uint64_t hb = WD_LD(&P->heartbeat_ms);
        out[n].node_id = node;
        out[n].epoch = WD_LD(&P->epoch);
        out[n].pid = (WD_LD(&P->flags) & WD_F_LIVENESS_LOST) ? -1 : d->prov->peer_pid(d, p);
        out[n].heartbeat_age_ms = now > hb ? now - hb : 0;
        if (d->hb_remote)             /* another host's clock: the age of the last change we saw */
            out[n].heartbeat_age_ms = d->known[p].hb_at && now > d->known[p].hb_at ? now - d->known[p].hb_at : 0;
        if (d->observer) {
            out[n].link_up = 1;       /* down if it took down its link to any current incarnation */
            for (unsigned int q = 0; q < WD_PORTS; q++) {
                uint64_t ld = WD_LD(&P->link_down[q]);
                if (ld && ld == WD_LD(&wdev_port(d, q)->epoch))
                    out[n].link_up = 0;
            }
        } else
            out[n].link_up = !wdev_link_disabled(d, p) && !wdev_dead(d, p);
        n++;
    }
    *count_p = n;
    return 0;
}

int wdev_peers(struct osci_drv *drv, struct osci_peer_info *out, unsigned int max, unsigned int *count_p)
{
    return wd_peers(to_wd(drv), out, max, count_p);
}

int wdev_probe(struct osci_drv *drv, uint32_t node)
{
    struct wdev *d = to_wd(drv);
    int p;

    if (node == 0 || node > 255)
        return -EADDRNOTAVAIL;          /* any id 1..255 may join */
    p = wdev_port_of(d, node);
    if (p < 0 || wdev_dead(d, (unsigned int)p))
        return -EHOSTUNREACH;
    return wdev_link_disabled(d, (unsigned int)p) ? -ENOLINK : 0;
}

static int wd_query(struct wdev *d, struct osci_drv_info *info)
{
    if (!info)
        return -EINVAL;
    memset(info, 0, sizeof(*info));
    snprintf(info->name, sizeof(info->name), "%s:%.*s", d->prov->name,
             (int)(sizeof(info->name) - 2 - strlen(d->prov->name)), d->name);
    info->node_id = d->base.node_id;
    info->max_nodes = 255;
    info->max_mem_size = d->observer ? d->default_window : d->win_size;
    info->mem_align = WD_PAGE;
    info->n_doorbells = OSCI_DRV_DB_COUNT;
    info->caps = OSCI_DRV_CAP_MAP_REMOTE | OSCI_DRV_CAP_PUT_GET | OSCI_DRV_CAP_MEM_ALLOC | OSCI_DRV_CAP_DB_WAIT |
                 OSCI_DRV_CAP_INFO | d->prov->caps;
    info->card_type = d->prov->card_type;
    return 0;
}

int wdev_query(struct osci_drv *drv, struct osci_drv_info *info)
{
    return wd_query(to_wd(drv), info);
}

/* A reachable peer's port for a send: >= 0, or -EHOSTUNREACH / -ENOTCONN. */
static int wd_target(struct wdev *d, uint32_t node)
{
    int p = wdev_port_of(d, node);
    if (p < 0 || wdev_dead(d, (unsigned int)p))
        return -EHOSTUNREACH;
    if (wdev_link_disabled(d, (unsigned int)p))
        return -ENOTCONN;
    return p;
}

/* ---- messages ---- */

int wdev_msg_send(struct osci_drv *drv, uint32_t node, const void *msg, size_t len)
{
    struct wdev *d = to_wd(drv);
    struct wd_ring *r;
    struct wd_slot *sl;
    uint32_t head, used;
    int p;

    if (len > OSCI_DRV_MSG_MAX)
        return -EMSGSIZE;
    if (!msg && len)
        return -EINVAL;
    p = wd_target(d, node);
    if (p < 0)
        return p;
    r = wdev_ring(d, (unsigned int)p, d->me);
    pthread_mutex_lock(&d->send_lock);
    head = WD_LDR(&r->head);             /* ours; adopted as found at join */
    used = head - WD_LD(&r->tail);
    if (used >= WD_SLOTS) {
        pthread_mutex_unlock(&d->send_lock);
        if (used == WD_SLOTS)
            return -EAGAIN;
        /* the receiver's tail is not within a ring of our head: its region is inconsistent */
        wdev_fault(d, (unsigned int)p, WD_LD(&wdev_port(d, (unsigned int)p)->epoch), "ring head - tail, seen by the sender", used);
        return -EHOSTUNREACH;
    }
    sl = &r->slot[head % WD_SLOTS];
    sl->len = (uint32_t)len;
    sl->src_epoch = d->epoch;
    sl->dst_epoch = WD_LD(&wdev_port(d, (unsigned int)p)->epoch);
    memcpy(sl->data, msg, len);
    __atomic_store_n(&r->head, head + 1, __ATOMIC_SEQ_CST);   /* before the provider's wake reads its arm */
    pthread_mutex_unlock(&d->send_lock);
    d->prov->wake(d, (unsigned int)p);
    return 0;
}

/* ---- doorbells ---- */

int wdev_db_ring(struct osci_drv *drv, uint32_t node, unsigned int bit)
{
    struct wdev *d = to_wd(drv);
    struct wd_port *P;
    struct wd_ring *r;
    int p;

    if (bit >= OSCI_DRV_DB_COUNT)
        return -EINVAL;
    p = node == drv->node_id ? (int)d->me : wd_target(d, node);   /* loopback rings our own port */
    if (p < 0)
        return p;
    P = wdev_port(d, (unsigned int)p);
    r = wdev_ring(d, (unsigned int)p, d->me);
    /* Our counters of this direction: we are their only writer (one thread at a time). */
    pthread_mutex_lock(&d->send_lock);
    __atomic_store_n(&r->db_seq[bit], WD_LDR(&r->db_seq[bit]) + 1, __ATOMIC_RELEASE);
    __atomic_store_n(&r->db_count, WD_LDR(&r->db_count) + 1, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&d->send_lock);
    d->prov->db_notify(d, (unsigned int)p);
    if (WD_LD(&P->event_mask) & (1ull << bit))
        d->prov->wake(d, (unsigned int)p);
    return 0;
}

static uint64_t wd_db_take_all(struct wdev *d, uint64_t mask)
{
    uint64_t bits = 0;
    for (unsigned int s = 0; s < WD_PORTS; s++)
        bits |= wd_db_take(d, s, mask);
    return bits;
}

int wdev_db_poll(struct osci_drv *drv, uint64_t mask, uint64_t *bits_p)
{
    struct wdev *d = to_wd(drv);
    uint64_t bits;

    if (!bits_p || !mask)
        return -EINVAL;
    bits = wd_db_take_all(d, mask);
    if (!bits)
        return -EAGAIN;
    *bits_p = bits;
    return 0;
}

int wdev_db_wait(struct osci_drv *drv, uint64_t mask, int timeout_ms, uint64_t *bits_p)
{
    struct wdev *d = to_wd(drv);
    uint64_t bits, deadline = 0, now;

    if (!bits_p || !mask)
        return -EINVAL;
    if (timeout_ms >= 0)
        deadline = osci_now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        if ((bits = wd_db_take_all(d, mask)))
            break;
        uint32_t ticket = d->prov->db_wait_begin(d);
        if ((bits = wd_db_take_all(d, mask))) {
            d->prov->db_wait_end(d);
            break;
        }
        struct timespec ts, *tsp = NULL;
        if (timeout_ms >= 0) {
            now = osci_now_ms();
            if (now >= deadline) {
                d->prov->db_wait_end(d);
                return -ETIMEDOUT;
            }
            ts.tv_sec = (time_t)((deadline - now) / 1000);
            ts.tv_nsec = (long)((deadline - now) % 1000) * 1000000L;
            tsp = &ts;
        }
        d->prov->db_sleep(d, ticket, tsp);
        d->prov->db_wait_end(d);
    }
    *bits_p = bits;
    return 0;
}

int wdev_db_set_event_mask(struct osci_drv *drv, uint64_t mask)
{
    struct wdev *d = to_wd(drv);
    __atomic_store_n(&d->event_mask, mask, __ATOMIC_RELAXED);
    __atomic_store_n(&wdev_port(d, d->me)->event_mask, mask, __ATOMIC_SEQ_CST);
    return 0;
}

