/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * DMA queues (SISCI 2.x): a copy engine of the library's own. Each queue has one worker thread
 * that copies the posted transfer in chunks of SEG_DMA_CHUNK with the driver's put (local ->
 * remote) or get (remote -> local), checking for an abort and re-resolving both segments
 * between chunks. One transfer may be posted per queue at a time.
 *
 *   IDLE | DONE | ABORTED | ERROR --start--> POSTED
 *   POSTED --complete--> DONE,  POSTED --abort--> ABORTED,  POSTED --fail--> ERROR
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "seg_intr.h"

#define MOD "dma"

enum dmaq_event { DMAQ_EV_START, DMAQ_EV_COMPLETE, DMAQ_EV_ABORT, DMAQ_EV_FAIL, DMAQ_EV_COUNT };

struct sci_dma_queue {
    struct seg_obj o;                  /* first: magic, references, removed, the transfer's callback */
    sci_desc_t sd;
    struct seg_adapter *a;
    unsigned int max_entries;          /* vector entries per transfer */
    sci_dma_queue_state_t state;       /* written only by dmaq_transition */
    pthread_t worker;
    pthread_cond_t cond;               /* wakes the worker (with seg.lock) */
    bool stop;
    bool job_ready;
    /* the posted transfer */
    sci_local_segment_t ls;
    sci_remote_segment_t rs;
    unsigned int n;
    dis_dma_vec_t *vec;
    bool read;
    _Atomic bool abort;
    int status;                        /* outcome of the last transfer: 0 or -errno */
    unsigned int waiters;
    struct osci_list_node link;        /* in dmaq_list */
};

static struct osci_list_head dmaq_list = OSCI_LIST_HEAD_INIT(dmaq_list);   /* guarded by seg.lock */

/* Engine selectors programs pass to pick Dolphin's adapter, global or system DMA engine. OpenSCI has
 * one engine, the driver's put/get, so each is accepted and selects it (docs/sisci-compat.md). */
#define DMA_ENGINE_FLAGS (SCI_FLAG_DMA_GLOBAL | SCI_FLAG_DMA_SYSDMA | SCI_FLAG_DMA_ADAPTER)

static const char *dmaq_state_str(sci_dma_queue_state_t s)
{
    switch (s) {
    case SCI_DMAQUEUE_IDLE: return "IDLE";
    case SCI_DMAQUEUE_GATHER: return "GATHER";
    case SCI_DMAQUEUE_POSTED: return "POSTED";
    case SCI_DMAQUEUE_DONE: return "DONE";
    case SCI_DMAQUEUE_ABORTED: return "ABORTED";
    case SCI_DMAQUEUE_ERROR: return "ERROR";
    }
    return "?";
}

static const char *dmaq_event_str(enum dmaq_event ev)
{
    static const char *const names[DMAQ_EV_COUNT] = { "start", "complete", "abort", "fail" };

    return ev < DMAQ_EV_COUNT ? names[ev] : "?";
}

/* The only writer of q->state. Lock held. */
static int dmaq_transition(struct sci_dma_queue *q, enum dmaq_event ev)
{
    sci_dma_queue_state_t old = q->state, new = old;

    switch (old) {
    case SCI_DMAQUEUE_IDLE:
    case SCI_DMAQUEUE_DONE:
    case SCI_DMAQUEUE_ABORTED:
    case SCI_DMAQUEUE_ERROR:
        if (ev != DMAQ_EV_START)
            goto illegal;
        new = SCI_DMAQUEUE_POSTED;
        break;
    case SCI_DMAQUEUE_POSTED:
        switch (ev) {
        case DMAQ_EV_COMPLETE: new = SCI_DMAQUEUE_DONE; break;
        case DMAQ_EV_ABORT: new = SCI_DMAQUEUE_ABORTED; break;
        case DMAQ_EV_FAIL: new = SCI_DMAQUEUE_ERROR; break;
        default: goto illegal;
        }
        break;
    default:
        goto illegal;
    }
    osci_log(OSCI_LOG_DEBUG, MOD, "queue %p: %s --%s--> %s", (void *)q, dmaq_state_str(old), dmaq_event_str(ev),
             dmaq_state_str(new));
    q->state = new;
    pthread_cond_broadcast(&seg.cond);
    return 0;
illegal:
    osci_log(OSCI_LOG_ERROR, MOD, "queue %p: illegal %s --%s-->", (void *)q, dmaq_state_str(old),
             dmaq_event_str(ev));
    return -EPROTO;
}

