/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The window-device core (docs/wdev.md): one implementation of an NTB-like window device (port
 * registers, message rings, doorbells, inbound windows, the osci_drv ops over them) over a shared
 * region that a provider supplies: simntb over /dev/shm on one host, pcishm over a PCI BAR shared by
 * two machines. The region holds no lock and every word of it has one writer (who writes which word
 * is listed below and in docs/wdev.md), so it needs no atomic read-modify-write across hosts.
 */
#ifndef WDEV_H
#define WDEV_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "osci_drv.h"
#include "osci_list.h"

/* ---- the region layout (docs/simntb.md §3 byte by byte) ---- */

#define WD_MAGIC        0x3142544e4d495355ull  /* "USIMNTB1" little-endian */
#define WD_VERSION      2u                     /* 2: single writer per word, no lock in the region */
#define WD_PAGE         4096u
#define WD_PORTS        32u
#define WD_SLOTS        16u
#define WD_DBS          64u                    /* doorbell bits per direction (OSCI_DRV_DB_COUNT) */
#define WD_INFO_SIZE    16384u
#define WD_PORT_SIZE    512u
#define WD_HDR_SIZE     4096u
#define WD_LOCAL_SIZE   64u                    /* the provider's host-local words per port */

enum wd_port_state { WD_FREE = 0, WD_JOINING = 1, WD_ACTIVE = 2 };
#define WD_F_LIVENESS_LOST 0x1u
#define WD_F_EXITING       0x2u   /* owner is exiting without close; its window is unlinked */

/* Written once by the creator before `initialized`; read once (a snapshot) at attach. */
struct wd_hdr {
    uint64_t magic;
    uint32_t version;
    uint32_t initialized;            /* written last by the creator (release) */
    uint64_t total_size;             /* bytes of the region */
    uint32_t hdr_size, max_ports;
    uint32_t port_size, ring_size;
    uint32_t ring_slots, slot_size;
    uint32_t info_size, closing;     /* closing: the last node removed the region (informative only) */
    uint64_t ports_off, rings_off, info_off;
    uint64_t default_window;
    uint64_t local_off;              /* the provider's host-local words (WD_LOCAL_SIZE per port) */
    uint32_t local_size, n_doorbells;
};

/*
 * Registers of one port. Every word is written by the port's owner only (the single writer); a
 * provider may clear the page of an owner that is dead (simntb, under its host-local claim lock).
 * Peers only read it.
 */
struct wd_port {
    uint32_t state;                  /* enum wd_port_state */
    uint32_t node_id;
    uint32_t flags;                  /* WD_F_* */
    uint32_t reserved0;
    uint64_t epoch;                  /* random per incarnation, never 0 */
    uint64_t heartbeat_ms;           /* CLOCK_MONOTONIC of the owner */
    uint64_t window_size;
    uint64_t event_mask;             /* doorbell bits reported by progress() (worth a wake-up) */
    uint32_t info_seq;               /* seqlock of the info area: odd while writing */
    uint32_t info_len;
    uint8_t reserved[200];
    uint64_t link_down[WD_PORTS];    /* epoch of port q's incarnation whose link the owner took down; 0 none */
};

struct wd_slot {
    uint32_t len;
    uint32_t reserved;
    uint64_t src_epoch;              /* sender incarnation */
    uint64_t dst_epoch;              /* receiver incarnation it was meant for */
    uint8_t data[OSCI_DRV_MSG_MAX];
};

/*
 * One direction src -> dst: a single producer (src) / single consumer (dst) message ring with
 * free-running indices, and the doorbells of that direction as counters: src bumps db_seq[b] and
 * db_count per ring of bit b, dst writes db_ack[b] := the db_seq[b] it consumed. Bit b is pending
 * while db_seq[b] != db_ack[b]. The first half is written by src only, the second by dst only.
 */
