/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* rdma driver: send side (any thread): connection references, send completions, messages, doorbells. */
#include <string.h>

#include "osci_time.h"
#include "rdma_int.h"

/* ---- send side (any thread) ---- */

int rd_conn_get(struct rdma_drv *d, uint32_t node, struct rdma_conn **c_p)
{
    struct rdma_peer *p;
    int ret = 0;

    if (node == 0 || node > 255 || node == d->base.node_id || !d->peer[node].host)
        return -EHOSTUNREACH;
    p = &d->peer[node];
    pthread_mutex_lock(&d->lock);
    if (!p->conn || p->conn->state != CONN_UP || atomic_load(&p->conn->wc_error))
        ret = -ENOTCONN;
    else
        p->conn->refs++, *c_p = p->conn;
    pthread_mutex_unlock(&d->lock);
    return ret;
}

void rd_conn_put(struct rdma_drv *d, struct rdma_conn *c)
{
    bool closed;
    pthread_mutex_lock(&d->lock);
    c->refs--;
    closed = c->state == CONN_CLOSED && !c->refs;
    pthread_mutex_unlock(&d->lock);
    if (closed)
        wake(d);
}

/* Takes send completions (send_lock held). */
void rd_send_reap(struct rdma_drv *d, struct rdma_conn *c)
{
    struct ibv_wc wc[16];
    int n;

    while ((n = ibv_poll_cq(c->send_cq, 16, wc)) > 0) {
        c->sq_progress_ms = osci_now_ms();
        for (int i = 0; i < n; i++) {
            c->sq_out--;
            if (wc[i].wr_id & 1) {
                /* a posted put: wr_id is 1 + twice the ring position its data ends at */
                uint64_t end = wc[i].wr_id >> 1;
                if (end > c->ring_tail)
                    c->ring_tail = end;
                c->post_done++;
                if (wc[i].status == IBV_WC_SUCCESS && c->post_ok + 1 == c->post_done)
                    c->post_ok = c->post_done;
            } else if (wc[i].wr_id && !c->abandoned) {
                struct rdma_wait *w = (struct rdma_wait *)(uintptr_t)wc[i].wr_id;
                w->pending--;
                if (wc[i].status != IBV_WC_SUCCESS && !w->failed) {
                    w->failed = true;
                    w->status = wc[i].status;
                }
            }
            if (wc[i].status != IBV_WC_SUCCESS) {
                int none = 0;
                if (atomic_compare_exchange_strong(&c->wc_error, &none, (int)wc[i].status + 1))
                    wake(d);
            }
        }
    }
}

static int post_msg(struct rdma_drv *d, struct rdma_conn *c, const struct rdma_msg_hdr *h, const void *payload)
{
    struct ibv_send_wr wr, *bad;
    struct ibv_sge sge;
    uint8_t *slot;
    int ret = 0, r;

    pthread_mutex_lock(&c->send_lock);
    rd_send_reap(d, c);
    if (atomic_load(&c->wc_error)) {
        ret = -ENOTCONN;
        goto out;
    }
    if (c->sq_out >= RDMA_SEND_DEPTH) {
        ret = -EAGAIN;
        goto out;
    }
    slot = c->send_buf + (size_t)(c->msg_posted % RDMA_SEND_DEPTH) * RDMA_MSG_BUF;
    rdma__msg_hdr_pack(h, slot);
    if (h->len)
        memcpy(slot + RDMA_MSG_HDR, payload, h->len);
    memset(&wr, 0, sizeof(wr));
    sge.addr = (uintptr_t)slot;
    sge.length = RDMA_MSG_HDR + h->len;
    sge.lkey = c->send_mr->lkey;
    wr.wr_id = 0;
    wr.sg_list = &sge;
    wr.num_sge = 1;
    wr.opcode = IBV_WR_SEND;
    wr.send_flags = IBV_SEND_SIGNALED | (sge.length <= c->max_inline ? IBV_SEND_INLINE : 0);
    r = ibv_post_send(c->id->qp, &wr, &bad);
    if (r) {
        ret = r == ENOMEM ? -EAGAIN : -EIO;
        if (ret == -EIO)
            osci_log(OSCI_LOG_WARN, MOD, "node %u: ibv_post_send: %s", c->node, strerror(r));
        goto out;
    }
    if (!c->sq_out++)
        c->sq_progress_ms = osci_now_ms();
    c->msg_posted++;
out:
    pthread_mutex_unlock(&c->send_lock);
    return ret;
}

/* post_msg on node's connection. */
static int post_to_node(struct osci_drv *drv, uint32_t node, const struct rdma_msg_hdr *h, const void *payload)
{
    struct rdma_drv *d = to_rdma(drv);
    struct rdma_conn *c;
    int ret = rd_conn_get(d, node, &c);

    if (ret < 0)
        return ret;
    ret = post_msg(d, c, h, payload);
    rd_conn_put(d, c);
    return ret;
}

int rd_msg_send(struct osci_drv *drv, uint32_t node, const void *msg, size_t len)
{
    struct rdma_msg_hdr h = { .type = RDMA_MSG_DATA, .len = (uint16_t)len, .bit = 0 };

    if (len > OSCI_DRV_MSG_MAX)
        return -EMSGSIZE;
    if (!msg && len)
        return -EINVAL;
    return post_to_node(drv, node, &h, msg);
}

int rd_db_ring(struct osci_drv *drv, uint32_t node, unsigned int bit)
{
    struct rdma_msg_hdr h = { .type = RDMA_MSG_DOORBELL, .len = 0, .bit = (uint16_t)bit };

    if (bit >= OSCI_DRV_DB_COUNT)
        return -EINVAL;
    return post_to_node(drv, node, &h, NULL);
}

int rd_db_set_event_mask(struct osci_drv *drv, uint64_t mask)
{
    struct rdma_drv *d = to_rdma(drv);
    atomic_store(&d->db_mask, mask);
    if (atomic_load(&d->db_pending) & mask)
        wake(d);
    return 0;
}

int rd_db_poll(struct osci_drv *drv, uint64_t mask, uint64_t *bits_p)
{
    struct rdma_drv *d = to_rdma(drv);
    if (!bits_p)
        return -EINVAL;
    *bits_p = atomic_fetch_and(&d->db_pending, ~mask) & mask;
    return 0;
}
