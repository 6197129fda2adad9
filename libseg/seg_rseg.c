/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Remote segments (ARCHITECTURE §4.2): connect/disconnect over the segment protocol and the remote
 * state machine CONNECTING, OPERATIONAL, NOT_OPERATIONAL, DISCONNECTING_{OPERATIONAL,NOT_OPERATIONAL},
 * LOST, driven by CB_OPERATIONAL, CB_NOT_OPERATIONAL, CB_DISCONNECT and CB_LOST.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "seg_bcast.h"
#include "seg_export.h"
#include "seg_intr.h"
#include "seg_obj.h"

/* A DISCONNECT that could not be sent while the link was down; resent when it comes back. */
struct seg_pending_disc {
    struct osci_list_node link;          /* in pending_disc */
    unsigned int adapter;
    uint32_t node, seg_id;
    uint64_t conn_id;
};
static struct osci_list_head pending_disc = OSCI_LIST_HEAD_INIT(pending_disc);

const char *rseg_state_str(enum rseg_state s)
{
    static const char *const n[] = { "CONNECTING", "OPERATIONAL", "NOT_OPERATIONAL", "DISCONNECTING_OPERATIONAL",
                                     "DISCONNECTING_NOT_OPERATIONAL", "LOST" };
    return (unsigned int)s < RSEG_STATE_COUNT ? n[s] : "?";
}

static const char *ev_str(sci_segment_cb_reason_t ev)
{
    switch (ev) {
    case SCI_CB_CONNECT: return "CB_CONNECT";
    case SCI_CB_DISCONNECT: return "CB_DISCONNECT";
    case SCI_CB_NOT_OPERATIONAL: return "CB_NOT_OPERATIONAL";
    case SCI_CB_OPERATIONAL: return "CB_OPERATIONAL";
    case SCI_CB_LOST: return "CB_LOST";
    default: return "?";
    }
}

/* The only writer of rs->state; the seed diagram exactly. Illegal pairs: -EPROTO. */
int rseg_transition(struct sci_remote_segment *rs, sci_segment_cb_reason_t ev)
{
    enum rseg_state old = rs->state, new = RSEG_STATE_COUNT;

    switch (old) {
    case RSEG_CONNECTING:
        if (ev == SCI_CB_OPERATIONAL) new = RSEG_OPERATIONAL;
        else if (ev == SCI_CB_LOST) new = RSEG_LOST;
        break;
    case RSEG_OPERATIONAL:
        if (ev == SCI_CB_NOT_OPERATIONAL) new = RSEG_NOT_OPERATIONAL;
        else if (ev == SCI_CB_DISCONNECT) new = RSEG_DISCONNECTING_OPERATIONAL;
        else if (ev == SCI_CB_LOST) new = RSEG_LOST;
        break;
    case RSEG_NOT_OPERATIONAL:
        if (ev == SCI_CB_OPERATIONAL) new = RSEG_OPERATIONAL;
        else if (ev == SCI_CB_DISCONNECT) new = RSEG_DISCONNECTING_NOT_OPERATIONAL;
        else if (ev == SCI_CB_LOST) new = RSEG_LOST;
        break;
    case RSEG_DISCONNECTING_OPERATIONAL:
        if (ev == SCI_CB_LOST) new = RSEG_LOST;
        break;
    case RSEG_DISCONNECTING_NOT_OPERATIONAL:
        if (ev == SCI_CB_OPERATIONAL) new = RSEG_DISCONNECTING_OPERATIONAL;
        else if (ev == SCI_CB_LOST) new = RSEG_LOST;
        break;
    default:
        break;
    }
    if (new == RSEG_STATE_COUNT) {
        osci_log(OSCI_LOG_DEBUG, "rseg", "node %u segment %u: %s --%s--> refused", rs->node, rs->seg_id,
                 rseg_state_str(old), ev_str(ev));
        return -EPROTO;
    }
    osci_log(OSCI_LOG_DEBUG, "rseg", "node %u segment %u: %s --%s--> %s", rs->node, rs->seg_id,
             rseg_state_str(old), ev_str(ev), rseg_state_str(new));
    rs->state = new;
    return 0;
}

