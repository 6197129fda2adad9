/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* rdma driver: exported memory (registered in chunks) and imported memory (transport bytes). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <linux/dma-buf.h>

#include "rdma_int.h"

/* ---- memory ---- */

#define MR_ACCESS (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ)

/*
 * 1 when fd is a dma-buf, 0 when it is another file, -errno when it is none. The kernel's fdinfo of a
 * dma-buf has an "exp_name:" line (Linux >= 5.3; ibv_reg_dmabuf_mr needs 5.12), no other file's has;
 * a memfd's or a regular file's never does. Without /proc: DMA_BUF_IOCTL_SYNC with undefined flags is
 * refused EINVAL by a dma-buf before anything else, ENOTTY by other files.
 */
int rdma__fd_is_dmabuf(int fd)
{
    char path[64], line[256];
    struct dma_buf_sync s = { .flags = ~(uint64_t)0 };
    bool bol = true, yes = false;
    struct stat st;
    FILE *f;

    if (fd < 0 || fstat(fd, &st) < 0)
        return -EBADF;
    snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
    f = fopen(path, "re");
    if (f) {
        while (!yes && fgets(line, sizeof(line), f)) {
            yes = bol && !strncmp(line, "exp_name:", 9);
            bol = strchr(line, '\n') != NULL;     /* a long line's rest is no line start */
        }
        fclose(f);
        return yes;
    }
    return ioctl(fd, DMA_BUF_IOCTL_SYNC, &s) < 0 && errno == EINVAL;
}

/* ibv_reg_dmabuf_mr answered that neither the provider nor the device has it (rxe, siw: docs/rdma.md). */
static bool dmabuf_unsupported(int err)
{
    return err == EOPNOTSUPP || err == EPROTONOSUPPORT || err == ENOSYS;
}

/*
 * The view's memory, registered in chunks of mr_chunk bytes: a dma-buf view with ibv_reg_dmabuf_mr
 * (each chunk at its fd offset, with the mapping's address as iova, so local and remote addressing stay
 * those of the mapping), any other view by its mapping with ibv_reg_mr. A dma-buf without a mapping is
 * registered at iova 0. Where the device has no dma-buf registration the dma-buf is registered by its
 * mapping (said once per adapter at warn, per export at info); without a mapping, or with one the kernel
 * cannot pin, that is -EOPNOTSUPP.
 */
int rd_mem_export(struct osci_drv *drv, const struct osci_drv_mem_view *view, struct osci_drv_mem **mem_p)
{
    struct rdma_drv *d = to_rdma(drv);
    void *addr = view ? view->addr : NULL;
    size_t size = view ? view->size : 0;
    int fd = view ? view->fd : -1;
    struct osci_drv_mem *m;
    uint64_t n = rdma__n_chunks(size, d->o.mr_chunk);
    bool is_dmabuf = false, dmabuf, first;
    int ret;

    if (d->observe)
        return -EPERM;
    if (!size || !mem_p || (!addr && fd < 0))
        return -EINVAL;
    if (fd >= 0) {
        ret = rdma__fd_is_dmabuf(fd);
        if (ret < 0 || view->fd_offset < 0) {
            osci_log(OSCI_LOG_ERROR, MOD, "export: fd %d at offset %lld is no open file", fd,
                     (long long)view->fd_offset);
            return -EBADF;
        }
        is_dmabuf = ret == 1;
    }
    dmabuf = is_dmabuf;                           /* registered by the fd */
    if (!addr && !dmabuf) {
        osci_log(OSCI_LOG_ERROR, MOD, "export: memory without a mapping must be a dma-buf (fd %d is not)", fd);
        return -EINVAL;
    }
    pthread_mutex_lock(&d->lock);
    if (d->no_dmabuf_mr)
        dmabuf = false;
    pthread_mutex_unlock(&d->lock);
    if (!addr && !dmabuf)
        return -EOPNOTSUPP;
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
    m->iova = (uintptr_t)addr;
    m->size = size;
    m->chunk = d->o.mr_chunk;
    for (m->n = 0; m->n < n; m->n++) {
        uint64_t off = (uint64_t)m->n * m->chunk;
        size_t len = (size_t)(size - off < m->chunk ? size - off : m->chunk);

        if (dmabuf) {
            errno = 0;
            m->mr[m->n] = ibv_reg_dmabuf_mr(d->pd, (uint64_t)view->fd_offset + off, len, m->iova + off, fd,
                                            MR_ACCESS);
            if (!m->mr[m->n] && dmabuf_unsupported(errno)) {
                ret = -errno;
                pthread_mutex_lock(&d->lock);
                first = !d->no_dmabuf_mr;
                d->no_dmabuf_mr = true;
                pthread_mutex_unlock(&d->lock);
                if (first)
                    osci_log(OSCI_LOG_WARN, MOD, "%s: ibv_reg_dmabuf_mr: %s; dma-buf memory is registered by "
                             "its mapping (ibv_reg_mr) on this adapter", d->dev_name, strerror(-ret));
                if (!addr) {
                    ret = -EOPNOTSUPP;
                    goto err_dereg;
                }
                while (m->n--)
                    ibv_dereg_mr(m->mr[m->n]);
                dmabuf = false;
                m->n = UINT32_MAX;                /* the loop starts again at chunk 0, by address */
                continue;
            }
        } else {
            m->mr[m->n] = ibv_reg_mr(d->pd, m->addr + off, len, MR_ACCESS);
        }
        if (!m->mr[m->n]) {
            ret = errno ? -errno : -ENOMEM;
            if (is_dmabuf && !dmabuf && ret == -EFAULT) {
                /* a mapping the kernel cannot pin (udmabuf maps VM_PFNMAP on Linux 6.12) */
                osci_log(OSCI_LOG_INFO, MOD, "%s: export of fd %d: the device has no ibv_reg_dmabuf_mr and the "
                         "dma-buf's mapping cannot be registered (ibv_reg_mr: %s): not exportable here",
                         d->dev_name, fd, strerror(-ret));
                ret = -EOPNOTSUPP;
            } else {
                osci_log(OSCI_LOG_ERROR, MOD, "%s of %zu bytes (chunk %u of %" PRIu64 "): %s",
                         dmabuf ? "ibv_reg_dmabuf_mr" : "ibv_reg_mr", len, m->n, n, strerror(-ret));
            }
            goto err_dereg;
        }
    }
    if (fd >= 0)
        osci_log(OSCI_LOG_INFO, MOD, "export of %zu bytes from fd %d (%s) at offset %lld: %s, %u registration%s",
                 size, fd, is_dmabuf ? "a dma-buf" : "not a dma-buf",
                 (long long)view->fd_offset, dmabuf ? "ibv_reg_dmabuf_mr" : "ibv_reg_mr by its mapping",
                 m->n, m->n == 1 ? "" : "s");
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
    x.addr = mem->iova;
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
