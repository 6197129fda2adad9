/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* rdma driver: event queue, connection state machine, connection resources, link state. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "osci_time.h"
#include "rdma_int.h"

/* ---- event queue (d->lock) ---- */

void rd_evq_push(struct rdma_drv *d, enum osci_drv_event_type type, uint32_t node, uint64_t epoch,
                 const void *msg, uint32_t len)
{
    struct osci_drv_event *ev;

    if (d->evq_n == RDMA_EVQ) {
        osci_log(OSCI_LOG_ERROR, MOD, "event queue full: dropping event %d for node %u", (int)type, node);
        return;
    }
    ev = &d->evq[(d->evq_head + d->evq_n) % RDMA_EVQ];
    d->evq_n++;
    ev->type = type;
    ev->node = node;
    ev->epoch = epoch;
    ev->db_bits = 0;
    ev->len = len;
    if (len)
        memcpy(ev->msg, msg, len);
}

/* ---- connection state machine ---- */

static const char *conn_state_str(enum conn_state s)
{
    static const char *const n[CONN_STATE_COUNT] = { "NEW", "RESOLVING_ADDR", "RESOLVING_ROUTE", "CONNECTING",
                                                     "ACCEPTING", "UP", "CLOSED" };
    return (unsigned int)s < CONN_STATE_COUNT ? n[s] : "?";
}

static const char *conn_event_str(enum conn_event e)
{
    static const char *const n[CEV_COUNT] = { "start", "accept", "addr_resolved", "route_resolved", "established",
                                              "fail" };
    return (unsigned int)e < CEV_COUNT ? n[e] : "?";
}

/* The edges: next_state[state][event]; CONN_NEW (never a destination) where the event is refused. */
static const enum conn_state next_state[CONN_STATE_COUNT][CEV_COUNT] = {
    [CONN_NEW] = { [CEV_START] = CONN_RESOLVING_ADDR, [CEV_ACCEPT] = CONN_ACCEPTING, [CEV_FAIL] = CONN_CLOSED },
    [CONN_RESOLVING_ADDR] = { [CEV_ADDR_RESOLVED] = CONN_RESOLVING_ROUTE, [CEV_FAIL] = CONN_CLOSED },
    [CONN_RESOLVING_ROUTE] = { [CEV_ROUTE_RESOLVED] = CONN_CONNECTING, [CEV_FAIL] = CONN_CLOSED },
    [CONN_CONNECTING] = { [CEV_ESTABLISHED] = CONN_UP, [CEV_FAIL] = CONN_CLOSED },
    [CONN_ACCEPTING] = { [CEV_ESTABLISHED] = CONN_UP, [CEV_FAIL] = CONN_CLOSED },
    [CONN_UP] = { [CEV_FAIL] = CONN_CLOSED },
};

/* The only writer of conn->state. */
int rd_conn_step(struct rdma_conn *c, enum conn_event ev)
{
    enum conn_state old = c->state, next = CONN_NEW;

    if ((unsigned int)old < CONN_STATE_COUNT && (unsigned int)ev < CEV_COUNT)
        next = next_state[old][ev];
    if (next == CONN_NEW) {
        osci_log(OSCI_LOG_DEBUG, MOD, "node %u: conn %s --%s--> rejected", c->node, conn_state_str(old),
                 conn_event_str(ev));
        return -EPROTO;
    }
    osci_log(OSCI_LOG_DEBUG, MOD, "node %u: conn %s --%s--> %s", c->node, conn_state_str(old), conn_event_str(ev),
             conn_state_str(next));
    c->state = next;
    return 0;
}

/* ---- connection resources ---- */

int rd_set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -errno;
    return 0;
}

struct rdma_conn *rd_conn_new(struct rdma_drv *d, uint32_t node, bool active)
{
    struct rdma_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    if (pthread_mutex_init(&c->send_lock, NULL) != 0) {
        free(c);
        return NULL;
    }
    if (pthread_cond_init(&c->send_cond, NULL) != 0) {
        pthread_mutex_destroy(&c->send_lock);
        free(c);
        return NULL;
    }
    c->d = d;
    c->node = node;
    c->active = active;
    c->started_ms = osci_now_ms();
    c->state = CONN_NEW;
    return c;
}