bool seg__rseg_valid(sci_remote_segment_t rs) { return seg__handle_live(rs, SEG_RSEG_MAGIC); }

/* ---------------------------------------------------------------- events */

/* The segment's callback, through the one runner (seg_core.c): one call per queued event. */
static bool rseg_take(struct seg_obj *o, void *arg, struct seg_sevent *e)
{
    (void)arg;
    return seg__evq_take_cb(&((struct sci_remote_segment *)o)->evq, e);
}

static sci_callback_action_t rseg_call(struct seg_obj *o, void *arg, const struct seg_sevent *e)
{
    (void)arg;
    return ((sci_cb_remote_segment_t)o->cb)(o->cb_arg, (sci_remote_segment_t)o, e->reason, e->status);
}

static void rseg_free(struct seg_obj *o) { free(o); }

const struct seg_obj_ops seg__rseg_ops = {
    .name = "remote segment", .take = rseg_take, .call = rseg_call, .free = rseg_free,
};

static void rseg_event(struct sci_remote_segment *rs, sci_segment_cb_reason_t reason, sci_error_t status)
{
    seg__evq_push(&rs->evq, reason, rs->node, rs->adapter, status);
    seg__obj_kick(&rs->o);
}

void seg__rseg_post(struct sci_remote_segment *rs, sci_segment_cb_reason_t reason)
{
    rseg_event(rs, reason, SCI_ERR_OK);
}

/* Runs the machine and queues the user-visible event of a successful edge. */
static void rseg_step(struct sci_remote_segment *rs, sci_segment_cb_reason_t ev, sci_error_t status)
{
    bool connecting = rs->state == RSEG_CONNECTING;
    if (rseg_transition(rs, ev) < 0)
        return;
    rseg_event(rs, connecting && ev == SCI_CB_OPERATIONAL ? SCI_CB_CONNECT : ev, status);
}

static void revoke(struct sci_remote_segment *rs)
{
    atomic_store(&rs->health, SEG_HEALTH_DEAD);
    if (rs->rmem && !rs->revoked && seg.adapter[rs->adapter].drv) {
        int rc = osci_drv_rmem_revoke(seg.adapter[rs->adapter].drv, rs->rmem);
        if (rc < 0)
            osci_log(OSCI_LOG_WARN, "rseg", "node %u segment %u: revoke: %s", rs->node, rs->seg_id,
                     osci_strerror(rc));
    }
    rs->revoked = true;
}

/* ---------------------------------------------------------------- protocol, remote side */

static struct sci_remote_segment *find_conn(struct seg_adapter *a, uint32_t node, uint64_t conn_id)
{
    struct sci_remote_segment *rs;

    osci_list_for_each(rs, &segx.rsegs, link)
        if (rs->conn_id == conn_id && rs->node == node && rs->adapter == a->no)
            return rs;
    return NULL;
}

static void send_disconnect(struct seg_adapter *a, uint32_t node, uint64_t conn_id, uint32_t seg_id)
{
    struct seg_msg m = { .type = SEG_MSG_DISCONNECT };
    m.u.disconnect.conn_id = conn_id;
    m.u.disconnect.seg_id = seg_id;
    if (seg__send(a, node, &m) < 0 && !seg__peer_lost_state(&a->peer[node])) {
        struct seg_pending_disc *p = calloc(1, sizeof(*p));
        if (p) {
            *p = (struct seg_pending_disc){ .adapter = a->no, .node = node, .seg_id = seg_id,
                                            .conn_id = conn_id };
            osci_list_add(&pending_disc, &p->link);
        }
    }
}

static void connect_done(struct sci_remote_segment *rs, int rc)
{
    rs->connect_done = true;
    rs->connect_rc = rc;
    pthread_cond_broadcast(&seg.cond);
}

