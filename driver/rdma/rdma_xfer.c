/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* rdma driver: put/get/flush: waits on the send CQ, synchronous transfers, posted puts. */
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "osci_time.h"
#include "rdma_int.h"

static int wc_errno(enum ibv_wc_status s)
{
    switch (s) {
    case IBV_WC_RETRY_EXC_ERR:
    case IBV_WC_RNR_RETRY_EXC_ERR:
    case IBV_WC_WR_FLUSH_ERR:
        return -ECONNRESET;
    default:
        return -EIO;
    }
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#endif
}

/* What a waiter waits for (send_lock held). */
enum wait_for {
    WAIT_DONE,                       /* every work request of a struct rdma_wait completed */
    WAIT_ROOM,                       /* a free send queue entry */
    WAIT_RING,                       /* room for one more posted put of `need` ring bytes */
    WAIT_POSTED,                     /* posted puts completed up to number `need` */
};
struct rdma_cond {
    enum wait_for what;
    const struct rdma_wait *w;       /* WAIT_DONE */
    uint64_t need;                   /* WAIT_RING, WAIT_POSTED */
};

/*
 * Where n contiguous ring bytes (n <= size) would start, or UINT64_MAX when they do not fit yet. An
 * empty ring starts again at a multiple of size, so a piece that fits the ring always fits it then.
 */
static uint64_t ring_fit(const struct rdma_conn *c, uint64_t size, uint64_t n)
{
    uint64_t off, skip;

    if (c->ring_head == c->ring_tail)
        return (c->ring_head + size - 1) / size * size;
    off = c->ring_head % size;
    skip = off + n > size ? size - off : 0;
    return c->ring_head + skip + n - c->ring_tail <= size ? c->ring_head + skip : UINT64_MAX;
}

static bool wait_met(const struct rdma_conn *c, const struct rdma_cond *k)
{
    switch (k->what) {
    case WAIT_DONE:
        return k->w->pending == 0;
    case WAIT_ROOM:
        return c->sq_out < RDMA_SEND_DEPTH;
    case WAIT_RING:
        return c->sq_out < RDMA_PUT_DEPTH && (!k->need || ring_fit(c, c->d->o.bounce, k->need) != UINT64_MAX);
    case WAIT_POSTED:
        return c->post_done >= k->need;
    }
    return true;
}

/* A wait ran past wait_ms: the connection is failed, and its outstanding wr_ids are never read again. */
static void wait_abandon(struct rdma_drv *d, struct rdma_conn *c)
{
    int none = 0;
    if (!c->abandoned)
        osci_log(OSCI_LOG_ERROR, MOD, "node %u: no completion within %u ms: failing the connection", c->node,
                 d->o.wait_ms);
    c->abandoned = true;
    if (atomic_compare_exchange_strong(&c->wc_error, &none, (int)IBV_WC_GENERAL_ERR + 1))
        wake(d);
    pthread_cond_broadcast(&c->send_cond);
}

/*
 * Waits (send_lock held, held again on return) until wait_met(): polling first, then sleeping on the
 * send CQ's completion channel. 0, -ETIMEDOUT after wait_ms (the connection is then failed), -EIO.
 * Every outstanding work request completes, with a flush error if the link fails.
 *
 * Polling lasts spin_us; a wait for the caller's own work (WAIT_DONE) polls up to three times as
 * long as such waits took lately (at most RDMA_SPIN_MAX_US), as perftest polls: waking from the
 * channel costs a device interrupt, a wake-up and two system calls, a large share of a slow
 * device's round trip (soft-RoCE). With one CPU the poll loop yields it to the device's own work.
 */
