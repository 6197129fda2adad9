/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* INTER_CHIP backend, built on libseg's public SISCI API: each endpoint's receive FIFO is a segment on
 * the configured adapter, the peer writes frames into it through its map of that segment, notifications
 * are SISCI interrupts whose callback writes an eventfd. The Linux event fd is an epoll fd over that
 * eventfd and a retry timer that runs only after a transient failure to connect to the peer's segment.
 *
 * Every word of a FIFO segment after its read-only header is written by the peer only (through its map)
 * and read by the owner only (locally): the data path does local loads and remote stores, never a remote
 * load, and takes no lock and makes no system call unless the other side armed itself. */
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "ipc_internal.h"
#include "opensci/osci.h"
#include "osci_log.h"
#include "osci_seg_priv.h"
#include "osci_time.h"
#include "sisci_api.h"

#define CHIP_MAGIC 0x4f434850u       /* "OCHP" */
#define CHIP_VERSION 1u
#define CHIP_SEG_BASE 0x10000000u    /* segment ids 0x10000000..0x1fffffff: INTER_CHIP FIFOs */
#define CHIP_SEG_MASK 0x0fffffffu
#define CL 64
#define LINK_TIMEOUT_MS 200          /* one connect attempt; an absent node answers at once */
#define LINK_RETRY_NS 10000000ull    /* at least this between two attempts */
#define LINK_BACKOFF_NS 50000000ull  /* the retry timer's first delay; doubled after each failed retry ... */
#define LINK_BACKOFF_MAX_NS 2000000000ull   /* ... up to this */
#define LINK_KICK_TRIES 6u           /* timer retries of a peer that connected to us but is not found */


/* The receive FIFO segment. `info` is written by the owner before the segment becomes available. */
struct chip_info {
    uint32_t magic, version, nframes, frame_size;
    uint32_t intr_no;            /* the owner's interrupt: the peer connects to it */
    uint32_t session;            /* random, nonzero, per open */
    uint32_t node;               /* the owner's node id */
};

struct chip_hdr {
    struct chip_info info __attribute__((aligned(CL)));
    _Atomic uint64_t state __attribute__((aligned(CL)));     /* peer: its session << 32 | its conn state */
    _Atomic uint32_t tail __attribute__((aligned(CL)));      /* peer: frames it wrote into this FIFO */
    _Atomic uint32_t head __attribute__((aligned(CL)));      /* peer: frames it consumed of the owner's FIFO */
    _Atomic uint32_t armed[IPC_FIFO_ARM_N] __attribute__((aligned(CL)));   /* peer: its FIFO arm counters */
};

#define HDR_SIZE ((sizeof(struct chip_hdr) + CL - 1) & ~(size_t)(CL - 1))

struct chip_ep {
    struct ipc_ep *ep;
    struct ipc_conn conn;
    unsigned adapter, peer_node, my_node;
    uint32_t seg_id, session, nframes, fsize;
    size_t seg_size;
    int efd;                          /* written by the callbacks */
    int tfd;                          /* retry timer, armed after a transient link failure */
    int epfd;                         /* the Linux event fd: efd + tfd */
    int timer_on;
    uint64_t backoff_ns;              /* the retry timer's next delay */
    unsigned kick_tries;              /* retries left after SCI_CB_CONNECT when the peer is not found */
    int full_view;                    /* the adapter knows every joined node from the moment it joins */
    sci_desc_t sd;
    /* ours */
    sci_local_segment_t lseg;
    sci_map_t lmap;
    struct chip_hdr *lh;
    sci_local_interrupt_t lintr;
    unsigned intr_no;
    /* the peer's, while linked */
    int linked, transfer, force_transfer, geometry_warned;
    sci_remote_segment_t rseg;
    sci_map_t rmap;
    volatile struct chip_hdr *rh;     /* NULL on a transfer map (osci__map_put_word, SCIMemCpy) */
    sci_remote_interrupt_t rintr;
    uint32_t peer_session;
    uint64_t next_try_ns;
    /* set by libseg's callbacks */
    _Atomic int lost;                 /* our connection to the peer's segment went away (poll_rseg) */
    _Atomic int kick;                 /* the peer connected to our segment: 2 while we were unlinked, else 1 */
    _Atomic int linked_view;          /* = linked, for the callbacks */
    _Atomic uint64_t posted;          /* eventfd writes, counted before each write */
    uint64_t posted_seen;             /* of them, read */
    _Atomic int barrier;              /* store_word's RMW target */
    struct ipc_fifo fifo;             /* the data path */
    uint8_t *bounce;                  /* transfer map: the frame being written */
};

