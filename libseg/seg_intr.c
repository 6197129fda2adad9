/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Interrupts and data interrupts (SISCI 2.x).
 *
 * Interrupt numbers are a namespace per adapter (0..SEG_INTNO_MAX), not doorbell bits. Every local
 * interrupt is given one of the adapter's doorbell bits, shared with other interrupts when there are
 * more interrupts than bits. Each connection to it gets a slot in the adapter's trigger area, memory
 * the owner exports through the driver: the slot is a counter that only the connector writes (it
 * keeps its own count and stores it), and the owner keeps the last value it saw privately. So a
 * trigger is: count + 1, store it in the slot, then ring the bit only when the owner has armed it
 * (Dekker, all seq_cst: the owner stores armed[bit] and re-reads the counters before it sleeps; the
 * trigger stores the counter and reads armed[bit]; one of the two sees the other's store). A burst costs one ring; a wake-up of a
 * shared bit only counts for the interrupts whose counters moved.
 *
 * Waiters of a bit in "leader" mode (no callback interrupt on it, driver with db_wait): one waiter
 * per bit blocks in the driver's db_wait, takes the bit, collects the counters of the bit's slots into
 * each interrupt's `pending`, and wakes the other waiters (intr_cv) - a round trip is still one
 * wake-up per direction. Bits with a callback interrupt, and every bit of a driver without db_wait,
 * are in the event mask: the event thread collects them, defers one run per interrupt that calls back
 * once per trigger, and wakes waiters. Each trigger is delivered once: one SCIWaitForInterrupt return
 * or one callback.
 *
 * A data interrupt carries its payload in a SEG_MSG_INTERRUPT control message. Each connection holds
 * SEG_DATA_INTR_CREDITS credits: a trigger takes one, the owner returns them (INTR_CREDIT) as payloads
 * are consumed, so the owner always has room and never drops one. A trigger without a credit waits up
 * to SEG_DATA_INTR_CREDIT_MS for one and then fails with SCI_ERR_TIMEOUT (the payload was not sent).
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "seg_intr.h"

#define MOD "intr"

/* The trigger area of an adapter: armed words (written by the owner) then slot counters. */
#define AREA_ARMED_OFF 0
#define AREA_SLOT_OFF  (OSCI_DRV_DB_COUNT * sizeof(uint64_t))
#define AREA_SIZE      (AREA_SLOT_OFF + SEG_INTR_SLOTS * sizeof(uint64_t))

struct sci_local_interrupt {
    struct seg_obj o;                 /* first: magic, references, removed, callback */
    sci_desc_t sd;
    struct seg_adapter *a;
    unsigned int intno;
    unsigned int bit;                 /* doorbell bit, maybe shared */
    uint64_t mask;
    _Atomic unsigned int waiters;
    uint64_t pending;                 /* triggers collected, not yet delivered (intr_mu) */
    uint8_t conn[SEG_MAX_NODES];      /* connections per remote node */
    struct osci_list_node link;       /* in lintr_list */
};

struct sci_remote_interrupt {
    uint32_t magic;
    sci_desc_t sd;
    struct seg_adapter *a;
    uint32_t node;
    unsigned int intno;
    unsigned int bit;
    unsigned int slot;
    uint64_t conn_id;
    _Atomic bool lost;
    _Atomic uint64_t count;           /* triggers so far: the value the slot gets */
    uint64_t *ctr;                    /* the slot, when it can be stored to (local or mapped) */
    const uint64_t *armed;            /* the owner's armed word of `bit` (same condition) */
    struct osci_drv_rmem *rmem;       /* imported trigger area (remote) */
    void *map;                        /* its mapping, NULL when the driver can only put */
    struct osci_list_node link;       /* in rintr_list */
};

struct dintr_payload {
    struct osci_list_node link;       /* in its interrupt's queue */
    uint32_t node;                    /* connection it came from: credit goes back there */
    uint64_t conn_id;
    uint32_t len;
    uint8_t data[SEG_DATA_INTR_MAX];
};

/* A connection to a local data interrupt, owner side. */
struct dconn {
    uint32_t node;
    uint64_t conn_id;
    uint32_t unreturned;              /* consumed payloads whose credit is not sent back yet */
    struct osci_list_node link;       /* in its interrupt's conns */
};

struct sci_local_data_interrupt {
    struct seg_obj o;                 /* first: magic, references, removed, callback */
    sci_desc_t sd;
    struct seg_adapter *a;
    unsigned int intno;
    unsigned int waiters;
    struct osci_list_head queue;      /* payloads, oldest first; bounded by the credits handed out */
    unsigned int q_count;
    struct osci_list_head conns;      /* struct dconn */
    uint8_t conn[SEG_MAX_NODES];
    struct osci_list_node link;       /* in ldintr_list */
};

struct sci_remote_data_interrupt {
    uint32_t magic;
    sci_desc_t sd;
    struct seg_adapter *a;
    uint32_t node;
    unsigned int intno;
    uint64_t conn_id;
    unsigned int credits;             /* seg.lock */
    bool lost;
    struct osci_list_node link;       /* in rdintr_list */
};

/* A pending INTR_CONNECT, on the requester's stack. */
struct intr_req {
    uint64_t id;
    struct seg_adapter *a;
    uint32_t node;
    bool done;
    int result;
    struct seg_msg reply;
    struct osci_list_node link;       /* in req_list */
};

/* Owner side of the doorbell multiplexing, per adapter (intr_mu). */
struct intr_slot {
    struct sci_local_interrupt *li;   /* NULL: free */
    uint32_t node;
    uint64_t conn_id;
    uint64_t last;                    /* last counter value collected */
};

struct intr_rx {
    void *area;                       /* the trigger area (local view), NULL until first needed */
    struct osci_drv_mem_view view;    /* the area: the driver's (drv_mem) or ours */
    bool drv_mem;
    struct osci_drv_mem *exp;
    uint8_t xport[OSCI_DRV_XPORT_MAX];
    size_t xport_len;
    unsigned int slot_hwm;            /* slots [0, hwm) may be used */
    struct intr_slot slot[SEG_INTR_SLOTS];
    unsigned int nwait[OSCI_DRV_DB_COUNT];  /* interrupts on a bit without / with a callback */
    unsigned int ncb[OSCI_DRV_DB_COUNT];
    bool leader[OSCI_DRV_DB_COUNT];         /* a waiter blocks in db_wait on the bit */
};

/* Lists below are guarded by seg.lock; intr_rx, `pending` and the leaders by intr_mu (taken after seg.lock). */
static struct osci_list_head lintr_list = OSCI_LIST_HEAD_INIT(lintr_list);
static struct osci_list_head rintr_list = OSCI_LIST_HEAD_INIT(rintr_list);
static struct osci_list_head ldintr_list = OSCI_LIST_HEAD_INIT(ldintr_list);
static struct osci_list_head rdintr_list = OSCI_LIST_HEAD_INIT(rdintr_list);
static struct osci_list_head req_list = OSCI_LIST_HEAD_INIT(req_list);
static uint64_t req_seq;
static struct intr_rx *rx_tab[OSCI_MAX_ADAPTERS];
static pthread_mutex_t intr_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t intr_cv;
static pthread_once_t intr_once = PTHREAD_ONCE_INIT;

static void intr_cv_init(void)
{
    pthread_condattr_t ca;

    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&intr_cv, &ca);
    pthread_condattr_destroy(&ca);
}


int seg__ms_left(uint64_t deadline_ms)
{
    uint64_t now;

    if (deadline_ms == 0)
        return -1;
    now = osci_now_ms();
    if (now >= deadline_ms)
        return 0;
    return deadline_ms - now > INT32_MAX ? INT32_MAX : (int)(deadline_ms - now);
}

/* A connection's link failures are one public code here: -ENOTCONN (SCI_ERR_NOT_CONNECTED). */
static int link_err(int err)
{
    switch (err) {
    case -ENOTCONN: case -ECONNRESET: case -EHOSTUNREACH: case -ENOLINK: case -EPIPE: case -ESRCH: case -ESTALE:
        return -ENOTCONN;
    default:
        return err;
    }
}

