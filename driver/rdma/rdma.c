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
 */
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netdb.h>

#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#include "osci_list.h"
#include "osci_time.h"
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
#define RDMA_SPIN_MAX_US  5000             /* longest spin of a waiter for its own work (see wait_cq) */

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
    enum conn_state state;           /* written only by conn_step() */
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
    uint8_t *addr;
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

static const char *addr_str(const struct sockaddr *sa, char *buf, size_t len)
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

static void set_port(struct sockaddr_storage *ss, uint16_t port)
{
    if (ss->ss_family == AF_INET)
        ((struct sockaddr_in *)ss)->sin_port = htons(port);
    else if (ss->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

static void wake(struct rdma_drv *d)
{
    uint64_t one = 1;
    if (write(d->wfd, &one, sizeof(one)) < 0) {
        /* the counter is already non-zero: the event thread will run */
    }
}

/* ---- event queue (d->lock) ---- */

static void evq_push(struct rdma_drv *d, enum osci_drv_event_type type, uint32_t node, uint64_t epoch,
                     const void *msg, uint32_t len)
{
    struct osci_drv_event *ev;

    if (d->evq_n == RDMA_EVQ) {
        osci_log(OSCI_LOG_ERROR, MOD, "event queue full: dropping event %d for node %u", (int)type, node);
        return;
    }
    ev = &d->evq[(d->evq_head + d->evq_n) % RDMA_EVQ];
    d->evq_n++;
    ev->type = type;
    ev->node = node;
    ev->epoch = epoch;
    ev->db_bits = 0;
    ev->len = len;
    if (len)
        memcpy(ev->msg, msg, len);
}

/* ---- connection state machine ---- */

static const char *conn_state_str(enum conn_state s)
{
    static const char *const n[CONN_STATE_COUNT] = { "NEW", "RESOLVING_ADDR", "RESOLVING_ROUTE", "CONNECTING",
                                                     "ACCEPTING", "UP", "CLOSED" };
    return (unsigned int)s < CONN_STATE_COUNT ? n[s] : "?";
}

static const char *conn_event_str(enum conn_event e)
{
    static const char *const n[CEV_COUNT] = { "start", "accept", "addr_resolved", "route_resolved", "established",
                                              "fail" };
    return (unsigned int)e < CEV_COUNT ? n[e] : "?";
}

/* The only writer of conn->state. */
static int conn_step(struct rdma_conn *c, enum conn_event ev)
{
    enum conn_state old = c->state, next = CONN_STATE_COUNT;

    switch (old) {
    case CONN_NEW:
        if (ev == CEV_START) next = CONN_RESOLVING_ADDR;
        else if (ev == CEV_ACCEPT) next = CONN_ACCEPTING;
        else if (ev == CEV_FAIL) next = CONN_CLOSED;
        break;
    case CONN_RESOLVING_ADDR:
        if (ev == CEV_ADDR_RESOLVED) next = CONN_RESOLVING_ROUTE;
        else if (ev == CEV_FAIL) next = CONN_CLOSED;
        break;
    case CONN_RESOLVING_ROUTE:
        if (ev == CEV_ROUTE_RESOLVED) next = CONN_CONNECTING;
        else if (ev == CEV_FAIL) next = CONN_CLOSED;
        break;
    case CONN_CONNECTING:
    case CONN_ACCEPTING:
        if (ev == CEV_ESTABLISHED) next = CONN_UP;
        else if (ev == CEV_FAIL) next = CONN_CLOSED;
        break;
    case CONN_UP:
        if (ev == CEV_FAIL) next = CONN_CLOSED;
        break;
    default:
        break;
    }
    if (next == CONN_STATE_COUNT) {
        osci_log(OSCI_LOG_DEBUG, MOD, "node %u: conn %s --%s--> rejected", c->node, conn_state_str(old),
                 conn_event_str(ev));
        return -EPROTO;
    }
    osci_log(OSCI_LOG_DEBUG, MOD, "node %u: conn %s --%s--> %s", c->node, conn_state_str(old), conn_event_str(ev),
             conn_state_str(next));
    c->state = next;
    return 0;
}

/* ---- connection resources ---- */

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -errno;
    return 0;
}

static struct rdma_conn *conn_new(struct rdma_drv *d, uint32_t node, bool active)
{
    struct rdma_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    if (pthread_mutex_init(&c->send_lock, NULL) != 0) {
        free(c);
        return NULL;
    }
    if (pthread_cond_init(&c->send_cond, NULL) != 0) {
        pthread_mutex_destroy(&c->send_lock);
        free(c);
        return NULL;
    }
    c->d = d;
    c->node = node;
    c->active = active;
    c->started_ms = osci_now_ms();
    c->state = CONN_NEW;
    return c;
}

static void conn_free(struct rdma_conn *c)
{
    if (c->id && c->has_qp)
        rdma_destroy_qp(c->id);
    if (c->recv_cq)
        ibv_destroy_cq(c->recv_cq);
    if (c->send_cq)
        ibv_destroy_cq(c->send_cq);
    if (c->send_cc)
        ibv_destroy_comp_channel(c->send_cc);   /* after its CQ; every event was acked */
    if (c->recv_mr)
        ibv_dereg_mr(c->recv_mr);
    if (c->send_mr)
        ibv_dereg_mr(c->send_mr);
    if (c->ring_mr)
        ibv_dereg_mr(c->ring_mr);      /* after the QP: no work request uses it any more */
    free(c->ring);
    free(c->recv_buf);
    free(c->send_buf);
    if (c->id)
        rdma_destroy_id(c->id);
    pthread_cond_destroy(&c->send_cond);
    pthread_mutex_destroy(&c->send_lock);
    free(c);
}

static int conn_post_recv(struct rdma_conn *c, unsigned int i)
{
    struct ibv_sge sge = {
        .addr = (uintptr_t)(c->recv_buf + (size_t)i * RDMA_MSG_BUF),
        .length = RDMA_MSG_BUF,
        .lkey = c->recv_mr->lkey,
    };
    struct ibv_recv_wr wr = { .wr_id = i, .sg_list = &sge, .num_sge = 1 }, *bad;
    int r = ibv_post_recv(c->id->qp, &wr, &bad);
    return r ? -r : 0;
}

/* CQs, buffers, QP and the receive pool. Freed by conn_free() on failure. */
static int conn_setup_qp(struct rdma_drv *d, struct rdma_conn *c)
{
    struct ibv_qp_init_attr qa;
    size_t rlen = (size_t)RDMA_RECV_DEPTH * RDMA_MSG_BUF, slen = (size_t)RDMA_SEND_DEPTH * RDMA_MSG_BUF;
    int ret;

    c->send_cc = ibv_create_comp_channel(d->ctx);
    if (!c->send_cc || set_nonblock(c->send_cc->fd) < 0) {
        ret = errno ? -errno : -ENOMEM;
        osci_log(OSCI_LOG_ERROR, MOD, "node %u: cannot create the send completion channel: %s", c->node,
                 strerror(-ret));
        return ret;
    }
    c->recv_cq = ibv_create_cq(d->ctx, RDMA_RECV_DEPTH, c, d->cc, 0);
    c->send_cq = ibv_create_cq(d->ctx, RDMA_SEND_DEPTH, c, c->send_cc, 0);
    c->recv_buf = aligned_alloc(4096, (rlen + 4095) & ~(size_t)4095);
    c->send_buf = aligned_alloc(4096, (slen + 4095) & ~(size_t)4095);
    if (!c->recv_cq || !c->send_cq || !c->recv_buf || !c->send_buf) {
        ret = errno ? -errno : -ENOMEM;
        osci_log(OSCI_LOG_ERROR, MOD, "node %u: cannot create CQs/buffers: %s", c->node, strerror(-ret));
        return ret;
    }
    c->recv_mr = ibv_reg_mr(d->pd, c->recv_buf, rlen, IBV_ACCESS_LOCAL_WRITE);
    c->send_mr = ibv_reg_mr(d->pd, c->send_buf, slen, IBV_ACCESS_LOCAL_WRITE);
    if (!c->recv_mr || !c->send_mr) {
        ret = errno ? -errno : -ENOMEM;
        osci_log(OSCI_LOG_ERROR, MOD, "node %u: cannot register message buffers: %s", c->node, strerror(-ret));
        return ret;
    }
    memset(&qa, 0, sizeof(qa));
    qa.send_cq = c->send_cq;
    qa.recv_cq = c->recv_cq;
    qa.qp_type = IBV_QPT_RC;
    qa.cap.max_send_wr = RDMA_SEND_DEPTH;
    qa.cap.max_recv_wr = RDMA_RECV_DEPTH;
    qa.cap.max_send_sge = 1;
    qa.cap.max_recv_sge = 1;
    qa.cap.max_inline_data = 64;
    if (rdma_create_qp(c->id, d->pd, &qa) != 0) {
        qa.cap.max_inline_data = 0;
        if (rdma_create_qp(c->id, d->pd, &qa) != 0) {
            ret = -errno;
            osci_log(OSCI_LOG_ERROR, MOD, "node %u: rdma_create_qp: %s", c->node, strerror(errno));
            return ret;
        }
    }
    c->has_qp = true;
    c->max_inline = qa.cap.max_inline_data;
    for (unsigned int i = 0; i < RDMA_RECV_DEPTH; i++) {
        ret = conn_post_recv(c, i);
        if (ret < 0) {
            osci_log(OSCI_LOG_ERROR, MOD, "node %u: ibv_post_recv: %s", c->node, strerror(-ret));
            return ret;
        }
    }
    if (ibv_req_notify_cq(c->recv_cq, 0) != 0) {
        ret = -errno;
        osci_log(OSCI_LOG_ERROR, MOD, "node %u: ibv_req_notify_cq: %s", c->node, strerror(errno));
        return ret;
    }
    c->cq_armed = true;
    return 0;
}

static void conn_param_init(struct rdma_drv *d, struct rdma_conn_param *p, uint8_t priv[RDMA_CM_PRIV_LEN])
{
    struct rdma_cm_priv cp = { .node_id = d->base.node_id, .epoch = d->epoch };

    rdma__cm_priv_pack(&cp, priv);
    memset(p, 0, sizeof(*p));
    p->private_data = priv;
    p->private_data_len = RDMA_CM_PRIV_LEN;
    p->responder_resources = d->rd_atom;
    p->initiator_depth = d->rd_atom;
    p->retry_count = RDMA_RETRY_COUNT;
    p->rnr_retry_count = 7;   /* receivers repost promptly: RNR is back-pressure, not failure */
}

/* Transport ACK timeout of the QP that id will make (before rdma_connect / rdma_accept): with
 * RDMA_RETRY_COUNT retries a dead path fails queued work in about 2 s where the device honours it. */
static void set_ack_timeout(struct rdma_cm_id *id, uint32_t node)
{
    uint8_t t = RDMA_ACK_TIMEOUT;
    if (rdma_set_option(id, RDMA_OPTION_ID, RDMA_OPTION_ID_ACK_TIMEOUT, &t, sizeof(t)) != 0)
        osci_log(OSCI_LOG_DEBUG, MOD, "node %u: RDMA_OPTION_ID_ACK_TIMEOUT: %s (the CM's default stays)", node,
                 strerror(errno));
}

static const char *why_str(enum conn_fail_why why)
{
    static const char *const n[] = { "error", "disconnected", "transport retries exceeded", "replaced",
                                     "send stalled", "not established in time", "local" };
    return (unsigned int)why < sizeof(n) / sizeof(n[0]) ? n[why] : "?";
}

/* ---- link state (d->lock) ---- */

/*
 * 1 when the port is ACTIVE. While it is not (its netdev is down), nothing may send a CM MAD: soft-RoCE
 * fails a send that has no route by moving the QP to the error state, and for the GSI QP (QP1) that
 * is for good, so this node's rdma_cm would never connect again. Disconnecting or destroying a CM id
 * that has spoken to a peer sends a DREQ or REJ, so failed connections wait (as zombies) for the port.
 */
static bool port_active(struct rdma_drv *d)
{
    struct ibv_port_attr pa;
    bool up = ibv_query_port(d->ctx, (uint8_t)d->o.port, &pa) == 0 && pa.state == IBV_PORT_ACTIVE;

    if (up == d->port_down)
        osci_log(OSCI_LOG_INFO, MOD, "%s port %u %s", d->dev_name, d->o.port,
                 up ? "ACTIVE again" : "not ACTIVE: no connection attempt or CM teardown until it is");
    d->port_down = !up;
    return up;
}

static void peer_schedule_retry(struct rdma_drv *d, uint32_t node, uint64_t delay_ms)
{
    d->peer[node].next_retry_ms = osci_now_ms() + delay_ms;
}

/*
 * Ends connection c: the peer's link goes down if it was up (LINK_DOWN, never PEER_DEAD: a cut path
 * also exhausts transport retries; a restarted peer shows itself by its new epoch in conn_up());
 * c becomes a zombie and a new attempt is due after retry_ms.
 */
static void conn_fail(struct rdma_drv *d, struct rdma_conn *c, enum conn_fail_why why)
{
    struct rdma_peer *p = &d->peer[c->node];
    enum conn_state old = c->state;

    if (conn_step(c, CEV_FAIL) < 0)
        return;
    if (old == CONN_UP || old == CONN_ACCEPTING || old == CONN_CONNECTING) {
        c->cm_live = true;                /* zombies_reap() disconnects it once the port is ACTIVE */
        if (c->has_qp) {
            struct ibv_qp_attr qa = { .qp_state = IBV_QPS_ERR };
            (void)ibv_modify_qp(c->id->qp, &qa, IBV_QP_STATE);   /* outstanding work flushes now */
        }
    }
    if (p->conn == c) {
        p->conn = NULL;
        if (p->link_up) {
            p->link_up = false;
            osci_log(OSCI_LOG_INFO, MOD, "node %u: link down (%s, epoch %016" PRIx64 ")", c->node, why_str(why),
                     p->epoch);
            evq_push(d, OSCI_DRV_EV_LINK_DOWN, c->node, p->epoch, NULL, 0);
        } else {
            osci_log(OSCI_LOG_DEBUG, MOD, "node %u: %s attempt ended (%s)", c->node, c->active ? "connect" : "accept",
                     why_str(why));
        }
        peer_schedule_retry(d, c->node, why == WHY_LOCAL ? 0 : d->o.retry_ms);
    }
    osci_list_add(&d->zombies, &c->zombie_link);
}

static void conn_up(struct rdma_drv *d, struct rdma_conn *c, uint64_t epoch)
{
    struct rdma_peer *p = &d->peer[c->node];

    if (conn_step(c, CEV_ESTABLISHED) < 0)
        return;
    if (p->epoch && p->epoch != epoch && p->dead_epoch != p->epoch) {
        osci_log(OSCI_LOG_INFO, MOD, "node %u: restarted (epoch %016" PRIx64 " -> %016" PRIx64 ")", c->node,
                 p->epoch, epoch);
        p->dead_epoch = p->epoch;
        evq_push(d, OSCI_DRV_EV_PEER_DEAD, c->node, p->epoch, NULL, 0);
    }
    p->epoch = epoch;
    p->link_up = true;
    p->last_rx_ms = osci_now_ms();
    osci_log(OSCI_LOG_INFO, MOD, "node %u: link up (epoch %016" PRIx64 ")", c->node, epoch);
    evq_push(d, OSCI_DRV_EV_LINK_UP, c->node, epoch, NULL, 0);
}

/* Starts an active connection attempt towards node. */
static void conn_start(struct rdma_drv *d, uint32_t node)
{
    struct rdma_peer *p = &d->peer[node];
    struct sockaddr_storage dst, src;
    struct rdma_conn *c;
    char a[64];

    if (!port_active(d)) {
        peer_schedule_retry(d, node, d->o.retry_ms);
        return;
    }
    c = conn_new(d, node, true);
    if (!c) {
        peer_schedule_retry(d, node, d->o.retry_ms);
        return;
    }
    if (rdma_create_id(d->ch, &c->id, c, RDMA_PS_TCP) != 0) {
        osci_log(OSCI_LOG_ERROR, MOD, "node %u: rdma_create_id: %s", node, strerror(errno));
        goto err_free;
    }
    set_ack_timeout(c->id, node);
    dst = p->host->sa;
    set_port(&dst, d->o.listen);
    src = d->local;
    set_port(&src, 0);
    if (rdma_resolve_addr(c->id, (struct sockaddr *)&src, (struct sockaddr *)&dst, RDMA_RESOLVE_MS) != 0) {
        osci_log(OSCI_LOG_DEBUG, MOD, "node %u: rdma_resolve_addr %s: %s", node,
                 addr_str((struct sockaddr *)&dst, a, sizeof(a)), strerror(errno));
        goto err_free;
    }
    (void)conn_step(c, CEV_START);
    p->conn = c;
    return;

err_free:
    conn_free(c);
    peer_schedule_retry(d, node, d->o.retry_ms);
}

/* ---- CM events (d->lock) ---- */

static void cm_reject(struct rdma_cm_id *id)
{
    (void)rdma_reject(id, NULL, 0);
    rdma_destroy_id(id);
}

static void cm_on_request(struct rdma_drv *d, struct rdma_cm_id *id, const void *priv, size_t priv_len)
{
    struct sockaddr *src = rdma_get_peer_addr(id);
    struct rdma_conn_param param;
    uint8_t mypriv[RDMA_CM_PRIV_LEN];
    struct rdma_cm_priv cp;
    struct rdma_conn *c;
    struct rdma_peer *p;
    char a[64];

    addr_str(src, a, sizeof(a));
    if (rdma__cm_priv_unpack(priv, priv_len, &cp) < 0) {
        osci_log(OSCI_LOG_WARN, MOD, "refusing connection from %s: no valid OpenSCI private data", a);
        goto err_reject;
    }
    if (rdma__peer_check(d->hosts, d->n_hosts, d->base.node_id, src, cp.node_id) < 0) {
        osci_log(OSCI_LOG_WARN, MOD, "refusing connection from %s claiming node %u: not that node's address in "
                 "hosts.conf", a, cp.node_id);
        goto err_reject;
    }
    if (id->verbs != d->ctx) {
        osci_log(OSCI_LOG_WARN, MOD, "refusing connection from node %u: it arrived on device %s, adapter uses %s",
                 cp.node_id, id->verbs ? ibv_get_device_name(id->verbs->device) : "?", d->dev_name);
        goto err_reject;
    }
    p = &d->peer[cp.node_id];
    if (p->held_down) {
        osci_log(OSCI_LOG_DEBUG, MOD, "refusing connection from node %u: link held down by fault injection",
                 cp.node_id);
        goto err_reject;
    }
    if (p->conn) {
        enum rdma_have have = p->conn->state == CONN_UP ? RDMA_HAVE_UP
                              : p->conn->active         ? RDMA_HAVE_OWN_ATTEMPT
                                                        : RDMA_HAVE_ACCEPTING;
        if (rdma__cm_admit(d->base.node_id, cp.node_id, have) == RDMA_ADMIT_REFUSE) {
            osci_log(OSCI_LOG_DEBUG, MOD, "refusing connection from node %u: our own attempt crossed it and the "
                     "lower node id's attempt is kept", cp.node_id);
            goto err_reject;
        }
        if (have == RDMA_HAVE_UP)
            osci_log(OSCI_LOG_INFO, MOD, "node %u asks to connect again (epoch %016" PRIx64 "): replacing the "
                     "connection it lost", cp.node_id, cp.epoch);
        conn_fail(d, p->conn, WHY_REPLACED);
    }
    c = conn_new(d, cp.node_id, false);
    if (!c)
        goto err_reject;
    c->id = id;
    id->context = c;
    c->peer_epoch = cp.epoch;
    set_ack_timeout(id, cp.node_id);
    if (conn_setup_qp(d, c) < 0)
        goto err_free;
    conn_param_init(d, &param, mypriv);
    if (rdma_accept(id, &param) != 0) {
        osci_log(OSCI_LOG_WARN, MOD, "node %u: rdma_accept: %s", cp.node_id, strerror(errno));
        goto err_free;
    }
    (void)conn_step(c, CEV_ACCEPT);
    p->conn = c;
    return;

err_free:
    (void)rdma_reject(id, NULL, 0);
    conn_free(c);       /* destroys id */
    return;
err_reject:
    cm_reject(id);
}

static void cm_handle(struct rdma_drv *d, struct rdma_cm_event *e, const void *priv, size_t priv_len)
{
    struct rdma_conn *c = e->id ? e->id->context : NULL;
    struct rdma_conn_param param;
    uint8_t mypriv[RDMA_CM_PRIV_LEN];
    struct rdma_cm_priv cp;

    if (e->event == RDMA_CM_EVENT_CONNECT_REQUEST) {
        cm_on_request(d, e->id, priv, priv_len);
        return;
    }
    if (e->event == RDMA_CM_EVENT_DEVICE_REMOVAL) {
        osci_log(OSCI_LOG_ERROR, MOD, "device %s removed", d->dev_name);
        for (unsigned int i = 0; i < d->n_hosts; i++) {
            struct rdma_peer *p = &d->peer[d->hosts[i].node_id];
            if (p->conn)
                conn_fail(d, p->conn, WHY_ERROR);
        }
        return;
    }
    if (!c || c->state == CONN_CLOSED)
        return;
    switch (e->event) {
    case RDMA_CM_EVENT_ADDR_RESOLVED:
        if (c->state != CONN_RESOLVING_ADDR)
            break;
        if (c->id->verbs != d->ctx) {
            osci_log(OSCI_LOG_ERROR, MOD, "node %u: route goes through device %s, adapter uses %s", c->node,
                     c->id->verbs ? ibv_get_device_name(c->id->verbs->device) : "?", d->dev_name);
            conn_fail(d, c, WHY_ERROR);
            break;
        }
        if (rdma_resolve_route(c->id, RDMA_RESOLVE_MS) != 0) {
            osci_log(OSCI_LOG_WARN, MOD, "node %u: rdma_resolve_route: %s", c->node, strerror(errno));
            conn_fail(d, c, WHY_ERROR);
            break;
        }
        (void)conn_step(c, CEV_ADDR_RESOLVED);
        break;
    case RDMA_CM_EVENT_ROUTE_RESOLVED:
        if (c->state != CONN_RESOLVING_ROUTE)
            break;
        if (conn_setup_qp(d, c) < 0) {
            conn_fail(d, c, WHY_ERROR);
            break;
        }
        conn_param_init(d, &param, mypriv);
        if (rdma_connect(c->id, &param) != 0) {
            osci_log(OSCI_LOG_WARN, MOD, "node %u: rdma_connect: %s", c->node, strerror(errno));
            conn_fail(d, c, WHY_ERROR);
            break;
        }
        (void)conn_step(c, CEV_ROUTE_RESOLVED);
        break;
    case RDMA_CM_EVENT_ESTABLISHED:
        if (c->state == CONN_ACCEPTING) {
            conn_up(d, c, c->peer_epoch);
        } else if (c->state == CONN_CONNECTING) {
            if (rdma__cm_priv_unpack(priv, priv_len, &cp) < 0 || cp.node_id != c->node) {
                osci_log(OSCI_LOG_WARN, MOD, "node %u: accept without valid private data for that node", c->node);
                conn_fail(d, c, WHY_ERROR);
                break;
            }
            c->peer_epoch = cp.epoch;
            conn_up(d, c, cp.epoch);
        }
        break;
    case RDMA_CM_EVENT_ADDR_ERROR:
    case RDMA_CM_EVENT_ROUTE_ERROR:
    case RDMA_CM_EVENT_CONNECT_ERROR:
    case RDMA_CM_EVENT_UNREACHABLE:
    case RDMA_CM_EVENT_REJECTED:
        osci_log(OSCI_LOG_DEBUG, MOD, "node %u: %s (status %d)", c->node, rdma_event_str(e->event), e->status);
        conn_fail(d, c, WHY_ERROR);
        break;
    case RDMA_CM_EVENT_DISCONNECTED:
        conn_fail(d, c, WHY_DISCONNECTED);
        break;
    default:
        break;
    }
}

static void cm_drain(struct rdma_drv *d)
{
    struct rdma_cm_event *ev;
    uint8_t priv[256];

    while (rdma_get_cm_event(d->ch, &ev) == 0) {
        struct rdma_cm_event copy = *ev;
        size_t plen = ev->param.conn.private_data_len;

        if (ev->event == RDMA_CM_EVENT_CONNECT_REQUEST || ev->event == RDMA_CM_EVENT_ESTABLISHED) {
            if (plen > sizeof(priv))
                plen = sizeof(priv);
            if (plen && ev->param.conn.private_data)
                memcpy(priv, ev->param.conn.private_data, plen);
            else
                plen = 0;
        } else {
            plen = 0;
        }
        rdma_ack_cm_event(ev);
        cm_handle(d, &copy, priv, plen);
    }
}

/* ---- receive side (event thread, d->lock) ---- */

static void conn_on_recv(struct rdma_drv *d, struct rdma_conn *c, const struct ibv_wc *wc)
{
    struct rdma_peer *p = &d->peer[c->node];
    struct rdma_msg_hdr h;
    const uint8_t *buf;
    int ret;

    if (wc->status != IBV_WC_SUCCESS) {
        if (wc->status != IBV_WC_WR_FLUSH_ERR)
            osci_log(OSCI_LOG_WARN, MOD, "node %u: receive failed: %s", c->node, ibv_wc_status_str(wc->status));
        conn_fail(d, c, wc->status == IBV_WC_RETRY_EXC_ERR ? WHY_RETRY_EXCEEDED : WHY_ERROR);
        return;
    }
    if (c->state == CONN_ACCEPTING)
        conn_up(d, c, c->peer_epoch);     /* data before the CM's ESTABLISHED: the link is up */
    if (c->state != CONN_UP || wc->opcode != IBV_WC_RECV || wc->wr_id >= RDMA_RECV_DEPTH)
        return;
    p->last_rx_ms = osci_now_ms();
    buf = c->recv_buf + (size_t)wc->wr_id * RDMA_MSG_BUF;
    if (rdma__msg_hdr_unpack(buf, wc->byte_len, &h) < 0) {
        osci_log(OSCI_LOG_WARN, MOD, "node %u: malformed control message (%u bytes) dropped", c->node, wc->byte_len);
    } else if (h.type == RDMA_MSG_DATA) {
        evq_push(d, OSCI_DRV_EV_MSG, c->node, 0, buf + RDMA_MSG_HDR, h.len);
    } else {
        atomic_fetch_or(&d->db_pending, 1ull << h.bit);
        atomic_store(&d->db_last_node, c->node);
    }
    ret = conn_post_recv(c, (unsigned int)wc->wr_id);
    if (ret < 0) {
        osci_log(OSCI_LOG_WARN, MOD, "node %u: ibv_post_recv: %s", c->node, strerror(-ret));
        conn_fail(d, c, WHY_ERROR);
    }
}

static void conn_poll_recv(struct rdma_drv *d, struct rdma_conn *c)
{
    while (c->state == CONN_UP || c->state == CONN_ACCEPTING) {
        struct ibv_wc wc;
        if (d->evq_n >= RDMA_EVQ_MSG_MAX)
            return;
        if (c->n_stash) {
            wc = c->stash[0];
            memmove(c->stash, c->stash + 1, --c->n_stash * sizeof(wc));
        } else {
            int n = ibv_poll_cq(c->recv_cq, 1, &wc);
            if (n <= 0) {
                if (n < 0)
                    conn_fail(d, c, WHY_ERROR);
                return;
            }
        }
        conn_on_recv(d, c, &wc);
    }
}

static void drain_fds(struct rdma_drv *d)
{
    uint64_t v;
    struct ibv_cq *cq;
    void *ctx;

    if (read(d->tfd, &v, sizeof(v)) < 0) {
        /* EAGAIN: no tick */
    }
    if (read(d->wfd, &v, sizeof(v)) < 0) {
        /* EAGAIN: no wake-up */
    }
    while (ibv_get_cq_event(d->cc, &cq, &ctx) == 0) {
        ibv_ack_cq_events(cq, 1);
        ((struct rdma_conn *)ctx)->cq_armed = false;
    }
}

/* Disconnects failed connections (the peer gets a DREQ) once the port can send, frees unused ones. */
static void zombies_reap(struct rdma_drv *d)
{
    struct rdma_conn *c, *tmp;
    int port_ok = -1;

    osci_list_for_each_safe(c, tmp, &d->zombies, zombie_link) {
        if (c->cm_live && !c->disconnected) {
            if (port_ok < 0)
                port_ok = port_active(d);
            if (port_ok) {
                (void)rdma_disconnect(c->id);
                c->disconnected = true;
            }
        }
        if (c->refs || (c->cm_live && !c->disconnected))
            continue;
        osci_list_del(&c->zombie_link);
        conn_free(c);
    }
}

static void send_reap(struct rdma_drv *d, struct rdma_conn *c);

/*
 * 1 when c's oldest outstanding send has waited stall_ms without any completion (RC completes in
 * order: the time since the last completion, or since the queue became non-empty, is its age). The
 * peer's QP may be gone while ours still retries, or retries for ever on a device that ignores the
 * ACK timeout: without this a half-dead connection would never fail on this side.
 */
static bool conn_stalled(struct rdma_drv *d, struct rdma_conn *c, uint64_t now, unsigned int *out_p)
{
    bool stalled = false;

    if (pthread_mutex_trylock(&c->send_lock) != 0)
        return false;               /* a user thread reaps it now; look again at the next tick */
    send_reap(d, c);
    if (c->sq_out && now > c->sq_progress_ms && now - c->sq_progress_ms >= d->o.stall_ms) {
        stalled = true;
        *out_p = c->sq_out;
    }
    pthread_mutex_unlock(&c->send_lock);
    return stalled;
}

/* Send-side errors seen by user threads, stalled sends, attempts that take too long, new attempts, zombies. */
static void housekeeping(struct rdma_drv *d)
{
    uint64_t now = osci_now_ms();

    for (unsigned int i = 0; i < d->n_hosts; i++) {
        uint32_t node = d->hosts[i].node_id;
        struct rdma_peer *p = &d->peer[node];
        unsigned int out;
        int st;

        if (node == d->base.node_id)
            continue;
        if (p->conn && (st = atomic_load(&p->conn->wc_error)) != 0) {
            enum ibv_wc_status s = (enum ibv_wc_status)(st - 1);
            if (s != IBV_WC_WR_FLUSH_ERR)
                osci_log(OSCI_LOG_WARN, MOD, "node %u: send failed: %s", node, ibv_wc_status_str(s));
            conn_fail(d, p->conn, s == IBV_WC_RETRY_EXC_ERR ? WHY_RETRY_EXCEEDED : WHY_ERROR);
        }
        if (p->conn && p->conn->state == CONN_UP && conn_stalled(d, p->conn, now, &out)) {
            osci_log(OSCI_LOG_WARN, MOD, "node %u: %u send(s) without completion for %u ms: path dead, reconnecting",
                     node, out, d->o.stall_ms);
            conn_fail(d, p->conn, WHY_STALLED);
        }
        if (p->conn && p->conn->state != CONN_UP && now - p->conn->started_ms >= RDMA_CONNECT_MS)
            conn_fail(d, p->conn, WHY_TIMEOUT);
        if (!p->conn && !p->held_down && now >= p->next_retry_ms)
            conn_start(d, node);
    }
    zombies_reap(d);
}

/* ---- ops: progress / arm / event fd ---- */

static void pub_peers(struct rdma_drv *d);

static int rdma_progress(struct osci_drv *drv, struct osci_drv_event *ev, unsigned int max)
{
    struct rdma_drv *d = to_rdma(drv);
    unsigned int n = 0;
    uint64_t bits;

    if (!ev && max)
        return -EINVAL;
    if (d->observe)
        return -EPERM;
    pthread_mutex_lock(&d->lock);
    drain_fds(d);
    cm_drain(d);
    housekeeping(d);
    for (unsigned int i = 0; i < d->n_hosts; i++) {
        struct rdma_peer *p = &d->peer[d->hosts[i].node_id];
        if (p->conn)
            conn_poll_recv(d, p->conn);
    }
    housekeeping(d);
    pub_peers(d);
    bits = atomic_load(&d->db_pending) & atomic_load(&d->db_mask);
    if (bits && n < max) {
        bits = atomic_fetch_and(&d->db_pending, ~bits) & bits;
        if (bits) {
            memset(&ev[n], 0, offsetof(struct osci_drv_event, msg));
            ev[n].type = OSCI_DRV_EV_DOORBELL;
            ev[n].node = atomic_load(&d->db_last_node);
            ev[n].db_bits = bits;
            n++;
        }
    }
    while (n < max && d->evq_n) {
        const struct osci_drv_event *q = &d->evq[d->evq_head];
        memcpy(&ev[n], q, offsetof(struct osci_drv_event, msg) + q->len);
        n++;
        d->evq_head = (d->evq_head + 1) % RDMA_EVQ;
        d->evq_n--;
    }
    pthread_mutex_unlock(&d->lock);
    return (int)n;
}

static int rdma_arm(struct osci_drv *drv)
{
    struct rdma_drv *d = to_rdma(drv);
    int ret = 0;

    if (d->observe)
        return -EPERM;
    pthread_mutex_lock(&d->lock);
    if (d->evq_n || (atomic_load(&d->db_pending) & atomic_load(&d->db_mask)))
        ret = -EAGAIN;
    for (unsigned int i = 0; i < d->n_hosts && !ret; i++) {
        struct rdma_conn *c = d->peer[d->hosts[i].node_id].conn;
        int n;

        if (!c || (c->state != CONN_UP && c->state != CONN_ACCEPTING))
            continue;
        if (c->n_stash || atomic_load(&c->wc_error)) {
            ret = -EAGAIN;
            break;
        }
        if (!c->cq_armed) {
            if (ibv_req_notify_cq(c->recv_cq, 0) != 0) {
                ret = -EAGAIN;        /* progress() will find the error */
                break;
            }
            c->cq_armed = true;
        }
        n = ibv_poll_cq(c->recv_cq, RDMA_STASH, c->stash);
        if (n != 0) {
            c->n_stash = n > 0 ? (unsigned int)n : 0;
            ret = -EAGAIN;
        }
    }
    pthread_mutex_unlock(&d->lock);
    return ret;
}

static int rdma_event_fd(struct osci_drv *drv)
{
    struct rdma_drv *d = to_rdma(drv);
    return d->observe ? -EPERM : d->epfd;
}

/* ---- send side (any thread) ---- */

static int conn_get(struct rdma_drv *d, uint32_t node, struct rdma_conn **c_p)
{
    struct rdma_peer *p;
    int ret = 0;

    if (node == 0 || node > 255 || node == d->base.node_id || !d->peer[node].host)
        return -EHOSTUNREACH;
    p = &d->peer[node];
    pthread_mutex_lock(&d->lock);
    if (!p->conn || p->conn->state != CONN_UP || atomic_load(&p->conn->wc_error))
        ret = -ENOTCONN;
    else
        p->conn->refs++, *c_p = p->conn;
    pthread_mutex_unlock(&d->lock);
    return ret;
}

static void conn_put(struct rdma_drv *d, struct rdma_conn *c)
{
    bool closed;
    pthread_mutex_lock(&d->lock);
    c->refs--;
    closed = c->state == CONN_CLOSED && !c->refs;
    pthread_mutex_unlock(&d->lock);
    if (closed)
        wake(d);
}

/* Takes send completions (send_lock held). */
static void send_reap(struct rdma_drv *d, struct rdma_conn *c)
{
    struct ibv_wc wc[16];
    int n;

    while ((n = ibv_poll_cq(c->send_cq, 16, wc)) > 0) {
        c->sq_progress_ms = osci_now_ms();
        for (int i = 0; i < n; i++) {
            c->sq_out--;
            if (wc[i].wr_id & 1) {
                /* a posted put: wr_id is 1 + twice the ring position its data ends at */
                uint64_t end = wc[i].wr_id >> 1;
                if (end > c->ring_tail)
                    c->ring_tail = end;
                c->post_done++;
                if (wc[i].status == IBV_WC_SUCCESS && c->post_ok + 1 == c->post_done)
                    c->post_ok = c->post_done;
            } else if (wc[i].wr_id && !c->abandoned) {
                struct rdma_wait *w = (struct rdma_wait *)(uintptr_t)wc[i].wr_id;
                w->pending--;
                if (wc[i].status != IBV_WC_SUCCESS && !w->failed) {
                    w->failed = true;
                    w->status = wc[i].status;
                }
            }
            if (wc[i].status != IBV_WC_SUCCESS) {
                int none = 0;
                if (atomic_compare_exchange_strong(&c->wc_error, &none, (int)wc[i].status + 1))
                    wake(d);
            }
        }
    }
}

static int post_msg(struct rdma_drv *d, struct rdma_conn *c, const struct rdma_msg_hdr *h, const void *payload)
{
    struct ibv_send_wr wr, *bad;
    struct ibv_sge sge;
    uint8_t *slot;
    int ret = 0, r;

    pthread_mutex_lock(&c->send_lock);
    send_reap(d, c);
    if (atomic_load(&c->wc_error)) {
        ret = -ENOTCONN;
        goto out;
    }
    if (c->sq_out >= RDMA_SEND_DEPTH) {
        ret = -EAGAIN;
        goto out;
    }
    slot = c->send_buf + (size_t)(c->msg_posted % RDMA_SEND_DEPTH) * RDMA_MSG_BUF;
    rdma__msg_hdr_pack(h, slot);
    if (h->len)
        memcpy(slot + RDMA_MSG_HDR, payload, h->len);
    memset(&wr, 0, sizeof(wr));
    sge.addr = (uintptr_t)slot;
    sge.length = RDMA_MSG_HDR + h->len;
    sge.lkey = c->send_mr->lkey;
    wr.wr_id = 0;
    wr.sg_list = &sge;
    wr.num_sge = 1;
    wr.opcode = IBV_WR_SEND;
    wr.send_flags = IBV_SEND_SIGNALED | (sge.length <= c->max_inline ? IBV_SEND_INLINE : 0);
    r = ibv_post_send(c->id->qp, &wr, &bad);
    if (r) {
        ret = r == ENOMEM ? -EAGAIN : -EIO;
        if (ret == -EIO)
            osci_log(OSCI_LOG_WARN, MOD, "node %u: ibv_post_send: %s", c->node, strerror(r));
        goto out;
    }
    if (!c->sq_out++)
        c->sq_progress_ms = osci_now_ms();
    c->msg_posted++;
out:
    pthread_mutex_unlock(&c->send_lock);
    return ret;
}

static int rdma_msg_send(struct osci_drv *drv, uint32_t node, const void *msg, size_t len)
{
    struct rdma_drv *d = to_rdma(drv);
    struct rdma_msg_hdr h = { .type = RDMA_MSG_DATA, .len = (uint16_t)len, .bit = 0 };
    struct rdma_conn *c;
    int ret;

    if (len > OSCI_DRV_MSG_MAX)
        return -EMSGSIZE;
    if (!msg && len)
        return -EINVAL;
    ret = conn_get(d, node, &c);
    if (ret < 0)
        return ret;
    ret = post_msg(d, c, &h, msg);
    conn_put(d, c);
    return ret;
}

static int rdma_db_ring(struct osci_drv *drv, uint32_t node, unsigned int bit)
{
    struct rdma_drv *d = to_rdma(drv);
    struct rdma_msg_hdr h = { .type = RDMA_MSG_DOORBELL, .len = 0, .bit = (uint16_t)bit };
    struct rdma_conn *c;
    int ret;

    if (bit >= OSCI_DRV_DB_COUNT)
        return -EINVAL;
    ret = conn_get(d, node, &c);
    if (ret < 0)
        return ret;
    ret = post_msg(d, c, &h, NULL);
    conn_put(d, c);
    return ret;
}

static int rdma_db_set_event_mask(struct osci_drv *drv, uint64_t mask)
{
    struct rdma_drv *d = to_rdma(drv);
    atomic_store(&d->db_mask, mask);
    if (atomic_load(&d->db_pending) & mask)
        wake(d);
    return 0;
}

static int rdma_db_poll(struct osci_drv *drv, uint64_t mask, uint64_t *bits_p)
{
    struct rdma_drv *d = to_rdma(drv);
    if (!bits_p)
        return -EINVAL;
    *bits_p = atomic_fetch_and(&d->db_pending, ~mask) & mask;
    return 0;
}

/* ---- memory ---- */

static int rdma_mem_export(struct osci_drv *drv, const struct osci_drv_mem_view *view, struct osci_drv_mem **mem_p)
{
    struct rdma_drv *d = to_rdma(drv);
    void *addr = view ? view->addr : NULL;             /* registered by its mapping; the fd is not needed */
    size_t size = view ? view->size : 0;
    struct osci_drv_mem *m;
    uint64_t n = rdma__n_chunks(size, d->o.mr_chunk);
    int ret;

    if (d->observe)
        return -EPERM;
    if (!addr || !size || !mem_p)
        return -EINVAL;
    if (n > RDMA_XPORT_MAX_CHUNKS) {
        osci_log(OSCI_LOG_ERROR, MOD, "export of %zu bytes needs %" PRIu64 " registrations of %" PRIu64
                 " bytes; at most %d fit the transport bytes (raise mr_chunk=)", size, n, d->o.mr_chunk,
                 RDMA_XPORT_MAX_CHUNKS);
        return -E2BIG;
    }
    m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->addr = addr;
    m->size = size;
    m->chunk = d->o.mr_chunk;
    for (m->n = 0; m->n < n; m->n++) {
        uint64_t off = (uint64_t)m->n * m->chunk;
        size_t len = (size_t)(size - off < m->chunk ? size - off : m->chunk);
        m->mr[m->n] = ibv_reg_mr(d->pd, m->addr + off, len,
                                 IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ);
        if (!m->mr[m->n]) {
            ret = errno ? -errno : -ENOMEM;
            osci_log(OSCI_LOG_ERROR, MOD, "ibv_reg_mr of %zu bytes (chunk %u of %" PRIu64 "): %s", len, m->n, n,
                     strerror(-ret));
            goto err_dereg;
        }
    }
    pthread_mutex_lock(&d->lock);
    osci_list_add(&d->exports, &m->link);
    pthread_mutex_unlock(&d->lock);
    *mem_p = m;
    return 0;

err_dereg:
    while (m->n--)
        ibv_dereg_mr(m->mr[m->n]);
    free(m);
    return ret;
}

static void mem_free(struct osci_drv_mem *m)
{
    for (uint32_t i = 0; i < m->n; i++)
        ibv_dereg_mr(m->mr[i]);
    free(m);
}

static void rdma_mem_unexport(struct osci_drv *drv, struct osci_drv_mem *mem)
{
    struct rdma_drv *d = to_rdma(drv);

    if (!mem)
        return;
    pthread_mutex_lock(&d->lock);
    osci_list_del(&mem->link);
    pthread_mutex_unlock(&d->lock);
    mem_free(mem);
}

static int rdma_mem_pack(struct osci_drv *drv, struct osci_drv_mem *mem, void *buf, size_t *len_p)
{
    struct rdma_xport x;

    (void)drv;
    if (!mem || !buf || !len_p)
        return -EINVAL;
    memset(&x, 0, sizeof(x));
    x.addr = (uintptr_t)mem->addr;
    x.size = mem->size;
    x.chunk = mem->chunk;
    x.n_chunks = mem->n;
    for (uint32_t i = 0; i < mem->n; i++)
        x.rkey[i] = mem->mr[i]->rkey;
    return rdma__xport_pack(&x, buf, *len_p, len_p);
}

static int rdma_rmem_import(struct osci_drv *drv, uint32_t node, const void *buf, size_t len,
                            struct osci_drv_rmem **rmem_p)
{
    struct rdma_drv *d = to_rdma(drv);
    struct osci_drv_rmem *r;
    struct rdma_xport x;
    uint64_t epoch;
    bool up;
    int ret;

    if (!buf || !rmem_p)
        return -EINVAL;
    if (node == 0 || node > 255 || node == d->base.node_id || !d->peer[node].host)
        return -EHOSTUNREACH;
    ret = rdma__xport_unpack(buf, len, &x);
    if (ret < 0) {
        osci_log(OSCI_LOG_WARN, MOD, "node %u: invalid transport bytes (%zu bytes): %s", node, len, strerror(-ret));
        return ret;
    }
    pthread_mutex_lock(&d->lock);
    up = d->peer[node].link_up;
    epoch = d->peer[node].epoch;
    pthread_mutex_unlock(&d->lock);
    if (!up)
        return -ENOTCONN;
    r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    if (pthread_mutex_init(&r->lock, NULL) != 0) {
        free(r);
        return -ENOMEM;
    }
    r->node = node;
    r->epoch = epoch;
    r->x = x;
    *rmem_p = r;
    return 0;
}

/* Does not wait for the rmem's posted puts (flush does): they go on, on their connection. */
static void rdma_rmem_release(struct osci_drv *drv, struct osci_drv_rmem *rmem)
{
    if (!rmem)
        return;
    if (rmem->pc)
        conn_put(to_rdma(drv), rmem->pc);
    pthread_mutex_destroy(&rmem->lock);
    free(rmem);
}

static int wc_errno(enum ibv_wc_status s)
{
    switch (s) {
    case IBV_WC_RETRY_EXC_ERR:
    case IBV_WC_RNR_RETRY_EXC_ERR:
    case IBV_WC_WR_FLUSH_ERR:
        return -ECONNRESET;
    default:
        return -EIO;
    }
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#endif
}

/* What a waiter waits for (send_lock held). */
enum wait_for {
    WAIT_DONE,                       /* every work request of a struct rdma_wait completed */
    WAIT_ROOM,                       /* a free send queue entry */
    WAIT_RING,                       /* room for one more posted put of `need` ring bytes */
    WAIT_POSTED,                     /* posted puts completed up to number `need` */
};
struct rdma_cond {
    enum wait_for what;
    const struct rdma_wait *w;       /* WAIT_DONE */
    uint64_t need;                   /* WAIT_RING, WAIT_POSTED */
};

/*
 * Where n contiguous ring bytes (n <= size) would start, or UINT64_MAX when they do not fit yet. An
 * empty ring starts again at a multiple of size, so a piece that fits the ring always fits it then.
 */
static uint64_t ring_fit(const struct rdma_conn *c, uint64_t size, uint64_t n)
{
    uint64_t off, skip;

    if (c->ring_head == c->ring_tail)
        return (c->ring_head + size - 1) / size * size;
    off = c->ring_head % size;
    skip = off + n > size ? size - off : 0;
    return c->ring_head + skip + n - c->ring_tail <= size ? c->ring_head + skip : UINT64_MAX;
}

static bool wait_met(const struct rdma_conn *c, const struct rdma_cond *k)
{
    switch (k->what) {
    case WAIT_DONE:
        return k->w->pending == 0;
    case WAIT_ROOM:
        return c->sq_out < RDMA_SEND_DEPTH;
    case WAIT_RING:
        return c->sq_out < RDMA_PUT_DEPTH && (!k->need || ring_fit(c, c->d->o.bounce, k->need) != UINT64_MAX);
    case WAIT_POSTED:
        return c->post_done >= k->need;
    }
    return true;
}

/* A wait ran past wait_ms: the connection is failed, and its outstanding wr_ids are never read again. */
static void wait_abandon(struct rdma_drv *d, struct rdma_conn *c)
{
    int none = 0;
    if (!c->abandoned)
        osci_log(OSCI_LOG_ERROR, MOD, "node %u: no completion within %u ms: failing the connection", c->node,
                 d->o.wait_ms);
    c->abandoned = true;
    if (atomic_compare_exchange_strong(&c->wc_error, &none, (int)IBV_WC_GENERAL_ERR + 1))
        wake(d);
    pthread_cond_broadcast(&c->send_cond);
}

/*
 * Waits (send_lock held, held again on return) until wait_met(): polling first, then sleeping on the
 * send CQ's completion channel. 0, -ETIMEDOUT after wait_ms (the connection is then failed), -EIO.
 * Every outstanding work request completes, with a flush error if the link fails.
 *
 * Polling lasts spin_us; a wait for the caller's own work (WAIT_DONE) polls up to three times as
 * long as such waits took lately (at most RDMA_SPIN_MAX_US), as perftest polls: waking from the
 * channel costs a device interrupt, a wake-up and two system calls, a large share of a slow
 * device's round trip (soft-RoCE). With one CPU the poll loop yields it to the device's own work.
 */
static int wait_cq(struct rdma_drv *d, struct rdma_conn *c, const struct rdma_cond *k)
{
    uint64_t t0 = osci_now_ns(), spin_ns = (uint64_t)d->o.spin_us * 1000, spin_end;
    uint64_t deadline = t0 + (uint64_t)d->o.wait_ms * 1000000;

    if (k->what == WAIT_DONE && 3 * c->done_ns > spin_ns)
        spin_ns = 3 * c->done_ns < RDMA_SPIN_MAX_US * 1000ull ? 3 * c->done_ns : RDMA_SPIN_MAX_US * 1000ull;
    spin_end = t0 + spin_ns;

    send_reap(d, c);
    while (!wait_met(c, k) && !c->abandoned && osci_now_ns() < spin_end) {
        pthread_mutex_unlock(&c->send_lock);
        if (d->one_cpu)
            sched_yield();            /* the device's work (soft-RoCE) needs this CPU */
        else
            cpu_relax();
        pthread_mutex_lock(&c->send_lock);
        send_reap(d, c);
    }
    for (;;) {
        uint64_t now;
        struct ibv_cq *cq;
        void *ctx;

        if (wait_met(c, k))
            return 0;
        if (c->abandoned)
            return -EIO;
        now = osci_now_ns();
        if (now >= deadline) {
            wait_abandon(d, c);
            return -ETIMEDOUT;
        }
        if (c->send_leader) {
            struct timespec ts = osci_ts_after_ms(CLOCK_REALTIME, 100);
            (void)pthread_cond_timedwait(&c->send_cond, &c->send_lock, &ts);
            send_reap(d, c);
            continue;
        }
        if (!c->send_armed) {
            if (ibv_req_notify_cq(c->send_cq, 0) != 0) {
                osci_log(OSCI_LOG_WARN, MOD, "node %u: ibv_req_notify_cq (send): %s", c->node, strerror(errno));
                return -EIO;
            }
            c->send_armed = true;
            send_reap(d, c);          /* a completion that came before arming raised no event */
            continue;
        }
        c->send_leader = true;
        pthread_mutex_unlock(&c->send_lock);
        {
            struct pollfd pfd = { .fd = c->send_cc->fd, .events = POLLIN };
            uint64_t left_ms = (deadline - now + 999999) / 1000000;
            (void)poll(&pfd, 1, left_ms > 100 ? 100 : (int)left_ms);
        }
        pthread_mutex_lock(&c->send_lock);
        if (ibv_get_cq_event(c->send_cc, &cq, &ctx) == 0) {
            ibv_ack_cq_events(cq, 1);
            c->send_armed = false;
        }
        c->send_leader = false;
        send_reap(d, c);
        pthread_cond_broadcast(&c->send_cond);
    }
}

/* The export holding [local, local + len), or NULL. */
static struct osci_drv_mem *export_of(struct rdma_drv *d, const uint8_t *local, size_t len)
{
    struct osci_drv_mem *lm;

    pthread_mutex_lock(&d->lock);
    osci_list_for_each(lm, &d->exports, link)
        if (local >= lm->addr && (size_t)(local - lm->addr) <= lm->size &&
            len <= lm->size - (size_t)(local - lm->addr))
            break;
    pthread_mutex_unlock(&d->lock);
    if (&lm->link == &d->exports.n)
        lm = NULL;
    return lm;
}

/*
 * A transfer that returns once all its work completed: every get, and puts from exported memory
 * larger than RDMA_COPY_MAX. Pieces stop at remote chunk ends, at local chunk ends (zero copy from
 * an export) and at RDMA_MAX_WR; all pieces of a batch are in flight at once (up to the send
 * queue's depth). Through the bounce buffer when the local buffer is not exported. A READ waits
 * (fence) for posted puts before it: it must see what they wrote.
 */
static int xfer_sync(struct rdma_drv *d, struct rdma_conn *c, struct osci_drv_rmem *rm, size_t roff,
                     uint8_t *local, size_t len, bool write)
{
    struct osci_drv_mem *lm = export_of(d, local, len);
    size_t done = 0;
    int ret = 0;

    if (!lm)
        pthread_mutex_lock(&d->bounce_lock);
    pthread_mutex_lock(&c->send_lock);
    while (done < len && !ret) {
        size_t batch = len - done, off = 0;
        struct rdma_wait w = { 0, IBV_WC_SUCCESS, false };
        struct rdma_cond room = { WAIT_ROOM, NULL, 0 }, all = { WAIT_DONE, &w, 0 };

        if (!lm) {
            if (batch > d->o.bounce)
                batch = d->o.bounce;
            if (write)
                memcpy(d->bounce, local + done, batch);
        }
        while (off < batch && !ret) {
            uint64_t ro = roff + done + off;
            uint64_t piece = rdma__piece(ro, batch - off, rm->x.chunk, d->max_wr_len);
            struct ibv_send_wr wr, *bad;
            struct ibv_sge sge;
            int r;

            memset(&wr, 0, sizeof(wr));
            if (lm) {
                uint64_t lo = (uint64_t)(local - lm->addr) + done + off;
                piece = rdma__piece(lo, piece, lm->chunk, 0);
                sge.addr = (uintptr_t)(local + done + off);
                sge.lkey = lm->mr[lo / lm->chunk]->lkey;
            } else {
                sge.addr = (uintptr_t)(d->bounce + off);
                sge.lkey = d->bounce_mr->lkey;
            }
            sge.length = (uint32_t)piece;
            wr.wr_id = (uintptr_t)&w;
            wr.sg_list = &sge;
            wr.num_sge = 1;
            wr.opcode = write ? IBV_WR_RDMA_WRITE : IBV_WR_RDMA_READ;
            wr.send_flags = IBV_SEND_SIGNALED;
            wr.wr.rdma.remote_addr = rm->x.addr + ro;
            wr.wr.rdma.rkey = rm->x.rkey[ro / rm->x.chunk];
            send_reap(d, c);
            if (!write && c->post_done != c->post_seq)
                wr.send_flags |= IBV_SEND_FENCE;
            if (!wait_met(c, &room)) {
                r = wait_cq(d, c, &room);    /* room comes back as work completes */
                if (r < 0) {
                    ret = r;
                    break;
                }
            }
            if (w.failed || atomic_load(&c->wc_error))
                break;
            r = ibv_post_send(c->id->qp, &wr, &bad);
            if (r) {
                osci_log(OSCI_LOG_WARN, MOD, "node %u: ibv_post_send (%s): %s", c->node, write ? "write" : "read",
                         strerror(r));
                ret = -EIO;
                break;
            }
            if (!c->sq_out++)
                c->sq_progress_ms = osci_now_ms();
            w.pending++;
            off += piece;
        }
        if (w.pending) {
            uint64_t t0 = osci_now_ns();
            int r = wait_cq(d, c, &all);
            if (r < 0 && !ret)
                ret = r;
            c->done_ns += ((int64_t)(osci_now_ns() - t0) - (int64_t)c->done_ns) / 8;
        }
        if (!ret && (w.failed || (off < batch && atomic_load(&c->wc_error)))) {
            enum ibv_wc_status st = w.failed ? w.status : (enum ibv_wc_status)(atomic_load(&c->wc_error) - 1);
            osci_log(OSCI_LOG_WARN, MOD, "node %u: RDMA %s failed: %s", c->node, write ? "WRITE" : "READ",
                     ibv_wc_status_str(st));
            ret = wc_errno(st);
        }
        if (!ret && !lm && !write)
            memcpy(local + done, d->bounce, batch);
        if (!ret)
            done += batch;
    }
    pthread_mutex_unlock(&c->send_lock);
    if (!lm)
        pthread_mutex_unlock(&d->bounce_lock);
    return ret;
}

/* The connection's put ring, registered on first use (send_lock held). */
static int ring_setup(struct rdma_drv *d, struct rdma_conn *c)
{
    int ret;

    c->ring = aligned_alloc(4096, (d->o.bounce + 4095) & ~(uint64_t)4095);
    if (!c->ring)
        return -ENOMEM;
    c->ring_mr = ibv_reg_mr(d->pd, c->ring, d->o.bounce, IBV_ACCESS_LOCAL_WRITE);
    if (!c->ring_mr) {
        ret = errno ? -errno : -ENOMEM;
        osci_log(OSCI_LOG_ERROR, MOD, "node %u: cannot register the %" PRIu64 "-byte put ring: %s", c->node,
                 d->o.bounce, strerror(-ret));
        free(c->ring);
        c->ring = NULL;
        return ret;
    }
    return 0;
}

/*
 * A posted put: each piece is copied into the ring (or goes inline) and its RDMA WRITE is posted
 * without waiting; a wait happens only for room in the ring or the send queue. wr_id is 1 + twice
 * the ring position where the piece's data ends: its completion gives the ring back up to there.
 * *posted_p: whether any piece was posted.
 */
static int put_posted(struct rdma_drv *d, struct rdma_conn *c, struct osci_drv_rmem *rm, size_t roff,
                      const uint8_t *src, size_t len, bool *posted_p)
{
    uint64_t size = d->o.bounce, cap = size / 2 < RDMA_PUT_PIECE ? size / 2 : RDMA_PUT_PIECE;
    bool inl = len <= c->max_inline;
    size_t done = 0;
    int ret = 0, st;

    if (cap > d->max_wr_len)
        cap = d->max_wr_len;
    pthread_mutex_lock(&c->send_lock);
    if (!inl && !c->ring && (ret = ring_setup(d, c)) < 0)
        goto out;
    while (done < len) {
        uint64_t ro = roff + done, piece = inl ? len : rdma__piece(ro, len - done, rm->x.chunk, cap), start;
        struct rdma_cond k = { WAIT_RING, NULL, inl ? 0 : piece };
        struct ibv_send_wr wr, *bad;
        struct ibv_sge sge;
        int r;

        send_reap(d, c);
        if (!wait_met(c, &k) && (ret = wait_cq(d, c, &k)) < 0)
            break;
        if ((st = atomic_load(&c->wc_error)) != 0) {
            ret = wc_errno((enum ibv_wc_status)(st - 1));
            break;
        }
        memset(&wr, 0, sizeof(wr));
        if (inl) {
            start = c->ring_head;
            sge.addr = (uintptr_t)src;
            sge.lkey = 0;                 /* inline: the data is copied into the request */
        } else {
            start = ring_fit(c, size, piece);
            if (c->ring_head == c->ring_tail)
                c->ring_head = c->ring_tail = start;   /* an empty ring starts again at offset 0 */
            memcpy(c->ring + start % size, src + done, piece);
            sge.addr = (uintptr_t)(c->ring + start % size);
            sge.lkey = c->ring_mr->lkey;
        }
        sge.length = (uint32_t)piece;
        wr.wr_id = (start + (inl ? 0 : piece)) << 1 | 1;
        wr.sg_list = &sge;
        wr.num_sge = 1;
        wr.opcode = IBV_WR_RDMA_WRITE;
        wr.send_flags = IBV_SEND_SIGNALED | (inl ? IBV_SEND_INLINE : 0);
        wr.wr.rdma.remote_addr = rm->x.addr + ro;
        wr.wr.rdma.rkey = rm->x.rkey[ro / rm->x.chunk];
        r = ibv_post_send(c->id->qp, &wr, &bad);
        if (r) {
            osci_log(OSCI_LOG_WARN, MOD, "node %u: ibv_post_send (posted write): %s", c->node, strerror(r));
            ret = -EIO;
            break;
        }
        if (!inl)
            c->ring_head = start + piece;
        if (!c->sq_out++)
            c->sq_progress_ms = osci_now_ms();
        c->post_seq++;
        *posted_p = true;
        done += piece;
    }
    if (*posted_p)
        rm->pseq = c->post_seq;
out:
    pthread_mutex_unlock(&c->send_lock);
    return ret;
}

/*
 * Ends rm's hold on the connection that carries its posted puts (rm->lock held): waits until they
 * completed and remembers in rm->err when not all of them reached remote memory.
 */
static void rmem_settle(struct rdma_drv *d, struct osci_drv_rmem *rm)
{
    struct rdma_conn *c = rm->pc;
    struct rdma_cond k = { WAIT_POSTED, NULL, rm->pseq };
    int r = 0, st;
    bool ok;

    if (!c)
        return;
    pthread_mutex_lock(&c->send_lock);
    send_reap(d, c);
    if (!wait_met(c, &k))
        r = wait_cq(d, c, &k);
    ok = c->post_ok >= rm->pseq;
    st = atomic_load(&c->wc_error);
    pthread_mutex_unlock(&c->send_lock);
    if (!ok && !rm->err) {
        rm->err = st ? wc_errno((enum ibv_wc_status)(st - 1)) : -EIO;
        osci_log(OSCI_LOG_WARN, MOD, "node %u: posted RDMA WRITEs failed: %s%s", c->node,
                 st ? ibv_wc_status_str((enum ibv_wc_status)(st - 1)) : "no completion",
                 r == -ETIMEDOUT ? " (timed out)" : "");
    }
    rm->pc = NULL;
    conn_put(d, c);
}

static int rmem_check(const struct osci_drv_rmem *rm, size_t roff, const void *local, size_t len)
{
    if (!rm || (!local && len))
        return -EINVAL;
    if (roff > rm->x.size || len > rm->x.size - roff)
        return -ERANGE;
    return 0;
}

static int conn_of(struct rdma_drv *d, const struct osci_drv_rmem *rm, struct rdma_conn **c_p)
{
    int ret = conn_get(d, rm->node, c_p);

    if (ret < 0)
        return ret;
    if ((*c_p)->peer_epoch != rm->epoch) {
        conn_put(d, *c_p);
        return -ECONNRESET;               /* imported from an earlier incarnation */
    }
    return 0;
}

static int rdma_put(struct osci_drv *drv, struct osci_drv_rmem *rm, size_t roff, const void *src, size_t len)
{
    struct rdma_drv *d = to_rdma(drv);
    const uint8_t *s = src;
    struct rdma_conn *c;
    bool posted = false;
    int ret;

    if ((ret = rmem_check(rm, roff, src, len)) < 0 || !len)
        return ret;
    pthread_mutex_lock(&rm->lock);
    ret = conn_of(d, rm, &c);
    if (rm->pc && (ret < 0 || rm->pc != c))
        rmem_settle(d, rm);               /* its connection failed: the outcome of its puts is known */
    if (!ret && rm->err) {
        ret = rm->err;                    /* an earlier posted put failed: reported once */
        rm->err = 0;
        conn_put(d, c);
        goto out;
    }
    if (ret < 0)
        goto out;
    if (len > RDMA_COPY_MAX && export_of(d, s, len))
        ret = xfer_sync(d, c, rm, roff, (uint8_t *)(uintptr_t)s, len, true);   /* zero copy, waited for */
    else
        ret = put_posted(d, c, rm, roff, s, len, &posted);
    if (posted && !rm->pc)
        rm->pc = c;                       /* keeps the reference until rmem_settle() */
    else
        conn_put(d, c);
out:
    pthread_mutex_unlock(&rm->lock);
    return ret;
}

static int rdma_get(struct osci_drv *drv, struct osci_drv_rmem *rm, size_t roff, void *dst, size_t len)
{
    struct rdma_drv *d = to_rdma(drv);
    struct rdma_conn *c;
    int ret;

    if ((ret = rmem_check(rm, roff, dst, len)) < 0 || !len)
        return ret;
    if ((ret = conn_of(d, rm, &c)) < 0)
        return ret;
    ret = xfer_sync(d, c, rm, roff, dst, len, false);
    conn_put(d, c);
    return ret;
}

/* Every connection, current and failed, with a reference each (for flush(NULL)). */
static int conns_hold(struct rdma_drv *d, struct rdma_conn ***v_p, unsigned int *n_p)
{
    struct rdma_conn **v, *z;
    unsigned int n = 0, max = d->n_hosts;

    pthread_mutex_lock(&d->lock);
    osci_list_for_each(z, &d->zombies, zombie_link)
        max++;
    v = malloc((max ? max : 1) * sizeof(*v));
    if (!v) {
        pthread_mutex_unlock(&d->lock);
        return -ENOMEM;
    }
    for (unsigned int i = 0; i < d->n_hosts; i++) {
        struct rdma_conn *c = d->peer[d->hosts[i].node_id].conn;
        if (c && c->has_qp)
            c->refs++, v[n++] = c;
    }
    osci_list_for_each(z, &d->zombies, zombie_link)
        if (z->has_qp)
            z->refs++, v[n++] = z;
    pthread_mutex_unlock(&d->lock);
    *v_p = v;
    *n_p = n;
    return 0;
}

static int rdma_flush(struct osci_drv *drv, struct osci_drv_rmem *rm)
{
    struct rdma_drv *d = to_rdma(drv);
    struct rdma_conn **v;
    unsigned int n;
    int ret = 0;

    if (rm) {
        pthread_mutex_lock(&rm->lock);
        rmem_settle(d, rm);
        ret = rm->err;
        rm->err = 0;
        pthread_mutex_unlock(&rm->lock);
        return ret;
    }
    if (d->observe)
        return 0;
    if ((ret = conns_hold(d, &v, &n)) < 0)
        return ret;
    for (unsigned int i = 0; i < n; i++) {
        struct rdma_conn *c = v[i];
        struct rdma_cond k;
        int st;

        pthread_mutex_lock(&c->send_lock);
        k = (struct rdma_cond){ WAIT_POSTED, NULL, c->post_seq };
        send_reap(d, c);
        if (!wait_met(c, &k))
            (void)wait_cq(d, c, &k);
        st = atomic_load(&c->wc_error);
        if (c->post_ok < k.need && !ret)
            ret = st ? wc_errno((enum ibv_wc_status)(st - 1)) : -EIO;
        pthread_mutex_unlock(&c->send_lock);
        conn_put(d, c);
    }
    free(v);
    return ret;
}

/* ---- peers, probe, query, inject ---- */

/* Writes the peer table into the publish file (d->lock held). */
static void pub_peers(struct rdma_drv *d)
{
    struct rdma_pub_peer t[RDMA_PUB_PEERS];
    unsigned int n = 0;

    if (!d->pub)
        return;
    for (unsigned int i = 0; i < d->n_hosts && n < RDMA_PUB_PEERS; i++) {
        uint32_t node = d->hosts[i].node_id;
        const struct rdma_peer *p = &d->peer[node];
        if (node == d->base.node_id)
            continue;
        t[n].node_id = node;
        t[n].link_up = p->link_up;
        t[n].epoch = p->epoch;
        t[n].last_rx_ms = p->last_rx_ms;
        n++;
    }
    rdma__pub_set_peers(d->pub, t, n);
}

/* Observer: a snapshot of the running node's publish file. -ENOTCONN when no live node publishes. */
static int pub_snapshot(struct rdma_drv *d, struct rdma_pub_state *st, void *info, size_t cap)
{
    const void *map;
    int ret = rdma__pub_open(d->pub_name, &map);

    if (ret == -ENOENT)
        return -ENOTCONN;
    if (ret < 0) {
        osci_log(OSCI_LOG_WARN, MOD, "/dev/shm%s: %s", d->pub_name,
                 ret == -EPERM ? "not this user's 0600 file: ignored" : strerror(-ret));
        return ret == -EPERM ? -EACCES : ret;
    }
    ret = rdma__pub_read(map, RDMA_PUB_SIZE, st, info, cap);
    munmap((void *)(uintptr_t)map, RDMA_PUB_SIZE);
    if (ret == 0 && !rdma__pid_alive(st->pid))
        ret = -ENOTCONN;          /* left by a node that was killed */
    return ret;
}

static int rdma_peers(struct osci_drv *drv, struct osci_peer_info *out, unsigned int max, unsigned int *count_p)
{
    struct rdma_drv *d = to_rdma(drv);
    unsigned int n = 0;
    uint64_t now = osci_now_ms();

    if (!count_p || (!out && max))
        return -EINVAL;
    if (d->observe) {
        /* The node running on this host, then its peers as it sees them. */
        struct rdma_pub_state *st = malloc(sizeof(*st));
        int ret;
        if (!st)
            return -ENOMEM;
        ret = pub_snapshot(d, st, NULL, 0);
        if (ret < 0) {
            free(st);
            return ret;
        }
        for (unsigned int i = 0; i <= st->n_peers; i++) {
            if (n < max) {
                memset(&out[n], 0, sizeof(out[n]));
                if (i == 0) {
                    out[n].node_id = st->node_id;
                    out[n].link_up = 1;
                    out[n].epoch = st->epoch;
                    out[n].pid = st->pid;
                } else {
                    const struct rdma_pub_peer *p = &st->peer[i - 1];
                    out[n].node_id = p->node_id;
                    out[n].link_up = p->link_up != 0;
                    out[n].epoch = p->epoch;
                    out[n].pid = -1;
                    out[n].heartbeat_age_ms = p->last_rx_ms && now > p->last_rx_ms ? now - p->last_rx_ms : 0;
                }
            }
            n++;
        }
        free(st);
        *count_p = n < max ? n : max;
        return 0;
    }
    pthread_mutex_lock(&d->lock);
    for (unsigned int i = 0; i < d->n_hosts; i++) {
        uint32_t node = d->hosts[i].node_id;
        struct rdma_peer *p = &d->peer[node];
        if (node == d->base.node_id)
            continue;
        if (n < max) {
            memset(&out[n], 0, sizeof(out[n]));
            out[n].node_id = node;
            out[n].link_up = p->link_up;
            out[n].epoch = p->epoch;
            out[n].pid = -1;
            out[n].heartbeat_age_ms = p->last_rx_ms ? now - p->last_rx_ms : 0;
        }
        n++;
    }
    pthread_mutex_unlock(&d->lock);
    *count_p = n < max ? n : max;
    return 0;
}

static int rdma_info_publish(struct osci_drv *drv, const void *buf, size_t len)
{
    struct rdma_drv *d = to_rdma(drv);
    int ret;

    if (d->observe)
        return -EPERM;
    if (!d->pub)
        return -EOPNOTSUPP;       /* the publish file could not be created (logged at open) */
    pthread_mutex_lock(&d->lock);
    ret = rdma__pub_set_info(d->pub, buf, len);
    pthread_mutex_unlock(&d->lock);
    return ret;
}

/* Only the table of the node on this host is readable: other hosts' tables never cross the fabric. */
static int rdma_info_read(struct osci_drv *drv, uint32_t node, void *buf, size_t len, size_t *len_p)
{
    struct rdma_drv *d = to_rdma(drv);
    struct rdma_pub_state *st;
    int ret;

    if (!len_p || (!buf && len))
        return -EINVAL;
    st = malloc(sizeof(*st));
    if (!st)
        return -ENOMEM;
    if (d->observe) {
        ret = pub_snapshot(d, st, buf, len);
    } else if (!d->pub) {
        ret = -EOPNOTSUPP;
    } else {
        pthread_mutex_lock(&d->lock);
        ret = rdma__pub_read(d->pub, RDMA_PUB_SIZE, st, buf, len);
        pthread_mutex_unlock(&d->lock);
    }
    if (ret == 0 && node != st->node_id) {
        ret = -EHOSTUNREACH;
        for (unsigned int i = 0; i < st->n_peers; i++)
            if (st->peer[i].node_id == node)
                ret = -EOPNOTSUPP;
    }
    if (ret == 0)
        *len_p = st->info_len;
    free(st);
    return ret;
}

static int rdma_probe(struct osci_drv *drv, uint32_t node)
{
    struct rdma_drv *d = to_rdma(drv);
    int ret;

    if (node == 0 || node > 255 || !d->peer[node].host)
        return -EADDRNOTAVAIL;          /* not in hosts.conf: can never be on this fabric */
    if (node == d->base.node_id)
        return 0;
    pthread_mutex_lock(&d->lock);
    ret = d->peer[node].link_up ? 0 : -ENOLINK;
    pthread_mutex_unlock(&d->lock);
    return ret;
}

/* "rdma:<dev>:<port> gid=<GID> state=<STATE>" (the IBV_PORT_* name); gid= and state= only when known
 * and when they fit. */
static int rdma_query(struct osci_drv *drv, struct osci_drv_info *info)
{
    struct rdma_drv *d = to_rdma(drv);
    struct ibv_port_attr pa;
    size_t n;

    if (!info)
        return -EINVAL;
    memset(info, 0, sizeof(*info));
    snprintf(info->name, sizeof(info->name), "rdma:%.40s:%u", d->dev_name, d->o.port);
    n = strlen(info->name);
    if (d->gid[0] && n + 5 + strlen(d->gid) < sizeof(info->name))
        n += (size_t)snprintf(info->name + n, sizeof(info->name) - n, " gid=%s", d->gid);
    if (ibv_query_port(d->ctx, (uint8_t)d->o.port, &pa) == 0) {
        static const char *const names[] = { "NOP", "DOWN", "INIT", "ARMED", "ACTIVE", "ACTIVE_DEFER" };
        const char *st = (unsigned int)pa.state < sizeof(names) / sizeof(names[0]) ? names[pa.state] : "UNKNOWN";
        if (n + 7 + strlen(st) < sizeof(info->name))
            snprintf(info->name + n, sizeof(info->name) - n, " state=%s", st);
    }
    info->node_id = d->base.node_id;
    info->max_nodes = 255;
    info->max_mem_size = d->o.mr_chunk * RDMA_XPORT_MAX_CHUNKS;
    info->mem_align = 4096;
    info->n_doorbells = OSCI_DRV_DB_COUNT;
    /* A cut link or a hung peer is only silence (heartbeats); peers are the configured hosts. */
    info->caps = OSCI_DRV_CAP_PUT_GET | OSCI_DRV_CAP_INFO | OSCI_DRV_CAP_EXPORT_FOREIGN;
    info->card_type = OSCI_DRV_CARD_RDMA;
    return 0;
}

static int rdma_inject(struct osci_drv *drv, enum osci_fault fault, uint32_t node, unsigned int count)
{
    struct rdma_drv *d = to_rdma(drv);
    struct rdma_peer *p;

    if (d->observe)
        return -EPERM;
    if (node == 0 || node > 255 || node == d->base.node_id || !d->peer[node].host)
        return -EHOSTUNREACH;
    p = &d->peer[node];
    switch (fault) {
    case OSCI_FAULT_LINK_DOWN:
        pthread_mutex_lock(&d->lock);
        p->held_down = true;
        if (p->conn)
            conn_fail(d, p->conn, WHY_LOCAL);
        pthread_mutex_unlock(&d->lock);
        wake(d);
        return 0;
    case OSCI_FAULT_LINK_UP:
        pthread_mutex_lock(&d->lock);
        p->held_down = false;
        p->next_retry_ms = 0;
        pthread_mutex_unlock(&d->lock);
        wake(d);
        return 0;
    default:                       /* DROP_DOORBELL, CORRUPT_MSG: the fault interposer's (driver/core/hook.c) */
        return -EOPNOTSUPP;        /* LIVENESS_LOST: heartbeats are libseg's, the QP cannot fake death */
    }
}

/* ---- open / close ---- */

static int pick_device(struct rdma_drv *d)
{
    struct ibv_context **list;
    int n = 0, ret = 0;

    list = rdma_get_devices(&n);
    if (!list || n == 0) {
        osci_log(OSCI_LOG_ERROR, MOD, "no RDMA device found (load rdma_rxe and run `rdma link add rxe0 type rxe "
                 "netdev <if>`, or use a real NIC)");
        if (list)
            rdma_free_devices(list);
        return -ENODEV;
    }
    if (d->o.ip[0]) {
        struct rdma_cm_id *tmp;
        struct sockaddr_storage ss = d->local;
        if (rdma_create_id(NULL, &tmp, NULL, RDMA_PS_TCP) != 0) {
            ret = -errno;
            osci_log(OSCI_LOG_ERROR, MOD, "rdma_create_id: %s", strerror(errno));
            goto out;
        }
        if (rdma_bind_addr(tmp, (struct sockaddr *)&ss) != 0 || !tmp->verbs) {
            osci_log(OSCI_LOG_ERROR, MOD, "ip=%s is not an address of an RDMA device", d->o.ip);
            rdma_destroy_id(tmp);
            ret = -ENODEV;
            goto out;
        }
        d->ctx = tmp->verbs;
        rdma_destroy_id(tmp);
        if (d->o.dev[0] && strcmp(d->o.dev, ibv_get_device_name(d->ctx->device))) {
            osci_log(OSCI_LOG_ERROR, MOD, "ip=%s belongs to device %s, not dev=%s", d->o.ip,
                     ibv_get_device_name(d->ctx->device), d->o.dev);
            ret = -EINVAL;
            goto out;
        }
    } else if (d->o.dev[0]) {
        for (int i = 0; i < n && !d->ctx; i++)
            if (!strcmp(ibv_get_device_name(list[i]->device), d->o.dev))
                d->ctx = list[i];
        if (!d->ctx) {
            osci_log(OSCI_LOG_ERROR, MOD, "no RDMA device named %s (%d device%s found)", d->o.dev, n,
                     n == 1 ? "" : "s");
            ret = -ENODEV;
            goto out;
        }
    } else {
        d->ctx = list[0];
    }
    snprintf(d->dev_name, sizeof(d->dev_name), "%s", ibv_get_device_name(d->ctx->device));
out:
    rdma_free_devices(list);
    return ret;
}

/* The local address: ip=, else the address inside the chosen (or first RoCE v2 IPv4) GID. */
static int pick_local_addr(struct rdma_drv *d, int gid_tbl_len)
{
    if (d->o.ip[0])
        return 0;
    for (int i = d->o.gid_index >= 0 ? d->o.gid_index : 0; i < gid_tbl_len; i++) {
        struct ibv_gid_entry e;
        const uint8_t *g;
        static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

        if (ibv_query_gid_ex(d->ctx, d->o.port, (uint32_t)i, &e, 0) != 0) {
            if (d->o.gid_index >= 0)
                break;
            continue;
        }
        g = e.gid.raw;
        if (d->o.gid_index < 0 && e.gid_type != IBV_GID_TYPE_ROCE_V2)
            continue;
        if (!memcmp(g, v4mapped, 12)) {
            struct sockaddr_in *sin = (struct sockaddr_in *)&d->local;
            memset(&d->local, 0, sizeof(d->local));
            sin->sin_family = AF_INET;
            memcpy(&sin->sin_addr, g + 12, 4);
            return 0;
        }
        if (d->o.gid_index >= 0) {
            struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&d->local;
            if (g[0] == 0xfe && (g[1] & 0xc0) == 0x80) {
                osci_log(OSCI_LOG_ERROR, MOD, "%s port %u GID %d is link-local: set ip=", d->dev_name, d->o.port, i);
                return -EINVAL;
            }
            memset(&d->local, 0, sizeof(d->local));
            s6->sin6_family = AF_INET6;
            memcpy(&s6->sin6_addr, g, 16);
            return 0;
        }
    }
    if (d->o.gid_index >= 0)
        osci_log(OSCI_LOG_ERROR, MOD, "%s port %u has no GID at index %d", d->dev_name, d->o.port, d->o.gid_index);
    else
        osci_log(OSCI_LOG_ERROR, MOD, "%s port %u has no RoCE v2 IPv4 GID (is its netdev up with an IPv4 "
                 "address?); set ip= or gid_index=", d->dev_name, d->o.port);
    return -EADDRNOTAVAIL;
}

/* d->gid: the GID at gid_index=, else the one that carries the local address. */
static void find_gid(struct rdma_drv *d, int gid_tbl_len)
{
    static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

    d->gid[0] = 0;
    for (int i = d->o.gid_index >= 0 ? d->o.gid_index : 0; i < gid_tbl_len; i++) {
        struct ibv_gid_entry e;
        bool match;

        if (ibv_query_gid_ex(d->ctx, d->o.port, (uint32_t)i, &e, 0) != 0) {
            if (d->o.gid_index >= 0)
                return;
            continue;
        }
        if (d->o.gid_index >= 0)
            match = true;
        else if (d->local.ss_family == AF_INET)
            match = !memcmp(e.gid.raw, v4mapped, 12) &&
                    !memcmp(e.gid.raw + 12, &((struct sockaddr_in *)&d->local)->sin_addr, 4) &&
                    (d->o.ip[0] || e.gid_type == IBV_GID_TYPE_ROCE_V2);
        else if (d->local.ss_family == AF_INET6)
            match = !memcmp(e.gid.raw, &((struct sockaddr_in6 *)&d->local)->sin6_addr, 16);
        else
            match = false;
        if (match) {
            if (!inet_ntop(AF_INET6, e.gid.raw, d->gid, sizeof(d->gid)))
                d->gid[0] = 0;
            return;
        }
        if (d->o.gid_index >= 0)
            return;
    }
}

/* Observe mode: the device for query(), the publish file's name for peers()/info_read(); no PD, no CM. */
/* A driver instance with its options parsed and the ip= address resolved (observe as conf says). */
static int rdma_drv_alloc(const struct osci_adapter_conf *conf, struct rdma_drv **d_p)
{
    struct rdma_drv *d;
    char err[256];
    int ret;

    d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    osci_list_init(&d->zombies);
    osci_list_init(&d->exports);
    d->observe = conf->observe != 0;
    d->epfd = d->tfd = d->wfd = -1;
    ret = rdma__opts_parse(conf, &d->o, err, sizeof(err));
    if (ret < 0) {
        osci_log(OSCI_LOG_ERROR, MOD, "adapter %u: %s", conf->adapter_no, err);
        goto err_free;
    }
    if (d->o.ip[0]) {
        struct addrinfo hints = { .ai_flags = AI_NUMERICHOST }, *res;
        if (getaddrinfo(d->o.ip, NULL, &hints, &res) != 0) {
            ret = -EINVAL;
            goto err_free;
        }
        memcpy(&d->local, res->ai_addr, res->ai_addrlen);
        freeaddrinfo(res);
    }
    *d_p = d;
    return 0;

err_free:
    free(d);
    return ret;
}

static int rdma_observe_open(const struct osci_adapter_conf *conf, struct osci_drv **drv_p)
{
    struct rdma_drv *d;
    struct ibv_port_attr pattr;
    int ret;

    ret = rdma_drv_alloc(conf, &d);
    if (ret < 0)
        return ret;
    ret = pick_device(d);
    if (ret < 0)
        goto err_free;
    if (ibv_query_port(d->ctx, (uint8_t)d->o.port, &pattr) != 0) {
        osci_log(OSCI_LOG_ERROR, MOD, "%s: cannot query port %u: %s", d->dev_name, d->o.port, strerror(errno));
        ret = -ENODEV;
        goto err_free;
    }
    if (pick_local_addr(d, pattr.gid_tbl_len) == 0)     /* a port without an address shows no GID */
        find_gid(d, pattr.gid_tbl_len);
    ret = rdma__pub_name(d->dev_name, d->o.port, d->o.listen, d->pub_name, sizeof(d->pub_name));
    if (ret < 0)
        goto err_free;
    *drv_p = &d->base;
    return 0;

err_free:
    free(d);
    return ret;
}

static int setup_fds(struct rdma_drv *d)
{
    struct itimerspec its = { { 0, RDMA_TICK_MS * 1000000L }, { 0, RDMA_TICK_MS * 1000000L } };
    int fds[4];
    int ret;

    d->epfd = epoll_create1(EPOLL_CLOEXEC);
    d->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    d->wfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (d->epfd < 0 || d->tfd < 0 || d->wfd < 0)
        return -errno;
    if (timerfd_settime(d->tfd, 0, &its, NULL) < 0)
        return -errno;
    fds[0] = d->ch->fd;
    fds[1] = d->cc->fd;
    fds[2] = d->tfd;
    fds[3] = d->wfd;
    for (int i = 0; i < 4; i++) {
        struct epoll_event ev = { .events = EPOLLIN, .data.fd = fds[i] };
        if (i < 2 && (ret = set_nonblock(fds[i])) < 0)
            return ret;
        if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fds[i], &ev) < 0)
            return -errno;
    }
    return 0;
}

