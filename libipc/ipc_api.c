/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* NvSciIpc public API: library state, endpoint handles, backend dispatch, errno -> NvSciError. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipc_internal.h"
#include "osci_errors.h"
#include "osci_log.h"

#define EP_MAX 1024u   /* endpoints open at once in one process */

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned g_refs;
static struct ipc_cfg g_cfg;
static _Atomic(struct ipc_ep *) g_eps[EP_MAX];
static uint32_t g_gen;
static _Atomic int g_ready;

static const struct ipc_backend_ops *const g_backends[IPC_BE_COUNT] = {
    [IPC_BE_THREAD] = &ipc__shm_ops,
    [IPC_BE_PROCESS] = &ipc__shm_ops,
    [IPC_BE_VM] = &ipc__vm_ops,
    [IPC_BE_CHIP] = &ipc__chip_ops,
};

/* -errno -> NvSciError through the one list (common/osci_errors.h). */
static NvSciError to_nverr(int err)
{
    switch (err) {
    case 0: return NvSciError_Success;
#define X(code, sci, nv, text) case -(code): return nv;
    OSCI_ERRNO_LIST(X)
#undef X
    default: return NvSciError_ResourceError;
    }
}

/* Handle = generation << 32 | (slot + 1): a stale or forged handle is refused, never dereferenced blindly. */
static NvSciError lookup(NvSciIpcEndpoint h, struct ipc_ep **ep_p)
{
    uint64_t slot = (h & 0xffffffffu);
    struct ipc_ep *ep;
    if (!atomic_load_explicit(&g_ready, memory_order_acquire)) return NvSciError_NotInitialized;
    if (slot == 0 || slot > EP_MAX) return NvSciError_BadParameter;
    ep = atomic_load_explicit(&g_eps[slot - 1], memory_order_acquire);
    if (!ep || ep->handle != h) return NvSciError_BadParameter;
    *ep_p = ep;
    return NvSciError_Success;
}

/* Every call on an endpoint begins so: declares `ep`, the open endpoint of `handle`, or returns lookup's error. */
#define LOOKUP_EP(handle, ep)                                      \
    struct ipc_ep *ep;                                             \
    do {                                                           \
        NvSciError lookup_err_ = lookup((handle), &ep);            \
        if (lookup_err_ != NvSciError_Success) return lookup_err_; \
    } while (0)

static void close_ep(struct ipc_ep *ep)
{
    uint64_t slot = ep->handle & 0xffffffffu;
    atomic_store(&g_eps[slot - 1], NULL);
    ep->ops->close(ep);
    free(ep);
}

NVSCI_EXPORT NvSciError NvSciIpcInit(void)
{
    const char *path = getenv("NVSCIIPC_CFG");
    NvSciError err = NvSciError_Success;
    int ret;
    pthread_mutex_lock(&g_lock);
    if (g_refs > 0) {
        g_refs++;
        goto out;
    }
    osci_log_init();
    if (!path || !*path) path = IPC_CFG_DEFAULT_PATH;
    ret = ipc__cfg_load(path, &g_cfg);
    if (ret < 0) {
        /* malformed, or a FIFO / device (logged); a directory; over the size cap; else missing or unreadable */
        err = ret == -EINVAL ? NvSciError_BadParameter : ret == -EISDIR ? NvSciError_IsDirectory :
              ret == -EFBIG ? NvSciError_FileTooBig : ret == -ENOMEM ? NvSciError_InsufficientMemory :
              NvSciError_InvalidState;
        goto out;
    }
    g_refs = 1;
    atomic_store_explicit(&g_ready, 1, memory_order_release);
out:
    pthread_mutex_unlock(&g_lock);
    return err;
}

NVSCI_EXPORT void NvSciIpcDeinit(void)
{
    unsigned i;
    pthread_mutex_lock(&g_lock);
    if (g_refs == 0 || --g_refs > 0) {
        pthread_mutex_unlock(&g_lock);
        return;
    }
    atomic_store(&g_ready, 0);
    for (i = 0; i < EP_MAX; i++) {   /* endpoints the application left open */
        struct ipc_ep *ep = atomic_load(&g_eps[i]);
        if (ep) close_ep(ep);
    }
    ipc__cfg_free(&g_cfg);
    pthread_mutex_unlock(&g_lock);
    ipc__watch_stop();
}

