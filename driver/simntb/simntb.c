/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * simntb: an emulated NTB switch in POSIX shared memory (ARCHITECTURE §3.1, docs/simntb.md).
 * A fabric file holds the header, per-port registers (state, epoch, heartbeat, doorbells),
 * message rings and info areas; each port incarnation has its own inbound window object.
 * Data paths (put/get, doorbells, messages) take no lock and make no syscall unless the
 * receiver sleeps on its event fd.
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "osci_drv.h"
#include "osci_exit.h"
#include "osci_list.h"
#include "osci_parse.h"
#include "osci_proc.h"
#include "osci_time.h"
#include "simntb.h"

#define MOD "simntb"
#define SN_PEND          128          /* locally queued events */
#define SN_SWEEP_MS      5            /* fd sweep at most this often from progress() */
#define SN_TIMER_MS      20           /* heartbeat timer */
#define SN_HB_TIMEOUT_MS 500
#define SN_DEFAULT_WINDOW (256ull << 20)
#define SN_FABRIC_MAX    56           /* "simntb:<fabric>" fits osci_drv_info.name */
#define SN_WAKE_DIR      "/dev/shm"   /* where shm_open names live; wake directories go there too */
#define SN_NAME_TRIES    8            /* fresh random names tried when one is taken */
#define SN_WAKE_BURST    32           /* datagrams per timer tick that no consumed arm explains: a flood */
#define SN_WAKE_DRAIN    1024         /* datagrams read per drain at most */
#define SN_LOCK_MS       5000         /* fabric lock wait for join / leave / group objects */
#define SN_RECLAIM_LOCK_MS 1000       /* fabric lock wait of a reclaim from progress() */

/* Loads are seq_cst: as cheap as acquire on x86-64 and arm64, and they order after the
 * seq_cst stores of the arm/wake handshake (Dekker) without a fence. */
#define LD(p)      __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define ST(p, v)   __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define LDR(p)     __atomic_load_n((p), __ATOMIC_RELAXED)

enum { K_NONE = 0, K_UP, K_DOWN, K_DEAD };
enum { TAG_SOCK = 0, TAG_TIMER = 1, TAG_PID = 2 };

struct sn_known {                     /* what this node knows of a port */
    int state;                        /* K_* */
    uint64_t epoch;
    uint32_t node;
    int32_t pid;
    int pidfd;
    int pid_dead;                     /* pidfd polled readable */
};

struct sn_range { uint64_t off, len; };

struct sn_pwin {                      /* a mapped peer window incarnation */
    struct osci_list_node link;       /* in sn_drv.pwins */
    unsigned int port;
    uint64_t epoch;
    int fd;
    uint8_t *base;
    size_t size;
    unsigned int refs;
};

struct sn_map { struct osci_list_node link; void *addr; size_t len; int prot; };   /* in rmem.maps */

struct osci_drv_mem { uint64_t off, size; };

struct osci_drv_rmem {
    struct sn_pwin *pw;
    unsigned int port;
    uint32_t node;
    uint64_t epoch, off, size;
    int revoked;
    struct osci_list_head maps;       /* under the driver lock */
};

struct sn_drv {
    struct osci_drv base;
    char fabric[SN_FABRIC_MAX + 1];
    char shm_name[SN_FABRIC_MAX + 8];
    int observe;
    int fd;
    uint8_t *map;
    size_t map_size;
    struct sn_hdr *hdr;
    unsigned int me;                  /* own port (SN_PORTS when observing) */
    pid_t pid;                        /* the opener; a forked child never frees its port */
    uint64_t epoch;
    uint64_t hb_timeout_ms;
    int liveness_lost;
    int no_mcast;                     /* multicast=0: no multicast window (broadcast by per-member puts) */
    /* own inbound window */
    int win_fd;
    uint8_t *win;
    size_t win_size;
    struct sn_range *free_r;
    unsigned int n_free, cap_free;
    /* wake-ups */
    int sock, epfd, tfd;
    int wake_muted;                   /* flooded: the socket is out of the epoll set until the next tick */
    unsigned int wake_spurious;       /* datagrams this tick that no consumed arm explains */
    uint64_t last_sweep_ms;
    /* local state */
    pthread_mutex_t lock;             /* known[], pending queue, allocator, imports */
    pthread_mutex_t send_lock;        /* one producer per outbound ring and doorbell counter */
    pthread_mutex_t db_lock;          /* one consumer of the inbound doorbell counters */
    pthread_mutex_t fab_lock;         /* this instance's half of the host-local claim lock */
    int lock_fd;                      /* the claim lock's own open file (flock) while held, else -1 */
    uint32_t flags;                   /* ours; the shared word is a copy (SN_F_*) */
    uint32_t db_seen[SN_PORTS];       /* db_count of ring [me][s] when nothing of it was left pending */
    struct sn_known known[SN_PORTS];
    uint64_t dead_epoch[SN_PORTS];    /* epochs this node declared dead (atomic) */
    uint64_t faulty_epoch[SN_PORTS];  /* incarnations declared faulty (atomic); ~0: none */
    uint32_t rx_tail[SN_PORTS];       /* our tail of ring [me][s]: we own it, the shared word is a copy */
    uint64_t event_mask;              /* ours; the shared word is a copy for ringers */
    uint64_t default_window;          /* the header's, checked at attach */
    struct osci_drv_event pend[SN_PEND];
    unsigned int pend_head, pend_count;
    uint32_t drop_db[256], corrupt[256]; /* fault counters by node id (atomic) */
    struct osci_list_head pwins;      /* under lock */
    struct osci_exit_entry exit_e;    /* in the exit hook's registry (not observers) */
};


static inline struct sn_drv *to_sn(struct osci_drv *d) { return (struct sn_drv *)d; }

static uint64_t sn_layout_size(void)
{
    uint64_t s = SN_LOCAL_OFF + (uint64_t)SN_PORTS * SN_LOCAL_SIZE;
    return (s + SN_PAGE - 1) & ~(uint64_t)(SN_PAGE - 1);
}

/* Regions at this build's constant offsets: nothing here is read from shared memory. */
static inline struct sn_port *sn_port(struct sn_drv *d, unsigned int p)
{
    return (struct sn_port *)(d->map + SN_PORTS_OFF + (size_t)(p % SN_PORTS) * SN_PORT_SIZE);
}

static inline struct sn_ring *sn_ring(struct sn_drv *d, unsigned int dst, unsigned int src)
{
    return (struct sn_ring *)(d->map + SN_RINGS_OFF +
                              ((size_t)(dst % SN_PORTS) * SN_PORTS + src % SN_PORTS) * sizeof(struct sn_ring));
}

static inline uint8_t *sn_info(struct sn_drv *d, unsigned int p)
{
    return d->map + SN_INFO_OFF + (size_t)(p % SN_PORTS) * SN_INFO_SIZE;
}

static inline struct sn_local *sn_local(struct sn_drv *d, unsigned int p)
{
    return (struct sn_local *)(d->map + SN_LOCAL_OFF + (size_t)(p % SN_PORTS) * SN_LOCAL_SIZE);
}

static long sn_futex(uint32_t *uaddr, int op, uint32_t val, const struct timespec *ts)
{
    return syscall(SYS_futex, uaddr, op, val, ts, NULL, 0);
}

static int sn_fabric_name_ok(const char *f)
{
    size_t n = strlen(f);
    if (n == 0 || n > SN_FABRIC_MAX || f[0] == '.')
        return 0;
    for (; *f; f++)
        if (!((*f >= 'a' && *f <= 'z') || (*f >= 'A' && *f <= 'Z') || (*f >= '0' && *f <= '9') ||
              *f == '_' || *f == '-' || *f == '.'))
            return 0;
    return 1;
}

/* ---- per-incarnation names (docs/simntb.md §"Wake path and names") ----
 * A port incarnation owns a window object and a wake socket. Both names carry a random part
 * (name_rand in the port's registers, readable only by the fabric's uid), so nobody can create
 * them ahead of the joiner; the socket sits in a 0700 directory of its own, so only the uid can
 * connect or send to it (abstract names have no permissions). */

static void sn_win_name(const struct sn_drv *d, unsigned int port, uint64_t epoch, uint64_t rnd, char *buf,
                        size_t len)
{
    snprintf(buf, len, "/osci.%s.w%u.%" PRIx64 ".%016" PRIx64, d->fabric, port, epoch, rnd);
}

static void sn_wake_dir(const struct sn_drv *d, unsigned int port, uint64_t rnd, char *buf, size_t len)
{
    snprintf(buf, len, SN_WAKE_DIR "/osci.%s.s%u.%016" PRIx64, d->fabric, port, rnd);
}

static socklen_t sn_sock_addr(const struct sn_drv *d, unsigned int port, uint64_t rnd, struct sockaddr_un *sa)
{
    char dir[sizeof(sa->sun_path) - 2];
    int n;
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    sn_wake_dir(d, port, rnd, dir, sizeof(dir));
    n = snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/w", dir);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)n + 1);
}

/* Removes the wake socket and its directory of incarnation (port, rnd), if present. */
static void sn_remove_wake(const struct sn_drv *d, unsigned int port, uint64_t rnd)
{
    struct sockaddr_un sa;
    char dir[128];

    if (!rnd)                         /* the joiner died before drawing one */
        return;
    sn_sock_addr(d, port, rnd, &sa);
    unlink(sa.sun_path);
    sn_wake_dir(d, port, rnd, dir, sizeof(dir));
    rmdir(dir);
}

static uint64_t sn_random(void)
{
    uint64_t r = 0;
    while (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r) || r == 0)
        ;                             /* EINTR only: 8 bytes never block once the pool is up */
    return r;
}

/* Checks a shm object we are about to trust: regular, ours, mode 0600, expected size. */
static int sn_check_fd(int fd, const char *name, uint64_t size)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode)) {
        osci_log(OSCI_LOG_ERROR, MOD, "%s: not a regular file", name);
        return -EACCES;
    }
    if (st.st_uid != geteuid()) {
        osci_log(OSCI_LOG_ERROR, MOD, "%s: owned by uid %u, not %u", name, (unsigned)st.st_uid, (unsigned)geteuid());
        return -EACCES;
    }
    if ((st.st_mode & 07777) != 0600) {
        osci_log(OSCI_LOG_ERROR, MOD, "%s: mode %04o, expected 0600", name, (unsigned)(st.st_mode & 07777));
        return -EACCES;
    }
    if (size && (uint64_t)st.st_size != size) {
        osci_log(OSCI_LOG_ERROR, MOD, "%s: size %lld, expected %" PRIu64, name, (long long)st.st_size, size);
        return -EPROTO;
    }
    return 0;
}

/*
 * The claim lock: join, leave, reclaim and group objects of one host serialise on an flock of the
 * fabric file, taken through an open file of its own per holder (so two threads, or two instances in
 * one process, exclude each other too) and released by the kernel when its holder dies. It is the
 * provider's host-local claim protocol: nothing of it is in the shared region (docs/wdev.md). Waits
 * at most ms: 0, or -errno with a log line (a holder that never lets go must not hang a node).
 */
static int sn_lock_fabric(struct sn_drv *d, unsigned int ms)
{
    struct timespec ts = osci_ts_after_ms(CLOCK_REALTIME, ms);
    uint64_t deadline = osci_now_ms() + ms;
    char path[64];
    int r, fd;

    r = pthread_mutex_timedlock(&d->fab_lock, &ts);
    if (r) {
        osci_log(OSCI_LOG_ERROR, MOD, "fabric %s: cannot take the fabric lock within %u ms: %s", d->fabric, ms,
                 strerror(r));
        return -r;
    }
    snprintf(path, sizeof(path), "/proc/self/fd/%d", d->fd);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        r = -errno;
        osci_log(OSCI_LOG_ERROR, MOD, "fabric %s: cannot reopen the fabric file for its lock: %s", d->fabric,
                 strerror(-r));
        pthread_mutex_unlock(&d->fab_lock);
        return r;
    }
    while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        if ((errno != EWOULDBLOCK && errno != EINTR) || osci_now_ms() >= deadline) {
            r = errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
            osci_log(OSCI_LOG_ERROR, MOD, "fabric %s: cannot take the fabric lock within %u ms: %s", d->fabric,
                     ms, strerror(-r));
            close(fd);
            pthread_mutex_unlock(&d->fab_lock);
            return r;
        }
        usleep(1000);                 /* control path only: join, leave, reclaim, group objects */
    }
    d->lock_fd = fd;
    return 0;
}

static void sn_unlock_fabric(struct sn_drv *d)
{
    int fd = d->lock_fd;
    d->lock_fd = -1;
    close(fd);                        /* drops the flock */
    pthread_mutex_unlock(&d->fab_lock);
}

