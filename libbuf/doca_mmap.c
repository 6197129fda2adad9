/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * doca_mmap over libsisci's export API (docs/doca.md). One memory range per mmap; every control call
 * takes the mmap's lock (the object is always thread safe); copies through a from-export mmap take none.
 *
 *   created --set_*, add_dev, rm_dev--> created --start--> started --export_*--> started+exported
 *   started[+exported] --stop (descriptors freed, importers invalidated)--> created (memrange kept)
 *   create_from_export --> from-export (never started; no set_*, add_dev, rm_dev, export, start, stop)
 *   destroy: from any state while no buffer reference is held; implies stop.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf_desc.h"
#include "buf_internal.h"
#include "opensci/doca_osci.h"
#include "osci_list.h"
#include "osci_log.h"

#define DEFAULT_MAX_DEVS 64u
#define MAX_DEVS_LIMIT   1024u
#define ACCESS_DEFINED   0x7fu
#define ACCESS_PCI       (DOCA_ACCESS_FLAG_PCI_READ_ONLY | DOCA_ACCESS_FLAG_PCI_READ_WRITE)
#define ACCESS_RDMA      (DOCA_ACCESS_FLAG_RDMA_READ | DOCA_ACCESS_FLAG_RDMA_WRITE | DOCA_ACCESS_FLAG_RDMA_ATOMIC)
#define CONNECT_TIMEOUT_MS 3000u
#define NODE_WAIT_MS 3000u

/* How long create_from_export waits for an exporter's node this process has not seen yet (it may be
 * starting): OSCI_DOCA_NODE_WAIT_MS, default 3000 (docs/doca.md). */
static unsigned int node_wait_ms(void)
{
    const char *v = getenv("OSCI_DOCA_NODE_WAIT_MS");
    char *end;
    unsigned long ms;

    if (!v || !*v)
        return NODE_WAIT_MS;
    ms = strtoul(v, &end, 10);
    return *end || ms > 600000 ? NODE_WAIT_MS : (unsigned int)ms;
}

struct mmap_export {
    struct osci_list_node link;
    uint32_t adapter_no;
    uint16_t kind;                       /* enum buf_desc_kind */
    bool taken_over;                     /* a window device took the range over */
    struct osci_export *exp;
    size_t desc_len;
    uint8_t desc[BUF_DESC_MAX];
};

struct mmap_ref {
    struct osci_list_node link;
    void *addr;
};

struct doca_mmap {
    uint32_t magic;
    pthread_mutex_t lock;
    bool started, ever_started, from_export, range_set;
    void *addr;
    size_t len;
    int dmabuf_fd;                       /* -1: plain memory */
    size_t dmabuf_off;
    void *own_map;                       /* a mapping of the dma-buf this library made */
    uint32_t access;
    uint32_t max_devs, n_devs;
    struct doca_dev **devs;
    union doca_data user_data;
    doca_mmap_memrange_free_cb_t *free_cb;
    void *free_opaque;
    uint32_t num_bufs;
    struct osci_list_head refs;          /* struct mmap_ref */
    struct osci_list_head exports;       /* struct mmap_export */
    /* from-export */
    struct osci_import *imp;
    struct buf_desc rdesc;
    void *rmap;                          /* load/store mapping of the remote memory, or NULL */
};

static bool mmap_ok(const struct doca_mmap *m)
{
    return m && m->magic == BUF_MMAP_MAGIC;
}

/* A getter's body: checks the mmap `cm` and the pointer `out`, then *out = value, an expression of `m` (the
 * mmap) read under its lock. */
#define GET_LOCKED(cm, out, value)                          \
    do {                                                    \
        struct doca_mmap *m = (struct doca_mmap *)(cm);     \
        if (!mmap_ok(m) || !(out))                          \
            return DOCA_ERROR_INVALID_VALUE;                \
        pthread_mutex_lock(&m->lock);                       \
        *(out) = (value);                                   \
        pthread_mutex_unlock(&m->lock);                     \
        return DOCA_SUCCESS;                                \
    } while (0)

static bool dev_ok(const struct doca_dev *d)
{
    return d && d->magic == BUF_DEV_MAGIC;
}

