/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Introspection and error strings: this node's segment table published through the driver's
 * info area, the osci_info_* readers (observe mode, no SCIInitialize needed), osci_fault_inject,
 * osci_strerror and SCIGetErrorString.
 *
 * Published table: header {u32 magic "OSGI", u16 version, u16 count, u32 entry size, u32 reserved}
 * followed by `count` struct osci_seg_info entries (host byte order; readers check the entry size).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seg_obj.h"

#define INFO_MAGIC   0x4947534fu   /* "OSGI" */
#define INFO_VERSION 1
#define INFO_HDR     16
#define INFO_MAX     160           /* entries: fits the smallest info area (16 KiB) */

static void put_hdr(uint8_t *b, unsigned int count)
{
    uint32_t magic = INFO_MAGIC, esz = sizeof(struct osci_seg_info), rsv = 0;
    uint16_t ver = INFO_VERSION, cnt = (uint16_t)count;
    memcpy(b, &magic, 4);
    memcpy(b + 4, &ver, 2);
    memcpy(b + 6, &cnt, 2);
    memcpy(b + 8, &esz, 4);
    memcpy(b + 12, &rsv, 4);
}

void seg__info_publish(void)
{
    static uint8_t buf[INFO_HDR + INFO_MAX * sizeof(struct osci_seg_info)];

    for (unsigned int i = 0; i < OSCI_MAX_ADAPTERS; i++) {
        struct seg_adapter *a = &seg.adapter[i];
        struct osci_seg_info *e = (struct osci_seg_info *)(buf + INFO_HDR);
        struct sci_local_segment *ls;
        struct sci_remote_segment *rs;
        struct seg_conn *c;
        unsigned int n = 0;

        if (!a->drv || !a->drv->ops->info_publish)
            continue;
        osci_list_for_each(ls, &segx.lsegs, link) {
            if (n >= INFO_MAX)
                break;
            memset(&e[n], 0, sizeof(e[n]));
            e[n].kind = OSCI_SEG_LOCAL;
            e[n].segment_id = ls->id;
            e[n].node_id = a->drv->node_id;
            e[n].adapter_no = i;
            e[n].size = ls->size;
            snprintf(e[n].state, sizeof(e[n].state), "%s%s", lseg_state_str(ls->state[i]),
                     (ls->flags & SCI_FLAG_PRIVATE) ? " PRIVATE" : "");
            osci_list_for_each(c, &ls->conns, link)
                if (c->adapter == i && e[n].n_conn < OSCI_SEG_INFO_MAX_CONN)
                    e[n].conn_node[e[n].n_conn++] = c->node;
            n++;
        }
        osci_list_for_each(rs, &segx.rsegs, link) {
            if (n >= INFO_MAX)
                break;
            if (rs->adapter != i || rs->state == RSEG_CONNECTING)
                continue;
            memset(&e[n], 0, sizeof(e[n]));
            e[n].kind = OSCI_SEG_REMOTE;
            e[n].segment_id = rs->seg_id;
            e[n].node_id = rs->node;
            e[n].adapter_no = i;
            e[n].size = rs->size;
            snprintf(e[n].state, sizeof(e[n].state), "%s", rseg_state_str(rs->state));
            n++;
        }
        put_hdr(buf, n);
        int rc = a->drv->ops->info_publish(a->drv, buf, INFO_HDR + n * sizeof(struct osci_seg_info));
        if (rc < 0)
            osci_log(OSCI_LOG_INFO, "info", "adapter %u: publish: %s", i, osci_strerror(rc));
    }
}