/* Frees port p (lock held): unlinks its window object and clears its registers. */
static void sn_reclaim_locked(struct sn_drv *d, unsigned int p)
{
    struct sn_port *P = sn_port(d, p);
    struct sn_local *L = sn_local(d, p);
    char name[128];
    uint64_t epoch = LDR(&P->epoch);

    osci_log(OSCI_LOG_INFO, MOD, "fabric %s: reclaiming port %u (node %u, pid %d, epoch %" PRIx64 ")",
             d->fabric, p, LDR(&P->node_id), LDR(&L->pid), epoch);
    sn_win_name(d, p, epoch, LDR(&L->name_rand), name, sizeof(name));
    shm_unlink(name);
    sn_remove_wake(d, p, LDR(&L->name_rand));
    ST(&P->state, SN_FREE);
    ST(&P->epoch, 0);
    __atomic_store_n(&P->node_id, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&P->flags, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&L->pid, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&L->armed, 0, __ATOMIC_RELAXED);
}

static void sn_mc_sweep_locked(struct sn_drv *d);

/* Reclaims every taken port whose owner process is gone (lock held), and group objects left by them. */
static void sn_reclaim_dead_locked(struct sn_drv *d)
{
    for (unsigned int p = 0; p < SN_PORTS; p++) {
        struct sn_port *P = sn_port(d, p);
        struct sn_local *L = sn_local(d, p);
        if (p != d->me && LD(&P->state) != SN_FREE && !osci_proc_alive(LDR(&L->pid), LDR(&L->start_time)))
            sn_reclaim_locked(d, p);
    }
    sn_mc_sweep_locked(d);
}

/* 1 when our fabric file is no longer linked (the last node removed it), from the file itself: the
 * shared `closing` word is only informative. */
static int sn_fabric_unlinked(struct sn_drv *d)
{
    struct stat st;
    return fstat(d->fd, &st) < 0 || st.st_nlink == 0;
}

/* Unlinks the fabric file when no port is held by a process that stays (lock held): ports of dead
 * processes are reclaimed first, ports flagged EXITING do not count. The unlink happens under the
 * lock, so an attacher that opened the file before it sees it unlinked once it has the lock and
 * starts over, and the name is never unlinked twice (a second unlink would remove a fabric created
 * since). 1 when removed. */
static int sn_remove_if_last_locked(struct sn_drv *d)
{
    sn_reclaim_dead_locked(d);
    for (unsigned int p = 0; p < SN_PORTS; p++) {
        struct sn_port *P = sn_port(d, p);
        if (p != d->me && LD(&P->state) != SN_FREE && !(LD(&P->flags) & SN_F_EXITING))
            return 0;
    }
    if (sn_fabric_unlinked(d))
        return 0;
    d->hdr->closing = 1;
    shm_unlink(d->shm_name);
    return 1;
}

/* Wakes port p if it sleeps on its event fd (it re-checks everything after arming). */
static void sn_kick(struct sn_drv *d, unsigned int p)
{
    struct sn_local *L = sn_local(d, p);
    struct sockaddr_un sa;
    socklen_t sl;

    if (!LD(&L->armed) || !__atomic_exchange_n(&L->armed, 0, __ATOMIC_SEQ_CST))
        return;
    sl = sn_sock_addr(d, p, LD(&L->name_rand), &sa);
    if (sendto(d->sock, "w", 1, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&sa, sl) < 0 && errno != EAGAIN)
        osci_log(OSCI_LOG_DEBUG, MOD, "wake of port %u: %s", p, strerror(errno));
}

/* ---- fabric file ---- */

static int sn_fabric_create(struct sn_drv *d, uint64_t window)
{
    uint64_t size = sn_layout_size();
    int fd;

    fd = shm_open(d->shm_name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    /* Held until `initialized` is stored: an attacher removes a file that never got initialised
     * only when it can take this lock, i.e. when its creator is gone. */
    struct stat st;
    if (flock(fd, LOCK_EX) < 0 || fstat(fd, &st) < 0)
        goto err_unlink;
    if (st.st_nlink == 0) {           /* taken for abandoned and removed before we locked it */
        close(fd);
        return -EAGAIN;
    }
    if (fchmod(fd, 0600) < 0 || ftruncate(fd, (off_t)size) < 0)
        goto err_unlink;
    d->map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (d->map == MAP_FAILED)
        goto err_unlink;
    d->map_size = size;
    d->hdr = (struct sn_hdr *)d->map;
    d->hdr->magic = SN_MAGIC;
    d->hdr->version = SN_VERSION;
    d->hdr->total_size = size;
    d->hdr->hdr_size = SN_HDR_SIZE;
    d->hdr->max_ports = SN_PORTS;
    d->hdr->port_size = SN_PORT_SIZE;
    d->hdr->ring_size = sizeof(struct sn_ring);
    d->hdr->ring_slots = SN_SLOTS;
    d->hdr->slot_size = sizeof(struct sn_slot);
    d->hdr->info_size = SN_INFO_SIZE;
    d->hdr->ports_off = SN_HDR_SIZE;
    d->hdr->rings_off = d->hdr->ports_off + (uint64_t)SN_PORTS * SN_PORT_SIZE;
    d->hdr->info_off = d->hdr->rings_off + (uint64_t)SN_PORTS * SN_PORTS * sizeof(struct sn_ring);
    d->hdr->default_window = window;
    d->hdr->local_off = SN_LOCAL_OFF;
    d->hdr->local_size = SN_LOCAL_SIZE;
    d->hdr->n_doorbells = SN_DBS;
    d->default_window = window;
    ST(&d->hdr->initialized, 1);
    flock(fd, LOCK_UN);
    d->fd = fd;
    osci_log(OSCI_LOG_INFO, MOD, "created fabric %s (%" PRIu64 " bytes)", d->fabric, size);
    return 0;
err_unlink: {
        int e = -errno;
        if (d->map && d->map != MAP_FAILED)
            munmap(d->map, size);
        d->map = NULL;
        shm_unlink(d->shm_name);
        close(fd);
        return e;
    }
}

/* Checks a snapshot of an initialised header against this build's layout: -EPROTO and a line naming the
 * first field that differs. After this, nothing of the header is read again (`closing` is written
 * once, by the last node, and never read). */
static int sn_hdr_check(struct sn_drv *d, const struct sn_hdr *h)
{
    const struct { const char *name; uint64_t got, want; } f[] = {
        { "total_size", h->total_size, sn_layout_size() },
        { "hdr_size", h->hdr_size, SN_HDR_SIZE },
        { "max_ports", h->max_ports, SN_PORTS },
        { "port_size", h->port_size, SN_PORT_SIZE },
        { "ring_size", h->ring_size, sizeof(struct sn_ring) },
        { "ring_slots", h->ring_slots, SN_SLOTS },
        { "slot_size", h->slot_size, sizeof(struct sn_slot) },
        { "info_size", h->info_size, SN_INFO_SIZE },
        { "ports_off", h->ports_off, SN_PORTS_OFF },
        { "rings_off", h->rings_off, SN_RINGS_OFF },
        { "info_off", h->info_off, SN_INFO_OFF },
        { "local_off", h->local_off, SN_LOCAL_OFF },
        { "local_size", h->local_size, SN_LOCAL_SIZE },
        { "n_doorbells", h->n_doorbells, SN_DBS },
    };

    if (h->magic != SN_MAGIC) {
        osci_log(OSCI_LOG_ERROR, MOD, "%s: not a simntb fabric (bad magic)", d->shm_name);
        return -EPROTO;
    }
    if (h->version != SN_VERSION) {
        osci_log(OSCI_LOG_ERROR, MOD, "%s: fabric layout version %u, this library speaks %u", d->shm_name,
                 h->version, SN_VERSION);
        return -EPROTO;
    }
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
        if (f[i].got != f[i].want) {
            osci_log(OSCI_LOG_ERROR, MOD, "%s: header field %s = %" PRIu64 ", this library's layout has %" PRIu64
                     ": refused", d->shm_name, f[i].name, f[i].got, f[i].want);
            return -EPROTO;
        }
    if (h->default_window < SN_PAGE || h->default_window > (1ull << 40) || h->default_window % SN_PAGE) {
        osci_log(OSCI_LOG_ERROR, MOD, "%s: header field default_window = %" PRIu64 " is not a multiple of 4K in 4K..1T"
                 ": refused", d->shm_name, h->default_window);
        return -EPROTO;
    }
    d->default_window = h->default_window;
    return 0;
}

/* A port of the fabric file fd held by a live process (its number), else -1. */
static int sn_live_port(int fd)
{
    size_t len = sn_layout_size();
    const uint8_t *m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
    int found = -1;

    if (m == MAP_FAILED)
        return -1;
    for (unsigned int p = 0; p < SN_PORTS && found < 0; p++) {
        const struct sn_port *P = (const struct sn_port *)(m + SN_PORTS_OFF + (size_t)p * SN_PORT_SIZE);
        const struct sn_local *L = (const struct sn_local *)(m + SN_LOCAL_OFF + (size_t)p * SN_LOCAL_SIZE);
        if (LD(&P->state) != SN_FREE && osci_proc_alive(LDR(&L->pid), LDR(&L->start_time)))
            found = (int)p;
    }
    munmap((void *)m, len);
    return found;
}

/* Maps an existing fabric file after checking it. 1: retry (vanished or abandoned), 0, <0 error. */
static int sn_fabric_attach(struct sn_drv *d)
{
    uint64_t size = sn_layout_size();
    struct sn_hdr *h;
    struct stat st;
    int fd, ret, waited = 0;

    fd = shm_open(d->shm_name, (d->observe ? O_RDONLY : O_RDWR) | O_NOFOLLOW | O_CLOEXEC, 0);
    if (fd < 0 && errno == ELOOP) {
        osci_log(OSCI_LOG_ERROR, MOD, "fabric file /dev/shm%s is a symbolic link: refused", d->shm_name);
        return -ELOOP;
    }
    if (fd < 0)
        return errno == ENOENT && !d->observe ? 1 : -errno;
    ret = sn_check_fd(fd, d->shm_name, 0);
    if (ret < 0)
        goto err_close;
    /* The creator may still be sizing and initialising it. */
    for (;;) {
        if (fstat(fd, &st) < 0) {
            ret = -errno;
            goto err_close;
        }
        if ((uint64_t)st.st_size >= SN_HDR_SIZE) {
            h = mmap(NULL, SN_HDR_SIZE, PROT_READ, MAP_SHARED, fd, 0);
            if (h == MAP_FAILED) {
                ret = -errno;
                goto err_close;
            }
            uint32_t init = LD(&h->initialized);
            struct sn_hdr copy;
            memcpy(&copy, h, sizeof(copy));   /* one snapshot, checked once */
            munmap(h, SN_HDR_SIZE);
            if (init > 1) {
                osci_log(OSCI_LOG_ERROR, MOD, "%s: header field initialized = %u, expected 0 or 1: refused",
                         d->shm_name, init);
                ret = -EPROTO;
                goto err_close;
            }
            if (init == 0 && (uint64_t)st.st_size == size && (ret = sn_live_port(fd)) >= 0) {
                /* the creator sets `initialized` before anyone takes a port: the word was overwritten */
                osci_log(OSCI_LOG_ERROR, MOD, "%s: header field initialized = 0 while port %d is held by a live "
                         "process: refused", d->shm_name, ret);
                ret = -EPROTO;
                goto err_close;
            }
            if (init == 1) {
                if ((uint64_t)st.st_size != size) {
                    osci_log(OSCI_LOG_ERROR, MOD, "%s: size %lld, expected %" PRIu64, d->shm_name,
                             (long long)st.st_size, size);
                    ret = -EPROTO;
                    goto err_close;
                }
                if ((ret = sn_hdr_check(d, &copy)) < 0)
                    goto err_close;
                break;
            }
        }
        if (++waited > 200) {             /* ~1 s: did the creator die before finishing? */
            if (d->observe) {
                ret = -EPROTO;
                goto err_close;
            }
            if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
                /* Under the creator's lock: still linked means the name is still this file. */
                if (fstat(fd, &st) == 0 && st.st_nlink > 0) {
                    osci_log(OSCI_LOG_WARN, MOD, "%s: abandoned before initialisation; removing it",
                             d->shm_name);
                    shm_unlink(d->shm_name);
                }
                close(fd);
                return 1;
            }
            if (errno != EWOULDBLOCK || waited >= 2000) {  /* else its creator lives and is at it */
                ret = errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
                goto err_close;
            }
        }
        usleep(5000);
    }
    d->map = mmap(NULL, size, d->observe ? PROT_READ : PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (d->map == MAP_FAILED) {
        d->map = NULL;
        ret = -errno;
        goto err_close;
    }
    d->map_size = size;
    d->hdr = (struct sn_hdr *)d->map;
    d->fd = fd;
    return 0;
err_close:
    close(fd);
    return ret;
}

static void sn_fabric_detach(struct sn_drv *d)
{
    if (d->map)
        munmap(d->map, d->map_size);
    if (d->fd >= 0)
        close(d->fd);
    d->map = NULL;
    d->hdr = NULL;
    d->fd = -1;
}

/* ---- join / leave ---- */

static int sn_create_window(struct sn_drv *d, unsigned int port, uint64_t epoch, uint64_t rnd)
{
    char name[128];
    int fd;

    sn_win_name(d, port, epoch, rnd, name, sizeof(name));
    fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            osci_log(OSCI_LOG_WARN, MOD, "fabric %s: window name /dev/shm%s is taken", d->fabric, name);
        return -errno;
    }
    if (fchmod(fd, 0600) < 0 || ftruncate(fd, (off_t)d->win_size) < 0)
        goto err_unlink;
    d->win = mmap(NULL, d->win_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (d->win == MAP_FAILED) {
        d->win = NULL;
        goto err_unlink;
    }
    d->win_fd = fd;
    return 0;
err_unlink: {
        int e = -errno;
        shm_unlink(name);
        close(fd);
        return e;
    }
}

/* Makes the wake directory of incarnation (me, rnd) 0700 and binds the wake socket in it.
 * -EEXIST: the name is taken (by anyone; the caller draws another). */
static int sn_create_wake(struct sn_drv *d, uint64_t rnd)
{
    struct sockaddr_un sa;
    socklen_t sl = sn_sock_addr(d, d->me, rnd, &sa);
    char dir[128];
    struct stat st;
    int dfd, ret;

    sn_wake_dir(d, d->me, rnd, dir, sizeof(dir));
    if (mkdir(dir, 0700) < 0) {
        ret = -errno;
        if (ret == -EEXIST)
            osci_log(OSCI_LOG_WARN, MOD, "fabric %s: wake directory %s is taken", d->fabric, dir);
        return ret;
    }
    /* Ours and just made: nobody else may rename it in the sticky /dev/shm; check anyway. */
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0) {
        ret = -errno;
        goto err_rmdir;
    }
    if (fstat(dfd, &st) < 0 || fchmod(dfd, 0700) < 0) {
        ret = -errno;
        close(dfd);
        goto err_rmdir;
    }
    close(dfd);
    if (st.st_uid != geteuid()) {
        osci_log(OSCI_LOG_ERROR, MOD, "%s: owned by uid %u, not %u", dir, (unsigned)st.st_uid, (unsigned)geteuid());
        return -EACCES;               /* not ours: leave it */
    }
    if (bind(d->sock, (struct sockaddr *)&sa, sl) < 0) {
        ret = -errno;
        goto err_rmdir;
    }
    return 0;
err_rmdir:
    rmdir(dir);
    return ret;
}

