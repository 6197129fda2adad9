/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The fabric-driver contract (ARCHITECTURE §3): one ops table per driver, reached only
 * through the osci_drv_* wrappers below (no `->ops->` outside driver/).
 * Every call returns 0 or a negative errno.
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
#include "osci_conf.h"
#include "osci_log.h"

#define OSCI_DRV_MSG_MAX      240   /* largest control message payload */
#define OSCI_DRV_XPORT_MAX    64    /* largest packed transport description of exported memory */
#define OSCI_DRV_DB_COUNT     64    /* doorbell bits per node */

struct osci_drv;
struct osci_drv_mem;     /* local memory exported through the adapter */
struct osci_drv_rmem;    /* imported remote memory */

struct osci_drv_info {
    char name[64];                     /* fabric / device name */
    uint32_t node_id;
    uint32_t max_nodes;
    uint64_t max_mem_size;             /* largest single export */
    uint64_t mem_align;                /* alignment of exported memory and map offsets */
    uint32_t n_doorbells;              /* usable doorbell bits (<= OSCI_DRV_DB_COUNT) */
    uint32_t caps;                     /* OSCI_DRV_CAP_* */
    uint32_t card_type;                /* SCIQuery(SCI_Q_ADAPTER_CARD_TYPE): OSCI_DRV_CARD_* */
};
/* What a driver can do, stated by the driver: libseg and the tools decide from these, never from the
 * driver's name. */
#define OSCI_DRV_CAP_MAP_REMOTE  0x1   /* rmem_map gives CPU load/store access */
#define OSCI_DRV_CAP_PUT_GET     0x2
#define OSCI_DRV_CAP_MEM_ALLOC   0x4   /* mem_alloc gives exportable memory (window devices) */
#define OSCI_DRV_CAP_DB_WAIT     0x8   /* db_wait blocks without the event fd */
#define OSCI_DRV_CAP_INFO        0x10  /* info_publish/info_read carry a segment table for the tools */
#define OSCI_DRV_CAP_OWN_LIVENESS 0x20 /* reports PEER_DEAD itself (no heartbeats needed) */
#define OSCI_DRV_CAP_FULL_VIEW   0x40  /* every node sees every other one (one shared fabric) */
#define OSCI_DRV_CAP_EXPORT_FOREIGN 0x80 /* mem_export takes memory the driver did not allocate (rdma
                                          * registers any mapping); without it only mem_alloc() memory */

/* Card types (docs/sisci-compat.md), one per driver: what SCIQuery reports for its adapters. */
#define OSCI_DRV_CARD_UNKNOWN    0
#define OSCI_DRV_CARD_SIMNTB     0x5101
#define OSCI_DRV_CARD_PCISHM     0x5102
#define OSCI_DRV_CARD_RDMA       0x5103
#define OSCI_DRV_CARD_NTB        0x5104

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

/* A view of local memory: where it is mapped in this process, and an fd (with the offset of the memory in
 * it) a second view can be mmapped from. mem_alloc() and mcast_attach() fill one; mem_export() takes one. */
struct osci_drv_mem_view {
    void *addr;                        /* the mapping; NULL: none (memory given by its fd only) */
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
    int (*mem_export)(struct osci_drv *drv, const struct osci_drv_mem_view *view, struct osci_drv_mem **mem_p);
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

    /* optional (NULL: the registry fills in a stub returning -EOPNOTSUPP or the documented default) */
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
    /* Observing (osci-seginfo reading a fabric it does not join): its own small table, NULL when the
     * driver observes through open() with conf->observe instead. */
    const struct osci_drv_observe_ops *observe;
};

/*
 * Observing an adapter without joining it: no node id is taken, nothing is created or changed.
 * open attaches read-only (-ENOENT: nothing to observe); query, peers and info_read answer as the ops
 * of the same names; close detaches. Context: any thread; open may block briefly (a region still
 * being initialised by its creator).
 */
struct osci_drv_observe;              /* the driver's */
struct osci_drv_observe_ops {
    int (*open)(const struct osci_adapter_conf *conf, struct osci_drv_observe **obs_p);
    int (*query)(struct osci_drv_observe *obs, struct osci_drv_info *info);
    int (*peers)(struct osci_drv_observe *obs, struct osci_peer_info *out, unsigned int max, unsigned int *count_p);
    int (*info_read)(struct osci_drv_observe *obs, uint32_t node, void *buf, size_t len, size_t *len_p);
    void (*close)(struct osci_drv_observe *obs);
};

