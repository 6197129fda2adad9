/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Driver registry: ops tables checked once and copied with stubs for the missing optional ops
 * (rdma-core's verbs_set_ops over dummy ops), the fault interposer over each copy (hook.c); built-in
 * drivers from a static table. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "hook.h"
#include "osci_drv.h"

#define REG_MAX 16

extern const struct osci_drv_ops osci_simntb_ops;
#ifdef OSCI_HAVE_RDMA
extern const struct osci_drv_ops osci_rdma_ops;
#endif
#ifdef OSCI_HAVE_PCISHM
extern const struct osci_drv_ops osci_pcishm_ops;
#endif

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static const struct osci_drv_ops *reg_src[REG_MAX];   /* the tables drivers registered */
static struct osci_drv_ops reg_inner[REG_MAX];         /* their copies with every op set */
static struct osci_drv_ops reg_tab[REG_MAX];           /* the interposer over each: what instances use */
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
        !ops->mcast_attach == !ops->mcast_detach &&
        (!ops->observe || (ops->observe->open && ops->observe->query && ops->observe->peers &&
                           ops->observe->close));
}

/* Stubs of the optional ops: not supported, or the default the wrapper documents. */
static int stub_mem_alloc(struct osci_drv *d, size_t s, struct osci_drv_mem_view *v)
{ (void)d; (void)s; (void)v; return -EOPNOTSUPP; }
static void stub_mem_free(struct osci_drv *d, struct osci_drv_mem_view *v) { (void)d; (void)v; }
static int stub_rmem_map(struct osci_drv *d, struct osci_drv_rmem *r, size_t off, size_t len, int ro,
                         void **addr_p)
{ (void)d; (void)r; (void)off; (void)len; (void)ro; (void)addr_p; return -EOPNOTSUPP; }
static int stub_rmem_unmap(struct osci_drv *d, struct osci_drv_rmem *r, void *addr, size_t len)
{ (void)d; (void)r; (void)addr; (void)len; return -EOPNOTSUPP; }
/* Without maps nothing reaches the memory but put/get, which release() stops. */
static int stub_rmem_revoke(struct osci_drv *d, struct osci_drv_rmem *r) { (void)d; (void)r; return 0; }
static int stub_db_wait(struct osci_drv *d, uint64_t mask, int timeout_ms, uint64_t *bits_p)
{ (void)d; (void)mask; (void)timeout_ms; (void)bits_p; return -EOPNOTSUPP; }
static int stub_db_poll(struct osci_drv *d, uint64_t mask, uint64_t *bits_p)
{ (void)d; (void)mask; (void)bits_p; return -EOPNOTSUPP; }
static int stub_probe(struct osci_drv *d, uint32_t node) { (void)d; (void)node; return -EOPNOTSUPP; }
static int stub_info_publish(struct osci_drv *d, const void *buf, size_t len)
{ (void)d; (void)buf; (void)len; return -EOPNOTSUPP; }
static int stub_info_read(struct osci_drv *d, uint32_t node, void *buf, size_t len, size_t *len_p)
{ (void)d; (void)node; (void)buf; (void)len; (void)len_p; return -EOPNOTSUPP; }
static int stub_inject(struct osci_drv *d, enum osci_fault f, uint32_t node, unsigned int count)
{ (void)d; (void)f; (void)node; (void)count; return -EOPNOTSUPP; }
/* A driver without flush is synchronous: its puts have landed when they return. */
static int stub_flush(struct osci_drv *d, struct osci_drv_rmem *r) { (void)d; (void)r; return 0; }
static int stub_mcast_attach(struct osci_drv *d, uint32_t group, size_t size, struct osci_drv_mem_view *v)
{ (void)d; (void)group; (void)size; (void)v; return -EOPNOTSUPP; }
static void stub_mcast_detach(struct osci_drv *d, struct osci_drv_mem_view *v) { (void)d; (void)v; }

#define FILL(t, op) do { if (!(t)->op) (t)->op = stub_##op; } while (0)

static void fill_optional(struct osci_drv_ops *t)
{
    FILL(t, mem_alloc);
    FILL(t, mem_free);
    FILL(t, rmem_map);
    FILL(t, rmem_unmap);
    FILL(t, rmem_revoke);
    FILL(t, db_wait);
    FILL(t, db_poll);
    FILL(t, probe);
    FILL(t, info_publish);
    FILL(t, info_read);
    FILL(t, inject);
    FILL(t, flush);
    FILL(t, mcast_attach);
    FILL(t, mcast_detach);
}

static int reg_add_locked(const struct osci_drv_ops *ops)
{
    for (unsigned int i = 0; i < reg_count; i++)
        if (!strcmp(reg_tab[i].name, ops->name))
            return reg_src[i] == ops ? 0 : -EEXIST;
    if (reg_count == REG_MAX)
        return -ENOSPC;
    reg_src[reg_count] = ops;
    reg_inner[reg_count] = *ops;
    fill_optional(&reg_inner[reg_count]);
    osci_hook_table(&reg_tab[reg_count], &reg_inner[reg_count]);
    reg_count++;
    return 0;
}