/* Creates this incarnation's window and wake socket under a fresh random name, published in the
 * port's registers first (a reclaimer finds them there); a taken name is retried with another. */
static int sn_create_incarnation(struct sn_drv *d, struct sn_local *L)
{
    for (unsigned int t = 0; t < SN_NAME_TRIES; t++) {
        uint64_t rnd = sn_random();
        char name[128];
        int ret;

        ST(&L->name_rand, rnd);
        ret = sn_create_window(d, d->me, d->epoch, rnd);
        if (ret == -EEXIST)
            continue;
        if (ret < 0) {
            osci_log(OSCI_LOG_ERROR, MOD, "fabric %s: cannot create window: %s", d->fabric, strerror(-ret));
            ST(&L->name_rand, 0);
            return ret;
        }
        ret = sn_create_wake(d, rnd);
        if (ret == 0)
            return 0;
        munmap(d->win, d->win_size);
        close(d->win_fd);
        d->win = NULL;
        d->win_fd = -1;
        sn_win_name(d, d->me, d->epoch, rnd, name, sizeof(name));
        shm_unlink(name);
        if (ret != -EEXIST) {
            osci_log(OSCI_LOG_ERROR, MOD, "fabric %s: cannot bind wake socket: %s", d->fabric, strerror(-ret));
            ST(&L->name_rand, 0);
            return ret;
        }
    }
    ST(&L->name_rand, 0);             /* the names are someone else's: the reclaim must not remove them */
    osci_log(OSCI_LOG_ERROR, MOD, "fabric %s: %u random window/wake names in a row were taken; giving up",
             d->fabric, SN_NAME_TRIES);
    return -EEXIST;
}

/* Takes a port and a node id (fabric lock held). */
static int sn_join_locked(struct sn_drv *d, uint32_t want_node)
{
    uint32_t used[8] = { 0 };
    unsigned int p, port = SN_PORTS;
    uint32_t node = want_node;
    struct sn_port *P;
    struct sn_local *L;
    uint64_t start;
    int ret;

    sn_reclaim_dead_locked(d);
    for (p = 0; p < SN_PORTS; p++) {
        P = sn_port(d, p);
        if (LD(&P->state) == SN_FREE) {
            if (port == SN_PORTS)
                port = p;
            continue;
        }
        used[P->node_id / 32 % 8] |= 1u << (P->node_id % 32);
    }
    if (want_node && (used[want_node / 32] & (1u << (want_node % 32)))) {
        osci_log(OSCI_LOG_ERROR, MOD, "fabric %s: node id %u is taken by a live process", d->fabric, want_node);
        return -EADDRINUSE;
    }
    if (!want_node)
        for (node = 1; node < 256 && (used[node / 32] & (1u << (node % 32))); node++)
            ;
    if (port == SN_PORTS || node >= 256) {
        osci_log(OSCI_LOG_ERROR, MOD, "fabric %s: all %u ports are taken", d->fabric, SN_PORTS);
        return -ENOSPC;
    }
    if (osci_proc_start(getpid(), &start) < 0)
        return -ESRCH;
    d->me = port;
    d->epoch = sn_random();           /* never 0, which means "no incarnation"; no shared counter */
    P = sn_port(d, port);
    L = sn_local(d, port);
    L->pid = getpid();
    L->start_time = start;
    L->armed = 0;
    L->db_waiters = 0;
    P->node_id = node;
    P->window_size = d->win_size;
    P->flags = 0;
    P->event_mask = 0;
    P->info_len = 0;
    if (P->info_seq & 1)
        P->info_seq++;
    for (p = 0; p < SN_PORTS; p++) {
        struct sn_ring *in = sn_ring(d, port, p), *out = sn_ring(d, p, port);
        ST(&P->link_down[p], 0);
        /* Our inbound rings start empty, whatever their indices (we own their tails and doorbell
         * acknowledgements; our copy is the truth). An outbound ring keeps its head and doorbell
         * counters (a live receiver may still be dropping what our port's last incarnation sent)
         * unless it is inconsistent: then head := tail, and the receiver resyncs when it announces
         * us (sn_scan). */
        d->rx_tail[p] = LD(&in->head);
        ST(&in->tail, d->rx_tail[p]);
        for (unsigned int b = 0; b < SN_DBS; b++)
            ST(&in->db_ack[b], LD(&in->db_seq[b]));
        d->db_seen[p] = LD(&in->db_count);
        uint32_t t = LD(&out->tail);
        if (LD(&out->head) - t > SN_SLOTS)
            ST(&out->head, t);
    }
    ST(&P->heartbeat_ms, osci_now_ms());
    ST(&P->epoch, d->epoch);
    ST(&L->name_rand, 0);
    ST(&P->state, SN_JOINING);         /* from here a reclaimer knows the window and wake names */
    ret = sn_create_incarnation(d, L);
    if (ret < 0)
        goto err_free_port;
    ST(&P->state, SN_ACTIVE);
    d->base.node_id = node;
    return 0;
err_free_port:
    sn_reclaim_locked(d, port);
    d->me = SN_PORTS;
    return ret;
}

static int sn_setup_fds(struct sn_drv *d)
{
    struct epoll_event ev = { .events = EPOLLIN };
    struct itimerspec its = { .it_interval = { 0, SN_TIMER_MS * 1000000L }, .it_value = { 0, SN_TIMER_MS * 1000000L } };

    d->epfd = epoll_create1(EPOLL_CLOEXEC);
    d->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (d->epfd < 0 || d->tfd < 0)
        return -errno;
    if (timerfd_settime(d->tfd, 0, &its, NULL) < 0)
        return -errno;
    ev.data.u64 = TAG_SOCK;
    if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->sock, &ev) < 0)
        return -errno;
    ev.data.u64 = TAG_TIMER;
    if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->tfd, &ev) < 0)
        return -errno;
    return 0;
}

static void sn_free_drv(struct sn_drv *d)
{
    if (d->sock >= 0) close(d->sock);
    if (d->epfd >= 0) close(d->epfd);
    if (d->tfd >= 0) close(d->tfd);
    pthread_mutex_destroy(&d->lock);
    pthread_mutex_destroy(&d->send_lock);
    pthread_mutex_destroy(&d->db_lock);
    pthread_mutex_destroy(&d->fab_lock);
    free(d->free_r);
    free(d);
}

static void sn_exit_leave(struct osci_exit_entry *e);

static int sn_open(const struct osci_adapter_conf *conf, struct osci_drv **drv_p)
{
    const char *fabric = osci_conf_opt(conf, "fabric");
    const char *v;
    uint64_t window = SN_DEFAULT_WINDOW, hb = SN_HB_TIMEOUT_MS;
    struct sn_drv *d;
    int ret, tries;

    osci_log_init();
    if (!fabric)
        fabric = "default";
    if (!sn_fabric_name_ok(fabric)) {
        osci_log(OSCI_LOG_ERROR, MOD, "adapter %u: bad fabric name \"%s\" (1..%d of [A-Za-z0-9._-])",
                 conf->adapter_no, fabric, SN_FABRIC_MAX);
        return -EINVAL;
    }
    if ((v = osci_conf_opt(conf, "window")) &&
        (osci_parse_size(v, 1ull << 40, &window) < 0 || window < SN_PAGE || window % SN_PAGE)) {
        osci_log(OSCI_LOG_ERROR, MOD, "adapter %u: window=%s is not a multiple of 4K in 4K..1T",
                 conf->adapter_no, v);
        return -EINVAL;
    }
    if ((v = osci_conf_opt(conf, "hb_timeout")) && (osci_parse_size(v, 1ull << 40, &hb) < 0 || hb < 20 || hb > 600000)) {
        osci_log(OSCI_LOG_ERROR, MOD, "adapter %u: hb_timeout=%s is not in 20..600000 ms", conf->adapter_no, v);
        return -EINVAL;
    }
    for (unsigned int i = 0; i < conf->n_opts; i++) {
        const char *k = conf->opts[i].key;
        if (strcmp(k, "fabric") && strcmp(k, "window") && strcmp(k, "hb_timeout") && strcmp(k, "multicast")) {
            osci_log(OSCI_LOG_ERROR, MOD, "adapter %u: unknown option %s (fabric, window, hb_timeout, multicast)",
                     conf->adapter_no, k);
            return -EINVAL;
        }
    }
    if ((v = osci_conf_opt(conf, "multicast")) && strcmp(v, "0") && strcmp(v, "1")) {
        osci_log(OSCI_LOG_ERROR, MOD, "adapter %u: multicast=%s is not 0 or 1", conf->adapter_no, v);
        return -EINVAL;
    }
    if (conf->node_id > 255) {
        osci_log(OSCI_LOG_ERROR, MOD, "adapter %u: node id %u not in 1..255", conf->adapter_no, conf->node_id);
        return -EINVAL;
    }
    d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    osci_list_init(&d->pwins);
    d->fd = d->win_fd = d->sock = d->epfd = d->tfd = -1;
    d->me = SN_PORTS;
    d->pid = getpid();
    d->observe = conf->observe;
    d->hb_timeout_ms = hb;
    d->no_mcast = (v = osci_conf_opt(conf, "multicast")) && !strcmp(v, "0");
    d->win_size = window;
    pthread_mutex_init(&d->lock, NULL);
    pthread_mutex_init(&d->send_lock, NULL);
    pthread_mutex_init(&d->db_lock, NULL);
    pthread_mutex_init(&d->fab_lock, NULL);
    d->lock_fd = -1;
    for (unsigned int p = 0; p < SN_PORTS; p++) {
        d->known[p].pidfd = -1;
        d->faulty_epoch[p] = ~0ull;
    }
    snprintf(d->fabric, sizeof(d->fabric), "%s", fabric);
    snprintf(d->shm_name, sizeof(d->shm_name), "/osci.%s", fabric);

    if (d->observe) {
        ret = sn_fabric_attach(d);
        if (ret < 0)
            goto err_free;
        d->base.node_id = 0;
        *drv_p = &d->base;
        return 0;
    }
    d->sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (d->sock < 0 || (ret = sn_setup_fds(d)) < 0) {
        ret = -errno;
        goto err_free;
    }
    for (tries = 0;; tries++) {
        if (tries == 100) {
            ret = -EBUSY;
            goto err_free;
        }
        ret = sn_fabric_create(d, window);
        if (ret == 0) {
            if ((ret = sn_lock_fabric(d, SN_LOCK_MS)) < 0)
                goto err_detach;
            break;
        }
        if (ret == -EAGAIN)
            continue;
        if (ret != -EEXIST)
            goto err_free;
        ret = sn_fabric_attach(d);
        if (ret < 0)
            goto err_free;
        if (ret == 1)
            continue;
        if ((ret = sn_lock_fabric(d, SN_LOCK_MS)) < 0)
            goto err_detach;
        if (!sn_fabric_unlinked(d))
            break;
        sn_unlock_fabric(d);            /* the last node removed it: start over */
        sn_fabric_detach(d);
    }
    ret = sn_join_locked(d, conf->node_id);
    sn_unlock_fabric(d);
    if (ret < 0)
        goto err_leave;
    osci_log(OSCI_LOG_INFO, MOD, "fabric %s: node %u on port %u, epoch %" PRIx64, d->fabric, d->base.node_id,
             d->me, d->epoch);
    for (unsigned int p = 0; p < SN_PORTS; p++)
        if (p != d->me && LD(&sn_port(d, p)->state) == SN_ACTIVE)
            sn_kick(d, p);
    d->exit_e.leave = sn_exit_leave;
    osci_exit_add(&d->exit_e);
    *drv_p = &d->base;
    return 0;
err_leave:
    if (sn_lock_fabric(d, SN_LOCK_MS) == 0) {
        sn_remove_if_last_locked(d);
        sn_unlock_fabric(d);
    }
err_detach:
    sn_fabric_detach(d);
err_free:
    sn_free_drv(d);
    return ret;
}

