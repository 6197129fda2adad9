/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Local segments (ARCHITECTURE §4.1): creation, memory, the per-adapter state machine
 * CREATED -> PREPARED <-> AVAILABLE (+ REMOVED), the owner side of the segment protocol
 * (CONNECT, DISCONNECT, UNAVAILABLE), owner events, and the quarantine of force-disconnected memory.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "seg_bcast.h"
#include "seg_export.h"
#include "seg_intr.h"
#include "seg_obj.h"

#define LSEG_CREATE_FLAGS (SCI_FLAG_USE_CALLBACK | SCI_FLAG_EMPTY | SCI_FLAG_PRIVATE | SCI_FLAG_AUTO_ID | \
                           SCI_FLAG_BROADCAST)
/* DMA_GLOBAL asks for memory the global DMA engine reaches: every OpenSCI segment is (the engine is
 * the driver's put/get), so it is accepted on create and prepare and changes nothing. */
#define LSEG_DMA_HINTS SCI_FLAG_DMA_GLOBAL

const char *lseg_state_str(enum lseg_state s)
{
    static const char *const n[] = { "CREATED", "PREPARED", "AVAILABLE", "REMOVED" };
    return (unsigned int)s < LSEG_STATE_COUNT ? n[s] : "?";
}

const char *lseg_event_str(enum lseg_event e)
{
    static const char *const n[] = { "PREPARE", "SET_AVAILABLE", "SET_UNAVAILABLE", "REMOVE" };
    return (unsigned int)e < LSEG_EV_COUNT ? n[e] : "?";
}

/* The only writer of ls->state[]. Errors: -SEG_ENOTPREP (available/unavailable before prepare),
 * -EPERM (available on a PRIVATE segment), -EPROTO (anything after remove, unknown event). */
int lseg_transition(struct sci_local_segment *ls, unsigned int adapter, enum lseg_event ev)
{
    enum lseg_state old, new;
    int rc = 0;

    if (adapter >= OSCI_MAX_ADAPTERS || (unsigned int)ev >= LSEG_EV_COUNT)
        return -EPROTO;
    old = new = ls->state[adapter];
    switch (old) {
    case LSEG_CREATED:
        switch (ev) {
        case LSEG_EV_PREPARE: new = LSEG_PREPARED; break;
        case LSEG_EV_SET_AVAILABLE:
        case LSEG_EV_SET_UNAVAILABLE: rc = -SEG_ENOTPREP; break;
        case LSEG_EV_REMOVE: new = LSEG_REMOVED; break;
        default: rc = -EPROTO;
        }
        break;
    case LSEG_PREPARED:
        switch (ev) {
        case LSEG_EV_PREPARE: break;
        case LSEG_EV_SET_AVAILABLE:
            if (ls->flags & SCI_FLAG_PRIVATE)
                rc = -EPERM;
            else
                new = LSEG_AVAILABLE;
            break;
        case LSEG_EV_SET_UNAVAILABLE: break;
        case LSEG_EV_REMOVE: new = LSEG_REMOVED; break;
        default: rc = -EPROTO;
        }
        break;
    case LSEG_AVAILABLE:
        switch (ev) {
        case LSEG_EV_PREPARE:
        case LSEG_EV_SET_AVAILABLE: break;
        case LSEG_EV_SET_UNAVAILABLE: new = LSEG_PREPARED; break;
        case LSEG_EV_REMOVE: new = LSEG_REMOVED; break;
        default: rc = -EPROTO;
        }
        break;
    default:
        rc = -EPROTO;
    }
    if (rc < 0) {
        osci_log(OSCI_LOG_DEBUG, "lseg", "segment %u adapter %u: %s --%s--> refused (%d)", ls->id, adapter,
                 lseg_state_str(old), lseg_event_str(ev), rc);
        return rc;
    }
    osci_log(OSCI_LOG_DEBUG, "lseg", "segment %u adapter %u: %s --%s--> %s", ls->id, adapter, lseg_state_str(old),
             lseg_event_str(ev), lseg_state_str(new));
    ls->state[adapter] = new;
    return 0;
}

