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

/*
 * Fills nodes[] (and adapters[] when per_adapter) from index 0, zeroing the rest (also on most errors).
 * 0 or -errno; *conf_p set when the error comes from reading hosts.conf (its own mapping).
 */
static int lookup(const char *name, bool per_adapter, unsigned int *adapters, unsigned int *nodes,
                  unsigned int flags, bool *conf_p)
{
    struct osci_host *hosts = NULL;
    unsigned int nh = 0, n = 0;
    int rc;

    *conf_p = false;
    if (flags)
        return -SEG_EFLAG;
    if (!name || !*name || !nodes)
        return -EINVAL;
    memset(nodes, 0, sizeof(dis_nodeId_list_t));
    if (adapters)
        memset(adapters, 0, DIS_MAX_NSCIS * sizeof(*adapters));
    if ((rc = seg__enter(NULL, 0, flags, 0)) < 0)
        return rc;
    hosts = calloc(SEG_MAX_NODES, sizeof(*hosts));
    if (!hosts)
        return -ENOMEM;
    rc = osci_hosts_load(hosts, SEG_MAX_NODES, &nh);
    if (rc < 0) {
        *conf_p = true;
        goto out;
    }
    pthread_mutex_lock(&seg.lock);
    rc = seg__check_init();
    for (unsigned int h = 0; h < nh && rc == 0; h++) {
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
    if (rc == 0 && n == 0) {
        osci_log(OSCI_LOG_DEBUG, MOD, "\"%s\": no node of hosts.conf has this address", name);
        rc = -EHOSTUNREACH;                /* NO_SUCH_NODEID */
    }
out:
    free(hosts);
    return rc;
}

SISCI_API_EXPORT void SCIGetNodeIdByAdapterName(char *adaptername, dis_nodeId_list_t *nodeId,
        dis_virt_adapter_t *type, unsigned int flags, sci_error_t *error)
{
    bool conf;
    int rc;

    if (!nodeId || !type)
        return seg__set_error(error, -EINVAL);
    rc = lookup(adaptername, false, NULL, *nodeId, flags, &conf);
    *type = DIS_ADAPTER_TYPE_NONE;
    if (conf)
        return seg__set_conf_error(error, rc);
    seg__set_error(error, rc);
}

SISCI_API_EXPORT void SCIGetNodeInfoByAdapterName(char *adaptername, unsigned int *adapterNo,
        dis_nodeId_list_t *nodeIdlist, dis_adapter_type_t *type, unsigned int flags, sci_error_t *error)
{
    bool conf;
    int rc;

    if (!adapterNo || !nodeIdlist || !type)
        return seg__set_error(error, -EINVAL);
    rc = lookup(adaptername, true, adapterNo, *nodeIdlist, flags, &conf);
    *type = DIS_ADAPTER_TYPE_NONE;
    if (conf)
        return seg__set_conf_error(error, rc);
    seg__set_error(error, rc);
}
