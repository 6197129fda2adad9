/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* NvSciEventService: one loop service per call to NvSciEventLoopServiceCreate*, notifiers over pollable fds
 * (native events from NvSciIpc, local events over eventfd), waits with ppoll and microsecond timeouts. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "event_native.h"
#include "nvscievent.h"
#include "osci_list.h"
#include "osci_time.h"

#define EVT_SVC_MAGIC 0x45565356u    /* "EVSV" */
#define EVT_NOTE_MAGIC 0x45564e54u   /* "EVNT" */
#define EVT_LOCAL_MAGIC 0x45564c43u  /* "EVLC" */
#define EVT_MAX_WAIT 256

enum evt_kind { EVT_NATIVE = 1, EVT_LOCAL = 2 };

struct evt_notifier;

struct evt_service {
    NvSciEventLoopService pub;        /* first: the public pointer converts back */
    uint32_t magic;
    pthread_mutex_t lock;             /* protects the list and each member's svc pointer */
    struct osci_list_head notes;      /* its notifiers, newest first */
};

struct evt_notifier {
    NvSciEventNotifier pub;           /* first */
    uint32_t magic;
    enum evt_kind kind;
    int fd;
    NvSciNativeEvent *native;
    struct evt_service *svc;
    struct osci_list_node link;       /* in svc->notes */
    pthread_mutex_t hlock;            /* held while the handler runs: never concurrent with itself */
    void (*cb)(void *cookie);
    void *cookie;
    pthread_t running;                /* thread running the handler (valid while in_handler) */
    int in_handler;
    int doomed;                       /* deleted from inside its own handler: freed when it returns */
    atomic_int waiting;               /* a thread waits on this notifier */
    int detached;                     /* local event notifier already deleted by the user */
};

struct evt_local {
    NvSciLocalEvent pub;              /* first */
    uint32_t magic;
    struct evt_notifier *n;
};

static struct evt_service *to_svc(NvSciEventService *s)
{
    struct evt_service *svc = (struct evt_service *)(void *)s;
    return (svc && svc->magic == EVT_SVC_MAGIC) ? svc : NULL;
}

static struct evt_notifier *to_note(NvSciEventNotifier *n)
{
    struct evt_notifier *note = (struct evt_notifier *)(void *)n;
    return (note && note->magic == EVT_NOTE_MAGIC) ? note : NULL;
}

/* True when the calling thread is running n's handler right now. */
static int in_own_handler(struct evt_notifier *n)
{
    return __atomic_load_n(&n->in_handler, __ATOMIC_RELAXED) &&
           pthread_equal(__atomic_load_n(&n->running, __ATOMIC_RELAXED), pthread_self());
}

static void svc_link(struct evt_service *svc, struct evt_notifier *n)
{
    __atomic_store_n(&n->svc, svc, __ATOMIC_RELEASE);
    osci_list_add(&svc->notes, &n->link);
}

static void svc_unlink(struct evt_service *svc, struct evt_notifier *n)
{
    osci_list_del(&n->link);
    __atomic_store_n(&n->svc, NULL, __ATOMIC_RELEASE);
}

static void consume(struct evt_notifier *n)
{
    if (n->kind == EVT_LOCAL) {
        uint64_t v;
        ssize_t r = read(n->fd, &v, sizeof(v));
        (void)r;   /* EAGAIN: another waiter consumed it */
    } else if (n->native && n->native->consume) {
        n->native->consume(n->native);
    }
}

static void note_free(struct evt_notifier *n)
{
    n->magic = 0;
    if (n->kind == EVT_LOCAL && n->fd >= 0) close(n->fd);
    pthread_mutex_destroy(&n->hlock);
    free(n);
}

