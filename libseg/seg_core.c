/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * libseg core: library state, SCIInitialize/SCITerminate/SCIOpen/SCIClose, the live-handle
 * registry, error mapping, deferred callbacks and the event thread that pulls every driver's
 * events and turns them into segment-protocol and liveness actions (docs/segment-protocol.md).
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "seg_bcast.h"
#include "seg_intr.h"
#include "seg_obj.h"

struct seg_lib seg = { .lock = PTHREAD_MUTEX_INITIALIZER, .wake_fd = -1 };
struct seg_objs segx = { .lsegs = OSCI_LIST_HEAD_INIT(segx.lsegs), .rsegs = OSCI_LIST_HEAD_INIT(segx.rsegs),
                         .quar = OSCI_LIST_HEAD_INIT(segx.quar), .maps = OSCI_LIST_HEAD_INIT(segx.maps),
                         .seqs = OSCI_LIST_HEAD_INIT(segx.seqs) };

static pthread_once_t cond_once = PTHREAD_ONCE_INIT;
static pthread_t ev_thread_id;
static _Atomic int ev_thread_running;

struct seg_deferred {
    struct osci_list_node link;       /* in defer_list */
    struct seg_obj *obj;              /* holds a reference */
    void *arg;
};
static struct osci_list_head defer_list = OSCI_LIST_HEAD_INIT(defer_list);   /* FIFO, seg.lock */

struct seg_loopmsg {
    struct osci_list_node link;       /* in loop_list */
    unsigned int adapter;
    uint32_t len;
    uint8_t buf[OSCI_DRV_MSG_MAX];
};
static struct osci_list_head loop_list = OSCI_LIST_HEAD_INIT(loop_list);     /* FIFO, seg.lock */

/* ---------------------------------------------------------------- errors */

sci_error_t seg__to_sci(int err)
{
    if (err >= 0)
        return SCI_ERR_OK;
    switch (err) {
#define X(code, sci, nv, text) case -(code): return sci;
    OSCI_ERRNO_LIST(X)
#undef X
    default: return SCI_ERR_SYSTEM;
    }
}

/* ---------------------------------------------------------------- handle registry */

#define REG_SIZE 16384u
#define REG_TOMB ((uintptr_t)1)
static _Atomic uintptr_t reg[REG_SIZE];

static size_t reg_slot(const void *p)
{
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 29;
    x *= 0x9E3779B97F4A7C15ull;
    return (size_t)(x >> 40) & (REG_SIZE - 1);
}

int seg__handle_add(void *h)
{
    size_t i = reg_slot(h);
    for (unsigned int n = 0; n < REG_SIZE; n++, i = (i + 1) & (REG_SIZE - 1)) {
        uintptr_t v = atomic_load_explicit(&reg[i], memory_order_relaxed);
        if (v == 0 || v == REG_TOMB) {
            atomic_store_explicit(&reg[i], (uintptr_t)h, memory_order_release);
            return 0;
        }
    }
    return -ENOSPC;
}

void seg__handle_del(void *h)
{
    size_t i = reg_slot(h);
    for (unsigned int n = 0; n < REG_SIZE; n++, i = (i + 1) & (REG_SIZE - 1)) {
        uintptr_t v = atomic_load_explicit(&reg[i], memory_order_relaxed);
        if (v == 0)
            return;
        if (v == (uintptr_t)h) {
            atomic_store_explicit(&reg[i], REG_TOMB, memory_order_release);
            return;
        }
    }
}

bool seg__handle_live(const void *h, uint32_t magic)
{
    size_t i;
    if (!h)
        return false;
    i = reg_slot(h);
    for (unsigned int n = 0; n < REG_SIZE; n++, i = (i + 1) & (REG_SIZE - 1)) {
        uintptr_t v = atomic_load_explicit(&reg[i], memory_order_acquire);
        if (v == 0)
            return false;
        if (v == (uintptr_t)h)
            return *(const uint32_t *)h == magic;
    }
    return false;
}

bool seg__desc_valid(sci_desc_t sd) { return seg__handle_live(sd, SEG_DESC_MAGIC); }

/* ---------------------------------------------------------------- time and waiting */

uint64_t seg__deadline(unsigned int timeout_ms)
{
    if (timeout_ms == SCI_INFINITE_TIMEOUT)
        return 0;
    return osci_now_ms() + timeout_ms;
}

static void cond_init(void)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&seg.cond, &ca);
    pthread_condattr_destroy(&ca);
}

int seg__cond_wait(uint64_t deadline_ms)
{
    struct timespec ts;
    if (deadline_ms == 0) {
        pthread_cond_wait(&seg.cond, &seg.lock);
        return 0;
    }
    if (osci_now_ms() >= deadline_ms)
        return -ETIMEDOUT;
    ts.tv_sec = (time_t)(deadline_ms / 1000u);
    ts.tv_nsec = (long)(deadline_ms % 1000u) * 1000000L;
    if (pthread_cond_timedwait(&seg.cond, &seg.lock, &ts) == ETIMEDOUT)
        return osci_now_ms() >= deadline_ms ? -ETIMEDOUT : 0;
    return 0;
}

bool seg__on_event_thread(void)
{
    return atomic_load(&ev_thread_running) && pthread_equal(pthread_self(), ev_thread_id);
}

void seg__wake_event_thread(void)
{
    uint64_t one = 1;
    if (seg.wake_fd >= 0 && write(seg.wake_fd, &one, sizeof(one)) < 0) {
        /* eventfd counter saturated: the thread is awake anyway */
    }
}

/* ---------------------------------------------------------------- events and callbacks */

void seg__evq_init(struct seg_evq *q, struct seg_sevent *buf, unsigned int cap, bool remote)
{
    *q = (struct seg_evq){ .ev = buf, .cap = cap, .remote = remote };
}

static struct seg_sevent *evq_at(struct seg_evq *q, unsigned int i)
{
    return &q->ev[(q->head + i) % q->cap];
}

/* Removes the i-th oldest event. */
static void evq_remove(struct seg_evq *q, unsigned int i)
{
    for (; i + 1 < q->count; i++)
        *evq_at(q, i) = *evq_at(q, i + 1);
    q->count--;
}