static void reg_builtins(void)
{
    const struct osci_drv_ops *builtin[] = {
        &osci_simntb_ops,
#ifdef OSCI_HAVE_RDMA
        &osci_rdma_ops,
#endif
#ifdef OSCI_HAVE_PCISHM
        &osci_pcishm_ops,
#endif
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

/* The index of the driver named `name`, or -1. */
static int reg_index(const char *name)
{
    int idx = -1;

    pthread_once(&reg_once, reg_builtins);
    if (!name)
        return -1;
    pthread_mutex_lock(&reg_lock);
    for (unsigned int i = 0; i < reg_count; i++)
        if (!strcmp(reg_tab[i].name, name))
            idx = (int)i;
    pthread_mutex_unlock(&reg_lock);
    return idx;
}

const struct osci_drv_ops *osci_drv_find(const char *name)
{
    int idx = reg_index(name);
    return idx < 0 ? NULL : &reg_tab[idx];
}

int osci_drv_open(const struct osci_adapter_conf *conf, struct osci_drv **drv_p)
{
    struct osci_drv_hook *hook;
    struct osci_drv *drv = NULL;
    int idx, ret;

    if (!conf || !drv_p || conf->adapter_no >= OSCI_MAX_ADAPTERS)
        return -EINVAL;
    idx = reg_index(conf->driver);
    if (idx < 0) {
#ifndef OSCI_HAVE_RDMA
        if (!strncmp(conf->driver, "rdma", sizeof(conf->driver)))
            osci_log(OSCI_LOG_ERROR, "registry", "adapter %u: this build has no rdma support (built with RDMA=no)",
                     conf->adapter_no);
#endif
#ifndef OSCI_HAVE_PCISHM
        if (!strncmp(conf->driver, "pcishm", sizeof(conf->driver)))
            osci_log(OSCI_LOG_ERROR, "registry", "adapter %u: this build has no pcishm support (built with PCISHM=no)",
                     conf->adapter_no);
#endif
        osci_log(OSCI_LOG_ERROR, "registry", "adapter %u: no driver named \"%.*s\"", conf->adapter_no,
                 (int)sizeof(conf->driver), conf->driver);
        return -ENODEV;
    }
    hook = osci_hook_new(&reg_inner[idx], conf->observe);
    if (!hook)
        return -ENOMEM;
    ret = reg_inner[idx].open(conf, &drv);
    if (ret < 0) {
        osci_hook_free(hook);
        return ret;
    }
    drv->ops = &reg_tab[idx];
    drv->adapter_no = conf->adapter_no;
    drv->hook = hook;
    *drv_p = drv;
    return 0;
}

void osci_drv_close(struct osci_drv *drv)
{
    if (drv)
        drv->ops->close(drv);
}

/* ---- observers: the driver's observe ops, or for a driver without them an instance opened with
 * conf->observe (its ops answer -EPERM where a node id is needed) ---- */

struct osci_drv_observer {
    const struct osci_drv_observe_ops *ops;
    struct osci_drv_observe *obs;     /* through ops */
    struct osci_drv *drv;             /* else an observing instance */
};

int osci_drv_observe_open(const struct osci_adapter_conf *conf, struct osci_drv_observer **obs_p)
{
    const struct osci_drv_ops *ops;
    struct osci_adapter_conf c;
    struct osci_drv_observer *o;
    int ret;

    if (!conf || !obs_p || conf->adapter_no >= OSCI_MAX_ADAPTERS)
        return -EINVAL;
    ops = osci_drv_find(conf->driver);
    if (!ops) {
        osci_log(OSCI_LOG_ERROR, "registry", "adapter %u: no driver named \"%.*s\"", conf->adapter_no,
                 (int)sizeof(conf->driver), conf->driver);
        return -ENODEV;
    }
    o = calloc(1, sizeof(*o));
    if (!o)
        return -ENOMEM;
    if (ops->observe) {
        o->ops = ops->observe;
        ret = o->ops->open(conf, &o->obs);
    } else {
        c = *conf;
        c.observe = 1;
        ret = osci_drv_open(&c, &o->drv);
    }
    if (ret < 0) {
        free(o);
        return ret;
    }
    *obs_p = o;
    return 0;
}

int osci_drv_observe_query(struct osci_drv_observer *o, struct osci_drv_info *info)
{
    return o->ops ? o->ops->query(o->obs, info) : osci_drv_query(o->drv, info);
}

int osci_drv_observe_peers(struct osci_drv_observer *o, struct osci_peer_info *out, unsigned int max,
                           unsigned int *count_p)
{
    return o->ops ? o->ops->peers(o->obs, out, max, count_p) : osci_drv_peers(o->drv, out, max, count_p);
}

int osci_drv_observe_info_read(struct osci_drv_observer *o, uint32_t node, void *buf, size_t len, size_t *len_p)
{
    if (o->ops)
        return o->ops->info_read ? o->ops->info_read(o->obs, node, buf, len, len_p) : -EOPNOTSUPP;
    return osci_drv_info_read(o->drv, node, buf, len, len_p);
}

void osci_drv_observe_close(struct osci_drv_observer *o)
{
    if (!o)
        return;
    if (o->ops)
        o->ops->close(o->obs);
    else
        osci_drv_close(o->drv);
    free(o);
}
