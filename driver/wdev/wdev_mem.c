/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Window-device core, memory side (docs/wdev.md): the inbound window allocator, export/pack of
 * transport bytes and their import, put/get/map of peer windows, the info areas, fault injection.
 */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "osci_time.h"
#include "wdev.h"
#include "wdev_int.h"

/* ---- local memory: the inbound window ---- */

static int wd_free_insert(struct wdev *d, uint64_t off, uint64_t len)
{
    unsigned int i = 0;
    while (i < d->n_free && d->free_r[i].off < off)
        i++;
    if ((i > 0 && d->free_r[i - 1].off + d->free_r[i - 1].len > off) ||
        (i < d->n_free && off + len > d->free_r[i].off))
        return -EINVAL;               /* overlaps free space: double free */
    if (i > 0 && d->free_r[i - 1].off + d->free_r[i - 1].len == off) {
        d->free_r[i - 1].len += len;
        if (i < d->n_free && off + len == d->free_r[i].off) {
            d->free_r[i - 1].len += d->free_r[i].len;
            memmove(&d->free_r[i], &d->free_r[i + 1], (d->n_free - i - 1) * sizeof(d->free_r[0]));
            d->n_free--;
        }
        return 0;
    }
    if (i < d->n_free && off + len == d->free_r[i].off) {
        d->free_r[i].off = off;
        d->free_r[i].len += len;
        return 0;
    }
    if (d->n_free == d->cap_free) {
        unsigned int cap = d->cap_free ? d->cap_free * 2 : 16;
        struct wd_range *r = realloc(d->free_r, cap * sizeof(*r));
        if (!r)
            return -ENOMEM;
        d->free_r = r;
        d->cap_free = cap;
    }
    memmove(&d->free_r[i + 1], &d->free_r[i], (d->n_free - i) * sizeof(d->free_r[0]));
    d->free_r[i].off = off;
    d->free_r[i].len = len;
    d->n_free++;
    return 0;
}

int wdev_mem_alloc(struct osci_drv *drv, size_t size, struct osci_drv_mem_view *view)
{
    struct wdev *d = to_wd(drv);
    uint64_t len = ((uint64_t)size + WD_PAGE - 1) & ~(uint64_t)(WD_PAGE - 1);
    int ret = -ENOMEM;

    if (!view || size == 0 || size > d->win_size)
        return size > d->win_size ? -ENOMEM : -EINVAL;
    pthread_mutex_lock(&d->lock);
    if (!d->free_r && wd_free_insert(d, 0, d->win_size) < 0)
        goto out;
    for (unsigned int i = 0; i < d->n_free; i++) {
        if (d->free_r[i].len < len)
            continue;
        view->addr = d->win + d->free_r[i].off;
        view->size = len;
        view->fd = d->win_fd;
        view->fd_offset = d->win_fd_off + (off_t)d->free_r[i].off;
        d->free_r[i].off += len;
        d->free_r[i].len -= len;
        if (!d->free_r[i].len) {
            memmove(&d->free_r[i], &d->free_r[i + 1], (d->n_free - i - 1) * sizeof(d->free_r[0]));
            d->n_free--;
        }
        ret = 0;
        break;
    }
out:
    pthread_mutex_unlock(&d->lock);
    if (ret < 0)
        osci_log(OSCI_LOG_WARN, MOD, "window of node %u: no room for %zu bytes", d->base.node_id, size);
    return ret;
}