static bool evq_same_conn(const struct seg_sevent *a, const struct seg_sevent *b)
{
    return a->node == b->node && a->adapter == b->adapter;
}

/*
 * Whether b, the next event of a's node and adapter, undoes a. A link flap always does. On a local
 * segment, whose owner knows its connections only from events, so do a connection that came and
 * went (CONNECT, then DISCONNECT or LOST) and a disconnect followed by a connect: the count of
 * each node's connections stays right. A remote segment is connected from SCIConnectSegment on, so
 * its DISCONNECT and LOST always stay; LOST is never undone.
 */
static bool evq_undoes(const struct seg_evq *q, sci_segment_cb_reason_t a, sci_segment_cb_reason_t b)
{
    switch (a) {
    case SCI_CB_NOT_OPERATIONAL: return b == SCI_CB_OPERATIONAL;
    case SCI_CB_OPERATIONAL: return b == SCI_CB_NOT_OPERATIONAL;
    case SCI_CB_CONNECT: return !q->remote && (b == SCI_CB_DISCONNECT || b == SCI_CB_LOST);
    case SCI_CB_DISCONNECT: return !q->remote && b == SCI_CB_CONNECT;
    default: return false;
    }
}

/* A full queue makes room by removing a pair of events that undo each other. 1: the new event undid
 * the last queued one of its connection (nothing to add); 0: an older pair went; -1: no pair. */
static int evq_coalesce(struct seg_evq *q, const struct seg_sevent *ev)
{
    for (unsigned int i = q->count; i-- > 0;) {
        if (!evq_same_conn(evq_at(q, i), ev))
            continue;
        if (evq_undoes(q, evq_at(q, i)->reason, ev->reason)) {
            evq_remove(q, i);
            return 1;
        }
        break;
    }
    for (unsigned int i = 0; i < q->count; i++) {
        for (unsigned int j = i + 1; j < q->count; j++) {
            if (!evq_same_conn(evq_at(q, i), evq_at(q, j)))
                continue;
            if (evq_undoes(q, evq_at(q, i)->reason, evq_at(q, j)->reason)) {
                evq_remove(q, j);
                evq_remove(q, i);
                return 0;
            }
            break;
        }
    }
    return -1;
}

void seg__evq_push(struct seg_evq *q, sci_segment_cb_reason_t reason, uint32_t node, unsigned int adapter,
                   sci_error_t status)
{
    struct seg_sevent ev = { .reason = reason, .node = node, .adapter = adapter, .status = status };
    int rc = 0;

    if (q->count == q->cap) {
        rc = evq_coalesce(q, &ev);
        if (rc < 0) {                      /* the newest state matters most: the oldest event goes */
            q->head = (q->head + 1) % q->cap;
            q->count--;
        }
        if (!q->lost || (rc < 0 && !q->dropped))
            osci_log(OSCI_LOG_WARN, "seg", "event queue full (%u events, nobody takes them): %s; the next "
                     "wait reports SCI_ERR_OVERFLOW", q->cap, rc < 0 ? "oldest events dropped" :
                     "events that undo each other merged");
        q->lost = true;
        q->dropped |= rc < 0;
    }
    if (rc <= 0)
        *evq_at(q, q->count++) = ev;
    pthread_cond_broadcast(&seg.cond);
}

int seg__evq_take(struct seg_evq *q, struct seg_sevent *e)
{
    if (q->lost) {
        q->lost = q->dropped = false;
        return -EOVERFLOW;
    }
    if (q->count == 0)
        return -EAGAIN;
    *e = *evq_at(q, 0);
    q->head = (q->head + 1) % q->cap;
    q->count--;
    return 0;
}

bool seg__evq_take_cb(struct seg_evq *q, struct seg_sevent *e)
{
    int rc = seg__evq_take(q, e);

    if (rc == -EOVERFLOW) {
        if (seg__evq_take(q, e) < 0)
            return false;                  /* cannot be: a queue that lost events is not empty */
        e->status = SCI_ERR_OVERFLOW;      /* events were lost before this one */
        return true;
    }
    return rc == 0;
}

void seg__evq_clear(struct seg_evq *q)
{
    q->head = q->count = 0;
    q->lost = q->dropped = false;
}

int seg__evq_wait(struct seg_obj *o, struct seg_evq *q, unsigned int *waiters, unsigned int timeout,
                  struct seg_sevent *e)
{
    uint64_t deadline;
    int rc;

    if (o->cb_active)
        return -EPERM;
    deadline = seg__deadline(timeout);
    (*waiters)++;
    for (;;) {
        if (o->removed) {
            rc = -ECANCELED;
            break;
        }
        if ((rc = seg__evq_take(q, e)) != -EAGAIN)
            break;                         /* an event, or -EOVERFLOW once after lost ones */
        if (o->cb_active) {
            rc = -EPERM;
            break;
        }
        if ((rc = seg__cond_wait(deadline)) < 0)
            break;
    }
    (*waiters)--;
    if (o->removed)
        pthread_cond_broadcast(&seg.cond);
    return rc;
}

/* ---------------------------------------------------------------- objects and the callback runner */

void *seg__obj_new(size_t size, uint32_t magic, const struct seg_obj_ops *ops, unsigned int flags,
                   void (*cb)(void), void *cb_arg)
{
    struct seg_obj *o = calloc(1, size);

    if (!o)
        return NULL;
    if (!(flags & SCI_FLAG_USE_CALLBACK))
        cb = NULL;
    o->magic = magic;
    o->refs = 1;
    atomic_init(&o->removed, false);
    atomic_init(&o->cb_active, cb != NULL);
    o->in_cb = o->sched = false;
    o->cb = cb;
    o->cb_arg = cb_arg;
    o->ops = ops;
    return o;
}

void seg__obj_defer(struct seg_obj *o, void *arg)
{
    struct seg_deferred *d = calloc(1, sizeof(*d));
    if (!d) {
        osci_log(OSCI_LOG_ERROR, "seg", "%s: out of memory: callback dropped", o->ops->name);
        if (!o->ops->once)
            o->sched = false;              /* the next event tries again */
        if (o->ops->end)
            o->ops->end(o, arg, false);
        return;
    }
    o->refs++;
    d->obj = o;
    d->arg = arg;
    osci_list_add_tail(&defer_list, &d->link);
    if (!seg__on_event_thread())
        seg__wake_event_thread();
}