static bool link_errno(int err)
{
    return err == -ENOTCONN || err == -ECONNRESET || err == -EHOSTUNREACH || err == -ENOLINK ||
           err == -EPIPE || err == -ESRCH || err == -ENODEV || err == -ESTALE;
}

static int dmaq_copy_vec(struct sci_dma_queue *q, struct seg_adapter **put_a, struct osci_drv_rmem **put_rmem);

/*
 * Copy the posted transfer; 0, -ECANCELED (aborted) or the failing errno. Runs without the lock
 * (the driver's progress, which a flush may need, runs under it). Puts may be posted: they are
 * flushed before the transfer counts as done, and after a failure too, so that their outcome is
 * not reported to a later user of the same remote memory.
 */
static int dmaq_copy(struct sci_dma_queue *q)
{
    struct osci_drv_rmem *rmem = NULL;
    struct seg_adapter *ra = NULL;
    int rc = dmaq_copy_vec(q, &ra, &rmem), frc;

    if (rmem) {
        frc = osci_drv_flush(ra->drv, rmem);
        if (rc == 0)
            rc = frc;
    }
    return rc;
}

/* The copy loop; *put_a and *put_rmem: where the last put went (NULL: none). */
static int dmaq_copy_vec(struct sci_dma_queue *q, struct seg_adapter **put_a, struct osci_drv_rmem **put_rmem)
{
    struct osci_drv_rmem *rmem;
    struct seg_adapter *ra;
    size_t lsize, rsize, done, len;
    unsigned int i;
    void *laddr;
    int rc;

    for (i = 0; i < q->n; i++) {
        const dis_dma_vec_t *v = &q->vec[i];

        for (done = 0; done < v->size; done += len) {
            if (atomic_load(&q->abort))
                return -ECANCELED;
            len = v->size - done < SEG_DMA_CHUNK ? v->size - done : SEG_DMA_CHUNK;
            pthread_mutex_lock(&seg.lock);
            rc = seg__lseg_addr(q->ls, &laddr, &lsize);
            if (rc == 0)
                rc = seg__rseg_target(q->rs, &ra, &rmem, &rsize);
            pthread_mutex_unlock(&seg.lock);
            if (rc < 0)
                return rc;
            if (v->local_offset + v->size > lsize || v->remote_offset + v->size > rsize)
                return -ERANGE;
            if (q->read)
                rc = osci_drv_get(ra->drv, rmem, v->remote_offset + done,
                                       (char *)laddr + v->local_offset + done, len);
            else {
                *put_a = ra;              /* rs->rmem is the same for the segment's whole life */
                *put_rmem = rmem;
                rc = osci_drv_put(ra->drv, rmem, v->remote_offset + done,
                                       (const char *)laddr + v->local_offset + done, len);
            }
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

/* The completion callback, through the one runner (seg_core.c): one run per transfer. */
static bool dmaq_take(struct seg_obj *o, void *arg, struct seg_sevent *ev)
{
    (void)arg;
    ev->status = seg__to_sci(((struct sci_dma_queue *)o)->status);
    return true;
}

static sci_callback_action_t dmaq_call(struct seg_obj *o, void *arg, const struct seg_sevent *ev)
{
    (void)arg;
    return ((sci_cb_dma_t)o->cb)(o->cb_arg, (sci_dma_queue_t)o, ev->status);
}

static void dmaq_done(struct seg_obj *o, sci_callback_action_t act)
{
    (void)o;
    (void)act;                         /* one call per transfer: the action does not matter */
}

static void dmaq_free(struct seg_obj *o)
{
    struct sci_dma_queue *q = (struct sci_dma_queue *)o;

    pthread_cond_destroy(&q->cond);
    free(q->vec);
    free(q);
}

static const struct seg_obj_ops dmaq_ops = {
    .name = "DMA queue", .once = true, .take = dmaq_take, .call = dmaq_call, .done = dmaq_done,
    .free = dmaq_free,
};

static void *dmaq_worker(void *arg)
{
    struct sci_dma_queue *q = arg;
    int rc;

    pthread_mutex_lock(&seg.lock);
    for (;;) {
        while (!q->stop && !q->job_ready)
            pthread_cond_wait(&q->cond, &seg.lock);
        if (q->stop)
            break;
        q->job_ready = false;
        pthread_mutex_unlock(&seg.lock);
        rc = dmaq_copy(q);
        pthread_mutex_lock(&seg.lock);
        if (rc == 0) {
            (void)dmaq_transition(q, DMAQ_EV_COMPLETE);
        } else if (rc == -ECANCELED) {
            (void)dmaq_transition(q, DMAQ_EV_ABORT);
        } else {
            osci_log(OSCI_LOG_INFO, MOD, "queue %p: transfer failed: %d", (void *)q, rc);
            rc = link_errno(rc) ? -ENOTCONN : -EIO;   /* NOT_CONNECTED or TRANSFER_FAILED */
            (void)dmaq_transition(q, DMAQ_EV_FAIL);
        }
        q->status = rc;
        if (q->o.cb)
            seg__obj_defer(&q->o, NULL);
    }
    pthread_mutex_unlock(&seg.lock);
    return NULL;
}

SISCI_API_EXPORT void SCICreateDMAQueue(sci_desc_t sd, sci_dma_queue_t *dq, unsigned int localAdapterNo,
        unsigned int maxEntries, unsigned int flags, sci_error_t *error)
{
    struct sci_dma_queue *q;
    struct seg_adapter *a;
    int rc;

    if ((rc = seg__enter(sd, SEG_DESC_MAGIC, flags, DMA_ENGINE_FLAGS)) < 0)
        return seg__set_error(error, rc);
    if (!dq || maxEntries == 0)
        return seg__set_error(error, -EINVAL);
    q = seg__obj_new(sizeof(*q), SEG_DMAQ_MAGIC, &dmaq_ops, 0, NULL, NULL);
    if (!q)
        return seg__set_error(error, -ENOMEM);
    q->max_entries = maxEntries > DIS_DMA_MAX_VECLEN ? DIS_DMA_MAX_VECLEN : maxEntries;
    q->vec = calloc(q->max_entries, sizeof(*q->vec));
    if (!q->vec) {
        free(q);
        return seg__set_error(error, -ENOMEM);
    }
    pthread_cond_init(&q->cond, NULL);
    q->sd = sd;
    q->state = SCI_DMAQUEUE_IDLE;

    pthread_mutex_lock(&seg.lock);
    rc = seg__api_adapter(localAdapterNo, &a);
    if (rc < 0)
        goto err_free;
    if (!seg__desc_valid(sd)) {
        rc = -EINVAL;
        goto err_free;
    }
    q->a = a;
    if (seg__handle_add(q) < 0) {
        rc = -ENOMEM;
        goto err_free;
    }
    rc = pthread_create(&q->worker, NULL, dmaq_worker, q);
    if (rc != 0) {
        osci_log(OSCI_LOG_ERROR, MOD, "DMA worker thread: %s", strerror(rc));
        rc = -ENOMEM;
        goto err_unregister;
    }
    osci_list_add(&dmaq_list, &q->link);
    pthread_mutex_unlock(&seg.lock);
    *dq = q;
    return seg__set_error(error, 0);

err_unregister:
    seg__handle_del(q);
err_free:
    pthread_mutex_unlock(&seg.lock);
    pthread_cond_destroy(&q->cond);
    free(q->vec);
    free(q);
    seg__set_error(error, rc);
}

static bool dmaq_valid(struct sci_dma_queue *q)
{
    return seg__handle_live(q, SEG_DMAQ_MAGIC);
}

/* Lock held: wait while POSTED; -ETIMEDOUT on expiry. */
static int dmaq_wait_final(struct sci_dma_queue *q, uint64_t deadline)
{
    int rc = 0;

    q->waiters++;
    while (q->state == SCI_DMAQUEUE_POSTED && rc == 0)
        rc = seg__cond_wait(deadline);
    q->waiters--;
    pthread_cond_broadcast(&seg.cond);
    return q->state == SCI_DMAQUEUE_POSTED ? -ETIMEDOUT : 0;
}

static int final_err(struct sci_dma_queue *q)
{
    return q->state == SCI_DMAQUEUE_ERROR ? q->status : 0;
}

/* Validate and post a transfer of n entries; the common part of both start calls. */
static void dmaq_start(struct sci_dma_queue *q, sci_local_segment_t ls, sci_remote_segment_t rs,
                       unsigned int n, const dis_dma_vec_t *vec, sci_cb_dma_t cb, void *cb_arg,
                       unsigned int flags, sci_error_t *error)
{
    const unsigned int known = SCI_FLAG_DMA_READ | SCI_FLAG_DMA_WAIT | SCI_FLAG_USE_CALLBACK | DMA_ENGINE_FLAGS;
    struct osci_drv_rmem *rmem;
    struct seg_adapter *ra;
    size_t lsize, rsize;
    bool remote_gone = false;
    unsigned int i;
    void *laddr;
    int rc;

    if ((rc = seg__enter(q, SEG_DMAQ_MAGIC, flags, known)) < 0)
        return seg__set_error(error, rc);
    if ((flags & SCI_FLAG_USE_CALLBACK) && !cb)
        return seg__set_error(error, -EINVAL);

    pthread_mutex_lock(&seg.lock);
    if (!dmaq_valid(q)) {
        rc = -EINVAL;
        goto out_unlock;
    }
    /* a completion callback still to run reads the queue: wait for it (off the event thread), or busy
       unless this is that callback */
    while (q->state != SCI_DMAQUEUE_POSTED && seg__obj_runs(&q->o) > 0 && !seg__on_event_thread() &&
           seg__handle_live(q, SEG_DMAQ_MAGIC))
        (void)seg__cond_wait(0);
    if (!dmaq_valid(q)) {
        rc = -EINVAL;
        goto out_unlock;
    }
    if (q->state == SCI_DMAQUEUE_POSTED ||
        (seg__obj_runs(&q->o) > 0 && !(q->o.in_cb && seg__obj_runs(&q->o) == 1 && seg__on_event_thread()))) {
        rc = -EBUSY;
        goto out_unlock;
    }
    rc = seg__lseg_addr(ls, &laddr, &lsize);
    if (rc < 0) {
        rc = rc == -EPERM ? -EPERM : -EINVAL;   /* EPERM: no memory (ILLEGAL_OPERATION) */
        goto out_unlock;
    }
    rc = seg__rseg_target(rs, &ra, &rmem, &rsize);
    if (rc < 0) {
        if (!link_errno(rc)) {
            rc = rc == -EOPNOTSUPP ? -EOPNOTSUPP : -EINVAL;  /* EOPNOTSUPP: a broadcast group */
            goto out_unlock;
        }
        remote_gone = true;   /* posted anyway: the worker ends it in ERROR */
    }
    for (i = 0; i < n; i++) {
        const dis_dma_vec_t *v = &vec[i];

        if (v->flags) {
            rc = -SEG_EFLAG;
            goto out_unlock;
        }
        if (v->size == 0) {
            rc = -EINVAL;
            goto out_unlock;
        }
        if (v->local_offset > lsize || v->size > lsize - v->local_offset ||
            (!remote_gone && (v->remote_offset > rsize || v->size > rsize - v->remote_offset))) {
            rc = -ERANGE;
            goto out_unlock;
        }
    }
    memcpy(q->vec, vec, n * sizeof(*vec));
    q->n = n;
    q->ls = ls;
    q->rs = rs;
    q->read = flags & SCI_FLAG_DMA_READ;
    q->o.cb = (flags & SCI_FLAG_USE_CALLBACK) ? (void (*)(void))cb : NULL;
    q->o.cb_arg = cb_arg;
    q->o.cb_active = q->o.cb != NULL;
    q->status = 0;
    atomic_store(&q->abort, false);
    rc = dmaq_transition(q, DMAQ_EV_START);
    if (rc < 0) {
        rc = -EBUSY;
        goto out_unlock;
    }
    q->job_ready = true;
    pthread_cond_signal(&q->cond);
    rc = 0;
    if (flags & SCI_FLAG_DMA_WAIT) {
        (void)dmaq_wait_final(q, 0);
        rc = q->state == SCI_DMAQUEUE_ABORTED ? -ECANCELED : final_err(q);
    }
out_unlock:
    pthread_mutex_unlock(&seg.lock);
    seg__set_error(error, rc);
}

SISCI_API_EXPORT void SCIStartDmaTransfer(sci_dma_queue_t dq, sci_local_segment_t localSegment,
        sci_remote_segment_t remoteSegment, size_t localOffset, size_t size, size_t remoteOffset,
        sci_cb_dma_t callback, void *callbackArg, unsigned int flags, sci_error_t *error)
{
    dis_dma_vec_t v = { .size = size, .local_offset = localOffset, .remote_offset = remoteOffset, .flags = 0 };

    dmaq_start(dq, localSegment, remoteSegment, 1, &v, callback, callbackArg, flags, error);
}

SISCI_API_EXPORT void SCIStartDmaTransferVec(sci_dma_queue_t dq, sci_local_segment_t localSegment,
        sci_remote_segment_t remoteSegment, size_t vecLength, dis_dma_vec_t *disDmaVec,
        sci_cb_dma_t callback, void *callbackArg, unsigned int flags, sci_error_t *error)
{
    unsigned int max;

    if (!disDmaVec || vecLength == 0)
        return seg__set_error(error, -EINVAL);
    pthread_mutex_lock(&seg.lock);
    max = dmaq_valid(dq) ? dq->max_entries : 0;
    pthread_mutex_unlock(&seg.lock);
    if (max == 0)
        return seg__set_error(error, -EINVAL);
    if (vecLength > max)
        return seg__set_error(error, -E2BIG);
    dmaq_start(dq, localSegment, remoteSegment, (unsigned int)vecLength, disDmaVec, callback, callbackArg, flags,
               error);
}

SISCI_API_EXPORT sci_dma_queue_state_t SCIDMAQueueState(sci_dma_queue_t dq)
{
    sci_dma_queue_state_t s = SCI_DMAQUEUE_ERROR;

    pthread_mutex_lock(&seg.lock);
    if (dmaq_valid(dq))
        s = dq->state;
    pthread_mutex_unlock(&seg.lock);
    return s;
}

SISCI_API_EXPORT sci_dma_queue_state_t SCIWaitForDMAQueue(sci_dma_queue_t dq, unsigned int timeout,
        unsigned int flags, sci_error_t *error)
{
    sci_dma_queue_state_t s;
    int rc;

    if ((rc = seg__enter_locked(dq, SEG_DMAQ_MAGIC, flags, 0, false)) < 0) {
        seg__set_error(error, rc);
        return SCI_DMAQUEUE_ERROR;
    }
    rc = dmaq_wait_final(dq, seg__deadline(timeout)) < 0 ? -ETIMEDOUT : final_err(dq);
    s = dq->state;
    pthread_mutex_unlock(&seg.lock);
    seg__set_error(error, rc);
    return s;
}

SISCI_API_EXPORT void SCIAbortDMAQueue(sci_dma_queue_t dq, unsigned int flags, sci_error_t *error)
{
    int rc = seg__enter_locked(dq, SEG_DMAQ_MAGIC, flags, 0, false);

    if (rc < 0)
        return seg__set_error(error, rc);
    if (dq->state == SCI_DMAQUEUE_POSTED) {
        atomic_store(&dq->abort, true);
        (void)dmaq_wait_final(dq, 0);   /* at most one chunk */
    }
    pthread_mutex_unlock(&seg.lock);
    seg__set_error(error, 0);
}

SISCI_API_EXPORT void SCIRemoveDMAQueue(sci_dma_queue_t dq, unsigned int flags, sci_error_t *error)
{
    bool own_cb;
    int rc = seg__enter_locked(dq, SEG_DMAQ_MAGIC, flags, 0, false);

    if (rc < 0)
        return seg__set_error(error, rc);
    own_cb = dq->o.in_cb && seg__on_event_thread();
    /* a completion callback still to run: wait for it, unless this thread is the one to run it */
    while (dq->state != SCI_DMAQUEUE_POSTED && seg__obj_runs(&dq->o) > 0 && !own_cb && !seg__on_event_thread())
        (void)seg__cond_wait(0);
    if (dq->state == SCI_DMAQUEUE_POSTED || (seg__obj_runs(&dq->o) > 0 && !own_cb) || dq->waiters > 0) {
        pthread_mutex_unlock(&seg.lock);
        return seg__set_error(error, -EBUSY);
    }
    seg__handle_del(dq);
    dq->o.magic = 0;
    osci_list_del(&dq->link);
    dq->stop = true;
    pthread_cond_signal(&dq->cond);
    pthread_mutex_unlock(&seg.lock);
    pthread_join(dq->worker, NULL);
    pthread_mutex_lock(&seg.lock);
    seg__obj_remove(&dq->o);
    seg__obj_put(&dq->o);      /* freed here, or by its run when removed from its own callback */
    pthread_mutex_unlock(&seg.lock);
    seg__set_error(error, 0);
}

/* Whether a queue belongs to sd, or has a transfer posted on ls or rs (the others NULL). */
static bool dmaq_uses(sci_desc_t sd, sci_local_segment_t ls, sci_remote_segment_t rs)
{
    struct sci_dma_queue *q;

    osci_list_for_each(q, &dmaq_list, link)
        if ((sd && q->sd == sd) ||
            (q->state == SCI_DMAQUEUE_POSTED && ((ls && q->ls == ls) || (rs && q->rs == rs))))
            return true;
    return false;
}

bool seg__dma_desc_busy(sci_desc_t sd) { return dmaq_uses(sd, NULL, NULL); }
bool seg__dma_lseg_busy(sci_local_segment_t ls) { return dmaq_uses(NULL, ls, NULL); }
bool seg__dma_rseg_busy(sci_remote_segment_t rs) { return dmaq_uses(NULL, NULL, rs); }

void seg__dma_free_all(void)
{
    struct sci_dma_queue *q;

    while ((q = osci_list_first(&dmaq_list, struct sci_dma_queue, link))) {
        osci_list_del(&q->link);
        seg__handle_del(q);
        q->o.magic = 0;
        atomic_store(&q->abort, true);
        q->stop = true;
        pthread_cond_signal(&q->cond);
        pthread_mutex_unlock(&seg.lock);
        pthread_join(q->worker, NULL);
        pthread_mutex_lock(&seg.lock);
        seg__obj_put(&q->o);
    }
}