static int wait_cq(struct rdma_drv *d, struct rdma_conn *c, const struct rdma_cond *k)
{
    uint64_t t0 = osci_now_ns(), spin_ns = (uint64_t)d->o.spin_us * 1000, spin_end;
    uint64_t deadline = t0 + (uint64_t)d->o.wait_ms * 1000000;

    if (k->what == WAIT_DONE && 3 * c->done_ns > spin_ns)
        spin_ns = 3 * c->done_ns < RDMA_SPIN_MAX_US * 1000ull ? 3 * c->done_ns : RDMA_SPIN_MAX_US * 1000ull;
    spin_end = t0 + spin_ns;

    rd_send_reap(d, c);
    while (!wait_met(c, k) && !c->abandoned && osci_now_ns() < spin_end) {
        pthread_mutex_unlock(&c->send_lock);
        if (d->one_cpu)
            sched_yield();            /* the device's work (soft-RoCE) needs this CPU */
        else
            cpu_relax();
        pthread_mutex_lock(&c->send_lock);
        rd_send_reap(d, c);
    }
    for (;;) {
        uint64_t now;
        struct ibv_cq *cq;
        void *ctx;

        if (wait_met(c, k))
            return 0;
        if (c->abandoned)
            return -EIO;
        now = osci_now_ns();
        if (now >= deadline) {
            wait_abandon(d, c);
            return -ETIMEDOUT;
        }
        if (c->send_leader) {
            struct timespec ts = osci_ts_after_ms(CLOCK_REALTIME, 100);
            (void)pthread_cond_timedwait(&c->send_cond, &c->send_lock, &ts);
            rd_send_reap(d, c);
            continue;
        }
        if (!c->send_armed) {
            if (ibv_req_notify_cq(c->send_cq, 0) != 0) {
                osci_log(OSCI_LOG_WARN, MOD, "node %u: ibv_req_notify_cq (send): %s", c->node, strerror(errno));
                return -EIO;
            }
            c->send_armed = true;
            rd_send_reap(d, c);          /* a completion that came before arming raised no event */
            continue;
        }
        c->send_leader = true;
        pthread_mutex_unlock(&c->send_lock);
        {
            struct pollfd pfd = { .fd = c->send_cc->fd, .events = POLLIN };
            uint64_t left_ms = (deadline - now + 999999) / 1000000;
            (void)poll(&pfd, 1, left_ms > 100 ? 100 : (int)left_ms);
        }
        pthread_mutex_lock(&c->send_lock);
        if (ibv_get_cq_event(c->send_cc, &cq, &ctx) == 0) {
            ibv_ack_cq_events(cq, 1);
            c->send_armed = false;
        }
        c->send_leader = false;
        rd_send_reap(d, c);
        pthread_cond_broadcast(&c->send_cond);
    }
}

/* The export whose mapping holds [local, local + len), or NULL. */
static struct osci_drv_mem *export_of(struct rdma_drv *d, const uint8_t *local, size_t len)
{
    struct osci_drv_mem *lm;

    pthread_mutex_lock(&d->lock);
    osci_list_for_each(lm, &d->exports, link)
        if (lm->addr && local >= lm->addr && (size_t)(local - lm->addr) <= lm->size &&
            len <= lm->size - (size_t)(local - lm->addr))
            break;
    pthread_mutex_unlock(&d->lock);
    if (&lm->link == &d->exports.n)
        lm = NULL;
    return lm;
}

/*
 * A transfer that returns once all its work completed: every get, and puts from exported memory
 * larger than RDMA_COPY_MAX. Pieces stop at remote chunk ends, at local chunk ends (zero copy from
 * an export) and at RDMA_MAX_WR; all pieces of a batch are in flight at once (up to the send
 * queue's depth). Through the bounce buffer when the local buffer is not exported. A READ waits
 * (fence) for posted puts before it: it must see what they wrote.
 */