void rd_conn_free(struct rdma_conn *c)
{
    if (c->id && c->has_qp)
        rdma_destroy_qp(c->id);
    if (c->recv_cq)
        ibv_destroy_cq(c->recv_cq);
    if (c->send_cq)
        ibv_destroy_cq(c->send_cq);
    if (c->send_cc)
        ibv_destroy_comp_channel(c->send_cc);   /* after its CQ; every event was acked */
    if (c->recv_mr)
        ibv_dereg_mr(c->recv_mr);
    if (c->send_mr)
        ibv_dereg_mr(c->send_mr);
    if (c->ring_mr)
        ibv_dereg_mr(c->ring_mr);      /* after the QP: no work request uses it any more */
    free(c->ring);
    free(c->recv_buf);
    free(c->send_buf);
    if (c->id)
        rdma_destroy_id(c->id);
    pthread_cond_destroy(&c->send_cond);
    pthread_mutex_destroy(&c->send_lock);
    free(c);
}

int rd_conn_post_recv(struct rdma_conn *c, unsigned int i)
{
    struct ibv_sge sge = {
        .addr = (uintptr_t)(c->recv_buf + (size_t)i * RDMA_MSG_BUF),
        .length = RDMA_MSG_BUF,
        .lkey = c->recv_mr->lkey,
    };
    struct ibv_recv_wr wr = { .wr_id = i, .sg_list = &sge, .num_sge = 1 }, *bad;
    int r = ibv_post_recv(c->id->qp, &wr, &bad);
    return r ? -r : 0;
}

/* CQs, buffers, QP and the receive pool. Freed by rd_conn_free() on failure. */
int rd_conn_setup_qp(struct rdma_drv *d, struct rdma_conn *c)
{
    struct ibv_qp_init_attr qa;
    size_t rlen = (size_t)RDMA_RECV_DEPTH * RDMA_MSG_BUF, slen = (size_t)RDMA_SEND_DEPTH * RDMA_MSG_BUF;
    int ret;

    c->send_cc = ibv_create_comp_channel(d->ctx);
    if (!c->send_cc || rd_set_nonblock(c->send_cc->fd) < 0) {
        ret = errno ? -errno : -ENOMEM;
        osci_log(OSCI_LOG_ERROR, MOD, "node %u: cannot create the send completion channel: %s", c->node,
                 strerror(-ret));
        return ret;
    }
    c->recv_cq = ibv_create_cq(d->ctx, RDMA_RECV_DEPTH, c, d->cc, 0);
    c->send_cq = ibv_create_cq(d->ctx, RDMA_SEND_DEPTH, c, c->send_cc, 0);
    c->recv_buf = aligned_alloc(4096, (rlen + 4095) & ~(size_t)4095);
    c->send_buf = aligned_alloc(4096, (slen + 4095) & ~(size_t)4095);
    if (!c->recv_cq || !c->send_cq || !c->recv_buf || !c->send_buf) {
        ret = errno ? -errno : -ENOMEM;
        osci_log(OSCI_LOG_ERROR, MOD, "node %u: cannot create CQs/buffers: %s", c->node, strerror(-ret));
        return ret;
    }
    c->recv_mr = ibv_reg_mr(d->pd, c->recv_buf, rlen, IBV_ACCESS_LOCAL_WRITE);
    c->send_mr = ibv_reg_mr(d->pd, c->send_buf, slen, IBV_ACCESS_LOCAL_WRITE);
    if (!c->recv_mr || !c->send_mr) {
        ret = errno ? -errno : -ENOMEM;
        osci_log(OSCI_LOG_ERROR, MOD, "node %u: cannot register message buffers: %s", c->node, strerror(-ret));
        return ret;
    }
    memset(&qa, 0, sizeof(qa));
    qa.send_cq = c->send_cq;
    qa.recv_cq = c->recv_cq;
    qa.qp_type = IBV_QPT_RC;
    qa.cap.max_send_wr = RDMA_SEND_DEPTH;
    qa.cap.max_recv_wr = RDMA_RECV_DEPTH;
    qa.cap.max_send_sge = 1;
    qa.cap.max_recv_sge = 1;
    qa.cap.max_inline_data = 64;
    if (rdma_create_qp(c->id, d->pd, &qa) != 0) {
        qa.cap.max_inline_data = 0;
        if (rdma_create_qp(c->id, d->pd, &qa) != 0) {
            ret = -errno;
            osci_log(OSCI_LOG_ERROR, MOD, "node %u: rdma_create_qp: %s", c->node, strerror(errno));
            return ret;
        }
    }
    c->has_qp = true;
    c->max_inline = qa.cap.max_inline_data;
    for (unsigned int i = 0; i < RDMA_RECV_DEPTH; i++) {
        ret = rd_conn_post_recv(c, i);
        if (ret < 0) {
            osci_log(OSCI_LOG_ERROR, MOD, "node %u: ibv_post_recv: %s", c->node, strerror(-ret));
            return ret;
        }
    }
    if (ibv_req_notify_cq(c->recv_cq, 0) != 0) {
        ret = -errno;
        osci_log(OSCI_LOG_ERROR, MOD, "node %u: ibv_req_notify_cq: %s", c->node, strerror(errno));
        return ret;
    }
    c->cq_armed = true;
    return 0;
}

