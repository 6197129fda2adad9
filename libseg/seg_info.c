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

        if (!a->drv || !(a->info.caps & OSCI_DRV_CAP_INFO))
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
        int rc = osci_drv_info_publish(a->drv, buf, INFO_HDR + n * sizeof(struct osci_seg_info));
        if (rc < 0)
            osci_log(OSCI_LOG_INFO, "info", "adapter %u: publish: %s", i, osci_strerror(rc));
    }
}

/* An adapter under observation: open in this process (drv, seg.lock held until observe_close), or
 * observed from outside through the driver's observe ops (obs). */
struct observed {
    struct osci_drv *drv;
    struct osci_drv_observer *obs;
};

/* Opens adapter `no` for observation (or finds it open in this process). */
static int observe_open(unsigned int no, struct observed *o)
{
    struct osci_adapter_conf conf[OSCI_MAX_ADAPTERS];
    unsigned int n = 0;
    int rc;

    o->drv = NULL;
    o->obs = NULL;
    pthread_mutex_lock(&seg.lock);
    if (seg.initialized && no < OSCI_MAX_ADAPTERS && seg.adapter[no].drv) {
        o->drv = seg.adapter[no].drv;
        return 0;              /* lock stays held until observe_close */
    }
    pthread_mutex_unlock(&seg.lock);
    osci_log_init();
    rc = osci_conf_load(conf, OSCI_MAX_ADAPTERS, &n);
    if (rc < 0)
        return rc;
    for (unsigned int i = 0; i < n; i++)
        if (conf[i].adapter_no == no)
            return osci_drv_observe_open(&conf[i], &o->obs);
    return -ENODEV;
}

static int observed_query(struct observed *o, struct osci_drv_info *info)
{
    return o->drv ? osci_drv_query(o->drv, info) : osci_drv_observe_query(o->obs, info);
}

static void observe_close(struct observed *o)
{
    if (o->obs)
        osci_drv_observe_close(o->obs);
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
        struct observed ob;
        struct osci_drv_info info;

        memset(&out[k], 0, sizeof(out[k]));
        out[k].adapter_no = conf[i].adapter_no;
        snprintf(out[k].driver, sizeof(out[k].driver), "%s", conf[i].driver);
        if (observe_open(conf[i].adapter_no, &ob) == 0) {
            if (observed_query(&ob, &info) == 0) {
                snprintf(out[k].name, sizeof(out[k].name), "%s", info.name);
                out[k].node_id = ob.obs ? 0 : info.node_id;
                out[k].max_nodes = info.max_nodes;
                out[k].max_segment_size = info.max_mem_size;
                out[k].n_doorbells = info.n_doorbells;
                out[k].can_map_remote = (info.caps & OSCI_DRV_CAP_MAP_REMOTE) != 0;
            }
            observe_close(&ob);
        }
        k++;
    }
    *count_p = k;
    return 0;
}

OSCI_EXPORT int osci_info_peers(unsigned int adapter, struct osci_peer_info *out, unsigned int max,
                                unsigned int *count_p)
{
    struct observed ob;
    int rc;

    if ((!out && max) || !count_p)
        return -EINVAL;
    rc = observe_open(adapter, &ob);
    if (rc < 0)
        return rc;
    rc = ob.drv ? osci_drv_peers(ob.drv, out, max, count_p) : osci_drv_observe_peers(ob.obs, out, max, count_p);
    observe_close(&ob);
    return rc;
}

OSCI_EXPORT int osci_info_segments(unsigned int adapter, uint32_t node, struct osci_seg_info *out,
                                   unsigned int max, unsigned int *count_p)
{
    static const size_t cap = INFO_HDR + INFO_MAX * sizeof(struct osci_seg_info);
    struct observed ob;
    uint8_t *buf;
    size_t len = 0;
    uint32_t magic, esz;
    uint16_t ver, cnt;
    int rc;

    if ((!out && max) || !count_p)
        return -EINVAL;
    buf = malloc(16384);
    if (!buf)
        return -ENOMEM;
    rc = observe_open(adapter, &ob);
    if (rc < 0)
        goto out_free;
    rc = ob.drv ? osci_drv_info_read(ob.drv, node, buf, 16384, &len)
                : osci_drv_observe_info_read(ob.obs, node, buf, 16384, &len);
    observe_close(&ob);
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

/* The entry check of the osci_* adapter calls, seg.lock held: 0, -SEG_ENOTINIT or -ENODEV. */
static int info_adapter(unsigned int adapter)
{
    if (!seg.initialized)
        return -SEG_ENOTINIT;
    return adapter < OSCI_MAX_ADAPTERS && seg.adapter[adapter].drv ? 0 : -ENODEV;
}

OSCI_EXPORT int osci_adapter_caps(unsigned int adapter, uint32_t *caps_p)
{
    int rc;

    if (!caps_p)
        return -EINVAL;
    pthread_mutex_lock(&seg.lock);
    rc = info_adapter(adapter);
    if (rc == 0)
        *caps_p = (seg.adapter[adapter].info.caps & OSCI_DRV_CAP_FULL_VIEW) ? OSCI_ADAPTER_FULL_VIEW : 0;
    pthread_mutex_unlock(&seg.lock);
    return rc;
}

OSCI_EXPORT int osci_fault_inject(unsigned int adapter, enum osci_fault fault, unsigned int node,
                                  unsigned int count)
{
    int rc;
    pthread_mutex_lock(&seg.lock);
    rc = info_adapter(adapter);
    if (rc == 0)
        rc = osci_drv_inject(seg.adapter[adapter].drv, fault, node, count);
    pthread_mutex_unlock(&seg.lock);
    return rc;
}

/* ---------------------------------------------------------------- strings */

OSCI_EXPORT const char *osci_strerror(int err)
{
    if (err == 0)
        return "success";
    switch (err) {
#define X(code, sci, nv, text) case -(code): return (text) ? (text) : "unknown error";
    OSCI_ERRNO_LIST(X)
#undef X
    default: return "unknown error";
    }
}

SISCI_API_EXPORT const char *SCIGetErrorString(sci_error_t error)
{
    switch (error) {
#define X(code, text) case code: return text;
    OSCI_SCI_ERROR_LIST(X)
#undef X
    }
    return "Unknown SISCI error";
}