/* Unlinks from the service and waits for a running handler; returns 1 when the caller may free now. */
static int note_detach(struct evt_notifier *n)
{
    struct evt_service *svc;
    for (;;) {   /* the svc pointer may move (NvSciEventMoveNotifier): lock, then confirm */
        svc = __atomic_load_n(&n->svc, __ATOMIC_ACQUIRE);
        if (!svc) break;
        pthread_mutex_lock(&svc->lock);
        if (__atomic_load_n(&n->svc, __ATOMIC_RELAXED) == svc) {
            svc_unlink(svc, n);
            pthread_mutex_unlock(&svc->lock);
            break;
        }
        pthread_mutex_unlock(&svc->lock);
    }
    pthread_mutex_lock(&n->hlock);
    __atomic_store_n(&n->cb, NULL, __ATOMIC_RELAXED);
    if (in_own_handler(n)) {
        n->doomed = 1;
        pthread_mutex_unlock(&n->hlock);
        return 0;
    }
    pthread_mutex_unlock(&n->hlock);
    return 1;
}

static NvSciError note_set_handler(NvSciEventNotifier *self, void (*callback)(void *cookie), void *cookie,
                                   uint32_t priority)
{
    struct evt_notifier *n = to_note(self);
    (void)priority;   /* priorities are accepted and ignored */
    if (!n) return NvSciError_BadParameter;
    if (in_own_handler(n)) {
        n->cookie = cookie;   /* from inside its own handler: hlock is ours already */
        __atomic_store_n(&n->cb, callback, __ATOMIC_RELAXED);
        return NvSciError_Success;
    }
    pthread_mutex_lock(&n->hlock);
    n->cookie = cookie;
    __atomic_store_n(&n->cb, callback, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&n->hlock);
    return NvSciError_Success;
}

static void note_delete(NvSciEventNotifier *self)
{
    struct evt_notifier *n = to_note(self);
    if (!n) return;
    if (n->kind == EVT_LOCAL) {
        /* The local event owns the notifier: unregister now, free with the local event. */
        if (!n->detached) {
            n->detached = 1;
            note_detach(n);
        }
        return;
    }
    if (note_detach(n)) note_free(n);
}

static struct evt_notifier *note_new(struct evt_service *svc, enum evt_kind kind, int fd)
{
    struct evt_notifier *n = calloc(1, sizeof(*n));
    if (!n) return NULL;
    n->pub.SetHandler = note_set_handler;
    n->pub.Delete = note_delete;
    n->magic = EVT_NOTE_MAGIC;
    n->kind = kind;
    n->fd = fd;
    pthread_mutex_init(&n->hlock, NULL);
    atomic_init(&n->waiting, 0);
    pthread_mutex_lock(&svc->lock);
    svc_link(svc, n);
    pthread_mutex_unlock(&svc->lock);
    return n;
}

static NvSciError svc_create_native(NvSciEventService *self, NvSciNativeEvent *nativeEvent,
                                    NvSciEventNotifier **newEventNotifier)
{
    struct evt_service *svc = to_svc(self);
    struct evt_notifier *n;
    if (!svc || !nativeEvent || !newEventNotifier || nativeEvent->fd < 0) return NvSciError_BadParameter;
    n = note_new(svc, EVT_NATIVE, nativeEvent->fd);
    if (!n) return NvSciError_InsufficientMemory;
    n->native = nativeEvent;
    *newEventNotifier = &n->pub;
    return NvSciError_Success;
}

static NvSciError local_signal(NvSciLocalEvent *self)
{
    struct evt_local *l = (struct evt_local *)(void *)self;
    uint64_t one = 1;
    if (!l || l->magic != EVT_LOCAL_MAGIC) return NvSciError_BadParameter;
    if (write(l->n->fd, &one, sizeof(one)) != (ssize_t)sizeof(one))
        return errno == EAGAIN ? NvSciError_TryItAgain : NvSciError_ResourceError;
    return NvSciError_Success;
}

static void local_delete(NvSciLocalEvent *self)
{
    struct evt_local *l = (struct evt_local *)(void *)self;
    struct evt_notifier *n;
    if (!l || l->magic != EVT_LOCAL_MAGIC) return;
    n = l->n;
    l->magic = 0;
    free(l);
    if (!n->detached) {
        n->detached = 1;
        if (!note_detach(n)) return;   /* freed by the dispatcher when its handler returns */
    }
    note_free(n);
}

