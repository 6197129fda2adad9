/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* INTER_THREAD / INTER_PROCESS backend: two frame FIFOs in POSIX shared memory, one POSIX mqueue per endpoint
 * for notifications. The connection handshake (ipc_conn.c) publishes each side's state in the shared header. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <mqueue.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ipc_internal.h"
#include "osci_exit.h"
#include "osci_log.h"
#include "osci_proc.h"
#include "osci_time.h"

#define SHM_MAGIC 0x4f495043u     /* "OIPC" */
#define SHM_VERSION 3u
#define CL 64
#define MQ_MAXMSG 8
#define MQ_MSGSIZE 8
#define ATTACH_WAIT_MS 2000
#define OPEN_TRIES 64


struct shm_claim {
    _Atomic int32_t pid;         /* 0: free */
    _Atomic uint32_t exiting;    /* its process exits without closing: it does not stay (under lock) */
    _Atomic uint64_t start;      /* process start time (clock ticks since boot) */
};

struct shm_side {
    _Atomic uint32_t state;      /* enum conn_state, written by this side (by the survivor when it dies) */
    _Atomic uint64_t notes;      /* notifications posted to this side's mqueue */
    _Atomic uint64_t taken;      /* of them, received by this side's owners */
} __attribute__((aligned(CL)));

struct shm_idx {
    _Atomic uint32_t v;
} __attribute__((aligned(CL)));

struct shm_arm {
    _Atomic uint32_t v[IPC_FIFO_ARM_N];   /* the FIFO's arm counters, stored by this side */
} __attribute__((aligned(CL)));

struct shm_hdr {
    uint32_t magic, version, nframes, frame_size;
    uint64_t size;
    _Atomic uint32_t ready;
    uint32_t attached;           /* under lock */
    _Atomic uint32_t dead;       /* set under lock by whoever unlinks the names */
    uint32_t pad;
    pthread_mutex_t lock;        /* robust, process-shared; open/close only */
    struct shm_claim claim[2];
    char names[2][NVSCIIPC_MAX_ENDPOINT_NAME];
    struct shm_side side[2];
    struct shm_idx tail[2];      /* FIFO s: frames written, stored by side s */
    struct shm_idx head[2];      /* FIFO s: frames consumed, stored by the other side */
    struct shm_arm arm[2];
};

#define HDR_SIZE ((sizeof(struct shm_hdr) + CL - 1) & ~(size_t)(CL - 1))

struct shm_ep {
    struct ipc_ep *ep;
    struct shm_hdr *h;
    size_t map_len;
    int s, p;
    uint32_t nframes, fsize;
    mqd_t mq_rx, mq_tx;
    char shm_name[200], mq_name[2][208];
    mode_t mode;
    struct ipc_fifo fifo;        /* the data path */
    struct ipc_conn conn;        /* our handshake state, pending edge events */
    uint64_t notes_seen;
    /* peer liveness */
    int32_t watched_pid;
    uint64_t watched_start, watch_id;
    int watched_dead;            /* its pidfd fired (or it was dead when watched): reaped, never re-watched */
    _Atomic int peer_died;
    struct osci_exit_entry exit_e; /* in the exit hook's registry */
};


static struct shm_ep *to_shm(struct ipc_ep *ep)
{
    return ep->be;
}

static int claim_alive(struct shm_claim *c)
{
    int32_t pid = atomic_load(&c->pid);
    return pid != 0 && osci_proc_alive(pid, atomic_load(&c->start));
}

/* ---- names ---- */
static void sanitize(char *out, size_t out_len, const char *in)
{
    size_t i;
    for (i = 0; in[i] && i + 1 < out_len; i++) {
        char c = in[i];
        out[i] = ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                  c == '_') ? c : '_';
    }
    out[i] = '\0';
}