bool seg__lseg_valid(sci_local_segment_t ls) { return seg__handle_live(ls, SEG_LSEG_MAGIC); }

/* ---------------------------------------------------------------- owner events */

/* The owner callback, through the one runner (seg_core.c): one call per queued event. */
static bool lseg_take(struct seg_obj *o, void *arg, struct seg_sevent *e)
{
    (void)arg;
    return seg__evq_take_cb(&((struct sci_local_segment *)o)->evq, e);
}

static sci_callback_action_t lseg_call(struct seg_obj *o, void *arg, const struct seg_sevent *e)
{
    (void)arg;
    return ((sci_cb_local_segment_t)o->cb)(o->cb_arg, (sci_local_segment_t)o, e->reason, e->node, e->adapter,
                                            e->status);
}

static void lseg_free(struct seg_obj *o) { free(o); }

const struct seg_obj_ops seg__lseg_ops = {
    .name = "local segment", .take = lseg_take, .call = lseg_call, .free = lseg_free,
};

static void lseg_event(struct sci_local_segment *ls, sci_segment_cb_reason_t reason, uint32_t node,
                       unsigned int adapter)
{
    osci_log(OSCI_LOG_DEBUG, "lseg", "segment %u: event %d node %u adapter %u", ls->id, (int)reason, node,
             adapter);
    seg__evq_push(&ls->evq, reason, node, adapter, SCI_ERR_OK);
    seg__obj_kick(&ls->o);
}

void seg__lseg_post(struct sci_local_segment *ls, sci_segment_cb_reason_t reason, uint32_t node,
                    unsigned int adapter)
{
    lseg_event(ls, reason, node, adapter);
}

/* ---------------------------------------------------------------- memory */

void seg__lmem_release(struct seg_lmem *mem)
{
    for (unsigned int i = 0; i < OSCI_MAX_ADAPTERS; i++) {
        if (mem->exp[i] && seg.adapter[i].drv)
            osci_drv_mem_unexport(seg.adapter[i].drv, mem->exp[i]);
        mem->exp[i] = NULL;
    }
    switch (mem->kind) {
    case SEG_MEM_DRV:
        if (seg.adapter[mem->drv_adapter].drv)
            osci_drv_mem_free(seg.adapter[mem->drv_adapter].drv, &mem->view);
        break;
    case SEG_MEM_MCAST:
        if (seg.adapter[mem->drv_adapter].drv)
            osci_drv_mcast_detach(seg.adapter[mem->drv_adapter].drv, &mem->view);
        break;
    case SEG_MEM_MEMFD:
        munmap(mem->view.addr, mem->view.size);
        close(mem->view.fd);
        break;
    default:
        break;
    }
    memset(mem, 0, sizeof(*mem));
}