/*
 * Exit hook: a process that returns from main or calls exit() with drivers still open leaves its
 * port the way close() would have, as far as is safe while its other threads still run: its window
 * name is unlinked (mappings survive), its port is flagged EXITING (it stays taken until the pid is
 * gone, so nobody else takes it while those threads still touch it), and when no other port is held
 * by a process that stays, the fabric file is unlinked. Nothing is unmapped or freed. _exit() and
 * SIGKILL run no hook: the next node to join or leave reclaims such ports.
 */
static void sn_exit_leave(struct osci_exit_entry *e)
{
    struct sn_drv *d = osci_container_of(e, struct sn_drv, exit_e);
    struct sn_local *L;
    char name[128];

    if (d->pid != getpid())           /* a fork child inherits the registry, not the port */
        return;
    L = sn_local(d, d->me);
    sn_win_name(d, d->me, d->epoch, LDR(&L->name_rand), name, sizeof(name));
    shm_unlink(name);                 /* unique to this incarnation: safe without the lock */
    sn_remove_wake(d, d->me, LDR(&L->name_rand));
    if (sn_lock_fabric(d, 1000) < 0)  /* a thread of ours interrupted while holding it: give up */
        return;
    ST(&sn_port(d, d->me)->flags, __atomic_or_fetch(&d->flags, SN_F_EXITING, __ATOMIC_SEQ_CST));
    sn_mc_sweep_locked(d);            /* multicast groups whose last live member was us */
    if (sn_remove_if_last_locked(d))
        osci_log(OSCI_LOG_INFO, MOD, "fabric %s: last node exited; removed", d->fabric);
    sn_unlock_fabric(d);
}

static void sn_close(struct osci_drv *drv)
{
    struct sn_drv *d = to_sn(drv);
    struct sn_pwin *pw, *tmp;

    osci_list_for_each_safe(pw, tmp, &d->pwins, link) {
        osci_list_del(&pw->link);
        munmap(pw->base, pw->size);
        close(pw->fd);
        free(pw);
    }
    for (unsigned int p = 0; p < SN_PORTS; p++)
        if (d->known[p].pidfd >= 0)
            close(d->known[p].pidfd);
    osci_exit_lock();                   /* held until the port is left: the exit hook waits */
    if (d->observe || getpid() != d->pid) {
        osci_exit_del_locked(&d->exit_e);
        osci_exit_unlock();
        if (d->win)
            munmap(d->win, d->win_size);
        if (d->win_fd >= 0)
            close(d->win_fd);
        sn_fabric_detach(d);
        sn_free_drv(d);
        return;
    }
    if (sn_lock_fabric(d, SN_LOCK_MS) == 0) {
        sn_reclaim_locked(d, d->me);
        if (sn_remove_if_last_locked(d))
            osci_log(OSCI_LOG_INFO, MOD, "fabric %s: last node left; removed", d->fabric);
        sn_unlock_fabric(d);
    } else {                          /* our names at least; the port goes to the next reclaim */
        struct sn_local *L = sn_local(d, d->me);
        char name[128];
        sn_win_name(d, d->me, d->epoch, LDR(&L->name_rand), name, sizeof(name));
        shm_unlink(name);
        sn_remove_wake(d, d->me, LDR(&L->name_rand));
    }
    osci_exit_del_locked(&d->exit_e);
    osci_exit_unlock();
    for (unsigned int p = 0; p < SN_PORTS; p++)
        if (p != d->me && LD(&sn_port(d, p)->state) == SN_ACTIVE)
            sn_kick(d, p);
    if (d->win) {
        munmap(d->win, d->win_size);
        close(d->win_fd);
    }
    sn_fabric_detach(d);
    sn_free_drv(d);
}

/* ---- events ---- */

static void sn_push(struct sn_drv *d, enum osci_drv_event_type type, uint32_t node, uint64_t epoch)
{
    struct osci_drv_event *ev = &d->pend[(d->pend_head + d->pend_count) % SN_PEND];
    static const char *const names[] = { "?", "LINK_UP", "LINK_DOWN", "PEER_DEAD" };
    ev->type = type;
    ev->node = node;
    ev->epoch = epoch;
    ev->db_bits = 0;
    ev->len = 0;
    d->pend_count++;
    osci_log(OSCI_LOG_DEBUG, MOD, "fabric %s node %u: %s node %u epoch %" PRIx64, d->fabric, d->base.node_id,
             names[type <= 3 ? type : 0], node, epoch);
}

/* The link to port p is down when either end took it down for the other's current incarnation
 * (each end writes only its own link_down words). */
static int sn_link_disabled(struct sn_drv *d, unsigned int p)
{
    uint64_t ep = LD(&sn_port(d, p)->epoch);
    return (ep && LD(&sn_port(d, d->me)->link_down[p % SN_PORTS]) == ep) ||
           LD(&sn_port(d, p)->link_down[d->me % SN_PORTS]) == d->epoch;
}

static void sn_drop_pidfd(struct sn_drv *d, struct sn_known *k)
{
    if (k->pidfd >= 0) {
        epoll_ctl(d->epfd, EPOLL_CTL_DEL, k->pidfd, NULL);
        close(k->pidfd);
    }
    k->pidfd = -1;
    k->pid_dead = 0;
}

/* Drains the wake socket, all of it (lock held). A peer sends a datagram only after taking our arm
 * (armed 1 -> 0), so datagrams found while we are still armed, or more than one per taken arm, come
 * from a flood by the fabric's uid (no other uid can reach the socket). Past SN_WAKE_BURST of those
 * in a tick the socket leaves the epoll set until the next tick, which scans everything anyway: a
 * flood then costs an idle node a few wakes per tick, and delays a real wake-up by at most a tick. */
static void sn_drain_wake(struct sn_drv *d)
{
    struct epoll_event ev = { .events = 0, .data.u64 = TAG_SOCK };
    char buf[64];
    unsigned int n = 0;

    while (n < SN_WAKE_DRAIN && recv(d->sock, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
        n++;
    if (n && !LD(&sn_local(d, d->me)->armed))
        n--;                          /* one explained by a taken arm */
    d->wake_spurious += n;
    if (d->wake_spurious > SN_WAKE_BURST && !d->wake_muted &&
        epoll_ctl(d->epfd, EPOLL_CTL_MOD, d->sock, &ev) == 0) {
        d->wake_muted = 1;
        osci_log(OSCI_LOG_DEBUG, MOD, "fabric %s: %u unexplained wake datagrams this tick; muted until the next",
                 d->fabric, d->wake_spurious);
    }
}

/* The timer ticked: the count starts over, a muted wake socket comes back (lock held). */
static void sn_wake_tick(struct sn_drv *d)
{
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = TAG_SOCK };

    d->wake_spurious = 0;
    if (d->wake_muted && epoll_ctl(d->epfd, EPOLL_CTL_MOD, d->sock, &ev) == 0)
        d->wake_muted = 0;
}

/* Drains the wake socket and the timer, and notes which peer processes exited. */
static void sn_sweep(struct sn_drv *d)
{
    struct epoll_event evs[SN_PORTS + 2];
    uint64_t ticks;
    int n = epoll_wait(d->epfd, evs, SN_PORTS + 2, 0);

    for (int i = 0; i < n; i++) {
        uint64_t tag = evs[i].data.u64;
        if (tag == TAG_SOCK) {
            sn_drain_wake(d);
        } else if (tag == TAG_TIMER) {
            if (read(d->tfd, &ticks, sizeof(ticks)) < 0)
                ticks = 0;
            sn_wake_tick(d);
        } else if (tag - TAG_PID < SN_PORTS) {
            d->known[tag - TAG_PID].pid_dead = 1;
        }
    }
    for (unsigned int p = 0; p < SN_PORTS; p++) {
        struct sn_known *k = &d->known[p];
        if ((k->state == K_UP || k->state == K_DOWN) && k->pidfd < 0 &&
            !osci_proc_alive(k->pid, LDR(&sn_local(d, p)->start_time)))
            k->pid_dead = 1;
    }
    d->last_sweep_ms = osci_now_ms();
}

/*
 * A port whose region is inconsistent is faulty: one line naming the port, the field and its value;
 * its incarnation `ep` is dead for this node from now on (sends, probes and imports refuse it, the next
 * scan reports PEER_DEAD as for a dead peer, nothing it wrote is followed), and our link to it is
 * marked down in our own registers, so it sees LINK_DOWN instead of writing into a void. Atomics only:
 * callable with or without the driver lock. A new incarnation of the port starts clean.
 */
static void sn_fault(struct sn_drv *d, unsigned int p, uint64_t ep, const char *field, uint64_t value)
{
    if (p >= SN_PORTS || __atomic_exchange_n(&d->faulty_epoch[p], ep, __ATOMIC_ACQ_REL) == ep)
        return;
    osci_log(OSCI_LOG_WARN, MOD, "fabric %s: port %u (epoch %" PRIx64 ") is faulty: %s = %" PRIu64 " (0x%" PRIx64
             "); no longer followed", d->fabric, p, ep, field, value, value);
    if (d->observe)
        return;
    __atomic_store_n(&d->dead_epoch[p], ep, __ATOMIC_RELEASE);
    __atomic_store_n(&sn_port(d, d->me)->link_down[p], ep, __ATOMIC_SEQ_CST);
    sn_kick(d, p);
    sn_kick(d, d->me);
}

/* Why peer p (known incarnation) should be considered dead now; NULL if it is alive. */
static const char *sn_peer_gone(struct sn_drv *d, unsigned int p, uint64_t now)
{
    struct sn_port *P = sn_port(d, p);
    struct sn_known *k = &d->known[p];
    uint32_t node;

    if (LD(&P->state) != SN_ACTIVE)
        return "port freed";
    if (LD(&P->epoch) != k->epoch)
        return "new incarnation";
    if ((node = LDR(&P->node_id)) != k->node)
        sn_fault(d, p, k->epoch, "node_id", node);   /* fixed for an incarnation */
    if (__atomic_load_n(&d->faulty_epoch[p], __ATOMIC_ACQUIRE) == k->epoch)
        return "faulty";
    if (LD(&P->flags) & SN_F_LIVENESS_LOST) {
        uint64_t hb = LD(&P->heartbeat_ms);
        return now > hb && now - hb > d->hb_timeout_ms ? "heartbeat timeout" : NULL;
    }
    if (k->pid_dead)
        return "process exited";
    if (k->pidfd < 0) {
        /* No pidfd (old kernel): the sweep checks the pid; the heartbeat counts too. */
        uint64_t hb = LD(&P->heartbeat_ms);
        if (now > hb && now - hb > d->hb_timeout_ms)
            return "heartbeat timeout";
    }
    return NULL;
}

static void sn_reclaim_if_dead(struct sn_drv *d, unsigned int p, uint64_t epoch)
{
    struct sn_port *P = sn_port(d, p);
    struct sn_local *L = sn_local(d, p);
    if (LD(&P->state) == SN_FREE || LD(&P->epoch) != epoch || osci_proc_alive(LDR(&L->pid), LDR(&L->start_time)))
        return;
    if (sn_lock_fabric(d, SN_RECLAIM_LOCK_MS) < 0)
        return;                       /* the next join reclaims it */
    if (LD(&P->state) != SN_FREE && LD(&P->epoch) == epoch && !osci_proc_alive(LDR(&L->pid), LDR(&L->start_time)))
        sn_reclaim_locked(d, p);
    sn_unlock_fabric(d);
}

static void sn_rx_set(struct sn_drv *d, unsigned int s, uint32_t tail)
{
    d->rx_tail[s] = tail;
    ST(&sn_ring(d, d->me, s)->tail, tail);
}

/* Ring [me][s] has head - tail > SN_SLOTS while no incarnation of s is announced here (lock held):
 * what it holds came before that incarnation, except the last slots it already addressed to us
 * (epochs ep -> ours), which stay to be delivered once it is announced. At most SN_SLOTS reads. */
static void sn_ring_resync(struct sn_drv *d, unsigned int s, uint64_t ep)
{
    struct sn_ring *r = sn_ring(d, d->me, s);
    uint32_t head = LD(&r->head), n = 0;

    while (n < SN_SLOTS) {
        struct sn_slot *sl = &r->slot[(head - n - 1) % SN_SLOTS];
        if (LDR(&sl->src_epoch) != ep || LDR(&sl->dst_epoch) != d->epoch || LDR(&sl->len) > OSCI_DRV_MSG_MAX)
            break;
        n++;
    }
    osci_log(OSCI_LOG_DEBUG, MOD, "fabric %s: ring from port %u resynced (head %" PRIu32 ", tail %" PRIu32
             ", %u kept)", d->fabric, s, head, d->rx_tail[s], n);
    sn_rx_set(d, s, head - n);
}

/* Ring [me][s] of a faulty sender: everything in it is dropped (lock held). */
static void sn_ring_drain(struct sn_drv *d, unsigned int s)
{
    sn_rx_set(d, s, LD(&sn_ring(d, d->me, s)->head));
}

static uint64_t sn_db_take(struct sn_drv *d, unsigned int s, uint64_t mask);

/* Compares the port registers with what this node knows; queues link events (lock held). Deaths
 * first, then new incarnations, so a node id freed and taken again in between is never seen twice. */
static int sn_take_msg(struct sn_drv *d, unsigned int s, struct osci_drv_event *ev);

static void sn_scan(struct sn_drv *d)
{
    uint64_t now = osci_now_ms();

    for (unsigned int p = 0; p < SN_PORTS; p++) {
        struct sn_known *k = &d->known[p];
        const char *why;

        if (p == d->me || d->pend_count + SN_SLOTS + 3 > SN_PEND)
            continue;
        if ((k->state == K_UP || k->state == K_DOWN) && (why = sn_peer_gone(d, p, now))) {
            osci_log(OSCI_LOG_INFO, MOD, "fabric %s: node %u (epoch %" PRIx64 ") dead: %s", d->fabric, k->node,
                     k->epoch, why);
            if (strcmp(why, "faulty") == 0) {
                sn_ring_drain(d, p);  /* nothing of a faulty port is delivered */
            } else {
                /* what the peer sent before it died comes first, as on a link that delivers in order */
                for (unsigned int i = 0; i < SN_SLOTS && sn_take_msg(d, p, &d->pend[(d->pend_head + d->pend_count) % SN_PEND]); i++)
                    d->pend_count++;
                uint64_t bits = sn_db_take(d, p, __atomic_load_n(&d->event_mask, __ATOMIC_RELAXED));
                if (bits) {           /* its last doorbells too (sn_push leaves room for this one) */
                    sn_push(d, OSCI_DRV_EV_DOORBELL, k->node, k->epoch);
                    d->pend[(d->pend_head + d->pend_count - 1) % SN_PEND].db_bits = bits;
                }
            }
            sn_push(d, OSCI_DRV_EV_PEER_DEAD, k->node, k->epoch);
            __atomic_store_n(&d->dead_epoch[p], k->epoch, __ATOMIC_RELEASE);
            sn_drop_pidfd(d, k);
            k->state = K_DEAD;
            sn_reclaim_if_dead(d, p, k->epoch);
        }
    }
    for (unsigned int p = 0; p < SN_PORTS; p++) {
        struct sn_port *P = sn_port(d, p);
        struct sn_known *k = &d->known[p];

        if (p == d->me || d->pend_count > SN_PEND - 3)
            continue;
        uint32_t st = LD(&P->state);
        uint64_t ep = LD(&P->epoch);
        if (st != SN_ACTIVE)
            continue;
        if ((k->state == K_NONE || k->state == K_DEAD) && ep != k->epoch) {
            /* A new incarnation: check its registers and owner, watch its exit through a pidfd. */
            int32_t pid = LDR(&sn_local(d, p)->pid);
            uint64_t start = LDR(&sn_local(d, p)->start_time);
            uint32_t node = LDR(&P->node_id);
            unsigned int q;
            if (node == 0 || node > 255) {
                sn_fault(d, p, ep, "node_id", node);
                k->state = K_DEAD;    /* never announced: nothing to report */
                k->epoch = ep;
                continue;
            }
            for (q = 0; q < SN_PORTS; q++)
                if (q != p && (d->known[q].state == K_UP || d->known[q].state == K_DOWN) && d->known[q].node == node)
                    break;
            if (q < SN_PORTS) {
                struct sn_port *Q = sn_port(d, q);
                if (LD(&Q->state) == SN_ACTIVE && LD(&Q->epoch) == d->known[q].epoch) {
                    sn_fault(d, p, ep, "node_id (held by another port)", node);
                    k->state = K_DEAD;
                    k->epoch = ep;
                }
                continue;             /* else q's death is reported first, by the next scan */
            }
            if (!osci_proc_alive(pid, start)) {
                sn_reclaim_if_dead(d, p, ep);
                k->state = K_DEAD;    /* an active port of a gone process: never followed */
                k->epoch = ep;
                continue;
            }
            int pfd = osci_pidfd_open(pid, start);
            if (pfd == -ESRCH) {      /* died since (a zombie too) */
                sn_reclaim_if_dead(d, p, ep);
                k->state = K_DEAD;
                k->epoch = ep;
                continue;
            }
            if (pfd >= 0) {           /* else no pidfds (old kernel): the sweep checks /proc */
                struct epoll_event ev = { .events = EPOLLIN, .data.u64 = TAG_PID + p };
                if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, pfd, &ev) < 0) {
                    close(pfd);
                    sn_reclaim_if_dead(d, p, ep);
                    continue;
                }
            }
            k->pidfd = pfd;
            k->pid_dead = 0;
            k->epoch = ep;
            k->node = node;
            k->pid = pid;
            if (LD(&sn_ring(d, d->me, p)->head) - d->rx_tail[p] > SN_SLOTS)
                sn_ring_resync(d, p, ep);
            if (sn_link_disabled(d, p)) {
                k->state = K_DOWN;
            } else {
                k->state = K_UP;
                sn_push(d, OSCI_DRV_EV_LINK_UP, k->node, ep);
            }
        } else if (k->state == K_UP && sn_link_disabled(d, p)) {
            k->state = K_DOWN;
            sn_push(d, OSCI_DRV_EV_LINK_DOWN, k->node, k->epoch);
        } else if (k->state == K_DOWN && !sn_link_disabled(d, p)) {
            k->state = K_UP;
            sn_push(d, OSCI_DRV_EV_LINK_UP, k->node, k->epoch);
        }
    }
}