static int sci_to_errno(sci_error_t e)
{
    switch (e) {
    case SCI_ERR_OK: return 0;
    case SCI_ERR_SEGMENTID_USED:
    case SCI_ERR_BUSY: return -EBUSY;
    case SCI_ERR_NOSPC: return -ENOSPC;
    case SCI_ERR_NOT_SUPPORTED: return -EOPNOTSUPP;
    case SCI_ERR_ILLEGAL_ADAPTERNO:
    case SCI_ERR_NO_SUCH_ADAPTERNO:
    case SCI_ERR_ILLEGAL_NODEID: return -EPROTO;
    default: return -EIO;
    }
}

static struct chip_ep *to_chip(struct ipc_ep *ep)
{
    return ep->be;
}

/* ---- wake-ups: libseg callbacks -> eventfd ---- */
/* Count first, write after: `posted` is never below the writes made, GetEvent reads the eventfd only when the
 * count moved and adds what it read to posted_seen, so a written value is never left behind (the fd does not
 * stay readable), a write still in flight is read on a later call (its arrival wakes the caller), and a quiet
 * endpoint costs GetEvent no system call. */
static void wake(struct chip_ep *ce)
{
    uint64_t one = 1;
    atomic_fetch_add(&ce->posted, 1);
    if (write(ce->efd, &one, sizeof(one)) < 0) {
        atomic_fetch_sub(&ce->posted, 1);
        osci_log(OSCI_LOG_DEBUG, "ipc", "%s: eventfd write: %s", ce->ep->cfg.name, strerror(errno));
    }
}

static void drain(struct chip_ep *ce)
{
    uint64_t n = atomic_load(&ce->posted), v;
    if (ce->timer_on) {   /* one shot: once read, it is off */
        if (read(ce->tfd, &v, sizeof(v)) == (ssize_t)sizeof(v)) ce->timer_on = 0;
        else if (errno != EAGAIN)
            osci_log(OSCI_LOG_DEBUG, "ipc", "%s: timerfd read: %s", ce->ep->cfg.name, strerror(errno));
    }
    if (n == ce->posted_seen) return;
    if (read(ce->efd, &v, sizeof(v)) == (ssize_t)sizeof(v)) ce->posted_seen += v;
    else if (errno != EAGAIN)
        osci_log(OSCI_LOG_DEBUG, "ipc", "%s: eventfd read: %s", ce->ep->cfg.name, strerror(errno));
}

static sci_callback_action_t intr_cb(void *arg, sci_local_interrupt_t intr, sci_error_t status)
{
    (void)intr;
    (void)status;
    wake(arg);
    return SCI_CALLBACK_CONTINUE;
}

static sci_callback_action_t lseg_cb(void *arg, sci_local_segment_t seg, sci_segment_cb_reason_t reason,
                                     unsigned int node, unsigned int adapter, sci_error_t status)
{
    struct chip_ep *ce = arg;
    (void)seg;
    (void)adapter;
    (void)status;
    if (reason == SCI_CB_CONNECT) {
        if (node != ce->peer_node) return SCI_CALLBACK_CONTINUE;
        if (atomic_load(&ce->linked_view)) {   /* linked already: nothing new, unless our link is stale */
            atomic_store(&ce->kick, 1);
            return SCI_CALLBACK_CONTINUE;
        }
        atomic_store(&ce->kick, 2);
    } else if (reason != SCI_CB_DISCONNECT && reason != SCI_CB_LOST) {
        return SCI_CALLBACK_CONTINUE;   /* the link's state alone is no event of the channel */
    }
    wake(ce);   /* CB_LOST / CB_DISCONNECT: the peer left; GetEvent finds its segment's event */
    return SCI_CALLBACK_CONTINUE;
}

