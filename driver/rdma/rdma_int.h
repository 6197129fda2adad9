/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * rdma fabric driver (ARCHITECTURE §3.3): one RC QP per peer set up with librdmacm, control
 * messages and doorbells as SENDs into pre-posted receive buffers, exported memory registered in
 * chunks, put/get as RDMA WRITE/READ. A node without a connection to a peer connects (the lower
 * id at once, the higher after retry_ms); crossed attempts keep the lower id's (rdma__cm_admit),
 * and a request from a peer we hold a connection to replaces it. CM private data carries {magic,
 * version, node id, epoch}. A send without completion for stall_ms fails its connection. See
 * docs/rdma.md.
 *
 * Threads: progress()/arm() run in one event thread and own the CM channel, the completion
 * channel and every receive CQ. User threads call msg_send/db_ring/put/get/flush: they take a
 * reference on the peer's connection under d->lock and use its send CQ under conn->send_lock.
 * A put is posted: its data is copied into the connection's ring (or inline) and not waited for;
 * flush waits for it, and an rmem keeps a reference on the connection carrying its unconfirmed
 * puts. A get waits for its completions by polling the send CQ, then sleeping on the send CQ's
 * own completion channel: one waiter (the leader) sleeps in poll() on its fd, the others on
 * conn->send_cond, and every completion event wakes them all to reap. A failed connection
 * becomes a zombie, freed by progress() once no user or rmem holds it.
 *
 * Observe mode (osci-seginfo): the device is opened for query() only. A running node publishes its
 * peer table and libseg's info blob in a small /dev/shm file (rdma__pub_*), which peers() and
 * info_read() of an observer read.
 *
 * Files (each a section of the driver; this header holds what they share):
 *   rdma_conn.c      event queue, connection state machine, connection resources, link state
 *   rdma_cm.c        CM events: connect requests (admission), resolution, establishment, failures
 *   rdma_progress.c  receive side, housekeeping, zombies; ops progress/arm/event_fd
 *   rdma_msg.c       send side: connection references, send completions, messages and doorbells
 *   rdma_mem.c       exported and imported memory
 *   rdma_xfer.c      put/get/flush: waits on the send CQ, synchronous transfers, posted puts
 *   rdma_info.c      peers, publish file, probe, query, fault injection
 *   rdma.c           open/close and the ops table
 *   rdma_wire.c      what needs no device (rdma.h): options, wire formats, admission, publish file
 */
#ifndef OSCI_RDMA_INT_H
#define OSCI_RDMA_INT_H

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#include "osci_list.h"
#include "rdma.h"

#define MOD "rdma"
#define RDMA_RECV_DEPTH   64
#define RDMA_SEND_DEPTH   128
#define RDMA_EVQ          512
#define RDMA_EVQ_MSG_MAX  (RDMA_EVQ / 2)   /* received messages stop here; the rest is for link events */
#define RDMA_STASH        16
#define RDMA_TICK_MS      100
#define RDMA_RESOLVE_MS   2000
#define RDMA_CONNECT_MS   3000             /* an attempt not established by then is dropped and retried */
#define RDMA_ACK_TIMEOUT  16               /* 4.096 us << 16 = 268 ms per transport retry */
#define RDMA_RETRY_COUNT  7
#define RDMA_MAX_WR       (1u << 20)       /* largest RDMA WRITE/READ work request */
#define RDMA_MAX_HOSTS    255
#define RDMA_PUT_DEPTH    (RDMA_SEND_DEPTH - 16)   /* posted puts leave room for messages and doorbells */
#define RDMA_PUT_PIECE    (256u << 10)     /* largest piece of a posted put (at most half the ring) */
#define RDMA_COPY_MAX     (256u << 10)     /* a larger put from exported memory goes zero copy, waited for */
#define RDMA_SPIN_MAX_US  5000             /* longest spin of a waiter for its own work (see wait_cq, rdma_xfer.c) */

