/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The internal export API (include/opensci/osci_export.h) that libopensci-buf builds doca_mmap on:
 * an export is a local segment with a random 128-bit key, an import a remote segment connected with
 * that key. Built on the SISCI calls themselves (create, register or take over, prepare, available,
 * connect, map, SCIMemCpy); what is added here is the key: the owner's CONNECT handler asks
 * seg__export_key_check, and osci_import_connect hands its key to SCIConnectSegment through
 * seg__export_key_fill (a thread-local: the CONNECT is sent from the calling thread).
 * docs/doca.md "The export API", docs/segment-protocol.md "Connect keys".
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include "opensci/osci_export.h"
#include "seg_export.h"
#include "seg_obj.h"

_Static_assert(OSCI_EXPORT_KEY_LEN == SEG_KEY_LEN, "one key length");
_Static_assert(OSCI_EXPORT_XPORT_MAX >= OSCI_DRV_XPORT_MAX, "transport bytes fit");

struct osci_export {
    struct osci_list_node link;          /* in exports (seg.lock) */
    sci_desc_t sd;
    sci_local_segment_t ls;
    unsigned int adapter;
    uint8_t key[SEG_KEY_LEN];
    void *addr;                          /* the exported range */
    size_t len;
    bool taken_over;                     /* the range is window memory mapped at addr */
};

struct osci_import {
    sci_desc_t sd;
    sci_remote_segment_t rs;
    sci_map_t map;
    void *ptr;                           /* load/store mapping, NULL on a transfer map */
    uint64_t size;
    bool readonly;
};

static struct osci_list_head exports = OSCI_LIST_HEAD_INIT(exports);
static __thread const uint8_t *connect_key;

static int sci_to_errno(sci_error_t e)
{
    switch (e) {
    case SCI_ERR_OK: return 0;
    case SCI_ERR_NO_SUCH_SEGMENT: return -ENOENT;
    case SCI_ERR_ACCESS: return -EACCES;
    case SCI_ERR_TIMEOUT: return -ETIMEDOUT;
    case SCI_ERR_NO_SUCH_NODEID: return -EHOSTUNREACH;
    case SCI_ERR_ILLEGAL_NODEID: return -EADDRNOTAVAIL;
    case SCI_ERR_CONNECTION_REFUSED: return -ECONNREFUSED;
    case SCI_ERR_NODE_NOT_RESPONDING: return -EHOSTDOWN;
    case SCI_ERR_NO_SUCH_ADAPTERNO: case SCI_ERR_ILLEGAL_ADAPTERNO: return -ENODEV;
    case SCI_ERR_NOSPC: return -ENOMEM;
    case SCI_ERR_NOT_SUPPORTED: return -EOPNOTSUPP;
    case SCI_ERR_NOT_INITIALIZED: return -ESHUTDOWN;
    case SCI_ERR_OUT_OF_RANGE: return -ERANGE;
    case SCI_ERR_ILLEGAL_PARAMETER: return -EINVAL;
    case SCI_ERR_NO_LINK_ACCESS: return -ENOLINK;
    default: return -EIO;
    }
}

/* Constant time: the comparison does not tell how much of a guessed key was right. */
static bool key_equal(const uint8_t *a, const uint8_t *b)
{
    uint8_t d = 0;
    for (unsigned int i = 0; i < SEG_KEY_LEN; i++)
        d |= (uint8_t)(a[i] ^ b[i]);
    return d == 0;
}

static bool key_zero(const uint8_t *k)
{
    static const uint8_t zero[SEG_KEY_LEN];
    return key_equal(zero, k);
}

int seg__export_key_check(const struct sci_local_segment *ls, const uint8_t key[SEG_KEY_LEN])
{
    struct osci_export *e;

    osci_list_for_each(e, &exports, link)
        if (e->ls == ls)
            return key_equal(e->key, key) ? 0 : -EACCES;
    return key_zero(key) ? 0 : -EACCES;      /* a plain segment takes plain connects only */
}

void seg__export_key_fill(uint8_t key[SEG_KEY_LEN])
{
    if (connect_key)
        memcpy(key, connect_key, SEG_KEY_LEN);
    else
        memset(key, 0, SEG_KEY_LEN);
}

static uint32_t export_caps(const struct osci_drv_info *info)
{
    uint32_t c = 0;
    if ((info->caps & OSCI_DRV_CAP_MEM_ALLOC) && (info->caps & OSCI_DRV_CAP_MAP_REMOTE))
        c |= OSCI_EXPORT_CAP_WINDOW;
    if ((info->caps & OSCI_DRV_CAP_PUT_GET) && !(info->caps & OSCI_DRV_CAP_MEM_ALLOC))
        c |= OSCI_EXPORT_CAP_RDMA;
    if (info->caps & OSCI_DRV_CAP_MAP_REMOTE)
        c |= OSCI_EXPORT_CAP_MAP;
    return c;
}