DOCA_STABLE doca_error_t doca_mmap_create(struct doca_mmap **mmap_p)
{
    struct doca_mmap *m;

    if (!mmap_p)
        return DOCA_ERROR_INVALID_VALUE;
    m = calloc(1, sizeof(*m));
    if (!m)
        return DOCA_ERROR_NO_MEMORY;
    m->devs = calloc(DEFAULT_MAX_DEVS, sizeof(*m->devs));
    if (!m->devs) {
        free(m);
        return DOCA_ERROR_NO_MEMORY;
    }
    m->magic = BUF_MMAP_MAGIC;
    pthread_mutex_init(&m->lock, NULL);
    m->max_devs = DEFAULT_MAX_DEVS;
    m->access = DOCA_ACCESS_FLAG_LOCAL_READ_WRITE;
    m->dmabuf_fd = -1;
    osci_list_init(&m->refs);
    osci_list_init(&m->exports);
    *mmap_p = m;
    return DOCA_SUCCESS;
}

/* Frees every export: importers are force-disconnected; a taken-over range gets private pages back. */
static void drop_exports(struct doca_mmap *m)
{
    struct mmap_export *e, *tmp;

    osci_list_for_each_safe(e, tmp, &m->exports, link) {
        int rc = osci_export_destroy(e->exp);
        if (rc < 0)
            osci_log(OSCI_LOG_WARN, "doca", "mmap %p: export on adapter %u: %s", (void *)m, e->adapter_no,
                     strerror(-rc));
        osci_list_del(&e->link);
        free(e);
        buf_lib_put();
    }
}

static doca_error_t stop_locked(struct doca_mmap *m)
{
    if (m->from_export)
        return DOCA_ERROR_NOT_PERMITTED;
    if (m->num_bufs)
        return DOCA_ERROR_NOT_PERMITTED;
    if (!m->started)
        return DOCA_SUCCESS;
    drop_exports(m);
    m->started = false;
    return DOCA_SUCCESS;
}

DOCA_STABLE doca_error_t doca_mmap_destroy(struct doca_mmap *m)
{
    doca_mmap_memrange_free_cb_t *cb;
    bool call_cb;

    if (!mmap_ok(m))
        return DOCA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&m->lock);
    if (m->num_bufs) {
        pthread_mutex_unlock(&m->lock);
        return DOCA_ERROR_NOT_PERMITTED;
    }
    if (m->from_export) {
        osci_import_release(m->imp);
        buf_lib_put();
    } else {
        stop_locked(m);
    }
    cb = m->free_cb;
    call_cb = cb && m->ever_started && m->range_set;
    m->magic = 0;
    pthread_mutex_unlock(&m->lock);
    if (m->own_map)
        munmap(m->own_map, m->len);
    if (call_cb)
        cb(m->addr, m->len, m->free_opaque);
    pthread_mutex_destroy(&m->lock);
    free(m->devs);
    free(m);
    return DOCA_SUCCESS;
}

DOCA_STABLE doca_error_t doca_mmap_start(struct doca_mmap *m)
{
    doca_error_t r = DOCA_SUCCESS;

    if (!mmap_ok(m))
        return DOCA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&m->lock);
    if (m->from_export || !osci_list_empty(&m->exports))
        r = DOCA_ERROR_NOT_PERMITTED;
    else if (m->started)
        r = DOCA_ERROR_BAD_STATE;
    else if (!m->range_set) {
        osci_log(OSCI_LOG_INFO, "doca", "mmap %p: start without a memory range", (void *)m);
        r = DOCA_ERROR_INVALID_VALUE;
    } else {
        m->started = true;
        m->ever_started = true;
    }
    pthread_mutex_unlock(&m->lock);
    return r;
}

DOCA_STABLE doca_error_t doca_mmap_stop(struct doca_mmap *m)
{
    doca_error_t r;

    if (!mmap_ok(m))
        return DOCA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&m->lock);
    r = stop_locked(m);
    pthread_mutex_unlock(&m->lock);
    return r;
}

/* The common refusal of a configuration call: from-export NOT_PERMITTED, started `started_err`. */
static doca_error_t cfg_enter(struct doca_mmap *m, doca_error_t started_err)
{
    doca_error_t r;

    if (!mmap_ok(m))
        return DOCA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&m->lock);
    r = m->from_export ? DOCA_ERROR_NOT_PERMITTED : m->started ? started_err : DOCA_SUCCESS;
    if (r != DOCA_SUCCESS)
        pthread_mutex_unlock(&m->lock);
    return r;
}

static int dev_index(const struct doca_mmap *m, const struct doca_dev *d)
{
    for (uint32_t i = 0; i < m->n_devs; i++)
        if (m->devs[i] == d)
            return (int)i;
    return -1;
}