static void on_connect_ok(struct seg_adapter *a, const struct seg_msg *m)
{
    struct sci_remote_segment *rs = find_conn(a, m->src_node, m->u.connect_ok.conn_id);
    int rc;

    if (!rs || rs->state != RSEG_CONNECTING || rs->connect_done) {
        /* the requester gave up (timeout): tell the owner to drop the connection */
        send_disconnect(a, m->src_node, m->u.connect_ok.conn_id, 0);
        return;
    }
    if (m->u.connect_ok.size == 0) {
        rc = -EPROTO;
        goto err_refuse;
    }
    rc = osci_drv_rmem_import(a->drv, rs->node, m->u.connect_ok.xport, m->u.connect_ok.xport_len, &rs->rmem);
    if (rc < 0) {
        rs->rmem = NULL;
        if (rs->node == a->drv->node_id)
            rc = -EOPNOTSUPP;      /* the driver cannot import its own node's memory */
        osci_log(OSCI_LOG_WARN, "rseg", "node %u segment %u: import: %s", rs->node, rs->seg_id,
                 osci_strerror(rc));
        goto err_refuse;
    }
    rs->size = m->u.connect_ok.size;
    rs->epoch = a->peer[rs->node].epoch;
    atomic_store(&rs->health, SEG_HEALTH_OK);
    rseg_step(rs, SCI_CB_OPERATIONAL, SCI_ERR_OK);
    connect_done(rs, 0);
    seg__info_publish();
    return;

err_refuse:
    send_disconnect(a, rs->node, rs->conn_id, rs->seg_id);
    connect_done(rs, rc);
}

static void on_unavailable(struct seg_adapter *a, const struct seg_msg *m)
{
    struct sci_remote_segment *rs = find_conn(a, m->src_node, m->u.unavailable.conn_id);
    bool force = m->u.unavailable.mode == SEG_UNAVAIL_FORCE;

    if (rs && rs->state != RSEG_CONNECTING && rs->state != RSEG_LOST) {
        if (force)
            revoke(rs);
        rseg_step(rs, SCI_CB_DISCONNECT, SCI_ERR_OK);
        seg__info_publish();
    }
    if (force)   /* the owner keeps the memory quarantined until this answer */
        send_disconnect(a, m->src_node, m->u.unavailable.conn_id, m->u.unavailable.seg_id);
}

void seg__rseg_on_msg(struct seg_adapter *a, const struct seg_msg *m)
{
    struct sci_remote_segment *rs;

    switch (m->type) {
    case SEG_MSG_CONNECT_OK:
        on_connect_ok(a, m);
        break;
    case SEG_MSG_CONNECT_REFUSED:
        rs = find_conn(a, m->src_node, m->u.refused.conn_id);
        if (rs && rs->state == RSEG_CONNECTING && !rs->connect_done)
            /* -EACCES: a wrong connect key (seg_export.c), SCI_ERR_ACCESS */
            connect_done(rs, m->u.refused.reason == -ENOENT || m->u.refused.reason == -EACCES ? m->u.refused.reason
                                                                                            : -ECONNREFUSED);
        break;
    case SEG_MSG_UNAVAILABLE:
        on_unavailable(a, m);
        break;
    default:
        break;
    }
}

/* The disconnects still owed to node on a: sent now that the link is back, or dropped with the peer. */
static void pending_flush(struct seg_adapter *a, uint32_t node, bool send)
{
    struct seg_pending_disc *p, *tmp;

    osci_list_for_each_safe(p, tmp, &pending_disc, link) {
        if (p->adapter == a->no && p->node == node) {
            osci_list_del(&p->link);
            if (send)
                send_disconnect(a, p->node, p->conn_id, p->seg_id);   /* may queue it again, first */
            free(p);
        }
    }
}

void seg__rseg_link(struct seg_adapter *a, uint32_t node, sci_segment_cb_reason_t reason)
{
    struct sci_remote_segment *rs;

    osci_list_for_each(rs, &segx.rsegs, link) {
        if (rs->node != node || rs->adapter != a->no)
            continue;
        if (rs->state == RSEG_CONNECTING) {
            if (reason == SCI_CB_NOT_OPERATIONAL && !rs->connect_done)
                connect_done(rs, -ENOLINK);
            continue;
        }
        if (rs->state == RSEG_LOST)
            continue;
        if (!rs->revoked) {
            if (reason == SCI_CB_NOT_OPERATIONAL) {
                atomic_fetch_add(&rs->fault_cnt, 1);
                atomic_store(&rs->health, SEG_HEALTH_NOTOP);
            } else {
                atomic_store(&rs->health, SEG_HEALTH_OK);
            }
        }
        rseg_step(rs, reason, SCI_ERR_OK);
    }
    if (reason == SCI_CB_OPERATIONAL)
        pending_flush(a, node, true);
}