/* Opens adapter `no` for observation (or finds it open in this process); *opened says which. */
static int observe_open(unsigned int no, struct osci_drv **drv_p, bool *opened)
{
    struct osci_adapter_conf conf[OSCI_MAX_ADAPTERS];
    unsigned int n = 0;
    int rc;

    pthread_mutex_lock(&seg.lock);
    if (seg.initialized && no < OSCI_MAX_ADAPTERS && seg.adapter[no].drv) {
        *drv_p = seg.adapter[no].drv;
        *opened = false;
        return 0;              /* lock stays held until observe_close */
    }
    pthread_mutex_unlock(&seg.lock);
    osci_log_init();
    rc = osci_conf_load(conf, OSCI_MAX_ADAPTERS, &n);
    if (rc < 0)
        return rc;
    for (unsigned int i = 0; i < n; i++) {
        if (conf[i].adapter_no != no)
            continue;
        conf[i].observe = 1;
        rc = osci_drv_open(&conf[i], drv_p);
        if (rc == 0)
            *opened = true;
        return rc;
    }
    return -ENODEV;
}

static void observe_close(struct osci_drv *drv, bool opened)
{
    if (opened)
        osci_drv_close(drv);
    else
        pthread_mutex_unlock(&seg.lock);
}

OSCI_EXPORT int osci_info_adapters(struct osci_adapter_info *out, unsigned int max, unsigned int *count_p)
{
    struct osci_adapter_conf conf[OSCI_MAX_ADAPTERS];
    unsigned int n = 0, k = 0;
    int rc;

    if ((!out && max) || !count_p)
        return -EINVAL;
    osci_log_init();
    rc = osci_conf_load(conf, OSCI_MAX_ADAPTERS, &n);
    if (rc < 0)
        return rc;
    for (unsigned int i = 0; i < n && k < max; i++) {
        struct osci_drv *drv;
        struct osci_drv_info info;
        bool opened;

        memset(&out[k], 0, sizeof(out[k]));
        out[k].adapter_no = conf[i].adapter_no;
        snprintf(out[k].driver, sizeof(out[k].driver), "%s", conf[i].driver);
        if (observe_open(conf[i].adapter_no, &drv, &opened) == 0) {
            if (drv->ops->query(drv, &info) == 0) {
                snprintf(out[k].name, sizeof(out[k].name), "%s", info.name);
                out[k].node_id = opened ? 0 : info.node_id;
                out[k].max_nodes = info.max_nodes;
                out[k].max_segment_size = info.max_mem_size;
                out[k].n_doorbells = info.n_doorbells;
                out[k].can_map_remote = (info.caps & OSCI_DRV_CAP_MAP_REMOTE) != 0;
            }
            observe_close(drv, opened);
        }
        k++;
    }
    *count_p = k;
    return 0;
}

OSCI_EXPORT int osci_info_peers(unsigned int adapter, struct osci_peer_info *out, unsigned int max,
                                unsigned int *count_p)
{
    struct osci_drv *drv;
    bool opened;
    int rc;

    if ((!out && max) || !count_p)
        return -EINVAL;
    rc = observe_open(adapter, &drv, &opened);
    if (rc < 0)
        return rc;
    rc = drv->ops->peers(drv, out, max, count_p);
    observe_close(drv, opened);
    return rc;
}

OSCI_EXPORT int osci_info_segments(unsigned int adapter, uint32_t node, struct osci_seg_info *out,
                                   unsigned int max, unsigned int *count_p)
{
    static const size_t cap = INFO_HDR + INFO_MAX * sizeof(struct osci_seg_info);
    struct osci_drv *drv;
    uint8_t *buf;
    size_t len = 0;
    uint32_t magic, esz;
    uint16_t ver, cnt;
    bool opened;
    int rc;

    if ((!out && max) || !count_p)
        return -EINVAL;
    buf = malloc(16384);
    if (!buf)
        return -ENOMEM;
    rc = observe_open(adapter, &drv, &opened);
    if (rc < 0)
        goto out_free;
    rc = osci_drv_info_read(drv, node, buf, 16384, &len);
    observe_close(drv, opened);
    if (rc < 0)
        goto out_free;
    if (len == 0) {
        *count_p = 0;
        goto out_free;
    }
    rc = -EBADMSG;
    if (len < INFO_HDR || len > cap)
        goto out_free;
    memcpy(&magic, buf, 4);
    memcpy(&ver, buf + 4, 2);
    memcpy(&cnt, buf + 6, 2);
    memcpy(&esz, buf + 8, 4);
    if (magic != INFO_MAGIC)
        goto out_free;
    if (ver != INFO_VERSION || esz != sizeof(struct osci_seg_info)) {
        rc = -EPROTO;
        goto out_free;
    }
    if (cnt > INFO_MAX || len != INFO_HDR + (size_t)cnt * esz)
        goto out_free;
    rc = 0;
    *count_p = 0;
    for (unsigned int i = 0; i < cnt && i < max; i++) {
        memcpy(&out[i], buf + INFO_HDR + (size_t)i * esz, esz);
        out[i].state[sizeof(out[i].state) - 1] = 0;
        if (out[i].n_conn > OSCI_SEG_INFO_MAX_CONN)
            out[i].n_conn = OSCI_SEG_INFO_MAX_CONN;
        *count_p = i + 1;
    }
out_free:
    free(buf);
    return rc;
}