static void sn_heartbeat(struct sn_drv *d, uint64_t now)
{
    if (!d->liveness_lost)
        ST(&sn_port(d, d->me)->heartbeat_ms, now);
}

/* Takes one message from src's ring: 1 taken, 0 empty or held back (sender not yet known). Every
 * index, length and epoch is read once and bounded; at most SN_SLOTS + 1 slots are looked at. */
static int sn_take_msg(struct sn_drv *d, unsigned int s, struct osci_drv_event *ev)
{
    struct sn_ring *r = sn_ring(d, d->me, s);
    struct sn_known *k = &d->known[s];
    int known = k->state == K_UP || k->state == K_DOWN;

    for (unsigned int i = 0; i <= SN_SLOTS; i++) {
        uint32_t tail = d->rx_tail[s], head = LD(&r->head);
        struct sn_slot *sl = &r->slot[tail % SN_SLOTS];
        if (tail == head)
            return 0;
        if (head - tail > SN_SLOTS) {
            uint64_t pep = LD(&sn_port(d, s)->epoch);
            if (known && pep == k->epoch) {
                sn_fault(d, s, k->epoch, "ring head - tail", head - tail);
                sn_ring_drain(d, s);
                return 0;
            }
            sn_ring_resync(d, s, pep);   /* left by an incarnation not followed (any more) */
            continue;
        }
        uint64_t se = LDR(&sl->src_epoch), de = LDR(&sl->dst_epoch);
        uint32_t len = LDR(&sl->len);
        int mine = de == d->epoch;
        if (mine && known && se == k->epoch) {
            if (len > OSCI_DRV_MSG_MAX) {
                sn_fault(d, s, k->epoch, "message length", len);
                sn_ring_drain(d, s);
                return 0;
            }
            ev->type = OSCI_DRV_EV_MSG;
            ev->node = k->node;
            ev->epoch = se;
            ev->db_bits = 0;
            ev->len = len;
            memcpy(ev->msg, sl->data, len);
            sn_rx_set(d, s, tail + 1);
            return 1;
        }
        if (mine && se == LD(&sn_port(d, s)->epoch) && LD(&sn_port(d, s)->state) == SN_ACTIVE && k->epoch != se)
            return 0;                 /* from an incarnation the next scan will announce */
        sn_rx_set(d, s, tail + 1);    /* stale: for an earlier incarnation of either end */
    }
    return 0;
}

/* Bits of mask pending from s (rung since we acknowledged them), without taking them. */
static uint64_t sn_db_peek(struct sn_drv *d, unsigned int s, uint64_t mask)
{
    struct sn_ring *r = sn_ring(d, d->me, s);
    uint64_t bits = 0;

    if (LD(&r->db_count) == __atomic_load_n(&d->db_seen[s], __ATOMIC_RELAXED))
        return 0;                     /* nothing rung since the last take left none pending */
    for (unsigned int b = 0; b < SN_DBS; b++)
        if ((mask >> b & 1) && LD(&r->db_seq[b]) != LDR(&r->db_ack[b]))
            bits |= 1ull << b;
    return bits;
}

/* Takes the bits of mask pending from s: we acknowledge each one (db_ack := db_seq, our words
 * only). One taker at a time in this process (db_lock), so a ring is reported once. */
static uint64_t sn_db_take(struct sn_drv *d, unsigned int s, uint64_t mask)
{
    struct sn_ring *r = sn_ring(d, d->me, s);
    uint64_t bits = 0, left = 0;
    uint32_t count = LD(&r->db_count);

    if (count == __atomic_load_n(&d->db_seen[s], __ATOMIC_RELAXED))
        return 0;
    pthread_mutex_lock(&d->db_lock);
    count = LD(&r->db_count);         /* read before the counters: a later ring changes it again */
    for (unsigned int b = 0; b < SN_DBS; b++) {
        uint32_t seq = LD(&r->db_seq[b]);
        if (seq == LDR(&r->db_ack[b]))
            continue;
        if (mask >> b & 1) {
            bits |= 1ull << b;
            __atomic_store_n(&r->db_ack[b], seq, __ATOMIC_RELEASE);
        } else {
            left |= 1ull << b;
        }
    }
    if (!left)
        __atomic_store_n(&d->db_seen[s], count, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&d->db_lock);
    return bits;
}

static int sn_progress(struct osci_drv *drv, struct osci_drv_event *ev, unsigned int max)
{
    struct sn_drv *d = to_sn(drv);
    unsigned int out = 0;
    uint64_t now, mask;

    if (d->observe)
        return -EPERM;
    if (!ev && max)
        return -EINVAL;
    pthread_mutex_lock(&d->lock);
    now = osci_now_ms();
    sn_heartbeat(d, now);
    if (now - d->last_sweep_ms >= SN_SWEEP_MS)
        sn_sweep(d);
    sn_scan(d);
    while (out < max && d->pend_count) {
        ev[out++] = d->pend[d->pend_head];
        d->pend_head = (d->pend_head + 1) % SN_PEND;
        d->pend_count--;
    }
    if (!d->pend_count) {
        for (unsigned int s = 0; s < SN_PORTS && out < max; s++)
            while (s != d->me && out < max && sn_take_msg(d, s, &ev[out]))
                out++;
        mask = __atomic_load_n(&d->event_mask, __ATOMIC_RELAXED);
        for (unsigned int s = 0; s < SN_PORTS && out < max && mask; s++) {
            struct sn_known *k = &d->known[s];
            /* only from announced peers: a node id and epoch this node checked */
            uint64_t bits = s == d->me || (k->state != K_UP && k->state != K_DOWN) ? 0 : sn_db_take(d, s, mask);
            if (bits) {
                ev[out].type = OSCI_DRV_EV_DOORBELL;
                ev[out].node = k->node;
                ev[out].epoch = k->epoch;
                ev[out].db_bits = bits;
                ev[out].len = 0;
                out++;
            }
        }
    }
    pthread_mutex_unlock(&d->lock);
    return (int)out;
}

/* Anything progress() would report now? (lock held) */
static int sn_pending(struct sn_drv *d)
{
    uint64_t mask = __atomic_load_n(&d->event_mask, __ATOMIC_RELAXED);

    if (d->pend_count)
        return 1;
    for (unsigned int s = 0; s < SN_PORTS; s++) {
        struct sn_ring *r = sn_ring(d, d->me, s);
        int known = d->known[s].state == K_UP || d->known[s].state == K_DOWN;
        if (s == d->me)
            continue;
        if (d->rx_tail[s] != LD(&r->head) || (known && sn_db_peek(d, s, mask)))  /* seq_cst: after arming */
            return 1;
    }
    return 0;
}

static int sn_arm(struct osci_drv *drv)
{
    struct sn_drv *d = to_sn(drv);
    struct sn_local *me;
    int ret = 0;

    if (d->observe)
        return -EPERM;
    me = sn_local(d, d->me);
    pthread_mutex_lock(&d->lock);
    sn_heartbeat(d, osci_now_ms());
    sn_sweep(d);
    sn_scan(d);
    __atomic_store_n(&me->armed, 1, __ATOMIC_SEQ_CST);
    sn_scan(d);                       /* re-check after arming: no lost wake-up */
    if (sn_pending(d)) {
        __atomic_store_n(&me->armed, 0, __ATOMIC_SEQ_CST);
        ret = -EAGAIN;
    }
    pthread_mutex_unlock(&d->lock);
    return ret;
}