static void make_names(struct shm_ep *se, const struct ipc_cfg_ep *cfg)
{
    const char *n0 = cfg->side == 0 ? cfg->name : cfg->peer_name;
    const char *n1 = cfg->side == 0 ? cfg->peer_name : cfg->name;
    char a[NVSCIIPC_MAX_ENDPOINT_NAME], b[NVSCIIPC_MAX_ENDPOINT_NAME];
    uint64_t hash = 1469598103934665603ull;   /* FNV-1a of the raw pair: sanitised names cannot collide */
    const char *q;
    for (q = n0; *q; q++) hash = (hash ^ (uint8_t)*q) * 1099511628211ull;
    hash = (hash ^ 0xff) * 1099511628211ull;
    for (q = n1; *q; q++) hash = (hash ^ (uint8_t)*q) * 1099511628211ull;
    sanitize(a, sizeof(a), n0);
    sanitize(b, sizeof(b), n1);
    snprintf(se->shm_name, sizeof(se->shm_name), "/osci-ipc-%c-%s.%s-%08x", cfg->backend == IPC_BE_THREAD ? 't' : 'p',
             a, b, (uint32_t)(hash ^ (hash >> 32)));
    snprintf(se->mq_name[0], sizeof(se->mq_name[0]), "%s.q0", se->shm_name);
    snprintf(se->mq_name[1], sizeof(se->mq_name[1]), "%s.q1", se->shm_name);
}

/* ---- access ---- */
int ipc__in_group(gid_t gid)
{
    gid_t groups[256];
    int n, i;
    if (geteuid() == 0 || getegid() == gid) return 1;
    n = getgroups(256, groups);
    for (i = 0; i < n; i++)
        if (groups[i] == gid) return 1;
    return 0;
}

static int set_owner(int fd, const struct ipc_cfg_ep *cfg, mode_t mode)
{
    if (cfg->gid != IPC_GID_NONE && fchown(fd, (uid_t)-1, (gid_t)cfg->gid) < 0) return -errno;
    if (fchmod(fd, mode) < 0) return -errno;
    return 0;
}

/* The object must be ours (0600) or the configured group's (0660). */
static int check_obj(int fd, const struct ipc_cfg_ep *cfg, mode_t mode, int want_reg)
{
    struct stat st;
    if (fstat(fd, &st) < 0) return -errno;
    if (want_reg && !S_ISREG(st.st_mode)) return -EPROTO;
    if ((st.st_mode & 07777) != mode) return -EPERM;
    if (cfg->gid != IPC_GID_NONE ? st.st_gid != (gid_t)cfg->gid : st.st_uid != geteuid()) return -EPERM;
    return 0;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
    nanosleep(&ts, NULL);
}

static int hdr_lock(struct shm_hdr *h)
{
    int rc = pthread_mutex_lock(&h->lock);
    if (rc == EOWNERDEAD) rc = pthread_mutex_consistent(&h->lock);
    return -rc;
}

/* ---- notifications ---- */
/* notes[side] counts messages posted to side's mqueue: raised before mq_send (lowered again if the send fails),
 * so every message in the queue is counted and its receiver never leaves one behind. taken[side] counts the
 * messages its owner received, so that a new owner of the side (a reopen, a reclaim) knows which messages in
 * the queue are not received yet: the fd is readable only when something new was posted. */
static void notify_side(struct shm_ep *se, int side, mqd_t mq)
{
    uint64_t one = 1;
    atomic_fetch_add(&se->h->side[side].notes, 1);
    if (mq_send(mq, (const char *)&one, sizeof(one), 0) < 0) {
        atomic_fetch_sub(&se->h->side[side].notes, 1);   /* EAGAIN: the queue is full, the receiver will wake */
        if (errno != EAGAIN) osci_log(OSCI_LOG_DEBUG, "ipc", "mq_send: %s", strerror(errno));
    }
}

static void notify_peer(struct shm_ep *se)
{
    notify_side(se, se->p, se->mq_tx);
}

/* The FIFO's hook: every word is in the shared mapping (out[] set), so it only notifies. */
static void fifo_notify(void *ctx, enum ipc_fifo_whom whom)
{
    struct shm_ep *se = ctx;
    if (whom == IPC_FIFO_SELF) notify_side(se, se->s, se->mq_rx);
    else notify_peer(se);
}

static const struct ipc_fifo_backend shm_fifo_be = {
    .notify = fifo_notify,
};

