/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Driver registry: ops tables checked once, built-in drivers from a static table. */
#include <pthread.h>
#include <string.h>

#include "osci_drv.h"

#define REG_MAX 16

extern const struct osci_drv_ops osci_simntb_ops;
extern const struct osci_drv_ops osci_rdma_ops;

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static const struct osci_drv_ops *reg_tab[REG_MAX];
static unsigned int reg_count;
static pthread_once_t reg_once = PTHREAD_ONCE_INIT;

/* Required members, and optional ones that only make sense in pairs (ntb_dev_ops_is_valid). */
static int drv_ops_is_valid(const struct osci_drv_ops *ops)
{
    return ops->size == sizeof(struct osci_drv_ops) &&
        ops->name && ops->name[0] && strlen(ops->name) < OSCI_NAME_MAX &&
        ops->open && ops->close && ops->query && ops->event_fd && ops->arm && ops->progress &&
        ops->peers && ops->msg_send && ops->db_ring && ops->db_set_event_mask &&
        ops->mem_export && ops->mem_unexport && ops->mem_pack &&
        ops->rmem_import && ops->rmem_release && ops->put && ops->get &&
        !ops->mem_alloc == !ops->mem_free &&
        !ops->rmem_map == !ops->rmem_unmap &&
        (!ops->rmem_revoke || ops->rmem_map) &&
        (!ops->db_wait || ops->db_poll) &&
        !ops->info_publish == !ops->info_read &&
        !ops->mcast_attach == !ops->mcast_detach;
}

static int reg_add_locked(const struct osci_drv_ops *ops)
{
    for (unsigned int i = 0; i < reg_count; i++)
        if (!strcmp(reg_tab[i]->name, ops->name))
            return reg_tab[i] == ops ? 0 : -EEXIST;
    if (reg_count == REG_MAX)
        return -ENOSPC;
    reg_tab[reg_count++] = ops;
    return 0;
}

static void reg_builtins(void)
{
    const struct osci_drv_ops *builtin[] = {
        &osci_simntb_ops,
        &osci_rdma_ops,
    };
    osci_log_init();
    pthread_mutex_lock(&reg_lock);
    for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++) {
        if (!drv_ops_is_valid(builtin[i]) || reg_add_locked(builtin[i]) < 0)
            osci_log(OSCI_LOG_ERROR, "registry", "built-in driver %zu has an invalid ops table", i);
    }
    pthread_mutex_unlock(&reg_lock);
}

int osci_drv_register(const struct osci_drv_ops *ops)
{
    int ret;

    pthread_once(&reg_once, reg_builtins);
    if (!ops || !drv_ops_is_valid(ops)) {
        osci_log(OSCI_LOG_ERROR, "registry", "rejecting driver %s: invalid ops table",
                 ops && ops->size == sizeof(*ops) && ops->name ? ops->name : "(unnamed)");
        return -EINVAL;
    }
    pthread_mutex_lock(&reg_lock);
    ret = reg_add_locked(ops);
    pthread_mutex_unlock(&reg_lock);
    if (ret < 0)
        osci_log(OSCI_LOG_ERROR, "registry", "cannot register driver %s: %s", ops->name, strerror(-ret));
    return ret;
}

const struct osci_drv_ops *osci_drv_find(const char *name)
{
    const struct osci_drv_ops *ops = NULL;

    pthread_once(&reg_once, reg_builtins);
    if (!name)
        return NULL;
    pthread_mutex_lock(&reg_lock);
    for (unsigned int i = 0; i < reg_count; i++)
        if (!strcmp(reg_tab[i]->name, name))
            ops = reg_tab[i];
    pthread_mutex_unlock(&reg_lock);
    return ops;
}

int osci_drv_open(const struct osci_adapter_conf *conf, struct osci_drv **drv_p)
{
    const struct osci_drv_ops *ops;
    struct osci_drv *drv = NULL;
    int ret;

    if (!conf || !drv_p || conf->adapter_no >= OSCI_MAX_ADAPTERS)
        return -EINVAL;
    ops = osci_drv_find(conf->driver);
    if (!ops) {
        osci_log(OSCI_LOG_ERROR, "registry", "adapter %u: no driver named \"%.*s\"", conf->adapter_no,
                 (int)sizeof(conf->driver), conf->driver);
        return -ENODEV;
    }
    ret = ops->open(conf, &drv);
    if (ret < 0)
        return ret;
    drv->ops = ops;
    drv->adapter_no = conf->adapter_no;
    *drv_p = drv;
    return 0;
}

void osci_drv_close(struct osci_drv *drv)
{
    if (drv)
        drv->ops->close(drv);
}