DOCA_STABLE doca_error_t doca_mmap_add_dev(struct doca_mmap *m, struct doca_dev *dev)
{
    doca_error_t r;

    if (!dev_ok(dev))
        return DOCA_ERROR_INVALID_VALUE;
    if ((r = cfg_enter(m, DOCA_ERROR_NOT_PERMITTED)) != DOCA_SUCCESS)
        return r;
    if (dev_index(m, dev) >= 0)
        r = DOCA_ERROR_ALREADY_EXIST;
    else if (m->n_devs >= m->max_devs)
        r = DOCA_ERROR_NO_MEMORY;
    else
        m->devs[m->n_devs++] = dev;
    pthread_mutex_unlock(&m->lock);
    return r;
}

DOCA_STABLE doca_error_t doca_mmap_rm_dev(struct doca_mmap *m, struct doca_dev *dev)
{
    doca_error_t r;
    int i;

    if (!dev_ok(dev))
        return DOCA_ERROR_INVALID_VALUE;
    if ((r = cfg_enter(m, DOCA_ERROR_NOT_PERMITTED)) != DOCA_SUCCESS)
        return r;
    if ((i = dev_index(m, dev)) < 0) {
        r = DOCA_ERROR_NOT_FOUND;
    } else {
        m->devs[i] = m->devs[m->n_devs - 1];
        m->n_devs--;
    }
    pthread_mutex_unlock(&m->lock);
    return r;
}

static doca_error_t export(struct doca_mmap *m, const struct doca_dev *dev, uint16_t kind, const void **desc,
                           size_t *desc_len)
{
    struct osci_export_info info;
    struct mmap_export *e;
    struct buf_desc d;
    uint32_t need_cap = kind == BUF_DESC_PCI ? OSCI_EXPORT_CAP_WINDOW : OSCI_EXPORT_CAP_RDMA;
    uint32_t need_access = kind == BUF_DESC_PCI ? ACCESS_PCI : ACCESS_RDMA;
    doca_error_t r = DOCA_SUCCESS;
    int rc;

    if (!mmap_ok(m) || !dev_ok(dev) || !desc || !desc_len)
        return DOCA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&m->lock);
    if (m->from_export || !m->started || !(m->access & need_access)) {
        osci_log(OSCI_LOG_INFO, "doca", "mmap %p: export_%s refused: %s", (void *)m,
                 kind == BUF_DESC_PCI ? "pci" : "rdma",
                 m->from_export ? "created from export" : !m->started ? "not started" : "no such access permission");
        r = DOCA_ERROR_NOT_PERMITTED;
        goto out;
    }
    if (dev_index(m, dev) < 0) {
        r = DOCA_ERROR_NOT_FOUND;
        goto out;
    }
    if (!(dev->info.ad.caps & need_cap)) {
        r = DOCA_ERROR_NOT_SUPPORTED;
        goto out;
    }
    osci_list_for_each(e, &m->exports, link) {
        if (e->adapter_no == dev->info.ad.adapter_no && e->kind == kind) {
            *desc = e->desc;
            *desc_len = e->desc_len;
            goto out;
        }
        if (e->taken_over || (dev->info.ad.caps & OSCI_EXPORT_CAP_WINDOW)) {
            /* a window device's export moves the range into its window: only one export of it */
            osci_log(OSCI_LOG_INFO, "doca", "mmap %p: already exported on adapter %u, whose window holds the range",
                     (void *)m, e->adapter_no);
            r = DOCA_ERROR_NOT_SUPPORTED;
            goto out;
        }
    }
    e = calloc(1, sizeof(*e));
    if (!e) {
        r = DOCA_ERROR_NO_MEMORY;
        goto out;
    }
    /* each export keeps the library initialised until stop, even when its device is closed first */
    if (buf_lib_get() < 0) {
        free(e);
        r = DOCA_ERROR_INITIALIZATION;
        goto out;
    }
    rc = osci_export_create(dev->info.ad.adapter_no, m->addr, m->len, m->dmabuf_fd, m->dmabuf_off, &e->exp, &info);
    if (rc < 0) {
        osci_log(OSCI_LOG_INFO, "doca", "mmap %p: export on adapter %u: %s", (void *)m, dev->info.ad.adapter_no,
                 strerror(-rc));
        free(e);
        buf_lib_put();
        r = rc == -EINVAL ? DOCA_ERROR_INVALID_VALUE : rc == -EOPNOTSUPP ? DOCA_ERROR_NOT_SUPPORTED
                                                     : rc == -ENOMEM ? DOCA_ERROR_NO_MEMORY : DOCA_ERROR_DRIVER;
        goto out;
    }
    memset(&d, 0, sizeof(d));
    d.kind = kind;
    d.node_id = info.node_id;
    d.adapter_no = info.adapter_no;
    d.segment_id = info.segment_id;
    d.size = info.size;
    d.addr = (uint64_t)(uintptr_t)m->addr;
    d.access = m->access;
    d.xport_len = info.xport_len;
    memcpy(d.key, info.key, sizeof(d.key));
    memcpy(d.xport, info.xport, info.xport_len);
    memset(&info, 0, sizeof(info));
    rc = buf_desc_encode(&d, e->desc, sizeof(e->desc));
    memset(&d, 0, sizeof(d));
    if (rc < 0) {
        osci_export_destroy(e->exp);
        free(e);
        buf_lib_put();
        r = DOCA_ERROR_DRIVER;
        goto out;
    }
    e->desc_len = (size_t)rc;
    e->adapter_no = dev->info.ad.adapter_no;
    e->kind = kind;
    e->taken_over = (dev->info.ad.caps & OSCI_EXPORT_CAP_WINDOW) != 0;
    osci_list_add(&m->exports, &e->link);
    *desc = e->desc;
    *desc_len = e->desc_len;
