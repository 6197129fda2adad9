/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* rdma driver: the event thread: receive side, housekeeping, zombies; ops progress/arm/event_fd. */
#include <string.h>

#include "osci_time.h"
#include "rdma_int.h"

/* ---- receive side (event thread, d->lock) ---- */

static void conn_on_recv(struct rdma_drv *d, struct rdma_conn *c, const struct ibv_wc *wc)
{
    struct rdma_peer *p = &d->peer[c->node];
    struct rdma_msg_hdr h;
    const uint8_t *buf;
    int ret;

    if (wc->status != IBV_WC_SUCCESS) {
        if (wc->status != IBV_WC_WR_FLUSH_ERR)
            osci_log(OSCI_LOG_WARN, MOD, "node %u: receive failed: %s", c->node, ibv_wc_status_str(wc->status));
        rd_conn_fail(d, c, wc->status == IBV_WC_RETRY_EXC_ERR ? WHY_RETRY_EXCEEDED : WHY_ERROR);
        return;
    }
    if (c->state == CONN_ACCEPTING)
        rd_conn_up(d, c, c->peer_epoch);     /* data before the CM's ESTABLISHED: the link is up */
    if (c->state != CONN_UP || wc->opcode != IBV_WC_RECV || wc->wr_id >= RDMA_RECV_DEPTH)
        return;
    p->last_rx_ms = osci_now_ms();
    buf = c->recv_buf + (size_t)wc->wr_id * RDMA_MSG_BUF;
    if (rdma__msg_hdr_unpack(buf, wc->byte_len, &h) < 0) {
        osci_log(OSCI_LOG_WARN, MOD, "node %u: malformed control message (%u bytes) dropped", c->node, wc->byte_len);
    } else if (h.type == RDMA_MSG_DATA) {
        rd_evq_push(d, OSCI_DRV_EV_MSG, c->node, 0, buf + RDMA_MSG_HDR, h.len);
    } else {
        atomic_fetch_or(&d->db_pending, 1ull << h.bit);
        atomic_store(&d->db_last_node, c->node);
    }
    ret = rd_conn_post_recv(c, (unsigned int)wc->wr_id);
    if (ret < 0) {
        osci_log(OSCI_LOG_WARN, MOD, "node %u: ibv_post_recv: %s", c->node, strerror(-ret));
        rd_conn_fail(d, c, WHY_ERROR);
    }
}

static void conn_poll_recv(struct rdma_drv *d, struct rdma_conn *c)
{
    while (c->state == CONN_UP || c->state == CONN_ACCEPTING) {
        struct ibv_wc wc;
        if (d->evq_n >= RDMA_EVQ_MSG_MAX)
            return;
        if (c->n_stash) {
            wc = c->stash[0];
            memmove(c->stash, c->stash + 1, --c->n_stash * sizeof(wc));
        } else {
            int n = ibv_poll_cq(c->recv_cq, 1, &wc);
            if (n <= 0) {
                if (n < 0)
                    rd_conn_fail(d, c, WHY_ERROR);
                return;
            }
        }
        conn_on_recv(d, c, &wc);
    }
}

static void drain_fds(struct rdma_drv *d)
{
    uint64_t v;
    struct ibv_cq *cq;
    void *ctx;

    if (read(d->tfd, &v, sizeof(v)) < 0) {
        /* EAGAIN: no tick */
    }
    if (read(d->wfd, &v, sizeof(v)) < 0) {
        /* EAGAIN: no wake-up */
    }
    while (ibv_get_cq_event(d->cc, &cq, &ctx) == 0) {
        ibv_ack_cq_events(cq, 1);
        ((struct rdma_conn *)ctx)->cq_armed = false;
    }
}

/* Disconnects failed connections (the peer gets a DREQ) once the port can send, frees unused ones. */
void rd_zombies_reap(struct rdma_drv *d)
{
    struct rdma_conn *c, *tmp;
    int port_ok = -1;

    osci_list_for_each_safe(c, tmp, &d->zombies, zombie_link) {
        if (c->cm_live && !c->disconnected) {
            if (port_ok < 0)
                port_ok = rd_port_active(d);
            if (port_ok) {
                (void)rdma_disconnect(c->id);
                c->disconnected = true;
            }
        }
        if (c->refs || (c->cm_live && !c->disconnected))
            continue;
        osci_list_del(&c->zombie_link);
        rd_conn_free(c);
    }
}

/*
 * 1 when c's oldest outstanding send has waited stall_ms without any completion (RC completes in
 * order: the time since the last completion, or since the queue became non-empty, is its age). The
 * peer's QP may be gone while ours still retries, or retries for ever on a device that ignores the
 * ACK timeout: without this a half-dead connection would never fail on this side.
 */
static bool conn_stalled(struct rdma_drv *d, struct rdma_conn *c, uint64_t now, unsigned int *out_p)
{
    bool stalled = false;

    if (pthread_mutex_trylock(&c->send_lock) != 0)
        return false;               /* a user thread reaps it now; look again at the next tick */
    rd_send_reap(d, c);
    if (c->sq_out && now > c->sq_progress_ms && now - c->sq_progress_ms >= d->o.stall_ms) {
        stalled = true;
        *out_p = c->sq_out;
    }
    pthread_mutex_unlock(&c->send_lock);
    return stalled;
}

