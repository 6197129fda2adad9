/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The fabric-driver contract (ARCHITECTURE §3): one ops table per driver, reached only
 * through the osci_drv_* wrappers below. Every call returns 0 or a negative errno.
 * Drivers own no threads: upward events are pulled with progress() when the event fd
 * polls readable (after arm()), or by spinning on progress().
 */
#ifndef OSCI_DRV_H
#define OSCI_DRV_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "opensci/osci.h"
#include "osci_log.h"

#define OSCI_DRV_MSG_MAX      240   /* largest control message payload */
#define OSCI_DRV_XPORT_MAX    64    /* largest packed transport description of exported memory */
#define OSCI_DRV_DB_COUNT     64    /* doorbell bits per node */
#define OSCI_MAX_ADAPTERS     8

struct osci_drv;
struct osci_drv_mem;     /* local memory exported through the adapter */
struct osci_drv_rmem;    /* imported remote memory */

/* Options of one configured adapter (opensci.conf, environment). */
struct osci_adapter_conf {
    unsigned int adapter_no;
    char driver[OSCI_NAME_MAX];
    uint32_t node_id;                  /* 0: driver picks a free one */
    int observe;                       /* 1: attach read-only, take no node id (tools) */
    unsigned int n_opts;
    struct { char key[32]; char value[128]; } opts[16];   /* driver options, key=value */
};

struct osci_drv_info {
    char name[64];                     /* fabric / device name */
    uint32_t node_id;
    uint32_t max_nodes;
    uint64_t max_mem_size;             /* largest single export */
    uint64_t mem_align;                /* alignment of exported memory and map offsets */
    uint32_t n_doorbells;              /* usable doorbell bits (<= OSCI_DRV_DB_COUNT) */
    uint32_t caps;                     /* OSCI_DRV_CAP_* */
};
#define OSCI_DRV_CAP_MAP_REMOTE  0x1   /* rmem_map gives CPU load/store access */
#define OSCI_DRV_CAP_PUT_GET     0x2
#define OSCI_DRV_CAP_MEM_ALLOC   0x4   /* mem_alloc gives exportable memory (window devices) */
#define OSCI_DRV_CAP_DB_WAIT     0x8   /* db_wait blocks without the event fd */

enum osci_drv_event_type {
    OSCI_DRV_EV_LINK_UP = 1,           /* peer reachable; epoch identifies its incarnation */
    OSCI_DRV_EV_LINK_DOWN,             /* transient: the peer may come back with the same epoch */
    OSCI_DRV_EV_PEER_DEAD,             /* the peer incarnation `epoch` is gone for good */
    OSCI_DRV_EV_MSG,                   /* control message from `node` */
    OSCI_DRV_EV_DOORBELL,              /* doorbell bits (only bits in the event mask) */
};

struct osci_drv_event {
    enum osci_drv_event_type type;
    uint32_t node;
    uint64_t epoch;                    /* LINK_UP, LINK_DOWN, PEER_DEAD */
    uint64_t db_bits;                  /* DOORBELL */
    uint32_t len;                      /* MSG */
    uint8_t msg[OSCI_DRV_MSG_MAX];     /* MSG */
};

/* A view of exported local memory: where it is, and an fd a second view can be mmapped from. */
struct osci_drv_mem_view {
    void *addr;
    size_t size;
    int fd;                            /* -1 when there is none */
    off_t fd_offset;
};

struct osci_drv_ops {
    size_t size;                       /* sizeof(struct osci_drv_ops): ABI guard */
    const char *name;

    /* required */
    int (*open)(const struct osci_adapter_conf *conf, struct osci_drv **drv_p);
    void (*close)(struct osci_drv *drv);
    int (*query)(struct osci_drv *drv, struct osci_drv_info *info);
    int (*event_fd)(struct osci_drv *drv);
    int (*arm)(struct osci_drv *drv);                   /* -EAGAIN: events pending, do not sleep */
    int (*progress)(struct osci_drv *drv, struct osci_drv_event *ev, unsigned int max); /* >= 0: count */
    int (*peers)(struct osci_drv *drv, struct osci_peer_info *out, unsigned int max, unsigned int *count_p);
    int (*msg_send)(struct osci_drv *drv, uint32_t node, const void *msg, size_t len);
    int (*db_ring)(struct osci_drv *drv, uint32_t node, unsigned int bit);
    int (*db_set_event_mask)(struct osci_drv *drv, uint64_t mask);  /* bits reported by progress() */
    int (*mem_export)(struct osci_drv *drv, void *addr, size_t size, struct osci_drv_mem **mem_p);
    void (*mem_unexport)(struct osci_drv *drv, struct osci_drv_mem *mem);
    int (*mem_pack)(struct osci_drv *drv, struct osci_drv_mem *mem, void *buf, size_t *len_p);
    int (*rmem_import)(struct osci_drv *drv, uint32_t node, const void *buf, size_t len,
                       struct osci_drv_rmem **rmem_p);
    void (*rmem_release)(struct osci_drv *drv, struct osci_drv_rmem *rmem);
    /* put takes the data (src may be reused at return); the data has reached remote memory when put
     * returns, or, for a driver with flush, after flush. A put may report the failure of an earlier one
     * on the same rmem. get returns when dst holds the data, and sees every earlier put to that rmem. */
    int (*put)(struct osci_drv *drv, struct osci_drv_rmem *rmem, size_t roff, const void *src, size_t len);
    int (*get)(struct osci_drv *drv, struct osci_drv_rmem *rmem, size_t roff, void *dst, size_t len);

