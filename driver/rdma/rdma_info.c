/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* rdma driver: peers (and the publish file observers read), probe, query, fault injection. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "osci_time.h"
#include "rdma_int.h"

/* ---- peers, probe, query, inject ---- */

/* Writes the peer table into the publish file (d->lock held). */
void rd_pub_peers(struct rdma_drv *d)
{
    struct rdma_pub_peer t[RDMA_PUB_PEERS];
    unsigned int n = 0;

    if (!d->pub)
        return;
    for (unsigned int i = 0; i < d->n_hosts && n < RDMA_PUB_PEERS; i++) {
        uint32_t node = d->hosts[i].node_id;
        const struct rdma_peer *p = &d->peer[node];
        if (node == d->base.node_id)
            continue;
        t[n].node_id = node;
        t[n].link_up = p->link_up;
        t[n].epoch = p->epoch;
        t[n].last_rx_ms = p->last_rx_ms;
        n++;
    }
    rdma__pub_set_peers(d->pub, t, n);
}

/* Observer: a snapshot of the running node's publish file. -ENOTCONN when no live node publishes. */
static int pub_snapshot(struct rdma_drv *d, struct rdma_pub_state *st, void *info, size_t cap)
{
    const void *map;
    int ret = rdma__pub_open(d->pub_name, &map);

    if (ret == -ENOENT)
        return -ENOTCONN;
    if (ret < 0) {
        osci_log(OSCI_LOG_WARN, MOD, "/dev/shm%s: %s", d->pub_name,
                 ret == -EPERM ? "not this user's 0600 file: ignored" : strerror(-ret));
        return ret == -EPERM ? -EACCES : ret;
    }
    ret = rdma__pub_read(map, RDMA_PUB_SIZE, st, info, cap);
    munmap((void *)(uintptr_t)map, RDMA_PUB_SIZE);
    if (ret == 0 && !rdma__pid_alive(st->pid))
        ret = -ENOTCONN;          /* left by a node that was killed */
    return ret;
}

int rd_peers(struct osci_drv *drv, struct osci_peer_info *out, unsigned int max, unsigned int *count_p)
{
    struct rdma_drv *d = to_rdma(drv);
    unsigned int n = 0;
    uint64_t now = osci_now_ms();

    if (!count_p || (!out && max))
        return -EINVAL;
    if (d->observe) {
        /* The node running on this host, then its peers as it sees them. */
        struct rdma_pub_state *st = malloc(sizeof(*st));
        int ret;
        if (!st)
            return -ENOMEM;
        ret = pub_snapshot(d, st, NULL, 0);
        if (ret < 0) {
            free(st);
            return ret;
        }
        for (unsigned int i = 0; i <= st->n_peers; i++) {
            if (n < max) {
                memset(&out[n], 0, sizeof(out[n]));
                if (i == 0) {
                    out[n].node_id = st->node_id;
                    out[n].link_up = 1;
                    out[n].epoch = st->epoch;
                    out[n].pid = st->pid;
                } else {
                    const struct rdma_pub_peer *p = &st->peer[i - 1];
                    out[n].node_id = p->node_id;
                    out[n].link_up = p->link_up != 0;
                    out[n].epoch = p->epoch;
                    out[n].pid = -1;
                    out[n].heartbeat_age_ms = p->last_rx_ms && now > p->last_rx_ms ? now - p->last_rx_ms : 0;
                }
            }
            n++;
        }
        free(st);
        *count_p = n < max ? n : max;
        return 0;
    }
    pthread_mutex_lock(&d->lock);
    for (unsigned int i = 0; i < d->n_hosts; i++) {
        uint32_t node = d->hosts[i].node_id;
        struct rdma_peer *p = &d->peer[node];
        if (node == d->base.node_id)
            continue;
        if (n < max) {
            memset(&out[n], 0, sizeof(out[n]));
            out[n].node_id = node;
            out[n].link_up = p->link_up;
            out[n].epoch = p->epoch;
            out[n].pid = -1;
            out[n].heartbeat_age_ms = p->last_rx_ms ? now - p->last_rx_ms : 0;
        }
        n++;
    }
    pthread_mutex_unlock(&d->lock);
    *count_p = n < max ? n : max;
    return 0;
}

int rd_info_publish(struct osci_drv *drv, const void *buf, size_t len)
{
    struct rdma_drv *d = to_rdma(drv);
    int ret;

    if (d->observe)
        return -EPERM;
    if (!d->pub)
        return -EOPNOTSUPP;       /* the publish file could not be created (logged at open) */
    pthread_mutex_lock(&d->lock);
    ret = rdma__pub_set_info(d->pub, buf, len);
    pthread_mutex_unlock(&d->lock);
    return ret;
}

