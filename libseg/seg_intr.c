/*
 * Interrupts and data interrupts (SISCI 2.x).
 *
 * A local interrupt owns one doorbell bit of its adapter; its number is the bit index. A remote
 * interrupt is a (node, bit) pair learnt with INTR_CONNECT; SCITriggerInterrupt rings the bit and
 * nothing else. Waiters of non-callback interrupts block in the driver (db_wait) without seg.lock
 * and without the event thread, so a round trip costs one wake-up per direction. Callback
 * interrupts put their bit in the adapter's event mask and the event thread defers the callback.
 *
 * A data interrupt carries its payload in a SEG_MSG_INTERRUPT control message; the owner queues
 * payloads (bounded) for SCIWaitForDataInterrupt or hands them to the callback. Data interrupt
 * numbers are a namespace of their own (0..SEG_DATA_INTNO_COUNT-1 per adapter).
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "seg_intr.h"

#define MOD "intr"

struct sci_local_interrupt {
    uint32_t magic;
    sci_desc_t sd;
    struct seg_adapter *a;
    unsigned int intno;               /* = doorbell bit */
    uint64_t mask;
    sci_cb_interrupt_t cb;
    void *cb_arg;
    _Atomic bool cb_active;           /* callback registered (not cancelled) */
    bool use_db_wait;                 /* waiters block in the driver */
    bool in_event_mask;
    _Atomic bool removed;
    _Atomic unsigned int waiters;
    unsigned int cb_pending;          /* deferred callbacks queued or running */
    bool orphan;                      /* removed with callbacks pending: the last one frees */
    bool fired;                       /* fallback waits: doorbell seen by the event thread */
    uint8_t conn[SEG_MAX_NODES];      /* connections per remote node */
    struct sci_local_interrupt *next;
};

struct sci_remote_interrupt {
    uint32_t magic;
    sci_desc_t sd;
    struct seg_adapter *a;
    uint32_t node;
    unsigned int intno;
    unsigned int bit;
    _Atomic bool lost;
    struct sci_remote_interrupt *next;
};

struct dintr_payload {
    uint32_t len;
    uint8_t data[SEG_DATA_INTR_MAX];
};

struct sci_local_data_interrupt {
    uint32_t magic;
    sci_desc_t sd;
    struct seg_adapter *a;
    unsigned int intno;
    sci_cb_data_interrupt_t cb;
    void *cb_arg;
    bool cb_active;
    bool removed;
    unsigned int waiters;
    unsigned int cb_pending;
    bool orphan;
    unsigned int q_head, q_count;
    uint64_t dropped;                 /* payloads lost to a full queue since the last wait */
    struct dintr_payload q[SEG_DATA_INTR_QLEN];
    uint8_t conn[SEG_MAX_NODES];
    struct sci_local_data_interrupt *next;
};

struct sci_remote_data_interrupt {
    uint32_t magic;
    sci_desc_t sd;
    struct seg_adapter *a;
    uint32_t node;
    unsigned int intno;
    bool lost;
    struct sci_remote_data_interrupt *next;
};

/* A pending INTR_CONNECT, on the requester's stack. */
struct intr_req {
    uint64_t id;
    struct seg_adapter *a;
    uint32_t node;
    bool done;
    int result;
    unsigned int bit;
    struct intr_req *next;
};

/* Everything below is guarded by seg.lock. */
static struct sci_local_interrupt *lintr_list;
static struct sci_remote_interrupt *rintr_list;
static struct sci_local_data_interrupt *ldintr_list;
static struct sci_remote_data_interrupt *rdintr_list;
static struct intr_req *req_list;
static uint64_t req_seq;
static uint64_t dintno_used[OSCI_MAX_ADAPTERS];

static void set_err(sci_error_t *error, sci_error_t e)
{
    if (error)
        *error = e;
}

sci_error_t seg__api_adapter(unsigned int adapter_no, struct seg_adapter **a_p)
{
    struct seg_adapter *a;

    if (!seg.initialized)
        return SCI_ERR_NOT_INITIALIZED;
    if (adapter_no >= OSCI_MAX_ADAPTERS)
        return SCI_ERR_ILLEGAL_ADAPTERNO;
    a = seg__adapter(adapter_no);
    if (!a || !a->drv)
        return SCI_ERR_NO_SUCH_ADAPTERNO;
    *a_p = a;
    return SCI_ERR_OK;
}

int seg__ms_left(uint64_t deadline_ms)
{
    uint64_t now;

    if (deadline_ms == 0)
        return -1;
    now = seg__now_ms();
    if (now >= deadline_ms)
        return 0;
    return deadline_ms - now > INT32_MAX ? INT32_MAX : (int)(deadline_ms - now);
}

static sci_error_t link_err(int err)
{
    switch (err) {
    case -ENOTCONN: case -ECONNRESET: case -EHOSTUNREACH: case -ENOLINK: case -EPIPE: case -ESRCH: case -ESTALE:
        return SCI_ERR_NOT_CONNECTED;
    default:
        return seg__to_sci(err);
    }
}