struct osci_drv_hook;     /* the fault interposer's state of one instance (driver/core/hook.c) */

/* Every driver instance starts with this (container_of from the driver's own struct). osci_drv_open() sets
 * ops (the interposed table, see "Fault injection" below), adapter_no and hook; the driver sets node_id. */
struct osci_drv {
    const struct osci_drv_ops *ops;
    unsigned int adapter_no;
    uint32_t node_id;
    struct osci_drv_hook *hook;
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

/* Registry (driver/core/registry.c). osci_drv_register() checks a table once and keeps a copy in which every
 * missing optional op is a stub (-EOPNOTSUPP, or the documented default below), so the wrappers call
 * through without NULL checks; a missing required op, or an optional one without its partner, is -EINVAL.
 * osci_drv_find() returns that filled copy with the fault interposer over it: what every instance's ops
 * point at. */
int osci_drv_register(const struct osci_drv_ops *ops);      /* -EINVAL for an invalid table */
const struct osci_drv_ops *osci_drv_find(const char *name);
/* Opens the adapter conf names with the driver conf->driver names: 0, -ENODEV (no such driver), -EINVAL,
 * or the driver's open error. May block (rdma resolves its hosts); call from a thread, not a callback. */
int osci_drv_open(const struct osci_adapter_conf *conf, struct osci_drv **drv_p);
/* Closes the instance (libseg releases its mems, rmems and views first; what is left becomes invalid).
 * May block (rdma disconnects). */
void osci_drv_close(struct osci_drv *drv);
/* An observer of the adapter conf names (osci-seginfo): through the driver's observe ops, or for a driver
 * without them an instance opened with conf->observe. open: 0, -ENODEV, -ENOENT (nothing to observe), or
 * the driver's error; query, peers and info_read answer as the ops of the same names; close frees it. */
struct osci_drv_observer;
int osci_drv_observe_open(const struct osci_adapter_conf *conf, struct osci_drv_observer **obs_p);
int osci_drv_observe_query(struct osci_drv_observer *obs, struct osci_drv_info *info);
int osci_drv_observe_peers(struct osci_drv_observer *obs, struct osci_peer_info *out, unsigned int max,
                           unsigned int *count_p);
int osci_drv_observe_info_read(struct osci_drv_observer *obs, uint32_t node, void *buf, size_t len, size_t *len_p);
void osci_drv_observe_close(struct osci_drv_observer *obs);

/*
 * The wrappers: one per op, the only way libseg and the tools reach a driver. Context: any thread of the
 * process that opened the instance; none may be called from a signal handler. "May block" means it may
 * sleep (a connection, a completion, a timeout); the others return without waiting for a peer. On an
 * observing instance (conf->observe) the ops that need a node id answer -EPERM.
 */

/**
 * osci_drv_query() - facts about the instance (struct osci_drv_info, OSCI_DRV_CAP_*).
 * Return: 0, or a negative errno. Does not block; caps, card type and limits do not change while the
 * instance is open (the name may: rdma names the port state).
 */
static inline int osci_drv_query(struct osci_drv *d, struct osci_drv_info *info)
{ return d->ops->query(d, info); }

/**
 * osci_drv_event_fd() - the fd that polls readable when progress() has events (after arm()).
 * Return: the fd (owned by the driver, valid until close), or a negative errno. Does not block.
 */
static inline int osci_drv_event_fd(struct osci_drv *d)
{ return d->ops->event_fd(d); }

/**
 * osci_drv_arm() - asks for a wakeup of the event fd at the next event.
 * Return: 0 (sleep on the fd), -EAGAIN (events are pending: call progress() first, do not sleep), or a
 * negative errno. Does not block.
 */
static inline int osci_drv_arm(struct osci_drv *d)
{ return d->ops->arm(d); }

/**
 * osci_drv_progress() - takes up to @max pending upward events into @ev (link, peer death, messages,
 * doorbells in the event mask).
 * Return: the number of events (0: none), or a negative errno. Does not block; one caller at a time
 * (libseg's event thread).
 */
static inline int osci_drv_progress(struct osci_drv *d, struct osci_drv_event *ev, unsigned int max)
{ return d->ops->progress(d, ev, max); }

/**
 * osci_drv_peers() - the nodes the instance sees now, up to @max, with their count in *@count_p.
 * Return: 0, or a negative errno. Does not block.
 */
static inline int osci_drv_peers(struct osci_drv *d, struct osci_peer_info *out, unsigned int max,
                                 unsigned int *count_p)
{ return d->ops->peers(d, out, max, count_p); }

/**
 * osci_drv_msg_send() - sends a control message of at most OSCI_DRV_MSG_MAX bytes to @node, which
 * receives it as OSCI_DRV_EV_MSG, in order per sender.
 * Return: 0 (queued to the peer), -EMSGSIZE, -EHOSTUNREACH / -ENOTCONN (peer not there), -EAGAIN
 * (its queue is full), or another negative errno. May block (rdma connects on first use).
 */
static inline int osci_drv_msg_send(struct osci_drv *d, uint32_t node, const void *msg, size_t len)
{ return d->ops->msg_send(d, node, msg, len); }

/**
 * osci_drv_db_ring() - sets doorbell @bit (< OSCI_DRV_DB_COUNT) of @node.
 * Return: 0, -EINVAL (bit out of range), -EHOSTUNREACH / -ENOTCONN, or a negative errno. May block
 * (rdma connects on first use).
 */
static inline int osci_drv_db_ring(struct osci_drv *d, uint32_t node, unsigned int bit)
{ return d->ops->db_ring(d, node, bit); }

/**
 * osci_drv_db_set_event_mask() - the doorbell bits progress() reports; the others stay pending for
 * db_poll()/db_wait(). Return: 0, or a negative errno. Does not block.
 */
static inline int osci_drv_db_set_event_mask(struct osci_drv *d, uint64_t mask)
{ return d->ops->db_set_event_mask(d, mask); }

/**
 * osci_drv_mem_export() - makes the memory @v describes importable by peers (after mem_pack()). A driver
 * without OSCI_DRV_CAP_EXPORT_FOREIGN exports only what its mem_alloc() gave (callers decide from the
 * capability and do not ask it for other memory); one with it also takes any other page-aligned memory.
 * @v->addr is the mapping simntb locates its window memory by and rdma registers (both need it); @v->fd and
 * @v->fd_offset describe the same memory for a driver that works from the fd (-1: none; neither built-in
 * driver needs it). The view is read during the call only; the memory must stay until mem_unexport().
 * Return: 0 with *@mem_p, -EXDEV (memory this driver did not allocate, without the capability), -EINVAL
 * (alignment, size, no address), -ENOMEM, or a negative errno. May block (registration).
 */
static inline int osci_drv_mem_export(struct osci_drv *d, const struct osci_drv_mem_view *v,
                                      struct osci_drv_mem **mem_p)
{ return d->ops->mem_export(d, v, mem_p); }

/**
 * osci_drv_mem_unexport() - ends an export; imports of it stop reaching the memory. May block.
 */
static inline void osci_drv_mem_unexport(struct osci_drv *d, struct osci_drv_mem *m)
{ d->ops->mem_unexport(d, m); }

/**
 * osci_drv_mem_pack() - the transport description of @m (at most OSCI_DRV_XPORT_MAX bytes) that a
 * peer passes to rmem_import(). *@len_p: buffer size in, bytes written out.
 * Return: 0, -ENOSPC (buffer too small), or a negative errno. Does not block.
 */
static inline int osci_drv_mem_pack(struct osci_drv *d, struct osci_drv_mem *m, void *buf, size_t *len_p)
{ return d->ops->mem_pack(d, m, buf, len_p); }

/**
 * osci_drv_rmem_import() - imports the memory @node packed into @buf (bytes from the peer: checked).
 * Return: 0 with *@rmem_p, -EINVAL / -EPROTO (malformed description), -EHOSTUNREACH, -ESTALE /
 * -ECONNRESET (the memory or the peer incarnation is gone), or a negative errno. May block (rdma connects).
 */
static inline int osci_drv_rmem_import(struct osci_drv *d, uint32_t node, const void *buf, size_t len,
                                       struct osci_drv_rmem **rmem_p)
{ return d->ops->rmem_import(d, node, buf, len, rmem_p); }

/**
 * osci_drv_rmem_release() - drops an import; its maps must be unmapped first. May block.
 */
static inline void osci_drv_rmem_release(struct osci_drv *d, struct osci_drv_rmem *r)
{ d->ops->rmem_release(d, r); }

/**
 * osci_drv_put() - writes @len bytes from @src at offset @roff of @r (see the ops table for when the
 * data has landed: at return, or after flush()).
 * Return: 0, -EINVAL (range), -ECONNRESET / -ENOTCONN / -EIO (this or an earlier put failed), or a
 * negative errno. May block (rdma waits for queue space and, for large buffers, the transfer).
 */
static inline int osci_drv_put(struct osci_drv *d, struct osci_drv_rmem *r, size_t roff, const void *src,
                               size_t len)
{ return d->ops->put(d, r, roff, src, len); }

/**
 * osci_drv_get() - reads @len bytes at offset @roff of @r into @dst; returns when @dst holds them.
 * Return: 0, -EINVAL (range), -ECONNRESET / -ENOTCONN / -EIO, or a negative errno. May block.
 */
static inline int osci_drv_get(struct osci_drv *d, struct osci_drv_rmem *r, size_t roff, void *dst, size_t len)
{ return d->ops->get(d, r, roff, dst, len); }

/**
 * osci_drv_mem_alloc() - exportable memory from the driver (window devices, OSCI_DRV_CAP_MEM_ALLOC).
 * Return: 0 with *@v filled, -EOPNOTSUPP (no such op), -EINVAL (size), -ENOMEM, or a negative errno.
 * Does not block.
 */
static inline int osci_drv_mem_alloc(struct osci_drv *d, size_t size, struct osci_drv_mem_view *v)
{ return d->ops->mem_alloc(d, size, v); }

/** osci_drv_mem_free() - frees what mem_alloc() gave (a no-op stub without mem_alloc). */
static inline void osci_drv_mem_free(struct osci_drv *d, struct osci_drv_mem_view *v)
{ d->ops->mem_free(d, v); }

/**
 * osci_drv_rmem_map() - CPU load/store access to [@off, @off + @len) of @r (OSCI_DRV_CAP_MAP_REMOTE).
 * Return: 0 with *@addr_p, -EOPNOTSUPP (no such op), -EINVAL (range, alignment), -ECONNRESET (the
 * peer is gone), -ENOMEM, or a negative errno. Does not block.
 */
static inline int osci_drv_rmem_map(struct osci_drv *d, struct osci_drv_rmem *r, size_t off, size_t len,
                                    int ro, void **addr_p)
{ return d->ops->rmem_map(d, r, off, len, ro, addr_p); }

/** osci_drv_rmem_unmap() - undoes rmem_map(). Return: 0, -EOPNOTSUPP, or a negative errno. */
static inline int osci_drv_rmem_unmap(struct osci_drv *d, struct osci_drv_rmem *r, void *addr, size_t len)
{ return d->ops->rmem_unmap(d, r, addr, len); }

/**
 * osci_drv_rmem_revoke() - makes every map of @r stop reaching the remote memory (reads see no data,
 * writes are dropped). Return: 0 (also the stub of a driver without maps), or a negative errno.
 */
static inline int osci_drv_rmem_revoke(struct osci_drv *d, struct osci_drv_rmem *r)
{ return d->ops->rmem_revoke(d, r); }

/**
 * osci_drv_db_wait() - waits up to @timeout_ms (-1: forever) for doorbell bits in @mask outside the
 * event mask and takes them into *@bits_p (OSCI_DRV_CAP_DB_WAIT).
 * Return: 0, -ETIMEDOUT, -EOPNOTSUPP (no such op), or a negative errno. Blocks.
 */
static inline int osci_drv_db_wait(struct osci_drv *d, uint64_t mask, int timeout_ms, uint64_t *bits_p)
{ return d->ops->db_wait(d, mask, timeout_ms, bits_p); }

/**
 * osci_drv_db_poll() - takes the pending doorbell bits in @mask into *@bits_p.
 * Return: 0, -EAGAIN (none pending; *@bits_p untouched), -EOPNOTSUPP (no such op), or a negative errno.
 * Never blocks.
 */
static inline int osci_drv_db_poll(struct osci_drv *d, uint64_t mask, uint64_t *bits_p)
{ return d->ops->db_poll(d, mask, bits_p); }

/**
 * osci_drv_probe() - is @node there? Return: see the probe op (0, -EHOSTUNREACH, -ENOLINK,
 * -EADDRNOTAVAIL), or -EOPNOTSUPP. Does not block.
 */
static inline int osci_drv_probe(struct osci_drv *d, uint32_t node)
{ return d->ops->probe(d, node); }

/**
 * osci_drv_info_publish() - publishes this node's segment table (tools read it with info_read()).
 * Return: 0, -EMSGSIZE, -EOPNOTSUPP (no such op), or a negative errno. Does not block.
 */
static inline int osci_drv_info_publish(struct osci_drv *d, const void *buf, size_t len)
{ return d->ops->info_publish(d, buf, len); }

/**
 * osci_drv_info_read() - reads the table @node published (*@len_p: its length).
 * Return: 0, -EHOSTUNREACH (no such node), -EMSGSIZE (@len too small), -EAGAIN (being rewritten: retry),
 * -EPROTO (malformed), -EOPNOTSUPP, or a negative errno. Does not block.
 */
static inline int osci_drv_info_read(struct osci_drv *d, uint32_t node, void *buf, size_t len, size_t *len_p)
{ return d->ops->info_read(d, node, buf, len, len_p); }

/**
 * osci_drv_inject() - injects fault @f towards @node (tests, tools).
 * Two knobs mean the same on every driver: the fault interposer (driver/core/hook.c) implements them over
 * the driver's msg_send and db_ring, and the driver's inject op never sees them:
 *  - OSCI_FAULT_DROP_DOORBELL: the next @count db_ring() calls towards @node with a valid bit return 0
 *    and ring nothing;
 *  - OSCI_FAULT_CORRUPT_MSG: the next @count non-empty messages the driver accepts for @node go out with
 *    every payload byte XOR 0xa5 (an empty message passes unchanged and does not count);
 * for both, @count replaces what is left of an earlier one (0 disarms), @node is 1..255 (-EINVAL), one
 * the driver's probe calls impossible here is -EHOSTUNREACH, and an observer gets -EPERM.
 * The other faults (LINK_DOWN, LINK_UP, LIVENESS_LOST) go to the driver's inject op: only it can do them.
 * Return: 0, -EINVAL (a fault this driver cannot inject, or a bad node id), -EHOSTUNREACH (no such peer),
 * -EPERM (observer), -EOPNOTSUPP, or a negative errno. Does not block.
 */
static inline int osci_drv_inject(struct osci_drv *d, enum osci_fault f, uint32_t node, unsigned int count)
{ return d->ops->inject(d, f, node, count); }

/**
 * osci_drv_mcast_attach() - attaches multicast group @group of @size bytes (see the ops table).
 * Return: 0 with *@v, -EINVAL (other size), -EOPNOTSUPP (no multicast window here), or a negative errno.
 */
static inline int osci_drv_mcast_attach(struct osci_drv *d, uint32_t group, size_t size,
                                        struct osci_drv_mem_view *v)
{ return d->ops->mcast_attach(d, group, size, v); }

/** osci_drv_mcast_detach() - drops one attach of mcast_attach() (a no-op stub without it). */
static inline void osci_drv_mcast_detach(struct osci_drv *d, struct osci_drv_mem_view *v)
{ d->ops->mcast_detach(d, v); }

/**
 * osci_drv_flush() - waits until every put issued so far on @r (NULL: every rmem) has landed.
 * Return: 0 (also the stub of a synchronous driver, whose puts land before they return), or the first
 * error of them (-EIO, -ECONNRESET, -ENOTCONN), reported once. Blocks.
 */
static inline int osci_drv_flush(struct osci_drv *d, struct osci_drv_rmem *r)
{ return d->ops->flush(d, r); }

#endif