static int xfer_sync(struct rdma_drv *d, struct rdma_conn *c, struct osci_drv_rmem *rm, size_t roff,
                     uint8_t *local, size_t len, bool write)
{
    struct osci_drv_mem *lm = export_of(d, local, len);
    size_t done = 0;
    int ret = 0;

    if (!lm)
        pthread_mutex_lock(&d->bounce_lock);
    pthread_mutex_lock(&c->send_lock);
    while (done < len && !ret) {
        size_t batch = len - done, off = 0;
        struct rdma_wait w = { 0, IBV_WC_SUCCESS, false };
        struct rdma_cond room = { WAIT_ROOM, NULL, 0 }, all = { WAIT_DONE, &w, 0 };

        if (!lm) {
            if (batch > d->o.bounce)
                batch = d->o.bounce;
            if (write)
                memcpy(d->bounce, local + done, batch);
        }
        while (off < batch && !ret) {
            uint64_t ro = roff + done + off;
            uint64_t piece = rdma__piece(ro, batch - off, rm->x.chunk, d->max_wr_len);
            struct ibv_send_wr wr, *bad;
            struct ibv_sge sge;
            int r;

            memset(&wr, 0, sizeof(wr));
            if (lm) {
                uint64_t lo = (uint64_t)(local - lm->addr) + done + off;
                piece = rdma__piece(lo, piece, lm->chunk, 0);
                sge.addr = (uintptr_t)(local + done + off);
                sge.lkey = lm->mr[lo / lm->chunk]->lkey;
            } else {
                sge.addr = (uintptr_t)(d->bounce + off);
                sge.lkey = d->bounce_mr->lkey;
            }
            sge.length = (uint32_t)piece;
            wr.wr_id = (uintptr_t)&w;
            wr.sg_list = &sge;
            wr.num_sge = 1;
            wr.opcode = write ? IBV_WR_RDMA_WRITE : IBV_WR_RDMA_READ;
            wr.send_flags = IBV_SEND_SIGNALED;
            wr.wr.rdma.remote_addr = rm->x.addr + ro;
            wr.wr.rdma.rkey = rm->x.rkey[ro / rm->x.chunk];
            rd_send_reap(d, c);
            if (!write && c->post_done != c->post_seq)
                wr.send_flags |= IBV_SEND_FENCE;
            if (!wait_met(c, &room)) {
                r = wait_cq(d, c, &room);    /* room comes back as work completes */
                if (r < 0) {
                    ret = r;
                    break;
                }
            }
            if (w.failed || atomic_load(&c->wc_error))
                break;
            r = ibv_post_send(c->id->qp, &wr, &bad);
            if (r) {
                osci_log(OSCI_LOG_WARN, MOD, "node %u: ibv_post_send (%s): %s", c->node, write ? "write" : "read",
                         strerror(r));
                ret = -EIO;
                break;
            }
            if (!c->sq_out++)
                c->sq_progress_ms = osci_now_ms();
            w.pending++;
            off += piece;
        }
        if (w.pending) {
            uint64_t t0 = osci_now_ns();
            int r = wait_cq(d, c, &all);
            if (r < 0 && !ret)
                ret = r;
            c->done_ns += ((int64_t)(osci_now_ns() - t0) - (int64_t)c->done_ns) / 8;
        }
        if (!ret && (w.failed || (off < batch && atomic_load(&c->wc_error)))) {
            enum ibv_wc_status st = w.failed ? w.status : (enum ibv_wc_status)(atomic_load(&c->wc_error) - 1);
            osci_log(OSCI_LOG_WARN, MOD, "node %u: RDMA %s failed: %s", c->node, write ? "WRITE" : "READ",
                     ibv_wc_status_str(st));
            ret = wc_errno(st);
        }
        if (!ret && !lm && !write)
            memcpy(local + done, d->bounce, batch);
        if (!ret)
            done += batch;
    }
    pthread_mutex_unlock(&c->send_lock);
    if (!lm)
        pthread_mutex_unlock(&d->bounce_lock);
    return ret;
}

/* The connection's put ring, registered on first use (send_lock held). */
static int ring_setup(struct rdma_drv *d, struct rdma_conn *c)
{
    int ret;

    c->ring = aligned_alloc(4096, (d->o.bounce + 4095) & ~(uint64_t)4095);
    if (!c->ring)
        return -ENOMEM;
    c->ring_mr = ibv_reg_mr(d->pd, c->ring, d->o.bounce, IBV_ACCESS_LOCAL_WRITE);
    if (!c->ring_mr) {
        ret = errno ? -errno : -ENOMEM;
        osci_log(OSCI_LOG_ERROR, MOD, "node %u: cannot register the %" PRIu64 "-byte put ring: %s", c->node,
                 d->o.bounce, strerror(-ret));
        free(c->ring);
        c->ring = NULL;
        return ret;
    }
    return 0;
}

/*
 * A posted put: each piece is copied into the ring (or goes inline) and its RDMA WRITE is posted
 * without waiting; a wait happens only for room in the ring or the send queue. wr_id is 1 + twice
 * the ring position where the piece's data ends: its completion gives the ring back up to there.
 * *posted_p: whether any piece was posted.
 */