enum conn_state { CONN_NEW, CONN_RESOLVING_ADDR, CONN_RESOLVING_ROUTE, CONN_CONNECTING, CONN_ACCEPTING, CONN_UP,
                  CONN_CLOSED, CONN_STATE_COUNT };
enum conn_event { CEV_START, CEV_ACCEPT, CEV_ADDR_RESOLVED, CEV_ROUTE_RESOLVED, CEV_ESTABLISHED, CEV_FAIL,
                  CEV_COUNT };
enum conn_fail_why { WHY_ERROR, WHY_DISCONNECTED, WHY_RETRY_EXCEEDED, WHY_REPLACED, WHY_STALLED, WHY_TIMEOUT,
                    WHY_LOCAL };

struct rdma_drv;

struct rdma_conn {
    struct rdma_drv *d;
    struct osci_list_node zombie_link; /* in d->zombies once failed */
    uint32_t node;
    bool active;                     /* we connect (else we accepted the peer's request) */
    uint64_t started_ms;             /* attempt or accept began */
    bool cm_live;                    /* failed after the CM spoke to the peer: disconnect/destroy send MADs */
    bool disconnected;               /* rdma_disconnect done (a zombie with cm_live waits for it) */
    enum conn_state state;           /* written only by rd_conn_step() */
    struct rdma_cm_id *id;
    struct ibv_cq *recv_cq, *send_cq;
    bool has_qp;
    uint8_t *recv_buf, *send_buf;
    struct ibv_mr *recv_mr, *send_mr;
    uint64_t peer_epoch;
    unsigned int refs;               /* user calls in flight (d->lock) */
    bool cq_armed;
    unsigned int n_stash;            /* completions taken by arm() for progress() */
    struct ibv_wc stash[RDMA_STASH];
    pthread_mutex_t send_lock;       /* send CQ, counters and wait state below */
    pthread_cond_t send_cond;        /* waiters that are not the leader */
    struct ibv_comp_channel *send_cc;
    bool send_armed;                 /* send CQ armed: its next completion raises an event */
    bool send_leader;                /* a waiter sleeps on send_cc's fd */
    bool abandoned;                  /* a wait timed out: wr_ids may point at dead waiters */
    unsigned int sq_out;
    uint64_t sq_progress_ms;         /* last completion, or the post that made sq_out non-zero */
    uint64_t msg_posted;
    uint32_t max_inline;
    _Atomic int wc_error;            /* first send-side error: ibv_wc_status + 1 */
    /* posted puts (send_lock): data copied into the ring, or inline, and not waited for */
    uint8_t *ring;                   /* registered on first use, o.bounce bytes */
    struct ibv_mr *ring_mr;
    uint64_t ring_head, ring_tail;   /* ring bytes handed out / given back, monotonic */
    uint64_t post_seq;               /* posted writes issued */
    uint64_t post_done;              /* ... completed (RC completes them in order) */
    uint64_t post_ok;                /* ... completed, all without error: a prefix of post_done */
    uint64_t done_ns;                /* running average of a get's (or waited put's) wait for completion */
};

struct rdma_peer {
    const struct rdma_host *host;    /* NULL: not in hosts.conf */
    struct rdma_conn *conn;          /* the current attempt or connection */
    bool link_up;
    bool held_down;                  /* inject(LINK_DOWN) until inject(LINK_UP) */
    uint64_t epoch;                  /* last known incarnation, 0: none */
    uint64_t dead_epoch;             /* PEER_DEAD reported for it */
    uint64_t next_retry_ms;
    uint64_t last_rx_ms;
};

struct osci_drv_mem {
    struct osci_list_node link;      /* in d->exports */
    uint8_t *addr;                   /* the mapping; NULL: a dma-buf registered without one */
    uint64_t iova;                   /* the registrations' address: addr, or 0 without a mapping */
    size_t size;
    uint64_t chunk;
    uint32_t n;
    struct ibv_mr *mr[RDMA_XPORT_MAX_CHUNKS];
};