out:
    pthread_mutex_unlock(&m->lock);
    return r;
}

DOCA_STABLE doca_error_t doca_mmap_export_pci(struct doca_mmap *m, const struct doca_dev *dev, const void **export_desc,
                                              size_t *export_desc_len)
{
    return export(m, dev, BUF_DESC_PCI, export_desc, export_desc_len);
}

DOCA_STABLE doca_error_t doca_mmap_export_rdma(struct doca_mmap *m, const struct doca_dev *dev, const void **export_desc,
                                               size_t *export_desc_len)
{
    return export(m, dev, BUF_DESC_RDMA, export_desc, export_desc_len);
}

DOCA_STABLE doca_error_t doca_mmap_create_from_export(const union doca_data *user_data, const void *export_desc,
                                                      size_t export_desc_len, struct doca_dev *dev,
                                                      struct doca_mmap **mmap_p)
{
    struct osci_export_info info;
    struct buf_desc d;
    struct doca_mmap *m;
    doca_error_t r;
    unsigned int flags;
    int rc;

    if (!export_desc || !dev_ok(dev) || !mmap_p)
        return DOCA_ERROR_INVALID_VALUE;
    rc = buf_desc_decode(export_desc, export_desc_len, &d);
    if (rc < 0) {
        osci_log(OSCI_LOG_INFO, "doca", "create_from_export: descriptor refused: %s",
                 rc == -EPROTONOSUPPORT ? "unknown format version" : rc == -EBADMSG ? "checksum mismatch"
                                                                   : "malformed or truncated");
        return DOCA_ERROR_INVALID_VALUE;
    }
    if (!(dev->info.ad.caps & (d.kind == BUF_DESC_PCI ? OSCI_EXPORT_CAP_WINDOW : OSCI_EXPORT_CAP_RDMA)))
        return DOCA_ERROR_NOT_SUPPORTED;
    if ((r = doca_mmap_create(&m)) != DOCA_SUCCESS)
        return r;
    if (buf_lib_get() < 0) {
        doca_mmap_destroy(m);
        return DOCA_ERROR_INITIALIZATION;
    }
    memset(&info, 0, sizeof(info));
    info.node_id = d.node_id;
    info.adapter_no = d.adapter_no;
    info.segment_id = d.segment_id;
    info.size = d.size;
    memcpy(info.key, d.key, sizeof(info.key));
    flags = (d.access & (DOCA_ACCESS_FLAG_PCI_READ_WRITE | DOCA_ACCESS_FLAG_RDMA_WRITE)) ? 0 : OSCI_IMPORT_READONLY;
    rc = osci_import_connect(dev->info.ad.adapter_no, &info, flags, CONNECT_TIMEOUT_MS, node_wait_ms(), &m->imp);
    memset(&info, 0, sizeof(info));
    if (rc < 0) {
        osci_log(OSCI_LOG_INFO, "doca", "create_from_export: node %u segment %u: %s", d.node_id, d.segment_id,
                 rc == -EACCES ? "the exporter refused the key" : rc == -ENOENT ? "no such export (stopped?)"
                                                                : strerror(-rc));
        buf_lib_put();
        doca_mmap_destroy(m);
        return buf_doca_err(rc);
    }
    if (osci_import_map(m->imp, &m->rmap) < 0)
        m->rmap = NULL;
    m->rdesc = d;
    memset(m->rdesc.key, 0, sizeof(m->rdesc.key));
    m->from_export = true;
    m->range_set = true;
    m->addr = m->rmap ? m->rmap : (void *)(uintptr_t)d.addr;
    m->len = (size_t)d.size;
    m->access = d.access;
    if (user_data)
        m->user_data = *user_data;
    *mmap_p = m;
    return DOCA_SUCCESS;
}