void rd_conn_param_init(struct rdma_drv *d, struct rdma_conn_param *p, uint8_t priv[RDMA_CM_PRIV_LEN])
{
    struct rdma_cm_priv cp = { .node_id = d->base.node_id, .epoch = d->epoch };

    rdma__cm_priv_pack(&cp, priv);
    memset(p, 0, sizeof(*p));
    p->private_data = priv;
    p->private_data_len = RDMA_CM_PRIV_LEN;
    p->responder_resources = d->rd_atom;
    p->initiator_depth = d->rd_atom;
    p->retry_count = RDMA_RETRY_COUNT;
    p->rnr_retry_count = 7;   /* receivers repost promptly: RNR is back-pressure, not failure */
}

/* Transport ACK timeout of the QP that id will make (before rdma_connect / rdma_accept): with
 * RDMA_RETRY_COUNT retries a dead path fails queued work in about 2 s where the device honours it. */
void rd_set_ack_timeout(struct rdma_cm_id *id, uint32_t node)
{
    uint8_t t = RDMA_ACK_TIMEOUT;
    if (rdma_set_option(id, RDMA_OPTION_ID, RDMA_OPTION_ID_ACK_TIMEOUT, &t, sizeof(t)) != 0)
        osci_log(OSCI_LOG_DEBUG, MOD, "node %u: RDMA_OPTION_ID_ACK_TIMEOUT: %s (the CM's default stays)", node,
                 strerror(errno));
}

static const char *why_str(enum conn_fail_why why)
{
    static const char *const n[] = { "error", "disconnected", "transport retries exceeded", "replaced",
                                     "send stalled", "not established in time", "local" };
    return (unsigned int)why < sizeof(n) / sizeof(n[0]) ? n[why] : "?";
}

/* ---- link state (d->lock) ---- */

/*
 * 1 when the port is ACTIVE. While it is not (its netdev is down), nothing may send a CM MAD: soft-RoCE
 * fails a send that has no route by moving the QP to the error state, and for the GSI QP (QP1) that
 * is for good, so this node's rdma_cm would never connect again. Disconnecting or destroying a CM id
 * that has spoken to a peer sends a DREQ or REJ, so failed connections wait (as zombies) for the port.
 */
bool rd_port_active(struct rdma_drv *d)
{
    struct ibv_port_attr pa;
    bool up = ibv_query_port(d->ctx, (uint8_t)d->o.port, &pa) == 0 && pa.state == IBV_PORT_ACTIVE;

    if (up == d->port_down)
        osci_log(OSCI_LOG_INFO, MOD, "%s port %u %s", d->dev_name, d->o.port,
                 up ? "ACTIVE again" : "not ACTIVE: no connection attempt or CM teardown until it is");
    d->port_down = !up;
    return up;
}

void rd_peer_schedule_retry(struct rdma_drv *d, uint32_t node, uint64_t delay_ms)
{
    d->peer[node].next_retry_ms = osci_now_ms() + delay_ms;
}

/*
 * Ends connection c: the peer's link goes down if it was up (LINK_DOWN, never PEER_DEAD: a cut path
 * also exhausts transport retries; a restarted peer shows itself by its new epoch in rd_conn_up());
 * c becomes a zombie and a new attempt is due after retry_ms.
 */