OSCI_EXPORT int osci_export_adapters(struct osci_export_adapter *out, unsigned int max, unsigned int *count_p)
{
    unsigned int n = 0;
    int rc;

    if ((!out && max) || !count_p)
        return -EINVAL;
    pthread_mutex_lock(&seg.lock);
    if ((rc = seg__check_init()) < 0)
        goto out;
    for (unsigned int i = 0; i < OSCI_MAX_ADAPTERS; i++) {
        struct seg_adapter *a = &seg.adapter[i];
        if (!a->drv)
            continue;
        if (n < max) {
            struct osci_export_adapter *o = &out[n];
            memset(o, 0, sizeof(*o));
            o->adapter_no = i;
            o->node_id = a->drv->node_id;
            o->card_type = a->info.card_type;
            o->caps = export_caps(&a->info);
            memcpy(o->name, a->info.name, sizeof(o->name) - 1);
        }
        n++;
    }
    *count_p = n;
out:
    pthread_mutex_unlock(&seg.lock);
    return rc;
}

/* The owner's segment events (CB_CONNECT, CB_DISCONNECT of importers) are taken and dropped here, so
 * nobody has to wait for them and the segment's bounded queue never fills. */
static sci_callback_action_t export_event(void *arg, sci_local_segment_t ls, sci_segment_cb_reason_t reason,
                                          unsigned int node, unsigned int adapter, sci_error_t error)
{
    return SCI_CALLBACK_CONTINUE;
}

/* The window memory of `ls` replaces the pages of [addr, addr + len), content kept. */
static int take_over(sci_local_segment_t ls, void *addr, size_t len)
{
    struct osci_drv_mem_view v;
    void *p;

    pthread_mutex_lock(&seg.lock);
    v = ls->mem.view;
    pthread_mutex_unlock(&seg.lock);
    if (v.fd < 0 || v.size < len)
        return -EOPNOTSUPP;
    memcpy(v.addr, addr, len);
    p = mmap(addr, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, v.fd, v.fd_offset);
    if (p == MAP_FAILED)
        return -errno;
    return 0;
}

/* Private pages again at [addr, addr + len), with the content the window holds now. */
static int give_back(void *addr, size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return -errno;
    memcpy(p, addr, len);
    if (mremap(p, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, addr) == MAP_FAILED) {
        int rc = -errno;
        munmap(p, len);
        return rc;
    }
    return 0;
}

OSCI_EXPORT int osci_export_create(unsigned int adapter, void *addr, size_t len, int fd, uint64_t fd_offset,
                                   struct osci_export **exp_p, struct osci_export_info *info)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    struct osci_export *e;
    struct seg_adapter *a;
    struct osci_drv_info di = { 0 };
    sci_error_t err;
    bool take;
    int rc;

    if (!addr || !len || !exp_p || !info || ((uintptr_t)addr & (pg - 1)) || (len & (pg - 1)) ||
        (uintptr_t)addr + len < (uintptr_t)addr)
        return -EINVAL;
    pthread_mutex_lock(&seg.lock);
    rc = seg__check_init();
    if (rc == 0)
        rc = seg__adapter_check(adapter, &a);
    if (rc == 0)
        di = a->info;
    pthread_mutex_unlock(&seg.lock);
    if (rc < 0)
        return rc;
    /* a window device exports only its own window's memory: the range is taken over; a device that
     * registers memory exports it where it is */
    take = (di.caps & OSCI_DRV_CAP_MEM_ALLOC) != 0;
    if (take && fd >= 0) {
        osci_log(OSCI_LOG_INFO, "export", "adapter %u: a window device cannot take over fd-backed memory", adapter);
        return -EOPNOTSUPP;
    }
    if (!take && !(di.caps & OSCI_DRV_CAP_PUT_GET))
        return -EOPNOTSUPP;
    e = calloc(1, sizeof(*e));
    if (!e)
        return -ENOMEM;
    e->adapter = adapter;
    e->addr = addr;
    e->len = len;
    do {
        if (getrandom(e->key, sizeof(e->key), 0) != (ssize_t)sizeof(e->key)) {
            rc = -EIO;
            goto err_free;
        }
    } while (key_zero(e->key));
    SCIOpen(&e->sd, 0, &err);
    if (err != SCI_ERR_OK) {
        rc = sci_to_errno(err);
        goto err_free;
    }
    SCICreateSegment(e->sd, &e->ls, 0, len, export_event, NULL,
                     SCI_FLAG_AUTO_ID | SCI_FLAG_USE_CALLBACK | (take ? 0 : SCI_FLAG_EMPTY), &err);
    if (err != SCI_ERR_OK) {
        rc = sci_to_errno(err);
        goto err_close;
    }
    if (!take) {
        /* the driver gets the fd with the mapping: rdma registers a dma-buf by its fd (docs/rdma.md) */
        size_t pgm = pg - 1;
        bool by_fd = fd >= 0 && !(fd_offset & pgm) && fd_offset <= (uint64_t)INT64_MAX - len;
        const struct osci_drv_mem_view v = { .addr = addr, .size = len, .fd = by_fd ? fd : -1,
                                             .fd_offset = by_fd ? (off_t)fd_offset : 0 };
        if (fd >= 0 && !by_fd)     /* no mapping at a page aligned address has that offset */
            osci_log(OSCI_LOG_INFO, "export", "adapter %u: fd offset %" PRIu64 " is not page aligned: the range "
                     "is registered by its address only", adapter, fd_offset);
        if ((rc = seg__lseg_register(e->ls, &v, 0)) < 0)
            goto err_remove;
    }
    SCIPrepareSegment(e->ls, adapter, 0, &err);
    if (err != SCI_ERR_OK) {
        rc = sci_to_errno(err);
        goto err_remove;
    }
    if (take) {
        if ((rc = take_over(e->ls, addr, len)) < 0)
            goto err_remove;
        e->taken_over = true;
    }
    /* the key is in force before the segment becomes available */
    pthread_mutex_lock(&seg.lock);
    osci_list_add(&exports, &e->link);
    memset(info, 0, sizeof(*info));
    info->node_id = a->drv->node_id;
    info->adapter_no = adapter;
    info->segment_id = e->ls->id;
    info->size = len;
    memcpy(info->key, e->key, sizeof(info->key));
    info->xport_len = e->ls->xport_len[adapter];
    memcpy(info->xport, e->ls->xport[adapter], info->xport_len);
    pthread_mutex_unlock(&seg.lock);
    SCISetSegmentAvailable(e->ls, adapter, 0, &err);
    if (err != SCI_ERR_OK) {
        rc = sci_to_errno(err);
        goto err_unlist;
    }
    osci_log(OSCI_LOG_DEBUG, "export", "adapter %u: segment %u exported (%zu bytes%s)", adapter,
             info->segment_id, len, take ? ", taken over into the window" : "");
    *exp_p = e;
    return 0;