struct osci_drv_rmem {
    uint32_t node;
    uint64_t epoch;                  /* the incarnation that exported it */
    struct rdma_xport x;
    pthread_mutex_t lock;            /* the posted-put state below; taken before d->lock and send_lock */
    struct rdma_conn *pc;            /* holds this rmem's unconfirmed posted puts (a reference), NULL: none */
    uint64_t pseq;                   /* pc->post_seq after this rmem's last posted put */
    int err;                         /* first failure of a posted put, not yet reported */
};

struct rdma_drv {
    struct osci_drv base;            /* first: to_rdma() */
    struct rdma_opts o;
    bool observe;                    /* query/peers/info_read only */
    char gid[INET6_ADDRSTRLEN];      /* the GID in use, "" when unknown */
    char pub_name[128];              /* publish file (shm name) */
    void *pub;                       /* its read-write map (running node), NULL: none */
    pthread_mutex_t lock;
    char dev_name[64];
    struct ibv_context *ctx;
    struct ibv_pd *pd;
    struct ibv_comp_channel *cc;
    struct rdma_event_channel *ch;
    struct rdma_cm_id *listen_id;
    uint32_t max_wr_len;
    uint8_t rd_atom;
    bool port_down;                  /* last seen not ACTIVE: CM teardown of zombies waits */
    struct sockaddr_storage local;
    uint64_t epoch;
    int epfd, tfd, wfd;
    unsigned int n_hosts;
    struct rdma_host hosts[RDMA_MAX_HOSTS];
    struct rdma_peer peer[256];
    struct osci_list_head zombies;   /* failed connections (lock) */
    unsigned int evq_head, evq_n;
    struct osci_drv_event evq[RDMA_EVQ];
    _Atomic uint64_t db_pending, db_mask;
    _Atomic uint32_t db_last_node;
    struct osci_list_head exports;   /* exported memory (lock) */
    bool no_dmabuf_mr;               /* ibv_reg_dmabuf_mr refused as unsupported once (lock) */
    bool one_cpu;                    /* one CPU online: a spinning waiter yields it */
    pthread_mutex_t bounce_lock;     /* the bounce buffer of gets (and large puts) from unregistered memory */
    uint8_t *bounce;
    struct ibv_mr *bounce_mr;
};

struct rdma_wait {
    unsigned int pending;
    enum ibv_wc_status status;
    bool failed;
};

static inline struct rdma_drv *to_rdma(struct osci_drv *drv)
{
    return (struct rdma_drv *)((char *)drv - offsetof(struct rdma_drv, base));
}

static inline const char *addr_str(const struct sockaddr *sa, char *buf, size_t len)
{
    const void *a = NULL;
    if (!sa)
        return "?";
    if (sa->sa_family == AF_INET)
        a = &((const struct sockaddr_in *)sa)->sin_addr;
    else if (sa->sa_family == AF_INET6)
        a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
    if (!a || !inet_ntop(sa->sa_family, a, buf, (socklen_t)len))
        snprintf(buf, len, "?");
    return buf;
}

