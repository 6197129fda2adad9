/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* rdma driver: CM events (d->lock): connect requests and their admission, resolution, establishment. */
#include <inttypes.h>
#include <string.h>

#include "rdma_int.h"

/* ---- CM events (d->lock) ---- */

static void cm_reject(struct rdma_cm_id *id)
{
    (void)rdma_reject(id, NULL, 0);
    rdma_destroy_id(id);
}

static void cm_on_request(struct rdma_drv *d, struct rdma_cm_id *id, const void *priv, size_t priv_len)
{
    struct sockaddr *src = rdma_get_peer_addr(id);
    struct rdma_conn_param param;
    uint8_t mypriv[RDMA_CM_PRIV_LEN];
    struct rdma_cm_priv cp;
    struct rdma_conn *c;
    struct rdma_peer *p;
    char a[64];

    addr_str(src, a, sizeof(a));
    if (rdma__cm_priv_unpack(priv, priv_len, &cp) < 0) {
        osci_log(OSCI_LOG_WARN, MOD, "refusing connection from %s: no valid OpenSCI private data", a);
        goto err_reject;
    }
    if (rdma__peer_check(d->hosts, d->n_hosts, d->base.node_id, src, cp.node_id) < 0) {
        osci_log(OSCI_LOG_WARN, MOD, "refusing connection from %s claiming node %u: not that node's address in "
                 "hosts.conf", a, cp.node_id);
        goto err_reject;
    }
    if (id->verbs != d->ctx) {
        osci_log(OSCI_LOG_WARN, MOD, "refusing connection from node %u: it arrived on device %s, adapter uses %s",
                 cp.node_id, id->verbs ? ibv_get_device_name(id->verbs->device) : "?", d->dev_name);
        goto err_reject;
    }
    p = &d->peer[cp.node_id];
    if (p->held_down) {
        osci_log(OSCI_LOG_DEBUG, MOD, "refusing connection from node %u: link held down by fault injection",
                 cp.node_id);
        goto err_reject;
    }
    if (p->conn) {
        enum rdma_have have = p->conn->state == CONN_UP ? RDMA_HAVE_UP
                              : p->conn->active         ? RDMA_HAVE_OWN_ATTEMPT
                                                        : RDMA_HAVE_ACCEPTING;
        if (rdma__cm_admit(d->base.node_id, cp.node_id, have) == RDMA_ADMIT_REFUSE) {
            osci_log(OSCI_LOG_DEBUG, MOD, "refusing connection from node %u: our own attempt crossed it and the "
                     "lower node id's attempt is kept", cp.node_id);
            goto err_reject;
        }
        if (have == RDMA_HAVE_UP)
            osci_log(OSCI_LOG_INFO, MOD, "node %u asks to connect again (epoch %016" PRIx64 "): replacing the "
                     "connection it lost", cp.node_id, cp.epoch);
        rd_conn_fail(d, p->conn, WHY_REPLACED);
    }
    c = rd_conn_new(d, cp.node_id, false);
    if (!c)
        goto err_reject;
    c->id = id;
    id->context = c;
    c->peer_epoch = cp.epoch;
    rd_set_ack_timeout(id, cp.node_id);
    if (rd_conn_setup_qp(d, c) < 0)
        goto err_free;
    rd_conn_param_init(d, &param, mypriv);
    if (rdma_accept(id, &param) != 0) {
        osci_log(OSCI_LOG_WARN, MOD, "node %u: rdma_accept: %s", cp.node_id, strerror(errno));
        goto err_free;
    }
    (void)rd_conn_step(c, CEV_ACCEPT);
    p->conn = c;
    return;

err_free:
    (void)rdma_reject(id, NULL, 0);
    rd_conn_free(c);       /* destroys id */
    return;
err_reject:
    cm_reject(id);
}

/* A call on an outgoing connection's way up failed (errno): logged, and c fails. */
static void cm_call_failed(struct rdma_drv *d, struct rdma_conn *c, const char *call)
{
    osci_log(OSCI_LOG_WARN, MOD, "node %u: %s: %s", c->node, call, strerror(errno));
    rd_conn_fail(d, c, WHY_ERROR);
}