static int put_posted(struct rdma_drv *d, struct rdma_conn *c, struct osci_drv_rmem *rm, size_t roff,
                      const uint8_t *src, size_t len, bool *posted_p)
{
    uint64_t size = d->o.bounce, cap = size / 2 < RDMA_PUT_PIECE ? size / 2 : RDMA_PUT_PIECE;
    bool inl = len <= c->max_inline;
    size_t done = 0;
    int ret = 0, st;

    if (cap > d->max_wr_len)
        cap = d->max_wr_len;
    pthread_mutex_lock(&c->send_lock);
    if (!inl && !c->ring && (ret = ring_setup(d, c)) < 0)
        goto out;
    while (done < len) {
        uint64_t ro = roff + done, piece = inl ? len : rdma__piece(ro, len - done, rm->x.chunk, cap), start;
        struct rdma_cond k = { WAIT_RING, NULL, inl ? 0 : piece };
        struct ibv_send_wr wr, *bad;
        struct ibv_sge sge;
        int r;

        rd_send_reap(d, c);
        if (!wait_met(c, &k) && (ret = wait_cq(d, c, &k)) < 0)
            break;
        if ((st = atomic_load(&c->wc_error)) != 0) {
            ret = wc_errno((enum ibv_wc_status)(st - 1));
            break;
        }
        memset(&wr, 0, sizeof(wr));
        if (inl) {
            start = c->ring_head;
            sge.addr = (uintptr_t)src;
            sge.lkey = 0;                 /* inline: the data is copied into the request */
        } else {
            start = ring_fit(c, size, piece);
            if (c->ring_head == c->ring_tail)
                c->ring_head = c->ring_tail = start;   /* an empty ring starts again at offset 0 */
            memcpy(c->ring + start % size, src + done, piece);
            sge.addr = (uintptr_t)(c->ring + start % size);
            sge.lkey = c->ring_mr->lkey;
        }
        sge.length = (uint32_t)piece;
        wr.wr_id = (start + (inl ? 0 : piece)) << 1 | 1;
        wr.sg_list = &sge;
        wr.num_sge = 1;
        wr.opcode = IBV_WR_RDMA_WRITE;
        wr.send_flags = IBV_SEND_SIGNALED | (inl ? IBV_SEND_INLINE : 0);
        wr.wr.rdma.remote_addr = rm->x.addr + ro;
        wr.wr.rdma.rkey = rm->x.rkey[ro / rm->x.chunk];
        r = ibv_post_send(c->id->qp, &wr, &bad);
        if (r) {
            osci_log(OSCI_LOG_WARN, MOD, "node %u: ibv_post_send (posted write): %s", c->node, strerror(r));
            ret = -EIO;
            break;
        }
        if (!inl)
            c->ring_head = start + piece;
        if (!c->sq_out++)
            c->sq_progress_ms = osci_now_ms();
        c->post_seq++;
        *posted_p = true;
        done += piece;
    }
    if (*posted_p)
        rm->pseq = c->post_seq;
out:
    pthread_mutex_unlock(&c->send_lock);
    return ret;
}

/*
 * Ends rm's hold on the connection that carries its posted puts (rm->lock held): waits until they
 * completed and remembers in rm->err when not all of them reached remote memory.
 */
static void rmem_settle(struct rdma_drv *d, struct osci_drv_rmem *rm)
{
    struct rdma_conn *c = rm->pc;
    struct rdma_cond k = { WAIT_POSTED, NULL, rm->pseq };
    int r = 0, st;
    bool ok;

    if (!c)
        return;
    pthread_mutex_lock(&c->send_lock);
    rd_send_reap(d, c);
    if (!wait_met(c, &k))
        r = wait_cq(d, c, &k);
    ok = c->post_ok >= rm->pseq;
    st = atomic_load(&c->wc_error);
    pthread_mutex_unlock(&c->send_lock);
    if (!ok && !rm->err) {
        rm->err = st ? wc_errno((enum ibv_wc_status)(st - 1)) : -EIO;
        osci_log(OSCI_LOG_WARN, MOD, "node %u: posted RDMA WRITEs failed: %s%s", c->node,
                 st ? ibv_wc_status_str((enum ibv_wc_status)(st - 1)) : "no completion",
                 r == -ETIMEDOUT ? " (timed out)" : "");
    }
    rm->pc = NULL;
    rd_conn_put(d, c);
}

static int rmem_check(const struct osci_drv_rmem *rm, size_t roff, const void *local, size_t len)
{
    if (!rm || (!local && len))
        return -EINVAL;
    if (roff > rm->x.size || len > rm->x.size - roff)
        return -EINVAL;               /* out of range (osci_drv_put) */
    return 0;
}

static int conn_of(struct rdma_drv *d, const struct osci_drv_rmem *rm, struct rdma_conn **c_p)
{
    int ret = rd_conn_get(d, rm->node, c_p);

    if (ret < 0)
        return ret;
    if ((*c_p)->peer_epoch != rm->epoch) {
        rd_conn_put(d, *c_p);
        return -ECONNRESET;               /* imported from an earlier incarnation */
    }
    return 0;
}