static int sn_event_fd(struct osci_drv *drv)
{
    struct sn_drv *d = to_sn(drv);
    return d->observe ? -EPERM : d->epfd;
}

/* ---- peers ---- */

/* Port of an active node other than this one, or -1. */
static int sn_port_of(struct sn_drv *d, uint32_t node)
{
    if (node == 0 || node > 255)
        return -1;
    for (unsigned int p = 0; p < SN_PORTS; p++) {
        struct sn_port *P = sn_port(d, p);
        if (p != d->me && LD(&P->state) == SN_ACTIVE && LDR(&P->node_id) == node)
            return (int)p;
    }
    return -1;
}

static int sn_dead(struct sn_drv *d, unsigned int p)
{
    uint64_t ep = LD(&sn_port(d, p)->epoch);
    return __atomic_load_n(&d->dead_epoch[p], __ATOMIC_ACQUIRE) == ep;
}

static int sn_peers(struct osci_drv *drv, struct osci_peer_info *out, unsigned int max, unsigned int *count_p)
{
    struct sn_drv *d = to_sn(drv);
    uint64_t now = osci_now_ms();
    unsigned int n = 0;

    if (!count_p || (!out && max))
        return -EINVAL;
    for (unsigned int p = 0; p < SN_PORTS && n < max; p++) {
        struct sn_port *P = sn_port(d, p);
        uint32_t node = LDR(&P->node_id);
        if (p == d->me || LD(&P->state) != SN_ACTIVE || node == 0 || node > 255)
            continue;                 /* not a port anyone could talk to */
        uint64_t hb = LD(&P->heartbeat_ms);
        out[n].node_id = node;
        out[n].epoch = LD(&P->epoch);
        out[n].pid = (LD(&P->flags) & SN_F_LIVENESS_LOST) ? -1 : LDR(&sn_local(d, p)->pid);
        out[n].heartbeat_age_ms = now > hb ? now - hb : 0;
        if (d->observe) {
            out[n].link_up = 1;       /* down if it took down its link to any current incarnation */
            for (unsigned int q = 0; q < SN_PORTS; q++) {
                uint64_t ld = LD(&P->link_down[q]);
                if (ld && ld == LD(&sn_port(d, q)->epoch))
                    out[n].link_up = 0;
            }
        } else
            out[n].link_up = !sn_link_disabled(d, p) && !sn_dead(d, p);
        n++;
    }
    *count_p = n;
    return 0;
}

static int sn_probe(struct osci_drv *drv, uint32_t node)
{
    struct sn_drv *d = to_sn(drv);
    int p;

    if (d->observe)
        return -EPERM;
    if (node == 0 || node > 255)
        return -EADDRNOTAVAIL;          /* any id 1..255 may join */
    p = sn_port_of(d, node);
    if (p < 0 || sn_dead(d, (unsigned int)p))
        return -EHOSTUNREACH;
    return sn_link_disabled(d, (unsigned int)p) ? -ENOLINK : 0;
}

static int sn_query(struct osci_drv *drv, struct osci_drv_info *info)
{
    struct sn_drv *d = to_sn(drv);
    if (!info)
        return -EINVAL;
    memset(info, 0, sizeof(*info));
    snprintf(info->name, sizeof(info->name), "simntb:%s", d->fabric);
    info->node_id = d->base.node_id;
    info->max_nodes = 255;
    info->max_mem_size = d->observe ? d->default_window : d->win_size;
    info->mem_align = SN_PAGE;
    info->n_doorbells = OSCI_DRV_DB_COUNT;
    info->caps = OSCI_DRV_CAP_MAP_REMOTE | OSCI_DRV_CAP_PUT_GET | OSCI_DRV_CAP_MEM_ALLOC | OSCI_DRV_CAP_DB_WAIT |
                 OSCI_DRV_CAP_INFO |
                 OSCI_DRV_CAP_OWN_LIVENESS |   /* a pidfd per peer process: death is seen at once */
                 OSCI_DRV_CAP_FULL_VIEW;       /* one /dev/shm fabric: every joined node is a peer */
    info->card_type = OSCI_DRV_CARD_SIMNTB;
    return 0;
}

/* A reachable peer's port for a send: >= 0, or -EHOSTUNREACH / -ENOTCONN. */
static int sn_target(struct sn_drv *d, uint32_t node)
{
    int p = sn_port_of(d, node);
    if (p < 0 || sn_dead(d, (unsigned int)p))
        return -EHOSTUNREACH;
    if (sn_link_disabled(d, (unsigned int)p))
        return -ENOTCONN;
    return p;
}

/* ---- messages ---- */

static int sn_msg_send(struct osci_drv *drv, uint32_t node, const void *msg, size_t len)
{
    struct sn_drv *d = to_sn(drv);
    struct sn_ring *r;
    struct sn_slot *sl;
    uint32_t head, used;
    int p;

    if (d->observe)
        return -EPERM;
    if (len > OSCI_DRV_MSG_MAX)
        return -EMSGSIZE;
    if (!msg && len)
        return -EINVAL;
    p = sn_target(d, node);
    if (p < 0)
        return p;
    r = sn_ring(d, (unsigned int)p, d->me);
    pthread_mutex_lock(&d->send_lock);
    head = LDR(&r->head);             /* ours; adopted as found at join */
    used = head - LD(&r->tail);
    if (used >= SN_SLOTS) {
        pthread_mutex_unlock(&d->send_lock);
        if (used == SN_SLOTS)
            return -EAGAIN;
        /* the receiver's tail is not within a ring of our head: its region is inconsistent */
        sn_fault(d, (unsigned int)p, LD(&sn_port(d, (unsigned int)p)->epoch), "ring head - tail, seen by the sender", used);
        return -EHOSTUNREACH;
    }
    sl = &r->slot[head % SN_SLOTS];
    sl->len = (uint32_t)len;
    sl->src_epoch = d->epoch;
    sl->dst_epoch = LD(&sn_port(d, (unsigned int)p)->epoch);
    memcpy(sl->data, msg, len);
    if (__atomic_load_n(&d->corrupt[node], __ATOMIC_RELAXED)) {
        if (__atomic_fetch_sub(&d->corrupt[node], 1, __ATOMIC_RELAXED) > 0 && len) {
            sl->data[0] ^= 0xff;          /* the first byte and the middle one, bit-inverted */
            sl->data[len / 2] ^= 0xa5;
        }
    }
    __atomic_store_n(&r->head, head + 1, __ATOMIC_SEQ_CST);   /* before sn_kick reads `armed` */
    pthread_mutex_unlock(&d->send_lock);
    sn_kick(d, (unsigned int)p);
    return 0;
}

/* ---- doorbells ---- */