static NvSciError open_common(const char *endpoint, NvSciIpcEndpoint *handle, NvSciEventService *svc)
{
    const struct ipc_cfg_ep *ce;
    struct ipc_ep *ep;
    NvSciError err;
    unsigned i;
    int ret;

    if (!endpoint || !handle) return NvSciError_BadParameter;
    if (strnlen(endpoint, NVSCIIPC_MAX_ENDPOINT_NAME) >= NVSCIIPC_MAX_ENDPOINT_NAME) return NvSciError_BadParameter;
    pthread_mutex_lock(&g_lock);
    if (g_refs == 0) {
        err = NvSciError_NotInitialized;
        goto out;
    }
    if (!(ce = ipc__cfg_find(&g_cfg, endpoint))) {
        err = NvSciError_NoSuchEntry;
        goto out;
    }
    if (!g_backends[ce->backend]) {
        osci_log(OSCI_LOG_WARN, "ipc", "%s: backend %s is not supported yet", endpoint,
                 ipc__backend_name(ce->backend));
        err = NvSciError_NotSupported;
        goto out;
    }
    for (i = 0; i < EP_MAX && atomic_load(&g_eps[i]); i++) {}
    if (i == EP_MAX) {
        err = NvSciError_InsufficientResource;
        goto out;
    }
    if (!(ep = calloc(1, sizeof(*ep)))) {
        err = NvSciError_InsufficientMemory;
        goto out;
    }
    ep->cfg = *ce;
    ep->ops = g_backends[ce->backend];
    ep->notify_enabled = 1;
    ep->native.fd = -1;
    if ((ret = ep->ops->open(ep)) < 0) {
        err = to_nverr(ret);
        free(ep);
        goto out;
    }
    if (svc) {
        err = svc->CreateNativeEventNotifier(svc, &ep->native, &ep->notifier);
        if (err != NvSciError_Success) {
            ep->ops->close(ep);
            free(ep);
            goto out;
        }
    }
    g_gen = (g_gen + 1) & 0x7fffffffu;
    ep->handle = ((uint64_t)(g_gen ? g_gen : 1) << 32) | (i + 1);
    atomic_store_explicit(&g_eps[i], ep, memory_order_release);
    *handle = ep->handle;
    err = NvSciError_Success;
out:
    pthread_mutex_unlock(&g_lock);
    return err;
}

NVSCI_EXPORT NvSciError NvSciIpcOpenEndpoint(const char *endpoint, NvSciIpcEndpoint *handle)
{
    return open_common(endpoint, handle, NULL);
}

NVSCI_EXPORT NvSciError NvSciIpcOpenEndpointWithEventService(const char *endpoint, NvSciIpcEndpoint *handle,
                                                             NvSciEventService *eventService)
{
    if (!eventService) return NvSciError_BadParameter;
    return open_common(endpoint, handle, eventService);
}

NVSCI_EXPORT NvSciError NvSciIpcGetEventNotifier(NvSciIpcEndpoint handle, NvSciEventNotifier **eventNotifier)
{
    LOOKUP_EP(handle, ep);
    if (!eventNotifier) return NvSciError_BadParameter;
    if (!ep->notifier) return NvSciError_InvalidState;   /* opened without an event service */
    *eventNotifier = ep->notifier;
    return NvSciError_Success;
}

NVSCI_EXPORT NvSciError NvSciIpcCloseEndpointSafe(NvSciIpcEndpoint handle, bool clear)
{
    struct ipc_ep *ep;
    NvSciError err;
    pthread_mutex_lock(&g_lock);
    err = lookup(handle, &ep);
    (void)clear;   /* every backend discards the channel's data either way */
    if (err == NvSciError_Success) close_ep(ep);
    pthread_mutex_unlock(&g_lock);
    return err;
}