static void close_fds(struct rdma_drv *d)
{
    if (d->epfd >= 0)
        close(d->epfd);
    if (d->tfd >= 0)
        close(d->tfd);
    if (d->wfd >= 0)
        close(d->wfd);
}

static int rdma_open(const struct osci_adapter_conf *conf, struct osci_drv **drv_p)
{
    struct rdma_drv *d;
    struct osci_host *hosts = NULL;
    struct ibv_port_attr pattr;
    struct ibv_device_attr dattr;
    struct sockaddr_storage la;
    char err[256], a[64];
    const struct rdma_host *self;
    int ret;

    osci_log_init();
    if (!conf || !drv_p)
        return -EINVAL;
    if (conf->observe)
        return rdma_observe_open(conf, drv_p);
    ret = rdma_drv_alloc(conf, &d);
    if (ret < 0)
        return ret;
    hosts = calloc(RDMA_MAX_HOSTS, sizeof(*hosts));
    if (!hosts) {
        ret = -ENOMEM;
        goto err_free;
    }
    ret = osci_hosts_load(hosts, RDMA_MAX_HOSTS, &d->n_hosts);
    if (ret < 0)
        goto err_free;
    ret = rdma__hosts_resolve(hosts, d->n_hosts, d->hosts, err, sizeof(err));
    if (ret < 0) {
        osci_log(OSCI_LOG_ERROR, MOD, "%s", err);
        goto err_free;
    }
    for (unsigned int i = 0; i < d->n_hosts; i++)
        d->peer[d->hosts[i].node_id].host = &d->hosts[i];

    ret = pick_device(d);
    if (ret < 0)
        goto err_free;
    if (ibv_query_port(d->ctx, (uint8_t)d->o.port, &pattr) != 0 || ibv_query_device(d->ctx, &dattr) != 0) {
        osci_log(OSCI_LOG_ERROR, MOD, "%s: cannot query port %u: %s", d->dev_name, d->o.port, strerror(errno));
        ret = -ENODEV;
        goto err_free;
    }
    if (pattr.state != IBV_PORT_ACTIVE)
        osci_log(OSCI_LOG_WARN, MOD, "%s port %u is %s", d->dev_name, d->o.port, ibv_port_state_str(pattr.state));
    d->max_wr_len = pattr.max_msg_sz < RDMA_MAX_WR ? pattr.max_msg_sz : RDMA_MAX_WR;
    d->rd_atom = (uint8_t)(dattr.max_qp_rd_atom < dattr.max_qp_init_rd_atom ? dattr.max_qp_rd_atom
                                                                             : dattr.max_qp_init_rd_atom);
    if (d->rd_atom > 4)
        d->rd_atom = 4;
    ret = pick_local_addr(d, pattr.gid_tbl_len);
    if (ret < 0)
        goto err_free;
    find_gid(d, pattr.gid_tbl_len);
    addr_str((struct sockaddr *)&d->local, a, sizeof(a));

    d->base.node_id = conf->node_id ? conf->node_id
                                    : rdma__hosts_node_of(d->hosts, d->n_hosts, (struct sockaddr *)&d->local);
    if (!d->base.node_id) {
        osci_log(OSCI_LOG_ERROR, MOD, "adapter %u: no node id: set node_id= (or OSCI_NODE_ID) or list %s in "
                 "hosts.conf", conf->adapter_no, a);
        ret = -EINVAL;
        goto err_free;
    }
    self = rdma__hosts_find(d->hosts, d->n_hosts, d->base.node_id);
    if (!self || !rdma__addr_equal((const struct sockaddr *)&self->sa, (struct sockaddr *)&d->local))
        osci_log(OSCI_LOG_WARN, MOD, "node %u (%s on %s) is not listed with that address in hosts.conf: peers will "
                 "refuse it", d->base.node_id, a, d->dev_name);
    d->one_cpu = sysconf(_SC_NPROCESSORS_ONLN) == 1;
    if (getrandom(&d->epoch, sizeof(d->epoch), 0) != sizeof(d->epoch) || !d->epoch)
        d->epoch = ((uint64_t)osci_now_ms() << 20) ^ (uint64_t)getpid() ^ 1;

    ret = -pthread_mutex_init(&d->lock, NULL);
    if (ret < 0)
        goto err_free;
    ret = -pthread_mutex_init(&d->bounce_lock, NULL);
    if (ret < 0)
        goto err_lock;
    d->pd = ibv_alloc_pd(d->ctx);
    if (!d->pd) {
        ret = errno ? -errno : -ENOMEM;
        osci_log(OSCI_LOG_ERROR, MOD, "%s: ibv_alloc_pd: %s", d->dev_name, strerror(-ret));
        goto err_bounce_lock;
    }
    d->cc = ibv_create_comp_channel(d->ctx);
    if (!d->cc) {
        ret = errno ? -errno : -ENOMEM;
        osci_log(OSCI_LOG_ERROR, MOD, "%s: ibv_create_comp_channel: %s", d->dev_name, strerror(-ret));
        goto err_pd;
    }
    d->ch = rdma_create_event_channel();
    if (!d->ch) {
        ret = errno ? -errno : -ENOMEM;
        osci_log(OSCI_LOG_ERROR, MOD, "rdma_create_event_channel: %s", strerror(-ret));
        goto err_cc;
    }
    if (rdma_create_id(d->ch, &d->listen_id, NULL, RDMA_PS_TCP) != 0) {
        ret = -errno;
        osci_log(OSCI_LOG_ERROR, MOD, "rdma_create_id: %s", strerror(errno));
        goto err_ch;
    }
    la = d->local;
    set_port(&la, d->o.listen);
    if (rdma_bind_addr(d->listen_id, (struct sockaddr *)&la) != 0 || rdma_listen(d->listen_id, 16) != 0) {
        ret = -errno;
        osci_log(OSCI_LOG_ERROR, MOD, "cannot listen on %s port %u: %s", a, d->o.listen, strerror(errno));
        goto err_listen;
    }
    d->bounce = aligned_alloc(4096, (d->o.bounce + 4095) & ~(uint64_t)4095);
    if (!d->bounce) {
        ret = -ENOMEM;
        goto err_listen;
    }
    d->bounce_mr = ibv_reg_mr(d->pd, d->bounce, d->o.bounce, IBV_ACCESS_LOCAL_WRITE);
    if (!d->bounce_mr) {
        ret = errno ? -errno : -ENOMEM;
        osci_log(OSCI_LOG_ERROR, MOD, "cannot register the %" PRIu64 "-byte bounce buffer: %s", d->o.bounce,
                 strerror(-ret));
        goto err_bounce;
    }
    ret = setup_fds(d);
    if (ret < 0) {
        osci_log(OSCI_LOG_ERROR, MOD, "event fd setup: %s", strerror(-ret));
        goto err_fds;
    }
    osci_log(OSCI_LOG_INFO, MOD, "adapter %u: node %u on %s port %u, %s:%u, epoch %016" PRIx64, conf->adapter_no,
             d->base.node_id, d->dev_name, d->o.port, a, d->o.listen, d->epoch);
    /* Introspection only: without the file the node runs, and observers see no node here. */
    if (rdma__pub_name(d->dev_name, d->o.port, d->o.listen, d->pub_name, sizeof(d->pub_name)) < 0 ||
        rdma__pub_create(d->pub_name, (int32_t)getpid(), d->base.node_id, d->epoch, &d->pub, err,
                         sizeof(err)) < 0) {
        osci_log(OSCI_LOG_WARN, MOD, "adapter %u: no publish file for osci-seginfo: %s", conf->adapter_no,
                 err[0] ? err : "name too long");
        d->pub = NULL;
    }
    pthread_mutex_lock(&d->lock);
    for (unsigned int i = 0; i < d->n_hosts; i++)   /* lower ids connect to us first */
        if (d->hosts[i].node_id < d->base.node_id)
            peer_schedule_retry(d, d->hosts[i].node_id, d->o.retry_ms);
    housekeeping(d);             /* first connection attempts */
    pub_peers(d);
    pthread_mutex_unlock(&d->lock);
    free(hosts);
    *drv_p = &d->base;
    return 0;

err_fds:
    close_fds(d);
    ibv_dereg_mr(d->bounce_mr);
err_bounce:
    free(d->bounce);
err_listen:
    rdma_destroy_id(d->listen_id);
err_ch:
    rdma_destroy_event_channel(d->ch);
err_cc:
    ibv_destroy_comp_channel(d->cc);
err_pd:
    ibv_dealloc_pd(d->pd);
err_bounce_lock:
    pthread_mutex_destroy(&d->bounce_lock);
err_lock:
    pthread_mutex_destroy(&d->lock);
err_free:
    free(hosts);
    free(d);
    return ret;
}