struct wd_ring {
    uint32_t head;                   /* src */
    uint32_t db_count;               /* src: rings of any bit (a reader skips an unchanged direction) */
    uint8_t pad0[56];
    uint32_t db_seq[WD_DBS];         /* src */
    uint32_t tail;                   /* dst */
    uint8_t pad1[60];
    uint32_t db_ack[WD_DBS];         /* dst */
    struct wd_slot slot[WD_SLOTS];   /* src writes a slot before head covers it */
};

/* Region offsets: constants of this build. The header's copies are checked once at attach and never
 * read again. */
#define WD_PORTS_OFF ((uint64_t)WD_HDR_SIZE)
#define WD_RINGS_OFF (WD_PORTS_OFF + (uint64_t)WD_PORTS * WD_PORT_SIZE)
#define WD_INFO_OFF  (WD_RINGS_OFF + (uint64_t)WD_PORTS * WD_PORTS * sizeof(struct wd_ring))
#define WD_LOCAL_OFF (WD_INFO_OFF + (uint64_t)WD_PORTS * WD_INFO_SIZE)
#define WD_REGION_SIZE (((WD_LOCAL_OFF + (uint64_t)WD_PORTS * WD_LOCAL_SIZE) + WD_PAGE - 1) & ~(uint64_t)(WD_PAGE - 1))

_Static_assert(sizeof(struct wd_hdr) <= WD_HDR_SIZE, "header fits its page");
_Static_assert(sizeof(struct wd_port) == WD_PORT_SIZE, "port registers fit");
_Static_assert(sizeof(struct wd_slot) == 264, "slot layout");
_Static_assert(sizeof(struct wd_ring) % 64 == 0, "ring alignment");
_Static_assert(WD_DBS == OSCI_DRV_DB_COUNT, "doorbell count");

/* Packed transport description of exported memory (little-endian). */
#define WD_XPORT_MAGIC   0x58544e53u   /* "SNTX" */
#define WD_XPORT_VERSION 1u
#define WD_XPORT_LEN     40u

/* Loads are seq_cst: as cheap as acquire on x86-64 and arm64, and they order after the seq_cst
 * stores of the arm/wake handshake (Dekker) without a fence. */
#define WD_LD(p)      __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define WD_ST(p, v)   __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define WD_LDR(p)     __atomic_load_n((p), __ATOMIC_RELAXED)

/* ---- the instance ---- */

struct wd_range { uint64_t off, len; };

struct wd_known {                     /* what this node knows of a port */
    int state;                        /* WD_K_* */
    uint64_t epoch;
    uint32_t node;
    uint64_t hb_seen, hb_at;          /* hb_remote: last heartbeat value seen, own clock when it changed */
};
enum { WD_K_NONE = 0, WD_K_UP, WD_K_DOWN, WD_K_DEAD };

#define WD_PEND 128                   /* locally queued events */

struct osci_wdev_provider_ops;

struct wdev {
    struct osci_drv base;
    const struct osci_wdev_provider_ops *prov;
    char name[64];                    /* for log lines: "<provider> <region>" */
    uint8_t *map;                     /* the region, WD_REGION_SIZE bytes */
    struct wd_hdr *hdr;
    int observer;                     /* opened through the observe ops: reads only */
    unsigned int me;                  /* own port (WD_PORTS while none) */
    pid_t pid;                        /* the opener; a forked child never frees its port */
    uint64_t epoch;
    uint64_t hb_timeout_ms;
    int hb_remote;                    /* provider: peers' clocks are not ours (other hosts): a heartbeat is
                                       * alive while its value changes, timed by our clock */
    int liveness_lost;
    uint64_t default_window;          /* the header's, checked at attach */
    /* own inbound window (the provider creates it at join) */
    int win_fd;
    off_t win_fd_off;                 /* provider: where the own window starts in win_fd (0: simntb) */
    off_t peer_fd_off[WD_PORTS];      /* provider, set by window_map: where port p's window starts in its fd */
    uint8_t *win;
    size_t win_size;
    struct wd_range *free_r;
    unsigned int n_free, cap_free;
    /* local state */
    pthread_mutex_t lock;             /* known[], pending queue, allocator, imports, provider sweep */
    pthread_mutex_t send_lock;        /* one producer per outbound ring and doorbell counter */
    pthread_mutex_t db_lock;          /* one consumer of the inbound doorbell counters */
    uint32_t flags;                   /* ours; the shared word is a copy (WD_F_*) */
    uint32_t db_seen[WD_PORTS];       /* db_count of ring [me][s] when nothing of it was left pending */
    struct wd_known known[WD_PORTS];
    uint64_t dead_epoch[WD_PORTS];    /* epochs this node declared dead (atomic) */
    uint64_t faulty_epoch[WD_PORTS];  /* incarnations declared faulty (atomic); ~0: none */
    uint32_t rx_tail[WD_PORTS];       /* our tail of ring [me][s]: we own it, the shared word is a copy */
    uint64_t event_mask;              /* ours; the shared word is a copy for ringers */
    uint64_t last_sweep_ms;
    struct osci_drv_event pend[WD_PEND];
    unsigned int pend_head, pend_count;
    struct osci_list_head pwins;      /* mapped peer windows, under lock */
};