/* Events of our connection to the peer's segment, polled (no callback: libseg may still run a deferred
 * callback drain of a remote segment after SCIDisconnectSegment freed it). The peer's loss also reaches
 * our segment's callback (its connection to us), which wakes the caller. */
static void poll_rseg(struct chip_ep *ce)
{
    for (;;) {
        sci_error_t e, status;
        sci_segment_cb_reason_t r = SCIWaitForRemoteSegmentEvent(ce->rseg, &status, 0, 0, &e);
        if (e != SCI_ERR_OK) return;
        if (r == SCI_CB_LOST || r == SCI_CB_DISCONNECT) atomic_store(&ce->lost, 1);
    }
}

/* ---- stores into the peer's segment ---- */
/* Offset of our word `w` in the peer's FIFO segment header. */
static size_t word_off(enum ipc_fifo_word w)
{
    switch (w) {
    case IPC_FW_TAIL: return offsetof(struct chip_hdr, tail);
    case IPC_FW_HEAD: return offsetof(struct chip_hdr, head);
    default: return offsetof(struct chip_hdr, armed) + (size_t)IPC_FIFO_ARM(w) * sizeof(uint32_t);
    }
}

/*
 * Through a transfer map (rdma): one libseg call puts the frame (if any) and the word, waits until they
 * landed (Dekker needs the store in the peer's memory before our next load: a put is posted) and fences.
 * Then a full barrier of our own (a locked RMW; TSan does not take atomic_thread_fence).
 */
static void put_word(struct chip_ep *ce, size_t off, const void *frame, size_t len, size_t woff, uint32_t v)
{
    int ret;
    if (!ce->linked) return;   /* the peer left: nobody reads it */
    if ((ret = osci__map_put_word(ce->rmap, off, frame, len, woff, v)) < 0)   /* the peer is gone: its callback brings the reset */
        osci_log(OSCI_LOG_DEBUG, "ipc", "%s: put into the peer's FIFO: %s", ce->ep->cfg.name, strerror(-ret));
    atomic_fetch_add(&ce->barrier, 0);
}

/* Sequentially consistent: Dekker with the local load of the peer's index or armed word after it. */
static void store32(struct chip_ep *ce, size_t off, uint32_t v)
{
    if (!ce->linked) return;
    if (ce->rh) atomic_store((_Atomic uint32_t *)((volatile uint8_t *)ce->rh + off), v);
    else put_word(ce, 0, NULL, 0, off, v);
}

static void store64(struct chip_ep *ce, size_t off, uint64_t v)
{
    sci_error_t e;
    if (!ce->linked) return;
    if (ce->rh) {
        atomic_store((_Atomic uint64_t *)((volatile uint8_t *)ce->rh + off), v);
        return;
    }
    SCIMemCpy(NULL, &v, ce->rmap, off, sizeof(v), SCI_FLAG_ERROR_CHECK, &e);   /* ERROR_CHECK: put and flush */
    if (e != SCI_ERR_OK)
        osci_log(OSCI_LOG_DEBUG, "ipc", "%s: SCIMemCpy: %s", ce->ep->cfg.name, SCIGetErrorString(e));
    atomic_fetch_add(&ce->barrier, 0);
}

static void trigger(struct chip_ep *ce)
{
    sci_error_t e;
    if (!ce->linked) return;
    SCITriggerInterrupt(ce->rintr, 0, &e);
    if (e != SCI_ERR_OK)
        osci_log(OSCI_LOG_DEBUG, "ipc", "%s: SCITriggerInterrupt: %s", ce->ep->cfg.name, SCIGetErrorString(e));
}