void seg__obj_kick(struct seg_obj *o)
{
    if (o->sched || o->removed || !o->cb_active)
        return;
    o->sched = true;
    seg__obj_defer(o, NULL);
}

void seg__obj_put(struct seg_obj *o)
{
    if (--o->refs == 0)
        o->ops->free(o);
}

void seg__obj_remove(struct seg_obj *o)
{
    o->removed = true;
    pthread_cond_broadcast(&seg.cond);
    /* on the event thread no other callback runs: either none of o's, or this is o's own */
    if (seg__on_event_thread())
        return;
    while (o->in_cb)
        seg__cond_wait(0);
}

/* One queued run of `o` (lock held; dropped around each user callback). */
static void obj_run(struct seg_obj *o, void *arg)
{
    const struct seg_obj_ops *ops = o->ops;
    struct seg_sevent ev;
    bool called = false;

    while (!o->removed && o->cb_active && ops->take(o, arg, &ev)) {
        sci_callback_action_t act;

        o->in_cb = true;
        pthread_mutex_unlock(&seg.lock);
        act = ops->call(o, arg, &ev);
        pthread_mutex_lock(&seg.lock);
        o->in_cb = false;
        called = true;
        pthread_cond_broadcast(&seg.cond);
        if (o->removed)
            break;                     /* removed from its callback (or meanwhile): call nothing more */
        if (ops->done)
            ops->done(o, act);
        else if (act == SCI_CALLBACK_CANCEL)
            o->cb_active = false;
        if (ops->once)
            break;
    }
    if (!ops->once)
        o->sched = false;
    if (ops->end)
        ops->end(o, arg, called);
    pthread_cond_broadcast(&seg.cond);
    seg__obj_put(o);
}

/* A run that will not happen (SCITerminate): its end, and its reference (lock held). */
static void obj_drop_run(struct seg_obj *o, void *arg)
{
    if (!o->ops->once)
        o->sched = false;
    if (o->ops->end)
        o->ops->end(o, arg, false);
    seg__obj_put(o);
}

/* Runs queued callback runs one at a time; returns with the lock held. */
static void run_deferred(void)
{
    struct seg_deferred *d;
    while ((d = osci_list_first(&defer_list, struct seg_deferred, link)) && !seg.stopping) {
        osci_list_del(&d->link);
        obj_run(d->obj, d->arg);
        free(d);
    }
}

/* ---------------------------------------------------------------- adapters, messages */

struct seg_adapter *seg__adapter(unsigned int no)
{
    if (no >= OSCI_MAX_ADAPTERS || !seg.adapter[no].drv)
        return NULL;
    return &seg.adapter[no];
}

int seg__check_init(void) { return atomic_load(&seg.initialized) > 0 ? 0 : -SEG_ENOTINIT; }

int seg__enter_locked(const void *h, uint32_t magic, unsigned int flags, unsigned int allowed, bool obj)
{
    int rc = seg__enter(h, magic, flags, allowed);

    if (rc < 0)
        return rc;
    pthread_mutex_lock(&seg.lock);
    if (!seg__handle_live(h, magic) || (obj && atomic_load(&((const struct seg_obj *)h)->removed))) {
        pthread_mutex_unlock(&seg.lock);
        return -EINVAL;
    }
    return 0;
}

int seg__adapter_check(unsigned int no, struct seg_adapter **a_p)
{
    if (no >= OSCI_MAX_ADAPTERS)
        return -SEG_EADAPTER;
    if (!seg.adapter[no].drv)
        return -ENODEV;
    *a_p = &seg.adapter[no];
    return 0;
}

int seg__api_adapter(unsigned int no, struct seg_adapter **a_p)
{
    int rc = seg__check_init();

    return rc < 0 ? rc : seg__adapter_check(no, a_p);
}

uint64_t seg__new_conn_id(struct seg_adapter *a)
{
    return ((uint64_t)a->drv->node_id << 48) ^ ((uint64_t)getpid() << 24) ^ ++segx.next_conn;
}

int seg__send(struct seg_adapter *a, uint32_t node, const struct seg_msg *m)
{
    uint8_t buf[OSCI_DRV_MSG_MAX];
    struct seg_msg mm = *m;
    int len, rc = 0;

    mm.src_node = a->drv->node_id;
    len = seg_proto_encode(&mm, buf, sizeof(buf));
    if (len < 0) {
        osci_log(OSCI_LOG_ERROR, "seg", "cannot encode %s: %d", seg_msg_type_str(m->type), len);
        return len;
    }
    if (node == a->drv->node_id) {
        struct seg_loopmsg *l = calloc(1, sizeof(*l));
        if (!l)
            return -ENOMEM;
        l->adapter = a->no;
        l->len = (uint32_t)len;
        memcpy(l->buf, buf, (size_t)len);
        osci_list_add_tail(&loop_list, &l->link);
        if (!seg__on_event_thread())
            seg__wake_event_thread();
        return 0;
    }
    for (int tries = 0; tries < 200; tries++) {
        rc = osci_drv_msg_send(a->drv, node, buf, (size_t)len);
        if (rc != -EAGAIN)
            break;
        pthread_mutex_unlock(&seg.lock);
        usleep(500);
        pthread_mutex_lock(&seg.lock);
    }
    if (rc < 0)
        osci_log(OSCI_LOG_INFO, "seg", "send %s to node %u: %d", seg_msg_type_str(m->type), node, rc);
    return rc;
}

static void send_hello(struct seg_adapter *a, uint32_t node, uint32_t flags)
{
    struct seg_msg m = { .type = SEG_MSG_HELLO };
    m.u.hello.node = a->drv->node_id;
    m.u.hello.flags = flags;
    m.u.hello.epoch = a->peer[a->drv->node_id % SEG_MAX_NODES].epoch;
    seg__send(a, node, &m);
}

/* ---------------------------------------------------------------- peer liveness */

