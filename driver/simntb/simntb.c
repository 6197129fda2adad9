/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * simntb: an emulated NTB switch in POSIX shared memory (ARCHITECTURE §3.1, docs/simntb.md), the
 * window-device core (driver/wdev/, docs/wdev.md) over a provider of its region on one host: the
 * fabric file /dev/shm/osci.<fabric> (the region), one window object per port incarnation, AF_UNIX
 * wake sockets, pidfd//proc liveness, a host-local flock as the claim lock, and the multicast group
 * objects that only a host-shared mapping can offer.
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/mman.h>
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
#include "osci_proc.h"
#include "osci_time.h"
#include "simntb.h"

#define MOD "simntb"
#define SN_TIMER_MS      20           /* heartbeat timer */
#define SN_FABRIC_MAX    56           /* "simntb:<fabric>" fits osci_drv_info.name */
#define SN_WAKE_DIR      "/dev/shm"   /* where shm_open names live; wake directories go there too */
#define SN_NAME_TRIES    8            /* fresh random names tried when one is taken */
#define SN_WAKE_BURST    32           /* datagrams per timer tick that no consumed arm explains: a flood */
#define SN_WAKE_DRAIN    1024         /* datagrams read per drain at most */
#define SN_LOCK_MS       5000         /* fabric lock wait for join / leave / group objects */
#define SN_RECLAIM_LOCK_MS 1000       /* fabric lock wait of a reclaim from progress() */

#define LD(p)      WD_LD(p)
#define ST(p, v)   WD_ST(p, v)
#define LDR(p)     WD_LDR(p)

enum { TAG_SOCK = 0, TAG_TIMER = 1, TAG_PID = 2 };

/* What the provider knows of a peer incarnation's owner process. */
struct sn_peer {
    int32_t pid;
    int pidfd;                        /* in epfd; -1 without pidfds (old kernel): /proc is checked */
    int pid_dead;                     /* pidfd polled readable, or /proc says gone */
    int watched;
};

struct sn_drv {
    struct wdev w;                    /* the window-device core: first */
    char fabric[SN_FABRIC_MAX + 1];
    char shm_name[SN_FABRIC_MAX + 8];
    int fd;                           /* the fabric file */
    int no_mcast;                     /* multicast=0: no multicast window (broadcast by per-member puts) */
    /* wake-ups */
    int sock, epfd, tfd;
    int wake_muted;                   /* flooded: the socket is out of the epoll set until the next tick */
    unsigned int wake_spurious;       /* datagrams this tick that no consumed arm explains */
    pthread_mutex_t fab_lock;         /* this instance's half of the host-local claim lock */
    int lock_fd;                      /* the claim lock's own open file (flock) while held, else -1 */
    struct sn_peer peer[WD_PORTS];    /* under w.lock */
    struct osci_exit_entry exit_e;    /* in the exit hook's registry */
};

static inline struct sn_drv *to_sn(struct wdev *w) { return (struct sn_drv *)w; }

static inline struct wd_port *sn_port(struct sn_drv *d, unsigned int p) { return wdev_port(&d->w, p); }