/* ---- the FIFO's hooks: our words are in the peer's segment, the peer's in ours ---- */
static void fifo_store(void *ctx, enum ipc_fifo_word w, uint32_t v)
{
    store32(ctx, word_off(w), v);
}

static void fifo_put_frame(void *ctx, uint32_t slot, const void *frame, uint32_t tail)
{
    struct chip_ep *ce = ctx;
    put_word(ce, HDR_SIZE + (size_t)slot * ce->fsize, frame, ce->fsize, word_off(IPC_FW_TAIL), tail);
}

static void fifo_notify(void *ctx, enum ipc_fifo_whom whom)
{
    if (whom == IPC_FIFO_SELF) wake(ctx);
    else trigger(ctx);
}

static const struct ipc_fifo_backend chip_fifo_be = {
    .store = fifo_store,
    .put_frame = fifo_put_frame,
    .notify = fifo_notify,
};

/* Points the FIFO's stores at the peer's segment (a load/store map) or at fifo_store (a transfer map, or
 * unlinked: nothing is stored). */
static void fifo_link(struct chip_ep *ce)
{
    struct ipc_fifo *f = &ce->fifo;
    volatile uint8_t *rh = ce->linked ? (volatile uint8_t *)ce->rh : NULL;
    int w;
    for (w = 0; w < IPC_FW_N; w++) f->out[w] = rh ? (_Atomic uint32_t *)(rh + word_off(w)) : NULL;
    f->tx_frames = rh ? (uint8_t *)rh + HDR_SIZE : NULL;
}

/* ---- the handshake's hooks (ipc_conn.c) ---- */
static void conn_publish(void *ctx, uint32_t state)
{
    struct chip_ep *ce = ctx;
    if (ce->linked) store64(ce, offsetof(struct chip_hdr, state), ipc__conn_word(ce->session, state));
}

static void conn_clear(void *ctx)
{
    struct chip_ep *ce = ctx;
    if (ce->linked) {
        store32(ce, offsetof(struct chip_hdr, tail), 0);
        store32(ce, offsetof(struct chip_hdr, head), 0);
    }
    ipc__fifo_clear(&ce->fifo);
}

static void conn_notify(void *ctx)
{
    trigger(ctx);
}

/* A state written by another incarnation of the peer (another session) does not count. */
static uint32_t conn_peer_state(void *ctx)
{
    struct chip_ep *ce = ctx;
    uint32_t st;
    if (!ce->linked) return IPC_CS_DISC;
    st = ipc__conn_word_state(atomic_load_explicit(&ce->lh->state, memory_order_acquire), ce->peer_session);
    return st == IPC_CS_COUNT ? IPC_CS_DISC : st;
}

static const struct ipc_conn_ops chip_conn_ops = {
    .publish = conn_publish,
    .clear = conn_clear,
    .notify = conn_notify,
    .peer_state = conn_peer_state,
};

/* ---- the link to the peer's segment and interrupt ---- */
static void unlink_peer(struct chip_ep *ce)
{
    sci_error_t e;
    if (ce->rintr) SCIDisconnectInterrupt(ce->rintr, 0, &e);
    if (ce->rmap) SCIUnmapSegment(ce->rmap, 0, &e);
    if (ce->rseg) SCIDisconnectSegment(ce->rseg, 0, &e);
    ce->rintr = NULL;
    ce->rmap = NULL;
    ce->rseg = NULL;
    ce->rh = NULL;
    ce->linked = 0;
    fifo_link(ce);
    atomic_store(&ce->linked_view, 0);
    ce->peer_session = 0;
    atomic_store(&ce->lost, 0);
}

static int read_peer_info(struct chip_ep *ce, struct chip_info *info)
{
    sci_error_t e = SCI_ERR_OK;
    if (ce->rh) memcpy(info, (const void *)&ce->rh->info, sizeof(*info));
    else SCIMemCpy(NULL, info, ce->rmap, offsetof(struct chip_hdr, info), sizeof(*info), SCI_FLAG_BLOCK_READ, &e);
    return e == SCI_ERR_OK ? 0 : -EIO;
}