    /* optional (NULL: the wrapper returns -EOPNOTSUPP or a documented default) */
    int (*mem_alloc)(struct osci_drv *drv, size_t size, struct osci_drv_mem_view *view);
    void (*mem_free)(struct osci_drv *drv, struct osci_drv_mem_view *view);
    int (*rmem_map)(struct osci_drv *drv, struct osci_drv_rmem *rmem, size_t off, size_t len, int readonly,
                    void **addr_p);
    int (*rmem_unmap)(struct osci_drv *drv, struct osci_drv_rmem *rmem, void *addr, size_t len);
    int (*rmem_revoke)(struct osci_drv *drv, struct osci_drv_rmem *rmem);  /* maps stop reaching it */
    int (*db_wait)(struct osci_drv *drv, uint64_t mask, int timeout_ms, uint64_t *bits_p); /* take bits */
    int (*db_poll)(struct osci_drv *drv, uint64_t mask, uint64_t *bits_p);  /* take bits, never block */
    /* 0 reachable; -EHOSTUNREACH a node id that may exist but is not there now (not joined, dead);
     * -ENOLINK the link to it is down; -EADDRNOTAVAIL an id that can never exist here (outside the
     * driver's range or its configured node list) */
    int (*probe)(struct osci_drv *drv, uint32_t node);
    int (*info_publish)(struct osci_drv *drv, const void *buf, size_t len);
    int (*info_read)(struct osci_drv *drv, uint32_t node, void *buf, size_t len, size_t *len_p);
    int (*inject)(struct osci_drv *drv, enum osci_fault fault, uint32_t node, unsigned int count);
    /* Waits until every put issued so far on rmem (NULL: on every rmem) has reached remote memory;
     * returns the first error of any of them (-EIO, -ECONNRESET, -ENOTCONN), reported once. */
    int (*flush)(struct osci_drv *drv, struct osci_drv_rmem *rmem);
    /* Multicast window (SCI_FLAG_BROADCAST): one memory of `size` bytes per group id that every node
     * attaching it shares, so a store through any view reaches every member at once. The first attach
     * creates it zeroed; a size other than the existing one is -EINVAL. detach drops one attach; the
     * memory goes with the last live attach (docs/simntb.md). */
    int (*mcast_attach)(struct osci_drv *drv, uint32_t group, size_t size, struct osci_drv_mem_view *view);
    void (*mcast_detach)(struct osci_drv *drv, struct osci_drv_mem_view *view);
};

/* Every driver instance starts with this (container_of from the driver's own struct). */
struct osci_drv {
    const struct osci_drv_ops *ops;
    unsigned int adapter_no;
    uint32_t node_id;
};

/* Seqlock fences. TSan does not model fences (and GCC refuses them under it): there they are compiler
 * barriers only, and no seqlock reader runs under TSan. */
#ifdef __SANITIZE_THREAD__
#define osci_fence_acquire() __atomic_signal_fence(__ATOMIC_ACQUIRE)
#define osci_fence_release() __atomic_signal_fence(__ATOMIC_RELEASE)
#else
#define osci_fence_acquire() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define osci_fence_release() __atomic_thread_fence(__ATOMIC_RELEASE)
#endif

/* Registry (driver/registry.c). */
int osci_drv_register(const struct osci_drv_ops *ops);      /* -EINVAL for an invalid table */
const struct osci_drv_ops *osci_drv_find(const char *name);
int osci_drv_open(const struct osci_adapter_conf *conf, struct osci_drv **drv_p);
void osci_drv_close(struct osci_drv *drv);