static const char *peer_state_str(enum seg_peer_state st)
{
    static const char *const n[] = { "UNKNOWN", "UP", "DOWN", "SILENT", "LOST", "LOST_SILENT" };
    return (unsigned int)st < PEER_STATE_COUNT ? n[st] : "?";
}

static const char *peer_event_str(enum seg_peer_event ev)
{
    static const char *const n[] = { "link-up", "alive", "link-down", "silent", "grace", "dead" };
    return (unsigned int)ev < PEER_EV_COUNT ? n[ev] : "?";
}

/* The edges (docs/segment-protocol.md, "Peer liveness"); PEER_STATE_COUNT: no edge. */
#define NO_EDGE PEER_STATE_COUNT
static const enum seg_peer_state peer_next[PEER_STATE_COUNT][PEER_EV_COUNT] = {
    /*                  LINK_UP  ALIVE    LINK_DOWN     SILENT       GRACE             DEAD */
    [PEER_UNKNOWN]     = { PEER_UP, NO_EDGE, PEER_UNKNOWN, NO_EDGE,     NO_EDGE,          NO_EDGE },
    [PEER_UP]          = { PEER_UP, NO_EDGE, PEER_DOWN,    PEER_SILENT, NO_EDGE,          PEER_LOST },
    [PEER_DOWN]        = { PEER_UP, NO_EDGE, PEER_DOWN,    NO_EDGE,     PEER_LOST,        PEER_LOST },
    [PEER_SILENT]      = { PEER_UP, PEER_UP, PEER_DOWN,    NO_EDGE,     PEER_LOST_SILENT, PEER_LOST_SILENT },
    [PEER_LOST]        = { PEER_UP, NO_EDGE, PEER_LOST,    NO_EDGE,     NO_EDGE,          NO_EDGE },
    [PEER_LOST_SILENT] = { PEER_UP, PEER_UP, PEER_LOST,    NO_EDGE,     NO_EDGE,          NO_EDGE },
};

/*
 * The only writer of a peer's state (lock held): 0 after the edge (a self-loop changes nothing and
 * is not logged), -EPROTO when `ev` has no edge from the current state. UP restarts the silence
 * clock; leaving UP for DOWN or SILENT starts the grace period.
 */
static int peer_transition(struct seg_adapter *a, uint32_t node, enum seg_peer_event ev)
{
    struct seg_peer *p = &a->peer[node];
    enum seg_peer_state old = p->state, new;

    if ((unsigned int)old >= PEER_STATE_COUNT || (unsigned int)ev >= PEER_EV_COUNT)
        return -EPROTO;
    new = peer_next[old][ev];
    if (new == NO_EDGE) {
        osci_log(OSCI_LOG_DEBUG, "seg", "adapter %u: node %u: %s --%s--> refused", a->no, node,
                 peer_state_str(old), peer_event_str(ev));
        return -EPROTO;
    }
    if (new == old)
        return 0;
    osci_log(OSCI_LOG_DEBUG, "seg", "adapter %u: node %u: %s --%s--> %s", a->no, node, peer_state_str(old),
             peer_event_str(ev), peer_state_str(new));
    p->state = new;
    switch (new) {
    case PEER_UP:
        p->down_since_ms = 0;
        p->last_rx_ms = osci_now_ms();
        break;
    case PEER_DOWN:
    case PEER_SILENT:
        if (old == PEER_UP) {
            p->down_since_ms = osci_now_ms();
            if (!p->down_since_ms)
                p->down_since_ms = 1;
        }
        break;
    default:
        p->down_since_ms = 0;
        break;
    }
    return 0;
}

void seg__peer_lost(struct seg_adapter *a, uint32_t node, enum seg_peer_event ev)
{
    struct seg_peer *p = &a->peer[node];
    if (seg__peer_lost_state(p) || peer_transition(a, node, ev) < 0)
        return;
    osci_log(OSCI_LOG_INFO, "seg", "adapter %u: node %u (epoch %llu) lost", a->no, node,
             (unsigned long long)p->epoch);
    seg__rseg_peer_lost(a, node, false);
    seg__lseg_peer_lost(a, node);
    seg__intr_on_peer_lost(a, node);
    seg__bcast_peer_lost(a, node);
    seg__info_publish();
    pthread_cond_broadcast(&seg.cond);
}

/* LINK_UP from the driver, or (ev ALIVE) a peer down for its silence heard again. */
static void on_link_up(struct seg_adapter *a, uint32_t node, uint64_t epoch, enum seg_peer_event ev)
{
    struct seg_peer *p = &a->peer[node];
    bool recovered, forgot;

    if (seg__peer_known(p) && p->epoch != epoch && !seg__peer_lost_state(p))
        seg__peer_lost(a, node, PEER_EV_DEAD);   /* the old incarnation is gone */
    recovered = seg__peer_in_grace(p) && p->epoch == epoch;
    forgot = seg__peer_lost_state(p) && p->epoch == epoch;   /* it may still hold what we dropped */
    if (seg__peer_up(p) && p->epoch == epoch)
        return;
    if (peer_transition(a, node, ev) < 0)
        return;
    p->epoch = epoch;
    osci_log(OSCI_LOG_DEBUG, "seg", "adapter %u: node %u up (epoch %llu)", a->no, node, (unsigned long long)epoch);
    send_hello(a, node, forgot ? SEG_HELLO_RESET : 0);
    seg__bcast_peer_up(a, node);
    if (recovered) {
        seg__rseg_link(a, node, SCI_CB_OPERATIONAL);
        seg__lseg_link(a, node, SCI_CB_OPERATIONAL);
        seg__info_publish();
    }
    pthread_cond_broadcast(&seg.cond);
}

/* The link to an UP peer is down: from the driver (LINK_DOWN), or because it stopped heartbeating (SILENT). */
static void link_down(struct seg_adapter *a, uint32_t node, enum seg_peer_event ev)
{
    struct seg_peer *p = &a->peer[node];
    if (peer_transition(a, node, ev) < 0)
        return;
    if (ev == PEER_EV_SILENT)
        osci_log(OSCI_LOG_INFO, "seg", "adapter %u: node %u silent for %llu ms: link down", a->no, node,
                 (unsigned long long)(p->down_since_ms - p->last_rx_ms));
    else
        osci_log(OSCI_LOG_INFO, "seg", "adapter %u: node %u link down", a->no, node);
    seg__rseg_link(a, node, SCI_CB_NOT_OPERATIONAL);
    seg__lseg_link(a, node, SCI_CB_NOT_OPERATIONAL);
    seg__info_publish();
    pthread_cond_broadcast(&seg.cond);
}

