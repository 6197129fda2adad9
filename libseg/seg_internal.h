/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * libseg internals shared by its files. One process-wide library state `seg`, guarded by
 * seg.lock (never held on a data path: PIO, SCIMemCpy and doorbell waits take no lock).
 * The event thread owns every driver's progress() and runs every user callback, without
 * seg.lock held, one at a time. API functions return sci_error_t only at the edge; inside,
 * 0 or a negative errno.
 */
#ifndef SEG_INTERNAL_H
#define SEG_INTERNAL_H

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "sisci_api.h"
#include "opensci/osci.h"
#include "osci_drv.h"
#include "osci_errors.h"
#include "osci_list.h"
#include "osci_time.h"
#include "seg_proto.h"

#define SEG_MAX_NODES 256           /* node ids 1..255 */
#define SEG_DESC_MAGIC  0x53434931u /* handle validity tags */
#define SEG_LSEG_MAGIC  0x53434932u
#define SEG_RSEG_MAGIC  0x53434933u
#define SEG_MAP_MAGIC   0x53434934u
#define SEG_SEQ_MAGIC   0x53434935u
#define SEG_DMAQ_MAGIC  0x53434936u
#define SEG_LINTR_MAGIC 0x53434937u
#define SEG_RINTR_MAGIC 0x53434938u
#define SEG_LDINTR_MAGIC 0x53434939u
#define SEG_RDINTR_MAGIC 0x5343493au

/*
 * A peer's liveness on one adapter (docs/segment-protocol.md, "Peer liveness"), written only by
 * peer_transition (seg_core.c), which logs every edge.
 *   UNKNOWN      never seen
 *   UP           link up (LINK_UP taken, HELLO sent)
 *   DOWN         the driver said link down; the grace period runs from down_since_ms
 *   SILENT       down because it stopped heartbeating; grace runs; heartbeats still go to it
 *   LOST         incarnation `epoch` declared gone (CB_LOST delivered)
 *   LOST_SILENT  the same, reached from SILENT: still heartbeated, its heartbeat brings it back
 */
enum seg_peer_state { PEER_UNKNOWN = 0, PEER_UP, PEER_DOWN, PEER_SILENT, PEER_LOST, PEER_LOST_SILENT,
                      PEER_STATE_COUNT };
enum seg_peer_event { PEER_EV_LINK_UP = 0, PEER_EV_ALIVE, PEER_EV_LINK_DOWN, PEER_EV_SILENT, PEER_EV_GRACE,
                      PEER_EV_DEAD, PEER_EV_COUNT };

/* What this node knows of a peer on one adapter. */
struct seg_peer {
    enum seg_peer_state state;
    uint64_t epoch;                  /* peer incarnation */
    uint64_t down_since_ms;          /* DOWN, SILENT: when it went down (grace period) */
    uint64_t last_rx_ms;             /* last message received from it, or its link-up time */
};
static inline bool seg__peer_up(const struct seg_peer *p) { return p->state == PEER_UP; }
static inline bool seg__peer_known(const struct seg_peer *p) { return p->state != PEER_UNKNOWN; }
static inline bool seg__peer_lost_state(const struct seg_peer *p)
{
    return p->state == PEER_LOST || p->state == PEER_LOST_SILENT;
}
/* Down and in its grace period (not yet lost). */
static inline bool seg__peer_in_grace(const struct seg_peer *p)
{
    return p->state == PEER_DOWN || p->state == PEER_SILENT;
}
/* Down for its silence (lost or not): heartbeats still go to it, and its own bring it back. */
static inline bool seg__peer_silent(const struct seg_peer *p)
{
    return p->state == PEER_SILENT || p->state == PEER_LOST_SILENT;
}

struct seg_adapter {
    unsigned int no;
    struct osci_drv *drv;            /* NULL: not configured */
    struct osci_drv_info info;
    uint64_t db_allocated;           /* doorbell bits owned by local interrupts */
    uint64_t db_event_mask;          /* bits the event thread takes (callback interrupts) */
    bool heartbeat;                  /* libseg sends HEARTBEAT and times out silent peers here */
    uint64_t hb_next_ms;             /* next HEARTBEAT round */
    struct seg_peer peer[SEG_MAX_NODES];
};

struct seg_lib {
    pthread_mutex_t lock;
    pthread_cond_t cond;             /* broadcast on every state change; waiters re-check */
    _Atomic int initialized;         /* SCIInitialize count (written under lock, read lock-free) */
    unsigned int n_adapters;
    struct seg_adapter adapter[OSCI_MAX_ADAPTERS];
    pthread_t ev_thread;
    int wake_fd;                     /* eventfd: wakes the event thread */
    bool stopping;
    uint64_t grace_ms;               /* OSCI_GRACE_MS, default 1000 */
    uint64_t hb_ms;                  /* OSCI_HEARTBEAT_MS, default 200 (0: no heartbeats) */
    uint64_t hb_timeout_ms;          /* OSCI_HEARTBEAT_TIMEOUT_MS, default 1500 */
    uint64_t hb_last_tick_ms;        /* the event thread's last heartbeat check */
    int ev_fd[OSCI_MAX_ADAPTERS];    /* each adapter's event fd (-1: none) */
};
extern struct seg_lib seg;

