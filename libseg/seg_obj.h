/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The segment objects behind the SISCI handles (descriptors, local and remote segments, maps,
 * sequences) and the functions seg_core/lseg/rseg/map/info share. Private to those files.
 */
#ifndef SEG_OBJ_H
#define SEG_OBJ_H

#include <stdatomic.h>

#include "seg_internal.h"

#define SEG_DEFAULT_CONNECT_MS 5000u

struct sci_desc {
    uint32_t magic;
    unsigned int n_objs;                 /* local + remote segments + maps owned */
};

/*
 * A segment's event queue: a fixed ring inside the object, so a flood of events costs no memory.
 * Full, it coalesces (an event and the next one of the same node and adapter that undoes it go),
 * else drops its oldest event; either way `lost` makes the next take report -EOVERFLOW once.
 * A local segment's ring has room for an event from every node at once (a fabric's links going
 * down); a remote segment's events merge down to at most CONNECT, NOT_OPERATIONAL, DISCONNECT,
 * OPERATIONAL, LOST. All of it under seg.lock.
 */
#define SEG_LSEG_EVQ_LEN SEG_MAX_NODES
#define SEG_RSEG_EVQ_LEN 16u
struct seg_evq {
    struct seg_sevent *ev;               /* the ring, in the object */
    unsigned int cap, head, count;
    bool remote;                         /* a remote segment's: its DISCONNECT and LOST never merge */
    bool lost;                           /* events merged or dropped since the last take */
    bool dropped;                        /* ... and some dropped (logged once) */
};

/* A remote node's connection to a local segment (owner side). */
struct seg_conn {
    struct osci_list_node link;          /* in a segment's conns or quar, or a quarantine's conns */
    uint32_t node;
    unsigned int adapter;
    uint64_t conn_id;
    uint64_t epoch;                      /* the remote incarnation that connected */
};

enum seg_mem_kind { SEG_MEM_NONE = 0, SEG_MEM_DRV, SEG_MEM_MEMFD, SEG_MEM_USER, SEG_MEM_MCAST };

struct seg_lmem {
    enum seg_mem_kind kind;
    unsigned int drv_adapter;            /* SEG_MEM_DRV: the adapter whose window holds it */
    struct osci_drv_mem_view view;
    struct osci_drv_mem *exp[OSCI_MAX_ADAPTERS];   /* exported on adapter i */
};

/* Memory of a removed segment kept until every force-disconnected remote answered or died. */
struct seg_quarantine {
    struct osci_list_node link;          /* in segx.quar */
    uint32_t seg_id;
    struct seg_lmem mem;
    struct osci_list_head conns;         /* struct seg_conn */
};

enum lseg_state { LSEG_CREATED = 0, LSEG_PREPARED, LSEG_AVAILABLE, LSEG_REMOVED, LSEG_STATE_COUNT };
enum lseg_event { LSEG_EV_PREPARE = 0, LSEG_EV_SET_AVAILABLE, LSEG_EV_SET_UNAVAILABLE, LSEG_EV_REMOVE,
                  LSEG_EV_COUNT };

struct sci_local_segment {
    struct seg_obj o;                    /* first: magic, references, removed, callback */
    sci_desc_t sd;
    struct osci_list_node link;          /* in segx.lsegs */
    uint32_t id;
    size_t size;
    unsigned int flags;
    struct seg_lmem mem;
    enum lseg_state state[OSCI_MAX_ADAPTERS];      /* written only by lseg_transition */
    uint8_t xport[OSCI_MAX_ADAPTERS][OSCI_DRV_XPORT_MAX];
    uint32_t xport_len[OSCI_MAX_ADAPTERS];
    struct osci_list_head conns;         /* live connections (struct seg_conn) */
    struct osci_list_head quar;          /* force-disconnected, not yet answered */
    unsigned int n_maps;
    struct seg_evq evq;
    struct seg_sevent evbuf[SEG_LSEG_EVQ_LEN];
    unsigned int waiters;
    unsigned int bcast_joined;           /* BROADCAST: bit i, a member of its group on adapter i */
};

enum rseg_state { RSEG_CONNECTING = 0, RSEG_OPERATIONAL, RSEG_NOT_OPERATIONAL, RSEG_DISCONNECTING_OPERATIONAL,
                  RSEG_DISCONNECTING_NOT_OPERATIONAL, RSEG_LOST, RSEG_STATE_COUNT };
/* Health word read lock-free by sequences and SCIMemCpy. */
enum { SEG_HEALTH_OK = 0, SEG_HEALTH_NOTOP = 1, SEG_HEALTH_DEAD = 2 };

struct sci_remote_segment {
    struct seg_obj o;                    /* first: magic, references, removed, callback */
    sci_desc_t sd;
    struct osci_list_node link;          /* in segx.rsegs, or the broadcast list (seg_bcast.c) */
    uint32_t node;
    uint32_t seg_id;
    unsigned int adapter;
    uint64_t conn_id;
    uint64_t size;
    uint64_t epoch;                      /* owner incarnation at connect */
    enum rseg_state state;               /* written only by rseg_transition */
    struct osci_drv_rmem *rmem;
    bool revoked;
    _Atomic uint32_t fault_cnt;          /* bumped on every NOT_OPERATIONAL edge and failed flush */
    _Atomic uint32_t health;
    unsigned int n_maps;
    struct seg_evq evq;
    struct seg_sevent evbuf[SEG_RSEG_EVQ_LEN];
    unsigned int waiters;
    bool connect_done;
    int connect_rc;
    struct seg_bcast_rs *bc;             /* BROADCAST: the group it writes to (seg_bcast.c) */
};

enum seg_map_kind { SEG_MAP_LOCAL = 1, SEG_MAP_REMOTE = 2 };