static int sn_db_ring(struct osci_drv *drv, uint32_t node, unsigned int bit)
{
    struct sn_drv *d = to_sn(drv);
    struct sn_port *P;
    struct sn_local *L;
    struct sn_ring *r;
    int p;

    if (d->observe)
        return -EPERM;
    if (bit >= OSCI_DRV_DB_COUNT)
        return -EINVAL;
    p = node == drv->node_id ? (int)d->me : sn_target(d, node);   /* loopback rings our own port */
    if (p < 0)
        return p;
    if (__atomic_load_n(&d->drop_db[node], __ATOMIC_RELAXED)) {
        uint32_t c = __atomic_load_n(&d->drop_db[node], __ATOMIC_RELAXED);
        while (c && !__atomic_compare_exchange_n(&d->drop_db[node], &c, c - 1, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            ;
        if (c) {
            osci_log(OSCI_LOG_DEBUG, MOD, "fault: dropped doorbell %u to node %u", bit, node);
            return 0;
        }
    }
    P = sn_port(d, (unsigned int)p);
    L = sn_local(d, (unsigned int)p);
    r = sn_ring(d, (unsigned int)p, d->me);
    /* Our counters of this direction: we are their only writer (one thread at a time). */
    pthread_mutex_lock(&d->send_lock);
    __atomic_store_n(&r->db_seq[bit], LDR(&r->db_seq[bit]) + 1, __ATOMIC_RELEASE);
    __atomic_store_n(&r->db_count, LDR(&r->db_count) + 1, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&d->send_lock);
    __atomic_fetch_add(&L->futex, 1, __ATOMIC_SEQ_CST);    /* host-local word */
    if (__atomic_load_n(&L->db_waiters, __ATOMIC_SEQ_CST))
        sn_futex(&L->futex, FUTEX_WAKE, INT_MAX, NULL);
    if (LD(&P->event_mask) & (1ull << bit))
        sn_kick(d, (unsigned int)p);
    return 0;
}

static uint64_t sn_db_take_all(struct sn_drv *d, uint64_t mask)
{
    uint64_t bits = 0;
    for (unsigned int s = 0; s < SN_PORTS; s++)
        bits |= sn_db_take(d, s, mask);
    return bits;
}

static int sn_db_poll(struct osci_drv *drv, uint64_t mask, uint64_t *bits_p)
{
    struct sn_drv *d = to_sn(drv);
    uint64_t bits;

    if (d->observe)
        return -EPERM;
    if (!bits_p || !mask)
        return -EINVAL;
    bits = sn_db_take_all(d, mask);
    if (!bits)
        return -EAGAIN;
    *bits_p = bits;
    return 0;
}

static int sn_db_wait(struct osci_drv *drv, uint64_t mask, int timeout_ms, uint64_t *bits_p)
{
    struct sn_drv *d = to_sn(drv);
    struct sn_local *me;
    uint64_t bits, deadline = 0, now;

    if (d->observe)
        return -EPERM;
    if (!bits_p || !mask)
        return -EINVAL;
    me = sn_local(d, d->me);
    if (timeout_ms >= 0)
        deadline = osci_now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        if ((bits = sn_db_take_all(d, mask)))
            break;
        __atomic_fetch_add(&me->db_waiters, 1, __ATOMIC_SEQ_CST);
        uint32_t seq = __atomic_load_n(&me->futex, __ATOMIC_SEQ_CST);
        if ((bits = sn_db_take_all(d, mask))) {
            __atomic_fetch_sub(&me->db_waiters, 1, __ATOMIC_SEQ_CST);
            break;
        }
        struct timespec ts, *tsp = NULL;
        if (timeout_ms >= 0) {
            now = osci_now_ms();
            if (now >= deadline) {
                __atomic_fetch_sub(&me->db_waiters, 1, __ATOMIC_SEQ_CST);
                return -ETIMEDOUT;
            }
            ts.tv_sec = (time_t)((deadline - now) / 1000);
            ts.tv_nsec = (long)((deadline - now) % 1000) * 1000000L;
            tsp = &ts;
        }
        sn_futex(&me->futex, FUTEX_WAIT, seq, tsp);
        __atomic_fetch_sub(&me->db_waiters, 1, __ATOMIC_SEQ_CST);
    }
    *bits_p = bits;
    return 0;
}

static int sn_db_set_event_mask(struct osci_drv *drv, uint64_t mask)
{
    struct sn_drv *d = to_sn(drv);
    if (d->observe)
        return -EPERM;
    __atomic_store_n(&d->event_mask, mask, __ATOMIC_RELAXED);
    __atomic_store_n(&sn_port(d, d->me)->event_mask, mask, __ATOMIC_SEQ_CST);
    return 0;
}

/* ---- local memory: the inbound window ---- */

static int sn_free_insert(struct sn_drv *d, uint64_t off, uint64_t len)
{
    unsigned int i = 0;
    while (i < d->n_free && d->free_r[i].off < off)
        i++;
    if ((i > 0 && d->free_r[i - 1].off + d->free_r[i - 1].len > off) ||
        (i < d->n_free && off + len > d->free_r[i].off))
        return -EINVAL;               /* overlaps free space: double free */
    if (i > 0 && d->free_r[i - 1].off + d->free_r[i - 1].len == off) {
        d->free_r[i - 1].len += len;
        if (i < d->n_free && off + len == d->free_r[i].off) {
            d->free_r[i - 1].len += d->free_r[i].len;
            memmove(&d->free_r[i], &d->free_r[i + 1], (d->n_free - i - 1) * sizeof(d->free_r[0]));
            d->n_free--;
        }
        return 0;
    }
    if (i < d->n_free && off + len == d->free_r[i].off) {
        d->free_r[i].off = off;
        d->free_r[i].len += len;
        return 0;
    }
    if (d->n_free == d->cap_free) {
        unsigned int cap = d->cap_free ? d->cap_free * 2 : 16;
        struct sn_range *r = realloc(d->free_r, cap * sizeof(*r));
        if (!r)
            return -ENOMEM;
        d->free_r = r;
        d->cap_free = cap;
    }
    memmove(&d->free_r[i + 1], &d->free_r[i], (d->n_free - i) * sizeof(d->free_r[0]));
    d->free_r[i].off = off;
    d->free_r[i].len = len;
    d->n_free++;
    return 0;
}

static int sn_mem_alloc(struct osci_drv *drv, size_t size, struct osci_drv_mem_view *view)
{
    struct sn_drv *d = to_sn(drv);
    uint64_t len = ((uint64_t)size + SN_PAGE - 1) & ~(uint64_t)(SN_PAGE - 1);
    int ret = -ENOMEM;

    if (d->observe)
        return -EPERM;
    if (!view || size == 0 || size > d->win_size)
        return size > d->win_size ? -ENOMEM : -EINVAL;
    pthread_mutex_lock(&d->lock);
    if (!d->free_r && sn_free_insert(d, 0, d->win_size) < 0)
        goto out;
    for (unsigned int i = 0; i < d->n_free; i++) {
        if (d->free_r[i].len < len)
            continue;
        view->addr = d->win + d->free_r[i].off;
        view->size = len;
        view->fd = d->win_fd;
        view->fd_offset = (off_t)d->free_r[i].off;
        d->free_r[i].off += len;
        d->free_r[i].len -= len;
        if (!d->free_r[i].len) {
            memmove(&d->free_r[i], &d->free_r[i + 1], (d->n_free - i - 1) * sizeof(d->free_r[0]));
            d->n_free--;
        }
        ret = 0;
        break;
    }
out:
    pthread_mutex_unlock(&d->lock);
    if (ret < 0)
        osci_log(OSCI_LOG_WARN, MOD, "window of node %u: no room for %zu bytes", d->base.node_id, size);
    return ret;
}

static void sn_mem_free(struct osci_drv *drv, struct osci_drv_mem_view *view)
{
    struct sn_drv *d = to_sn(drv);
    uint8_t *a;

    if (d->observe || !view)
        return;
    a = view->addr;
    if (a < d->win || view->size == 0 || (uint64_t)(a - d->win) % SN_PAGE ||
        view->size > d->win_size - (size_t)(a - d->win) || view->size % SN_PAGE) {
        osci_log(OSCI_LOG_ERROR, MOD, "mem_free: %p+%zu is not an allocation of this window", view->addr, view->size);
        return;
    }
    /* Zero and release the pages, so the next user never sees old data. */
    madvise(a, view->size, MADV_REMOVE);
    pthread_mutex_lock(&d->lock);
    if (sn_free_insert(d, (uint64_t)(a - d->win), view->size) < 0)
        osci_log(OSCI_LOG_ERROR, MOD, "mem_free: %p+%zu freed twice", view->addr, view->size);
    pthread_mutex_unlock(&d->lock);
}

static int sn_mem_export(struct osci_drv *drv, void *addr, size_t size, struct osci_drv_mem **mem_p)
{
    struct sn_drv *d = to_sn(drv);
    uint8_t *a = addr;
    struct osci_drv_mem *m;
    uint64_t len = ((uint64_t)size + SN_PAGE - 1) & ~(uint64_t)(SN_PAGE - 1);

    if (d->observe)
        return -EPERM;
    if (!mem_p || size == 0)
        return -EINVAL;
    if (!d->win || a < d->win || a >= d->win + d->win_size || len > d->win_size - (size_t)(a - d->win))
        return -EXDEV;
    if ((uint64_t)(a - d->win) % SN_PAGE)
        return -EINVAL;
    m = malloc(sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->off = (uint64_t)(a - d->win);
    m->size = len;
    *mem_p = m;
    return 0;
}

static void sn_mem_unexport(struct osci_drv *drv, struct osci_drv_mem *mem)
{
    free(mem);
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static int sn_mem_pack(struct osci_drv *drv, struct osci_drv_mem *mem, void *buf, size_t *len_p)
{
    struct sn_drv *d = to_sn(drv);
    uint8_t *b = buf;

    if (d->observe)
        return -EPERM;
    if (!mem || !buf || !len_p)
        return -EINVAL;
    if (*len_p < SN_XPORT_LEN)
        return -ENOSPC;
    put_le(b + 0, SN_XPORT_MAGIC, 4);
    put_le(b + 4, SN_XPORT_VERSION, 2);
    put_le(b + 6, SN_XPORT_LEN, 2);
    put_le(b + 8, d->me, 4);
    put_le(b + 12, d->base.node_id, 4);
    put_le(b + 16, d->epoch, 8);
    put_le(b + 24, mem->off, 8);
    put_le(b + 32, mem->size, 8);
    *len_p = SN_XPORT_LEN;
    return 0;
}

/* ---- remote memory ---- */

static struct sn_pwin *sn_pwin_get(struct sn_drv *d, unsigned int port, uint64_t epoch, uint64_t size, int *err)
{
    struct sn_pwin *pw;
    char name[128];
    int fd;

    osci_list_for_each(pw, &d->pwins, link)
        if (pw->port == port && pw->epoch == epoch) {
            pw->refs++;
            return pw;
        }
    /* the name holds the epoch too: a register read across a re-join finds nothing (stale) */
    sn_win_name(d, port, epoch, LD(&sn_local(d, port)->name_rand), name, sizeof(name));
    fd = shm_open(name, O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0);
    if (fd < 0) {
        *err = errno == ENOENT ? -ESTALE : -errno;
        return NULL;
    }
    if ((*err = sn_check_fd(fd, name, size)) < 0) {
        close(fd);
        return NULL;
    }
    pw = calloc(1, sizeof(*pw));
    if (!pw) {
        close(fd);
        *err = -ENOMEM;
        return NULL;
    }
    pw->base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (pw->base == MAP_FAILED) {
        *err = -errno;
        close(fd);
        free(pw);
        return NULL;
    }
    pw->port = port;
    pw->epoch = epoch;
    pw->fd = fd;
    pw->size = size;
    pw->refs = 1;
    osci_list_add(&d->pwins, &pw->link);
    return pw;
}

static void sn_pwin_put(struct sn_drv *d, struct sn_pwin *pw)
{
    if (--pw->refs)
        return;
    osci_list_del(&pw->link);
    munmap(pw->base, pw->size);
    close(pw->fd);
    free(pw);
}

static int sn_rmem_import(struct osci_drv *drv, uint32_t node, const void *buf, size_t len,
                          struct osci_drv_rmem **rmem_p)
{
    struct sn_drv *d = to_sn(drv);
    const uint8_t *b = buf;
    struct osci_drv_rmem *rm;
    struct sn_port *P;
    uint64_t epoch, off, size, wsize;
    uint32_t port;
    int err = 0;

    if (d->observe)
        return -EPERM;
    if (!buf || !rmem_p || len != SN_XPORT_LEN || get_le(b, 4) != SN_XPORT_MAGIC || get_le(b + 6, 2) != SN_XPORT_LEN)
        return -EINVAL;
    if (get_le(b + 4, 2) != SN_XPORT_VERSION)
        return -EPROTO;
    port = (uint32_t)get_le(b + 8, 4);
    epoch = get_le(b + 16, 8);
    off = get_le(b + 24, 8);
    size = get_le(b + 32, 8);
    if (port >= SN_PORTS || get_le(b + 12, 4) != node)   /* our own port: loopback */
        return -EINVAL;
    P = sn_port(d, port);
    if (LD(&P->state) != SN_ACTIVE || LD(&P->epoch) != epoch ||
        __atomic_load_n(&d->dead_epoch[port], __ATOMIC_ACQUIRE) == epoch)
        return -ESTALE;
    if (LDR(&P->node_id) != node)
        return -EINVAL;
    wsize = LDR(&P->window_size);
    if (size == 0 || off % SN_PAGE || size % SN_PAGE || off > wsize || size > wsize - off)
        return -EINVAL;
    rm = calloc(1, sizeof(*rm));
    if (!rm)
        return -ENOMEM;
    osci_list_init(&rm->maps);
    pthread_mutex_lock(&d->lock);
    rm->pw = sn_pwin_get(d, port, epoch, wsize, &err);
    if (rm->pw && (off > rm->pw->size || size > rm->pw->size - off)) {
        /* the registers' window size changed since the window was mapped (checked against its object) */
        sn_pwin_put(d, rm->pw);
        rm->pw = NULL;
        err = -EINVAL;
    }
    pthread_mutex_unlock(&d->lock);
    if (!rm->pw) {
        free(rm);
        return err;
    }
    rm->port = port;
    rm->node = node;
    rm->epoch = epoch;
    rm->off = off;
    rm->size = size;
    *rmem_p = rm;
    return 0;
}

static void sn_rmem_release(struct osci_drv *drv, struct osci_drv_rmem *rm)
{
    struct sn_drv *d = to_sn(drv);
    struct sn_map *m, *tmp;
    if (!rm)
        return;
    pthread_mutex_lock(&d->lock);
    osci_list_for_each_safe(m, tmp, &rm->maps, link) {
        osci_list_del(&m->link);
        munmap(m->addr, m->len);
        free(m);
    }
    sn_pwin_put(d, rm->pw);
    pthread_mutex_unlock(&d->lock);
    free(rm);
}

/* 0 when rm's peer incarnation is reachable, -ECONNRESET if it is gone, -ENOTCONN if the link is down. */
static int sn_rmem_state(struct sn_drv *d, struct osci_drv_rmem *rm)
{
    struct sn_port *P = sn_port(d, rm->port);
    if (__atomic_load_n(&rm->revoked, __ATOMIC_ACQUIRE) || LD(&P->state) != SN_ACTIVE ||
        LD(&P->epoch) != rm->epoch || __atomic_load_n(&d->dead_epoch[rm->port], __ATOMIC_ACQUIRE) == rm->epoch)
        return -ECONNRESET;
    return sn_link_disabled(d, rm->port) ? -ENOTCONN : 0;
}

static int sn_put(struct osci_drv *drv, struct osci_drv_rmem *rm, size_t roff, const void *src, size_t len)
{
    struct sn_drv *d = to_sn(drv);
    int ret;

    if (!rm || (!src && len) || roff > rm->size || len > rm->size - roff)
        return -EINVAL;
    if ((ret = sn_rmem_state(d, rm)) < 0)
        return ret;
    memcpy(rm->pw->base + rm->off + roff, src, len);
    return 0;
}

static int sn_get(struct osci_drv *drv, struct osci_drv_rmem *rm, size_t roff, void *dst, size_t len)
{
    struct sn_drv *d = to_sn(drv);
    int ret;

    if (!rm || (!dst && len) || roff > rm->size || len > rm->size - roff)
        return -EINVAL;
    if ((ret = sn_rmem_state(d, rm)) < 0)
        return ret;
    memcpy(dst, rm->pw->base + rm->off + roff, len);
    return 0;
}

static int sn_rmem_map(struct osci_drv *drv, struct osci_drv_rmem *rm, size_t off, size_t len, int readonly,
                       void **addr_p)
{
    struct sn_drv *d = to_sn(drv);
    size_t mlen = (len + SN_PAGE - 1) & ~(size_t)(SN_PAGE - 1);
    struct sn_map *m;
    int prot = readonly ? PROT_READ : PROT_READ | PROT_WRITE;
    int ret;

    if (!rm || !addr_p || len == 0 || off % SN_PAGE || off > rm->size || mlen > rm->size - off)
        return -EINVAL;
    if ((ret = sn_rmem_state(d, rm)) == -ECONNRESET)
        return ret;
    m = malloc(sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->addr = mmap(NULL, mlen, prot, MAP_SHARED, rm->pw->fd, (off_t)(rm->off + off));
    if (m->addr == MAP_FAILED) {
        ret = -errno;
        free(m);
        return ret;
    }
    m->len = mlen;
    m->prot = prot;
    pthread_mutex_lock(&d->lock);
    osci_list_add(&rm->maps, &m->link);
    pthread_mutex_unlock(&d->lock);
    *addr_p = m->addr;
    return 0;
}

static int sn_rmem_unmap(struct osci_drv *drv, struct osci_drv_rmem *rm, void *addr, size_t len)
{
    struct sn_drv *d = to_sn(drv);
    struct sn_map *it, *m = NULL;

    if (!rm)
        return -EINVAL;
    pthread_mutex_lock(&d->lock);
    osci_list_for_each(it, &rm->maps, link)
        if (it->addr == addr) {
            m = it;
            osci_list_del(&m->link);
            break;
        }
    pthread_mutex_unlock(&d->lock);
    if (!m)
        return -EINVAL;
    munmap(m->addr, m->len);
    free(m);
    return 0;
}

static int sn_rmem_revoke(struct osci_drv *drv, struct osci_drv_rmem *rm)
{
    struct sn_drv *d = to_sn(drv);
    struct sn_map *m;
    int ret = 0;

    if (!rm)
        return -EINVAL;
    pthread_mutex_lock(&d->lock);
    __atomic_store_n(&rm->revoked, 1, __ATOMIC_RELEASE);
    osci_list_for_each(m, &rm->maps, link)
        if (mmap(m->addr, m->len, m->prot, MAP_FIXED | MAP_ANONYMOUS | MAP_PRIVATE, -1, 0) == MAP_FAILED)
            ret = -errno;
    pthread_mutex_unlock(&d->lock);
    return ret;
}

/* ---- info area (seqlock) ---- */

static int sn_info_publish(struct osci_drv *drv, const void *buf, size_t len)
{
    struct sn_drv *d = to_sn(drv);
    struct sn_port *me;

    if (d->observe)
        return -EPERM;
    if (len > SN_INFO_SIZE)
        return -EMSGSIZE;
    if (!buf && len)
        return -EINVAL;
    me = sn_port(d, d->me);
    pthread_mutex_lock(&d->lock);
    uint32_t seq = LDR(&me->info_seq) | 1;   /* our word: odd while writing */
    __atomic_store_n(&me->info_seq, seq, __ATOMIC_SEQ_CST);
    osci_fence_release();
    memcpy(sn_info(d, d->me), buf, len);
    __atomic_store_n(&me->info_len, (uint32_t)len, __ATOMIC_RELAXED);
    __atomic_store_n(&me->info_seq, seq + 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&d->lock);
    return 0;
}

static int sn_info_read(struct osci_drv *drv, uint32_t node, void *buf, size_t len, size_t *len_p)
{
    struct sn_drv *d = to_sn(drv);
    unsigned int p;

    if (!len_p || (!buf && len))
        return -EINVAL;
    for (p = 0; p < SN_PORTS; p++) {
        struct sn_port *P = sn_port(d, p);
        if (LD(&P->state) == SN_ACTIVE && LDR(&P->node_id) == node)
            break;
    }
    if (p == SN_PORTS)
        return -EHOSTUNREACH;
    struct sn_port *P = sn_port(d, p);
    for (int tries = 0; tries < 1000; tries++) {
        uint32_t s1 = LD(&P->info_seq);
        if (s1 & 1) {
            sched_yield();
            continue;
        }
        uint32_t l = __atomic_load_n(&P->info_len, __ATOMIC_RELAXED);
        if (l > SN_INFO_SIZE) {
            if (LD(&P->info_seq) != s1)
                continue;             /* torn read */
            sn_fault(d, p, LD(&P->epoch), "info_len", l);
            return -EPROTO;
        }
        if (l > len)
            return -EMSGSIZE;
        memcpy(buf, sn_info(d, p), l);
        osci_fence_acquire();
        if (__atomic_load_n(&P->info_seq, __ATOMIC_RELAXED) == s1) {
            *len_p = l;
            return 0;
        }
    }
    return -EAGAIN;
}

/* ---- fault injection ---- */

static int sn_inject(struct osci_drv *drv, enum osci_fault fault, uint32_t node, unsigned int count)
{
    struct sn_drv *d = to_sn(drv);
    int p;

    if (d->observe)
        return -EPERM;
    switch (fault) {
    case OSCI_FAULT_LINK_DOWN:
    case OSCI_FAULT_LINK_UP:
        p = sn_port_of(d, node);
        if (p < 0)
            return -EHOSTUNREACH;
        /* Our word only: the peer sees the link down through it (sn_link_disabled reads both ends).
         * LINK_UP clears what we took down; a link the peer took down stays down until it brings it up. */
        __atomic_store_n(&sn_port(d, d->me)->link_down[p],
                         fault == OSCI_FAULT_LINK_DOWN ? LD(&sn_port(d, (unsigned int)p)->epoch) : 0,
                         __ATOMIC_SEQ_CST);
        osci_log(OSCI_LOG_INFO, MOD, "fault: link %u<->%u %s", d->base.node_id, node,
                 fault == OSCI_FAULT_LINK_DOWN ? "down" : "up");
        sn_kick(d, (unsigned int)p);
        sn_kick(d, d->me);
        return 0;
    case OSCI_FAULT_DROP_DOORBELL:
    case OSCI_FAULT_CORRUPT_MSG:
        if (node == 0 || node > 255)
            return -EINVAL;
        __atomic_store_n(fault == OSCI_FAULT_DROP_DOORBELL ? &d->drop_db[node] : &d->corrupt[node], count,
                         __ATOMIC_RELAXED);
        return 0;
    case OSCI_FAULT_LIVENESS_LOST:
        d->liveness_lost = 1;
        ST(&sn_port(d, d->me)->flags, __atomic_or_fetch(&d->flags, SN_F_LIVENESS_LOST, __ATOMIC_SEQ_CST));
        osci_log(OSCI_LOG_INFO, MOD, "fault: node %u stops heartbeating", d->base.node_id);
        return 0;
    }
    return -EINVAL;
}

/* ---- multicast windows (SCI_FLAG_BROADCAST) ----
 * One shm object per group, /osci.<fabric>.mc<group hex>: a header page (struct sn_mc_hdr) then the
 * group's memory. Every attach of a port counts in member[port] with the port's epoch; the object is
 * unlinked by the detach that leaves no live attach, or, when every member died, by the next attach
 * (which recreates it) or sn_mc_sweep_locked. All of it under the fabric lock. */

#define SN_MC_MAGIC 0x31434d544e53ull  /* "SNTMC1" */

struct sn_mc_hdr {
    uint64_t magic;
    uint64_t size;                   /* bytes of group memory after the header page */
    uint32_t group, reserved;
    struct { uint64_t epoch; uint32_t count, reserved; } member[SN_PORTS];
};
_Static_assert(sizeof(struct sn_mc_hdr) <= SN_PAGE, "multicast header fits its page");

static void sn_mc_name(const struct sn_drv *d, uint32_t group, char *buf, size_t len)
{
    snprintf(buf, len, "/osci.%s.mc%" PRIx32, d->fabric, group);
}

/* A member entry still counts: its port holds the same incarnation and its owner lives (lock held).
 * sn_close frees the own port before its sweep, so attaches a process never detached go with it. */
static int sn_mc_live(struct sn_drv *d, const struct sn_mc_hdr *h)
{
    for (unsigned int p = 0; p < SN_PORTS; p++) {
        struct sn_port *P = sn_port(d, p);
        struct sn_local *L = sn_local(d, p);
        if (!h->member[p].count)
            continue;
        if (LD(&P->flags) & SN_F_EXITING)
            continue;                /* its process is exiting: its attaches go with it */
        if (p == d->me && h->member[p].epoch == d->epoch && LD(&P->state) != SN_FREE)
            return 1;                /* our own attach (not after our port was freed: sn_close) */
        if (LD(&P->state) != SN_FREE && LD(&P->epoch) == h->member[p].epoch &&
            osci_proc_alive(LDR(&L->pid), LDR(&L->start_time)))
            return 1;
    }
    return 0;
}

/* Opens an existing group object; 1 and its header mapped when it has live members, 0 when stale (unlinked). */
static int sn_mc_open_locked(struct sn_drv *d, const char *name, int *fd_p, struct sn_mc_hdr **h_p)
{
    int fd = shm_open(name, O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0);
    struct sn_mc_hdr *h;
    struct stat st;
    int rc;

    if (fd < 0)
        return -errno;
    if ((rc = sn_check_fd(fd, name, 0)) < 0)
        goto err;
    if (fstat(fd, &st) < 0) {
        rc = -errno;
        goto err;
    }
    if ((uint64_t)st.st_size < SN_PAGE) {
        rc = 0;                      /* a creator died before sizing it */
        goto stale;
    }
    h = mmap(NULL, SN_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (h == MAP_FAILED) {
        rc = -errno;
        goto err;
    }
    if (h->magic != SN_MC_MAGIC || (uint64_t)st.st_size != SN_PAGE + h->size || !sn_mc_live(d, h)) {
        munmap(h, SN_PAGE);
        goto stale;
    }
    *fd_p = fd;
    *h_p = h;
    return 1;
stale:
    osci_log(OSCI_LOG_INFO, MOD, "%s: no live member: reclaimed", name);
    shm_unlink(name);
    close(fd);
    return 0;
err:
    close(fd);
    return rc;
}

static int sn_mcast_attach(struct osci_drv *drv, uint32_t group, size_t size, struct osci_drv_mem_view *view)
{
    struct sn_drv *d = to_sn(drv);
    uint64_t len = ((uint64_t)size + SN_PAGE - 1) & ~(uint64_t)(SN_PAGE - 1);
    struct sn_mc_hdr *h = NULL;
    char name[128];
    uint8_t *p;
    int fd = -1, rc;

    if (d->observe)
        return -EPERM;
    if (d->no_mcast)
        return -EOPNOTSUPP;
    if (!view || size == 0)
        return -EINVAL;
    if (len > d->win_size)
        return -ENOMEM;              /* a group is no larger than a node's window */
    sn_mc_name(d, group, name, sizeof(name));
    if ((rc = sn_lock_fabric(d, SN_LOCK_MS)) < 0)
        return rc;
    rc = sn_mc_open_locked(d, name, &fd, &h);
    if (rc == 0 || rc == -ENOENT) {
        fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0) {
            rc = -errno;
            goto out;
        }
        if (ftruncate(fd, (off_t)(SN_PAGE + len)) < 0 ||
            (h = mmap(NULL, SN_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED) {
            rc = -errno;
            h = NULL;
            shm_unlink(name);
            goto out;
        }
        h->size = len;
        h->group = group;
        h->magic = SN_MC_MAGIC;
    } else if (rc < 0) {
        goto out;
    }
    if (h->size != len) {
        osci_log(OSCI_LOG_INFO, MOD, "%s: group memory is %" PRIu64 " bytes, not %" PRIu64, name, h->size, len);
        rc = -EINVAL;
        goto out;
    }
    p = mmap(NULL, SN_PAGE + len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        rc = -errno;
        goto out;
    }
    if (h->member[d->me].epoch != d->epoch) {
        h->member[d->me].epoch = d->epoch;
        h->member[d->me].count = 0;
    }
    h->member[d->me].count++;
    *view = (struct osci_drv_mem_view){ .addr = p + SN_PAGE, .size = len, .fd = fd, .fd_offset = SN_PAGE };
    fd = -1;
    rc = 0;
out:
    sn_unlock_fabric(d);
    if (h)
        munmap(h, SN_PAGE);
    if (fd >= 0)
        close(fd);
    return rc;
}

static void sn_mcast_detach(struct osci_drv *drv, struct osci_drv_mem_view *view)
{
    struct sn_drv *d = to_sn(drv);
    struct sn_mc_hdr *h;
    char name[128];

    if (d->observe || !view || !view->addr)
        return;
    h = (struct sn_mc_hdr *)((uint8_t *)view->addr - SN_PAGE);
    if (sn_lock_fabric(d, SN_LOCK_MS) == 0) {
        if (h->member[d->me].epoch == d->epoch && h->member[d->me].count)
            h->member[d->me].count--;
        if (!sn_mc_live(d, h)) {
            /* The group id is in shared memory: unlink the name only if it is this very object. */
            struct stat a, b;
            char path[160];
            sn_mc_name(d, LDR(&h->group), name, sizeof(name));
            snprintf(path, sizeof(path), "/dev/shm%s", name);
            if (fstat(view->fd, &a) == 0 && lstat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
                shm_unlink(name);
            else
                osci_log(OSCI_LOG_WARN, MOD, "%s: group id %" PRIx32 " in the group header is not this object's: "
                         "not unlinked", name, LDR(&h->group));
        }
        sn_unlock_fabric(d);
    }
    munmap(h, SN_PAGE + view->size);
    close(view->fd);
    memset(view, 0, sizeof(*view));
    view->fd = -1;
}

/* Unlinks every group object of this fabric without a live member (lock held). For the reclaim of a
 * fabric of dead nodes. */
static void sn_mc_sweep_locked(struct sn_drv *d)
{
    char prefix[SN_FABRIC_MAX + 16], name[300];
    struct dirent *e;
    DIR *dir = opendir("/dev/shm");
    size_t pl;

    if (!dir)
        return;
    pl = (size_t)snprintf(prefix, sizeof(prefix), "osci.%s.mc", d->fabric);
    while ((e = readdir(dir))) {
        struct sn_mc_hdr *h;
        int fd;
        if (strncmp(e->d_name, prefix, pl) != 0)
            continue;
        snprintf(name, sizeof(name), "/%s", e->d_name);
        if (sn_mc_open_locked(d, name, &fd, &h) == 1) {
            munmap(h, SN_PAGE);
            close(fd);
        }
    }
    closedir(dir);
}

const struct osci_drv_ops osci_simntb_ops = {
    .size = sizeof(struct osci_drv_ops),
    .name = "simntb",
    .arm = sn_arm,
    .close = sn_close,
    .db_poll = sn_db_poll,
    .db_ring = sn_db_ring,
    .db_set_event_mask = sn_db_set_event_mask,
    .db_wait = sn_db_wait,
    .event_fd = sn_event_fd,
    .get = sn_get,
    .info_publish = sn_info_publish,
    .info_read = sn_info_read,
    .inject = sn_inject,
    .mem_alloc = sn_mem_alloc,
    .mem_export = sn_mem_export,
    .mem_free = sn_mem_free,
    .mem_pack = sn_mem_pack,
    .mcast_attach = sn_mcast_attach,
    .mcast_detach = sn_mcast_detach,
    .mem_unexport = sn_mem_unexport,
    .msg_send = sn_msg_send,
    .open = sn_open,
    .peers = sn_peers,
    .probe = sn_probe,
    .progress = sn_progress,
    .put = sn_put,
    .query = sn_query,
    .rmem_import = sn_rmem_import,
    .rmem_map = sn_rmem_map,
    .rmem_release = sn_rmem_release,
    .rmem_revoke = sn_rmem_revoke,
    .rmem_unmap = sn_rmem_unmap,
};