/*
 * Internal errors are 0 or -errno; seg__to_sci makes them sci_error_t at the API edge through the
 * one list (common/osci_errors.h, docs/sisci-compat.md "Error codes"). A few errnos carry a SISCI
 * meaning of their own:
 */
#define SEG_EFLAG        EBADRQC
#define SEG_EADAPTER     ECHRNG
#define SEG_ENOTPREP     ENXIO
#define SEG_ESIZE        EMSGSIZE
#define SEG_EOFFSET      ESPIPE
#define SEG_ENOTINIT     ESHUTDOWN
#define SEG_EQUERY       ENOTTY
#define SEG_EINTNO_USED  EADDRINUSE
#define SEG_ENOINTNO     EBADSLT        /* SCI_ERR_NO_SUCH_INTNO */
#define SEG_EFLAGNI      ENOPROTOOPT    /* SCI_ERR_FLAG_NOT_IMPLEMENTED */
#define SEG_ESYSTEM      EREMOTEIO      /* SCI_ERR_SYSTEM: a peer's resource we cannot use */

/* One owner event for a local segment, or one event of a remote segment; a DMA completion's status. */
struct seg_sevent {
    sci_segment_cb_reason_t reason;
    uint32_t node;
    unsigned int adapter;
    sci_error_t status;
};

/*
 * The header every SISCI object with a user callback starts with (local and remote segments, local
 * interrupts and data interrupts, DMA queues). Its user callback runs only on the event thread, one
 * at a time, through the one runner (seg__obj_kick, seg__obj_defer). Lifetime by reference count:
 * the handle holds one and every queued or running callback run holds one; the last put frees.
 * Removed while its callback runs: seg__obj_remove marks it, waits for the callback to return
 * unless called from that callback (or another one: then none of its callbacks runs), and the
 * handle's reference goes with the remover's put; a run that finds it removed calls nothing.
 * seg.lock guards every field; `removed` and `cb_active` are atomic for lock-free readers.
 */
struct seg_obj;
struct seg_obj_ops {
    const char *name;
    bool once;           /* one call per queued run (per payload, per transfer), else drains */
    /* Lock held: the next call's event into *ev; false when there is nothing (more) to call. */
    bool (*take)(struct seg_obj *o, void *arg, struct seg_sevent *ev);
    /* No lock: call the user's callback with *ev. */
    sci_callback_action_t (*call)(struct seg_obj *o, void *arg, const struct seg_sevent *ev);
    /* Lock held, not removed: what the callback's action does (NULL: CANCEL ends the callback). */
    void (*done)(struct seg_obj *o, sci_callback_action_t act);
    /* Lock held: a run ends, `called` whether it called back (NULL: nothing to do). */
    void (*end)(struct seg_obj *o, void *arg, bool called);
    /* Lock held: the last reference went. */
    void (*free)(struct seg_obj *o);
};
struct seg_obj {
    uint32_t magic;                  /* first: seg__handle_live reads it */
    unsigned int refs;               /* the handle's + one per queued or running run */
    _Atomic bool removed;
    _Atomic bool cb_active;          /* a callback is registered and not cancelled */
    bool in_cb;                      /* its callback runs now */
    bool sched;                      /* a draining run is queued or running (not `once` objects) */
    void (*cb)(void);                /* the user's callback, cast back by ops->call */
    void *cb_arg;
    const struct seg_obj_ops *ops;
};
/* A new zeroed object of `size` bytes that starts with its header (refs 1: the handle's), or NULL. cb is
 * its callback with SCI_FLAG_USE_CALLBACK in flags, else (or cb NULL) it has none. */
void *seg__obj_new(size_t size, uint32_t magic, const struct seg_obj_ops *ops, unsigned int flags,
                   void (*cb)(void), void *cb_arg);
/* Queue a draining run unless one is queued or the callback is off (lock held). */
void seg__obj_kick(struct seg_obj *o);
/* Queue one run with `arg` (a `once` object's payload or transfer) (lock held). */
void seg__obj_defer(struct seg_obj *o, void *arg);
/* Mark removed; off the event thread wait until its callback returned (lock held, may drop it). */
void seg__obj_remove(struct seg_obj *o);
/* Drop a reference; the last one calls ops->free (lock held). */
void seg__obj_put(struct seg_obj *o);
/* Runs queued or running (the references beyond the handle's, before the remove). */
static inline unsigned int seg__obj_runs(const struct seg_obj *o) { return o->refs - 1; }