static void on_link_down(struct seg_adapter *a, uint32_t node, uint64_t epoch)
{
    struct seg_peer *p = &a->peer[node];
    if (epoch && p->epoch != epoch)
        return;
    if (!seg__peer_up(p)) {
        /* the driver knows now: only its LINK_UP brings it back (SILENT -> DOWN, LOST_SILENT -> LOST) */
        (void)peer_transition(a, node, PEER_EV_LINK_DOWN);
        return;
    }
    link_down(a, node, PEER_EV_LINK_DOWN);
}

/* A HEARTBEAT or HELLO from a peer we took down for its silence: back if the incarnation is the same. */
static void on_alive(struct seg_adapter *a, uint32_t node, uint64_t epoch)
{
    struct seg_peer *p = &a->peer[node];
    if (!seg__peer_silent(p) || (epoch && epoch != p->epoch))
        return;
    osci_log(OSCI_LOG_INFO, "seg", "adapter %u: node %u heard again", a->no, node);
    on_link_up(a, node, p->epoch, PEER_EV_ALIVE);
}

/*
 * The peer declared us lost and dropped what it had with us (its HELLO with RESET, sent when the link
 * came back, before anything else). Messages from one sender arrive in order, so every connection of
 * its to our segments, and every connect of ours it has already answered, predates that: drop them.
 * Our connects still waiting for an answer reach it after its reset and stand.
 */
static void on_reset(struct seg_adapter *a, uint32_t node, uint64_t epoch)
{
    struct seg_peer *p = &a->peer[node];
    if (!seg__peer_known(p) || seg__peer_lost_state(p) || (epoch && epoch != p->epoch))
        return;
    osci_log(OSCI_LOG_INFO, "seg", "adapter %u: node %u dropped our connections: dropping its", a->no, node);
    seg__rseg_peer_lost(a, node, true);
    seg__lseg_peer_lost(a, node);
    seg__bcast_peer_lost(a, node);
    seg__info_publish();
    pthread_cond_broadcast(&seg.cond);
}

static void on_peer_dead(struct seg_adapter *a, uint32_t node, uint64_t epoch)
{
    struct seg_peer *p = &a->peer[node];
    if (!seg__peer_known(p) || seg__peer_lost_state(p))
        return;
    if (epoch && p->epoch != epoch)
        return;                            /* an older incarnation, already replaced */
    seg__peer_lost(a, node, PEER_EV_DEAD);
}

static void on_msg(struct seg_adapter *a, uint32_t node, const void *buf, size_t len)
{
    struct seg_msg m;
    int rc = seg_proto_decode(buf, len, &m);
    if (rc < 0) {
        osci_log(OSCI_LOG_WARN, "seg", "adapter %u: dropped a %s message from node %u (%u bytes)", a->no,
                 rc == -EPROTO ? "unknown-version/type" : "malformed", node, (unsigned int)len);
        return;
    }
    if (m.src_node != node) {
        osci_log(OSCI_LOG_WARN, "seg", "adapter %u: dropped %s claiming node %u from node %u", a->no,
                 seg_msg_type_str(m.type), m.src_node, node);
        return;
    }
    if (node != a->drv->node_id)
        a->peer[node].last_rx_ms = osci_now_ms();
    if (m.type != SEG_MSG_HEARTBEAT)
        osci_log(OSCI_LOG_DEBUG, "seg", "adapter %u: %s from node %u", a->no, seg_msg_type_str(m.type), node);
    switch (m.type) {
    case SEG_MSG_HELLO:
        on_alive(a, node, m.u.hello.epoch);
        if (m.u.hello.flags & SEG_HELLO_RESET)
            on_reset(a, node, m.u.hello.epoch);
        break;
    case SEG_MSG_HEARTBEAT:
        on_alive(a, node, m.u.heartbeat.epoch);
        break;
    case SEG_MSG_CONNECT:
    case SEG_MSG_DISCONNECT:
        seg__lseg_on_msg(a, &m);
        break;
    case SEG_MSG_CONNECT_OK:
    case SEG_MSG_CONNECT_REFUSED:
    case SEG_MSG_UNAVAILABLE:
        seg__rseg_on_msg(a, &m);
        break;
    case SEG_MSG_BCAST:
        seg__bcast_on_msg(a, &m);
        break;
    default:
        seg__intr_on_msg(a, &m);
        break;
    }
}

static void dispatch(struct seg_adapter *a, const struct osci_drv_event *ev)
{
    if (ev->type != OSCI_DRV_EV_DOORBELL && (ev->node == 0 || ev->node >= SEG_MAX_NODES)) {
        osci_log(OSCI_LOG_WARN, "seg", "adapter %u: event %d for out-of-range node %u", a->no, (int)ev->type,
                 ev->node);
        return;
    }
    switch (ev->type) {
    case OSCI_DRV_EV_LINK_UP: on_link_up(a, ev->node, ev->epoch, PEER_EV_LINK_UP); break;
    case OSCI_DRV_EV_LINK_DOWN: on_link_down(a, ev->node, ev->epoch); break;
    case OSCI_DRV_EV_PEER_DEAD: on_peer_dead(a, ev->node, ev->epoch); break;
    case OSCI_DRV_EV_MSG:
        on_msg(a, ev->node, ev->msg, ev->len <= OSCI_DRV_MSG_MAX ? ev->len : OSCI_DRV_MSG_MAX + 1);
        break;
    case OSCI_DRV_EV_DOORBELL: seg__intr_on_doorbell(a, ev->db_bits); break;
    default:
        osci_log(OSCI_LOG_WARN, "seg", "adapter %u: unknown driver event %d", a->no, (int)ev->type);
    }
}