OSCI_EXPORT int osci_fault_inject(unsigned int adapter, enum osci_fault fault, unsigned int node,
                                  unsigned int count)
{
    int rc;
    pthread_mutex_lock(&seg.lock);
    if (!seg.initialized)
        rc = -SEG_ENOTINIT;
    else if (adapter >= OSCI_MAX_ADAPTERS || !seg.adapter[adapter].drv)
        rc = -ENODEV;
    else
        rc = osci_drv_inject(seg.adapter[adapter].drv, fault, node, count);
    pthread_mutex_unlock(&seg.lock);
    return rc;
}

/* ---------------------------------------------------------------- strings */

#define OSCI_ERRNO_MAP(X) \
    X(EPERM, "operation not permitted in this state") \
    X(ENOENT, "no such object") \
    X(EIO, "I/O error: the transfer failed") \
    X(ENXIO, "segment not prepared") \
    X(E2BIG, "too many entries") \
    X(EAGAIN, "resource temporarily unavailable") \
    X(ENOMEM, "out of memory") \
    X(EACCES, "access denied") \
    X(EFAULT, "bad address") \
    X(EBUSY, "busy: still in use") \
    X(EEXIST, "already exists") \
    X(EXDEV, "memory is not in this device's window") \
    X(ENODEV, "no such adapter or device") \
    X(EINVAL, "invalid argument") \
    X(ENOSPC, "no space left") \
    X(ESPIPE, "offset alignment") \
    X(ERANGE, "out of range") \
    X(ENOTTY, "illegal query") \
    X(EMSGSIZE, "size alignment / message too long") \
    X(ENOLINK, "link is down") \
    X(EPROTO, "protocol error or illegal state transition") \
    X(EBADMSG, "malformed message") \
    X(EOVERFLOW, "value too large") \
    X(EBADRQC, "illegal flag") \
    X(ECHRNG, "illegal adapter number") \
    X(EOPNOTSUPP, "not supported") \
    X(EADDRINUSE, "number already in use") \
    X(EADDRNOTAVAIL, "illegal node id") \
    X(ENOTCONN, "not connected") \
    X(ESHUTDOWN, "library not initialised") \
    X(ETIMEDOUT, "timed out") \
    X(ECONNREFUSED, "connection refused") \
    X(ECONNRESET, "connection reset by peer") \
    X(EHOSTDOWN, "node is not responding") \
    X(EHOSTUNREACH, "no such node") \
    X(ESTALE, "connection is gone") \
    X(ECANCELED, "cancelled") \
    X(EPROTONOSUPPORT, "inconsistent protocol versions") \
    X(EDEADLK, "would deadlock") \
    X(EISDIR, "is a directory") \
    X(EFBIG, "file too large")

OSCI_EXPORT const char *osci_strerror(int err)
{
    if (err == 0)
        return "success";
#define X(code, text) if (err == -(code)) return text;
    OSCI_ERRNO_MAP(X)
#undef X
    return "unknown error";
}