/*
 * What a region provider supplies (docs/wdev.md). The core calls these; the provider reaches the
 * core's region through the wdev_* helpers below. Unless said otherwise an op is called with the
 * instance's lock not held and must not block on a peer.
 */
struct osci_wdev_provider_ops {
    const char *name;                 /* "simntb" */
    uint32_t card_type;               /* OSCI_DRV_CARD_* */
    uint64_t caps;                    /* provider-specific OSCI_DRV_CAP_* added to the core's */
    /* The region. Joining is the provider's open: it maps the region at w->map (WD_REGION_SIZE bytes,
     * read-write), creating and initialising it (wdev_region_init) when first or checking a snapshot of
     * its header (wdev_region_check), claims a port by its own protocol and joins (wdev_pick_port,
     * wdev_port_begin, its own window at w->win/w->win_fd, wdev_port_activate). Leaving is its close
     * (wdev_unmap_peers, free the port, wdev_free). observe_attach maps the region read-only, takes no
     * port and creates nothing; observe_detach unmaps it. */
    int (*observe_attach)(struct wdev *w, const struct osci_adapter_conf *conf);
    void (*observe_detach)(struct wdev *w);
    /* A peer's inbound window (port, epoch, size checked against the object): mapped read-write. */
    int (*window_map)(struct wdev *w, unsigned int port, uint64_t epoch, uint64_t size, uint8_t **base_p, int *fd_p);
    void (*window_unmap)(struct wdev *w, uint8_t *base, uint64_t size, int fd);
    /* Wake-ups: wake makes port's event fd readable if its owner sleeps on it; arm(1) says we are
     * about to sleep on ours (the core re-checks after it), arm(0) that we will not; event_fd is the fd
     * that becomes readable; sweep drains it and notes what it says (called with the lock held). */
    void (*wake)(struct wdev *w, unsigned int port);
    void (*arm)(struct wdev *w, int on);
    int (*event_fd)(struct wdev *w);
    void (*sweep)(struct wdev *w);
    /* Blocking doorbell waits: db_notify after a ring of port; db_wait_begin returns a ticket, the
     * core re-checks its bits, db_sleep sleeps until a notify after the ticket or the timeout (NULL:
     * none), db_wait_end closes it. */
    void (*db_notify)(struct wdev *w, unsigned int port);
    uint32_t (*db_wait_begin)(struct wdev *w);
    void (*db_sleep)(struct wdev *w, uint32_t ticket, const struct timespec *timeout);
    void (*db_wait_end)(struct wdev *w);
    /* Liveness of a peer incarnation (lock held): peer_watch starts watching a new one (0, or
     * -ESRCH when its owner is already gone); peer_state is 1 alive and watched (the provider sees
     * its death), 0 alive as far as the provider knows (the heartbeat decides), -1 dead;
     * peer_unwatch stops; peer_pid is for osci_peer_info (-1 unknown); reclaim frees the registers
     * of a dead incarnation when the provider may. */
    int (*peer_watch)(struct wdev *w, unsigned int port, uint64_t epoch);
    int (*peer_state)(struct wdev *w, unsigned int port);
    void (*peer_unwatch)(struct wdev *w, unsigned int port);
    int32_t (*peer_pid)(struct wdev *w, unsigned int port);
    void (*reclaim)(struct wdev *w, unsigned int port, uint64_t epoch);
};