DOCA_STABLE doca_error_t doca_mmap_set_memrange(struct doca_mmap *m, void *addr, size_t len)
{
    doca_error_t r;

    if (!addr || !len || (uintptr_t)addr + len < (uintptr_t)addr)
        return DOCA_ERROR_INVALID_VALUE;
    if ((r = cfg_enter(m, DOCA_ERROR_BAD_STATE)) != DOCA_SUCCESS)
        return r;
    if (m->range_set) {
        r = DOCA_ERROR_NOT_PERMITTED;
    } else {
        m->addr = addr;
        m->len = len;
        m->range_set = true;
    }
    pthread_mutex_unlock(&m->lock);
    return r;
}

/* A dma-buf (udmabuf or any exporter's), a memfd, or one of this library's dma-bufs. */
static bool dmabuf_like(int fd, size_t *size_p)
{
    char path[64], target[128];
    struct stat st;
    ssize_t n;

    if (fstat(fd, &st) < 0)
        return false;
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    n = readlink(path, target, sizeof(target) - 1);
    if (n <= 0)
        return false;
    target[n] = '\0';
    if (strncmp(target, "/dmabuf:", 8) && strncmp(target, "anon_inode:dmabuf", 17) &&
        strncmp(target, "/memfd:", 7))
        return false;
    if (st.st_size > 0) {
        *size_p = (size_t)st.st_size;
    } else {
        off_t end = lseek(fd, 0, SEEK_END);   /* a dma-buf reports its size through lseek */
        if (end <= 0)
            return false;
        *size_p = (size_t)end;
    }
    return true;
}

DOCA_STABLE doca_error_t doca_mmap_set_dmabuf_memrange(struct doca_mmap *m, int dmabuf_fd, void *addr,
                                                       size_t dmabuf_offset, size_t len)
{
    size_t size = 0, pg = (size_t)sysconf(_SC_PAGESIZE);
    doca_error_t r;
    void *p = NULL;

    if (dmabuf_fd < 0 || !len || (addr && (uintptr_t)addr + len < (uintptr_t)addr))
        return DOCA_ERROR_INVALID_VALUE;
    if (!dmabuf_like(dmabuf_fd, &size) || dmabuf_offset > size || len > size - dmabuf_offset) {
        osci_log(OSCI_LOG_INFO, "doca", "set_dmabuf_memrange: fd %d is no dma-buf or memfd, or [%zu, +%zu) is "
                 "outside it", dmabuf_fd, dmabuf_offset, len);
        return DOCA_ERROR_INVALID_VALUE;
    }
    if ((r = cfg_enter(m, DOCA_ERROR_BAD_STATE)) != DOCA_SUCCESS)
        return r;
    if (m->range_set) {
        r = DOCA_ERROR_NOT_PERMITTED;
        goto out;
    }
    if (!addr) {
        if (dmabuf_offset & (pg - 1)) {
            r = DOCA_ERROR_INVALID_VALUE;
            goto out;
        }
        p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, dmabuf_fd, (off_t)dmabuf_offset);
        if (p == MAP_FAILED) {
            r = DOCA_ERROR_OPERATING_SYSTEM;
            goto out;
        }
        m->own_map = p;
        addr = p;
    }
    m->addr = addr;
    m->len = len;
    m->dmabuf_fd = dmabuf_fd;
    m->dmabuf_off = dmabuf_offset;
    m->range_set = true;
out:
    pthread_mutex_unlock(&m->lock);
    return r;
}

