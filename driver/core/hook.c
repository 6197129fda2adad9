/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* The fault interposer: a table over any driver's ops table (libfabric's hook providers) that implements
 * the faults every driver shares once, with one meaning each (osci_drv_inject() in osci_drv.h):
 * DROP_DOORBELL over db_ring, CORRUPT_MSG over msg_send. The other ops are the driver's own, called
 * directly; the other faults go to the driver's inject op. Unarmed, a ring or a send costs one call and
 * one relaxed load more. */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "hook.h"

#define MOD "fault"
#define HOOK_NODES 256               /* node ids 1..255 */

struct osci_drv_hook {
    const struct osci_drv_ops *inner; /* the driver's filled table */
    int observe;
    _Atomic unsigned int drop_db[HOOK_NODES];
    _Atomic unsigned int corrupt_msg[HOOK_NODES];
};

static bool take_one(_Atomic unsigned int *counter)
{
    unsigned int v = atomic_load_explicit(counter, memory_order_relaxed);
    while (v) {
        if (atomic_compare_exchange_weak_explicit(counter, &v, v - 1, memory_order_relaxed,
                                                  memory_order_relaxed))
            return true;
    }
    return false;
}

static int hook_db_ring(struct osci_drv *d, uint32_t node, unsigned int bit)
{
    struct osci_drv_hook *h = d->hook;

    if (node < HOOK_NODES && bit < OSCI_DRV_DB_COUNT && take_one(&h->drop_db[node])) {
        osci_log(OSCI_LOG_DEBUG, MOD, "adapter %u: dropped doorbell %u to node %u", d->adapter_no, bit, node);
        return 0;
    }
    return h->inner->db_ring(d, node, bit);
}

static int hook_msg_send(struct osci_drv *d, uint32_t node, const void *msg, size_t len)
{
    struct osci_drv_hook *h = d->hook;
    uint8_t buf[OSCI_DRV_MSG_MAX];
    int ret;

    if (node >= HOOK_NODES || !msg || len == 0 || len > OSCI_DRV_MSG_MAX || !take_one(&h->corrupt_msg[node]))
        return h->inner->msg_send(d, node, msg, len);
    for (size_t i = 0; i < len; i++)
        buf[i] = ((const uint8_t *)msg)[i] ^ 0xa5;
    ret = h->inner->msg_send(d, node, buf, len);
    if (ret < 0)
        atomic_fetch_add_explicit(&h->corrupt_msg[node], 1, memory_order_relaxed);  /* not sent: still due */
    else
        osci_log(OSCI_LOG_DEBUG, MOD, "adapter %u: corrupted a message of %zu bytes to node %u", d->adapter_no,
                 len, node);
    return ret;
}

static int hook_inject(struct osci_drv *d, enum osci_fault fault, uint32_t node, unsigned int count)
{
    struct osci_drv_hook *h = d->hook;

    if (fault != OSCI_FAULT_DROP_DOORBELL && fault != OSCI_FAULT_CORRUPT_MSG)
        return h->inner->inject(d, fault, node, count);
    if (h->observe)
        return -EPERM;
    if (node == 0 || node >= HOOK_NODES)
        return -EINVAL;
    if (h->inner->probe(d, node) == -EADDRNOTAVAIL)
        return -EHOSTUNREACH;
    atomic_store_explicit(fault == OSCI_FAULT_DROP_DOORBELL ? &h->drop_db[node] : &h->corrupt_msg[node], count,
                          memory_order_relaxed);
    osci_log(OSCI_LOG_INFO, MOD, "adapter %u: the next %u %s to node %u", d->adapter_no, count,
             fault == OSCI_FAULT_DROP_DOORBELL ? "doorbells are dropped" : "messages are corrupted", node);
    return 0;
}

static void hook_close(struct osci_drv *d)
{
    struct osci_drv_hook *h = d->hook;

    h->inner->close(d);
    osci_hook_free(h);
}

void osci_hook_table(struct osci_drv_ops *out, const struct osci_drv_ops *inner)
{
    *out = *inner;
    out->db_ring = hook_db_ring;
    out->msg_send = hook_msg_send;
    out->inject = hook_inject;
    out->close = hook_close;
}

struct osci_drv_hook *osci_hook_new(const struct osci_drv_ops *inner, int observe)
{
    struct osci_drv_hook *h = calloc(1, sizeof(*h));

    if (!h)
        return NULL;
    h->inner = inner;
    h->observe = observe;
    return h;
}

void osci_hook_free(struct osci_drv_hook *h)
{
    free(h);
}