/* One attempt: 0 linked; -ENOENT the peer's segment is not there (its open will connect to ours and kick
 * us); -EAGAIN a transient failure (retried on the timer); other errors logged. */
static int link_peer(struct chip_ep *ce)
{
    struct chip_info info;
    sci_error_t e;
    void *p;
    SCIConnectSegment(ce->sd, &ce->rseg, ce->peer_node, ce->seg_id, ce->adapter, NULL, NULL, LINK_TIMEOUT_MS, 0,
                      &e);
    if (e != SCI_ERR_OK) {
        ce->rseg = NULL;
        if (e == SCI_ERR_NO_SUCH_SEGMENT) {   /* or a node not up: a link that is down is retried */
            SCIProbeNode(ce->sd, ce->adapter, ce->peer_node, 0, &e);
            return e == SCI_ERR_NO_LINK_ACCESS ? -EAGAIN : -ENOENT;
        }
        if (e == SCI_ERR_NO_SUCH_NODEID) return -ENOENT;
        if (e == SCI_ERR_NO_LINK_ACCESS || e == SCI_ERR_TIMEOUT || e == SCI_ERR_NODE_NOT_RESPONDING ||
            e == SCI_ERR_NOT_CONNECTED)
            return -EAGAIN;
        osci_log(OSCI_LOG_ERROR, "ipc", "%s: SCIConnectSegment(node %u, segment %#x): %s", ce->ep->cfg.name,
                 ce->peer_node, ce->seg_id, SCIGetErrorString(e));
        return sci_to_errno(e);
    }
    if (SCIGetRemoteSegmentSize(ce->rseg) != ce->seg_size) goto geometry;
    p = NULL;
    if (!ce->force_transfer) p = (void *)SCIMapRemoteSegment(ce->rseg, &ce->rmap, 0, ce->seg_size, NULL, 0, &e);
    if (ce->force_transfer || e == SCI_ERR_NOT_SUPPORTED) {   /* rdma: no load/store map, SCIMemCpy instead */
        SCIMapRemoteSegment(ce->rseg, &ce->rmap, 0, ce->seg_size, NULL, SCI_FLAG_OSCI_TRANSFER_MAP, &e);
        p = NULL;
    }
    if (e != SCI_ERR_OK) {
        ce->rmap = NULL;
        unlink_peer(ce);
        return -EAGAIN;   /* link down or lost meanwhile */
    }
    ce->rh = p;
    ce->transfer = p == NULL;
    if (read_peer_info(ce, &info) < 0) {
        unlink_peer(ce);
        return -EAGAIN;
    }
    if (info.magic != CHIP_MAGIC || info.version != CHIP_VERSION || info.nframes != ce->nframes ||
        info.frame_size != ce->fsize || info.session == 0 || info.node != ce->peer_node)
        goto geometry;
    SCIConnectInterrupt(ce->sd, &ce->rintr, ce->peer_node, ce->adapter, info.intr_no, LINK_TIMEOUT_MS, 0, &e);
    if (e != SCI_ERR_OK) {
        ce->rintr = NULL;
        unlink_peer(ce);
        return -EAGAIN;
    }
    ce->peer_session = info.session;
    ce->linked = 1;
    fifo_link(ce);
    atomic_store(&ce->linked_view, 1);
    osci_log(OSCI_LOG_DEBUG, "ipc", "%s: linked to node %u (session %08x, %s)", ce->ep->cfg.name, ce->peer_node,
             info.session, ce->transfer ? "transfer map" : "load/store map");
    conn_publish(ce, ce->conn.state);
    trigger(ce);
    return 0;
geometry:
    if (!ce->geometry_warned)
        osci_log(OSCI_LOG_ERROR, "ipc", "%s: the FIFO segment %#x of node %u has another geometry or format "
                 "(the two nodes' configs disagree: nframes/frame_size must match)", ce->ep->cfg.name, ce->seg_id,
                 ce->peer_node);
    ce->geometry_warned = 1;
    unlink_peer(ce);
    return -EPROTO;
}