DOCA_STABLE doca_error_t doca_mmap_get_memrange(const struct doca_mmap *cm, void **addr, size_t *len)
{
    struct doca_mmap *m = (struct doca_mmap *)cm;
    doca_error_t r = DOCA_SUCCESS;

    if (!mmap_ok(m) || !addr || !len)
        return DOCA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&m->lock);
    if (!m->range_set) {
        r = DOCA_ERROR_BAD_STATE;
    } else {
        *addr = m->addr;
        *len = m->len;
    }
    pthread_mutex_unlock(&m->lock);
    return r;
}

DOCA_STABLE doca_error_t doca_mmap_set_free_cb(struct doca_mmap *m, doca_mmap_memrange_free_cb_t *free_cb,
                                               void *opaque)
{
    doca_error_t r;

    if (!free_cb)
        return DOCA_ERROR_INVALID_VALUE;
    if ((r = cfg_enter(m, DOCA_ERROR_BAD_STATE)) != DOCA_SUCCESS)
        return r;
    m->free_cb = free_cb;
    m->free_opaque = opaque;
    pthread_mutex_unlock(&m->lock);
    return DOCA_SUCCESS;
}

DOCA_STABLE doca_error_t doca_mmap_get_user_data(const struct doca_mmap *cm, union doca_data *user_data)
{
    GET_LOCKED(cm, user_data, m->user_data);
}

DOCA_STABLE doca_error_t doca_mmap_set_user_data(struct doca_mmap *m, union doca_data user_data)
{
    doca_error_t r;

    if ((r = cfg_enter(m, DOCA_ERROR_BAD_STATE)) != DOCA_SUCCESS)
        return r;
    m->user_data = user_data;
    pthread_mutex_unlock(&m->lock);
    return DOCA_SUCCESS;
}

DOCA_STABLE doca_error_t doca_mmap_get_max_num_devices(const struct doca_mmap *cm, uint32_t *max_num_devices)
{
    GET_LOCKED(cm, max_num_devices, m->max_devs);
}

DOCA_STABLE doca_error_t doca_mmap_set_max_num_devices(struct doca_mmap *m, uint32_t max_num_devices)
{
    struct doca_dev **nd;
    doca_error_t r;

    if (max_num_devices == 0 || max_num_devices > MAX_DEVS_LIMIT)
        return DOCA_ERROR_INVALID_VALUE;
    if ((r = cfg_enter(m, DOCA_ERROR_NOT_PERMITTED)) != DOCA_SUCCESS)
        return r;
    if (m->ever_started) {
        r = DOCA_ERROR_NOT_PERMITTED;
    } else if (max_num_devices < m->n_devs) {
        r = DOCA_ERROR_INVALID_VALUE;     /* fewer than the devices already added */
    } else if (!(nd = realloc(m->devs, max_num_devices * sizeof(*nd)))) {
        r = DOCA_ERROR_NO_MEMORY;
    } else {
        m->devs = nd;
        m->max_devs = max_num_devices;
    }
    pthread_mutex_unlock(&m->lock);
    return r;
}

DOCA_STABLE doca_error_t doca_mmap_get_num_bufs(const struct doca_mmap *cm, uint32_t *num_bufs)
{
    GET_LOCKED(cm, num_bufs, m->num_bufs);
}

DOCA_STABLE doca_error_t doca_mmap_get_exported(const struct doca_mmap *cm, uint8_t *exported)
{
    GET_LOCKED(cm, exported, !osci_list_empty(&m->exports));
}

DOCA_STABLE doca_error_t doca_mmap_get_from_export(const struct doca_mmap *cm, uint8_t *from_export)
{
    struct doca_mmap *m = (struct doca_mmap *)cm;

    if (!mmap_ok(m) || !from_export)
        return DOCA_ERROR_INVALID_VALUE;
    *from_export = m->from_export;     /* set at creation, never changes */
    return DOCA_SUCCESS;
}

DOCA_STABLE doca_error_t doca_mmap_set_permissions(struct doca_mmap *m, uint32_t access_mask)
{
    doca_error_t r;

    if ((access_mask & ~ACCESS_DEFINED) ||
        ((access_mask & DOCA_ACCESS_FLAG_PCI_READ_ONLY) && (access_mask & DOCA_ACCESS_FLAG_PCI_READ_WRITE)))
        return DOCA_ERROR_INVALID_VALUE;
    if ((r = cfg_enter(m, DOCA_ERROR_BAD_STATE)) != DOCA_SUCCESS)
        return r;
    m->access = access_mask;
    pthread_mutex_unlock(&m->lock);
    return DOCA_SUCCESS;
}