void seg__rseg_peer_lost(struct seg_adapter *a, uint32_t node, bool keep_connecting)
{
    struct sci_remote_segment *rs;

    osci_list_for_each(rs, &segx.rsegs, link) {
        if (rs->node != node || rs->adapter != a->no)
            continue;
        if (rs->state == RSEG_CONNECTING) {
            if (keep_connecting)
                continue;
            if (!rs->connect_done)
                connect_done(rs, -ENOENT);  /* gone before it answered: a segment not there */
            continue;
        }
        revoke(rs);
        rseg_step(rs, SCI_CB_LOST, SCI_ERR_OK);
    }
    pending_flush(a, node, false);
}

int seg__rseg_target(sci_remote_segment_t rs, struct seg_adapter **a_p, struct osci_drv_rmem **rmem_p,
                     size_t *size_p)
{
    if (!seg__rseg_valid(rs))
        return -EINVAL;
    if (rs->bc)
        return -EOPNOTSUPP;      /* DMA to a broadcast group: docs/sisci-compat.md */
    if (rs->revoked || rs->state == RSEG_LOST || !rs->rmem)
        return -ESTALE;
    if (rs->state == RSEG_NOT_OPERATIONAL || rs->state == RSEG_DISCONNECTING_NOT_OPERATIONAL)
        return -ENOLINK;
    *a_p = &seg.adapter[rs->adapter];
    *rmem_p = rs->rmem;
    *size_p = rs->size;
    return 0;
}

/* ---------------------------------------------------------------- API */

static void unlink_rseg(struct sci_remote_segment *rs)
{
    osci_list_del(&rs->link);            /* nothing when seg__rseg_free_all took it already */
}

static void rseg_destroy(struct sci_remote_segment *rs)
{
    if (rs->rmem && seg.adapter[rs->adapter].drv)
        osci_drv_rmem_release(seg.adapter[rs->adapter].drv, rs->rmem);
    rs->rmem = NULL;
    seg__evq_clear(&rs->evq);
    seg__handle_del(rs);
    rs->o.magic = 0;
    seg__obj_put(&rs->o);                 /* the handle's reference: freed here or by its last run */
}

struct sci_remote_segment *seg__rseg_pop_removed(struct osci_list_head *list)
{
    struct sci_remote_segment *rs = osci_list_first(list, struct sci_remote_segment, link);

    if (!rs)
        return NULL;
    osci_list_del(&rs->link);
    rs->o.removed = true;
    pthread_cond_broadcast(&seg.cond);
    while (rs->waiters)
        seg__cond_wait(0);
    if (rs->sd)
        rs->sd->n_objs--;
    return rs;
}

void seg__rseg_free_all(void)
{
    struct sci_remote_segment *rs;
    struct seg_pending_disc *p;

    while ((rs = seg__rseg_pop_removed(&segx.rsegs)))
        rseg_destroy(rs);
    while ((p = osci_list_first(&pending_disc, struct seg_pending_disc, link))) {
        osci_list_del(&p->link);
        free(p);
    }
}

/*
 * Whether `node` can take a connect now (lock held). A node id that may exist but is not up (not
 * joined yet, restarting, dead, its link down) answers -ENOENT, as a segment not there yet: on a real
 * cluster every node's driver is always up, SISCI clients retry only on NO_SUCH_SEGMENT, and a network
 * driver cannot tell a cut link from a peer process that is restarting. -EHOSTUNREACH only for an id
 * the driver says can never exist (not in hosts.conf). A node the driver sees but whose LINK_UP this
 * library has not taken yet (it has just joined) is waited for until `deadline`.
 */