static inline struct sn_local *sn_local(struct sn_drv *d, unsigned int p)
{
    return (struct sn_local *)wdev_local(&d->w, p);
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
 * (name_rand in the port's host-local words, readable only by the fabric's uid), so nobody can create
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

/* Frees port p (claim lock held): unlinks its window object and clears its registers. */
static void sn_reclaim_locked(struct sn_drv *d, unsigned int p)
{
    struct wd_port *P = sn_port(d, p);
    struct sn_local *L = sn_local(d, p);
    char name[128];
    uint64_t epoch = LDR(&P->epoch);

    osci_log(OSCI_LOG_INFO, MOD, "fabric %s: reclaiming port %u (node %u, pid %d, epoch %" PRIx64 ")",
             d->fabric, p, LDR(&P->node_id), LDR(&L->pid), epoch);
    sn_win_name(d, p, epoch, LDR(&L->name_rand), name, sizeof(name));
    shm_unlink(name);
    sn_remove_wake(d, p, LDR(&L->name_rand));
    wdev_port_clear(&d->w, p);        /* its owner is gone (or is us, leaving): one writer still */
    __atomic_store_n(&L->pid, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&L->armed, 0, __ATOMIC_RELAXED);
}

static void sn_mc_sweep_locked(struct sn_drv *d);

/* Reclaims every taken port whose owner process is gone (lock held), and group objects left by them. */
static void sn_reclaim_dead_locked(struct sn_drv *d)
{
    for (unsigned int p = 0; p < WD_PORTS; p++) {
        struct wd_port *P = sn_port(d, p);
        struct sn_local *L = sn_local(d, p);
        if (p != d->w.me && LD(&P->state) != WD_FREE && !osci_proc_alive(LDR(&L->pid), LDR(&L->start_time)))
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
    for (unsigned int p = 0; p < WD_PORTS; p++) {
        struct wd_port *P = sn_port(d, p);
        if (p != d->w.me && LD(&P->state) != WD_FREE && !(LD(&P->flags) & WD_F_EXITING))
            return 0;
    }
    if (sn_fabric_unlinked(d))
        return 0;
    d->w.hdr->closing = 1;
    shm_unlink(d->shm_name);
    return 1;
}

/* Wakes port p if it sleeps on its event fd (it re-checks everything after arming). */
static void sn_kick(struct wdev *w, unsigned int p)
{
    struct sn_drv *d = to_sn(w);
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
    uint64_t size = WD_REGION_SIZE;
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
    d->w.map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (d->w.map == MAP_FAILED)
        goto err_unlink;
    wdev_region_init(&d->w, window);
    ST(&d->w.hdr->initialized, 1);
    flock(fd, LOCK_UN);
    d->fd = fd;
    osci_log(OSCI_LOG_INFO, MOD, "created fabric %s (%" PRIu64 " bytes)", d->fabric, size);
    return 0;
err_unlink: {
        int e = -errno;
        if (d->w.map && d->w.map != MAP_FAILED)
            munmap(d->w.map, size);
        d->w.map = NULL;
        shm_unlink(d->shm_name);
        close(fd);
        return e;
    }
}

/* A port of the fabric file fd held by a live process (its number), else -1. */
static int sn_live_port(int fd)
{
    size_t len = WD_REGION_SIZE;
    const uint8_t *m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
    int found = -1;

    if (m == MAP_FAILED)
        return -1;
    for (unsigned int p = 0; p < WD_PORTS && found < 0; p++) {
        const struct wd_port *P = (const struct wd_port *)(m + WD_PORTS_OFF + (size_t)p * WD_PORT_SIZE);
        const struct sn_local *L = (const struct sn_local *)(m + WD_LOCAL_OFF + (size_t)p * WD_LOCAL_SIZE);
        if (LD(&P->state) != WD_FREE && osci_proc_alive(LDR(&L->pid), LDR(&L->start_time)))
            found = (int)p;
    }
    munmap((void *)m, len);
    return found;
}

/* Maps an existing fabric file after checking it. 1: retry (vanished or abandoned), 0, <0 error. */
static int sn_fabric_attach(struct sn_drv *d, int observe)
{
    uint64_t size = WD_REGION_SIZE;
    struct wd_hdr *h;
    struct stat st;
    int fd, ret, waited = 0;

    fd = shm_open(d->shm_name, (observe ? O_RDONLY : O_RDWR) | O_NOFOLLOW | O_CLOEXEC, 0);
    if (fd < 0 && errno == ELOOP) {
        osci_log(OSCI_LOG_ERROR, MOD, "fabric file /dev/shm%s is a symbolic link: refused", d->shm_name);
        return -ELOOP;
    }
    if (fd < 0)
        return errno == ENOENT && !observe ? 1 : -errno;
    ret = sn_check_fd(fd, d->shm_name, 0);
    if (ret < 0)
        goto err_close;
    /* The creator may still be sizing and initialising it. */
    for (;;) {
        if (fstat(fd, &st) < 0) {
            ret = -errno;
            goto err_close;
        }
        if ((uint64_t)st.st_size >= WD_HDR_SIZE) {
            h = mmap(NULL, WD_HDR_SIZE, PROT_READ, MAP_SHARED, fd, 0);
            if (h == MAP_FAILED) {
                ret = -errno;
                goto err_close;
            }
            uint32_t init = LD(&h->initialized);
            struct wd_hdr copy;
            memcpy(&copy, h, sizeof(copy));   /* one snapshot, checked once */
            munmap(h, WD_HDR_SIZE);
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
                if ((ret = wdev_region_check(&d->w, &copy, d->shm_name)) < 0)
                    goto err_close;
                break;
            }
        }
        if (++waited > 200) {             /* ~1 s: did the creator die before finishing? */
            if (observe) {
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
    d->w.map = mmap(NULL, size, observe ? PROT_READ : PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (d->w.map == MAP_FAILED) {
        d->w.map = NULL;
        ret = -errno;
        goto err_close;
    }
        d->w.hdr = (struct wd_hdr *)d->w.map;
    d->fd = fd;
    return 0;
err_close:
    close(fd);
    return ret;
}

static void sn_fabric_detach(struct sn_drv *d)
{
    if (d->w.map)
        munmap(d->w.map, WD_REGION_SIZE);
    if (d->fd >= 0)
        close(d->fd);
    d->w.map = NULL;
    d->w.hdr = NULL;
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
    if (fchmod(fd, 0600) < 0 || ftruncate(fd, (off_t)d->w.win_size) < 0)
        goto err_unlink;
    d->w.win = mmap(NULL, d->w.win_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (d->w.win == MAP_FAILED) {
        d->w.win = NULL;
        goto err_unlink;
    }
    d->w.win_fd = fd;
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
    socklen_t sl = sn_sock_addr(d, d->w.me, rnd, &sa);
    char dir[128];
    struct stat st;
    int dfd, ret;

    sn_wake_dir(d, d->w.me, rnd, dir, sizeof(dir));
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
        uint64_t rnd = wdev_random();
        char name[128];
        int ret;

        ST(&L->name_rand, rnd);
        ret = sn_create_window(d, d->w.me, d->w.epoch, rnd);
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
        munmap(d->w.win, d->w.win_size);
        close(d->w.win_fd);
        d->w.win = NULL;
        d->w.win_fd = -1;
        sn_win_name(d, d->w.me, d->w.epoch, rnd, name, sizeof(name));
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

/* Takes a port and a node id (claim lock held): dead owners' ports are reclaimed first, the core picks
 * a free port and writes its registers, we create the incarnation's window and wake socket. */
static int sn_join_locked(struct sn_drv *d, uint32_t want_node)
{
    unsigned int port;
    uint32_t node;
    struct sn_local *L;
    uint64_t start;
    int ret;

    sn_reclaim_dead_locked(d);
    if ((ret = wdev_pick_port(&d->w, want_node, &port, &node)) < 0)
        return ret;
    if (osci_proc_start(getpid(), &start) < 0)
        return -ESRCH;
    L = sn_local(d, port);
    L->pid = getpid();
    L->start_time = start;
    L->armed = 0;
    L->db_waiters = 0;
    ST(&L->name_rand, 0);
    /* epoch: random, never 0 ("no incarnation"), from no shared counter */
    wdev_port_begin(&d->w, port, node, wdev_random());  /* JOINING: a reclaimer knows our names from here */
    ret = sn_create_incarnation(d, L);
    if (ret < 0)
        goto err_free_port;
    wdev_port_activate(&d->w);
    return 0;
err_free_port:
    sn_reclaim_locked(d, port);
    d->w.me = WD_PORTS;
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
    pthread_mutex_destroy(&d->fab_lock);
    wdev_free(&d->w);
}

static const struct osci_wdev_provider_ops sn_prov;

/* Checks simntb's options (the core's window= and hb_timeout= too) and configures d with them. */
static int sn_configure(struct sn_drv *d, const struct osci_adapter_conf *conf)
{
    const char *fabric = osci_conf_opt(conf, "fabric");
    const char *v;
    uint64_t window, hb;

    osci_log_init();
    if (!fabric)
        fabric = "default";
    if (!sn_fabric_name_ok(fabric)) {
        osci_log(OSCI_LOG_ERROR, MOD, "adapter %u: bad fabric name \"%s\" (1..%d of [A-Za-z0-9._-])",
                 conf->adapter_no, fabric, SN_FABRIC_MAX);
        return -EINVAL;
    }
    if (wdev_parse_opts(conf, &window, &hb) < 0)
        return -EINVAL;
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
    d->fd = d->sock = d->epfd = d->tfd = -1;
    d->w.hb_timeout_ms = hb;
    d->w.win_size = window;
    d->no_mcast = (v = osci_conf_opt(conf, "multicast")) && !strcmp(v, "0");
    d->lock_fd = -1;
    for (unsigned int p = 0; p < WD_PORTS; p++)
        d->peer[p].pidfd = -1;
    snprintf(d->fabric, sizeof(d->fabric), "%s", fabric);
    snprintf(d->shm_name, sizeof(d->shm_name), "/osci.%s", fabric);
    snprintf(d->w.name, sizeof(d->w.name), "%s", fabric);
    return 0;
}

static int sn_new(const struct osci_adapter_conf *conf, struct sn_drv **d_p)
{
    struct sn_drv *d = (struct sn_drv *)wdev_alloc(&sn_prov, sizeof(*d));
    int ret;

    if (!d)
        return -ENOMEM;
    d->fd = d->sock = d->epfd = d->tfd = -1;
    pthread_mutex_init(&d->fab_lock, NULL);
    if ((ret = sn_configure(d, conf)) < 0) {
        sn_free_drv(d);
        return ret;
    }
    *d_p = d;
    return 0;
}

static void sn_exit_leave(struct osci_exit_entry *e);

static int sn_open(const struct osci_adapter_conf *conf, struct osci_drv **drv_p)
{
    struct sn_drv *d;
    int ret, tries;

    if (conf->observe)
        return -EOPNOTSUPP;           /* observers come through osci_simntb_observe_ops */
    if ((ret = sn_new(conf, &d)) < 0)
        return ret;
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
        ret = sn_fabric_create(d, d->w.win_size);
        if (ret == 0) {
            if ((ret = sn_lock_fabric(d, SN_LOCK_MS)) < 0)
                goto err_detach;
            break;
        }
        if (ret == -EAGAIN)
            continue;
        if (ret != -EEXIST)
            goto err_free;
        ret = sn_fabric_attach(d, 0);
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
    osci_log(OSCI_LOG_INFO, MOD, "fabric %s: node %u on port %u, epoch %" PRIx64, d->fabric, d->w.base.node_id,
             d->w.me, d->w.epoch);
    wdev_wake_all(&d->w);
    d->exit_e.leave = sn_exit_leave;
    osci_exit_add(&d->exit_e);
    *drv_p = &d->w.base;
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

    if (d->w.pid != getpid())           /* a fork child inherits the registry, not the port */
        return;
    L = sn_local(d, d->w.me);
    sn_win_name(d, d->w.me, d->w.epoch, LDR(&L->name_rand), name, sizeof(name));
    shm_unlink(name);                 /* unique to this incarnation: safe without the lock */
    sn_remove_wake(d, d->w.me, LDR(&L->name_rand));
    if (sn_lock_fabric(d, 1000) < 0)  /* a thread of ours interrupted while holding it: give up */
        return;
    ST(&sn_port(d, d->w.me)->flags, __atomic_or_fetch(&d->w.flags, WD_F_EXITING, __ATOMIC_SEQ_CST));
    sn_mc_sweep_locked(d);            /* multicast groups whose last live member was us */
    if (sn_remove_if_last_locked(d))
        osci_log(OSCI_LOG_INFO, MOD, "fabric %s: last node exited; removed", d->fabric);
    sn_unlock_fabric(d);
}

static void sn_close(struct osci_drv *drv)
{
    struct sn_drv *d = to_sn((struct wdev *)drv);

    wdev_unmap_peers(&d->w);
    for (unsigned int p = 0; p < WD_PORTS; p++)
        if (d->peer[p].pidfd >= 0)
            close(d->peer[p].pidfd);
    osci_exit_lock();                   /* held until the port is left: the exit hook waits */
    if (getpid() != d->w.pid) {
        osci_exit_del_locked(&d->exit_e);
        osci_exit_unlock();
        if (d->w.win)
            munmap(d->w.win, d->w.win_size);
        if (d->w.win_fd >= 0)
            close(d->w.win_fd);
        sn_fabric_detach(d);
        sn_free_drv(d);
        return;
    }
    if (sn_lock_fabric(d, SN_LOCK_MS) == 0) {
        sn_reclaim_locked(d, d->w.me);
        if (sn_remove_if_last_locked(d))
            osci_log(OSCI_LOG_INFO, MOD, "fabric %s: last node left; removed", d->fabric);
        sn_unlock_fabric(d);
    } else {                          /* our names at least; the port goes to the next reclaim */
        struct sn_local *L = sn_local(d, d->w.me);
        char name[128];
        sn_win_name(d, d->w.me, d->w.epoch, LDR(&L->name_rand), name, sizeof(name));
        shm_unlink(name);
        sn_remove_wake(d, d->w.me, LDR(&L->name_rand));
    }
    osci_exit_del_locked(&d->exit_e);
    osci_exit_unlock();
    wdev_wake_all(&d->w);
    if (d->w.win) {
        munmap(d->w.win, d->w.win_size);
        close(d->w.win_fd);
    }
    sn_fabric_detach(d);
    sn_free_drv(d);
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
    struct { uint64_t epoch; uint32_t count, reserved; } member[WD_PORTS];
};
_Static_assert(sizeof(struct sn_mc_hdr) <= WD_PAGE, "multicast header fits its page");

static void sn_mc_name(const struct sn_drv *d, uint32_t group, char *buf, size_t len)
{
    snprintf(buf, len, "/osci.%s.mc%" PRIx32, d->fabric, group);
}

/* A member entry still counts: its port holds the same incarnation and its owner lives (lock held).
 * sn_close frees the own port before its sweep, so attaches a process never detached go with it. */
static int sn_mc_live(struct sn_drv *d, const struct sn_mc_hdr *h)
{
    for (unsigned int p = 0; p < WD_PORTS; p++) {
        struct wd_port *P = sn_port(d, p);
        struct sn_local *L = sn_local(d, p);
        if (!h->member[p].count)
            continue;
        if (LD(&P->flags) & WD_F_EXITING)
            continue;                /* its process is exiting: its attaches go with it */
        if (p == d->w.me && h->member[p].epoch == d->w.epoch && LD(&P->state) != WD_FREE)
            return 1;                /* our own attach (not after our port was freed: sn_close) */
        if (LD(&P->state) != WD_FREE && LD(&P->epoch) == h->member[p].epoch &&
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
    if ((uint64_t)st.st_size < WD_PAGE) {
        rc = 0;                      /* a creator died before sizing it */
        goto stale;
    }
    h = mmap(NULL, WD_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (h == MAP_FAILED) {
        rc = -errno;
        goto err;
    }
    if (h->magic != SN_MC_MAGIC || (uint64_t)st.st_size != WD_PAGE + h->size || !sn_mc_live(d, h)) {
        munmap(h, WD_PAGE);
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
    struct sn_drv *d = to_sn((struct wdev *)drv);
    uint64_t len = ((uint64_t)size + WD_PAGE - 1) & ~(uint64_t)(WD_PAGE - 1);
    struct sn_mc_hdr *h = NULL;
    char name[128];
    uint8_t *p;
    int fd = -1, rc;

    if (d->no_mcast)
        return -EOPNOTSUPP;
    if (!view || size == 0)
        return -EINVAL;
    if (len > d->w.win_size)
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
        if (ftruncate(fd, (off_t)(WD_PAGE + len)) < 0 ||
            (h = mmap(NULL, WD_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED) {
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
    p = mmap(NULL, WD_PAGE + len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        rc = -errno;
        goto out;
    }
    if (h->member[d->w.me].epoch != d->w.epoch) {
        h->member[d->w.me].epoch = d->w.epoch;
        h->member[d->w.me].count = 0;
    }
    h->member[d->w.me].count++;
    *view = (struct osci_drv_mem_view){ .addr = p + WD_PAGE, .size = len, .fd = fd, .fd_offset = WD_PAGE };
    fd = -1;
    rc = 0;
out:
    sn_unlock_fabric(d);
    if (h)
        munmap(h, WD_PAGE);
    if (fd >= 0)
        close(fd);
    return rc;
}

static void sn_mcast_detach(struct osci_drv *drv, struct osci_drv_mem_view *view)
{
    struct sn_drv *d = to_sn((struct wdev *)drv);
    struct sn_mc_hdr *h;
    char name[128];

    if (!view || !view->addr)
        return;
    h = (struct sn_mc_hdr *)((uint8_t *)view->addr - WD_PAGE);
    if (sn_lock_fabric(d, SN_LOCK_MS) == 0) {
        if (h->member[d->w.me].epoch == d->w.epoch && h->member[d->w.me].count)
            h->member[d->w.me].count--;
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
    munmap(h, WD_PAGE + view->size);
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
            munmap(h, WD_PAGE);
            close(fd);
        }
    }
    closedir(dir);
}

/* ---- the provider ops (docs/wdev.md) ---- */

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
    if (n && !LD(&sn_local(d, d->w.me)->armed))
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

/* Drains the wake socket and the timer, and notes which peer processes exited (lock held). */
static void sn_sweep(struct wdev *w)
{
    struct sn_drv *d = to_sn(w);
    struct epoll_event evs[WD_PORTS + 2];
    uint64_t ticks;
    int n = epoll_wait(d->epfd, evs, WD_PORTS + 2, 0);

    for (int i = 0; i < n; i++) {
        uint64_t tag = evs[i].data.u64;
        if (tag == TAG_SOCK) {
            sn_drain_wake(d);
        } else if (tag == TAG_TIMER) {
            if (read(d->tfd, &ticks, sizeof(ticks)) < 0)
                ticks = 0;
            sn_wake_tick(d);
        } else if (tag - TAG_PID < WD_PORTS) {
            d->peer[tag - TAG_PID].pid_dead = 1;
        }
    }
    for (unsigned int p = 0; p < WD_PORTS; p++) {
        struct sn_peer *k = &d->peer[p];
        if (k->watched && k->pidfd < 0 && !osci_proc_alive(k->pid, LDR(&sn_local(d, p)->start_time)))
            k->pid_dead = 1;
    }
}

static void sn_arm(struct wdev *w, int on)
{
    __atomic_store_n(&sn_local(to_sn(w), w->me)->armed, on ? 1u : 0u, __ATOMIC_SEQ_CST);
}

static int sn_event_fd(struct wdev *w)
{
    return to_sn(w)->epfd;
}

/* A new incarnation of port p: its owner process must live; its exit is watched through a pidfd. */
static int sn_peer_watch(struct wdev *w, unsigned int p, uint64_t epoch)
{
    struct sn_drv *d = to_sn(w);
    struct sn_peer *k = &d->peer[p];
    int32_t pid = LDR(&sn_local(d, p)->pid);
    uint64_t start = LDR(&sn_local(d, p)->start_time);
    int pfd;

    if (k->watched)
        w->prov->peer_unwatch(w, p);
    if (!osci_proc_alive(pid, start))
        return -ESRCH;                /* an active port of a gone process */
    pfd = osci_pidfd_open(pid, start);
    if (pfd == -ESRCH)                /* died since (a zombie too) */
        return -ESRCH;
    if (pfd >= 0) {                   /* else no pidfds (old kernel): the sweep checks /proc */
        struct epoll_event ev = { .events = EPOLLIN, .data.u64 = TAG_PID + p };
        if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, pfd, &ev) < 0) {
            close(pfd);
            return -errno;
        }
    }
    k->pidfd = pfd;
    k->pid_dead = 0;
    k->pid = pid;
    k->watched = 1;
    (void)epoch;
    return 0;
}

static int sn_peer_state(struct wdev *w, unsigned int p)
{
    struct sn_peer *k = &to_sn(w)->peer[p];
    if (k->pid_dead)
        return -1;
    return k->pidfd >= 0 ? 1 : 0;
}

static void sn_peer_unwatch(struct wdev *w, unsigned int p)
{
    struct sn_drv *d = to_sn(w);
    struct sn_peer *k = &d->peer[p];
    if (k->pidfd >= 0) {
        epoll_ctl(d->epfd, EPOLL_CTL_DEL, k->pidfd, NULL);
        close(k->pidfd);
    }
    k->pidfd = -1;
    k->pid_dead = 0;
    k->watched = 0;
}

static int32_t sn_peer_pid(struct wdev *w, unsigned int p)
{
    return LDR(&sn_local(to_sn(w), p)->pid);
}

/* Frees a dead incarnation's port now, if its process is gone and the claim lock comes quickly
 * (else the next join reclaims it). */
static void sn_reclaim_if_dead(struct wdev *w, unsigned int p, uint64_t epoch)
{
    struct sn_drv *d = to_sn(w);
    struct wd_port *P = sn_port(d, p);
    struct sn_local *L = sn_local(d, p);

    if (LD(&P->state) == WD_FREE || LD(&P->epoch) != epoch || osci_proc_alive(LDR(&L->pid), LDR(&L->start_time)))
        return;
    if (sn_lock_fabric(d, SN_RECLAIM_LOCK_MS) < 0)
        return;
    if (LD(&P->state) != WD_FREE && LD(&P->epoch) == epoch && !osci_proc_alive(LDR(&L->pid), LDR(&L->start_time)))
        sn_reclaim_locked(d, p);
    sn_unlock_fabric(d);
}

/* Port's window object of incarnation epoch: the name holds the epoch too, so a register read across
 * a re-join finds nothing (-ESTALE). */
static int sn_window_map(struct wdev *w, unsigned int port, uint64_t epoch, uint64_t size, uint8_t **base_p,
                         int *fd_p)
{
    struct sn_drv *d = to_sn(w);
    char name[128];
    uint8_t *base;
    int fd, err;

    sn_win_name(d, port, epoch, LD(&sn_local(d, port)->name_rand), name, sizeof(name));
    fd = shm_open(name, O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0);
    if (fd < 0)
        return errno == ENOENT ? -ESTALE : -errno;
    if ((err = sn_check_fd(fd, name, size)) < 0) {
        close(fd);
        return err;
    }
    base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
        err = -errno;
        close(fd);
        return err;
    }
    *base_p = base;
    *fd_p = fd;
    return 0;
}

static void sn_window_unmap(struct wdev *w, uint8_t *base, uint64_t size, int fd)
{
    munmap(base, size);
    close(fd);
}

/* Doorbell waits sleep on a futex word among port's host-local words. */
static void sn_db_notify(struct wdev *w, unsigned int port)
{
    struct sn_local *L = sn_local(to_sn(w), port);
    __atomic_fetch_add(&L->futex, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&L->db_waiters, __ATOMIC_SEQ_CST))
        sn_futex(&L->futex, FUTEX_WAKE, INT_MAX, NULL);
}

static uint32_t sn_db_wait_begin(struct wdev *w)
{
    struct sn_local *me = sn_local(to_sn(w), w->me);
    __atomic_fetch_add(&me->db_waiters, 1, __ATOMIC_SEQ_CST);
    return __atomic_load_n(&me->futex, __ATOMIC_SEQ_CST);
}

static void sn_db_sleep(struct wdev *w, uint32_t ticket, const struct timespec *timeout)
{
    sn_futex(&sn_local(to_sn(w), w->me)->futex, FUTEX_WAIT, ticket, timeout);
}

static void sn_db_wait_end(struct wdev *w)
{
    __atomic_fetch_sub(&sn_local(to_sn(w), w->me)->db_waiters, 1, __ATOMIC_SEQ_CST);
}

/* ---- observing ---- */

static int sn_observe_attach(struct wdev *w, const struct osci_adapter_conf *conf)
{
    struct sn_drv *d = to_sn(w);
    int ret;

    /* the same checks of options and fabric name as a member's open, then a read-only attach */
    d->fd = d->sock = d->epfd = d->tfd = -1;
    if ((ret = sn_configure(d, conf)) < 0)
        return ret;
    pthread_mutex_init(&d->fab_lock, NULL);
    if ((ret = sn_fabric_attach(d, 1)) < 0)
        pthread_mutex_destroy(&d->fab_lock);
    return ret;
}

static void sn_observe_detach(struct wdev *w)
{
    sn_fabric_detach(to_sn(w));
    pthread_mutex_destroy(&to_sn(w)->fab_lock);
}

static int sn_observe_open(const struct osci_adapter_conf *conf, struct osci_drv_observe **obs_p)
{
    return wdev_observe_open(conf, &sn_prov, sizeof(struct sn_drv), obs_p);
}

static const struct osci_wdev_provider_ops sn_prov = {
    .name = "simntb",
    .card_type = OSCI_DRV_CARD_SIMNTB,
    .caps = OSCI_DRV_CAP_OWN_LIVENESS |   /* a pidfd per peer process: death is seen at once */
            OSCI_DRV_CAP_FULL_VIEW,       /* one /dev/shm fabric: every joined node is a peer */
    .observe_attach = sn_observe_attach,
    .observe_detach = sn_observe_detach,
    .window_map = sn_window_map,
    .window_unmap = sn_window_unmap,
    .wake = sn_kick,
    .arm = sn_arm,
    .event_fd = sn_event_fd,
    .sweep = sn_sweep,
    .db_notify = sn_db_notify,
    .db_wait_begin = sn_db_wait_begin,
    .db_sleep = sn_db_sleep,
    .db_wait_end = sn_db_wait_end,
    .peer_watch = sn_peer_watch,
    .peer_state = sn_peer_state,
    .peer_unwatch = sn_peer_unwatch,
    .peer_pid = sn_peer_pid,
    .reclaim = sn_reclaim_if_dead,
};

static const struct osci_drv_observe_ops sn_observe_ops = {
    .open = sn_observe_open,
    WDEV_OBSERVE_OPS,
};

const struct osci_drv_ops osci_simntb_ops = {
    .size = sizeof(struct osci_drv_ops),
    .name = "simntb",
    .open = sn_open,
    .close = sn_close,
    WDEV_DRV_OPS,
    .mcast_attach = sn_mcast_attach,
    .mcast_detach = sn_mcast_detach,
    .observe = &sn_observe_ops,
};
