/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* rdma driver: exported memory (registered in chunks) and imported memory (transport bytes). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "rdma_int.h"

/* ---- memory ---- */

int rd_mem_export(struct osci_drv *drv, const struct osci_drv_mem_view *view, struct osci_drv_mem **mem_p)
{
    struct rdma_drv *d = to_rdma(drv);
    void *addr = view ? view->addr : NULL;             /* registered by its mapping; the fd is not needed */
    size_t size = view ? view->size : 0;
    struct osci_drv_mem *m;
    uint64_t n = rdma__n_chunks(size, d->o.mr_chunk);
    int ret;

    if (d->observe)
        return -EPERM;
    if (!addr || !size || !mem_p)
        return -EINVAL;
    if (n > RDMA_XPORT_MAX_CHUNKS) {
        osci_log(OSCI_LOG_ERROR, MOD, "export of %zu bytes needs %" PRIu64 " registrations of %" PRIu64
                 " bytes; at most %d fit the transport bytes (raise mr_chunk=)", size, n, d->o.mr_chunk,
                 RDMA_XPORT_MAX_CHUNKS);
        return -E2BIG;
    }
    m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->addr = addr;
    m->size = size;
    m->chunk = d->o.mr_chunk;
    for (m->n = 0; m->n < n; m->n++) {
        uint64_t off = (uint64_t)m->n * m->chunk;
        size_t len = (size_t)(size - off < m->chunk ? size - off : m->chunk);
        m->mr[m->n] = ibv_reg_mr(d->pd, m->addr + off, len,
                                 IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ);
        if (!m->mr[m->n]) {
            ret = errno ? -errno : -ENOMEM;
            osci_log(OSCI_LOG_ERROR, MOD, "ibv_reg_mr of %zu bytes (chunk %u of %" PRIu64 "): %s", len, m->n, n,
                     strerror(-ret));
            goto err_dereg;
        }
    }
    pthread_mutex_lock(&d->lock);
    osci_list_add(&d->exports, &m->link);
    pthread_mutex_unlock(&d->lock);
    *mem_p = m;
    return 0;

err_dereg:
    while (m->n--)
        ibv_dereg_mr(m->mr[m->n]);
    free(m);
    return ret;
}

void rd_mem_free(struct osci_drv_mem *m)
{
    for (uint32_t i = 0; i < m->n; i++)
        ibv_dereg_mr(m->mr[i]);
    free(m);
}

void rd_mem_unexport(struct osci_drv *drv, struct osci_drv_mem *mem)
{
    struct rdma_drv *d = to_rdma(drv);

    if (!mem)
        return;
    pthread_mutex_lock(&d->lock);
    osci_list_del(&mem->link);
    pthread_mutex_unlock(&d->lock);
    rd_mem_free(mem);
}

int rd_mem_pack(struct osci_drv *drv, struct osci_drv_mem *mem, void *buf, size_t *len_p)
{
    struct rdma_xport x;

    (void)drv;
    if (!mem || !buf || !len_p)
        return -EINVAL;
    memset(&x, 0, sizeof(x));
    x.addr = (uintptr_t)mem->addr;
    x.size = mem->size;
    x.chunk = mem->chunk;
    x.n_chunks = mem->n;
    for (uint32_t i = 0; i < mem->n; i++)
        x.rkey[i] = mem->mr[i]->rkey;
    return rdma__xport_pack(&x, buf, *len_p, len_p);
}

int rd_rmem_import(struct osci_drv *drv, uint32_t node, const void *buf, size_t len,
                   struct osci_drv_rmem **rmem_p)
{
    struct rdma_drv *d = to_rdma(drv);
    struct osci_drv_rmem *r;
    struct rdma_xport x;
    uint64_t epoch;
    bool up;
    int ret;

    if (!buf || !rmem_p)
        return -EINVAL;
    if (node == 0 || node > 255 || node == d->base.node_id || !d->peer[node].host)
        return -EHOSTUNREACH;
    ret = rdma__xport_unpack(buf, len, &x);
    if (ret < 0) {
        osci_log(OSCI_LOG_WARN, MOD, "node %u: invalid transport bytes (%zu bytes): %s", node, len, strerror(-ret));
        return ret;
    }
    pthread_mutex_lock(&d->lock);
    up = d->peer[node].link_up;
    epoch = d->peer[node].epoch;
    pthread_mutex_unlock(&d->lock);
    if (!up)
        return -ENOTCONN;
    r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    if (pthread_mutex_init(&r->lock, NULL) != 0) {
        free(r);
        return -ENOMEM;
    }
    r->node = node;
    r->epoch = epoch;
    r->x = x;
    *rmem_p = r;
    return 0;
}

/* Does not wait for the rmem's posted puts (flush does): they go on, on their connection. */
void rd_rmem_release(struct osci_drv *drv, struct osci_drv_rmem *rmem)
{
    if (!rmem)
        return;
    if (rmem->pc)
        rd_conn_put(to_rdma(drv), rmem->pc);
    pthread_mutex_destroy(&rmem->lock);
    free(rmem);
}