/* One HEARTBEAT {epoch, clock} to `node`: a single try, never a wait (a full queue is skipped). */
static void send_heartbeat(struct seg_adapter *a, uint32_t node, uint64_t now)
{
    struct seg_msg m = { .type = SEG_MSG_HEARTBEAT, .src_node = a->drv->node_id };
    uint8_t buf[OSCI_DRV_MSG_MAX];
    int len, rc;

    m.u.heartbeat.epoch = a->peer[a->drv->node_id].epoch;
    m.u.heartbeat.clock_ms = now;
    len = seg_proto_encode(&m, buf, sizeof(buf));
    if (len < 0)
        return;
    rc = osci_drv_msg_send(a->drv, node, buf, (size_t)len);
    if (rc < 0 && rc != -EAGAIN)
        osci_log(OSCI_LOG_DEBUG, "seg", "adapter %u: HEARTBEAT to node %u: %d", a->no, node, rc);
}

/*
 * On heartbeat adapters: every seg.hb_ms a HEARTBEAT to each up peer (and each peer taken down for
 * its silence, lost or not, while the driver lets us send), and an up peer silent for
 * seg.hb_timeout_ms (no message of any kind since then, or since its link came up) goes down; the
 * grace period runs from there. If this thread itself did not run for half that long, silence is
 * not counted. Every node must run heartbeats on that adapter (auto decides by driver). Lock held.
 */
static void heartbeat_tick(uint64_t now)
{
    bool stalled = seg.hb_last_tick_ms && now - seg.hb_last_tick_ms >= seg.hb_timeout_ms / 2;

    if (stalled)
        osci_log(OSCI_LOG_INFO, "seg", "event thread did not run for %llu ms: peer silence not counted",
                 (unsigned long long)(now - seg.hb_last_tick_ms));
    seg.hb_last_tick_ms = now;
    for (unsigned int i = 0; i < OSCI_MAX_ADAPTERS; i++) {
        struct seg_adapter *a = &seg.adapter[i];
        bool send;

        if (!a->drv || !a->heartbeat)
            continue;
        send = now >= a->hb_next_ms;
        if (send)
            a->hb_next_ms = now + seg.hb_ms;
        for (unsigned int n = 1; n < SEG_MAX_NODES; n++) {
            struct seg_peer *p = &a->peer[n];
            if (n == a->drv->node_id)
                continue;
            /* a peer down for its silence still gets them: each side must hear the other to come back */
            if (seg__peer_silent(p) && send)
                send_heartbeat(a, n, now);
            if (!seg__peer_up(p))
                continue;
            if (stalled || now < p->last_rx_ms)
                p->last_rx_ms = now;
            if (now - p->last_rx_ms >= seg.hb_timeout_ms) {
                link_down(a, n, PEER_EV_SILENT);
                continue;
            }
            if (send)
                send_heartbeat(a, n, now);
        }
    }
}

/* Drains every driver and the loopback queue; true if more may be pending. Lock held. */
static bool pump(void)
{
    static struct osci_drv_event evs[16];
    bool more = false;

    for (unsigned int i = 0; i < OSCI_MAX_ADAPTERS; i++) {
        struct seg_adapter *a = &seg.adapter[i];
        int n = 0;
        if (!a->drv)
            continue;
        for (int round = 0; round < 64; round++) {
            n = osci_drv_progress(a->drv, evs, 16);
            if (n <= 0)
                break;
            for (int k = 0; k < n; k++)
                dispatch(a, &evs[k]);
        }
        if (n == 16)
            more = true;
    }
    struct seg_loopmsg *l;
    while ((l = osci_list_first(&loop_list, struct seg_loopmsg, link))) {
        osci_list_del(&l->link);
        if (seg.adapter[l->adapter].drv)
            on_msg(&seg.adapter[l->adapter], seg.adapter[l->adapter].drv->node_id, l->buf, l->len);
        free(l);
    }
    /* heartbeats, then the grace period */
    uint64_t now = osci_now_ms();
    heartbeat_tick(now);
    for (unsigned int i = 0; i < OSCI_MAX_ADAPTERS; i++) {
        struct seg_adapter *a = &seg.adapter[i];
        if (!a->drv)
            continue;
        for (unsigned int n = 1; n < SEG_MAX_NODES; n++) {
            struct seg_peer *p = &a->peer[n];
            /* down_since may be a tick later than `now` (stamped after it was read): no underflow */
            if (seg__peer_in_grace(p) && now >= p->down_since_ms && now - p->down_since_ms >= seg.grace_ms)
                seg__peer_lost(a, n, PEER_EV_GRACE);
        }
    }
    return more;
}

static void *event_thread(void *arg)
{
    struct pollfd pfd[OSCI_MAX_ADAPTERS + 1];
    (void)arg;
    pthread_mutex_lock(&seg.lock);
    while (!seg.stopping) {
        bool more = pump();
        unsigned int n = 0;
        bool pending = more;

        run_deferred();
        if (seg.stopping)
            break;
        if (pending || !osci_list_empty(&defer_list) || !osci_list_empty(&loop_list))
            continue;
        for (unsigned int i = 0; i < OSCI_MAX_ADAPTERS; i++) {
            struct seg_adapter *a = &seg.adapter[i];
            if (!a->drv)
                continue;
            if (osci_drv_arm(a->drv) == -EAGAIN)
                pending = true;
            if (seg.ev_fd[i] >= 0)
                pfd[n++] = (struct pollfd){ .fd = seg.ev_fd[i], .events = POLLIN };
        }
        if (pending)
            continue;
        pfd[n++] = (struct pollfd){ .fd = seg.wake_fd, .events = POLLIN };
        pthread_mutex_unlock(&seg.lock);
        if (poll(pfd, n, 10) > 0 && (pfd[n - 1].revents & POLLIN)) {
            uint64_t v;
            if (read(seg.wake_fd, &v, sizeof(v)) < 0) {
                /* already drained */
            }
        }
        pthread_mutex_lock(&seg.lock);
    }
    pthread_mutex_unlock(&seg.lock);
    return NULL;
}

/* ---------------------------------------------------------------- init / terminate */

static void close_adapters(void)
{
    for (unsigned int i = 0; i < OSCI_MAX_ADAPTERS; i++) {
        struct seg_adapter *a = &seg.adapter[i];
        if (a->drv)
            osci_drv_close(a->drv);
        memset(a, 0, sizeof(*a));
        seg.ev_fd[i] = -1;
    }
    seg.n_adapters = 0;
}