static inline int osci_drv_mem_alloc(struct osci_drv *d, size_t size, struct osci_drv_mem_view *v)
{ return d->ops->mem_alloc ? d->ops->mem_alloc(d, size, v) : -EOPNOTSUPP; }
static inline void osci_drv_mem_free(struct osci_drv *d, struct osci_drv_mem_view *v)
{ if (d->ops->mem_free) d->ops->mem_free(d, v); }
static inline int osci_drv_rmem_map(struct osci_drv *d, struct osci_drv_rmem *r, size_t off, size_t len,
                                    int ro, void **addr_p)
{ return d->ops->rmem_map ? d->ops->rmem_map(d, r, off, len, ro, addr_p) : -EOPNOTSUPP; }
static inline int osci_drv_rmem_unmap(struct osci_drv *d, struct osci_drv_rmem *r, void *addr, size_t len)
{ return d->ops->rmem_unmap ? d->ops->rmem_unmap(d, r, addr, len) : -EOPNOTSUPP; }
static inline int osci_drv_rmem_revoke(struct osci_drv *d, struct osci_drv_rmem *r)
{ return d->ops->rmem_revoke ? d->ops->rmem_revoke(d, r) : 0; }
static inline int osci_drv_db_wait(struct osci_drv *d, uint64_t mask, int timeout_ms, uint64_t *bits_p)
{ return d->ops->db_wait ? d->ops->db_wait(d, mask, timeout_ms, bits_p) : -EOPNOTSUPP; }
static inline int osci_drv_db_poll(struct osci_drv *d, uint64_t mask, uint64_t *bits_p)
{ return d->ops->db_poll ? d->ops->db_poll(d, mask, bits_p) : -EOPNOTSUPP; }
static inline int osci_drv_probe(struct osci_drv *d, uint32_t node)
{ return d->ops->probe ? d->ops->probe(d, node) : -EOPNOTSUPP; }
static inline int osci_drv_info_publish(struct osci_drv *d, const void *buf, size_t len)
{ return d->ops->info_publish ? d->ops->info_publish(d, buf, len) : -EOPNOTSUPP; }
static inline int osci_drv_info_read(struct osci_drv *d, uint32_t node, void *buf, size_t len, size_t *len_p)
{ return d->ops->info_read ? d->ops->info_read(d, node, buf, len, len_p) : -EOPNOTSUPP; }
static inline int osci_drv_inject(struct osci_drv *d, enum osci_fault f, uint32_t node, unsigned int count)
{ return d->ops->inject ? d->ops->inject(d, f, node, count) : -EOPNOTSUPP; }
static inline int osci_drv_mcast_attach(struct osci_drv *d, uint32_t group, size_t size,
                                        struct osci_drv_mem_view *v)
{ return d->ops->mcast_attach ? d->ops->mcast_attach(d, group, size, v) : -EOPNOTSUPP; }
static inline void osci_drv_mcast_detach(struct osci_drv *d, struct osci_drv_mem_view *v)
{ if (d->ops->mcast_detach) d->ops->mcast_detach(d, v); }
/* Synchronous drivers (no flush op): every put has landed when it returns. */
static inline int osci_drv_flush(struct osci_drv *d, struct osci_drv_rmem *r)
{ return d->ops->flush ? d->ops->flush(d, r) : 0; }

/* Configuration (driver/conf.c): OSCI_CONF or /etc/opensci/opensci.conf, OSCI_NODE_ID, OSCI_FABRIC. */
int osci_conf_load(struct osci_adapter_conf *out, unsigned int max, unsigned int *count_p);
int osci_conf_parse(const char *path, const char *text, size_t len, struct osci_adapter_conf *out,
                    unsigned int max, unsigned int *count_p, char *err, size_t errlen);
const char *osci_conf_opt(const struct osci_adapter_conf *conf, const char *key);

/* NvSciIpc INTER_CHIP device mapping, opensci.conf lines
 * "interchip <device> [adapter=<n>] peer=<node> [nframes=<n>] [frame_size=<bytes>]". */
#define OSCI_IC_MAX           128         /* interchip lines per file */
#define OSCI_IC_MAX_DEVICE    9999u       /* device = nvsciipc.cfg's INTER_CHIP backend info */
#define OSCI_IC_MAX_NFRAMES   65536u      /* the NvSciIpc config's limits */
#define OSCI_IC_MAX_CHANNEL   (256u << 20)
struct osci_interchip_conf {
    uint32_t device;
    unsigned int adapter_no;
    uint32_t peer_node;                /* 1..255 */
    uint32_t nframes, frame_size;      /* 0: not given */
    unsigned int line;                 /* where it is defined */
};
/* Parses the interchip lines of opensci.conf (and checks the whole file as osci_conf_parse does). */
int osci_conf_parse_interchip(const char *path, const char *text, size_t len, struct osci_interchip_conf *out,
                              unsigned int max, unsigned int *count_p, char *err, size_t errlen);
/* Looks `device` up in OSCI_CONF or /etc/opensci/opensci.conf: 0, -ENOENT when no line maps it (or there is
 * no default file), -EINVAL (logged) when the file is malformed or the file OSCI_CONF names is missing, other
 * errors (logged) when unreadable. The file's path is written into path (when path_len > 0). */
int osci_conf_interchip(uint32_t device, struct osci_interchip_conf *out, char *path, size_t path_len);

/* hosts.conf (OSCI_HOSTS or /etc/opensci/hosts.conf): node id -> host address. */
struct osci_host { uint32_t node_id; char addr[64]; };
int osci_hosts_load(struct osci_host *out, unsigned int max, unsigned int *count_p);
int osci_hosts_parse(const char *path, const char *text, size_t len, struct osci_host *out, unsigned int max,
                     unsigned int *count_p, char *err, size_t errlen);

#endif