static void sleep_ms(unsigned int ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

static void update_event_mask(struct seg_adapter *a)
{
    int rc = osci_drv_db_set_event_mask(a->drv, a->db_event_mask);

    if (rc < 0)
        osci_log(OSCI_LOG_WARN, MOD, "adapter %u: db_set_event_mask: %d", a->no, rc);
}

/* intr_mu held: wait on intr_cv for at most ms (< 0: no limit). */
static void intr_cv_wait(int ms)
{
    struct timespec ts;

    if (ms < 0) {
        pthread_cond_wait(&intr_cv, &intr_mu);
        return;
    }
    ts = osci_ts_after_ms(CLOCK_MONOTONIC, (unsigned int)ms);
    pthread_cond_timedwait(&intr_cv, &intr_mu, &ts);
}

/* ------------------------------------------------------------------------------------------ */
/* The trigger area and its slots (owner side)                                                */

static bool has_db_wait(const struct seg_adapter *a)
{
    return a->info.caps & OSCI_DRV_CAP_DB_WAIT;
}

static uint64_t *area_armed(struct intr_rx *rx, unsigned int bit)
{
    return (uint64_t *)((char *)rx->area + AREA_ARMED_OFF) + bit;
}

static uint64_t *area_slot(struct intr_rx *rx, unsigned int slot)
{
    return (uint64_t *)((char *)rx->area + AREA_SLOT_OFF) + slot;
}

/* The bit is taken by the event thread (callback interrupts on it, or no db_wait). */
static bool bit_event(const struct seg_adapter *a, const struct intr_rx *rx, unsigned int bit)
{
    return !has_db_wait(a) || rx->ncb[bit] > 0;
}

static void rx_free(struct seg_adapter *a, struct intr_rx *rx)
{
    if (rx->exp)
        osci_drv_mem_unexport(a->drv, rx->exp);
    if (rx->drv_mem)
        osci_drv_mem_free(a->drv, &rx->view);
    else
        free(rx->area);
    free(rx);
}

/* The adapter's trigger area, created and exported on first use. seg.lock held. */
static int rx_get(struct seg_adapter *a, struct intr_rx **rx_p)
{
    struct intr_rx *rx = rx_tab[a->no];
    size_t xlen = OSCI_DRV_XPORT_MAX;
    int rc;

    if (rx) {
        *rx_p = rx;
        return 0;
    }
    pthread_once(&intr_once, intr_cv_init);
    rx = calloc(1, sizeof(*rx));
    if (!rx)
        return -ENOMEM;
    if (a->info.caps & OSCI_DRV_CAP_MEM_ALLOC) {
        rc = osci_drv_mem_alloc(a->drv, AREA_SIZE, &rx->view);
        if (rc < 0)
            goto err;
        rx->drv_mem = true;
        rx->area = rx->view.addr;
    } else if (!(a->info.caps & OSCI_DRV_CAP_EXPORT_FOREIGN)) {
        rc = -EOPNOTSUPP;                 /* exports no memory of ours, and allocates none */
        goto err;
    } else {
        rc = posix_memalign(&rx->area, 4096, AREA_SIZE);
        if (rc) {
            rx->area = NULL;
            rc = -rc;
            goto err;
        }
    }
    memset(rx->area, 0, AREA_SIZE);
    if (!rx->drv_mem)
        rx->view = (struct osci_drv_mem_view){ .addr = rx->area, .size = AREA_SIZE, .fd = -1 };
    rc = osci_drv_mem_export(a->drv, &rx->view, &rx->exp);
    if (rc < 0) {
        rx->exp = NULL;
        goto err;
    }
    rc = osci_drv_mem_pack(a->drv, rx->exp, rx->xport, &xlen);
    if (rc < 0 || xlen > OSCI_DRV_XPORT_MAX) {
        rc = rc < 0 ? rc : -EOVERFLOW;
        goto err;
    }
    rx->xport_len = xlen;
    rx_tab[a->no] = rx;
    *rx_p = rx;
    return 0;

err:
    osci_log(OSCI_LOG_WARN, MOD, "adapter %u: cannot set up the interrupt trigger area: %s", a->no,
             osci_strerror(rc));
    rx_free(a, rx);
    return rc;
}

/* Assign a slot to a connection to li (seg.lock and intr_mu held); -ENOSPC when all are taken. */
static int slot_alloc(struct intr_rx *rx, struct sci_local_interrupt *li, uint32_t node, uint64_t conn_id)
{
    for (unsigned int s = 0; s < SEG_INTR_SLOTS; s++) {
        struct intr_slot *sl = &rx->slot[s];
        if (sl->li || sl->conn_id)
            continue;
        sl->li = li;
        sl->node = node;
        sl->conn_id = conn_id;
        sl->last = 0;
        __atomic_store_n(area_slot(rx, s), 0, __ATOMIC_SEQ_CST);
        if (s >= rx->slot_hwm)
            rx->slot_hwm = s + 1;
        return (int)s;
    }
    return -ENOSPC;
}

/*
 * Collect the counters of the slots on `bit` into their interrupts' pending counts (intr_mu held).
 * Returns true when an interrupt got a trigger; *cb_p is set when one of them is a callback one.
 */
static bool reap_bit(struct intr_rx *rx, unsigned int bit, bool *cb_p)
{
    bool any = false;

    for (unsigned int s = 0; s < rx->slot_hwm; s++) {
        struct intr_slot *sl = &rx->slot[s];
        uint64_t c;
        int64_t d;
        if (!sl->conn_id || (sl->li && sl->li->bit != bit))
            continue;
        c = __atomic_load_n(area_slot(rx, s), __ATOMIC_SEQ_CST);
        d = (int64_t)(c - sl->last);
        if (d <= 0)
            continue;               /* nothing new, or a store overtaken by a later one */
        sl->last = c;
        if (!sl->li)
            continue;               /* the interrupt was removed: the connector still writes */
        sl->li->pending += (uint64_t)d;
        any = true;
        if (cb_p && atomic_load(&sl->li->o.cb_active))
            *cb_p = true;
    }
    return any;
}

/* Recompute the event mask and the armed words after a bit's users changed (seg.lock, intr_mu held). */
static void bits_update(struct seg_adapter *a, struct intr_rx *rx)
{
    uint64_t mask = 0, old = a->db_event_mask, used = 0;

    for (unsigned int b = 0; b < OSCI_DRV_DB_COUNT; b++) {
        bool in_use = rx->nwait[b] + rx->ncb[b] > 0;
        if (in_use)
            used |= 1ull << b;
        if (in_use && bit_event(a, rx, b)) {
            mask |= 1ull << b;
            __atomic_store_n(area_armed(rx, b), 1, __ATOMIC_SEQ_CST);   /* the event thread always listens */
        } else if (!rx->leader[b]) {
            __atomic_store_n(area_armed(rx, b), 0, __ATOMIC_SEQ_CST);
        }
    }
    a->db_allocated = used;
    if (mask != old) {
        a->db_event_mask = mask;
        update_event_mask(a);
        /* a leader blocked in db_wait on a bit that went to the event thread: ring it out */
        for (unsigned int b = 0; b < OSCI_DRV_DB_COUNT; b++)
            if ((mask & ~old & (1ull << b)) && rx->leader[b])
                (void)osci_drv_db_ring(a->drv, a->drv->node_id, b);
    }
    pthread_cond_broadcast(&intr_cv);
}

/*
 * Collected triggers of callback interrupts: one deferred run per interrupt, which calls back once
 * per trigger until `pending` is 0, so a flood costs a count, not a queued call each (seg.lock, intr_mu).
 */
static void defer_callbacks(struct seg_adapter *a)
{
    struct sci_local_interrupt *li;

    osci_list_for_each(li, &lintr_list, link)
        if (li->a == a && li->pending)
            seg__obj_kick(&li->o);
}

/* Wait (lock held) until the peer has said HELLO; -EHOSTUNREACH when the driver cannot reach it. */
static int wait_peer_up(struct seg_adapter *a, uint32_t node, uint64_t deadline)
{
    int rc;

    while (!seg__peer_up(&a->peer[node])) {
        rc = osci_drv_probe(a->drv, node);
        if (rc < 0 && rc != -EOPNOTSUPP)
            return -EHOSTUNREACH;
        if (rc == -EOPNOTSUPP && !seg__peer_known(&a->peer[node]))
            return -EHOSTUNREACH;
        /* reachable but the handshake is not done yet: wait a little and look again */
        uint64_t slice = osci_now_ms() + 50;
        if (deadline && deadline < slice)
            slice = deadline;
        rc = seg__cond_wait(slice);
        if (rc == -ETIMEDOUT && deadline && osci_now_ms() >= deadline)
            return seg__peer_up(&a->peer[node]) ? 0 : -ETIMEDOUT;
    }
    return 0;
}

/* INTR_CONNECT round trip, lock held; the reply (INTR_CONNECT_OK) goes to *ok, the connection id to *id_p. */
static int intr_request(struct seg_adapter *a, uint32_t node, unsigned int intno, enum seg_intr_kind kind,
                        uint64_t deadline, struct seg_msg *ok, uint64_t *id_p)
{
    struct intr_req req = { .a = a, .node = node };
    struct seg_msg m;
    int rc;

    rc = wait_peer_up(a, node, deadline);
    if (rc < 0)
        return rc;
    req.id = ++req_seq;
    osci_list_add(&req_list, &req.link);

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
    osci_list_del(&req.link);
    if (rc < 0)
        return rc;
    if (req.result < 0)
        return req.result;
    *ok = req.reply;
    *id_p = req.id;
    return 0;
}

static struct sci_local_interrupt *find_lintr(struct seg_adapter *a, unsigned int intno)
{
    struct sci_local_interrupt *li;

    osci_list_for_each(li, &lintr_list, link)
        if (li->a == a && li->intno == intno)
            return li;
    return NULL;
}

static struct sci_local_data_interrupt *find_ldintr(struct seg_adapter *a, unsigned int intno)
{
    struct sci_local_data_interrupt *d;

    osci_list_for_each(d, &ldintr_list, link)
        if (d->a == a && d->intno == intno)
            return d;
    return NULL;
}

static bool intno_used(struct seg_adapter *a, unsigned int no, bool data)
{
    return data ? find_ldintr(a, no) != NULL : find_lintr(a, no) != NULL;
}

/* The checks SCICreateInterrupt and SCICreateDataInterrupt share (lock held): the adapter, the descriptor,
 * doorbells for a plain interrupt, and the number: `asked` with SCI_FLAG_FIXED_INTNO, else the lowest free
 * one of its kind. */
static int create_checks(sci_desc_t sd, unsigned int adapter_no, unsigned int flags, unsigned int asked, bool data,
                         struct seg_adapter **a_p, unsigned int *no_p)
{
    struct seg_adapter *a;
    unsigned int no;
    int rc = seg__api_adapter(adapter_no, &a);

    if (rc < 0)
        return rc;
    if (!seg__desc_valid(sd))
        return -EINVAL;
    if (!data && a->info.n_doorbells == 0)
        return -ENOMEM;
    if (flags & SCI_FLAG_FIXED_INTNO) {
        no = asked;
        if (no > SEG_INTNO_MAX)
            return -ERANGE;
        if (intno_used(a, no, data))
            return -SEG_EINTNO_USED;
    } else {
        for (no = 0; no <= SEG_INTNO_MAX && intno_used(a, no, data); no++)
            ;
    }
    *a_p = a;
    *no_p = no;
    return 0;
}

/* Lock held (seg__send may drop it for a moment). */
static void send_disconnect(struct seg_adapter *a, uint32_t node, unsigned int intno, enum seg_intr_kind kind,
                            uint64_t conn_id)
{
    struct seg_msg m;
    int rc;

    memset(&m, 0, sizeof(m));
    m.type = SEG_MSG_INTR_DISCONNECT;
    m.src_node = a->drv->node_id;
    m.u.intr_disconnect.intno = intno;
    m.u.intr_disconnect.kind = kind;
    m.u.intr_disconnect.conn_id = conn_id;
    rc = seg__send(a, node, &m);
    if (rc < 0)
        osci_log(OSCI_LOG_DEBUG, MOD, "INTR_DISCONNECT to node %u: %d", node, rc);
}

/* ------------------------------------------------------------------------------------------ */
/* Plain interrupts: owner side                                                               */

static void lintr_free(struct sci_local_interrupt *li)
{
    li->o.magic = 0;
    free(li);
}

/* The callback, through the one runner (seg_core.c): once per pending trigger. Cancelled or removed
 * meanwhile: the rest stays for waiters. */
static bool lintr_take(struct seg_obj *o, void *arg, struct seg_sevent *ev)
{
    struct sci_local_interrupt *li = (struct sci_local_interrupt *)o;
    bool run;

    (void)arg;
    (void)ev;
    pthread_mutex_lock(&intr_mu);
    run = li->pending > 0;
    if (run)
        li->pending--;
    pthread_mutex_unlock(&intr_mu);
    return run;                        /* false: seg.lock kept to the end, defer_callbacks sees `sched` */
}

static sci_callback_action_t lintr_call(struct seg_obj *o, void *arg, const struct seg_sevent *ev)
{
    (void)arg;
    (void)ev;
    return ((sci_cb_interrupt_t)o->cb)(o->cb_arg, (sci_local_interrupt_t)o, SCI_ERR_OK);
}

static void lintr_done(struct seg_obj *o, sci_callback_action_t action)
{
    struct sci_local_interrupt *li = (struct sci_local_interrupt *)o;
    struct intr_rx *rx = rx_tab[li->a->no];

    if (action != SCI_CALLBACK_CANCEL)
        return;
    li->o.cb_active = false;
    pthread_mutex_lock(&intr_mu);
    rx->ncb[li->bit]--;
    rx->nwait[li->bit]++;
    bits_update(li->a, rx);            /* wakes waiters for the triggers left */
    pthread_mutex_unlock(&intr_mu);
    osci_log(OSCI_LOG_DEBUG, MOD, "interrupt %u: callback cancelled", li->intno);
}

static void lintr_obj_free(struct seg_obj *o) { lintr_free((struct sci_local_interrupt *)o); }

static const struct seg_obj_ops lintr_ops = {
    .name = "interrupt", .take = lintr_take, .call = lintr_call, .done = lintr_done, .free = lintr_obj_free,
};

void seg__intr_on_doorbell(struct seg_adapter *a, uint64_t bits)
{
    struct intr_rx *rx = rx_tab[a->no];
    bool any = false;

    if (!rx)
        return;
    pthread_mutex_lock(&intr_mu);
    for (unsigned int b = 0; b < OSCI_DRV_DB_COUNT; b++)
        if (bits & (1ull << b))
            any |= reap_bit(rx, b, NULL);
    defer_callbacks(a);      /* also what a waiter collected for a callback interrupt and rang us for */
    if (any)
        pthread_cond_broadcast(&intr_cv);
    pthread_mutex_unlock(&intr_mu);
}

/* A waiter (intr_mu held) collected triggers of a callback interrupt: hand them to the event thread. */
static void defer_from_waiter(struct seg_adapter *a)
{
    pthread_mutex_unlock(&intr_mu);
    pthread_mutex_lock(&seg.lock);
    pthread_mutex_lock(&intr_mu);
    defer_callbacks(a);
    pthread_mutex_unlock(&seg.lock);
}

/* The least used bit, preferring bits without interrupts of the other kind (seg.lock, intr_mu held). */
static unsigned int pick_bit(const struct seg_adapter *a, const struct intr_rx *rx, bool cb)
{
    unsigned int n = a->info.n_doorbells > OSCI_DRV_DB_COUNT ? OSCI_DRV_DB_COUNT : a->info.n_doorbells;
    unsigned int best = 0;
    uint64_t best_key = UINT64_MAX;

    for (unsigned int b = 0; b < n; b++) {
        unsigned int other = cb ? rx->nwait[b] : rx->ncb[b];
        uint64_t key = (other ? (1ull << 32) : 0) + rx->nwait[b] + rx->ncb[b];
        if (key < best_key) {
            best_key = key;
            best = b;
        }
    }
    return best;
}

SISCI_API_EXPORT void SCICreateInterrupt(sci_desc_t sd, sci_local_interrupt_t *interrupt,
        unsigned int localAdapterNo, unsigned int *interruptNo, sci_cb_interrupt_t callback,
        void *callbackArg, unsigned int flags, sci_error_t *error)
{
    const unsigned int known = SCI_FLAG_USE_CALLBACK | SCI_FLAG_FIXED_INTNO | SCI_FLAG_SHARED_INT |
                               SCI_FLAG_COUNTING_INT;
    struct sci_local_interrupt *li;
    struct seg_adapter *a;
    struct intr_rx *rx = NULL;
    unsigned int no;
    int e;                      /* 0 or -errno */
    int rc;

    if ((e = seg__enter(sd, SEG_DESC_MAGIC, flags, known)) < 0)
        return seg__set_error(error, e);
    if (flags & (SCI_FLAG_SHARED_INT | SCI_FLAG_COUNTING_INT))
        return seg__set_error(error, -SEG_EFLAGNI);
    if (!interrupt || !interruptNo || ((flags & SCI_FLAG_USE_CALLBACK) && !callback))
        return seg__set_error(error, -EINVAL);

    pthread_mutex_lock(&seg.lock);
    e = create_checks(sd, localAdapterNo, flags, *interruptNo, false, &a, &no);
    if (e < 0)
        goto out_unlock;
    rc = rx_get(a, &rx);
    if (rc < 0) {
        e = -ENOMEM;
        goto out_unlock;
    }
    li = seg__obj_new(sizeof(*li), SEG_LINTR_MAGIC, &lintr_ops, flags, (void (*)(void))callback, callbackArg);
    if (!li) {
        e = -ENOMEM;
        goto out_unlock;
    }
    li->sd = sd;
    li->a = a;
    li->intno = no;
    if (seg__handle_add(li) < 0) {
        free(li);
        e = -ENOMEM;
        goto out_unlock;
    }
    pthread_mutex_lock(&intr_mu);
    li->bit = pick_bit(a, rx, li->o.cb != NULL);
    li->mask = 1ull << li->bit;
    if (li->o.cb)
        rx->ncb[li->bit]++;
    else
        rx->nwait[li->bit]++;
    bits_update(a, rx);
    pthread_mutex_unlock(&intr_mu);
    osci_list_add(&lintr_list, &li->link);
    pthread_mutex_unlock(&seg.lock);
    osci_log(OSCI_LOG_DEBUG, MOD, "adapter %u: interrupt %u created on doorbell %u%s", a->no, no, li->bit,
             li->o.cb ? " (callback)" : "");
    *interrupt = li;
    *interruptNo = no;
    return seg__set_error(error, 0);

out_unlock:
    pthread_mutex_unlock(&seg.lock);
    seg__set_error(error, e);
}

SISCI_API_EXPORT void SCIWaitForInterrupt(sci_local_interrupt_t li, unsigned int timeout, unsigned int flags,
        sci_error_t *error)
{
    struct seg_adapter *a;
    struct intr_rx *rx;
    uint64_t deadline, bits;
    int e;                      /* 0 or -errno */
    unsigned int b;
    int rc, left, slice;

    if ((e = seg__enter(li, SEG_LINTR_MAGIC, flags, 0)) < 0)
        return seg__set_error(error, e);
    if (atomic_load(&li->o.cb_active))
        return seg__set_error(error, -EPERM);
    deadline = seg__deadline(timeout);
    a = li->a;
    b = li->bit;
    atomic_fetch_add(&li->waiters, 1);
    pthread_mutex_lock(&intr_mu);
    rx = rx_tab[a->no];
    for (;;) {
        bool cb = false;
        if (atomic_load(&li->o.removed)) {
            e = -ECANCELED;
            break;
        }
        if (li->pending > 0) {
            li->pending--;
            e = 0;
            break;
        }
        left = seg__ms_left(deadline);
        if (left == 0) {
            /* last look: triggers whose doorbell nobody took yet (timeout 0 polls) */
            if (reap_bit(rx, b, &cb) && li->pending > 0) {
                li->pending--;
                e = 0;
            } else {
                e = -ETIMEDOUT;
            }
            if (cb)
                defer_from_waiter(a);
            pthread_cond_broadcast(&intr_cv);
            break;
        }
        slice = (left < 0 || left > SEG_WAIT_SLICE_MS) ? SEG_WAIT_SLICE_MS : left;
        if (bit_event(a, rx, b) || rx->leader[b]) {
            intr_cv_wait(slice);     /* the event thread or the bit's leader collects for us */
            continue;
        }
        /* lead: arm the bit, re-read the counters, then block in the driver without any lock */
        rx->leader[b] = true;
        __atomic_store_n(area_armed(rx, b), 1, __ATOMIC_SEQ_CST);   /* seq_cst store, then loads: no reorder */
        if (!reap_bit(rx, b, &cb)) {
            pthread_mutex_unlock(&intr_mu);
            bits = 0;
            rc = osci_drv_db_wait(a->drv, 1ull << b, slice, &bits);
            pthread_mutex_lock(&intr_mu);
            if (rc < 0 && rc != -ETIMEDOUT && rc != -EINTR && rc != -EAGAIN) {
                rx->leader[b] = false;
                pthread_cond_broadcast(&intr_cv);
                e = rc;
                break;
            }
            (void)reap_bit(rx, b, &cb);
        }
        rx->leader[b] = false;
        if (!bit_event(a, rx, b))
            __atomic_store_n(area_armed(rx, b), 0, __ATOMIC_SEQ_CST);
        if (cb)       /* a callback interrupt joined the bit meanwhile: let the event thread deliver */
            defer_from_waiter(a);
        pthread_cond_broadcast(&intr_cv);   /* others: your triggers, or lead now */
    }
    pthread_mutex_unlock(&intr_mu);
    atomic_fetch_sub(&li->waiters, 1);   /* last touch of li */
    seg__set_error(error, e);
}

SISCI_API_EXPORT void SCIRemoveInterrupt(sci_local_interrupt_t li, unsigned int flags, sci_error_t *error)
{
    struct seg_adapter *a;
    struct intr_rx *rx;
    int e;                     /* 0 or -errno */

    if ((e = seg__enter_locked(li, SEG_LINTR_MAGIC, flags, 0, true)) < 0)
        return seg__set_error(error, e);
    a = li->a;
    rx = rx_tab[a->no];
    atomic_store(&li->o.removed, true);
    seg__handle_del(li);   /* magic is cleared at the free, after the waiters left */
    osci_list_del(&li->link);
    pthread_mutex_lock(&intr_mu);
    /* the slots stay held until their connectors disconnect: a late trigger must not hit a new owner */
    for (unsigned int s = 0; s < rx->slot_hwm; s++)
        if (rx->slot[s].li == li)
            rx->slot[s].li = NULL;
    if (atomic_load(&li->o.cb_active))
        rx->ncb[li->bit]--;
    else
        rx->nwait[li->bit]--;
    bits_update(a, rx);
    pthread_mutex_unlock(&intr_mu);
    pthread_cond_broadcast(&seg.cond);
    /* wake waiters blocked in the driver by ringing the bit; they see `removed` and leave */
    while (atomic_load(&li->waiters) > 0) {
        pthread_mutex_lock(&intr_mu);
        pthread_cond_broadcast(&intr_cv);
        pthread_mutex_unlock(&intr_mu);
        if (has_db_wait(a))
            (void)osci_drv_db_ring(a->drv, a->drv->node_id, li->bit);
        pthread_mutex_unlock(&seg.lock);
        sleep_ms(1);
        pthread_mutex_lock(&seg.lock);
    }
    seg__obj_remove(&li->o);
    osci_log(OSCI_LOG_DEBUG, MOD, "adapter %u: interrupt %u removed", a->no, li->intno);
    seg__obj_put(&li->o);           /* freed here or by its last queued run */
    pthread_mutex_unlock(&seg.lock);
    seg__set_error(error, 0);
}

/* ------------------------------------------------------------------------------------------ */
/* Plain interrupts: connector side                                                           */

static int connect_checks(sci_desc_t sd, unsigned int node, unsigned int adapter_no, unsigned int intno,
                          struct seg_adapter **a_p)
{
    int rc = seg__api_adapter(adapter_no, a_p);

    if (rc < 0)
        return rc;
    if (!seg__desc_valid(sd))
        return -EINVAL;
    if (node == 0 || node >= SEG_MAX_NODES)
        return -EADDRNOTAVAIL;
    if (intno > SEG_INTNO_MAX)
        return -SEG_ENOINTNO;
    return 0;
}

/* A connect request's failure: the owner's -ENOENT is no such interrupt number; a link failure NOT_CONNECTED;
 * -EHOSTUNREACH stays NO_SUCH_NODEID. */
static int request_err(int rc)
{
    switch (rc) {
    case -ETIMEDOUT: case -EHOSTUNREACH: case -ENOSPC: return rc;
    case -ENOENT: return -SEG_ENOINTNO;
    default: return link_err(rc);
    }
}

static void slots_release(struct seg_adapter *a, uint32_t node, uint64_t conn_id);

/* Reach the owner's trigger area of a remote connection: map it, or import it for puts. Lock held. */
static int rintr_attach(struct sci_remote_interrupt *ri, const struct seg_msg *ok)
{
    struct seg_adapter *a = ri->a;
    void *p = NULL;
    int rc;

    if (ok->u.intr_connect_ok.slot >= SEG_INTR_SLOTS)
        return -EPROTO;
    rc = osci_drv_rmem_import(a->drv, ri->node, ok->u.intr_connect_ok.xport, ok->u.intr_connect_ok.xport_len,
                                  &ri->rmem);
    if (rc < 0)
        return rc;
    if ((a->info.caps & OSCI_DRV_CAP_MAP_REMOTE) && osci_drv_rmem_map(a->drv, ri->rmem, 0, AREA_SIZE, 0, &p) == 0) {
        ri->map = p;
        ri->ctr = (uint64_t *)((char *)p + AREA_SLOT_OFF) + ri->slot;
        ri->armed = (const uint64_t *)((char *)p + AREA_ARMED_OFF) + ri->bit;
    }
    return 0;
}

static void rintr_detach(struct sci_remote_interrupt *ri)
{
    struct seg_adapter *a = ri->a;

    if (ri->map)
        (void)osci_drv_rmem_unmap(a->drv, ri->rmem, ri->map, AREA_SIZE);
    if (ri->rmem)
        osci_drv_rmem_release(a->drv, ri->rmem);
    ri->map = NULL;
    ri->rmem = NULL;
    ri->ctr = NULL;
}

SISCI_API_EXPORT void SCIConnectInterrupt(sci_desc_t sd, sci_remote_interrupt_t *interrupt, unsigned int nodeId,
        unsigned int localAdapterNo, unsigned int interruptNo, unsigned int timeout, unsigned int flags,
        sci_error_t *error)
{
    struct sci_remote_interrupt *ri;
    struct sci_local_interrupt *li;
    struct seg_adapter *a;
    struct intr_rx *rx;
    struct seg_msg ok;
    int e;                      /* 0 or -errno */
    int rc;

    if ((e = seg__enter(sd, SEG_DESC_MAGIC, flags, SCI_FLAG_COUNTING_INT)) < 0)
        return seg__set_error(error, e);
    if (flags & SCI_FLAG_COUNTING_INT)
        return seg__set_error(error, -SEG_EFLAGNI);
    if (!interrupt)
        return seg__set_error(error, -EINVAL);
    ri = calloc(1, sizeof(*ri));
    if (!ri)
        return seg__set_error(error, -ENOMEM);

    pthread_mutex_lock(&seg.lock);
    e = connect_checks(sd, nodeId, localAdapterNo, interruptNo, &a);
    if (e < 0)
        goto out_free;
    ri->a = a;
    ri->node = nodeId;
    ri->intno = interruptNo;
    if (nodeId == a->drv->node_id) {
        li = find_lintr(a, interruptNo);
        if (!li) {
            e = -SEG_ENOINTNO;
            goto out_free;
        }
        rx = rx_tab[a->no];
        ri->conn_id = ++req_seq;
        pthread_mutex_lock(&intr_mu);
        rc = slot_alloc(rx, li, nodeId, ri->conn_id);
        pthread_mutex_unlock(&intr_mu);
        if (rc < 0) {
            e = -ENOMEM;
            goto out_free;
        }
        if (li->conn[nodeId] < UINT8_MAX)
            li->conn[nodeId]++;
        ri->slot = (unsigned int)rc;
        ri->bit = li->bit;
        ri->ctr = area_slot(rx, ri->slot);
        ri->armed = area_armed(rx, ri->bit);
    } else {
        rc = intr_request(a, nodeId, interruptNo, SEG_INTR_PLAIN, seg__deadline(timeout), &ok, &ri->conn_id);
        if (rc < 0) {
            e = request_err(rc);
            goto out_free;
        }
        ri->bit = ok.u.intr_connect_ok.db_bit;
        ri->slot = ok.u.intr_connect_ok.slot;
        rc = rintr_attach(ri, &ok);
        if (rc < 0) {
            osci_log(OSCI_LOG_WARN, MOD, "interrupt %u of node %u: cannot reach its trigger area: %s", interruptNo,
                     nodeId, osci_strerror(rc));
            send_disconnect(a, nodeId, interruptNo, SEG_INTR_PLAIN, ri->conn_id);
            e = -SEG_ESYSTEM;
            goto out_free;
        }
    }
    ri->magic = SEG_RINTR_MAGIC;
    ri->sd = sd;
    if (seg__handle_add(ri) < 0) {
        e = -ENOMEM;
        goto out_undo;
    }
    osci_list_add(&rintr_list, &ri->link);
    pthread_mutex_unlock(&seg.lock);
    *interrupt = ri;
    return seg__set_error(error, 0);

out_undo:
    ri->magic = 0;
    if (nodeId == a->drv->node_id) {
        slots_release(a, nodeId, ri->conn_id);
    } else {
        rintr_detach(ri);
        send_disconnect(a, nodeId, interruptNo, SEG_INTR_PLAIN, ri->conn_id);
    }
out_free:
    pthread_mutex_unlock(&seg.lock);
    free(ri);
    seg__set_error(error, e);
}

/*
 * A trigger to the own node, counter stored and armed: the driver need not report a doorbell from the
 * own node to the event thread, so collect here; ring only to wake a leader blocked in db_wait.
 */
static int local_trigger(struct sci_remote_interrupt *ri)
{
    struct seg_adapter *a = ri->a;
    struct intr_rx *rx;
    bool ring;
    int rc = 0;

    pthread_mutex_lock(&seg.lock);
    pthread_mutex_lock(&intr_mu);
    rx = rx_tab[a->no];
    ring = rx && rx->leader[ri->bit] && !bit_event(a, rx, ri->bit);
    if (rx && reap_bit(rx, ri->bit, NULL)) {
        defer_callbacks(a);
        pthread_cond_broadcast(&intr_cv);
    }
    pthread_mutex_unlock(&intr_mu);
    if (ring)
        rc = osci_drv_db_ring(a->drv, ri->node, ri->bit);
    pthread_mutex_unlock(&seg.lock);
    return rc < 0 ? link_err(rc) : 0;
}

SISCI_API_EXPORT void SCITriggerInterrupt(sci_remote_interrupt_t ri, unsigned int flags, sci_error_t *error)
{
    uint64_t v;
    int rc;

    if ((rc = seg__enter(ri, SEG_RINTR_MAGIC, flags, 0)) < 0)
        return seg__set_error(error, rc);
    if (atomic_load_explicit(&ri->lost, memory_order_relaxed))
        return seg__set_error(error, -ENOTCONN);
    atomic_fetch_add(&ri->count, 1);
    if (ri->ctr) {
        /* store the latest count; a store overtaken by another thread's is stored again */
        do {
            v = atomic_load(&ri->count);
            __atomic_store_n(ri->ctr, v, __ATOMIC_SEQ_CST);
        } while (atomic_load(&ri->count) != v);
        /* seq_cst store then seq_cst load: the owner's arm-then-recheck sees one or the other */
        if (!__atomic_load_n(ri->armed, __ATOMIC_SEQ_CST))
            return seg__set_error(error, 0);     /* not armed: the owner re-reads before it sleeps */
    } else {
        /* no load/store window: put the count, wait until it landed, ring every time */
        do {
            v = atomic_load(&ri->count);
            rc = osci_drv_put(ri->a->drv, ri->rmem, AREA_SLOT_OFF + ri->slot * sizeof(uint64_t), &v,
                                      sizeof(v));
            if (rc == 0)
                rc = osci_drv_flush(ri->a->drv, ri->rmem);
            if (rc < 0 && rc != -EOPNOTSUPP)
                return seg__set_error(error, link_err(rc));
        } while (atomic_load(&ri->count) != v);
    }
    if (ri->node == ri->a->drv->node_id)
        return seg__set_error(error, local_trigger(ri));
    rc = osci_drv_db_ring(ri->a->drv, ri->node, ri->bit);
    seg__set_error(error, rc < 0 ? link_err(rc) : 0);
}

SISCI_API_EXPORT void SCIDisconnectInterrupt(sci_remote_interrupt_t ri, unsigned int flags, sci_error_t *error)
{
    bool notify;
    int e;                     /* 0 or -errno */

    if ((e = seg__enter_locked(ri, SEG_RINTR_MAGIC, flags, 0, false)) < 0)
        return seg__set_error(error, e);
    seg__handle_del(ri);
    ri->magic = 0;
    osci_list_del(&ri->link);
    notify = false;
    if (ri->node == ri->a->drv->node_id) {
        slots_release(ri->a, ri->node, ri->conn_id);   /* what it triggered stays delivered */
    } else {
        notify = !atomic_load(&ri->lost);
        rintr_detach(ri);
    }
    if (notify)
        send_disconnect(ri->a, ri->node, ri->intno, SEG_INTR_PLAIN, ri->conn_id);
    pthread_mutex_unlock(&seg.lock);
    free(ri);
    seg__set_error(error, 0);
}

/* ------------------------------------------------------------------------------------------ */
/* Data interrupts: owner side                                                                */

static void ldintr_free(struct sci_local_data_interrupt *d)
{
    struct dintr_payload *p, *pt;
    struct dconn *c, *ct;

    osci_list_for_each_safe(p, pt, &d->queue, link)
        free(p);
    osci_list_for_each_safe(c, ct, &d->conns, link)
        free(c);
    d->o.magic = 0;
    free(d);
}

static struct dconn *find_dconn(struct sci_local_data_interrupt *d, uint32_t node, uint64_t conn_id)
{
    struct dconn *c;

    osci_list_for_each(c, &d->conns, link)
        if (c->node == node && c->conn_id == conn_id)
            return c;
    return NULL;
}

/* A payload of (node, conn_id) was consumed: give its credit back. Lock held. */
/* `self`: 1 when called from a callback run (which counts among the runs), else 0. */
static void dintr_credit(struct sci_local_data_interrupt *d, uint32_t node, uint64_t conn_id, unsigned int self)
{
    struct sci_remote_data_interrupt *rd;
    struct dconn *c = find_dconn(d, node, conn_id);
    struct seg_msg m;
    int rc;

    if (!c)
        return;                       /* disconnected meanwhile */
    /* in halves while payloads stream in; all of it once the receiver has caught up */
    if (++c->unreturned < SEG_DATA_INTR_CREDITS / 2 && (d->q_count > 0 || seg__obj_runs(&d->o) > self))
        return;
    if (node == d->a->drv->node_id) {
        osci_list_for_each(rd, &rdintr_list, link) {
            if (rd->a == d->a && rd->conn_id == conn_id && rd->node == node) {
                rd->credits += c->unreturned;
                pthread_cond_broadcast(&seg.cond);
                break;
            }
        }
        c->unreturned = 0;
        return;
    }
    memset(&m, 0, sizeof(m));
    m.type = SEG_MSG_INTR_CREDIT;
    m.src_node = d->a->drv->node_id;
    m.u.intr_credit.conn_id = conn_id;
    m.u.intr_credit.intno = d->intno;
    m.u.intr_credit.count = c->unreturned;
    c->unreturned = 0;
    rc = seg__send(d->a, node, &m);
    if (rc < 0)
        osci_log(OSCI_LOG_DEBUG, MOD, "INTR_CREDIT to node %u: %d", node, rc);
}

static void dintr_enqueue(struct sci_local_data_interrupt *d, struct dintr_payload *p)
{
    osci_list_add_tail(&d->queue, &p->link);
    d->q_count++;
    pthread_cond_broadcast(&seg.cond);
}

/* The callback, through the one runner (seg_core.c): one run per payload (arg). */
static bool ldintr_take(struct seg_obj *o, void *arg, struct seg_sevent *ev)
{
    (void)o;
    (void)arg;
    (void)ev;
    return true;
}

static sci_callback_action_t ldintr_call(struct seg_obj *o, void *arg, const struct seg_sevent *ev)
{
    struct dintr_payload *p = arg;

    (void)ev;
    return ((sci_cb_data_interrupt_t)o->cb)(o->cb_arg, (sci_local_data_interrupt_t)o, p->data, p->len,
                                             SCI_ERR_OK);
}

static void ldintr_end(struct seg_obj *o, void *arg, bool called)
{
    struct sci_local_data_interrupt *d = (struct sci_local_data_interrupt *)o;
    struct dintr_payload *p = arg;

    if (!called && !o->removed && !o->cb_active) {
        dintr_enqueue(d, p);   /* cancelled meanwhile: the payload goes to waiters */
        return;
    }
    if (called && !o->removed)
        dintr_credit(d, p->node, p->conn_id, 1);
    free(p);
}

static void ldintr_obj_free(struct seg_obj *o) { ldintr_free((struct sci_local_data_interrupt *)o); }

static const struct seg_obj_ops ldintr_ops = {
    .name = "data interrupt", .once = true, .take = ldintr_take, .call = ldintr_call, .end = ldintr_end,
    .free = ldintr_obj_free,
};

static void dintr_deliver(struct seg_adapter *a, uint32_t src, const struct seg_msg *m)
{
    struct sci_local_data_interrupt *d = find_ldintr(a, m->u.interrupt.intno);
    struct dintr_payload *p;
    uint32_t len = m->u.interrupt.len;

    if (!d || d->o.removed || len > SEG_DATA_INTR_MAX || !find_dconn(d, src, m->u.interrupt.conn_id)) {
        osci_log(OSCI_LOG_DEBUG, MOD, "data interrupt %u from node %u: no such connection, ignored",
                 m->u.interrupt.intno, src);
        return;
    }
    p = malloc(sizeof(*p));
    if (!p) {
        /* cannot happen silently: the sender holds the credit until the payload is consumed */
        osci_log(OSCI_LOG_ERROR, MOD, "data interrupt %u: out of memory, payload from node %u lost",
                 d->intno, src);
        return;
    }
    p->node = src;
    p->conn_id = m->u.interrupt.conn_id;
    p->len = len;
    memcpy(p->data, m->u.interrupt.data, len);
    if (!d->o.cb_active) {
        dintr_enqueue(d, p);
        return;
    }
    seg__obj_defer(&d->o, p);
}

SISCI_API_EXPORT void SCICreateDataInterrupt(sci_desc_t sd, sci_local_data_interrupt_t *interrupt,
        unsigned int localAdapterNo, unsigned int *interruptNo, sci_cb_data_interrupt_t callback,
        void *callbackArg, unsigned int flags, sci_error_t *error)
{
    const unsigned int known = SCI_FLAG_USE_CALLBACK | SCI_FLAG_FIXED_INTNO;
    struct sci_local_data_interrupt *d;
    struct seg_adapter *a;
    unsigned int no;
    int e;                      /* 0 or -errno */

    if ((e = seg__enter(sd, SEG_DESC_MAGIC, flags, known)) < 0)
        return seg__set_error(error, e);
    if (!interrupt || !interruptNo || ((flags & SCI_FLAG_USE_CALLBACK) && !callback))
        return seg__set_error(error, -EINVAL);
    d = seg__obj_new(sizeof(*d), SEG_LDINTR_MAGIC, &ldintr_ops, flags, (void (*)(void))callback, callbackArg);
    if (!d)
        return seg__set_error(error, -ENOMEM);
    osci_list_init(&d->queue);
    osci_list_init(&d->conns);

    pthread_mutex_lock(&seg.lock);
    e = create_checks(sd, localAdapterNo, flags, *interruptNo, true, &a, &no);
    if (e < 0)
        goto out_free;
    if (seg__handle_add(d) < 0) {
        e = -ENOMEM;
        goto out_free;
    }
    d->sd = sd;
    d->a = a;
    d->intno = no;
    osci_list_add(&ldintr_list, &d->link);
    pthread_mutex_unlock(&seg.lock);
    osci_log(OSCI_LOG_DEBUG, MOD, "adapter %u: data interrupt %u created", a->no, no);
    *interrupt = d;
    *interruptNo = no;
    return seg__set_error(error, 0);

out_free:
    pthread_mutex_unlock(&seg.lock);
    free(d);
    seg__set_error(error, e);
}

SISCI_API_EXPORT void SCIWaitForDataInterrupt(sci_local_data_interrupt_t d, void *data, unsigned int *length,
        unsigned int timeout, unsigned int flags, sci_error_t *error)
{
    struct dintr_payload *p;
    uint64_t deadline;
    int e;                      /* 0 or -errno */
    int rc = 0;

    if ((e = seg__enter_locked(d, SEG_LDINTR_MAGIC, flags, 0, true)) < 0)
        return seg__set_error(error, e);
    if (!length || (!data && *length > 0)) {
        pthread_mutex_unlock(&seg.lock);
        return seg__set_error(error, -EINVAL);
    }
    deadline = seg__deadline(timeout);
    if (d->o.cb_active) {
        pthread_mutex_unlock(&seg.lock);
        return seg__set_error(error, -EPERM);
    }
    d->waiters++;
    while (!d->o.removed && d->q_count == 0 && rc == 0)
        rc = seg__cond_wait(deadline);
    p = NULL;
    if (d->o.removed) {
        e = -ECANCELED;
    } else if (d->q_count > 0) {
        p = osci_list_first(&d->queue, struct dintr_payload, link);
        if (p->len > *length) {
            *length = p->len;
            p = NULL;
            e = -ERANGE;
        } else {
            memcpy(data, p->data, p->len);
            *length = p->len;
            osci_list_del(&p->link);
            d->q_count--;
            dintr_credit(d, p->node, p->conn_id, 0);
            e = 0;
        }
    } else {
        e = -ETIMEDOUT;
    }
    d->waiters--;
    pthread_cond_broadcast(&seg.cond);
    pthread_mutex_unlock(&seg.lock);
    free(p);
    seg__set_error(error, e);
}

SISCI_API_EXPORT void SCIRemoveDataInterrupt(sci_local_data_interrupt_t d, unsigned int flags, sci_error_t *error)
{
    int e;                     /* 0 or -errno */

    if ((e = seg__enter_locked(d, SEG_LDINTR_MAGIC, flags, 0, true)) < 0)
        return seg__set_error(error, e);
    seg__handle_del(d);
    d->o.magic = 0;
    osci_list_del(&d->link);
    seg__obj_remove(&d->o);
    while (d->waiters > 0)
        (void)seg__cond_wait(0);
    seg__obj_put(&d->o);           /* freed here or by its last queued run */
    pthread_mutex_unlock(&seg.lock);
    seg__set_error(error, 0);
}

/* A new connection to d from node (lock held). */
static int dconn_add(struct sci_local_data_interrupt *d, uint32_t node, uint64_t conn_id)
{
    struct dconn *c = calloc(1, sizeof(*c));

    if (!c)
        return -ENOMEM;
    c->node = node;
    c->conn_id = conn_id;
    osci_list_add(&d->conns, &c->link);
    if (node < SEG_MAX_NODES && d->conn[node] < UINT8_MAX)
        d->conn[node]++;
    return 0;
}

/* Drop the connection (node, conn_id), or every connection of node when conn_id is 0. Lock held. */
static void dconn_del(struct sci_local_data_interrupt *d, uint32_t node, uint64_t conn_id)
{
    struct dconn *c, *tmp;

    osci_list_for_each_safe(c, tmp, &d->conns, link) {
        if (c->node != node || (conn_id && c->conn_id != conn_id))
            continue;
        osci_list_del(&c->link);
        free(c);
        if (node < SEG_MAX_NODES && d->conn[node] > 0)
            d->conn[node]--;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Data interrupts: connector side                                                            */

SISCI_API_EXPORT void SCIConnectDataInterrupt(sci_desc_t sd, sci_remote_data_interrupt_t *interrupt,
        unsigned int nodeId, unsigned int localAdapterNo, unsigned int interruptNo, unsigned int timeout,
        unsigned int flags, sci_error_t *error)
{
    struct sci_remote_data_interrupt *rd;
    struct sci_local_data_interrupt *d = NULL;
    struct seg_adapter *a;
    struct seg_msg ok;
    int e;                      /* 0 or -errno */
    int rc;

    if ((e = seg__enter(sd, SEG_DESC_MAGIC, flags, 0)) < 0)
        return seg__set_error(error, e);
    if (!interrupt)
        return seg__set_error(error, -EINVAL);
    rd = calloc(1, sizeof(*rd));
    if (!rd)
        return seg__set_error(error, -ENOMEM);
    pthread_mutex_lock(&seg.lock);
    e = connect_checks(sd, nodeId, localAdapterNo, interruptNo, &a);
    if (e < 0)
        goto out_free;
    if (nodeId == a->drv->node_id) {
        d = find_ldintr(a, interruptNo);
        if (!d) {
            e = -SEG_ENOINTNO;
            goto out_free;
        }
        rd->conn_id = ++req_seq;
        if (dconn_add(d, nodeId, rd->conn_id) < 0) {
            e = -ENOMEM;
            goto out_free;
        }
        rd->credits = SEG_DATA_INTR_CREDITS;
    } else {
        rc = intr_request(a, nodeId, interruptNo, SEG_INTR_DATA, seg__deadline(timeout), &ok, &rd->conn_id);
        if (rc < 0) {
            e = request_err(rc);
            goto out_free;
        }
        rd->credits = ok.u.intr_connect_ok.credits;
    }
    rd->magic = SEG_RDINTR_MAGIC;
    rd->sd = sd;
    rd->a = a;
    rd->node = nodeId;
    rd->intno = interruptNo;
    if (seg__handle_add(rd) < 0) {
        e = -ENOMEM;
        goto out_undo;
    }
    osci_list_add(&rdintr_list, &rd->link);
    pthread_mutex_unlock(&seg.lock);
    *interrupt = rd;
    return seg__set_error(error, 0);

out_undo:
    rd->magic = 0;
    if (nodeId == a->drv->node_id)
        dconn_del(d, nodeId, rd->conn_id);
    else
        send_disconnect(a, nodeId, interruptNo, SEG_INTR_DATA, rd->conn_id);
out_free:
    pthread_mutex_unlock(&seg.lock);
    free(rd);
    seg__set_error(error, e);
}

SISCI_API_EXPORT void SCITriggerDataInterrupt(sci_remote_data_interrupt_t rd, void *data, unsigned int length,
        unsigned int flags, sci_error_t *error)
{
    struct sci_local_data_interrupt *d;
    struct seg_msg m;
    struct seg_adapter *a;
    uint64_t deadline;
    int rc = 0;

    if ((rc = seg__enter(rd, SEG_RDINTR_MAGIC, flags, 0)) < 0)
        return seg__set_error(error, rc);
    if (!data && length > 0)
        return seg__set_error(error, -EINVAL);
    if (length > SEG_DATA_INTR_MAX)
        return seg__set_error(error, -ERANGE);
    a = rd->a;
    memset(&m, 0, sizeof(m));
    m.type = SEG_MSG_INTERRUPT;
    m.src_node = a->drv->node_id;
    m.u.interrupt.intno = rd->intno;
    m.u.interrupt.len = length;
    m.u.interrupt.conn_id = rd->conn_id;
    if (length)
        memcpy(m.u.interrupt.data, data, length);

    deadline = osci_now_ms() + SEG_DATA_INTR_CREDIT_MS;
    pthread_mutex_lock(&seg.lock);
    /* flow control: a credit is room the owner keeps for this payload */
    while (seg__handle_live(rd, SEG_RDINTR_MAGIC) && !rd->lost && rd->credits == 0 && rc == 0)
        rc = seg__cond_wait(deadline);
    if (!seg__handle_live(rd, SEG_RDINTR_MAGIC)) {
        rc = -EBADF;
    } else if (rd->lost) {
        rc = -ENOTCONN;
    } else if (rd->credits == 0) {
        rc = -ETIMEDOUT;
    } else if (rd->node == a->drv->node_id) {
        d = find_ldintr(a, rd->intno);
        if (!d || d->o.removed) {
            rc = -ENOTCONN;
        } else {
            rd->credits--;
            dintr_deliver(a, rd->node, &m);
        }
    } else {
        rc = seg__send(a, rd->node, &m);
        if (rc == 0 && seg__handle_live(rd, SEG_RDINTR_MAGIC))
            rd->credits--;
    }
    pthread_mutex_unlock(&seg.lock);
    switch (rc) {
    case 0: case -ETIMEDOUT: return seg__set_error(error, rc);
    case -EBADF: return seg__set_error(error, -EINVAL);
    default: return seg__set_error(error, link_err(rc));
    }
}

SISCI_API_EXPORT void SCIDisconnectDataInterrupt(sci_remote_data_interrupt_t rd, unsigned int flags,
        sci_error_t *error)
{
    struct sci_local_data_interrupt *d;
    bool notify = false;
    int e;                     /* 0 or -errno */

    if ((e = seg__enter_locked(rd, SEG_RDINTR_MAGIC, flags, 0, false)) < 0)
        return seg__set_error(error, e);
    seg__handle_del(rd);
    rd->magic = 0;
    osci_list_del(&rd->link);
    if (rd->node == rd->a->drv->node_id) {
        d = find_ldintr(rd->a, rd->intno);
        if (d)
            dconn_del(d, rd->node, rd->conn_id);
    } else {
        notify = !rd->lost;
    }
    if (notify)
        send_disconnect(rd->a, rd->node, rd->intno, SEG_INTR_DATA, rd->conn_id);
    pthread_cond_broadcast(&seg.cond);
    pthread_mutex_unlock(&seg.lock);
    free(rd);
    seg__set_error(error, 0);
}

/* ------------------------------------------------------------------------------------------ */
/* Hooks called by the core (event thread, lock held)                                         */

static void on_intr_connect(struct seg_adapter *a, const struct seg_msg *m)
{
    const uint32_t src = m->src_node;
    const uint64_t id = m->u.intr_connect.req_id;
    struct sci_local_interrupt *li = NULL;
    struct sci_local_data_interrupt *d = NULL;
    struct intr_rx *rx = rx_tab[a->no];
    struct seg_msg r;
    int rc = -ENOENT;

    memset(&r, 0, sizeof(r));
    r.src_node = a->drv->node_id;
    if (src == 0 || src >= SEG_MAX_NODES || id == 0) {
        rc = -EINVAL;
    } else if (m->u.intr_connect.kind == SEG_INTR_PLAIN && (li = find_lintr(a, m->u.intr_connect.intno))) {
        pthread_mutex_lock(&intr_mu);
        rc = slot_alloc(rx, li, src, id);
        pthread_mutex_unlock(&intr_mu);
        if (rc >= 0) {
            r.u.intr_connect_ok.db_bit = li->bit;
            r.u.intr_connect_ok.slot = (uint32_t)rc;
            r.u.intr_connect_ok.xport_len = (uint32_t)rx->xport_len;
            memcpy(r.u.intr_connect_ok.xport, rx->xport, rx->xport_len);
            if (li->conn[src] < UINT8_MAX)
                li->conn[src]++;
            rc = 0;
        }
    } else if (m->u.intr_connect.kind == SEG_INTR_DATA && (d = find_ldintr(a, m->u.intr_connect.intno))) {
        rc = dconn_add(d, src, id);
        r.u.intr_connect_ok.credits = SEG_DATA_INTR_CREDITS;
    }
    if (rc == 0) {
        r.type = SEG_MSG_INTR_CONNECT_OK;
        r.u.intr_connect_ok.req_id = id;
    } else {
        memset(&r.u, 0, sizeof(r.u));
        r.type = SEG_MSG_INTR_CONNECT_REFUSED;
        r.u.refused.conn_id = id;
        r.u.refused.reason = rc;
    }
    rc = seg__send(a, src, &r);
    if (rc < 0)
        osci_log(OSCI_LOG_WARN, MOD, "reply to INTR_CONNECT of node %u: %d", src, rc);
}

static void on_intr_reply(struct seg_adapter *a, const struct seg_msg *m)
{
    uint64_t id = m->type == SEG_MSG_INTR_CONNECT_OK ? m->u.intr_connect_ok.req_id : m->u.refused.conn_id;
    struct intr_req *r;

    osci_list_for_each(r, &req_list, link) {
        if (r->a != a || r->node != m->src_node || r->id != id || r->done)
            continue;
        r->done = true;
        if (m->type == SEG_MSG_INTR_CONNECT_OK) {
            r->result = 0;
            r->reply = *m;
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
    /* the requester gave up (timeout): let the owner release the slot or credits it set aside */
    if (m->type == SEG_MSG_INTR_CONNECT_OK)
        send_disconnect(a, m->src_node, 0, m->u.intr_connect_ok.credits ? SEG_INTR_DATA : SEG_INTR_PLAIN, id);
}

/* Free the slots of node (conn_id 0: all of them) after collecting what they hold. Lock held. */
static void slots_release(struct seg_adapter *a, uint32_t node, uint64_t conn_id)
{
    struct intr_rx *rx = rx_tab[a->no];
    bool any = false;

    if (!rx)
        return;
    pthread_mutex_lock(&intr_mu);
    for (unsigned int s = 0; s < rx->slot_hwm; s++) {
        struct intr_slot *sl = &rx->slot[s];
        if (!sl->conn_id || sl->node != node || (conn_id && sl->conn_id != conn_id))
            continue;
        if (sl->li)
            any |= reap_bit(rx, sl->li->bit, NULL);
        if (sl->li && sl->li->conn[node] > 0)
            sl->li->conn[node]--;
        memset(sl, 0, sizeof(*sl));
    }
    if (any) {
        defer_callbacks(a);
        pthread_cond_broadcast(&intr_cv);
    }
    pthread_mutex_unlock(&intr_mu);
}

static void on_intr_disconnect(struct seg_adapter *a, const struct seg_msg *m)
{
    const uint32_t src = m->src_node;

    if (src == 0 || src >= SEG_MAX_NODES || m->u.intr_disconnect.conn_id == 0)
        return;
    if (m->u.intr_disconnect.kind == SEG_INTR_PLAIN) {
        slots_release(a, src, m->u.intr_disconnect.conn_id);
    } else if (m->u.intr_disconnect.kind == SEG_INTR_DATA) {
        /* connection ids are unique per node: no need to trust the number */
        struct sci_local_data_interrupt *d;

        osci_list_for_each(d, &ldintr_list, link)
            if (d->a == a)
                dconn_del(d, src, m->u.intr_disconnect.conn_id);
    }
}

static void on_intr_credit(struct seg_adapter *a, const struct seg_msg *m)
{
    struct sci_remote_data_interrupt *rd;

    osci_list_for_each(rd, &rdintr_list, link) {
        if (rd->a == a && rd->node == m->src_node && rd->conn_id == m->u.intr_credit.conn_id) {
            rd->credits += m->u.intr_credit.count;
            if (rd->credits > SEG_DATA_INTR_CREDITS)
                rd->credits = SEG_DATA_INTR_CREDITS;   /* a confused peer cannot grow the window */
            pthread_cond_broadcast(&seg.cond);
            return;
        }
    }
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
    case SEG_MSG_INTR_CREDIT:
        on_intr_credit(a, m);
        break;
    case SEG_MSG_INTERRUPT:
        dintr_deliver(a, m->src_node, m);
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
    struct sci_local_data_interrupt *d;
    struct intr_req *r;

    if (node >= SEG_MAX_NODES)
        return;
    osci_list_for_each(ri, &rintr_list, link) {
        if (ri->a == a && ri->node == node) {
            atomic_store(&ri->lost, true);
            if (ri->rmem)
                (void)osci_drv_rmem_revoke(a->drv, ri->rmem);   /* a racing trigger's store lands nowhere */
        }
    }
    osci_list_for_each(rd, &rdintr_list, link)
        if (rd->a == a && rd->node == node)
            rd->lost = true;
    slots_release(a, node, 0);
    osci_list_for_each(d, &ldintr_list, link)
        if (d->a == a)
            dconn_del(d, node, 0);
    osci_list_for_each(r, &req_list, link) {
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

    osci_list_for_each(li, &lintr_list, link)
        if (li->sd == sd)
            return true;
    osci_list_for_each(ri, &rintr_list, link)
        if (ri->sd == sd)
            return true;
    osci_list_for_each(d, &ldintr_list, link)
        if (d->sd == sd)
            return true;
    osci_list_for_each(rd, &rdintr_list, link)
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

    while ((li = osci_list_first(&lintr_list, struct sci_local_interrupt, link))) {
        osci_list_del(&li->link);
        seg__handle_del(li);
        lintr_free(li);
    }
    while ((ri = osci_list_first(&rintr_list, struct sci_remote_interrupt, link))) {
        osci_list_del(&ri->link);
        seg__handle_del(ri);
        if (ri->node != ri->a->drv->node_id)
            rintr_detach(ri);
        ri->magic = 0;
        free(ri);
    }
    while ((d = osci_list_first(&ldintr_list, struct sci_local_data_interrupt, link))) {
        osci_list_del(&d->link);
        seg__handle_del(d);
        ldintr_free(d);
    }
    while ((rd = osci_list_first(&rdintr_list, struct sci_remote_data_interrupt, link))) {
        osci_list_del(&rd->link);
        seg__handle_del(rd);
        rd->magic = 0;
        free(rd);
    }
    for (unsigned int i = 0; i < OSCI_MAX_ADAPTERS; i++) {
        struct seg_adapter *a = &seg.adapter[i];
        if (rx_tab[i] && a->drv) {
            a->db_allocated = 0;
            a->db_event_mask = 0;
            update_event_mask(a);
            rx_free(a, rx_tab[i]);
        }
        rx_tab[i] = NULL;
    }
}