static void cm_handle(struct rdma_drv *d, struct rdma_cm_event *e, const void *priv, size_t priv_len)
{
    struct rdma_conn *c = e->id ? e->id->context : NULL;
    struct rdma_conn_param param;
    uint8_t mypriv[RDMA_CM_PRIV_LEN];
    struct rdma_cm_priv cp;

    if (e->event == RDMA_CM_EVENT_CONNECT_REQUEST) {
        cm_on_request(d, e->id, priv, priv_len);
        return;
    }
    if (e->event == RDMA_CM_EVENT_DEVICE_REMOVAL) {
        osci_log(OSCI_LOG_ERROR, MOD, "device %s removed", d->dev_name);
        for (unsigned int i = 0; i < d->n_hosts; i++) {
            struct rdma_peer *p = &d->peer[d->hosts[i].node_id];
            if (p->conn)
                rd_conn_fail(d, p->conn, WHY_ERROR);
        }
        return;
    }
    if (!c || c->state == CONN_CLOSED)
        return;
    switch (e->event) {
    case RDMA_CM_EVENT_ADDR_RESOLVED:
        if (c->state != CONN_RESOLVING_ADDR)
            break;
        if (c->id->verbs != d->ctx) {
            osci_log(OSCI_LOG_ERROR, MOD, "node %u: route goes through device %s, adapter uses %s", c->node,
                     c->id->verbs ? ibv_get_device_name(c->id->verbs->device) : "?", d->dev_name);
            rd_conn_fail(d, c, WHY_ERROR);
            break;
        }
        if (rdma_resolve_route(c->id, RDMA_RESOLVE_MS) != 0) {
            cm_call_failed(d, c, "rdma_resolve_route");
            break;
        }
        (void)rd_conn_step(c, CEV_ADDR_RESOLVED);
        break;
    case RDMA_CM_EVENT_ROUTE_RESOLVED:
        if (c->state != CONN_RESOLVING_ROUTE)
            break;
        if (rd_conn_setup_qp(d, c) < 0) {
            rd_conn_fail(d, c, WHY_ERROR);
            break;
        }
        rd_conn_param_init(d, &param, mypriv);
        if (rdma_connect(c->id, &param) != 0) {
            cm_call_failed(d, c, "rdma_connect");
            break;
        }
        (void)rd_conn_step(c, CEV_ROUTE_RESOLVED);
        break;
    case RDMA_CM_EVENT_ESTABLISHED:
        if (c->state == CONN_ACCEPTING) {
            rd_conn_up(d, c, c->peer_epoch);
        } else if (c->state == CONN_CONNECTING) {
            if (rdma__cm_priv_unpack(priv, priv_len, &cp) < 0 || cp.node_id != c->node) {
                osci_log(OSCI_LOG_WARN, MOD, "node %u: accept without valid private data for that node", c->node);
                rd_conn_fail(d, c, WHY_ERROR);
                break;
            }
            c->peer_epoch = cp.epoch;
            rd_conn_up(d, c, cp.epoch);
        }
        break;
    case RDMA_CM_EVENT_ADDR_ERROR:
    case RDMA_CM_EVENT_ROUTE_ERROR:
    case RDMA_CM_EVENT_CONNECT_ERROR:
    case RDMA_CM_EVENT_UNREACHABLE:
    case RDMA_CM_EVENT_REJECTED:
        osci_log(OSCI_LOG_DEBUG, MOD, "node %u: %s (status %d)", c->node, rdma_event_str(e->event), e->status);
        rd_conn_fail(d, c, WHY_ERROR);
        break;
    case RDMA_CM_EVENT_DISCONNECTED:
        rd_conn_fail(d, c, WHY_DISCONNECTED);
        break;
    default:
        break;
    }
}

void rd_cm_drain(struct rdma_drv *d)
{
    struct rdma_cm_event *ev;
    uint8_t priv[256];

    while (rdma_get_cm_event(d->ch, &ev) == 0) {
        struct rdma_cm_event copy = *ev;
        size_t plen = ev->param.conn.private_data_len;

        if (ev->event == RDMA_CM_EVENT_CONNECT_REQUEST || ev->event == RDMA_CM_EVENT_ESTABLISHED) {
            if (plen > sizeof(priv))
                plen = sizeof(priv);
            if (plen && ev->param.conn.private_data)
                memcpy(priv, ev->param.conn.private_data, plen);
            else
                plen = 0;
        } else {
            plen = 0;
        }
        rdma_ack_cm_event(ev);
        cm_handle(d, &copy, priv, plen);
    }
}