NVSCI_EXPORT void NvSciIpcCloseEndpoint(NvSciIpcEndpoint handle)
{
    (void)NvSciIpcCloseEndpointSafe(handle, false);
}

NVSCI_EXPORT NvSciError NvSciIpcResetEndpointSafe(NvSciIpcEndpoint handle)
{
    LOOKUP_EP(handle, ep);
    if (ep->ops->progress) ep->ops->progress(ep);
    ipc__conn_reset(ep->fifo->conn);
    return NvSciError_Success;
}

NVSCI_EXPORT void NvSciIpcResetEndpoint(NvSciIpcEndpoint handle)
{
    (void)NvSciIpcResetEndpointSafe(handle);
}

NVSCI_EXPORT NvSciError NvSciIpcReadGetNextFrame(NvSciIpcEndpoint handle, const volatile void **buf)
{
    LOOKUP_EP(handle, ep);
    if (!buf) return NvSciError_BadParameter;
    return to_nverr(ipc__fifo_read_frame(ep->fifo, buf));
}

NVSCI_EXPORT NvSciError NvSciIpcReadAdvance(NvSciIpcEndpoint handle)
{
    LOOKUP_EP(handle, ep);
    return to_nverr(ipc__fifo_read_advance(ep->fifo));
}

NVSCI_EXPORT NvSciError NvSciIpcWriteGetNextFrame(NvSciIpcEndpoint handle, volatile void **buf)
{
    LOOKUP_EP(handle, ep);
    if (!buf) return NvSciError_BadParameter;
    return to_nverr(ipc__fifo_write_frame(ep->fifo, buf));
}

NVSCI_EXPORT NvSciError NvSciIpcWriteAdvance(NvSciIpcEndpoint handle)
{
    LOOKUP_EP(handle, ep);
    return to_nverr(ipc__fifo_write_advance(ep->fifo));
}

NVSCI_EXPORT NvSciError NvSciIpcReadSafe(NvSciIpcEndpoint handle, void *buf, uint32_t size, uint32_t *bytes)
{
    const volatile void *frame;
    int ret;
    LOOKUP_EP(handle, ep);
    if (!buf || !bytes || size == 0 || size > ep->cfg.frame_size) return NvSciError_BadParameter;
    if ((ret = ipc__fifo_read_frame(ep->fifo, &frame)) < 0) return to_nverr(ret);
    memcpy(buf, (const void *)frame, size);   /* the rest of a longer frame is dropped */
    if ((ret = ipc__fifo_read_advance(ep->fifo)) < 0) return to_nverr(ret);
    *bytes = size;
    return NvSciError_Success;
}

NVSCI_EXPORT NvSciError NvSciIpcWriteSafe(NvSciIpcEndpoint handle, const void *buf, uint32_t size, uint32_t *bytes)
{
    volatile void *frame;
    int ret;
    LOOKUP_EP(handle, ep);
    if (!buf || !bytes || size == 0 || size > ep->cfg.frame_size) return NvSciError_BadParameter;
    if ((ret = ipc__fifo_write_frame(ep->fifo, &frame)) < 0) return to_nverr(ret);
    memcpy((void *)frame, buf, size);
    if (size < ep->cfg.frame_size) memset((char *)frame + size, 0, ep->cfg.frame_size - size);
    if ((ret = ipc__fifo_write_advance(ep->fifo)) < 0) return to_nverr(ret);
    *bytes = size;
    return NvSciError_Success;
}

NVSCI_EXPORT NvSciError NvSciIpcRead(NvSciIpcEndpoint handle, void *buf, size_t size, int32_t *bytes)
{
    uint32_t got;
    NvSciError err;
    if (size > UINT32_MAX) return NvSciError_BadParameter;
    if (!bytes) return NvSciError_BadParameter;
    err = NvSciIpcReadSafe(handle, buf, (uint32_t)size, &got);
    if (err == NvSciError_Success) *bytes = (int32_t)got;
    return err;
}