static NvSciError svc_create_local(NvSciEventService *self, NvSciLocalEvent **newLocalEvent)
{
    struct evt_service *svc = to_svc(self);
    struct evt_local *l;
    int fd;
    if (!svc || !newLocalEvent) return NvSciError_BadParameter;
    l = calloc(1, sizeof(*l));
    if (!l) return NvSciError_InsufficientMemory;
    fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) {
        free(l);
        return NvSciError_ResourceError;
    }
    l->n = note_new(svc, EVT_LOCAL, fd);
    if (!l->n) {
        close(fd);
        free(l);
        return NvSciError_InsufficientMemory;
    }
    l->magic = EVT_LOCAL_MAGIC;
    l->pub.eventNotifier = &l->n->pub;
    l->pub.Signal = local_signal;
    l->pub.Delete = local_delete;
    *newLocalEvent = &l->pub;
    return NvSciError_Success;
}

static NvSciError svc_create_timer(NvSciEventService *self, NvSciTimerEvent **newTimerEvent)
{
    (void)newTimerEvent;
    return to_svc(self) ? NvSciError_NotSupported : NvSciError_BadParameter;
}

static void svc_delete(NvSciEventService *self)
{
    struct evt_service *svc = to_svc(self);
    if (!svc) return;
    pthread_mutex_lock(&svc->lock);
    while (!osci_list_empty(&svc->notes))           /* notifiers still alive stay usable, unattached */
        svc_unlink(svc, osci_list_first(&svc->notes, struct evt_notifier, link));
    svc->magic = 0;
    pthread_mutex_unlock(&svc->lock);
    pthread_mutex_destroy(&svc->lock);
    free(svc);
}

static NvSciError loop_create_loop(NvSciEventLoopService *self, NvSciEventLoop **eventLoop)
{
    (void)eventLoop;
    return to_svc(&self->EventService) ? NvSciError_NotSupported : NvSciError_BadParameter;
}

/* Runs the handler of `n` once, if it still belongs to `svc` and has one. */
static void dispatch(struct evt_service *svc, struct evt_notifier *n)
{
    struct evt_notifier *it;
    int doomed;
    pthread_mutex_lock(&svc->lock);
    osci_list_for_each(it, &svc->notes, link)
        if (it == n) break;
    if (it != n || pthread_mutex_trylock(&n->hlock) != 0) {   /* gone, or its handler runs elsewhere */
        pthread_mutex_unlock(&svc->lock);
        return;
    }
    pthread_mutex_unlock(&svc->lock);
    if (n->cb) {
        void (*cb)(void *) = n->cb;
        consume(n);
        __atomic_store_n(&n->running, pthread_self(), __ATOMIC_RELAXED);
        __atomic_store_n(&n->in_handler, 1, __ATOMIC_RELAXED);
        cb(n->cookie);
        __atomic_store_n(&n->in_handler, 0, __ATOMIC_RELAXED);
    }
    doomed = n->doomed;
    pthread_mutex_unlock(&n->hlock);
    if (doomed) note_free(n);
}