static void fifo_setup(struct shm_ep *se)
{
    struct shm_hdr *h = se->h;
    struct ipc_fifo *f = &se->fifo;
    unsigned i;
    *f = (struct ipc_fifo){ .be = &shm_fifo_be, .ctx = se, .conn = &se->conn,
                            .notify_enabled = &se->ep->notify_enabled, .nframes = se->nframes, .fsize = se->fsize,
                            .in_tail = &h->tail[se->p].v, .in_head = &h->head[se->s].v };
    f->out[IPC_FW_TAIL] = &h->tail[se->s].v;
    f->out[IPC_FW_HEAD] = &h->head[se->p].v;
    for (i = 0; i < IPC_FIFO_ARM_N; i++) {
        f->in_arm[i] = &h->arm[se->p].v[i];
        f->out[IPC_FW_ARM_READ + i] = &h->arm[se->s].v[i];
        f->arm_mine[i] = atomic_load(&h->arm[se->s].v[i]);   /* counters go on from an earlier owner's */
    }
    ipc__fifo_forget_arms(f);
    f->tx_frames = (uint8_t *)h + HDR_SIZE + (size_t)se->s * se->nframes * se->fsize;
    f->rx_frames = (uint8_t *)h + HDR_SIZE + (size_t)se->p * se->nframes * se->fsize;
}

/* Receives the counted messages; one still in flight is received on a later call (its arrival wakes us). */
static void drain(struct shm_ep *se)
{
    uint64_t n = atomic_load_explicit(&se->h->side[se->s].notes, memory_order_acquire);
    char msg[MQ_MSGSIZE];
    if (se->notes_seen == n) return;
    while (se->notes_seen != n && mq_receive(se->mq_rx, msg, sizeof(msg), NULL) >= 0) se->notes_seen++;
    atomic_store_explicit(&se->h->side[se->s].taken, se->notes_seen, memory_order_relaxed);
}

/* ---- the connection handshake (ipc_conn.c); side[s].state publishes our state ---- */
static void conn_publish(void *ctx, uint32_t state)
{
    struct shm_ep *se = ctx;
    atomic_store_explicit(&se->h->side[se->s].state, state, memory_order_release);
}

static void conn_clear(void *ctx)
{
    struct shm_ep *se = ctx;
    atomic_store_explicit(&se->h->tail[se->s].v, 0, memory_order_relaxed);
    atomic_store_explicit(&se->h->head[se->p].v, 0, memory_order_relaxed);
    ipc__fifo_clear(&se->fifo);
}

static void conn_notify(void *ctx)
{
    notify_peer(ctx);
}

static uint32_t conn_peer_state(void *ctx)
{
    struct shm_ep *se = ctx;
    return atomic_load_explicit(&se->h->side[se->p].state, memory_order_acquire);
}

static const struct ipc_conn_ops shm_conn_ops = {
    .publish = conn_publish,
    .clear = conn_clear,
    .notify = conn_notify,
    .peer_state = conn_peer_state,
};

/* ---- peer liveness ---- */
static void on_peer_exit(void *arg)
{
    struct shm_ep *se = arg;
    if (atomic_load(&se->h->claim[se->p].pid) == 0) return;   /* it closed first: nothing new to report */
    atomic_store(&se->peer_died, 1);
    notify_side(se, se->s, se->mq_rx);   /* wakes our own event fd */
}

/* The watched peer process is gone: free its claim so that a restarted peer can attach. `exited`: its pidfd
 * polled readable, which is death (a zombie's too); else /proc decides. */
static void reap_peer(struct shm_ep *se, int exited)
{
    struct shm_hdr *h = se->h;
    if (hdr_lock(h) < 0) return;   /* retried by the next watch_peer */
    if (atomic_load(&h->claim[se->p].pid) == se->watched_pid &&
        atomic_load(&h->claim[se->p].start) == se->watched_start && (exited || !claim_alive(&h->claim[se->p]))) {
        atomic_store(&h->claim[se->p].pid, 0);
        atomic_store(&h->claim[se->p].start, 0);
        atomic_store(&h->side[se->p].state, IPC_CS_DISC);
        ipc__fifo_forget_arms(&se->fifo);   /* the dead peer's waits need no notification */
        h->attached--;
        osci_log(OSCI_LOG_INFO, "ipc", "%s: peer process %d died", se->ep->cfg.name, se->watched_pid);
    }
    pthread_mutex_unlock(&h->lock);
}

/* Watches the peer's process when it is another process (cheap when nothing changed). A death is acted on
 * once: the watcher drops a watch when it fires, and the dead (pid, start) is never watched again. */