/* Arms (ns > 0) or disarms the one-shot retry timer; the event fd turns readable when it expires. */
static void set_timer(struct chip_ep *ce, uint64_t ns)
{
    struct itimerspec its = { { 0, 0 }, { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) } };
    if (!ns && !ce->timer_on) return;
    if (timerfd_settime(ce->tfd, 0, &its, NULL) < 0)
        osci_log(OSCI_LOG_WARN, "ipc", "%s: timerfd_settime: %s", ce->ep->cfg.name, strerror(errno));
    else
        ce->timer_on = ns != 0;
}

/*
 * Handles the callbacks' news and retries the link; never blocks for long. An absent peer (no such segment or
 * node) is not retried when the peer will find us: its open connects to our segment right after exporting its
 * own (SCI_CB_CONNECT kicks us), so of two ends the later one always links. That holds where an adapter knows
 * every joined node from the moment it joins (simntb). Elsewhere (rdma: links to other hosts come up later,
 * without an event), after a transient failure, and for a while after the peer connected to us, the retry
 * timer runs, with a backoff (50 ms doubling to 2 s).
 */
static void progress(struct chip_ep *ce, int force)
{
    uint64_t now;
    int ret;
    if (ce->linked) poll_rseg(ce);
    if (atomic_exchange(&ce->lost, 0) && ce->linked) {
        osci_log(OSCI_LOG_INFO, "ipc", "%s: lost the peer's segment (node %u)", ce->ep->cfg.name, ce->peer_node);
        unlink_peer(ce);
        ce->next_try_ns = 0;
    }
    switch (atomic_exchange(&ce->kick, 0)) {
    case 2: ce->kick_tries = LINK_KICK_TRIES; ce->backoff_ns = LINK_BACKOFF_NS; /* fall through */
    case 1: force = 1; break;
    default: break;
    }
    if (ce->linked) {
        set_timer(ce, 0);
        return;
    }
    now = osci_now_ns();
    if (!force && now < ce->next_try_ns) return;
    ret = link_peer(ce);
    if (ret == 0) {
        ce->kick_tries = 0;
        ce->backoff_ns = LINK_BACKOFF_NS;
        set_timer(ce, 0);
        return;
    }
    ce->next_try_ns = now + LINK_RETRY_NS;
    if (ret == -EAGAIN || (ret == -ENOENT && (!ce->full_view || (ce->kick_tries > 0 && ce->kick_tries--)))) {
        set_timer(ce, ce->backoff_ns);
        ce->backoff_ns = ce->backoff_ns * 2 > LINK_BACKOFF_MAX_NS ? LINK_BACKOFF_MAX_NS : ce->backoff_ns * 2;
    } else {
        set_timer(ce, 0);
    }
}

/* ---- open / close ---- */
static uint32_t seg_id_of(const char *name)
{
    uint32_t h = 2166136261u;   /* FNV-1a */
    for (; *name; name++) h = (h ^ (uint8_t)*name) * 16777619u;
    return CHIP_SEG_BASE | (h & CHIP_SEG_MASK);
}

static void chip_free(struct chip_ep *ce)
{
    sci_error_t e;
    unlink_peer(ce);
    if (ce->lseg) {
        if (ce->lmap) SCIUnmapSegment(ce->lmap, 0, &e);
        SCIRemoveSegment(ce->lseg, SCI_FLAG_FORCE_REMOVE, &e);
        if (e != SCI_ERR_OK)
            osci_log(OSCI_LOG_WARN, "ipc", "%s: SCIRemoveSegment: %s", ce->ep->cfg.name, SCIGetErrorString(e));
    }
    if (ce->lintr) SCIRemoveInterrupt(ce->lintr, 0, &e);
    if (ce->sd) SCIClose(ce->sd, 0, &e);
    if (ce->sd) SCITerminate();
    if (ce->epfd >= 0) close(ce->epfd);
    if (ce->tfd >= 0) close(ce->tfd);
    if (ce->efd >= 0) close(ce->efd);
    free(ce->bounce);
    free(ce);
}