/*
 * Heartbeats (OSCI_HEARTBEAT=auto|on|off, default auto): auto runs them on every adapter whose
 * driver does not detect peer death itself (OSCI_DRV_CAP_OWN_LIVENESS: simntb, a pidfd per peer
 * process); the network drivers (rdma) do not: a cut link or a hung peer is only seen as silence.
 */
static bool heartbeat_wanted(const struct osci_drv_info *info)
{
    const char *v = getenv("OSCI_HEARTBEAT");

    if (seg.hb_ms == 0 || (v && !strcmp(v, "off")))
        return false;
    if (v && !strcmp(v, "on"))
        return true;
    if (v && *v && strcmp(v, "auto"))
        osci_log(OSCI_LOG_WARN, "seg", "OSCI_HEARTBEAT=%s is not one of auto|on|off; using auto", v);
    return !(info->caps & OSCI_DRV_CAP_OWN_LIVENESS);
}

/* A millisecond count from the environment: `def` when unset, `def` and a warning when invalid. */
static uint64_t env_ms(const char *name, uint64_t def, uint64_t max)
{
    const char *v = getenv(name);
    char *end;
    unsigned long long x;

    if (!v || !*v)
        return def;
    errno = 0;
    x = strtoull(v, &end, 10);
    if (errno || *end || *v == '-' || x > max) {
        osci_log(OSCI_LOG_WARN, "seg", "%s=%s is not a number of ms in 0..%llu; using %llu", name, v,
                 (unsigned long long)max, (unsigned long long)def);
        return def;
    }
    return x;
}

static int open_adapters(void)
{
    struct osci_adapter_conf conf[OSCI_MAX_ADAPTERS];
    unsigned int n = 0;
    int rc = osci_conf_load(conf, OSCI_MAX_ADAPTERS, &n);

    if (rc < 0) {
        osci_log(OSCI_LOG_ERROR, "seg", "configuration: %s", osci_strerror(rc));
        return rc;
    }
    if (n == 0) {
        osci_log(OSCI_LOG_ERROR, "seg", "no adapter configured");
        return -ENODEV;
    }
    for (unsigned int i = 0; i < n; i++) {
        struct seg_adapter *a;
        struct osci_peer_info *peers;
        unsigned int np = 0;

        if (conf[i].adapter_no >= OSCI_MAX_ADAPTERS || seg.adapter[conf[i].adapter_no].drv) {
            rc = -EINVAL;
            goto err_close;
        }
        a = &seg.adapter[conf[i].adapter_no];
        conf[i].observe = 0;
        rc = osci_drv_open(&conf[i], &a->drv);
        if (rc < 0) {
            osci_log(OSCI_LOG_ERROR, "seg", "adapter %u (%s): open: %s", conf[i].adapter_no, conf[i].driver,
                     osci_strerror(rc));
            a->drv = NULL;
            goto err_close;
        }
        a->no = conf[i].adapter_no;
        rc = osci_drv_query(a->drv, &a->info);
        if (rc < 0)
            goto err_close;
        seg.ev_fd[a->no] = osci_drv_event_fd(a->drv);
        a->heartbeat = heartbeat_wanted(&a->info);
        seg.n_adapters++;
        peers = calloc(SEG_MAX_NODES, sizeof(*peers));
        if (peers && osci_drv_peers(a->drv, peers, SEG_MAX_NODES, &np) == 0) {
            for (unsigned int k = 0; k < np && k < SEG_MAX_NODES; k++) {
                uint32_t nd = peers[k].node_id;
                if (nd == 0 || nd >= SEG_MAX_NODES)
                    continue;
                a->peer[nd].epoch = peers[k].epoch;
                if (nd == a->drv->node_id)
                    continue;
                if (peers[k].link_up)
                    (void)peer_transition(a, nd, PEER_EV_LINK_UP);
            }
        }
        free(peers);
    }
    return 0;

err_close:
    close_adapters();
    return rc;
}

/*
 * What SCIInitialize (and the look-ups reading hosts.conf) report for the cause they logged
 * (docs/sisci-compat.md, SCIInitialize): not seg__to_sci, whose segment and interrupt meanings
 * (-ENOENT NO_SUCH_SEGMENT, -EADDRINUSE INTNO_USED) would misname a configuration or node id problem.
 */
sci_error_t seg__conf_to_sci(int rc)
{
    switch (-rc) {
    case EINVAL: case E2BIG: case EFBIG: case EISDIR: case ENAMETOOLONG:
        return SCI_ERR_ILLEGAL_PARAMETER;    /* malformed opensci.conf / hosts.conf, bad OSCI_* value, a config
                                              * path that is no regular file or over the size cap */
    case EACCES: case EPERM: case ELOOP:
        return SCI_ERR_ACCESS;               /* a configuration file or fabric this user may not open, or a
                                              * symbolic link in the way (the driver logs the path) */
    case EADDRINUSE:
        return SCI_ERR_BUSY;                 /* the node id is held by a live process */
    case ENOMEM: case ENOSPC:
        return SCI_ERR_NOSPC;                /* out of memory, or every port of the fabric taken */
    case ENODEV:
        return SCI_ERR_NO_SUCH_ADAPTERNO;    /* no adapter configured, no such driver or device */
    case EPROTO: case EPROTONOSUPPORT:
        return SCI_ERR_INCONSISTENT_VERSIONS; /* a fabric of another layout version (or not a fabric) */
    default:
        return SCI_ERR_SYSTEM;               /* a missing configuration file (-ENOENT), window/wake names
                                              * taken for every random draw (-EEXIST), among others */
    }
}