static void watch_peer(struct shm_ep *se)
{
    struct shm_claim *c = &se->h->claim[se->p];
    int32_t pid = atomic_load_explicit(&c->pid, memory_order_relaxed);
    uint64_t start = atomic_load_explicit(&c->start, memory_order_relaxed);
    int ret;
    if (atomic_exchange(&se->peer_died, 0)) se->watched_dead = 1;
    if (se->watched_dead && pid == se->watched_pid && start == se->watched_start) {
        reap_peer(se, 1);
        pid = atomic_load(&c->pid);
        start = atomic_load(&c->start);
    }
    if (pid == se->watched_pid && start == se->watched_start) return;
    if (se->watch_id) {   /* waits for a callback still running */
        ipc__watch_del(se->watch_id);
        se->watch_id = 0;
        atomic_store(&se->peer_died, 0);
    }
    se->watched_pid = pid;
    se->watched_start = start;
    se->watched_dead = 0;
    if (pid == 0 || pid == getpid()) return;
    ret = ipc__watch_add(pid, start, on_peer_exit, se, &se->watch_id);
    if (ret == -ESRCH) {   /* dead already (a zombie), or the pid names another process now */
        se->watched_dead = 1;
        reap_peer(se, 1);
    } else if (ret < 0) {
        osci_log(OSCI_LOG_WARN, "ipc", "%s: cannot watch peer %d: %s", se->ep->cfg.name, pid, strerror(-ret));
    }
}

/* ---- open / close ---- */
static int release_claim(struct shm_ep *se, int unlink_last)
{
    struct shm_hdr *h = se->h;
    int last = 0;
    if (hdr_lock(h) < 0) return 0;
    if (atomic_load(&h->claim[se->s].pid) == getpid()) {
        atomic_store(&h->claim[se->s].pid, 0);
        atomic_store(&h->claim[se->s].start, 0);
        h->attached--;
    }
    if (atomic_load(&h->claim[se->p].pid) != 0 && !claim_alive(&h->claim[se->p])) {
        atomic_store(&h->claim[se->p].pid, 0);   /* a dead peer's claim: we may be the last user */
        atomic_store(&h->claim[se->p].start, 0);
        h->attached--;
    }
    if ((h->attached == 0 || atomic_load(&h->claim[se->p].exiting)) && unlink_last && !atomic_load(&h->dead)) {
        atomic_store(&h->dead, 1);
        mq_unlink(se->mq_name[0]);
        mq_unlink(se->mq_name[1]);
        shm_unlink(se->shm_name);
        last = 1;
    }
    pthread_mutex_unlock(&h->lock);
    return last;
}

static void unmap(struct shm_ep *se)
{
    if (se->h) munmap(se->h, se->map_len);
    se->h = NULL;
}

static int init_header(struct shm_ep *se, const struct ipc_cfg_ep *cfg)
{
    struct shm_hdr *h = se->h;
    pthread_mutexattr_t ma;
    int rc;
    h->magic = SHM_MAGIC;
    h->version = SHM_VERSION;
    h->nframes = cfg->nframes;
    h->frame_size = cfg->frame_size;
    h->size = se->map_len;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
    rc = pthread_mutex_init(&h->lock, &ma);
    pthread_mutexattr_destroy(&ma);
    snprintf(h->names[0], sizeof(h->names[0]), "%s", cfg->side == 0 ? cfg->name : cfg->peer_name);
    snprintf(h->names[1], sizeof(h->names[1]), "%s", cfg->side == 0 ? cfg->peer_name : cfg->name);
    return -rc;
}

static int create_mqs(struct shm_ep *se, const struct ipc_cfg_ep *cfg)
{
    struct mq_attr attr = { .mq_maxmsg = MQ_MAXMSG, .mq_msgsize = MQ_MSGSIZE };
    int q, ret;
    for (q = 0; q < 2; q++) {
        mqd_t m;
        mq_unlink(se->mq_name[q]);   /* a leftover of a crashed channel (the shm name was free) */
        m = mq_open(se->mq_name[q], O_CREAT | O_EXCL | O_RDWR | O_NONBLOCK | O_CLOEXEC, se->mode, &attr);
        if (m == (mqd_t)-1) return -errno;
        if ((ret = set_owner(m, cfg, se->mode)) < 0) {
            mq_close(m);
            return ret;
        }
        mq_close(m);
    }
    return 0;
}