/* ---- OpenSCI extensions (include/opensci/doca_osci.h) ---- */

static doca_error_t remote_copy(struct doca_mmap *m, size_t offset, void *buf, size_t len, int write)
{
    int rc;

    if (!mmap_ok(m) || !m->from_export || (!buf && len))
        return DOCA_ERROR_INVALID_VALUE;
    if (write && !(m->access & (DOCA_ACCESS_FLAG_PCI_READ_WRITE | DOCA_ACCESS_FLAG_RDMA_WRITE)))
        return DOCA_ERROR_NOT_PERMITTED;
    rc = osci_import_copy(m->imp, offset, buf, len, write);
    return rc == -ERANGE ? DOCA_ERROR_INVALID_VALUE : rc == -EACCES ? DOCA_ERROR_NOT_PERMITTED : buf_doca_err(rc);
}

DOCA_STABLE doca_error_t doca_osci_mmap_copy_to(struct doca_mmap *m, size_t offset, const void *src, size_t len)
{
    return remote_copy(m, offset, (void *)(uintptr_t)src, len, 1);
}

DOCA_STABLE doca_error_t doca_osci_mmap_copy_from(struct doca_mmap *m, size_t offset, void *dst, size_t len)
{
    return remote_copy(m, offset, dst, len, 0);
}

DOCA_STABLE doca_error_t doca_osci_mmap_check(const struct doca_mmap *m)
{
    if (!mmap_ok(m) || !m->from_export)
        return DOCA_ERROR_INVALID_VALUE;
    return buf_doca_err(osci_import_check(m->imp));
}

DOCA_STABLE doca_error_t doca_osci_mmap_map(struct doca_mmap *m, void **addr, size_t *len)
{
    struct mmap_ref *ref;
    doca_error_t r = DOCA_SUCCESS;

    if (!mmap_ok(m) || !addr)
        return DOCA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&m->lock);
    if (m->from_export ? !m->rmap : !m->started) {
        r = m->from_export ? DOCA_ERROR_NOT_SUPPORTED : DOCA_ERROR_BAD_STATE;
        goto out;
    }
    if (!(ref = calloc(1, sizeof(*ref)))) {
        r = DOCA_ERROR_NO_MEMORY;
        goto out;
    }
    ref->addr = m->addr;
    osci_list_add(&m->refs, &ref->link);
    m->num_bufs++;
    *addr = m->addr;
    if (len)
        *len = m->len;
out:
    pthread_mutex_unlock(&m->lock);
    return r;
}

DOCA_STABLE doca_error_t doca_osci_mmap_unmap(struct doca_mmap *m, void *addr)
{
    struct mmap_ref *ref;
    doca_error_t r = DOCA_ERROR_NOT_FOUND;

    if (!mmap_ok(m))
        return DOCA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&m->lock);
    osci_list_for_each(ref, &m->refs, link) {
        if (ref->addr == addr) {
            osci_list_del(&ref->link);
            free(ref);
            m->num_bufs--;
            r = DOCA_SUCCESS;
            break;
        }
    }
    pthread_mutex_unlock(&m->lock);
    return r;
}

DOCA_STABLE doca_error_t doca_osci_desc_decode(const void *desc, size_t len, struct doca_osci_desc_info *info)
{
    struct buf_desc d;
    const uint8_t *b = desc;
    int rc;

    if (!desc || !info)
        return DOCA_ERROR_INVALID_VALUE;
    rc = buf_desc_decode(desc, len, &d);
    if (rc == -EPROTONOSUPPORT)
        return DOCA_ERROR_UNSUPPORTED_VERSION;
    if (rc < 0)
        return DOCA_ERROR_INVALID_VALUE;
    *info = (struct doca_osci_desc_info){ .version = BUF_DESC_VERSION, .kind = d.kind, .length = (uint32_t)len,
                                          .node_id = d.node_id, .adapter_no = d.adapter_no,
                                          .segment_id = d.segment_id, .size = d.size, .addr = d.addr,
                                          .access = d.access, .xport_len = d.xport_len };
    for (int i = 0; i < 4; i++)
        info->checksum |= (uint32_t)b[len - 4 + (size_t)i] << (8 * i);
    memset(&d, 0, sizeof(d));
    return DOCA_SUCCESS;
}