/* ---- the core's entry points ---- */

/* An instance of provider prov: size is the provider's struct, which starts with struct wdev. The
 * provider's open parses the core's options (wdev_parse_opts: window=, hb_timeout=) with its own,
 * allocates, sets win_size and hb_timeout_ms, and attaches; its close calls wdev_unmap_peers, leaves,
 * and frees. */
struct wdev *wdev_alloc(const struct osci_wdev_provider_ops *prov, size_t size);
void wdev_free(struct wdev *w);
int wdev_parse_opts(const struct osci_adapter_conf *conf, uint64_t *window_p, uint64_t *hb_p);
void wdev_unmap_peers(struct wdev *w);
/* Opens an observer over provider prov (prov->observe_attach): the osci_drv_observe_ops.open of a
 * window device. */
int wdev_observe_open(const struct osci_adapter_conf *conf, const struct osci_wdev_provider_ops *prov,
                      size_t size, struct osci_drv_observe **obs_p);

/* For providers: the region. */
void wdev_region_init(struct wdev *w, uint64_t default_window);      /* all but `initialized` */
int wdev_region_check(struct wdev *w, const struct wd_hdr *snapshot, const char *what);
struct wd_port *wdev_port(struct wdev *w, unsigned int p);
struct wd_ring *wdev_ring(struct wdev *w, unsigned int dst, unsigned int src);
uint8_t *wdev_info(struct wdev *w, unsigned int p);
void *wdev_local(struct wdev *w, unsigned int p);                    /* WD_LOCAL_SIZE bytes */
/* Joining: with the provider's claim held. wdev_pick_port chooses a free port and a node id (want 0:
 * any), wdev_port_begin writes our registers (state JOINING), wdev_port_activate publishes them;
 * wdev_port_clear frees port p's registers (a dead owner's, or ours at leave). */
int wdev_pick_port(struct wdev *w, uint32_t want_node, unsigned int *port_p, uint32_t *node_p);
void wdev_port_begin(struct wdev *w, unsigned int port, uint32_t node, uint64_t epoch);
void wdev_port_activate(struct wdev *w);
void wdev_port_clear(struct wdev *w, unsigned int p);
void wdev_wake_all(struct wdev *w);                                  /* every other active port */