/* Waits until one of `w` (count entries) is readable; handlers of `svc`'s other notifiers run meanwhile. */
static NvSciError wait_many(struct evt_service *svc, struct evt_notifier **w, size_t count, int64_t us,
                            bool *newEventArray)
{
    struct pollfd pfd[EVT_MAX_WAIT];
    struct evt_notifier *hs[EVT_MAX_WAIT];
    int64_t deadline = us < 0 ? -1 : (int64_t)osci_now_us() + us;
    NvSciError ret = NvSciError_Timeout;
    size_t i, nh;

    for (i = 0; i < count; i++) {
        if (atomic_exchange(&w[i]->waiting, 1)) {
            while (i--) atomic_store(&w[i]->waiting, 0);
            return NvSciError_NotSupported;
        }
    }
    if (newEventArray)
        for (i = 0; i < count; i++) newEventArray[i] = false;
    for (;;) {
        struct timespec ts, *tsp = NULL;
        int rc, hit = 0;
        nh = 0;
        for (i = 0; i < count; i++) pfd[i] = (struct pollfd){ .fd = w[i]->fd, .events = POLLIN };
        if (svc) {
            struct evt_notifier *it;
            pthread_mutex_lock(&svc->lock);
            osci_list_for_each(it, &svc->notes, link) {
                size_t k;
                if (count + nh >= EVT_MAX_WAIT) break;
                if (!__atomic_load_n(&it->cb, __ATOMIC_RELAXED)) continue;
                for (k = 0; k < count && w[k] != it; k++) {}
                if (k < count) continue;
                hs[nh] = it;
                pfd[count + nh] = (struct pollfd){ .fd = it->fd, .events = POLLIN };
                nh++;
            }
            pthread_mutex_unlock(&svc->lock);
        }
        if (deadline >= 0) {
            int64_t left = deadline - (int64_t)osci_now_us();
            if (left < 0) left = 0;
            ts.tv_sec = left / 1000000;
            ts.tv_nsec = (left % 1000000) * 1000;
            tsp = &ts;
        }
        rc = ppoll(pfd, count + nh, tsp, NULL);
        if (rc < 0) {
            ret = errno == EINTR ? NvSciError_InterruptedCall : NvSciError_ResourceError;
            break;
        }
        for (i = 0; i < nh; i++)
            if (pfd[count + i].revents) dispatch(svc, hs[i]);
        for (i = 0; i < count; i++) {
            if (!pfd[i].revents) continue;
            if (pfd[i].revents & POLLNVAL) {
                ret = NvSciError_InvalidState;
                goto out;
            }
            hit = 1;
            if (svc && __atomic_load_n(&w[i]->cb, __ATOMIC_RELAXED)) dispatch(svc, w[i]);
            else if (w[i]->kind == EVT_LOCAL) consume(w[i]);
            if (newEventArray) newEventArray[i] = true;
        }
        if (hit) {
            ret = NvSciError_Success;
            break;
        }
        if (deadline >= 0 && (int64_t)osci_now_us() >= deadline) break;
    }
out:
    for (i = 0; i < count; i++) atomic_store(&w[i]->waiting, 0);
    return ret;
}

static struct evt_service *note_service(struct evt_notifier *n)
{
    return __atomic_load_n(&n->svc, __ATOMIC_ACQUIRE);
}

static NvSciError loop_wait_one(NvSciEventNotifier *eventNotifier, int64_t microseconds)
{
    struct evt_notifier *n = to_note(eventNotifier);
    if (!n || microseconds < -1) return NvSciError_BadParameter;
    if (n->kind == EVT_LOCAL && n->detached) return NvSciError_InvalidState;
    return wait_many(note_service(n), &n, 1, microseconds, NULL);
}

static NvSciError check_array(NvSciEventNotifier *const *arr, size_t count, int64_t us, bool *newEventArray,
                              struct evt_notifier **w)
{
    size_t i, j;
    if (!arr || count == 0 || count > EVT_MAX_WAIT / 2 || us < -1 || !newEventArray)
        return NvSciError_BadParameter;
    for (i = 0; i < count; i++) {
        if (!(w[i] = to_note(arr[i]))) return NvSciError_BadParameter;
        for (j = 0; j < i; j++)
            if (w[j] == w[i]) return NvSciError_BadParameter;
    }
    return NvSciError_Success;
}

static NvSciError loop_wait_multi(NvSciEventNotifier *const *eventNotifierArray, size_t eventNotifierCount,
                                  int64_t microseconds, bool *newEventArray)
{
    struct evt_notifier *w[EVT_MAX_WAIT];
    NvSciError err = check_array(eventNotifierArray, eventNotifierCount, microseconds, newEventArray, w);
    if (err != NvSciError_Success) return err;
    return wait_many(note_service(w[0]), w, eventNotifierCount, microseconds, newEventArray);
}