struct sci_map {
    uint32_t magic;
    struct osci_list_node link;          /* in segx.maps */
    enum seg_map_kind kind;
    sci_local_segment_t ls;
    sci_remote_segment_t rs;
    uint8_t *addr;                       /* what the user got */
    size_t offset, size;
    void *base;                          /* the mapping we own (NULL: a view into the segment) */
    size_t base_len;
    bool readonly;
    unsigned int n_seq;
    struct osci_drv *drv;                /* transfer map (no CPU access): SCIMemCpy uses put/get */
    struct osci_drv_rmem *rmem;
};

struct sci_sequence {
    uint32_t magic;
    struct osci_list_node link;          /* in segx.seqs */
    sci_map_t map;
    _Atomic uint32_t *fault_cnt;         /* NULL for local maps */
    _Atomic uint32_t *health;
    uint32_t snap;
    _Atomic bool orphan;                 /* its map was unmapped: map and the pointers are dead */
};

/* Library-wide lists and callback bookkeeping (seg_core.c). Lock held for every access. */
struct seg_objs {
    struct osci_list_head lsegs;         /* struct sci_local_segment */
    struct osci_list_head rsegs;         /* struct sci_remote_segment (not broadcast ones) */
    struct osci_list_head quar;          /* struct seg_quarantine */
    struct osci_list_head maps;          /* struct sci_map */
    struct osci_list_head seqs;          /* struct sci_sequence */
    uint64_t next_conn;
    uint32_t next_auto_id;
};
extern struct seg_objs segx;

/* seg_core.c */
void seg__evq_init(struct seg_evq *q, struct seg_sevent *buf, unsigned int cap, bool remote);
void seg__evq_push(struct seg_evq *q, sci_segment_cb_reason_t reason, uint32_t node, unsigned int adapter,
                   sci_error_t status);
/* The oldest event into *e: 0; -EOVERFLOW once after events were merged or dropped (nothing
 * taken: the queue still holds events); -EAGAIN when empty. */
int seg__evq_take(struct seg_evq *q, struct seg_sevent *e);
/* The next event for a segment callback: the oldest one, its status SCI_ERR_OVERFLOW when events were lost
 * before it; false when the queue is empty. */
bool seg__evq_take_cb(struct seg_evq *q, struct seg_sevent *e);
static inline bool seg__evq_empty(const struct seg_evq *q) { return q->count == 0 && !q->lost; }
void seg__evq_clear(struct seg_evq *q);
/* SCIWaitFor{Local,Remote}SegmentEvent after the entry check (lock held): the oldest event of q, the queue
 * of object o, into *e (0, or -EOVERFLOW once after lost ones), waiting up to timeout ms; -EPERM while o has
 * a callback, -ECANCELED when o is removed meanwhile, -ETIMEDOUT. *waiters counts the threads waiting. */
int seg__evq_wait(struct seg_obj *o, struct seg_evq *q, unsigned int *waiters, unsigned int timeout,
                  struct seg_sevent *e);
int seg__check_init(void);           /* 0 or -SEG_ENOTINIT; lock held */
int seg__adapter_check(unsigned int no, struct seg_adapter **a_p);  /* lock held */
uint64_t seg__new_conn_id(struct seg_adapter *a);
/* Declare a peer's incarnation gone (ev: PEER_EV_GRACE or PEER_EV_DEAD) and drop what it had. */
void seg__peer_lost(struct seg_adapter *a, uint32_t node, enum seg_peer_event ev);

/* seg_lseg.c */
extern const struct seg_obj_ops seg__lseg_ops;
const char *lseg_state_str(enum lseg_state s);
const char *lseg_event_str(enum lseg_event e);
int lseg_transition(struct sci_local_segment *ls, unsigned int adapter, enum lseg_event ev);
void seg__lseg_on_msg(struct seg_adapter *a, const struct seg_msg *m);
void seg__lseg_link(struct seg_adapter *a, uint32_t node, sci_segment_cb_reason_t reason);
void seg__lseg_peer_lost(struct seg_adapter *a, uint32_t node);
void seg__lseg_free_all(void);
bool seg__lseg_valid(sci_local_segment_t ls);
void seg__lmem_release(struct seg_lmem *mem);
void seg__lseg_post(struct sci_local_segment *ls, sci_segment_cb_reason_t reason, uint32_t node,
                    unsigned int adapter);

/* seg_rseg.c */
extern const struct seg_obj_ops seg__rseg_ops;
const char *rseg_state_str(enum rseg_state s);
int rseg_transition(struct sci_remote_segment *rs, sci_segment_cb_reason_t ev);
void seg__rseg_on_msg(struct seg_adapter *a, const struct seg_msg *m);
void seg__rseg_link(struct seg_adapter *a, uint32_t node, sci_segment_cb_reason_t reason);
/* keep_connecting: a RESET from the peer, whose answers to connects still under way come after it. */
void seg__rseg_peer_lost(struct seg_adapter *a, uint32_t node, bool keep_connecting);
void seg__rseg_free_all(void);
/* At teardown (lock held): unlinks the first remote segment of `list`, marks it removed and waits for its
 * waiters; NULL when the list is empty. */
struct sci_remote_segment *seg__rseg_pop_removed(struct osci_list_head *list);
bool seg__rseg_valid(sci_remote_segment_t rs);
void seg__rseg_post(struct sci_remote_segment *rs, sci_segment_cb_reason_t reason);
/* Ends a remote segment handle's life (lock held): no deferred call or waiter is left on it. */
void seg__rseg_retire(struct sci_remote_segment *rs);

/* seg_map.c */
void seg__map_free_all(void);

/* seg_info.c */
void seg__info_publish(void);

#endif