static int peer_ready(struct seg_adapter *a, uint32_t node, uint64_t deadline)
{
    for (;;) {
        struct seg_peer *p = &a->peer[node];
        int rc;

        if (seg__peer_up(p))
            return 0;
        rc = osci_drv_probe(a->drv, node);
        if (rc == -EADDRNOTAVAIL)
            return -EHOSTUNREACH;
        if (rc != 0 || seg__peer_known(p))
            return -ENOENT;                 /* not there, or down: SCIProbeNode tells which */
        /* just joined: the driver sees it, its LINK_UP is on its way to the event thread */
        uint64_t slice = osci_now_ms() + 50;
        if (slice > deadline)
            slice = deadline;
        rc = seg__cond_wait(slice);
        if (seg__check_init() < 0 || !a->drv)
            return -SEG_ENOTINIT;           /* SCITerminate meanwhile */
        if (rc == -ETIMEDOUT && osci_now_ms() >= deadline)
            return seg__peer_up(&a->peer[node]) ? 0 : -ENOENT;
    }
}

SISCI_API_EXPORT void SCIConnectSegment(sci_desc_t sd, sci_remote_segment_t *segment, unsigned int nodeId,
                                        unsigned int segmentId, unsigned int localAdapterNo,
                                        sci_cb_remote_segment_t callback, void *callbackArg, unsigned int timeout,
                                        unsigned int flags, sci_error_t *error)
{
    struct sci_remote_segment *rs = NULL;
    struct seg_adapter *a;
    struct seg_msg m = { .type = SEG_MSG_CONNECT };
    uint64_t deadline;
    int rc;

    pthread_mutex_lock(&seg.lock);
    /* BROADCAST takes its own flags (seg_bcast.c) */
    if ((rc = seg__enter(sd, SEG_DESC_MAGIC, flags, flags & SCI_FLAG_BROADCAST ? ~0u :
                         SCI_FLAG_USE_CALLBACK | SCI_FLAG_ASYNCHRONOUS_CONNECT)) < 0)
        goto out;
    if (!segment || ((flags & SCI_FLAG_USE_CALLBACK) && !callback)) {
        rc = -EINVAL;
        goto out;
    }
    if (flags & SCI_FLAG_BROADCAST) {
        rc = seg__bcast_connect(sd, segment, nodeId, segmentId, localAdapterNo, callback, callbackArg, timeout, flags);
        goto out;
    }
    if (flags & SCI_FLAG_ASYNCHRONOUS_CONNECT) {
        rc = -EOPNOTSUPP;
        goto out;
    }
    if ((rc = seg__adapter_check(localAdapterNo, &a)) < 0)
        goto out;
    if (nodeId == 0 || nodeId >= SEG_MAX_NODES) {
        rc = -EADDRNOTAVAIL;
        goto out;
    }
    if (seg__on_event_thread()) {
        rc = -EPERM;        /* the reply is delivered by this very thread */
        goto out;
    }
    deadline = osci_now_ms() + (timeout == SCI_INFINITE_TIMEOUT ? SEG_DEFAULT_CONNECT_MS : timeout);
    if (nodeId != a->drv->node_id && (rc = peer_ready(a, nodeId, deadline)) < 0)
        goto out;
    rs = seg__obj_new(sizeof(*rs), SEG_RSEG_MAGIC, &seg__rseg_ops, flags, (void (*)(void))callback, callbackArg);
    if (!rs) {
        rc = -ENOMEM;
        goto out;
    }
    rs->node = nodeId;
    rs->seg_id = segmentId;
    rs->adapter = a->no;
    rs->conn_id = seg__new_conn_id(a);
    rs->state = RSEG_CONNECTING;
    seg__evq_init(&rs->evq, rs->evbuf, SEG_RSEG_EVQ_LEN, true);
    atomic_init(&rs->fault_cnt, 0);
    atomic_init(&rs->health, SEG_HEALTH_NOTOP);
    osci_log(OSCI_LOG_DEBUG, "rseg", "node %u segment %u: [*] --connect--> CONNECTING", nodeId, segmentId);
    rc = seg__handle_add(rs);
    if (rc < 0)
        goto err_free;
    osci_list_add(&segx.rsegs, &rs->link);
    m.u.connect.seg_id = segmentId;
    m.u.connect.requester = a->drv->node_id;
    m.u.connect.conn_id = rs->conn_id;
    seg__export_key_fill(m.u.connect.key);      /* zero unless osci_import_connect */
    rc = seg__send(a, nodeId, &m);
    if (rc < 0) {
        /* its queue full: not responding; gone or down (not yet seen by the event thread): not there */
        rc = rc == -EAGAIN ? -EHOSTDOWN : rc == -EHOSTUNREACH || rc == -ENOTCONN ? -ENOENT : rc;
        goto err_unlink;
    }
    while (!rs->connect_done) {
        if (seg__cond_wait(deadline) == -ETIMEDOUT) {
            rc = -ETIMEDOUT;
            goto err_unlink;
        }
    }
    rc = rs->connect_rc;
    if (rc < 0)
        goto err_unlink;
    rs->sd = sd;
    sd->n_objs++;
    *segment = rs;
    goto out;

err_unlink:
    unlink_rseg(rs);
    seg__obj_remove(&rs->o);
err_free:
    rseg_destroy(rs);
out:
    pthread_mutex_unlock(&seg.lock);
    seg__set_error(error, rc);
}