void wdev_mem_free(struct osci_drv *drv, struct osci_drv_mem_view *view)
{
    struct wdev *d = to_wd(drv);
    uint8_t *a;

    if (!view)
        return;
    a = view->addr;
    if (a < d->win || view->size == 0 || (uint64_t)(a - d->win) % WD_PAGE ||
        view->size > d->win_size - (size_t)(a - d->win) || view->size % WD_PAGE) {
        osci_log(OSCI_LOG_ERROR, MOD, "mem_free: %p+%zu is not an allocation of this window", view->addr, view->size);
        return;
    }
    /* Zero and release the pages, so the next user never sees old data (device memory, a PCI BAR,
     * cannot be released: zeroed by stores). */
    if (madvise(a, view->size, MADV_REMOVE) < 0)
        memset(a, 0, view->size);
    pthread_mutex_lock(&d->lock);
    if (wd_free_insert(d, (uint64_t)(a - d->win), view->size) < 0)
        osci_log(OSCI_LOG_ERROR, MOD, "mem_free: %p+%zu freed twice", view->addr, view->size);
    pthread_mutex_unlock(&d->lock);
}

int wdev_mem_export(struct osci_drv *drv, const struct osci_drv_mem_view *view, struct osci_drv_mem **mem_p)
{
    struct wdev *d = to_wd(drv);
    uint8_t *a = view ? view->addr : NULL;     /* inside the own window; the fd is not needed */
    size_t size = view ? view->size : 0;
    struct osci_drv_mem *m;
    uint64_t len = ((uint64_t)size + WD_PAGE - 1) & ~(uint64_t)(WD_PAGE - 1);

    if (!mem_p || size == 0)
        return -EINVAL;
    if (!d->win || a < d->win || a >= d->win + d->win_size || len > d->win_size - (size_t)(a - d->win))
        return -EXDEV;
    if ((uint64_t)(a - d->win) % WD_PAGE)
        return -EINVAL;
    m = malloc(sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->off = (uint64_t)(a - d->win);
    m->size = len;
    *mem_p = m;
    return 0;
}

void wdev_mem_unexport(struct osci_drv *drv, struct osci_drv_mem *mem)
{
    free(mem);
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

int wdev_mem_pack(struct osci_drv *drv, struct osci_drv_mem *mem, void *buf, size_t *len_p)
{
    struct wdev *d = to_wd(drv);
    uint8_t *b = buf;

    if (!mem || !buf || !len_p)
        return -EINVAL;
    if (*len_p < WD_XPORT_LEN)
        return -ENOSPC;
    put_le(b + 0, WD_XPORT_MAGIC, 4);
    put_le(b + 4, WD_XPORT_VERSION, 2);
    put_le(b + 6, WD_XPORT_LEN, 2);
    put_le(b + 8, d->me, 4);
    put_le(b + 12, d->base.node_id, 4);
    put_le(b + 16, d->epoch, 8);
    put_le(b + 24, mem->off, 8);
    put_le(b + 32, mem->size, 8);
    *len_p = WD_XPORT_LEN;
    return 0;
}

/* ---- remote memory ---- */

static struct wd_pwin *wd_pwin_get(struct wdev *d, unsigned int port, uint64_t epoch, uint64_t size, int *err)
{
    struct wd_pwin *pw;

    osci_list_for_each(pw, &d->pwins, link)
        if (pw->port == port && pw->epoch == epoch) {
            pw->refs++;
            return pw;
        }
    pw = calloc(1, sizeof(*pw));
    if (!pw) {
        *err = -ENOMEM;
        return NULL;
    }
    /* the provider checks the window object against (port, epoch, size): a re-join finds nothing */
    if ((*err = d->prov->window_map(d, port, epoch, size, &pw->base, &pw->fd)) < 0) {
        free(pw);
        return NULL;
    }
    pw->fd_off = d->peer_fd_off[port % WD_PORTS];
    pw->port = port;
    pw->epoch = epoch;
    pw->size = size;
    pw->refs = 1;
    osci_list_add(&d->pwins, &pw->link);
    return pw;
}

static void wd_pwin_put(struct wdev *d, struct wd_pwin *pw)
{
    if (--pw->refs)
        return;
    osci_list_del(&pw->link);
    d->prov->window_unmap(d, pw->base, pw->size, pw->fd);
    free(pw);
}

int wdev_rmem_import(struct osci_drv *drv, uint32_t node, const void *buf, size_t len,
                          struct osci_drv_rmem **rmem_p)
{
    struct wdev *d = to_wd(drv);
    const uint8_t *b = buf;
    struct osci_drv_rmem *rm;
    struct wd_port *P;
    uint64_t epoch, off, size, wsize;
    uint32_t port;
    int err = 0;

    if (!buf || !rmem_p || len != WD_XPORT_LEN || get_le(b, 4) != WD_XPORT_MAGIC || get_le(b + 6, 2) != WD_XPORT_LEN)
        return -EINVAL;
    if (get_le(b + 4, 2) != WD_XPORT_VERSION)
        return -EPROTO;
    port = (uint32_t)get_le(b + 8, 4);
    epoch = get_le(b + 16, 8);
    off = get_le(b + 24, 8);
    size = get_le(b + 32, 8);
    if (port >= WD_PORTS || get_le(b + 12, 4) != node)   /* our own port: loopback */
        return -EINVAL;
    P = wdev_port(d, port);
    if (WD_LD(&P->state) != WD_ACTIVE || WD_LD(&P->epoch) != epoch ||
        __atomic_load_n(&d->dead_epoch[port], __ATOMIC_ACQUIRE) == epoch)
        return -ESTALE;
    if (WD_LDR(&P->node_id) != node)
        return -EINVAL;
    wsize = WD_LDR(&P->window_size);
    if (size == 0 || off % WD_PAGE || size % WD_PAGE || off > wsize || size > wsize - off)
        return -EINVAL;
    rm = calloc(1, sizeof(*rm));
    if (!rm)
        return -ENOMEM;
    osci_list_init(&rm->maps);
    pthread_mutex_lock(&d->lock);
    rm->pw = wd_pwin_get(d, port, epoch, wsize, &err);
    if (rm->pw && (off > rm->pw->size || size > rm->pw->size - off)) {
        /* the registers' window size changed since the window was mapped (checked against its object) */
        wd_pwin_put(d, rm->pw);
        rm->pw = NULL;
        err = -EINVAL;
    }
    pthread_mutex_unlock(&d->lock);
    if (!rm->pw) {
        free(rm);
        return err;
    }
    rm->port = port;
    rm->node = node;
    rm->epoch = epoch;
    rm->off = off;
    rm->size = size;
    *rmem_p = rm;
    return 0;
}

void wdev_rmem_release(struct osci_drv *drv, struct osci_drv_rmem *rm)
{
    struct wdev *d = to_wd(drv);
    struct wd_map *m, *tmp;
    if (!rm)
        return;
    pthread_mutex_lock(&d->lock);
    osci_list_for_each_safe(m, tmp, &rm->maps, link) {
        osci_list_del(&m->link);
        munmap(m->addr, m->len);
        free(m);
    }
    wd_pwin_put(d, rm->pw);
    pthread_mutex_unlock(&d->lock);
    free(rm);
}

/* 0 when rm's peer incarnation is reachable, -ECONNRESET if it is gone, -ENOTCONN if the link is down. */
static int wd_rmem_state(struct wdev *d, struct osci_drv_rmem *rm)
{
    struct wd_port *P = wdev_port(d, rm->port);
    if (__atomic_load_n(&rm->revoked, __ATOMIC_ACQUIRE) || WD_LD(&P->state) != WD_ACTIVE ||
        WD_LD(&P->epoch) != rm->epoch || __atomic_load_n(&d->dead_epoch[rm->port], __ATOMIC_ACQUIRE) == rm->epoch)
        return -ECONNRESET;
    return wdev_link_disabled(d, rm->port) ? -ENOTCONN : 0;
}

/* Checks a put or get of len bytes at roff of rm (buf: its local side): 0 or -errno. */
static int wd_rmem_range(struct osci_drv *drv, struct osci_drv_rmem *rm, size_t roff, const void *buf, size_t len)
{
    if (!rm || (!buf && len) || roff > rm->size || len > rm->size - roff)
        return -EINVAL;
    return wd_rmem_state(to_wd(drv), rm);
}

int wdev_put(struct osci_drv *drv, struct osci_drv_rmem *rm, size_t roff, const void *src, size_t len)
{
    int ret = wd_rmem_range(drv, rm, roff, src, len);

    if (ret < 0)
        return ret;
    memcpy(rm->pw->base + rm->off + roff, src, len);
    return 0;
}

int wdev_get(struct osci_drv *drv, struct osci_drv_rmem *rm, size_t roff, void *dst, size_t len)
{
    int ret = wd_rmem_range(drv, rm, roff, dst, len);

    if (ret < 0)
        return ret;
    memcpy(dst, rm->pw->base + rm->off + roff, len);
    return 0;
}

int wdev_rmem_map(struct osci_drv *drv, struct osci_drv_rmem *rm, size_t off, size_t len, int readonly,
                       void **addr_p)
{
    struct wdev *d = to_wd(drv);
    size_t mlen = (len + WD_PAGE - 1) & ~(size_t)(WD_PAGE - 1);
    struct wd_map *m;
    int prot = readonly ? PROT_READ : PROT_READ | PROT_WRITE;
    int ret;

    if (!rm || !addr_p || len == 0 || off % WD_PAGE || off > rm->size || mlen > rm->size - off)
        return -EINVAL;
    if ((ret = wd_rmem_state(d, rm)) == -ECONNRESET)
        return ret;
    m = malloc(sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->addr = mmap(NULL, mlen, prot, MAP_SHARED, rm->pw->fd, rm->pw->fd_off + (off_t)(rm->off + off));
    if (m->addr == MAP_FAILED) {
        ret = -errno;
        free(m);
        return ret;
    }
    m->len = mlen;
    m->prot = prot;
    pthread_mutex_lock(&d->lock);
    osci_list_add(&rm->maps, &m->link);
    pthread_mutex_unlock(&d->lock);
    *addr_p = m->addr;
    return 0;
}

int wdev_rmem_unmap(struct osci_drv *drv, struct osci_drv_rmem *rm, void *addr, size_t len)
{
    struct wdev *d = to_wd(drv);
    struct wd_map *it, *m = NULL;

    if (!rm)
        return -EINVAL;
    pthread_mutex_lock(&d->lock);
    osci_list_for_each(it, &rm->maps, link)
        if (it->addr == addr) {
            m = it;
            osci_list_del(&m->link);
            break;
        }
    pthread_mutex_unlock(&d->lock);
    if (!m)
        return -EINVAL;
    munmap(m->addr, m->len);
    free(m);
    return 0;
}

int wdev_rmem_revoke(struct osci_drv *drv, struct osci_drv_rmem *rm)
{
    struct wdev *d = to_wd(drv);
    struct wd_map *m;
    int ret = 0;

    if (!rm)
        return -EINVAL;
    pthread_mutex_lock(&d->lock);
    __atomic_store_n(&rm->revoked, 1, __ATOMIC_RELEASE);
    osci_list_for_each(m, &rm->maps, link)
        if (mmap(m->addr, m->len, m->prot, MAP_FIXED | MAP_ANONYMOUS | MAP_PRIVATE, -1, 0) == MAP_FAILED)
            ret = -errno;
    pthread_mutex_unlock(&d->lock);
    return ret;
}

/* ---- info area (seqlock) ---- */

int wdev_info_publish(struct osci_drv *drv, const void *buf, size_t len)
{
    struct wdev *d = to_wd(drv);
    struct wd_port *me;

    if (len > WD_INFO_SIZE)
        return -EMSGSIZE;
    if (!buf && len)
        return -EINVAL;
    me = wdev_port(d, d->me);
    pthread_mutex_lock(&d->lock);
    uint32_t seq = WD_LDR(&me->info_seq) | 1;   /* our word: odd while writing */
    __atomic_store_n(&me->info_seq, seq, __ATOMIC_SEQ_CST);
    osci_fence_release();
    memcpy(wdev_info(d, d->me), buf, len);
    __atomic_store_n(&me->info_len, (uint32_t)len, __ATOMIC_RELAXED);
    __atomic_store_n(&me->info_seq, seq + 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&d->lock);
    return 0;
}

static int wd_info_read(struct wdev *d, uint32_t node, void *buf, size_t len, size_t *len_p)
{
    unsigned int p;

    if (!len_p || (!buf && len))
        return -EINVAL;
    for (p = 0; p < WD_PORTS; p++) {
        struct wd_port *P = wdev_port(d, p);
        if (WD_LD(&P->state) == WD_ACTIVE && WD_LDR(&P->node_id) == node)
            break;
    }
    if (p == WD_PORTS)
        return -EHOSTUNREACH;
    struct wd_port *P = wdev_port(d, p);
    for (int tries = 0; tries < 1000; tries++) {
        uint32_t s1 = WD_LD(&P->info_seq);
        if (s1 & 1) {
            sched_yield();
            continue;
        }
        uint32_t l = __atomic_load_n(&P->info_len, __ATOMIC_RELAXED);
        if (l > WD_INFO_SIZE) {
            if (WD_LD(&P->info_seq) != s1)
                continue;             /* torn read */
            wdev_fault(d, p, WD_LD(&P->epoch), "info_len", l);
            return -EPROTO;
        }
        if (l > len)
            return -EMSGSIZE;
        memcpy(buf, wdev_info(d, p), l);
        osci_fence_acquire();
        if (__atomic_load_n(&P->info_seq, __ATOMIC_RELAXED) == s1) {
            *len_p = l;
            return 0;
        }
    }
    return -EAGAIN;
}

int wdev_info_read(struct osci_drv *drv, uint32_t node, void *buf, size_t len, size_t *len_p)
{
    return wd_info_read(to_wd(drv), node, buf, len, len_p);
}

/* ---- fault injection ---- */

int wdev_inject(struct osci_drv *drv, enum osci_fault fault, uint32_t node, unsigned int count)
{
    struct wdev *d = to_wd(drv);
    int p;

    switch (fault) {
    case OSCI_FAULT_LINK_DOWN:
    case OSCI_FAULT_LINK_UP:
        p = wdev_port_of(d, node);
        if (p < 0)
            return -EHOSTUNREACH;
        /* Our word only: the peer sees the link down through it (wdev_link_disabled reads both ends).
         * LINK_UP clears what we took down; a link the peer took down stays down until it brings it up. */
        __atomic_store_n(&wdev_port(d, d->me)->link_down[p],
                         fault == OSCI_FAULT_LINK_DOWN ? WD_LD(&wdev_port(d, (unsigned int)p)->epoch) : 0,
                         __ATOMIC_SEQ_CST);
        osci_log(OSCI_LOG_INFO, MOD, "fault: link %u<->%u %s", d->base.node_id, node,
                 fault == OSCI_FAULT_LINK_DOWN ? "down" : "up");
        d->prov->wake(d, (unsigned int)p);
        d->prov->wake(d, d->me);
        return 0;
    case OSCI_FAULT_DROP_DOORBELL:
    case OSCI_FAULT_CORRUPT_MSG:
        break;                        /* the fault interposer's (driver/core/hook.c) */
    case OSCI_FAULT_LIVENESS_LOST:
        d->liveness_lost = 1;
        WD_ST(&wdev_port(d, d->me)->flags, __atomic_or_fetch(&d->flags, WD_F_LIVENESS_LOST, __ATOMIC_SEQ_CST));
        osci_log(OSCI_LOG_INFO, MOD, "fault: node %u stops heartbeating", d->base.node_id);
        return 0;
    }
    return -EINVAL;
}