static void rdma_close(struct osci_drv *drv)
{
    struct rdma_drv *d = to_rdma(drv);
    struct rdma_conn *c, *ctmp;
    struct osci_drv_mem *m, *mtmp;

    if (d->observe) {
        free(d);
        return;
    }
    if (d->pub) {
        munmap(d->pub, RDMA_PUB_SIZE);
        shm_unlink(d->pub_name);
    }
    pthread_mutex_lock(&d->lock);
    for (unsigned int i = 0; i < d->n_hosts; i++) {
        struct rdma_peer *p = &d->peer[d->hosts[i].node_id];
        if (p->conn)
            conn_fail(d, p->conn, WHY_LOCAL);
    }
    zombies_reap(d);             /* peers get a DREQ now (destroying an established id would send one anyway) */
    osci_list_for_each_safe(c, ctmp, &d->zombies, zombie_link) {
        if (c->refs)
            osci_log(OSCI_LOG_ERROR, MOD, "close: node %u connection still used by %u call(s)", c->node, c->refs);
        osci_list_del(&c->zombie_link);
        conn_free(c);
    }
    osci_list_for_each_safe(m, mtmp, &d->exports, link) {
        osci_log(OSCI_LOG_WARN, MOD, "close: export of %zu bytes was not unexported", m->size);
        osci_list_del(&m->link);
        mem_free(m);
    }
    pthread_mutex_unlock(&d->lock);
    close_fds(d);
    ibv_dereg_mr(d->bounce_mr);
    free(d->bounce);
    rdma_destroy_id(d->listen_id);
    rdma_destroy_event_channel(d->ch);
    ibv_destroy_comp_channel(d->cc);
    ibv_dealloc_pd(d->pd);
    pthread_mutex_destroy(&d->bounce_lock);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

const struct osci_drv_ops osci_rdma_ops = {
    .size = sizeof(struct osci_drv_ops),
    .name = "rdma",
    .open = rdma_open,
    .close = rdma_close,
    .query = rdma_query,
    .event_fd = rdma_event_fd,
    .arm = rdma_arm,
    .progress = rdma_progress,
    .peers = rdma_peers,
    .msg_send = rdma_msg_send,
    .db_ring = rdma_db_ring,
    .db_set_event_mask = rdma_db_set_event_mask,
    .mem_export = rdma_mem_export,
    .mem_unexport = rdma_mem_unexport,
    .mem_pack = rdma_mem_pack,
    .rmem_import = rdma_rmem_import,
    .rmem_release = rdma_rmem_release,
    .put = rdma_put,
    .get = rdma_get,
    .db_poll = rdma_db_poll,
    .probe = rdma_probe,
    .info_publish = rdma_info_publish,
    .info_read = rdma_info_read,
    .inject = rdma_inject,
    .flush = rdma_flush,
};