static int create_fifo(struct chip_ep *ce)
{
    sci_error_t e;
    unsigned i;
    struct chip_hdr *h;
    SCICreateInterrupt(ce->sd, &ce->lintr, ce->adapter, &ce->intr_no, intr_cb, ce, SCI_FLAG_USE_CALLBACK, &e);
    if (e != SCI_ERR_OK) {
        ce->lintr = NULL;
        osci_log(OSCI_LOG_ERROR, "ipc", "%s: SCICreateInterrupt(adapter %u): %s", ce->ep->cfg.name, ce->adapter,
                 SCIGetErrorString(e));
        return sci_to_errno(e);
    }
    SCICreateSegment(ce->sd, &ce->lseg, ce->seg_id, ce->seg_size, lseg_cb, ce, SCI_FLAG_USE_CALLBACK, &e);
    if (e != SCI_ERR_OK) {
        ce->lseg = NULL;
        osci_log(e == SCI_ERR_SEGMENTID_USED ? OSCI_LOG_INFO : OSCI_LOG_ERROR, "ipc", "%s: SCICreateSegment(%#x): %s",
                 ce->ep->cfg.name, ce->seg_id, SCIGetErrorString(e));
        return sci_to_errno(e);
    }
    h = (struct chip_hdr *)SCIMapLocalSegment(ce->lseg, &ce->lmap, 0, ce->seg_size, NULL, 0, &e);
    if (e != SCI_ERR_OK) {
        ce->lmap = NULL;
        return sci_to_errno(e);
    }
    memset(h, 0, HDR_SIZE);
    h->info = (struct chip_info){ .magic = CHIP_MAGIC, .version = CHIP_VERSION, .nframes = ce->nframes,
                                  .frame_size = ce->fsize, .intr_no = ce->intr_no, .session = ce->session,
                                  .node = ce->my_node };
    ce->lh = h;
    ce->fifo.rx_frames = (uint8_t *)h + HDR_SIZE;
    ce->fifo.in_tail = &h->tail;
    ce->fifo.in_head = &h->head;
    for (i = 0; i < IPC_FIFO_ARM_N; i++) ce->fifo.in_arm[i] = &h->armed[i];
    SCIPrepareSegment(ce->lseg, ce->adapter, 0, &e);
    if (e == SCI_ERR_OK) SCISetSegmentAvailable(ce->lseg, ce->adapter, 0, &e);
    if (e != SCI_ERR_OK) {
        osci_log(OSCI_LOG_ERROR, "ipc", "%s: exporting segment %#x on adapter %u: %s", ce->ep->cfg.name, ce->seg_id,
                 ce->adapter, SCIGetErrorString(e));
        return sci_to_errno(e);
    }
    return 0;
}