static void sleep_ms(unsigned int ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

static void update_event_mask(struct seg_adapter *a)
{
    int rc = a->drv->ops->db_set_event_mask(a->drv, a->db_event_mask);

    if (rc < 0)
        osci_log(OSCI_LOG_WARN, MOD, "adapter %u: db_set_event_mask: %d", a->no, rc);
}

/* Wait (lock held) until the peer has said HELLO; -EHOSTUNREACH when the driver cannot reach it. */
static int wait_peer_up(struct seg_adapter *a, uint32_t node, uint64_t deadline)
{
    int rc;

    while (!a->peer[node].up) {
        rc = osci_drv_probe(a->drv, node);
        if (rc < 0 && rc != -EOPNOTSUPP)
            return -EHOSTUNREACH;
        if (rc == -EOPNOTSUPP && !a->peer[node].known)
            return -EHOSTUNREACH;
        /* reachable but the handshake is not done yet: wait a little and look again */
        uint64_t slice = seg__now_ms() + 50;
        if (deadline && deadline < slice)
            slice = deadline;
        rc = seg__cond_wait(slice);
        if (rc == -ETIMEDOUT && deadline && seg__now_ms() >= deadline)
            return a->peer[node].up ? 0 : -ETIMEDOUT;
    }
    return 0;
}

/* INTR_CONNECT round trip, lock held. */
static int intr_request(struct seg_adapter *a, uint32_t node, unsigned int intno, enum seg_intr_kind kind,
                        uint64_t deadline, unsigned int *bit_p)
{
    struct intr_req req = { .a = a, .node = node };
    struct intr_req **pp;
    struct seg_msg m;
    int rc;

    rc = wait_peer_up(a, node, deadline);
    if (rc < 0)
        return rc;
    req.id = ++req_seq;
    req.next = req_list;
    req_list = &req;

    memset(&m, 0, sizeof(m));
    m.type = SEG_MSG_INTR_CONNECT;
    m.src_node = a->drv->node_id;
    m.u.intr_connect.intno = intno;
    m.u.intr_connect.kind = kind;
    m.u.intr_connect.req_id = req.id;
    rc = seg__send(a, node, &m);

    while (rc == 0 && !req.done) {
        rc = seg__cond_wait(deadline);
        if (req.done)
            rc = 0;
    }
    for (pp = &req_list; *pp; pp = &(*pp)->next) {
        if (*pp == &req) {
            *pp = req.next;
            break;
        }
    }
    if (rc < 0)
        return rc;
    if (req.result < 0)
        return req.result;
    *bit_p = req.bit;
    return 0;
}

static struct sci_local_interrupt *find_lintr(struct seg_adapter *a, unsigned int intno)
{
    struct sci_local_interrupt *li;

    for (li = lintr_list; li; li = li->next)
        if (li->a == a && li->intno == intno)
            return li;
    return NULL;
}

static struct sci_local_data_interrupt *find_ldintr(struct seg_adapter *a, unsigned int intno)
{
    struct sci_local_data_interrupt *d;

    for (d = ldintr_list; d; d = d->next)
        if (d->a == a && d->intno == intno)
            return d;
    return NULL;
}

/* Lock held (seg__send may drop it for a moment). */
static void send_disconnect(struct seg_adapter *a, uint32_t node, unsigned int intno, enum seg_intr_kind kind)
{
    struct seg_msg m;
    int rc;

    memset(&m, 0, sizeof(m));
    m.type = SEG_MSG_INTR_DISCONNECT;
    m.src_node = a->drv->node_id;
    m.u.intr_disconnect.intno = intno;
    m.u.intr_disconnect.kind = kind;
    rc = seg__send(a, node, &m);
    if (rc < 0)
        osci_log(OSCI_LOG_DEBUG, MOD, "INTR_DISCONNECT to node %u: %d", node, rc);
}

/* ------------------------------------------------------------------------------------------ */
/* Plain interrupts: owner side                                                               */

static void lintr_free(struct sci_local_interrupt *li)
{
    li->magic = 0;
    free(li);
}

static void lintr_cb_run(void *obj, void *arg)
{
    struct sci_local_interrupt *li = obj;
    sci_callback_action_t action = SCI_CALLBACK_CONTINUE;
    bool run;

    (void)arg;
    pthread_mutex_lock(&seg.lock);
    run = !atomic_load(&li->removed) && atomic_load(&li->cb_active);
    pthread_mutex_unlock(&seg.lock);
    if (run)
        action = li->cb(li->cb_arg, li, SCI_ERR_OK);
    pthread_mutex_lock(&seg.lock);
    li->cb_pending--;
    if (run && action == SCI_CALLBACK_CANCEL && !atomic_load(&li->removed) && atomic_load(&li->cb_active)) {
        atomic_store(&li->cb_active, false);
        if (li->use_db_wait && li->in_event_mask) {
            li->a->db_event_mask &= ~li->mask;
            li->in_event_mask = false;
            update_event_mask(li->a);
        }
        osci_log(OSCI_LOG_DEBUG, MOD, "interrupt %u: callback cancelled", li->intno);
    }
    if (atomic_load(&li->removed) && li->orphan && li->cb_pending == 0)
        lintr_free(li);
    pthread_cond_broadcast(&seg.cond);
    pthread_mutex_unlock(&seg.lock);
}

void seg__intr_on_doorbell(struct seg_adapter *a, uint64_t bits)
{
    struct sci_local_interrupt *li;
    bool woke = false;

    for (li = lintr_list; li; li = li->next) {
        if (li->a != a || !(bits & li->mask) || atomic_load(&li->removed))
            continue;
        if (atomic_load(&li->cb_active)) {
            li->cb_pending++;
            seg__defer(lintr_cb_run, li, NULL);
        } else {
            li->fired = true;
            woke = true;
        }
    }
    if (woke)
        pthread_cond_broadcast(&seg.cond);
}

SISCI_API_EXPORT void SCICreateInterrupt(sci_desc_t sd, sci_local_interrupt_t *interrupt,
        unsigned int localAdapterNo, unsigned int *interruptNo, sci_cb_interrupt_t callback,
        void *callbackArg, unsigned int flags, sci_error_t *error)
{
    const unsigned int known = SCI_FLAG_USE_CALLBACK | SCI_FLAG_FIXED_INTNO | SCI_FLAG_SHARED_INT |
                               SCI_FLAG_COUNTING_INT;
    struct sci_local_interrupt *li;
    struct seg_adapter *a;
    unsigned int n, no;
    uint64_t bits;
    sci_error_t e;

    if (flags & ~known)
        return set_err(error, SCI_ERR_ILLEGAL_FLAG);
    if (flags & (SCI_FLAG_SHARED_INT | SCI_FLAG_COUNTING_INT))
        return set_err(error, SCI_ERR_FLAG_NOT_IMPLEMENTED);
    if (!interrupt || !interruptNo || ((flags & SCI_FLAG_USE_CALLBACK) && !callback))
        return set_err(error, SCI_ERR_ILLEGAL_PARAMETER);

    pthread_mutex_lock(&seg.lock);
    e = seg__api_adapter(localAdapterNo, &a);
    if (e != SCI_ERR_OK)
        goto out_unlock;
    if (!seg__desc_valid(sd)) {
        e = SCI_ERR_ILLEGAL_PARAMETER;
        goto out_unlock;
    }
    n = a->info.n_doorbells > OSCI_DRV_DB_COUNT ? OSCI_DRV_DB_COUNT : a->info.n_doorbells;
    if (flags & SCI_FLAG_FIXED_INTNO) {
        no = *interruptNo;
        if (no >= n) {
            e = SCI_ERR_OUT_OF_RANGE;
            goto out_unlock;
        }
        if (a->db_allocated & (1ull << no)) {
            e = SCI_ERR_INTNO_USED;
            goto out_unlock;
        }
    } else {
        for (no = 0; no < n && (a->db_allocated & (1ull << no)); no++)
            ;
        if (no == n) {
            e = SCI_ERR_NOSPC;
            goto out_unlock;
        }
    }
    li = calloc(1, sizeof(*li));
    if (!li) {
        e = SCI_ERR_NOSPC;
        goto out_unlock;
    }
    li->magic = SEG_LINTR_MAGIC;
    li->sd = sd;
    li->a = a;
    li->intno = no;
    li->mask = 1ull << no;
    li->use_db_wait = a->drv->ops->db_wait != NULL;
    if (flags & SCI_FLAG_USE_CALLBACK) {
        li->cb = callback;
        li->cb_arg = callbackArg;
        atomic_store(&li->cb_active, true);
    }
    if (seg__handle_add(li) < 0) {
        free(li);
        e = SCI_ERR_NOSPC;
        goto out_unlock;
    }
    /* a doorbell left on this bit by a former owner must not fire the new interrupt */
    (void)osci_drv_db_poll(a->drv, li->mask, &bits);
    a->db_allocated |= li->mask;
    if (li->cb || !li->use_db_wait) {
        a->db_event_mask |= li->mask;
        li->in_event_mask = true;
        update_event_mask(a);
    }
    li->next = lintr_list;
    lintr_list = li;
    pthread_mutex_unlock(&seg.lock);
    osci_log(OSCI_LOG_DEBUG, MOD, "adapter %u: interrupt %u created%s", a->no, no, li->cb ? " (callback)" : "");
    *interrupt = li;
    *interruptNo = no;
    return set_err(error, SCI_ERR_OK);

out_unlock:
    pthread_mutex_unlock(&seg.lock);
    set_err(error, e);
}

SISCI_API_EXPORT void SCIWaitForInterrupt(sci_local_interrupt_t li, unsigned int timeout, unsigned int flags,
        sci_error_t *error)
{
    uint64_t deadline, bits;
    sci_error_t e;
    int rc, left, slice;

    if (!seg__handle_live(li, SEG_LINTR_MAGIC))
        return set_err(error, SCI_ERR_ILLEGAL_PARAMETER);
    if (flags)
        return set_err(error, SCI_ERR_ILLEGAL_FLAG);
    if (atomic_load(&li->cb_active))
        return set_err(error, SCI_ERR_ILLEGAL_OPERATION);
    deadline = seg__deadline(timeout);

    if (li->use_db_wait) {
        /* fast path: no lock, no event thread */
        atomic_fetch_add(&li->waiters, 1);
        for (;;) {
            if (atomic_load(&li->removed)) {
                e = SCI_ERR_CANCELLED;
                break;
            }
            left = seg__ms_left(deadline);
            slice = (left < 0 || left > SEG_WAIT_SLICE_MS) ? SEG_WAIT_SLICE_MS : left;
            bits = 0;
            rc = li->a->drv->ops->db_wait(li->a->drv, li->mask, slice, &bits);
            if (atomic_load(&li->removed)) {
                e = SCI_ERR_CANCELLED;
                break;
            }
            if (rc == 0 && (bits & li->mask)) {
                e = SCI_ERR_OK;
                break;
            }
            if (rc < 0 && rc != -ETIMEDOUT && rc != -EINTR && rc != -EAGAIN) {
                e = seg__to_sci(rc);
                break;
            }
            if (left == 0) {
                e = SCI_ERR_TIMEOUT;
                break;
            }
        }
        atomic_fetch_sub(&li->waiters, 1);   /* last touch of li */
        return set_err(error, e);
    }

    /* the driver cannot block on a doorbell: the event thread delivers it */
    pthread_mutex_lock(&seg.lock);
    atomic_fetch_add(&li->waiters, 1);
    rc = 0;
    while (!li->fired && !atomic_load(&li->removed) && rc == 0)
        rc = seg__cond_wait(deadline);
    if (atomic_load(&li->removed)) {
        e = SCI_ERR_CANCELLED;
    } else if (li->fired) {
        li->fired = false;
        e = SCI_ERR_OK;
    } else {
        e = SCI_ERR_TIMEOUT;
    }
    atomic_fetch_sub(&li->waiters, 1);
    pthread_cond_broadcast(&seg.cond);
    pthread_mutex_unlock(&seg.lock);
    set_err(error, e);
}

SISCI_API_EXPORT void SCIRemoveInterrupt(sci_local_interrupt_t li, unsigned int flags, sci_error_t *error)
{
    struct sci_local_interrupt **pp;
    struct seg_adapter *a;
    uint64_t bits;

    if (!seg__handle_live(li, SEG_LINTR_MAGIC))
        return set_err(error, SCI_ERR_ILLEGAL_PARAMETER);
    if (flags)
        return set_err(error, SCI_ERR_ILLEGAL_FLAG);
    pthread_mutex_lock(&seg.lock);
    if (!seg__handle_live(li, SEG_LINTR_MAGIC) || atomic_load(&li->removed)) {
        pthread_mutex_unlock(&seg.lock);
        return set_err(error, SCI_ERR_ILLEGAL_PARAMETER);
    }
    a = li->a;
    atomic_store(&li->removed, true);
    seg__handle_del(li);   /* magic is cleared at the free, after the waiters left */
    for (pp = &lintr_list; *pp; pp = &(*pp)->next) {
        if (*pp == li) {
            *pp = li->next;
            break;
        }
    }
    if (li->in_event_mask) {
        a->db_event_mask &= ~li->mask;
        li->in_event_mask = false;
        update_event_mask(a);
    }
    pthread_cond_broadcast(&seg.cond);
    /* wake driver-blocked waiters by ringing our own bit; they see `removed` and leave */
    while (atomic_load(&li->waiters) > 0) {
        if (li->use_db_wait)
            (void)a->drv->ops->db_ring(a->drv, a->drv->node_id, li->intno);
        pthread_mutex_unlock(&seg.lock);
        sleep_ms(1);
        pthread_mutex_lock(&seg.lock);
    }
    (void)osci_drv_db_poll(a->drv, li->mask, &bits);
    a->db_allocated &= ~li->mask;
    if (li->cb_pending > 0) {
        if (seg__on_event_thread()) {
            li->orphan = true;      /* removed from a callback: the last deferred run frees it */
            pthread_mutex_unlock(&seg.lock);
            return set_err(error, SCI_ERR_OK);
        }
        while (li->cb_pending > 0)
            (void)seg__cond_wait(0);
    }
    pthread_mutex_unlock(&seg.lock);
    osci_log(OSCI_LOG_DEBUG, MOD, "adapter %u: interrupt %u removed", a->no, li->intno);
    lintr_free(li);
    set_err(error, SCI_ERR_OK);
}

/* ------------------------------------------------------------------------------------------ */
/* Plain interrupts: connector side                                                           */

static sci_error_t connect_checks(sci_desc_t sd, unsigned int node, unsigned int adapter_no,
                                  struct seg_adapter **a_p)
{
    sci_error_t e = seg__api_adapter(adapter_no, a_p);

    if (e != SCI_ERR_OK)
        return e;
    if (!seg__desc_valid(sd))
        return SCI_ERR_ILLEGAL_PARAMETER;
    if (node == 0 || node >= SEG_MAX_NODES)
        return SCI_ERR_ILLEGAL_NODEID;
    return SCI_ERR_OK;
}

static sci_error_t request_err(int rc)
{
    switch (rc) {
    case -ETIMEDOUT: return SCI_ERR_TIMEOUT;
    case -EHOSTUNREACH: return SCI_ERR_NO_SUCH_NODEID;
    case -ENOENT: return SCI_ERR_NO_SUCH_INTNO;
    default: return link_err(rc);
    }
}

SISCI_API_EXPORT void SCIConnectInterrupt(sci_desc_t sd, sci_remote_interrupt_t *interrupt, unsigned int nodeId,
        unsigned int localAdapterNo, unsigned int interruptNo, unsigned int timeout, unsigned int flags,
        sci_error_t *error)
{
    struct sci_remote_interrupt *ri;
    struct sci_local_interrupt *li;
    struct seg_adapter *a;
    unsigned int bit = 0;
    sci_error_t e;
    int rc;

    if (flags & SCI_FLAG_COUNTING_INT)
        return set_err(error, SCI_ERR_FLAG_NOT_IMPLEMENTED);
    if (flags)
        return set_err(error, SCI_ERR_ILLEGAL_FLAG);
    if (!interrupt)
        return set_err(error, SCI_ERR_ILLEGAL_PARAMETER);
    ri = calloc(1, sizeof(*ri));
    if (!ri)
        return set_err(error, SCI_ERR_NOSPC);

    pthread_mutex_lock(&seg.lock);
    e = connect_checks(sd, nodeId, localAdapterNo, &a);
    if (e != SCI_ERR_OK)
        goto out_free;
    if (interruptNo >= OSCI_DRV_DB_COUNT) {
        e = SCI_ERR_NO_SUCH_INTNO;
        goto out_free;
    }
    if (nodeId == a->drv->node_id) {
        li = find_lintr(a, interruptNo);
        if (!li) {
            e = SCI_ERR_NO_SUCH_INTNO;
            goto out_free;
        }
        if (li->conn[nodeId] < UINT8_MAX)
            li->conn[nodeId]++;
        bit = li->intno;
    } else {
        rc = intr_request(a, nodeId, interruptNo, SEG_INTR_PLAIN, seg__deadline(timeout), &bit);
        if (rc < 0) {
            e = request_err(rc);
            goto out_free;
        }
        if (bit >= OSCI_DRV_DB_COUNT) {
            e = SCI_ERR_SYSTEM;
            goto out_free;
        }
    }
    ri->magic = SEG_RINTR_MAGIC;
    ri->sd = sd;
    ri->a = a;
    ri->node = nodeId;
    ri->intno = interruptNo;
    ri->bit = bit;
    if (seg__handle_add(ri) < 0) {
        e = SCI_ERR_NOSPC;
        goto out_free;
    }
    ri->next = rintr_list;
    rintr_list = ri;
    pthread_mutex_unlock(&seg.lock);
    *interrupt = ri;
    return set_err(error, SCI_ERR_OK);

out_free:
    pthread_mutex_unlock(&seg.lock);
    free(ri);
    set_err(error, e);
}

SISCI_API_EXPORT void SCITriggerInterrupt(sci_remote_interrupt_t ri, unsigned int flags, sci_error_t *error)
{
    int rc;

    if (!seg__handle_live(ri, SEG_RINTR_MAGIC))
        return set_err(error, SCI_ERR_ILLEGAL_PARAMETER);
    if (flags)
        return set_err(error, SCI_ERR_ILLEGAL_FLAG);
    if (atomic_load_explicit(&ri->lost, memory_order_relaxed))
        return set_err(error, SCI_ERR_NOT_CONNECTED);
    rc = ri->a->drv->ops->db_ring(ri->a->drv, ri->node, ri->bit);
    set_err(error, rc < 0 ? link_err(rc) : SCI_ERR_OK);
}

SISCI_API_EXPORT void SCIDisconnectInterrupt(sci_remote_interrupt_t ri, unsigned int flags, sci_error_t *error)
{
    struct sci_remote_interrupt **pp;
    struct sci_local_interrupt *li;
    bool notify;

    if (!seg__handle_live(ri, SEG_RINTR_MAGIC))
        return set_err(error, SCI_ERR_ILLEGAL_PARAMETER);
    if (flags)
        return set_err(error, SCI_ERR_ILLEGAL_FLAG);
    pthread_mutex_lock(&seg.lock);
    if (!seg__handle_live(ri, SEG_RINTR_MAGIC)) {
        pthread_mutex_unlock(&seg.lock);
        return set_err(error, SCI_ERR_ILLEGAL_PARAMETER);
    }
    seg__handle_del(ri);
    ri->magic = 0;
    for (pp = &rintr_list; *pp; pp = &(*pp)->next) {
        if (*pp == ri) {
            *pp = ri->next;
            break;
        }
    }
    notify = false;
    if (ri->node == ri->a->drv->node_id) {
        li = find_lintr(ri->a, ri->intno);
        if (li && li->conn[ri->node] > 0)
            li->conn[ri->node]--;
    } else {
        notify = !atomic_load(&ri->lost);
    }
    if (notify)
        send_disconnect(ri->a, ri->node, ri->intno, SEG_INTR_PLAIN);
    pthread_mutex_unlock(&seg.lock);
    free(ri);
    set_err(error, SCI_ERR_OK);
}

/* ------------------------------------------------------------------------------------------ */
/* Data interrupts: owner side                                                                */

static void ldintr_free(struct sci_local_data_interrupt *d)
{
    d->magic = 0;
    free(d);
}

static void dintr_enqueue(struct sci_local_data_interrupt *d, const void *data, uint32_t len)
{
    struct dintr_payload *p;

    if (d->q_count == SEG_DATA_INTR_QLEN) {
        d->dropped++;
        osci_log(OSCI_LOG_DEBUG, MOD, "data interrupt %u: queue full, payload dropped", d->intno);
        return;
    }
    p = &d->q[(d->q_head + d->q_count) % SEG_DATA_INTR_QLEN];
    p->len = len;
    memcpy(p->data, data, len);
    d->q_count++;
    pthread_cond_broadcast(&seg.cond);
}

static void ldintr_cb_run(void *obj, void *arg)
{
    struct sci_local_data_interrupt *d = obj;
    struct dintr_payload *p = arg;
    sci_callback_action_t action = SCI_CALLBACK_CONTINUE;
    bool run;

    pthread_mutex_lock(&seg.lock);
    run = !d->removed && d->cb_active;
    if (!d->removed && !d->cb_active)
        dintr_enqueue(d, p->data, p->len);   /* cancelled meanwhile: the payload goes to waiters */
    pthread_mutex_unlock(&seg.lock);
    if (run)
        action = d->cb(d->cb_arg, d, p->data, p->len, SCI_ERR_OK);
    pthread_mutex_lock(&seg.lock);
    d->cb_pending--;
    if (run && action == SCI_CALLBACK_CANCEL && !d->removed)
        d->cb_active = false;
    if (d->removed && d->orphan && d->cb_pending == 0)
        ldintr_free(d);
    pthread_cond_broadcast(&seg.cond);
    pthread_mutex_unlock(&seg.lock);
    free(p);
}

static void dintr_deliver(struct seg_adapter *a, const struct seg_msg *m)
{
    struct sci_local_data_interrupt *d = find_ldintr(a, m->u.interrupt.intno);
    struct dintr_payload *p;
    uint32_t len = m->u.interrupt.len;

    if (!d || d->removed || len > SEG_DATA_INTR_MAX) {
        osci_log(OSCI_LOG_DEBUG, MOD, "data interrupt %u from node %u: no such interrupt, dropped",
                 m->u.interrupt.intno, m->src_node);
        return;
    }
    if (!d->cb_active) {
        dintr_enqueue(d, m->u.interrupt.data, len);
        return;
    }
    p = malloc(sizeof(*p));
    if (!p) {
        d->dropped++;
        return;
    }
    p->len = len;
    memcpy(p->data, m->u.interrupt.data, len);
    d->cb_pending++;
    seg__defer(ldintr_cb_run, d, p);
}

SISCI_API_EXPORT void SCICreateDataInterrupt(sci_desc_t sd, sci_local_data_interrupt_t *interrupt,
        unsigned int localAdapterNo, unsigned int *interruptNo, sci_cb_data_interrupt_t callback,
        void *callbackArg, unsigned int flags, sci_error_t *error)
{
    const unsigned int known = SCI_FLAG_USE_CALLBACK | SCI_FLAG_FIXED_INTNO;
    struct sci_local_data_interrupt *d;
    struct seg_adapter *a;
    unsigned int no;
    uint64_t *used;
    sci_error_t e;

    if (flags & ~known)
        return set_err(error, SCI_ERR_ILLEGAL_FLAG);
    if (!interrupt || !interruptNo || ((flags & SCI_FLAG_USE_CALLBACK) && !callback))
        return set_err(error, SCI_ERR_ILLEGAL_PARAMETER);
    d = calloc(1, sizeof(*d));
    if (!d)
        return set_err(error, SCI_ERR_NOSPC);

    pthread_mutex_lock(&seg.lock);
    e = seg__api_adapter(localAdapterNo, &a);
    if (e != SCI_ERR_OK)
        goto out_free;
    if (!seg__desc_valid(sd)) {
        e = SCI_ERR_ILLEGAL_PARAMETER;
        goto out_free;
    }
    used = &dintno_used[a->no];
    if (flags & SCI_FLAG_FIXED_INTNO) {
        no = *interruptNo;
        if (no >= SEG_DATA_INTNO_COUNT) {
            e = SCI_ERR_OUT_OF_RANGE;
            goto out_free;
        }
        if (*used & (1ull << no)) {
            e = SCI_ERR_INTNO_USED;
            goto out_free;
        }
    } else {
        for (no = 0; no < SEG_DATA_INTNO_COUNT && (*used & (1ull << no)); no++)
            ;
        if (no == SEG_DATA_INTNO_COUNT) {
            e = SCI_ERR_NOSPC;
            goto out_free;
        }
    }
    d->magic = SEG_LDINTR_MAGIC;
    if (seg__handle_add(d) < 0) {
        e = SCI_ERR_NOSPC;
        goto out_free;
    }
    *used |= 1ull << no;
    d->sd = sd;
    d->a = a;
    d->intno = no;
    if (flags & SCI_FLAG_USE_CALLBACK) {
        d->cb = callback;
        d->cb_arg = callbackArg;
        d->cb_active = true;
    }
    d->next = ldintr_list;
    ldintr_list = d;
    pthread_mutex_unlock(&seg.lock);
    osci_log(OSCI_LOG_DEBUG, MOD, "adapter %u: data interrupt %u created", a->no, no);
    *interrupt = d;
    *interruptNo = no;
    return set_err(error, SCI_ERR_OK);

out_free:
    pthread_mutex_unlock(&seg.lock);
    free(d);
    set_err(error, e);
}

SISCI_API_EXPORT void SCIWaitForDataInterrupt(sci_local_data_interrupt_t d, void *data, unsigned int *length,
        unsigned int timeout, unsigned int flags, sci_error_t *error)
{
    struct dintr_payload *p;
    uint64_t deadline;
    sci_error_t e;
    int rc = 0;

    if (!seg__handle_live(d, SEG_LDINTR_MAGIC) || !length || (!data && *length > 0))
        return set_err(error, SCI_ERR_ILLEGAL_PARAMETER);
    if (flags)
        return set_err(error, SCI_ERR_ILLEGAL_FLAG);
    deadline = seg__deadline(timeout);
    pthread_mutex_lock(&seg.lock);
    if (!seg__handle_live(d, SEG_LDINTR_MAGIC) || d->removed) {
        pthread_mutex_unlock(&seg.lock);
        return set_err(error, SCI_ERR_ILLEGAL_PARAMETER);
    }
    if (d->cb_active) {
        pthread_mutex_unlock(&seg.lock);
        return set_err(error, SCI_ERR_ILLEGAL_OPERATION);
    }
    d->waiters++;
    while (!d->removed && d->q_count == 0 && d->dropped == 0 && rc == 0)
        rc = seg__cond_wait(deadline);
    if (d->removed) {
        e = SCI_ERR_CANCELLED;
    } else if (d->dropped) {
        osci_log(OSCI_LOG_INFO, MOD, "data interrupt %u: %llu payloads dropped (queue full)", d->intno,
                 (unsigned long long)d->dropped);
        d->dropped = 0;
        e = SCI_ERR_OVERFLOW;
    } else if (d->q_count > 0) {
        p = &d->q[d->q_head];
        if (p->len > *length) {
            *length = p->len;
            e = SCI_ERR_OUT_OF_RANGE;
        } else {
            memcpy(data, p->data, p->len);
            *length = p->len;
            d->q_head = (d->q_head + 1) % SEG_DATA_INTR_QLEN;
            d->q_count--;
            e = SCI_ERR_OK;
        }
    } else {
        e = SCI_ERR_TIMEOUT;
    }
    d->waiters--;
    pthread_cond_broadcast(&seg.cond);
    pthread_mutex_unlock(&seg.lock);
    set_err(error, e);
}

SISCI_API_EXPORT void SCIRemoveDataInterrupt(sci_local_data_interrupt_t d, unsigned int flags, sci_error_t *error)
{
    struct sci_local_data_interrupt **pp;

    if (!seg__handle_live(d, SEG_LDINTR_MAGIC))
        return set_err(error, SCI_ERR_ILLEGAL_PARAMETER);
    if (flags)
        return set_err(error, SCI_ERR_ILLEGAL_FLAG);
    pthread_mutex_lock(&seg.lock);
    if (!seg__handle_live(d, SEG_LDINTR_MAGIC) || d->removed) {
        pthread_mutex_unlock(&seg.lock);
        return set_err(error, SCI_ERR_ILLEGAL_PARAMETER);
    }
    d->removed = true;
    seg__handle_del(d);
    d->magic = 0;
    for (pp = &ldintr_list; *pp; pp = &(*pp)->next) {
        if (*pp == d) {
            *pp = d->next;
            break;
        }
    }
    dintno_used[d->a->no] &= ~(1ull << d->intno);
    pthread_cond_broadcast(&seg.cond);
    while (d->waiters > 0)
        (void)seg__cond_wait(0);
    if (d->cb_pending > 0) {
        if (seg__on_event_thread()) {
            d->orphan = true;
            pthread_mutex_unlock(&seg.lock);
            return set_err(error, SCI_ERR_OK);
        }
        while (d->cb_pending > 0)
            (void)seg__cond_wait(0);
    }
    pthread_mutex_unlock(&seg.lock);
    ldintr_free(d);
    set_err(error, SCI_ERR_OK);
}

/* ------------------------------------------------------------------------------------------ */
/* Data interrupts: connector side                                                            */

SISCI_API_EXPORT void SCIConnectDataInterrupt(sci_desc_t sd, sci_remote_data_interrupt_t *interrupt,
        unsigned int nodeId, unsigned int localAdapterNo, unsigned int interruptNo, unsigned int timeout,
        unsigned int flags, sci_error_t *error)
{
    struct sci_remote_data_interrupt *rd;
    struct sci_local_data_interrupt *d;
    struct seg_adapter *a;
    unsigned int bit;
    sci_error_t e;
    int rc;

    if (flags)
        return set_err(error, SCI_ERR_ILLEGAL_FLAG);
    if (!interrupt)
        return set_err(error, SCI_ERR_ILLEGAL_PARAMETER);
    rd = calloc(1, sizeof(*rd));
    if (!rd)
        return set_err(error, SCI_ERR_NOSPC);
    pthread_mutex_lock(&seg.lock);
    e = connect_checks(sd, nodeId, localAdapterNo, &a);
    if (e != SCI_ERR_OK)
        goto out_free;
    if (interruptNo >= SEG_DATA_INTNO_COUNT) {
        e = SCI_ERR_NO_SUCH_INTNO;
        goto out_free;
    }
    if (nodeId == a->drv->node_id) {
        d = find_ldintr(a, interruptNo);
        if (!d) {
            e = SCI_ERR_NO_SUCH_INTNO;
            goto out_free;
        }
        if (d->conn[nodeId] < UINT8_MAX)
            d->conn[nodeId]++;
    } else {
        rc = intr_request(a, nodeId, interruptNo, SEG_INTR_DATA, seg__deadline(timeout), &bit);
        if (rc < 0) {
            e = request_err(rc);
            goto out_free;
        }
    }
    rd->magic = SEG_RDINTR_MAGIC;
    rd->sd = sd;
    rd->a = a;
    rd->node = nodeId;
    rd->intno = interruptNo;
    if (seg__handle_add(rd) < 0) {
        e = SCI_ERR_NOSPC;
        goto out_free;
    }
    rd->next = rdintr_list;
    rdintr_list = rd;
    pthread_mutex_unlock(&seg.lock);
    *interrupt = rd;
    return set_err(error, SCI_ERR_OK);

out_free:
    pthread_mutex_unlock(&seg.lock);
    free(rd);
    set_err(error, e);
}

SISCI_API_EXPORT void SCITriggerDataInterrupt(sci_remote_data_interrupt_t rd, void *data, unsigned int length,
        unsigned int flags, sci_error_t *error)
{
    struct seg_msg m;
    struct seg_adapter *a;
    bool lost;
    int rc;

    if (!seg__handle_live(rd, SEG_RDINTR_MAGIC) || (!data && length > 0))
        return set_err(error, SCI_ERR_ILLEGAL_PARAMETER);
    if (flags)
        return set_err(error, SCI_ERR_ILLEGAL_FLAG);
    if (length > SEG_DATA_INTR_MAX)
        return set_err(error, SCI_ERR_OUT_OF_RANGE);
    a = rd->a;
    memset(&m, 0, sizeof(m));
    m.type = SEG_MSG_INTERRUPT;
    m.src_node = a->drv->node_id;
    m.u.interrupt.intno = rd->intno;
    m.u.interrupt.len = length;
    if (length)
        memcpy(m.u.interrupt.data, data, length);

    pthread_mutex_lock(&seg.lock);
    lost = rd->lost;
    rc = lost ? -ENOTCONN : seg__send(a, rd->node, &m);
    pthread_mutex_unlock(&seg.lock);
    set_err(error, rc < 0 ? link_err(rc) : SCI_ERR_OK);
}

SISCI_API_EXPORT void SCIDisconnectDataInterrupt(sci_remote_data_interrupt_t rd, unsigned int flags,
        sci_error_t *error)
{
    struct sci_remote_data_interrupt **pp;
    struct sci_local_data_interrupt *d;
    bool notify = false;

    if (!seg__handle_live(rd, SEG_RDINTR_MAGIC))
        return set_err(error, SCI_ERR_ILLEGAL_PARAMETER);
    if (flags)
        return set_err(error, SCI_ERR_ILLEGAL_FLAG);
    pthread_mutex_lock(&seg.lock);
    if (!seg__handle_live(rd, SEG_RDINTR_MAGIC)) {
        pthread_mutex_unlock(&seg.lock);
        return set_err(error, SCI_ERR_ILLEGAL_PARAMETER);
    }
    seg__handle_del(rd);
    rd->magic = 0;
    for (pp = &rdintr_list; *pp; pp = &(*pp)->next) {
        if (*pp == rd) {
            *pp = rd->next;
            break;
        }
    }
    if (rd->node == rd->a->drv->node_id) {
        d = find_ldintr(rd->a, rd->intno);
        if (d && d->conn[rd->node] > 0)
            d->conn[rd->node]--;
    } else {
        notify = !rd->lost;
    }
    if (notify)
        send_disconnect(rd->a, rd->node, rd->intno, SEG_INTR_DATA);
    pthread_mutex_unlock(&seg.lock);
    free(rd);
    set_err(error, SCI_ERR_OK);
}

/* ------------------------------------------------------------------------------------------ */
/* Hooks called by the core (event thread, lock held)                                         */

static void on_intr_connect(struct seg_adapter *a, const struct seg_msg *m)
{
    const uint32_t src = m->src_node;
    struct sci_local_interrupt *li = NULL;
    struct sci_local_data_interrupt *d = NULL;
    struct seg_msg r;
    int rc;

    memset(&r, 0, sizeof(r));
    r.src_node = a->drv->node_id;
    if (m->u.intr_connect.kind == SEG_INTR_PLAIN)
        li = find_lintr(a, m->u.intr_connect.intno);
    else if (m->u.intr_connect.kind == SEG_INTR_DATA)
        d = find_ldintr(a, m->u.intr_connect.intno);
    if (li || d) {
        r.type = SEG_MSG_INTR_CONNECT_OK;
        r.u.intr_connect_ok.req_id = m->u.intr_connect.req_id;
        r.u.intr_connect_ok.db_bit = li ? li->intno : 0;
        if (src < SEG_MAX_NODES) {
            uint8_t *c = li ? &li->conn[src] : &d->conn[src];
            if (*c < UINT8_MAX)
                (*c)++;
        }
    } else {
        r.type = SEG_MSG_INTR_CONNECT_REFUSED;
        r.u.refused.conn_id = m->u.intr_connect.req_id;
        r.u.refused.reason = -ENOENT;
    }
    rc = seg__send(a, src, &r);
    if (rc < 0)
        osci_log(OSCI_LOG_WARN, MOD, "reply to INTR_CONNECT of node %u: %d", src, rc);
}

static void on_intr_reply(struct seg_adapter *a, const struct seg_msg *m)
{
    uint64_t id = m->type == SEG_MSG_INTR_CONNECT_OK ? m->u.intr_connect_ok.req_id : m->u.refused.conn_id;
    struct intr_req *r;

    for (r = req_list; r; r = r->next) {
        if (r->a != a || r->node != m->src_node || r->id != id || r->done)
            continue;
        r->done = true;
        if (m->type == SEG_MSG_INTR_CONNECT_OK) {
            r->result = 0;
            r->bit = m->u.intr_connect_ok.db_bit;
        } else {
            r->result = m->u.refused.reason > 0 ? -m->u.refused.reason : m->u.refused.reason;
            if (r->result == 0)
                r->result = -ECONNREFUSED;
        }
        pthread_cond_broadcast(&seg.cond);
        return;
    }
    osci_log(OSCI_LOG_DEBUG, MOD, "stale interrupt-connect reply %llu from node %u", (unsigned long long)id,
             m->src_node);
}

static void on_intr_disconnect(struct seg_adapter *a, const struct seg_msg *m)
{
    const uint32_t src = m->src_node;
    uint8_t *c = NULL;

    if (src >= SEG_MAX_NODES)
        return;
    if (m->u.intr_disconnect.kind == SEG_INTR_PLAIN) {
        struct sci_local_interrupt *li = find_lintr(a, m->u.intr_disconnect.intno);
        if (li)
            c = &li->conn[src];
    } else if (m->u.intr_disconnect.kind == SEG_INTR_DATA) {
        struct sci_local_data_interrupt *d = find_ldintr(a, m->u.intr_disconnect.intno);
        if (d)
            c = &d->conn[src];
    }
    if (c && *c > 0)
        (*c)--;
}

void seg__intr_on_msg(struct seg_adapter *a, const struct seg_msg *m)
{
    switch (m->type) {
    case SEG_MSG_INTR_CONNECT:
        on_intr_connect(a, m);
        break;
    case SEG_MSG_INTR_CONNECT_OK:
    case SEG_MSG_INTR_CONNECT_REFUSED:
        on_intr_reply(a, m);
        break;
    case SEG_MSG_INTR_DISCONNECT:
        on_intr_disconnect(a, m);
        break;
    case SEG_MSG_INTERRUPT:
        dintr_deliver(a, m);
        break;
    default:
        osci_log(OSCI_LOG_DEBUG, MOD, "message %s not for interrupts, ignored", seg_msg_type_str(m->type));
        break;
    }
}

void seg__intr_on_peer_lost(struct seg_adapter *a, uint32_t node)
{
    struct sci_remote_interrupt *ri;
    struct sci_remote_data_interrupt *rd;
    struct sci_local_interrupt *li;
    struct sci_local_data_interrupt *d;
    struct intr_req *r;

    if (node >= SEG_MAX_NODES)
        return;
    for (ri = rintr_list; ri; ri = ri->next)
        if (ri->a == a && ri->node == node)
            atomic_store(&ri->lost, true);
    for (rd = rdintr_list; rd; rd = rd->next)
        if (rd->a == a && rd->node == node)
            rd->lost = true;
    for (li = lintr_list; li; li = li->next)
        if (li->a == a)
            li->conn[node] = 0;
    for (d = ldintr_list; d; d = d->next)
        if (d->a == a)
            d->conn[node] = 0;
    for (r = req_list; r; r = r->next) {
        if (r->a == a && r->node == node && !r->done) {
            r->done = true;
            r->result = -ECONNRESET;
        }
    }
    pthread_cond_broadcast(&seg.cond);
}

bool seg__intr_desc_busy(sci_desc_t sd)
{
    struct sci_local_interrupt *li;
    struct sci_remote_interrupt *ri;
    struct sci_local_data_interrupt *d;
    struct sci_remote_data_interrupt *rd;

    for (li = lintr_list; li; li = li->next)
        if (li->sd == sd)
            return true;
    for (ri = rintr_list; ri; ri = ri->next)
        if (ri->sd == sd)
            return true;
    for (d = ldintr_list; d; d = d->next)
        if (d->sd == sd)
            return true;
    for (rd = rdintr_list; rd; rd = rd->next)
        if (rd->sd == sd)
            return true;
    return false;
}

void seg__intr_free_all(void)
{
    struct sci_local_interrupt *li;
    struct sci_remote_interrupt *ri;
    struct sci_local_data_interrupt *d;
    struct sci_remote_data_interrupt *rd;

    while ((li = lintr_list)) {
        lintr_list = li->next;
        seg__handle_del(li);
        lintr_free(li);
    }
    while ((ri = rintr_list)) {
        rintr_list = ri->next;
        seg__handle_del(ri);
        ri->magic = 0;
        free(ri);
    }
    while ((d = ldintr_list)) {
        ldintr_list = d->next;
        seg__handle_del(d);
        ldintr_free(d);
    }
    while ((rd = rdintr_list)) {
        rdintr_list = rd->next;
        seg__handle_del(rd);
        rd->magic = 0;
        free(rd);
    }
    memset(dintno_used, 0, sizeof(dintno_used));
}