static NvSciError loop_wait_multi_ext(NvSciEventService *eventService, NvSciEventNotifier *const *eventNotifierArray,
                                      size_t eventNotifierCount, int64_t microseconds, bool *newEventArray)
{
    struct evt_service *svc = to_svc(eventService);
    struct evt_notifier *w[EVT_MAX_WAIT];
    NvSciError err;
    if (!svc) return NvSciError_BadParameter;
    if (eventNotifierCount == 0 && !eventNotifierArray) {   /* only the service's handlers */
        if (microseconds < -1) return NvSciError_BadParameter;
        return wait_many(svc, w, 0, microseconds, NULL) == NvSciError_InterruptedCall ?
               NvSciError_InterruptedCall : NvSciError_Timeout;
    }
    err = check_array(eventNotifierArray, eventNotifierCount, microseconds, newEventArray, w);
    if (err != NvSciError_Success) return err;
    return wait_many(svc, w, eventNotifierCount, microseconds, newEventArray);
}

static NvSciError service_create(size_t maxEventLoops, void *config, NvSciEventLoopService **out)
{
    struct evt_service *svc;
    if (maxEventLoops != 1 || config != NULL || !out) return NvSciError_BadParameter;
    svc = calloc(1, sizeof(*svc));
    if (!svc) return NvSciError_InsufficientMemory;
    osci_list_init(&svc->notes);
    svc->pub.EventService.CreateNativeEventNotifier = svc_create_native;
    svc->pub.EventService.CreateLocalEvent = svc_create_local;
    svc->pub.EventService.CreateTimerEvent = svc_create_timer;
    svc->pub.EventService.Delete = svc_delete;
    svc->pub.CreateEventLoop = loop_create_loop;
    svc->pub.WaitForEvent = loop_wait_one;
    svc->pub.WaitForMultipleEvents = loop_wait_multi;
    svc->pub.WaitForMultipleEventsExt = loop_wait_multi_ext;
    svc->magic = EVT_SVC_MAGIC;
    pthread_mutex_init(&svc->lock, NULL);
    *out = &svc->pub;
    return NvSciError_Success;
}

NVSCI_EXPORT NvSciError NvSciEventLoopServiceCreate(size_t maxEventLoops, NvSciEventLoopService **newEventLoopService)
{
    return service_create(maxEventLoops, NULL, newEventLoopService);
}

NVSCI_EXPORT NvSciError NvSciEventLoopServiceCreateSafe(size_t maxEventLoops, void *config,
                                                        NvSciEventLoopService **newEventLoopService)
{
    return service_create(maxEventLoops, config, newEventLoopService);
}

NVSCI_EXPORT NvSciError NvSciEventLoopServiceCreateSafeX(size_t maxEventLoops, void *config,
                                                         NvSciEventLoopService **newEventLoopService)
{
    return service_create(maxEventLoops, config, newEventLoopService);
}

NVSCI_EXPORT NvSciError NvSciEventMoveNotifier(NvSciEventService *oldEventService, NvSciEventService *newEventService,
                                               NvSciEventNotifier *eventNotifier)
{
    struct evt_service *from = to_svc(oldEventService), *to = to_svc(newEventService);
    struct evt_notifier *n = to_note(eventNotifier);
    struct evt_service *first, *second;
    NvSciError ret = NvSciError_Success;
    if (!from || !to || !n) return NvSciError_BadParameter;
    if (from == to) return note_service(n) == from ? NvSciError_Success : NvSciError_BadParameter;
    first = from < to ? from : to;   /* lock order by address */
    second = from < to ? to : from;
    pthread_mutex_lock(&first->lock);
    pthread_mutex_lock(&second->lock);
    if (__atomic_load_n(&n->svc, __ATOMIC_RELAXED) != from) {
        ret = NvSciError_BadParameter;
    } else if (atomic_load(&n->waiting)) {
        ret = NvSciError_Busy;
    } else {
        svc_unlink(from, n);
        svc_link(to, n);
    }
    pthread_mutex_unlock(&second->lock);
    pthread_mutex_unlock(&first->lock);
    return ret;
}

NVSCI_EXPORT NvSciError NvSciEventCheckVersionCompatibility(uint32_t majorVer, uint32_t minorVer, bool *isCompatible)
{
    if (!isCompatible) return NvSciError_BadParameter;
    *isCompatible = majorVer == NvSciEventMajorVersion && minorVer <= NvSciEventMinorVersion;
    return NvSciError_Success;
}