/* The osci_drv ops of every window device; a provider's table points at these. */
int wdev_query(struct osci_drv *drv, struct osci_drv_info *info);
int wdev_event_fd(struct osci_drv *drv);
int wdev_arm(struct osci_drv *drv);
int wdev_progress(struct osci_drv *drv, struct osci_drv_event *ev, unsigned int max);
int wdev_peers(struct osci_drv *drv, struct osci_peer_info *out, unsigned int max, unsigned int *count_p);
int wdev_probe(struct osci_drv *drv, uint32_t node);
int wdev_msg_send(struct osci_drv *drv, uint32_t node, const void *msg, size_t len);
int wdev_db_ring(struct osci_drv *drv, uint32_t node, unsigned int bit);
int wdev_db_poll(struct osci_drv *drv, uint64_t mask, uint64_t *bits_p);
int wdev_db_wait(struct osci_drv *drv, uint64_t mask, int timeout_ms, uint64_t *bits_p);
int wdev_db_set_event_mask(struct osci_drv *drv, uint64_t mask);
int wdev_mem_alloc(struct osci_drv *drv, size_t size, struct osci_drv_mem_view *view);
void wdev_mem_free(struct osci_drv *drv, struct osci_drv_mem_view *view);
int wdev_mem_export(struct osci_drv *drv, const struct osci_drv_mem_view *view, struct osci_drv_mem **mem_p);
void wdev_mem_unexport(struct osci_drv *drv, struct osci_drv_mem *mem);
int wdev_mem_pack(struct osci_drv *drv, struct osci_drv_mem *mem, void *buf, size_t *len_p);
int wdev_rmem_import(struct osci_drv *drv, uint32_t node, const void *buf, size_t len, struct osci_drv_rmem **rmem_p);
void wdev_rmem_release(struct osci_drv *drv, struct osci_drv_rmem *rm);
int wdev_put(struct osci_drv *drv, struct osci_drv_rmem *rm, size_t roff, const void *src, size_t len);
int wdev_get(struct osci_drv *drv, struct osci_drv_rmem *rm, size_t roff, void *dst, size_t len);
int wdev_rmem_map(struct osci_drv *drv, struct osci_drv_rmem *rm, size_t off, size_t len, int readonly, void **addr_p);
int wdev_rmem_unmap(struct osci_drv *drv, struct osci_drv_rmem *rm, void *addr, size_t len);
int wdev_rmem_revoke(struct osci_drv *drv, struct osci_drv_rmem *rm);
int wdev_info_publish(struct osci_drv *drv, const void *buf, size_t len);
int wdev_info_read(struct osci_drv *drv, uint32_t node, void *buf, size_t len, size_t *len_p);
int wdev_inject(struct osci_drv *drv, enum osci_fault fault, uint32_t node, unsigned int count);
/* The observe ops of every window device (struct osci_drv_observe_ops). */
int wdev_obs_query(struct osci_drv_observe *obs, struct osci_drv_info *info);
int wdev_obs_peers(struct osci_drv_observe *obs, struct osci_peer_info *out, unsigned int max, unsigned int *count_p);
int wdev_obs_info_read(struct osci_drv_observe *obs, uint32_t node, void *buf, size_t len, size_t *len_p);
void wdev_obs_close(struct osci_drv_observe *obs);

/* Internal to the core (wdev*.c). */
void wdev_fault(struct wdev *w, unsigned int p, uint64_t ep, const char *field, uint64_t value);
int wdev_link_disabled(struct wdev *w, unsigned int p);
int wdev_dead(struct wdev *w, unsigned int p);
int wdev_port_of(struct wdev *w, uint32_t node);
uint64_t wdev_random(void);

/* The ops table members every window device shares: a provider's table is
 *   { .size, .name, .open, .close, WDEV_DRV_OPS, its own optional ops, .observe }
 * and its observe table { .open, WDEV_OBSERVE_OPS }. */
#define WDEV_DRV_OPS \
    .arm = wdev_arm, \
    .db_poll = wdev_db_poll, \
    .db_ring = wdev_db_ring, \
    .db_set_event_mask = wdev_db_set_event_mask, \
    .db_wait = wdev_db_wait, \
    .event_fd = wdev_event_fd, \
    .get = wdev_get, \
    .info_publish = wdev_info_publish, \
    .info_read = wdev_info_read, \
    .inject = wdev_inject, \
    .mem_alloc = wdev_mem_alloc, \
    .mem_export = wdev_mem_export, \
    .mem_free = wdev_mem_free, \
    .mem_pack = wdev_mem_pack, \
    .mem_unexport = wdev_mem_unexport, \
    .msg_send = wdev_msg_send, \
    .peers = wdev_peers, \
    .probe = wdev_probe, \
    .progress = wdev_progress, \
    .put = wdev_put, \
    .query = wdev_query, \
    .rmem_import = wdev_rmem_import, \
    .rmem_map = wdev_rmem_map, \
    .rmem_release = wdev_rmem_release, \
    .rmem_revoke = wdev_rmem_revoke, \
    .rmem_unmap = wdev_rmem_unmap

#define WDEV_OBSERVE_OPS \
    .query = wdev_obs_query, .peers = wdev_obs_peers, .info_read = wdev_obs_info_read, .close = wdev_obs_close

#endif