static inline void set_port(struct sockaddr_storage *ss, uint16_t port)
{
    if (ss->ss_family == AF_INET)
        ((struct sockaddr_in *)ss)->sin_port = htons(port);
    else if (ss->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

static inline void wake(struct rdma_drv *d)
{
    uint64_t one = 1;
    if (write(d->wfd, &one, sizeof(one)) < 0) {
        /* the counter is already non-zero: the event thread will run */
    }
}

/* ---- rdma_conn.c ---- */
void rd_evq_push(struct rdma_drv *d, enum osci_drv_event_type type, uint32_t node, uint64_t epoch, const void *msg,
                 uint32_t len);
int rd_conn_step(struct rdma_conn *c, enum conn_event ev);
int rd_set_nonblock(int fd);
struct rdma_conn *rd_conn_new(struct rdma_drv *d, uint32_t node, bool active);
void rd_conn_free(struct rdma_conn *c);
int rd_conn_post_recv(struct rdma_conn *c, unsigned int i);
int rd_conn_setup_qp(struct rdma_drv *d, struct rdma_conn *c);
void rd_conn_param_init(struct rdma_drv *d, struct rdma_conn_param *p, uint8_t priv[RDMA_CM_PRIV_LEN]);
void rd_set_ack_timeout(struct rdma_cm_id *id, uint32_t node);
bool rd_port_active(struct rdma_drv *d);
void rd_peer_schedule_retry(struct rdma_drv *d, uint32_t node, uint64_t delay_ms);
void rd_conn_fail(struct rdma_drv *d, struct rdma_conn *c, enum conn_fail_why why);
void rd_conn_up(struct rdma_drv *d, struct rdma_conn *c, uint64_t epoch);
void rd_conn_start(struct rdma_drv *d, uint32_t node);

/* ---- rdma_cm.c ---- */
void rd_cm_drain(struct rdma_drv *d);

/* ---- rdma_progress.c ---- */
void rd_zombies_reap(struct rdma_drv *d);
void rd_housekeeping(struct rdma_drv *d);
int rd_progress(struct osci_drv *drv, struct osci_drv_event *ev, unsigned int max);
int rd_arm(struct osci_drv *drv);
int rd_event_fd(struct osci_drv *drv);

/* ---- rdma_msg.c ---- */
int rd_conn_get(struct rdma_drv *d, uint32_t node, struct rdma_conn **c_p);
void rd_conn_put(struct rdma_drv *d, struct rdma_conn *c);
void rd_send_reap(struct rdma_drv *d, struct rdma_conn *c);
int rd_msg_send(struct osci_drv *drv, uint32_t node, const void *msg, size_t len);
int rd_db_ring(struct osci_drv *drv, uint32_t node, unsigned int bit);
int rd_db_set_event_mask(struct osci_drv *drv, uint64_t mask);
int rd_db_poll(struct osci_drv *drv, uint64_t mask, uint64_t *bits_p);

/* ---- rdma_mem.c ---- */
int rd_mem_export(struct osci_drv *drv, const struct osci_drv_mem_view *view, struct osci_drv_mem **mem_p);
void rd_mem_free(struct osci_drv_mem *m);
void rd_mem_unexport(struct osci_drv *drv, struct osci_drv_mem *mem);
int rd_mem_pack(struct osci_drv *drv, struct osci_drv_mem *mem, void *buf, size_t *len_p);
int rd_rmem_import(struct osci_drv *drv, uint32_t node, const void *buf, size_t len, struct osci_drv_rmem **rmem_p);
void rd_rmem_release(struct osci_drv *drv, struct osci_drv_rmem *rmem);

/* ---- rdma_xfer.c ---- */
int rd_put(struct osci_drv *drv, struct osci_drv_rmem *rm, size_t roff, const void *src, size_t len);
int rd_get(struct osci_drv *drv, struct osci_drv_rmem *rm, size_t roff, void *dst, size_t len);
int rd_flush(struct osci_drv *drv, struct osci_drv_rmem *rm);

/* ---- rdma_info.c ---- */
void rd_pub_peers(struct rdma_drv *d);
int rd_peers(struct osci_drv *drv, struct osci_peer_info *out, unsigned int max, unsigned int *count_p);
int rd_info_publish(struct osci_drv *drv, const void *buf, size_t len);
int rd_info_read(struct osci_drv *drv, uint32_t node, void *buf, size_t len, size_t *len_p);
int rd_probe(struct osci_drv *drv, uint32_t node);
int rd_query(struct osci_drv *drv, struct osci_drv_info *info);
int rd_inject(struct osci_drv *drv, enum osci_fault fault, uint32_t node, unsigned int count);

#endif