/* Only the table of the node on this host is readable: other hosts' tables never cross the fabric. */
int rd_info_read(struct osci_drv *drv, uint32_t node, void *buf, size_t len, size_t *len_p)
{
    struct rdma_drv *d = to_rdma(drv);
    struct rdma_pub_state *st;
    int ret;

    if (!len_p || (!buf && len))
        return -EINVAL;
    st = malloc(sizeof(*st));
    if (!st)
        return -ENOMEM;
    if (d->observe) {
        ret = pub_snapshot(d, st, buf, len);
    } else if (!d->pub) {
        ret = -EOPNOTSUPP;
    } else {
        pthread_mutex_lock(&d->lock);
        ret = rdma__pub_read(d->pub, RDMA_PUB_SIZE, st, buf, len);
        pthread_mutex_unlock(&d->lock);
    }
    if (ret == 0 && node != st->node_id) {
        ret = -EHOSTUNREACH;
        for (unsigned int i = 0; i < st->n_peers; i++)
            if (st->peer[i].node_id == node)
                ret = -EOPNOTSUPP;
    }
    if (ret == 0)
        *len_p = st->info_len;
    free(st);
    return ret;
}

int rd_probe(struct osci_drv *drv, uint32_t node)
{
    struct rdma_drv *d = to_rdma(drv);
    int ret;

    if (node == 0 || node > 255 || !d->peer[node].host)
        return -EADDRNOTAVAIL;          /* not in hosts.conf: can never be on this fabric */
    if (node == d->base.node_id)
        return 0;
    pthread_mutex_lock(&d->lock);
    ret = d->peer[node].link_up ? 0 : -ENOLINK;
    pthread_mutex_unlock(&d->lock);
    return ret;
}

/* "rdma:<dev>:<port> gid=<GID> state=<STATE>" (the IBV_PORT_* name); gid= and state= only when known
 * and when they fit. */
int rd_query(struct osci_drv *drv, struct osci_drv_info *info)
{
    struct rdma_drv *d = to_rdma(drv);
    struct ibv_port_attr pa;
    size_t n;

    if (!info)
        return -EINVAL;
    memset(info, 0, sizeof(*info));
    snprintf(info->name, sizeof(info->name), "rdma:%.40s:%u", d->dev_name, d->o.port);
    n = strlen(info->name);
    if (d->gid[0] && n + 5 + strlen(d->gid) < sizeof(info->name))
        n += (size_t)snprintf(info->name + n, sizeof(info->name) - n, " gid=%s", d->gid);
    if (ibv_query_port(d->ctx, (uint8_t)d->o.port, &pa) == 0) {
        static const char *const names[] = { "NOP", "DOWN", "INIT", "ARMED", "ACTIVE", "ACTIVE_DEFER" };
        const char *st = (unsigned int)pa.state < sizeof(names) / sizeof(names[0]) ? names[pa.state] : "UNKNOWN";
        if (n + 7 + strlen(st) < sizeof(info->name))
            snprintf(info->name + n, sizeof(info->name) - n, " state=%s", st);
    }
    info->node_id = d->base.node_id;
    info->max_nodes = 255;
    info->max_mem_size = d->o.mr_chunk * RDMA_XPORT_MAX_CHUNKS;
    info->mem_align = 4096;
    info->n_doorbells = OSCI_DRV_DB_COUNT;
    /* A cut link or a hung peer is only silence (heartbeats); peers are the configured hosts. */
    info->caps = OSCI_DRV_CAP_PUT_GET | OSCI_DRV_CAP_INFO | OSCI_DRV_CAP_EXPORT_FOREIGN;
    info->card_type = OSCI_DRV_CARD_RDMA;
    return 0;
}

int rd_inject(struct osci_drv *drv, enum osci_fault fault, uint32_t node, unsigned int count)
{
    struct rdma_drv *d = to_rdma(drv);
    struct rdma_peer *p;

    if (d->observe)
        return -EPERM;
    if (node == 0 || node > 255 || node == d->base.node_id || !d->peer[node].host)
        return -EHOSTUNREACH;
    p = &d->peer[node];
    switch (fault) {
    case OSCI_FAULT_LINK_DOWN:
        pthread_mutex_lock(&d->lock);
        p->held_down = true;
        if (p->conn)
            rd_conn_fail(d, p->conn, WHY_LOCAL);
        pthread_mutex_unlock(&d->lock);
        wake(d);
        return 0;
    case OSCI_FAULT_LINK_UP:
        pthread_mutex_lock(&d->lock);
        p->held_down = false;
        p->next_retry_ms = 0;
        pthread_mutex_unlock(&d->lock);
        wake(d);
        return 0;
    default:                       /* DROP_DOORBELL, CORRUPT_MSG: the fault interposer's (driver/core/hook.c) */
        return -EOPNOTSUPP;        /* LIVENESS_LOST: heartbeats are libseg's, the QP cannot fake death */
    }
}