static int lmem_alloc(struct seg_lmem *mem, size_t size)
{
    long pg = sysconf(_SC_PAGESIZE);
    size_t len;
    int fd;
    void *p;

    for (unsigned int i = 0; i < OSCI_MAX_ADAPTERS; i++) {
        struct seg_adapter *a = &seg.adapter[i];
        int rc;
        if (!a->drv || !(a->info.caps & OSCI_DRV_CAP_MEM_ALLOC))
            continue;
        rc = osci_drv_mem_alloc(a->drv, size, &mem->view);
        if (rc < 0) {
            osci_log(OSCI_LOG_INFO, "lseg", "adapter %u: cannot allocate %zu bytes: %s", i, size,
                     osci_strerror(rc));
            return rc;
        }
        mem->kind = SEG_MEM_DRV;
        mem->drv_adapter = i;
        return 0;
    }
    len = (size + (size_t)pg - 1) & ~((size_t)pg - 1);
    fd = memfd_create("osci-seg", MFD_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (ftruncate(fd, (off_t)len) < 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    mem->kind = SEG_MEM_MEMFD;
    mem->view = (struct osci_drv_mem_view){ .addr = p, .size = len, .fd = fd, .fd_offset = 0 };
    return 0;
}

int seg__lseg_addr(sci_local_segment_t ls, void **addr_p, size_t *size_p)
{
    if (!seg__lseg_valid(ls))
        return -EINVAL;
    if (ls->mem.kind == SEG_MEM_NONE)
        return -EPERM;
    *addr_p = ls->mem.view.addr;
    *size_p = ls->size;
    return 0;
}

/* ---------------------------------------------------------------- protocol, owner side */

static struct sci_local_segment *find_available(unsigned int adapter, uint32_t id)
{
    struct sci_local_segment *ls;

    osci_list_for_each(ls, &segx.lsegs, link)
        if (!(ls->flags & (SCI_FLAG_PRIVATE | SCI_FLAG_BROADCAST)) && ls->id == id && ls->state[adapter] == LSEG_AVAILABLE)
            return ls;
    return NULL;
}

static bool conn_unlink(struct osci_list_head *list, uint32_t node, unsigned int adapter, uint64_t conn_id)
{
    struct seg_conn *c;

    osci_list_for_each(c, list, link) {
        if (c->node == node && c->adapter == adapter && c->conn_id == conn_id) {
            osci_list_del(&c->link);
            free(c);
            return true;
        }
    }
    return false;
}

/* Drops quarantine entries whose every remote answered or died. */
static void quarantine_sweep(void)
{
    struct seg_quarantine *q, *tmp;

    osci_list_for_each_safe(q, tmp, &segx.quar, link) {
        if (osci_list_empty(&q->conns)) {
            osci_log(OSCI_LOG_DEBUG, "lseg", "segment %u: quarantined memory released", q->seg_id);
            osci_list_del(&q->link);
            seg__lmem_release(&q->mem);
            free(q);
        }
    }
}

static void on_connect(struct seg_adapter *a, const struct seg_msg *m)
{
    struct seg_msg r = { 0 };
    struct sci_local_segment *ls = find_available(a->no, m->u.connect.seg_id);
    struct seg_conn *c;

    if (!ls || seg__export_key_check(ls, m->u.connect.key) < 0) {
        if (ls)
            osci_log(OSCI_LOG_WARN, "lseg", "segment %u: connect from node %u refused: wrong key", ls->id,
                     m->src_node);
        r.type = SEG_MSG_CONNECT_REFUSED;
        r.u.refused.conn_id = m->u.connect.conn_id;
        r.u.refused.reason = ls ? -EACCES : -ENOENT;
        seg__send(a, m->src_node, &r);
        return;
    }
    c = calloc(1, sizeof(*c));
    if (!c) {
        r.type = SEG_MSG_CONNECT_REFUSED;
        r.u.refused.conn_id = m->u.connect.conn_id;
        r.u.refused.reason = -ENOMEM;
        seg__send(a, m->src_node, &r);
        return;
    }
    c->node = m->src_node;
    c->adapter = a->no;
    c->conn_id = m->u.connect.conn_id;
    c->epoch = a->peer[m->src_node].epoch;
    r.type = SEG_MSG_CONNECT_OK;
    r.u.connect_ok.conn_id = c->conn_id;
    r.u.connect_ok.size = ls->size;
    r.u.connect_ok.xport_len = ls->xport_len[a->no];
    memcpy(r.u.connect_ok.xport, ls->xport[a->no], ls->xport_len[a->no]);
    if (seg__send(a, c->node, &r) < 0) {
        free(c);
        return;
    }
    osci_list_add(&ls->conns, &c->link);
    lseg_event(ls, SCI_CB_CONNECT, c->node, a->no);
    seg__info_publish();
}

static void on_disconnect(struct seg_adapter *a, const struct seg_msg *m)
{
    uint32_t node = m->src_node;
    uint64_t id = m->u.disconnect.conn_id;
    struct sci_local_segment *ls;
    struct seg_quarantine *q;

    osci_list_for_each(ls, &segx.lsegs, link) {
        if (conn_unlink(&ls->conns, node, a->no, id)) {
            lseg_event(ls, SCI_CB_DISCONNECT, node, a->no);
            seg__info_publish();
            return;
        }
        if (conn_unlink(&ls->quar, node, a->no, id))
            return;
    }
    osci_list_for_each(q, &segx.quar, link)
        if (conn_unlink(&q->conns, node, a->no, id))
            break;
    quarantine_sweep();
}

void seg__lseg_on_msg(struct seg_adapter *a, const struct seg_msg *m)
{
    if (m->type == SEG_MSG_CONNECT)
        on_connect(a, m);
    else if (m->type == SEG_MSG_DISCONNECT)
        on_disconnect(a, m);
}

static void resend_force(struct seg_adapter *a, uint32_t node, struct osci_list_head *list, uint32_t seg_id)
{
    struct seg_conn *c;

    osci_list_for_each(c, list, link) {
        if (c->node == node && c->adapter == a->no) {
            struct seg_msg m = { .type = SEG_MSG_UNAVAILABLE };
            m.u.unavailable.conn_id = c->conn_id;
            m.u.unavailable.seg_id = seg_id;
            m.u.unavailable.mode = SEG_UNAVAIL_FORCE;
            seg__send(a, node, &m);
        }
    }
}

void seg__lseg_link(struct seg_adapter *a, uint32_t node, sci_segment_cb_reason_t reason)
{
    struct sci_local_segment *ls;
    struct seg_quarantine *q;
    struct seg_conn *c;

    osci_list_for_each(ls, &segx.lsegs, link) {
        osci_list_for_each(c, &ls->conns, link)
            if (c->node == node && c->adapter == a->no)
                lseg_event(ls, reason, node, a->no);
        if (reason == SCI_CB_OPERATIONAL)
            resend_force(a, node, &ls->quar, ls->id);
    }
    if (reason == SCI_CB_OPERATIONAL)
        osci_list_for_each(q, &segx.quar, link)
            resend_force(a, node, &q->conns, q->seg_id);
}

static void drop_node(struct osci_list_head *list, uint32_t node, unsigned int adapter,
                      struct sci_local_segment *ls)
{
    struct seg_conn *c, *tmp;

    osci_list_for_each_safe(c, tmp, list, link) {
        if (c->node == node && c->adapter == adapter) {
            osci_list_del(&c->link);
            free(c);
            if (ls)
                lseg_event(ls, SCI_CB_LOST, node, adapter);
        }
    }
}

void seg__lseg_peer_lost(struct seg_adapter *a, uint32_t node)
{
    struct sci_local_segment *ls;
    struct seg_quarantine *q;

    osci_list_for_each(ls, &segx.lsegs, link) {
        drop_node(&ls->conns, node, a->no, ls);
        drop_node(&ls->quar, node, a->no, NULL);
    }
    osci_list_for_each(q, &segx.quar, link)
        drop_node(&q->conns, node, a->no, NULL);
    quarantine_sweep();
}

static void free_conns(struct osci_list_head *list)
{
    struct seg_conn *c, *tmp;

    osci_list_for_each_safe(c, tmp, list, link) {
        osci_list_del(&c->link);
        free(c);
    }
}

static void lseg_destroy(struct sci_local_segment *ls)
{
    for (unsigned int i = 0; i < OSCI_MAX_ADAPTERS && (ls->flags & SCI_FLAG_BROADCAST); i++)
        seg__bcast_lseg_changed(ls, i);     /* removed: leaves its groups */
    seg__evq_clear(&ls->evq);
    free_conns(&ls->conns);
    free_conns(&ls->quar);
    seg__lmem_release(&ls->mem);
    seg__handle_del(ls);
    ls->sd->n_objs--;
    ls->o.magic = 0;
    seg__obj_put(&ls->o);                 /* the handle's reference: freed here or by its last run */
}

void seg__lseg_free_all(void)
{
    struct sci_local_segment *ls;
    struct seg_quarantine *q;

    while ((ls = osci_list_first(&segx.lsegs, struct sci_local_segment, link))) {
        osci_list_del(&ls->link);
        ls->o.removed = true;
        pthread_cond_broadcast(&seg.cond);
        while (ls->waiters)
            seg__cond_wait(0);
        lseg_destroy(ls);
    }
    while ((q = osci_list_first(&segx.quar, struct seg_quarantine, link))) {
        osci_list_del(&q->link);
        free_conns(&q->conns);
        seg__lmem_release(&q->mem);
        free(q);
    }
}

/* ---------------------------------------------------------------- API */

/* seg__enter on a local segment with its flags checked by the caller (lock held). */
static int lseg_enter(sci_local_segment_t ls) { return seg__enter(ls, SEG_LSEG_MAGIC, 0, 0); }

static bool id_used(uint32_t id)
{
    struct sci_local_segment *ls;

    osci_list_for_each(ls, &segx.lsegs, link)
        if (!(ls->flags & SCI_FLAG_PRIVATE) && ls->id == id)
            return true;
    return false;
}

SISCI_API_EXPORT void SCICreateSegment(sci_desc_t sd, sci_local_segment_t *segment, unsigned int segmentId,
                                       size_t size, sci_cb_local_segment_t callback, void *callbackArg,
                                       unsigned int flags, sci_error_t *error)
{
    struct sci_local_segment *ls = NULL;
    int rc;

    pthread_mutex_lock(&seg.lock);
    if ((rc = seg__enter(sd, SEG_DESC_MAGIC, flags, LSEG_CREATE_FLAGS | LSEG_DMA_HINTS)) < 0)
        goto out;
    if (!segment) {
        rc = -EINVAL;
        goto out;
    }
    if ((flags & SCI_FLAG_BROADCAST) && (rc = seg__bcast_create_check(flags)) < 0)
        goto out;
    if ((flags & SCI_FLAG_USE_CALLBACK) && !callback) {
        rc = -EINVAL;
        goto out;
    }
    if (size == 0) {
        rc = -SEG_ESIZE;
        goto out;
    }
    if (flags & SCI_FLAG_AUTO_ID) {
        do
            segmentId = segx.next_auto_id++;
        while (id_used(segmentId));
    } else if (!(flags & SCI_FLAG_PRIVATE) && id_used(segmentId)) {
        rc = -EEXIST;
        goto out;
    }
    ls = seg__obj_new(sizeof(*ls), SEG_LSEG_MAGIC, &seg__lseg_ops, flags, (void (*)(void))callback, callbackArg);
    if (!ls) {
        rc = -ENOMEM;
        goto out;
    }
    ls->sd = sd;
    osci_list_init(&ls->conns);
    osci_list_init(&ls->quar);
    ls->id = segmentId;
    ls->size = size;
    ls->flags = flags;
    seg__evq_init(&ls->evq, ls->evbuf, SEG_LSEG_EVQ_LEN, false);
    if (!(flags & SCI_FLAG_EMPTY)) {
        rc = flags & SCI_FLAG_BROADCAST ? seg__bcast_alloc(&ls->mem, segmentId, size) : -EOPNOTSUPP;
        if (rc == -EOPNOTSUPP)
            rc = lmem_alloc(&ls->mem, size);
        if (rc < 0)
            goto err_free;
    }
    rc = seg__handle_add(ls);
    if (rc < 0)
        goto err_mem;
    osci_list_add(&segx.lsegs, &ls->link);
    sd->n_objs++;
    osci_log(OSCI_LOG_DEBUG, "lseg", "segment %u: created (%zu bytes, flags 0x%x)", ls->id, size, flags);
    *segment = ls;
    seg__info_publish();
    goto out;

err_mem:
    seg__lmem_release(&ls->mem);
err_free:
    free(ls);
out:
    pthread_mutex_unlock(&seg.lock);
    seg__set_error(error, rc);
}

SISCI_API_EXPORT void SCIPrepareSegment(sci_local_segment_t ls, unsigned int localAdapterNo, unsigned int flags,
                                        sci_error_t *error)
{
    struct seg_adapter *a;
    struct osci_drv_mem *mem = NULL;
    size_t xlen = OSCI_DRV_XPORT_MAX;
    int rc;

    pthread_mutex_lock(&seg.lock);
    if ((rc = seg__enter(ls, SEG_LSEG_MAGIC, flags, SCI_FLAG_DMA_SOURCE_ONLY | SCI_FLAG_BROADCAST |
                         LSEG_DMA_HINTS)) < 0)
        goto out;
    if ((flags & SCI_FLAG_BROADCAST) && !(ls->flags & SCI_FLAG_BROADCAST)) {
        rc = -SEG_EFLAG;
        goto out;
    }
    if ((rc = seg__adapter_check(localAdapterNo, &a)) < 0)
        goto out;
    if (ls->mem.kind == SEG_MEM_MCAST) {
        rc = seg__bcast_prepare(ls, a);
        goto out;
    }
    if (ls->mem.kind == SEG_MEM_NONE) {
        osci_log(OSCI_LOG_INFO, "lseg", "segment %u: prepare of an EMPTY segment without memory", ls->id);
        rc = -EPERM;
        goto out;
    }
    if (ls->state[a->no] != LSEG_CREATED) {
        rc = lseg_transition(ls, a->no, LSEG_EV_PREPARE);
        goto out;
    }
    if ((ls->mem.kind != SEG_MEM_DRV || ls->mem.drv_adapter != a->no) &&
        !(a->info.caps & OSCI_DRV_CAP_EXPORT_FOREIGN)) {
        osci_log(OSCI_LOG_INFO, "lseg", "segment %u: adapter %u exports only memory it allocated", ls->id, a->no);
        rc = -EOPNOTSUPP;
        goto out;
    }
    rc = osci_drv_mem_export(a->drv, &ls->mem.view, &mem);
    if (rc < 0) {
        osci_log(OSCI_LOG_INFO, "lseg", "segment %u: adapter %u cannot export its memory: %s", ls->id, a->no,
                 osci_strerror(rc));
        goto out;
    }
    rc = osci_drv_mem_pack(a->drv, mem, ls->xport[a->no], &xlen);
    if (rc < 0 || xlen > OSCI_DRV_XPORT_MAX) {
        rc = rc < 0 ? rc : -EOVERFLOW;
        goto err_unexport;
    }
    rc = lseg_transition(ls, a->no, LSEG_EV_PREPARE);
    if (rc < 0)
        goto err_unexport;
    ls->mem.exp[a->no] = mem;
    ls->xport_len[a->no] = (uint32_t)xlen;
    seg__info_publish();
    goto out;

err_unexport:
    osci_drv_mem_unexport(a->drv, mem);
out:
    pthread_mutex_unlock(&seg.lock);
    seg__set_error(error, rc);
}

SISCI_API_EXPORT void SCISetSegmentAvailable(sci_local_segment_t ls, unsigned int localAdapterNo,
                                             unsigned int flags, sci_error_t *error)
{
    struct seg_adapter *a;
    int rc;

    pthread_mutex_lock(&seg.lock);
    if ((rc = seg__enter(ls, SEG_LSEG_MAGIC, flags, 0)) < 0)
        goto out;
    if ((rc = seg__adapter_check(localAdapterNo, &a)) < 0)
        goto out;
    rc = lseg_transition(ls, a->no, LSEG_EV_SET_AVAILABLE);
    if (rc == 0 && (ls->flags & SCI_FLAG_BROADCAST))
        seg__bcast_lseg_changed(ls, a->no);
    if (rc == 0)
        seg__info_publish();
out:
    pthread_mutex_unlock(&seg.lock);
    seg__set_error(error, rc);
}

/* Tells each connected remote on `adapter` that the segment went away; force also drops them. */
static void unavailable_notify(struct sci_local_segment *ls, struct seg_adapter *a, bool force)
{
    struct seg_conn *c, *tmp;

    osci_list_for_each_safe(c, tmp, &ls->conns, link) {
        struct seg_msg m = { .type = SEG_MSG_UNAVAILABLE };
        if (c->adapter != a->no)
            continue;
        m.u.unavailable.conn_id = c->conn_id;
        m.u.unavailable.seg_id = ls->id;
        m.u.unavailable.mode = force ? SEG_UNAVAIL_FORCE : SEG_UNAVAIL_NOTIFY;
        seg__send(a, c->node, &m);
        if (force) {
            /* quarantined until it answers or is lost; resent when a down link comes back */
            osci_list_del(&c->link);
            osci_list_add(&ls->quar, &c->link);
        }
    }
}

SISCI_API_EXPORT void SCISetSegmentUnavailable(sci_local_segment_t ls, unsigned int localAdapterNo,
                                               unsigned int flags, sci_error_t *error)
{
    struct seg_adapter *a;
    int rc;

    pthread_mutex_lock(&seg.lock);
    if ((rc = seg__enter(ls, SEG_LSEG_MAGIC, flags, SCI_FLAG_NOTIFY | SCI_FLAG_FORCE_DISCONNECT)) < 0)
        goto out;
    if ((rc = seg__adapter_check(localAdapterNo, &a)) < 0)
        goto out;
    rc = lseg_transition(ls, a->no, LSEG_EV_SET_UNAVAILABLE);
    if (rc < 0)
        goto out;
    if (flags & (SCI_FLAG_NOTIFY | SCI_FLAG_FORCE_DISCONNECT))
        unavailable_notify(ls, a, (flags & SCI_FLAG_FORCE_DISCONNECT) != 0);
    if (ls->flags & SCI_FLAG_BROADCAST)
        seg__bcast_lseg_changed(ls, a->no);
    seg__info_publish();
out:
    pthread_mutex_unlock(&seg.lock);
    seg__set_error(error, rc);
}

SISCI_API_EXPORT void SCIRemoveSegment(sci_local_segment_t ls, unsigned int flags, sci_error_t *error)
{
    int rc;

    pthread_mutex_lock(&seg.lock);
    if ((rc = seg__enter(ls, SEG_LSEG_MAGIC, flags, SCI_FLAG_FORCE_REMOVE)) < 0)
        goto out;
    if (ls->n_maps || seg__dma_lseg_busy(ls)) {
        rc = -EBUSY;
        goto out;
    }
    /* As in Dolphin's library, connected remotes do not keep the segment: each is force-disconnected
     * (SCI_CB_DISCONNECT, its maps revoked, mapped or not) and the memory stays quarantined until it
     * answered or died. FORCE_REMOVE is therefore what every remove does. */
    for (unsigned int i = 0; i < OSCI_MAX_ADAPTERS; i++)
        if (seg.adapter[i].drv)
            unavailable_notify(ls, &seg.adapter[i], true);
    for (unsigned int i = 0; i < OSCI_MAX_ADAPTERS; i++)
        if (seg.adapter[i].drv)
            lseg_transition(ls, i, LSEG_EV_REMOVE);
    osci_list_del(&ls->link);
    seg__obj_remove(&ls->o);
    while (ls->waiters)
        seg__cond_wait(0);
    if (!osci_list_empty(&ls->quar)) {
        struct seg_quarantine *q = calloc(1, sizeof(*q));
        if (q) {
            q->seg_id = ls->id;
            q->mem = ls->mem;
            osci_list_init(&q->conns);
            osci_list_splice(&q->conns, &ls->quar);
            memset(&ls->mem, 0, sizeof(ls->mem));
            osci_list_add(&segx.quar, &q->link);
            osci_log(OSCI_LOG_DEBUG, "lseg", "segment %u: memory quarantined until remotes answer", q->seg_id);
        }
    }
    lseg_destroy(ls);
    seg__info_publish();
out:
    pthread_mutex_unlock(&seg.lock);
    seg__set_error(error, rc);
}

SISCI_API_EXPORT sci_segment_cb_reason_t SCIWaitForLocalSegmentEvent(sci_local_segment_t ls,
        unsigned int *sourcenodeId, unsigned int *localAdapterNo, unsigned int timeout, unsigned int flags,
        sci_error_t *error)
{
    struct seg_sevent e;
    sci_segment_cb_reason_t reason = 0;
    int rc;

    pthread_mutex_lock(&seg.lock);
    if ((rc = seg__enter(ls, SEG_LSEG_MAGIC, flags, 0)) == 0 &&
        (rc = seg__evq_wait(&ls->o, &ls->evq, &ls->waiters, timeout, &e)) == 0) {
        reason = e.reason;
        if (sourcenodeId)
            *sourcenodeId = e.node;
        if (localAdapterNo)
            *localAdapterNo = e.adapter;
    }
    pthread_mutex_unlock(&seg.lock);
    seg__set_error(error, rc);
    return reason;
}

SISCI_API_EXPORT size_t SCIGetLocalSegmentSize(sci_local_segment_t ls)
{
    return seg__lseg_valid(ls) ? ls->size : 0;
}

SISCI_API_EXPORT unsigned int SCIGetLocalSegmentId(sci_local_segment_t ls)
{
    return seg__lseg_valid(ls) ? ls->id : 0;
}

int seg__lseg_register(sci_local_segment_t ls, const struct osci_drv_mem_view *view, unsigned int flags)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    int rc;

    pthread_mutex_lock(&seg.lock);
    if ((rc = lseg_enter(ls)) < 0)
        goto out;
    if (flags & ~SCI_FLAG_LOCK_USER_MEM) {
        rc = -SEG_EFLAG;
        goto out;
    }
    if (!(ls->flags & SCI_FLAG_EMPTY) || ls->mem.kind != SEG_MEM_NONE) {
        rc = -EPERM;               /* only an EMPTY segment without memory takes user memory */
        goto out;
    }
    if (!view->addr || ((uintptr_t)view->addr & (pg - 1))) {
        rc = -EFAULT;
        goto out;
    }
    if (view->size == 0 || (view->size & (pg - 1))) {
        rc = -SEG_ESIZE;
        goto out;
    }
    if (view->size < ls->size) {
        rc = -ERANGE;
        goto out;
    }
    if (view->fd >= 0 && (view->fd_offset < 0 || ((size_t)view->fd_offset & (pg - 1)))) {
        rc = -EINVAL;
        goto out;
    }
    ls->mem.kind = SEG_MEM_USER;
    ls->mem.view = *view;
    if (view->fd < 0)
        ls->mem.view = (struct osci_drv_mem_view){ .addr = view->addr, .size = view->size, .fd = -1 };
out:
    pthread_mutex_unlock(&seg.lock);
    return rc;
}

SISCI_API_EXPORT void SCIRegisterSegmentMemory(void *address, size_t size, sci_local_segment_t ls,
                                               unsigned int flags, sci_error_t *error)
{
    const struct osci_drv_mem_view v = { .addr = address, .size = size, .fd = -1, .fd_offset = 0 };

    seg__set_error(error, seg__lseg_register(ls, &v, flags));
}

SISCI_API_EXPORT void SCIAttachPhysicalMemory(sci_ioaddr_t ioaddress, void *address, unsigned int busNo,
                                              size_t size, sci_local_segment_t ls, unsigned int flags,
                                              sci_error_t *error)
{
    int rc = seg__enter(NULL, 0, 0, 0);   /* not supported, whatever the arguments */

    /* No physical addresses in user space on any OpenSCI driver (docs/sisci-compat.md). */
    seg__set_error(error, rc < 0 ? rc : -EOPNOTSUPP);
}

SISCI_API_EXPORT void SCIShareSegment(sci_local_segment_t ls, unsigned int flags, sci_error_t *error)
{
    int rc = seg__enter(NULL, 0, 0, 0);   /* not supported, whatever the arguments */

    seg__set_error(error, rc < 0 ? rc : -EOPNOTSUPP);
}

SISCI_API_EXPORT void SCIAttachLocalSegment(sci_desc_t sd, sci_local_segment_t *segment, unsigned int segmentId,
                                            size_t *size, sci_cb_local_segment_t callback, void *callbackArg,
                                            unsigned int flags, sci_error_t *error)
{
    int rc = seg__enter(NULL, 0, 0, 0);   /* not supported, whatever the arguments */

    seg__set_error(error, rc < 0 ? rc : -EOPNOTSUPP);
}
