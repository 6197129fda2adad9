/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* SCIQuery, SCIProbeNode, SCIGetLocalNodeId (SISCI 2.x). */
#include <string.h>

#include "seg_intr.h"

#define MOD "query"

static int query_string(sci_query_string_t *q, const char *s)
{
    size_t n = strlen(s) + 1;

    if (!q->str || q->length == 0)
        return -EINVAL;
    if (n > q->length)
        return -ERANGE;
    memcpy(q->str, s, n);
    return 0;
}

static bool any_peer_up(const struct seg_adapter *a)
{
    unsigned int n;

    for (n = 1; n < SEG_MAX_NODES; n++)
        if (seg__peer_up(&a->peer[n]))
            return true;
    return false;
}

static int query_adapter(sci_query_adapter_t *q)
{
    unsigned int *out = q->data, v;
    struct seg_adapter *a;
    int rc;

    if (!out)
        return -EINVAL;
    pthread_mutex_lock(&seg.lock);
    rc = seg__api_adapter(q->localAdapterNo, &a);
    if (rc == -ENODEV && q->subcommand == SCI_Q_ADAPTER_CONFIGURED) {
        pthread_mutex_unlock(&seg.lock);
        *out = 0;             /* a legal adapter number that is not configured */
        return 0;
    }
    if (rc < 0)
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
            rc = -EINVAL;                      /* one link per adapter: port 0 */
            goto out_unlock;
        }
        v = q->subcommand == SCI_Q_ADAPTER_LINK_ENABLED ? 1 : any_peer_up(a);
        break;
    default:
        /* MCAST_MAX_GROUPS, BDF, LINK_WIDTH/SPEED/UPTIME/DOWNTIME/CABLE_INSERTED/PARTNER_PORT_NO:
           no such property on an emulated or network fabric (docs/sisci-compat.md) */
        rc = -SEG_EQUERY;
        goto out_unlock;
    }
    pthread_mutex_unlock(&seg.lock);
    *out = v;
    return 0;

out_unlock:
    pthread_mutex_unlock(&seg.lock);
    return rc;
}

SISCI_API_EXPORT void SCIQuery(unsigned int command, void *data, unsigned int flags, sci_error_t *error)
{
    int rc;

    if (flags)
        return seg__set_error(error, -SEG_EFLAG);
    if (!data)
        return seg__set_error(error, -EINVAL);
    switch (command) {
    case SCI_Q_VENDORID:
        rc = query_string(data, "OpenSCI");
        break;
    case SCI_Q_API:
        rc = query_string(data, "OpenSCI SISCI 2.x compatible " OSCI_VERSION);
        break;
    case SCI_Q_ADAPTER:
        rc = query_adapter(data);
        break;
    default:
        /* SYSTEM, LOCAL_SEGMENT, REMOTE_SEGMENT, MAP, DMA, DEVICE, SISCI_DRIVER_VERSION and unknown
           commands (docs/sisci-compat.md) */
        osci_log(OSCI_LOG_DEBUG, MOD, "SCIQuery: command %u not supported", command);
        rc = -SEG_EQUERY;
        break;
    }
    seg__set_error(error, rc);
}

SISCI_API_EXPORT int SCIProbeNode(sci_desc_t sd, unsigned int localAdapterNo, unsigned int nodeId,
        unsigned int flags, sci_error_t *error)
{
    struct seg_adapter *a;
    struct seg_peer *p;
    int rc, up = 0;

    if ((rc = seg__enter(sd, SEG_DESC_MAGIC, flags, 0)) < 0) {
        seg__set_error(error, rc);
        return 0;
    }
    pthread_mutex_lock(&seg.lock);
    rc = seg__api_adapter(localAdapterNo, &a);
    if (rc < 0)
        goto out_unlock;
    if (nodeId == 0 || nodeId >= SEG_MAX_NODES) {
        rc = -EADDRNOTAVAIL;
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
        rc = seg__peer_up(p) ? 0 : seg__peer_known(p) && !seg__peer_lost_state(p) ? -ENOLINK : -EHOSTUNREACH;
    switch (rc) {
    case 0: up = 1; break;
    case -ENOLINK: rc = seg__peer_known(p) ? -ENOLINK : 0; break;
    case -EHOSTUNREACH: rc = 0; break;
    case -EADDRNOTAVAIL: rc = -EHOSTUNREACH; break;   /* the driver's "no such id": NO_SUCH_NODEID */
    default: break;
    }
out_unlock:
    pthread_mutex_unlock(&seg.lock);
    seg__set_error(error, rc);
    return up;
}

SISCI_API_EXPORT void SCIGetLocalNodeId(unsigned int adapterNo, unsigned int *nodeId, unsigned int flags,
        sci_error_t *error)
{
    struct seg_adapter *a;
    unsigned int id = 0;
    int rc;

    if ((rc = seg__enter(NULL, 0, flags, 0)) < 0)
        return seg__set_error(error, rc);
    if (!nodeId)
        return seg__set_error(error, -EINVAL);
    pthread_mutex_lock(&seg.lock);
    rc = seg__api_adapter(adapterNo, &a);
    if (rc == 0)
        id = a->info.node_id;
    pthread_mutex_unlock(&seg.lock);
    if (rc == 0)
        *nodeId = id;
    seg__set_error(error, rc);
}