/* Send-side errors seen by user threads, stalled sends, attempts that take too long, new attempts, zombies. */
void rd_housekeeping(struct rdma_drv *d)
{
    uint64_t now = osci_now_ms();

    for (unsigned int i = 0; i < d->n_hosts; i++) {
        uint32_t node = d->hosts[i].node_id;
        struct rdma_peer *p = &d->peer[node];
        unsigned int out;
        int st;

        if (node == d->base.node_id)
            continue;
        if (p->conn && (st = atomic_load(&p->conn->wc_error)) != 0) {
            enum ibv_wc_status s = (enum ibv_wc_status)(st - 1);
            if (s != IBV_WC_WR_FLUSH_ERR)
                osci_log(OSCI_LOG_WARN, MOD, "node %u: send failed: %s", node, ibv_wc_status_str(s));
            rd_conn_fail(d, p->conn, s == IBV_WC_RETRY_EXC_ERR ? WHY_RETRY_EXCEEDED : WHY_ERROR);
        }
        if (p->conn && p->conn->state == CONN_UP && conn_stalled(d, p->conn, now, &out)) {
            osci_log(OSCI_LOG_WARN, MOD, "node %u: %u send(s) without completion for %u ms: path dead, reconnecting",
                     node, out, d->o.stall_ms);
            rd_conn_fail(d, p->conn, WHY_STALLED);
        }
        if (p->conn && p->conn->state != CONN_UP && now - p->conn->started_ms >= RDMA_CONNECT_MS)
            rd_conn_fail(d, p->conn, WHY_TIMEOUT);
        if (!p->conn && !p->held_down && now >= p->next_retry_ms)
            rd_conn_start(d, node);
    }
    rd_zombies_reap(d);
}

/* ---- ops: progress / arm / event fd ---- */

int rd_progress(struct osci_drv *drv, struct osci_drv_event *ev, unsigned int max)
{
    struct rdma_drv *d = to_rdma(drv);
    unsigned int n = 0;
    uint64_t bits;

    if (!ev && max)
        return -EINVAL;
    if (d->observe)
        return -EPERM;
    pthread_mutex_lock(&d->lock);
    drain_fds(d);
    rd_cm_drain(d);
    rd_housekeeping(d);
    for (unsigned int i = 0; i < d->n_hosts; i++) {
        struct rdma_peer *p = &d->peer[d->hosts[i].node_id];
        if (p->conn)
            conn_poll_recv(d, p->conn);
    }
    rd_housekeeping(d);
    rd_pub_peers(d);
    bits = atomic_load(&d->db_pending) & atomic_load(&d->db_mask);
    if (bits && n < max) {
        bits = atomic_fetch_and(&d->db_pending, ~bits) & bits;
        if (bits) {
            memset(&ev[n], 0, offsetof(struct osci_drv_event, msg));
            ev[n].type = OSCI_DRV_EV_DOORBELL;
            ev[n].node = atomic_load(&d->db_last_node);
            ev[n].db_bits = bits;
            n++;
        }
    }
    while (n < max && d->evq_n) {
        const struct osci_drv_event *q = &d->evq[d->evq_head];
        memcpy(&ev[n], q, offsetof(struct osci_drv_event, msg) + q->len);
        n++;
        d->evq_head = (d->evq_head + 1) % RDMA_EVQ;
        d->evq_n--;
    }
    pthread_mutex_unlock(&d->lock);
    return (int)n;
}

int rd_arm(struct osci_drv *drv)
{
    struct rdma_drv *d = to_rdma(drv);
    int ret = 0;

    if (d->observe)
        return -EPERM;
    pthread_mutex_lock(&d->lock);
    if (d->evq_n || (atomic_load(&d->db_pending) & atomic_load(&d->db_mask)))
        ret = -EAGAIN;
    for (unsigned int i = 0; i < d->n_hosts && !ret; i++) {
        struct rdma_conn *c = d->peer[d->hosts[i].node_id].conn;
        int n;

        if (!c || (c->state != CONN_UP && c->state != CONN_ACCEPTING))
            continue;
        if (c->n_stash || atomic_load(&c->wc_error)) {
            ret = -EAGAIN;
            break;
        }
        if (!c->cq_armed) {
            if (ibv_req_notify_cq(c->recv_cq, 0) != 0) {
                ret = -EAGAIN;        /* progress() will find the error */
                break;
            }
            c->cq_armed = true;
        }
        n = ibv_poll_cq(c->recv_cq, RDMA_STASH, c->stash);
        if (n != 0) {
            c->n_stash = n > 0 ? (unsigned int)n : 0;
            ret = -EAGAIN;
        }
    }
    pthread_mutex_unlock(&d->lock);
    return ret;
}

int rd_event_fd(struct osci_drv *drv)
{
    struct rdma_drv *d = to_rdma(drv);
    return d->observe ? -EPERM : d->epfd;
}