/* seg__enter on a remote segment the user holds (not one still connecting), for calls that take no
 * flags (lock held). */
static int rseg_enter(sci_remote_segment_t rs, unsigned int flags)
{
    int rc = seg__enter(rs, SEG_RSEG_MAGIC, flags, 0);
    return rc == 0 && !rs->sd ? -EINVAL : rc;
}

void seg__rseg_retire(struct sci_remote_segment *rs)
{
    seg__obj_remove(&rs->o);
    while (rs->waiters)
        seg__cond_wait(0);
    rs->sd->n_objs--;
}

SISCI_API_EXPORT void SCIDisconnectSegment(sci_remote_segment_t rs, unsigned int flags, sci_error_t *error)
{
    int rc;

    pthread_mutex_lock(&seg.lock);
    if ((rc = rseg_enter(rs, flags)) < 0)
        goto out;
    if (rs->bc) {
        rc = seg__bcast_disconnect(rs);
        goto out;
    }
    if (rs->n_maps || seg__dma_rseg_busy(rs)) {
        rc = -EBUSY;
        goto out;
    }
    if (rs->state != RSEG_LOST && !rs->revoked)
        send_disconnect(&seg.adapter[rs->adapter], rs->node, rs->conn_id, rs->seg_id);
    osci_log(OSCI_LOG_DEBUG, "rseg", "node %u segment %u: %s --disconnect--> [*]", rs->node, rs->seg_id,
             rseg_state_str(rs->state));
    unlink_rseg(rs);
    seg__rseg_retire(rs);
    rseg_destroy(rs);
    seg__info_publish();
out:
    pthread_mutex_unlock(&seg.lock);
    seg__set_error(error, rc);
}

SISCI_API_EXPORT size_t SCIGetRemoteSegmentSize(sci_remote_segment_t rs)
{
    return seg__rseg_valid(rs) ? (size_t)rs->size : 0;
}

SISCI_API_EXPORT unsigned int SCIGetRemoteSegmentId(sci_remote_segment_t rs)
{
    return seg__rseg_valid(rs) ? rs->seg_id : 0;
}

SISCI_API_EXPORT unsigned int SCIGetRemoteSegmentNodeId(sci_remote_segment_t rs)
{
    return seg__rseg_valid(rs) ? rs->node : 0;
}

SISCI_API_EXPORT sci_segment_cb_reason_t SCIWaitForRemoteSegmentEvent(sci_remote_segment_t rs,
        sci_error_t *status, unsigned int timeout, unsigned int flags, sci_error_t *error)
{
    struct seg_sevent e;
    sci_segment_cb_reason_t reason = 0;
    int rc;

    pthread_mutex_lock(&seg.lock);
    if ((rc = rseg_enter(rs, flags)) == 0 &&
        (rc = seg__evq_wait(&rs->o, &rs->evq, &rs->waiters, timeout, &e)) == 0) {
        reason = e.reason;
        if (status)
            *status = e.status;
    }
    pthread_mutex_unlock(&seg.lock);
    seg__set_error(error, rc);
    return reason;
}