/* seg_core.c */
sci_error_t seg__to_sci(int err);                 /* -errno -> sci_error_t (edge only) */
sci_error_t seg__conf_to_sci(int err);            /* the same for configuration / init causes */
/* The one way an entry point reports: *error (if given) = seg__to_sci(rc). */
static inline void seg__set_error(sci_error_t *error, int rc)
{
    if (error)
        *error = rc == 0 ? SCI_ERR_OK : seg__to_sci(rc);
}
/* The same for an error whose cause is configuration (opening adapters, reading hosts.conf). */
static inline void seg__set_conf_error(sci_error_t *error, int rc)
{
    if (error)
        *error = seg__conf_to_sci(rc);
}
/*
 * The one entry check of a public call, in the order docs/sisci-compat.md states the common rules:
 * the library initialized (-SEG_ENOTINIT), `h` a live handle of kind `magic` (-EINVAL; magic 0: the
 * call takes no handle), no flag outside `allowed` (-SEG_EFLAG). Lock-free: data paths use it too;
 * a call that then takes seg.lock checks what it needs of the object again under it.
 */
bool seg__handle_live(const void *h, uint32_t magic); /* registered and the first u32 is `magic` */
static inline int seg__enter(const void *h, uint32_t magic, unsigned int flags, unsigned int allowed)
{
    if (atomic_load_explicit(&seg.initialized, memory_order_acquire) <= 0)
        return -SEG_ENOTINIT;
    if (magic && !seg__handle_live(h, magic))
        return -EINVAL;
    return flags & ~allowed ? -SEG_EFLAG : 0;
}
/* seg__enter, then seg.lock taken and `h` checked again under it: still live and, for an object with a
 * struct seg_obj header (`obj`), not removed (-EINVAL). Holds the lock when it returns 0, only then. */
int seg__enter_locked(const void *h, uint32_t magic, unsigned int flags, unsigned int allowed, bool obj);
/* Entry check of an adapter number: -SEG_ENOTINIT, -SEG_EADAPTER, -ENODEV or 0 and *a_p. Lock held. */
int seg__api_adapter(unsigned int adapter_no, struct seg_adapter **a_p);
/* Live-handle registry: membership is checked lock-free (data paths), add/del under seg.lock. */
int seg__handle_add(void *h);
void seg__handle_del(void *h);
bool seg__on_event_thread(void);
struct seg_adapter *seg__adapter(unsigned int no); /* NULL if not configured; lock held */
void seg__wake_event_thread(void);
int seg__send(struct seg_adapter *a, uint32_t node, const struct seg_msg *m); /* encode + msg_send, retries -EAGAIN briefly */
/* Wait on seg.cond until `deadline_ms` (0 = infinite); -ETIMEDOUT on expiry. Lock held. */
int seg__cond_wait(uint64_t deadline_ms);
uint64_t seg__deadline(unsigned int timeout_ms);   /* SCI_INFINITE_TIMEOUT -> 0 */


/* Hooks the core calls for messages and events it does not own (seg_intr.c, seg_dma.c). Lock held. */
void seg__intr_on_msg(struct seg_adapter *a, const struct seg_msg *m);
void seg__intr_on_doorbell(struct seg_adapter *a, uint64_t bits);
void seg__intr_on_peer_lost(struct seg_adapter *a, uint32_t node);
/* Descriptor close checks these (return true while the descriptor still owns such objects). */
bool seg__intr_desc_busy(sci_desc_t sd);
bool seg__dma_desc_busy(sci_desc_t sd);
/* Segment accessors the DMA engine needs (seg_lseg.c / seg_rseg.c). */
int seg__lseg_addr(sci_local_segment_t ls, void **addr_p, size_t *size_p);
/* Gives the EMPTY local segment @ls the caller's memory @view (SCIRegisterSegmentMemory; libbuf's memfds
 * and dma-bufs through the export API): addr its page-aligned mapping here, size a page multiple not below
 * the segment's size, fd (-1: none) and fd_offset (page-aligned) the same memory, for drivers and
 * read-only maps that work from the fd. The memory stays the caller's: addr and fd must stay valid until
 * the segment is removed (libseg neither unmaps nor closes them). Whether an adapter can export it is its
 * OSCI_DRV_CAP_EXPORT_FOREIGN, decided at SCIPrepareSegment. @flags: SCI_FLAG_LOCK_USER_MEM or 0. Takes
 * seg.lock. 0, or -SEG_EFLAG, -EPERM (not EMPTY, or has memory), -EFAULT (address), -SEG_ESIZE, -ERANGE
 * (smaller than the segment), -EINVAL (fd offset), or an entry error. */
int seg__lseg_register(sci_local_segment_t ls, const struct osci_drv_mem_view *view, unsigned int flags);
int seg__rseg_target(sci_remote_segment_t rs, struct seg_adapter **a_p, struct osci_drv_rmem **rmem_p,
                     size_t *size_p);
bool seg__desc_valid(sci_desc_t sd);

#endif
