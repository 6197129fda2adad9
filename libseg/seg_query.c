/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* SCIQuery, SCIProbeNode, SCIGetLocalNodeId (SISCI 2.x). */
#include <string.h>

#include "seg_intr.h"

#define MOD "query"

static void set_err(sci_error_t *error, sci_error_t e)
{
    if (error)
        *error = e;
}

static sci_error_t query_string(sci_query_string_t *q, const char *s)
{
    size_t n = strlen(s) + 1;

    if (!q->str || q->length == 0)
        return SCI_ERR_ILLEGAL_PARAMETER;
    if (n > q->length)
        return SCI_ERR_OUT_OF_RANGE;
    memcpy(q->str, s, n);
    return SCI_ERR_OK;
}

static bool any_peer_up(const struct seg_adapter *a)
{
    unsigned int n;

    for (n = 1; n < SEG_MAX_NODES; n++)
        if (a->peer[n].up)
            return true;
    return false;
}

static sci_error_t query_adapter(sci_query_adapter_t *q)
{
    unsigned int *out = q->data, v;
    struct seg_adapter *a;
    sci_error_t e;

    if (!out)
        return SCI_ERR_ILLEGAL_PARAMETER;
    pthread_mutex_lock(&seg.lock);
    e = seg__api_adapter(q->localAdapterNo, &a);
    if (e == SCI_ERR_NO_SUCH_ADAPTERNO && q->subcommand == SCI_Q_ADAPTER_CONFIGURED) {
        pthread_mutex_unlock(&seg.lock);
        *out = 0;             /* a legal adapter number that is not configured */
        return SCI_ERR_OK;
    }
    if (e != SCI_ERR_OK)
        goto out_unlock;
    switch (q->subcommand) {
    case SCI_Q_ADAPTER_NODEID: v = a->info.node_id; break;
    case SCI_Q_ADAPTER_SERIAL_NUMBER: v = a->no; break;
    case SCI_Q_ADAPTER_CARD_TYPE: v = a->info.card_type; break;   /* the driver states it */
    case SCI_Q_ADAPTER_CONFIGURED: v = 1; break;
    case SCI_Q_ADAPTER_NUMBER_OF_LINKS: v = 1; break;
    case SCI_Q_ADAPTER_DMA_MTU: v = SEG_DMA_CHUNK; break;
    case SCI_Q_ADAPTER_LINK_OPERATIONAL:
    case SCI_Q_ADAPTER_LINK_ENABLED:
        if (q->portNo != 0) {
            e = SCI_ERR_ILLEGAL_PARAMETER;     /* one link per adapter: port 0 */
            goto out_unlock;
        }
        v = q->subcommand == SCI_Q_ADAPTER_LINK_ENABLED ? 1 : any_peer_up(a);
        break;
    default:
        /* MCAST_MAX_GROUPS, BDF, LINK_WIDTH/SPEED/UPTIME/DOWNTIME/CABLE_INSERTED/PARTNER_PORT_NO:
           no such property on an emulated or network fabric (docs/sisci-compat.md) */
        e = SCI_ERR_ILLEGAL_QUERY;
        goto out_unlock;
    }
    pthread_mutex_unlock(&seg.lock);
    *out = v;
    return SCI_ERR_OK;

out_unlock:
    pthread_mutex_unlock(&seg.lock);
    return e;
}

SISCI_API_EXPORT void SCIQuery(unsigned int command, void *data, unsigned int flags, sci_error_t *error)
{
    sci_error_t e;

    if (flags)
        return set_err(error, SCI_ERR_ILLEGAL_FLAG);
    if (!data)
        return set_err(error, SCI_ERR_ILLEGAL_PARAMETER);
    switch (command) {
    case SCI_Q_VENDORID:
        e = query_string(data, "OpenSCI");
        break;
    case SCI_Q_API:
        e = query_string(data, "OpenSCI SISCI 2.x compatible " OSCI_VERSION);
        break;
    case SCI_Q_ADAPTER:
        e = query_adapter(data);
        break;
    default:
        /* SYSTEM, LOCAL_SEGMENT, REMOTE_SEGMENT, MAP, DMA, DEVICE, SISCI_DRIVER_VERSION and unknown
           commands (docs/sisci-compat.md) */
        osci_log(OSCI_LOG_DEBUG, MOD, "SCIQuery: command %u not supported", command);
        e = SCI_ERR_ILLEGAL_QUERY;
        break;
    }
    set_err(error, e);
}

SISCI_API_EXPORT int SCIProbeNode(sci_desc_t sd, unsigned int localAdapterNo, unsigned int nodeId,
        unsigned int flags, sci_error_t *error)
{
    struct seg_adapter *a;
    struct seg_peer *p;
    sci_error_t e;
    int rc, up = 0;

    if (flags) {
        set_err(error, SCI_ERR_ILLEGAL_FLAG);
        return 0;
    }
    pthread_mutex_lock(&seg.lock);
    e = seg__api_adapter(localAdapterNo, &a);
    if (e != SCI_ERR_OK)
        goto out_unlock;
    if (!seg__desc_valid(sd)) {
        e = SCI_ERR_ILLEGAL_PARAMETER;
        goto out_unlock;
    }
    if (nodeId == 0 || nodeId >= SEG_MAX_NODES) {
        e = SCI_ERR_ILLEGAL_NODEID;
        goto out_unlock;
    }
    if (nodeId == a->info.node_id) {
        up = 1;
        goto out_unlock;
    }
    /* 1: reachable. 0 with OK: an id that may exist but is not up (not joined, restarting, dead);
       0 with NO_LINK_ACCESS: the link to a node seen before is down (even after its incarnation was
       declared lost: it may come back over that link); 0 with NO_SUCH_NODEID: an id
       that can never exist here (docs/sisci-compat.md, "Node ids") */
    p = &a->peer[nodeId];
    rc = osci_drv_probe(a->drv, nodeId);
    if (rc == -EOPNOTSUPP)
        rc = p->up ? 0 : p->known && !p->lost ? -ENOLINK : -EHOSTUNREACH;
    switch (rc) {
    case 0: up = 1; break;
    case -ENOLINK: e = p->known ? SCI_ERR_NO_LINK_ACCESS : SCI_ERR_OK; break;
    case -EHOSTUNREACH: break;
    case -EADDRNOTAVAIL: e = SCI_ERR_NO_SUCH_NODEID; break;
    default: e = seg__to_sci(rc); break;
    }
out_unlock:
    pthread_mutex_unlock(&seg.lock);
    set_err(error, e);
    return up;
}

SISCI_API_EXPORT void SCIGetLocalNodeId(unsigned int adapterNo, unsigned int *nodeId, unsigned int flags,
        sci_error_t *error)
{
    struct seg_adapter *a;
    sci_error_t e;
    unsigned int id = 0;

    if (flags)
        return set_err(error, SCI_ERR_ILLEGAL_FLAG);
    if (!nodeId)
        return set_err(error, SCI_ERR_ILLEGAL_PARAMETER);
    pthread_mutex_lock(&seg.lock);
    e = seg__api_adapter(adapterNo, &a);
    if (e == SCI_ERR_OK)
        id = a->info.node_id;
    pthread_mutex_unlock(&seg.lock);
    if (e == SCI_ERR_OK)
        *nodeId = id;
    set_err(error, e);
}