SISCI_API_EXPORT const char *SCIGetErrorString(sci_error_t error)
{
    switch (error) {
    case SCI_ERR_OK: return "OK";
    case SCI_ERR_BUSY: return "Busy: the resource is still in use";
    case SCI_ERR_FLAG_NOT_IMPLEMENTED: return "Flag not implemented";
    case SCI_ERR_ILLEGAL_FLAG: return "Illegal flag";
    case SCI_ERR_NOSPC: return "No space: out of resources";
    case SCI_ERR_API_NOSPC: return "No space in the API";
    case SCI_ERR_HW_NOSPC: return "No space in the hardware";
    case SCI_ERR_NOT_IMPLEMENTED: return "Not implemented";
    case SCI_ERR_ILLEGAL_ADAPTERNO: return "Illegal adapter number";
    case SCI_ERR_NO_SUCH_ADAPTERNO: return "No such adapter number";
    case SCI_ERR_TIMEOUT: return "Timed out";
    case SCI_ERR_OUT_OF_RANGE: return "Out of range";
    case SCI_ERR_NO_SUCH_SEGMENT: return "No such segment (or interrupt number)";
    case SCI_ERR_ILLEGAL_NODEID: return "Illegal node id";
    case SCI_ERR_CONNECTION_REFUSED: return "Connection refused";
    case SCI_ERR_SEGMENT_NOT_CONNECTED: return "Segment not connected";
    case SCI_ERR_SIZE_ALIGNMENT: return "Size alignment (or zero size)";
    case SCI_ERR_OFFSET_ALIGNMENT: return "Offset alignment";
    case SCI_ERR_ILLEGAL_PARAMETER: return "Illegal parameter";
    case SCI_ERR_MAX_ENTRIES: return "Maximum number of entries exceeded";
    case SCI_ERR_SEGMENT_NOT_PREPARED: return "Segment not prepared";
    case SCI_ERR_ILLEGAL_ADDRESS: return "Illegal address";
    case SCI_ERR_ILLEGAL_OPERATION: return "Illegal operation";
    case SCI_ERR_ILLEGAL_QUERY: return "Illegal query";
    case SCI_ERR_SEGMENTID_USED: return "Segment id already used";
    case SCI_ERR_SYSTEM: return "System error";
    case SCI_ERR_CANCELLED: return "Cancelled";
    case SCI_ERR_NOT_CONNECTED: return "Not connected";
    case SCI_ERR_NOT_AVAILABLE: return "Not available";
    case SCI_ERR_INCONSISTENT_VERSIONS: return "Inconsistent versions";
    case SCI_ERR_COND_INT_RACE_PROBLEM: return "Conditional interrupt race";
    case SCI_ERR_OVERFLOW: return "Overflow";
    case SCI_ERR_NOT_INITIALIZED: return "Not initialized: call SCIInitialize first";
    case SCI_ERR_ACCESS: return "Access denied";
    case SCI_ERR_NOT_SUPPORTED: return "Not supported by OpenSCI or this driver";
    case SCI_ERR_DEPRECATED: return "Deprecated";
    case SCI_ERR_DMA_NOT_AVAILABLE: return "DMA not available";
    case SCI_ERR_DMA_DISABLED: return "DMA disabled";
    case SCI_ERR_EWOULD_BLOCK: return "Would block";
    case SCI_ERR_SEMAPHORE_COUNT_EXCEEDED: return "Semaphore count exceeded";
    case SCI_ERR_IRQL_ILLEGAL: return "Illegal IRQ level";
    case SCI_ERR_REMOTE_BUSY: return "Remote busy";
    case SCI_ERR_LOCAL_BUSY: return "Local busy";
    case SCI_ERR_ALL_BUSY: return "All busy";
    case SCI_ERR_NO_SUCH_FDID: return "No such fabric device id";
    case SCI_ERR_INTNO_USED: return "Interrupt number already used";
    case SCI_ERR_NO_SUCH_NODEID: return "No such node id";
    case SCI_ERR_NODE_NOT_RESPONDING: return "Node not responding";
    case SCI_ERR_NO_REMOTE_LINK_ACCESS: return "No remote link access";
    case SCI_ERR_NO_LINK_ACCESS: return "No link access: the link is down";
    case SCI_ERR_TRANSFER_FAILED: return "Transfer failed";
    }
    return "Unknown SISCI error";
}