int rd_put(struct osci_drv *drv, struct osci_drv_rmem *rm, size_t roff, const void *src, size_t len)
{
    struct rdma_drv *d = to_rdma(drv);
    const uint8_t *s = src;
    struct rdma_conn *c;
    bool posted = false;
    int ret;

    if ((ret = rmem_check(rm, roff, src, len)) < 0 || !len)
        return ret;
    pthread_mutex_lock(&rm->lock);
    ret = conn_of(d, rm, &c);
    if (rm->pc && (ret < 0 || rm->pc != c))
        rmem_settle(d, rm);               /* its connection failed: the outcome of its puts is known */
    if (!ret && rm->err) {
        ret = rm->err;                    /* an earlier posted put failed: reported once */
        rm->err = 0;
        rd_conn_put(d, c);
        goto out;
    }
    if (ret < 0)
        goto out;
    if (len > RDMA_COPY_MAX && export_of(d, s, len))
        ret = xfer_sync(d, c, rm, roff, (uint8_t *)(uintptr_t)s, len, true);   /* zero copy, waited for */
    else
        ret = put_posted(d, c, rm, roff, s, len, &posted);
    if (posted && !rm->pc)
        rm->pc = c;                       /* keeps the reference until rmem_settle() */
    else
        rd_conn_put(d, c);
out:
    pthread_mutex_unlock(&rm->lock);
    return ret;
}

int rd_get(struct osci_drv *drv, struct osci_drv_rmem *rm, size_t roff, void *dst, size_t len)
{
    struct rdma_drv *d = to_rdma(drv);
    struct rdma_conn *c;
    int ret;

    if ((ret = rmem_check(rm, roff, dst, len)) < 0 || !len)
        return ret;
    if ((ret = conn_of(d, rm, &c)) < 0)
        return ret;
    ret = xfer_sync(d, c, rm, roff, dst, len, false);
    rd_conn_put(d, c);
    return ret;
}

/* Every connection, current and failed, with a reference each (for flush(NULL)). */
static int conns_hold(struct rdma_drv *d, struct rdma_conn ***v_p, unsigned int *n_p)
{
    struct rdma_conn **v, *z;
    unsigned int n = 0, max = d->n_hosts;

    pthread_mutex_lock(&d->lock);
    osci_list_for_each(z, &d->zombies, zombie_link)
        max++;
    v = malloc((max ? max : 1) * sizeof(*v));
    if (!v) {
        pthread_mutex_unlock(&d->lock);
        return -ENOMEM;
    }
    for (unsigned int i = 0; i < d->n_hosts; i++) {
        struct rdma_conn *c = d->peer[d->hosts[i].node_id].conn;
        if (c && c->has_qp)
            c->refs++, v[n++] = c;
    }
    osci_list_for_each(z, &d->zombies, zombie_link)
        if (z->has_qp)
            z->refs++, v[n++] = z;
    pthread_mutex_unlock(&d->lock);
    *v_p = v;
    *n_p = n;
    return 0;
}

int rd_flush(struct osci_drv *drv, struct osci_drv_rmem *rm)
{
    struct rdma_drv *d = to_rdma(drv);
    struct rdma_conn **v;
    unsigned int n;
    int ret = 0;

    if (rm) {
        pthread_mutex_lock(&rm->lock);
        rmem_settle(d, rm);
        ret = rm->err;
        rm->err = 0;
        pthread_mutex_unlock(&rm->lock);
        return ret;
    }
    if (d->observe)
        return 0;
    if ((ret = conns_hold(d, &v, &n)) < 0)
        return ret;
    for (unsigned int i = 0; i < n; i++) {
        struct rdma_conn *c = v[i];
        struct rdma_cond k;
        int st;

        pthread_mutex_lock(&c->send_lock);
        k = (struct rdma_cond){ WAIT_POSTED, NULL, c->post_seq };
        rd_send_reap(d, c);
        if (!wait_met(c, &k))
            (void)wait_cq(d, c, &k);
        st = atomic_load(&c->wc_error);
        if (c->post_ok < k.need && !ret)
            ret = st ? wc_errno((enum ibv_wc_status)(st - 1)) : -EIO;
        pthread_mutex_unlock(&c->send_lock);
        rd_conn_put(d, c);
    }
    free(v);
    return ret;
}