NVSCI_EXPORT NvSciError NvSciIpcWrite(NvSciIpcEndpoint handle, const void *buf, size_t size, int32_t *bytes)
{
    uint32_t put;
    NvSciError err;
    if (size > UINT32_MAX) return NvSciError_BadParameter;
    if (!bytes) return NvSciError_BadParameter;
    err = NvSciIpcWriteSafe(handle, buf, (uint32_t)size, &put);
    if (err == NvSciError_Success) *bytes = (int32_t)put;
    return err;
}

NVSCI_EXPORT NvSciError NvSciIpcGetEndpointInfo(NvSciIpcEndpoint handle, NvSciIpcEndpointInfo *info)
{
    LOOKUP_EP(handle, ep);
    if (!info) return NvSciError_BadParameter;
    info->nframes = ep->cfg.nframes;
    info->frame_size = ep->cfg.frame_size;
    return NvSciError_Success;
}

NVSCI_EXPORT NvSciError NvSciIpcGetLinuxEventFd(NvSciIpcEndpoint handle, int32_t *fd)
{
    LOOKUP_EP(handle, ep);
    if (!fd) return NvSciError_BadParameter;
    *fd = ep->native.fd;
    return NvSciError_Success;
}

NVSCI_EXPORT NvSciError NvSciIpcGetEventSafe(NvSciIpcEndpoint handle, uint32_t *events)
{
    LOOKUP_EP(handle, ep);
    if (!events) return NvSciError_BadParameter;
    ep->ops->take_wakeups(ep);
    if (ep->ops->progress) ep->ops->progress(ep);
    *events = ipc__conn_get_events(ep->fifo->conn);
    return NvSciError_Success;
}

NVSCI_EXPORT NvSciError NvSciIpcGetEvent(NvSciIpcEndpoint handle, uint32_t *events)
{
    return NvSciIpcGetEventSafe(handle, events);
}

NVSCI_EXPORT NvSciError NvSciIpcGetAsyncErrors(NvSciIpcEndpoint handle, uint32_t *errors)
{
    LOOKUP_EP(handle, ep);
    if (!errors) return NvSciError_BadParameter;
    *errors = 0;   /* these backends have no asynchronous (PCIe) errors */
    return NvSciError_Success;
}

NVSCI_EXPORT NvSciError NvSciIpcEnableNotification(NvSciIpcEndpoint handle, bool flag)
{
    LOOKUP_EP(handle, ep);
    ep->notify_enabled = flag;
    return NvSciError_Success;
}

NVSCI_EXPORT NvSciError NvSciIpcCheckVersionCompatibility(uint32_t majorVer, uint32_t minorVer, bool *isCompatible)
{
    bool ev_ok = false;
    if (!isCompatible) return NvSciError_BadParameter;
    NvSciEventCheckVersionCompatibility(NvSciEventMajorVersion, NvSciEventMinorVersion, &ev_ok);
    *isCompatible = ev_ok && majorVer == NvSciIpcMajorVersion && minorVer <= NvSciIpcMinorVersion;
    return NvSciError_Success;
}

/* OpenSCI-private, for libnvscibuf (libbuf/nvscibuf_internal.h): the backend of an open endpoint (the
 * enum ipc_backend number) and, for INTER_CHIP, its adapter and peer node (0 otherwise). */
NVSCI_EXPORT NvSciError osci_ipc_endpoint_route(NvSciIpcEndpoint handle, uint32_t *backend, uint32_t *adapter,
                                                uint32_t *peer_node);
NVSCI_EXPORT NvSciError osci_ipc_endpoint_route(NvSciIpcEndpoint handle, uint32_t *backend, uint32_t *adapter,
                                                uint32_t *peer_node)
{
    LOOKUP_EP(handle, ep);
    if (!backend || !adapter || !peer_node) return NvSciError_BadParameter;
    *backend = (uint32_t)ep->cfg.backend;
    *adapter = ep->cfg.backend == IPC_BE_CHIP ? ep->cfg.adapter : 0;
    *peer_node = ep->cfg.backend == IPC_BE_CHIP ? ep->cfg.peer_node : 0;
    return NvSciError_Success;
}