void rd_conn_fail(struct rdma_drv *d, struct rdma_conn *c, enum conn_fail_why why)
{
    struct rdma_peer *p = &d->peer[c->node];
    enum conn_state old = c->state;

    if (rd_conn_step(c, CEV_FAIL) < 0)
        return;
    if (old == CONN_UP || old == CONN_ACCEPTING || old == CONN_CONNECTING) {
        c->cm_live = true;                /* rd_zombies_reap() disconnects it once the port is ACTIVE */
        if (c->has_qp) {
            struct ibv_qp_attr qa = { .qp_state = IBV_QPS_ERR };
            (void)ibv_modify_qp(c->id->qp, &qa, IBV_QP_STATE);   /* outstanding work flushes now */
        }
    }
    if (p->conn == c) {
        p->conn = NULL;
        if (p->link_up) {
            p->link_up = false;
            osci_log(OSCI_LOG_INFO, MOD, "node %u: link down (%s, epoch %016" PRIx64 ")", c->node, why_str(why),
                     p->epoch);
            rd_evq_push(d, OSCI_DRV_EV_LINK_DOWN, c->node, p->epoch, NULL, 0);
        } else {
            osci_log(OSCI_LOG_DEBUG, MOD, "node %u: %s attempt ended (%s)", c->node, c->active ? "connect" : "accept",
                     why_str(why));
        }
        rd_peer_schedule_retry(d, c->node, why == WHY_LOCAL ? 0 : d->o.retry_ms);
    }
    osci_list_add(&d->zombies, &c->zombie_link);
}

void rd_conn_up(struct rdma_drv *d, struct rdma_conn *c, uint64_t epoch)
{
    struct rdma_peer *p = &d->peer[c->node];

    if (rd_conn_step(c, CEV_ESTABLISHED) < 0)
        return;
    if (p->epoch && p->epoch != epoch && p->dead_epoch != p->epoch) {
        osci_log(OSCI_LOG_INFO, MOD, "node %u: restarted (epoch %016" PRIx64 " -> %016" PRIx64 ")", c->node,
                 p->epoch, epoch);
        p->dead_epoch = p->epoch;
        rd_evq_push(d, OSCI_DRV_EV_PEER_DEAD, c->node, p->epoch, NULL, 0);
    }
    p->epoch = epoch;
    p->link_up = true;
    p->last_rx_ms = osci_now_ms();
    osci_log(OSCI_LOG_INFO, MOD, "node %u: link up (epoch %016" PRIx64 ")", c->node, epoch);
    rd_evq_push(d, OSCI_DRV_EV_LINK_UP, c->node, epoch, NULL, 0);
}

/* Starts an active connection attempt towards node. */
void rd_conn_start(struct rdma_drv *d, uint32_t node)
{
    struct rdma_peer *p = &d->peer[node];
    struct sockaddr_storage dst, src;
    struct rdma_conn *c;
    char a[64];

    if (!rd_port_active(d)) {
        rd_peer_schedule_retry(d, node, d->o.retry_ms);
        return;
    }
    c = rd_conn_new(d, node, true);
    if (!c) {
        rd_peer_schedule_retry(d, node, d->o.retry_ms);
        return;
    }
    if (rdma_create_id(d->ch, &c->id, c, RDMA_PS_TCP) != 0) {
        osci_log(OSCI_LOG_ERROR, MOD, "node %u: rdma_create_id: %s", node, strerror(errno));
        goto err_free;
    }
    rd_set_ack_timeout(c->id, node);
    dst = p->host->sa;
    set_port(&dst, d->o.listen);
    src = d->local;
    set_port(&src, 0);
    if (rdma_resolve_addr(c->id, (struct sockaddr *)&src, (struct sockaddr *)&dst, RDMA_RESOLVE_MS) != 0) {
        osci_log(OSCI_LOG_DEBUG, MOD, "node %u: rdma_resolve_addr %s: %s", node,
                 addr_str((struct sockaddr *)&dst, a, sizeof(a)), strerror(errno));
        goto err_free;
    }
    (void)rd_conn_step(c, CEV_START);
    p->conn = c;
    return;

err_free:
    rd_conn_free(c);
    rd_peer_schedule_retry(d, node, d->o.retry_ms);
}
