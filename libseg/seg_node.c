/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Dolphin's node look-ups by name: SCIGetNodeIdByAdapterName and SCIGetNodeInfoByAdapterName.
 * A name is an address of hosts.conf (OSCI_HOSTS; docs/simntb.md), compared without case: the
 * answer is every node id listed with that address, each paired with every local adapter on which
 * that id can exist (the driver's probe does not say -EADDRNOTAVAIL).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "seg_obj.h"

#define MOD "node"

static void set_err(sci_error_t *error, sci_error_t e)
{
    if (error)
        *error = e;
}

/* Fills nodes[] (and adapters[] when per_adapter) from index 0, zeroing the rest; an sci_error_t. */
static sci_error_t lookup(const char *name, bool per_adapter, unsigned int *adapters, unsigned int *nodes,
                          unsigned int flags)
{
    struct osci_host *hosts = NULL;
    unsigned int nh = 0, n = 0;
    sci_error_t e = SCI_ERR_OK;
    int rc;

    if (flags)
        return SCI_ERR_ILLEGAL_FLAG;
    if (!name || !*name || !nodes)
        return SCI_ERR_ILLEGAL_PARAMETER;
    memset(nodes, 0, sizeof(dis_nodeId_list_t));
    if (adapters)
        memset(adapters, 0, DIS_MAX_NSCIS * sizeof(*adapters));
    pthread_mutex_lock(&seg.lock);
    rc = seg__check_init();
    pthread_mutex_unlock(&seg.lock);
    if (rc < 0)
        return SCI_ERR_NOT_INITIALIZED;
    hosts = calloc(SEG_MAX_NODES, sizeof(*hosts));
    if (!hosts)
        return SCI_ERR_NOSPC;
    rc = osci_hosts_load(hosts, SEG_MAX_NODES, &nh);
    if (rc < 0) {
        e = seg__conf_to_sci(rc);
        goto out;
    }
    pthread_mutex_lock(&seg.lock);
    if (seg__check_init() < 0)
        e = SCI_ERR_NOT_INITIALIZED;
    for (unsigned int h = 0; h < nh && e == SCI_ERR_OK; h++) {
        if (strcasecmp(hosts[h].addr, name))
            continue;
        for (unsigned int i = 0; i < OSCI_MAX_ADAPTERS; i++) {
            struct seg_adapter *a = seg__adapter(i);
            if (!a || osci_drv_probe(a->drv, hosts[h].node_id) == -EADDRNOTAVAIL)
                continue;
            if (n == DIS_MAX_NSCIS) {
                osci_log(OSCI_LOG_WARN, MOD, "\"%s\": more than %d node ids, the list keeps the first",
                         name, DIS_MAX_NSCIS);
                goto unlock;
            }
            nodes[n] = hosts[h].node_id;
            if (adapters)
                adapters[n] = i;
            n++;
            if (!per_adapter)
                break;
        }
    }
unlock:
    pthread_mutex_unlock(&seg.lock);
    if (e == SCI_ERR_OK && n == 0) {
        osci_log(OSCI_LOG_DEBUG, MOD, "\"%s\": no node of hosts.conf has this address", name);
        e = SCI_ERR_NO_SUCH_NODEID;
    }
out:
    free(hosts);
    return e;
}

SISCI_API_EXPORT void SCIGetNodeIdByAdapterName(char *adaptername, dis_nodeId_list_t *nodeId,
        dis_virt_adapter_t *type, unsigned int flags, sci_error_t *error)
{
    sci_error_t e;

    if (!nodeId || !type)
        return set_err(error, SCI_ERR_ILLEGAL_PARAMETER);
    e = lookup(adaptername, false, NULL, *nodeId, flags);
    *type = DIS_ADAPTER_TYPE_NONE;
    set_err(error, e);
}

SISCI_API_EXPORT void SCIGetNodeInfoByAdapterName(char *adaptername, unsigned int *adapterNo,
        dis_nodeId_list_t *nodeIdlist, dis_adapter_type_t *type, unsigned int flags, sci_error_t *error)
{
    sci_error_t e;

    if (!adapterNo || !nodeIdlist || !type)
        return set_err(error, SCI_ERR_ILLEGAL_PARAMETER);
    e = lookup(adaptername, true, adapterNo, *nodeIdlist, flags);
    *type = DIS_ADAPTER_TYPE_NONE;
    set_err(error, e);
}