static int make_fds(struct chip_ep *ce)
{
    struct epoll_event ev = { .events = EPOLLIN };
    if ((ce->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) return -errno;
    if ((ce->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) < 0) return -errno;
    if ((ce->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) return -errno;
    ev.data.fd = ce->efd;
    if (epoll_ctl(ce->epfd, EPOLL_CTL_ADD, ce->efd, &ev) < 0) return -errno;
    ev.data.fd = ce->tfd;
    if (epoll_ctl(ce->epfd, EPOLL_CTL_ADD, ce->tfd, &ev) < 0) return -errno;
    return 0;
}

static int chip_open(struct ipc_ep *ep)
{
    const struct ipc_cfg_ep *cfg = &ep->cfg;
    struct chip_ep *ce;
    const char *force;
    sci_error_t e;
    int ret;

    if ((ret = ipc__chip_route(&ep->cfg)) < 0) return ret;
    if (cfg->gid != IPC_GID_NONE && !ipc__in_group((gid_t)cfg->gid)) return -EACCES;
    if (!(ce = calloc(1, sizeof(*ce)))) return -ENOMEM;
    ce->ep = ep;
    ce->efd = ce->tfd = ce->epfd = -1;
    ce->adapter = cfg->adapter;
    ce->peer_node = cfg->peer_node;
    ce->nframes = cfg->nframes;
    ce->fsize = cfg->frame_size;
    ce->seg_id = seg_id_of(cfg->name);
    ce->seg_size = HDR_SIZE + (size_t)cfg->nframes * cfg->frame_size;
    ce->conn = (struct ipc_conn){ .ops = &chip_conn_ops, .ctx = ce, .name = ep->cfg.name, .fifo = &ce->fifo };
    force = getenv("OSCI_IPC_CHIP_TRANSFER");
    ce->force_transfer = force && *force == '1';
    while (ce->session == 0)
        if (getrandom(&ce->session, sizeof(ce->session), 0) != sizeof(ce->session)) ce->session = (uint32_t)osci_now_ns();
    ce->fifo = (struct ipc_fifo){ .be = &chip_fifo_be, .ctx = ce, .conn = &ce->conn,
                                  .notify_enabled = &ep->notify_enabled, .nframes = ce->nframes, .fsize = ce->fsize,
                                  /* a new session's counters differ from what the peer answered before */
                                  .arm_mine = { ce->session, ce->session * 3u, ce->session * 5u } };
    atomic_init(&ce->lost, 0);
    atomic_init(&ce->kick, 0);
    atomic_init(&ce->linked_view, 0);
    atomic_init(&ce->posted, 0);
    ce->backoff_ns = LINK_BACKOFF_NS;
    if (!(ce->bounce = calloc(1, ce->fsize))) {
        free(ce);
        return -ENOMEM;
    }
    ce->fifo.bounce = ce->bounce;
    if ((ret = make_fds(ce)) < 0) goto err;
    /* libseg counts SCIInitialize calls: the endpoint's descriptor holds one (chip_free gives it back) */
    SCIInitialize(0, &e);
    if (e != SCI_ERR_OK) {
        osci_log(OSCI_LOG_ERROR, "ipc", "INTER_CHIP: SCIInitialize: %s", SCIGetErrorString(e));
        ret = -EIO;
        goto err;
    }
    SCIOpen(&ce->sd, 0, &e);
    if (e != SCI_ERR_OK) {
        ce->sd = NULL;
        SCITerminate();
        ret = sci_to_errno(e);
        goto err;
    }
    SCIGetLocalNodeId(ce->adapter, &ce->my_node, 0, &e);
    if (e != SCI_ERR_OK) {
        osci_log(OSCI_LOG_ERROR, "ipc", "%s: adapter %u (INTER_CHIP device %s): %s", cfg->name, ce->adapter,
                 cfg->info_text, SCIGetErrorString(e));
        ret = -EPROTO;
        goto err;
    }
    {
        uint32_t caps = 0;
        ce->full_view = osci_adapter_caps(ce->adapter, &caps) == 0 && (caps & OSCI_ADAPTER_FULL_VIEW);
    }
    if (ce->my_node == ce->peer_node) {
        osci_log(OSCI_LOG_ERROR, "ipc", "%s: peer=%u is this process's own node on adapter %u", cfg->name,
                 ce->peer_node, ce->adapter);
        ret = -EPROTO;
        goto err;
    }
    if ((ret = create_fifo(ce)) < 0) goto err;
    ep->be = ce;
    ep->fifo = &ce->fifo;
    ep->native.fd = ce->epfd;
    progress(ce, 1);
    return 0;
err:
    chip_free(ce);
    return ret;
}

static void chip_close(struct ipc_ep *ep)
{
    struct chip_ep *ce = to_chip(ep);
    ipc__conn_close(&ce->conn);
    chip_free(ce);
}

static void chip_take_wakeups(struct ipc_ep *ep)
{
    drain(to_chip(ep));
}

static void chip_progress(struct ipc_ep *ep)
{
    progress(to_chip(ep), 0);
}

const struct ipc_backend_ops ipc__chip_ops = {
    .size = sizeof(struct ipc_backend_ops),
    .close = chip_close,
    .open = chip_open,
    .progress = chip_progress,
    .take_wakeups = chip_take_wakeups,
};