err_unlist:
    pthread_mutex_lock(&seg.lock);
    osci_list_del(&e->link);
    pthread_mutex_unlock(&seg.lock);
err_remove:
    if (e->taken_over)
        give_back(addr, len);
    SCIRemoveSegment(e->ls, 0, &err);
err_close:
    SCIClose(e->sd, 0, &err);
err_free:
    memset(e->key, 0, sizeof(e->key));
    free(e);
    return rc;
}

OSCI_EXPORT int osci_export_destroy(struct osci_export *e)
{
    sci_error_t err;
    int rc = 0;

    if (!e)
        return -EINVAL;
    if (e->taken_over)
        rc = give_back(e->addr, e->len);
    SCIRemoveSegment(e->ls, 0, &err);
    if (err != SCI_ERR_OK && rc == 0)
        rc = sci_to_errno(err);
    pthread_mutex_lock(&seg.lock);
    osci_list_del(&e->link);
    pthread_mutex_unlock(&seg.lock);
    SCIClose(e->sd, 0, &err);
    memset(e->key, 0, sizeof(e->key));
    free(e);
    return rc;
}

OSCI_EXPORT int osci_export_connections(struct osci_export *e, unsigned int *count_p)
{
    struct seg_conn *c;
    unsigned int n = 0;

    if (!e || !count_p)
        return -EINVAL;
    pthread_mutex_lock(&seg.lock);
    osci_list_for_each(c, &e->ls->conns, link)
        n++;
    pthread_mutex_unlock(&seg.lock);
    *count_p = n;
    return 0;
}

/* Whether `node` may still come: never seen by this process and not impossible for the driver. */
static bool node_unseen(unsigned int adapter, uint32_t node)
{
    struct seg_adapter *a;
    bool r = false;

    pthread_mutex_lock(&seg.lock);
    a = seg__adapter(adapter);
    if (a && node > 0 && node < SEG_MAX_NODES && !seg__peer_known(&a->peer[node]))
        r = osci_drv_probe(a->drv, node) != -EADDRNOTAVAIL;
    pthread_mutex_unlock(&seg.lock);
    return r;
}

OSCI_EXPORT int osci_import_connect(unsigned int adapter, const struct osci_export_info *info,
                                    unsigned int flags, unsigned int timeout_ms, unsigned int node_wait_ms,
                                    struct osci_import **imp_p)
{
    struct osci_import *imp;
    struct seg_adapter *a;
    unsigned int map_flags;
    uint64_t wait_end;
    sci_error_t err;
    volatile void *p;
    int rc;