SISCI_API_EXPORT void SCIInitialize(unsigned int flags, sci_error_t *error)
{
    int rc;

    pthread_once(&cond_once, cond_init);
    if (flags) {
        seg__set_error(error, -SEG_EFLAG);
        return;
    }
    pthread_mutex_lock(&seg.lock);
    if (seg.initialized > 0) {
        seg.initialized++;
        pthread_mutex_unlock(&seg.lock);
        seg__set_error(error, 0);
        return;
    }
    osci_log_init();
    for (unsigned int i = 0; i < OSCI_MAX_ADAPTERS; i++)
        seg.ev_fd[i] = -1;
    seg.grace_ms = env_ms("OSCI_GRACE_MS", 1000, 86400000);
    seg.hb_ms = env_ms("OSCI_HEARTBEAT_MS", 200, 60000);
    seg.hb_timeout_ms = env_ms("OSCI_HEARTBEAT_TIMEOUT_MS", 1500, 600000);
    if (seg.hb_ms && seg.hb_timeout_ms < 2 * seg.hb_ms) {
        osci_log(OSCI_LOG_WARN, "seg", "OSCI_HEARTBEAT_TIMEOUT_MS=%llu is under two periods; using %llu",
                 (unsigned long long)seg.hb_timeout_ms, (unsigned long long)(2 * seg.hb_ms));
        seg.hb_timeout_ms = 2 * seg.hb_ms;
    }
    seg.hb_last_tick_ms = 0;
    rc = open_adapters();
    if (rc < 0)
        goto err_unlock;
    seg.wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (seg.wake_fd < 0) {
        rc = -errno;
        goto err_adapters;
    }
    segx.next_auto_id = 0x40000000u;
    seg.stopping = false;
    rc = -pthread_create(&seg.ev_thread, NULL, event_thread, NULL);
    if (rc < 0)
        goto err_wake;
    ev_thread_id = seg.ev_thread;
    atomic_store(&ev_thread_running, 1);
    seg.initialized = 1;
    for (unsigned int i = 0; i < OSCI_MAX_ADAPTERS; i++) {
        struct seg_adapter *a = &seg.adapter[i];
        if (!a->drv)
            continue;
        for (unsigned int n = 1; n < SEG_MAX_NODES; n++)
            if (seg__peer_up(&a->peer[n]))
                send_hello(a, n, 0);
    }
    seg__info_publish();
    pthread_mutex_unlock(&seg.lock);
    seg__set_error(error, 0);
    return;

err_wake:
    close(seg.wake_fd);
    seg.wake_fd = -1;
err_adapters:
    close_adapters();
err_unlock:
    pthread_mutex_unlock(&seg.lock);
    seg__set_conf_error(error, rc);      /* this context's own mapping (above) */
}

SISCI_API_EXPORT void SCITerminate(void)
{
    pthread_mutex_lock(&seg.lock);
    if (seg.initialized == 0 || seg__on_event_thread()) {
        if (seg.initialized)
            osci_log(OSCI_LOG_ERROR, "seg", "SCITerminate from a callback is refused");
        pthread_mutex_unlock(&seg.lock);
        return;
    }
    if (seg.initialized == 1) {
        /* the last one: posted puts land before anything is released. Without the lock, while the
         * event thread still runs the drivers' progress (which is what fails a dead connection's flush) */
        pthread_mutex_unlock(&seg.lock);
        for (unsigned int i = 0; i < OSCI_MAX_ADAPTERS; i++)
            if (seg.adapter[i].drv && osci_drv_flush(seg.adapter[i].drv, NULL) < 0)
                osci_log(OSCI_LOG_WARN, "seg", "adapter %u: posted writes lost at SCITerminate", i);
        pthread_mutex_lock(&seg.lock);
        if (seg.initialized == 0) {        /* another SCITerminate finished meanwhile */
            pthread_mutex_unlock(&seg.lock);
            return;
        }
    }
    if (--seg.initialized > 0) {
        pthread_mutex_unlock(&seg.lock);
        return;
    }
    seg.stopping = true;
    seg__wake_event_thread();
    pthread_cond_broadcast(&seg.cond);
    pthread_mutex_unlock(&seg.lock);
    pthread_join(seg.ev_thread, NULL);
    atomic_store(&ev_thread_running, 0);

    pthread_mutex_lock(&seg.lock);
    struct seg_deferred *d, *dt;
    osci_list_for_each_safe(d, dt, &defer_list, link) {
        osci_list_del(&d->link);
        obj_drop_run(d->obj, d->arg);
        free(d);
    }
    seg__intr_free_all();
    seg__dma_free_all();
    seg__map_free_all();
    seg__bcast_free_all();
    seg__rseg_free_all();
    seg__lseg_free_all();
    struct seg_loopmsg *l, *lt;
    osci_list_for_each_safe(l, lt, &loop_list, link)
        free(l);
    osci_list_init(&loop_list);
    close_adapters();
    close(seg.wake_fd);
    seg.wake_fd = -1;
    seg.stopping = false;
    pthread_cond_broadcast(&seg.cond);
    pthread_mutex_unlock(&seg.lock);
}

SISCI_API_EXPORT void SCIOpen(sci_desc_t *sd, unsigned int flags, sci_error_t *error)
{
    struct sci_desc *d;
    int rc;

    pthread_mutex_lock(&seg.lock);
    if ((rc = seg__enter(NULL, 0, flags, SCI_FLAG_THREAD_SAFE)) < 0)
        goto out;
    if (!sd) {
        rc = -EINVAL;
        goto out;
    }
    d = calloc(1, sizeof(*d));
    if (!d) {
        rc = -ENOMEM;
        goto out;
    }
    d->magic = SEG_DESC_MAGIC;
    rc = seg__handle_add(d);
    if (rc < 0) {
        free(d);
        goto out;
    }
    *sd = d;
out:
    pthread_mutex_unlock(&seg.lock);
    seg__set_error(error, rc);
}

SISCI_API_EXPORT void SCIClose(sci_desc_t sd, unsigned int flags, sci_error_t *error)
{
    int rc = 0;

    pthread_mutex_lock(&seg.lock);
    if ((rc = seg__enter(sd, SEG_DESC_MAGIC, flags, 0)) < 0)
        goto out;
    if (sd->n_objs || seg__intr_desc_busy(sd) || seg__dma_desc_busy(sd)) {
        rc = -EBUSY;
        goto out;
    }
    seg__handle_del(sd);
    sd->magic = 0;
    free(sd);
out:
    pthread_mutex_unlock(&seg.lock);
    seg__set_error(error, rc);
}
