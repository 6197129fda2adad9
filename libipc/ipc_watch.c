/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Peer-death watcher: one thread per process polls pidfds of peer processes and calls back on exit. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "ipc_internal.h"
#include "osci_list.h"
#include "osci_proc.h"

struct watch {
    uint64_t id;
    int pidfd;
    void (*fn)(void *arg);
    void *arg;
    struct osci_list_node link;   /* in wlist */
};

static pthread_mutex_t wlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wdone = PTHREAD_COND_INITIALIZER;
static struct osci_list_head wlist = OSCI_LIST_HEAD_INIT(wlist);
static int epfd = -1, ctlfd = -1;
static pthread_t wthread;
static int wrunning;
static uint64_t wnext_id = 1;
static uint64_t wcalling;   /* id whose callback runs now, 0 if none */

static struct watch *take(uint64_t id)
{
    struct watch *w;
    osci_list_for_each(w, &wlist, link) {
        if (w->id == id) {
            osci_list_del(&w->link);
            epoll_ctl(epfd, EPOLL_CTL_DEL, w->pidfd, NULL);
            close(w->pidfd);
            return w;
        }
    }
    return NULL;
}

static void *watch_main(void *arg)
{
    (void)arg;
    for (;;) {
        struct epoll_event ev[8];
        int n = epoll_wait(epfd, ev, 8, -1), i;
        if (n < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (i = 0; i < n; i++) {
            struct watch *w;
            if (ev[i].data.u64 == 0) return NULL;   /* stop request */
            pthread_mutex_lock(&wlock);
            w = take(ev[i].data.u64);
            if (w) wcalling = w->id;
            pthread_mutex_unlock(&wlock);
            if (!w) continue;
            w->fn(w->arg);
            pthread_mutex_lock(&wlock);
            wcalling = 0;
            pthread_cond_broadcast(&wdone);
            pthread_mutex_unlock(&wlock);
            free(w);
        }
    }
    return NULL;
}

/* A forked child has no watcher thread: it starts its own, with its own epoll set. */
static void atfork_child(void)
{
    if (epfd >= 0) close(epfd);
    if (ctlfd >= 0) close(ctlfd);
    epfd = ctlfd = -1;
    wrunning = 0;
    osci_list_init(&wlist);   /* the parent's entries: not ours to watch */
    wcalling = 0;
    pthread_mutex_init(&wlock, NULL);
    pthread_cond_init(&wdone, NULL);
}

static void atfork_once(void)
{
    pthread_atfork(NULL, NULL, atfork_child);
}

static int start_locked(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0 };
    int ret;
    pthread_once(&once, atfork_once);
    if (wrunning) return 0;
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) return -errno;
    ctlfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (ctlfd < 0) {
        ret = -errno;
        goto err_close_ep;
    }
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, ctlfd, &ev) < 0) {
        ret = -errno;
        goto err_close_ctl;
    }
    if ((ret = -pthread_create(&wthread, NULL, watch_main, NULL)) < 0) goto err_close_ctl;
    wrunning = 1;
    return 0;
err_close_ctl:
    close(ctlfd);
    ctlfd = -1;
err_close_ep:
    close(epfd);
    epfd = -1;
    return ret;
}

int ipc__watch_add(pid_t pid, uint64_t start, void (*fn)(void *arg), void *arg, uint64_t *id_p)
{
    struct epoll_event ev = { .events = EPOLLIN };
    struct watch *w;
    int ret;
    pthread_mutex_lock(&wlock);
    if ((ret = start_locked()) < 0) goto out;
    if (!(w = calloc(1, sizeof(*w)))) {
        ret = -ENOMEM;
        goto out;
    }
    w->pidfd = osci_pidfd_open(pid, start);
    if (w->pidfd < 0) {
        ret = w->pidfd;   /* -ESRCH: already dead */
        free(w);
        goto out;
    }
    w->id = wnext_id++;
    w->fn = fn;
    w->arg = arg;
    ev.data.u64 = w->id;
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, w->pidfd, &ev) < 0) {
        ret = -errno;
        close(w->pidfd);
        free(w);
        goto out;
    }
    osci_list_add(&wlist, &w->link);
    *id_p = w->id;
out:
    pthread_mutex_unlock(&wlock);
    return ret;
}

void ipc__watch_del(uint64_t id)
{
    struct watch *w;
    pthread_mutex_lock(&wlock);
    w = wrunning ? take(id) : NULL;
    free(w);
    while (wcalling == id && !pthread_equal(pthread_self(), wthread)) pthread_cond_wait(&wdone, &wlock);
    pthread_mutex_unlock(&wlock);
}

void ipc__watch_stop(void)
{
    struct watch *w;
    uint64_t one = 1;
    pthread_mutex_lock(&wlock);
    if (!wrunning) {
        pthread_mutex_unlock(&wlock);
        return;
    }
    wrunning = 0;
    pthread_mutex_unlock(&wlock);
    if (write(ctlfd, &one, sizeof(one)) < 0) {}
    pthread_join(wthread, NULL);
    pthread_mutex_lock(&wlock);
    while ((w = osci_list_first(&wlist, struct watch, link))) free(take(w->id));
    close(ctlfd);
    close(epfd);
    ctlfd = epfd = -1;
    pthread_mutex_unlock(&wlock);
}