    if (!info || !imp_p || !info->size || (flags & ~OSCI_IMPORT_READONLY))
        return -EINVAL;
    imp = calloc(1, sizeof(*imp));
    if (!imp)
        return -ENOMEM;
    SCIOpen(&imp->sd, 0, &err);
    if (err != SCI_ERR_OK) {
        rc = sci_to_errno(err);
        goto err_free;
    }
    wait_end = osci_now_ms() + node_wait_ms;
    for (;;) {
        connect_key = info->key;
        SCIConnectSegment(imp->sd, &imp->rs, info->node_id, info->segment_id, adapter, NULL, NULL, timeout_ms, 0,
                          &err);
        connect_key = NULL;
        /* a node not seen yet answers NO_SUCH_SEGMENT like a segment that is gone: wait for it a while */
        if (err != SCI_ERR_NO_SUCH_SEGMENT || osci_now_ms() >= wait_end || !node_unseen(adapter, info->node_id))
            break;
        usleep(20000);
    }
    if (err != SCI_ERR_OK) {
        rc = sci_to_errno(err);
        goto err_close;
    }
    imp->size = SCIGetRemoteSegmentSize(imp->rs);
    if (imp->size != info->size) {
        rc = -EMSGSIZE;
        goto err_disconnect;
    }
    imp->readonly = (flags & OSCI_IMPORT_READONLY) != 0;
    pthread_mutex_lock(&seg.lock);
    a = seg__adapter(adapter);
    map_flags = a && (a->info.caps & OSCI_DRV_CAP_MAP_REMOTE) ? 0 : SCI_FLAG_OSCI_TRANSFER_MAP;
    pthread_mutex_unlock(&seg.lock);
    if (imp->readonly)
        map_flags |= SCI_FLAG_READONLY_MAP;
    /* a transfer map where the adapter has no load/store access: SCIMemCpy is then put/get */
    SCIMapRemoteSegment(imp->rs, &imp->map, 0, imp->size, NULL, map_flags, &err);
    if (err != SCI_ERR_OK) {
        rc = sci_to_errno(err);
        goto err_disconnect;
    }
    p = SCIGetMapPointer(imp->map);
    imp->ptr = (void *)(uintptr_t)p;
    *imp_p = imp;
    return 0;

err_disconnect:
    SCIDisconnectSegment(imp->rs, 0, &err);
err_close:
    SCIClose(imp->sd, 0, &err);
err_free:
    free(imp);
    return rc;
}

OSCI_EXPORT uint64_t osci_import_size(const struct osci_import *imp)
{
    return imp ? imp->size : 0;
}

OSCI_EXPORT int osci_import_check(struct osci_import *imp)
{
    int rc;

    if (!imp)
        return -EINVAL;
    pthread_mutex_lock(&seg.lock);
    rc = imp->rs->state == RSEG_OPERATIONAL || imp->rs->state == RSEG_NOT_OPERATIONAL ? 0 : -ECONNRESET;
    pthread_mutex_unlock(&seg.lock);
    return rc;
}

OSCI_EXPORT int osci_import_map(struct osci_import *imp, void **addr_p)
{
    if (!imp || !addr_p)
        return -EINVAL;
    if (!imp->ptr)
        return -EOPNOTSUPP;
    *addr_p = imp->ptr;
    return 0;
}

static bool import_dead(const struct osci_import *imp)
{
    return atomic_load_explicit(&imp->rs->health, memory_order_acquire) == SEG_HEALTH_DEAD;
}

OSCI_EXPORT int osci_import_copy(struct osci_import *imp, uint64_t off, void *buf, size_t len, int write)
{
    sci_error_t err;

    if (!imp || (!buf && len))
        return -EINVAL;
    if (off > imp->size || len > imp->size - off)
        return -ERANGE;
    if (write && imp->readonly)
        return -EACCES;
    /* the data path takes no lock: the health word turns DEAD before a revoke (forced disconnect, the
     * owner lost), so a copy that raced with the exporter's stop, and reached revoked pages, is caught */
    if (import_dead(imp))
        return -ECONNRESET;
    if (!len)
        return 0;
    SCIMemCpy(NULL, buf, imp->map, (size_t)off, len, write ? 0 : SCI_FLAG_BLOCK_READ, &err);
    if (import_dead(imp))
        return -ECONNRESET;
    return err == SCI_ERR_OK ? 0 : sci_to_errno(err);
}

OSCI_EXPORT int osci_import_release(struct osci_import *imp)
{
    sci_error_t err;

    if (!imp)
        return -EINVAL;
    SCIUnmapSegment(imp->map, 0, &err);
    SCIDisconnectSegment(imp->rs, 0, &err);
    SCIClose(imp->sd, 0, &err);
    free(imp);
    return 0;
}