/* Maps the channel (creating it when absent) and claims side s. */
static int attach(struct shm_ep *se, const struct ipc_cfg_ep *cfg)
{
    size_t fifo = (size_t)cfg->nframes * cfg->frame_size;
    uint64_t my_start;
    int tries, ret = -EAGAIN;
    se->map_len = HDR_SIZE + 2 * fifo;
    if ((ret = osci_proc_start(getpid(), &my_start)) < 0) {   /* what peers check our claim against */
        osci_log(OSCI_LOG_ERROR, "ipc", "%s: cannot read /proc/%d/stat: %s", cfg->name, (int)getpid(), strerror(-ret));
        return ret;
    }
    ret = -EAGAIN;
    for (tries = 0; tries < OPEN_TRIES; tries++) {
        int fd, creator = 1, waited;
        struct stat st;
        struct shm_hdr *h;
        fd = shm_open(se->shm_name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, se->mode);
        if (fd < 0 && errno == EEXIST) {
            creator = 0;
            fd = shm_open(se->shm_name, O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0);
            if (fd < 0 && errno == ENOENT) continue;   /* unlinked meanwhile */
        }
        if (fd < 0) return -errno;
        if (creator) {
            if ((ret = set_owner(fd, cfg, se->mode)) < 0 || (ftruncate(fd, (off_t)se->map_len) < 0 && (ret = -errno))) {
                shm_unlink(se->shm_name);
                close(fd);
                return ret;
            }
        } else {
            if ((ret = check_obj(fd, cfg, se->mode, 1)) < 0) {
                close(fd);
                return ret;
            }
            for (waited = 0; fstat(fd, &st) == 0 && st.st_size == 0 && waited < ATTACH_WAIT_MS; waited++) sleep_ms(1);
            if (st.st_size != (off_t)se->map_len) {
                close(fd);
                if (st.st_size == 0) {   /* creator died before sizing it */
                    shm_unlink(se->shm_name);
                    continue;
                }
                osci_log(OSCI_LOG_ERROR, "ipc", "%s: channel %s has another geometry (size %lld, expected %zu)",
                         cfg->name, se->shm_name, (long long)st.st_size, se->map_len);
                return -EPROTO;
            }
        }
        h = mmap(NULL, se->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        close(fd);
        if (h == MAP_FAILED) return -errno;
        se->h = h;
        if (creator) {
            if ((ret = init_header(se, cfg)) < 0 || (ret = create_mqs(se, cfg)) < 0) {
                shm_unlink(se->shm_name);
                unmap(se);
                return ret;
            }
            atomic_store_explicit(&h->ready, 1, memory_order_release);
        } else {
            for (waited = 0; !atomic_load_explicit(&h->ready, memory_order_acquire) && waited < ATTACH_WAIT_MS;
                 waited++)
                sleep_ms(1);
            if (!atomic_load_explicit(&h->ready, memory_order_acquire)) {
                unmap(se);
                shm_unlink(se->shm_name);   /* its creator died half-way */
                continue;
            }
            if (h->magic != SHM_MAGIC || h->version != SHM_VERSION || h->nframes != cfg->nframes ||
                h->frame_size != cfg->frame_size || h->size != se->map_len) {
                unmap(se);
                return -EPROTO;
            }
        }
        if ((ret = hdr_lock(h)) < 0) {
            unmap(se);
            return ret;
        }
        if (atomic_load(&h->dead)) {   /* its last user left as we came in: start over */
            pthread_mutex_unlock(&h->lock);
            unmap(se);
            continue;
        }
        if (atomic_load(&h->claim[se->s].pid) != 0) {
            if (claim_alive(&h->claim[se->s])) {
                pthread_mutex_unlock(&h->lock);
                unmap(se);
                return -EBUSY;
            }
            osci_log(OSCI_LOG_INFO, "ipc", "%s: reclaiming the endpoint of dead process %d", cfg->name,
                     (int)atomic_load(&h->claim[se->s].pid));
        } else {
            h->attached++;
        }
        atomic_store(&h->claim[se->s].start, my_start);
        atomic_store(&h->claim[se->s].pid, getpid());
        atomic_store(&h->claim[se->s].exiting, 0);
        atomic_store(&h->side[se->s].state, IPC_CS_DISC);
        se->notes_seen = atomic_load(&h->side[se->s].taken);   /* what earlier owners received */
        pthread_mutex_unlock(&h->lock);
        return 0;
    }
    return ret == -EAGAIN ? -EBUSY : ret;
}

static int open_mqs(struct shm_ep *se, const struct ipc_cfg_ep *cfg)
{
    int ret;
    se->mq_rx = mq_open(se->mq_name[se->s], O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (se->mq_rx == (mqd_t)-1) return -errno;
    if ((ret = check_obj(se->mq_rx, cfg, se->mode, 0)) < 0) goto err_close_rx;
    se->mq_tx = mq_open(se->mq_name[se->p], O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (se->mq_tx == (mqd_t)-1) {
        ret = -errno;
        goto err_close_rx;
    }
    if ((ret = check_obj(se->mq_tx, cfg, se->mode, 0)) < 0) goto err_close_tx;
    return 0;
err_close_tx:
    mq_close(se->mq_tx);
err_close_rx:
    mq_close(se->mq_rx);
    return ret;
}

/* ---- exit without close ---- */
/* A process that returns from main or calls exit() with endpoints open: each channel whose other side
 * does not stay (free, dead, exiting too, or ours) loses its names, as on the last close; else its claim
 * is marked exiting, and the peer unlinks them when it leaves. Nothing is unmapped or closed: other
 * threads may still use the endpoint. _exit() and SIGKILL run no hook: the next opener reclaims. */
static void shm_exit_leave(struct osci_exit_entry *e)
{
    struct shm_ep *se = osci_container_of(e, struct shm_ep, exit_e);
    struct shm_hdr *h = se->h;
    struct shm_claim *peer = &h->claim[se->p];
    struct timespec ts;
    int rc;

    if (atomic_load(&h->claim[se->s].pid) != getpid()) return;   /* a fork child's inherited entry */
    ts = osci_ts_after_ms(CLOCK_REALTIME, 1000); /* a thread of ours interrupted while holding it: give up */
    rc = pthread_mutex_timedlock(&h->lock, &ts);
    if (rc == EOWNERDEAD) pthread_mutex_consistent(&h->lock);
    else if (rc) return;
    atomic_store(&h->claim[se->s].exiting, 1);
    if (!atomic_load(&h->dead) && (atomic_load(&peer->pid) == 0 || atomic_load(&peer->pid) == getpid() ||
                                   atomic_load(&peer->exiting) || !claim_alive(peer))) {
        atomic_store(&h->dead, 1);
        mq_unlink(se->mq_name[0]);
        mq_unlink(se->mq_name[1]);
        shm_unlink(se->shm_name);
    }
    pthread_mutex_unlock(&h->lock);
}


static int shm_open_ep(struct ipc_ep *ep)
{
    const struct ipc_cfg_ep *cfg = &ep->cfg;
    struct shm_ep *se;
    int ret;
    if (cfg->gid != IPC_GID_NONE && !ipc__in_group((gid_t)cfg->gid)) return -EACCES;
    if (!(se = calloc(1, sizeof(*se)))) return -ENOMEM;
    se->ep = ep;
    se->s = (int)cfg->side;
    se->p = 1 - se->s;
    se->nframes = cfg->nframes;
    se->fsize = cfg->frame_size;
    se->mode = cfg->gid != IPC_GID_NONE ? 0660 : 0600;
    atomic_init(&se->peer_died, 0);
    se->conn = (struct ipc_conn){ .ops = &shm_conn_ops, .ctx = se, .name = ep->cfg.name, .fifo = &se->fifo };
    make_names(se, cfg);
    if ((ret = attach(se, cfg)) < 0) goto err_free;
    if ((ret = open_mqs(se, cfg)) < 0) goto err_release;
    fifo_setup(se);
    ep->be = se;
    ep->fifo = &se->fifo;
    ep->native.fd = se->mq_rx;
    se->exit_e.leave = shm_exit_leave;
    osci_exit_add(&se->exit_e);
    return 0;
err_release:
    release_claim(se, 1);
    unmap(se);
err_free:
    free(se);
    if (ret == -EPERM) ret = -EACCES;
    return ret;
}

static void shm_close(struct ipc_ep *ep)
{
    struct shm_ep *se = to_shm(ep);
    osci_exit_del(&se->exit_e);
    if (se->watch_id) ipc__watch_del(se->watch_id);
    ipc__conn_close(&se->conn);
    release_claim(se, 1);
    mq_close(se->mq_tx);
    mq_close(se->mq_rx);
    unmap(se);
    free(se);
}

static void shm_take_wakeups(struct ipc_ep *ep)
{
    struct shm_ep *se = to_shm(ep);
    drain(se);
    watch_peer(se);
}

const struct ipc_backend_ops ipc__shm_ops = {
    .size = sizeof(struct ipc_backend_ops),
    .close = shm_close,
    .open = shm_open_ep,
    .take_wakeups = shm_take_wakeups,
};
