/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* NvSciIpc: fixed-frame IPC channels between two endpoints (OpenSCI implementation of the NvSciIpc 1.4 API as
 * found on DRIVE OS Linux). Backends: INTER_THREAD and INTER_PROCESS (POSIX shared memory + mqueue). */
#ifndef INCLUDED_NVSCIIPC_H
#define INCLUDED_NVSCIIPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "nvscierror.h"
#include "nvscievent.h"

#ifdef __cplusplus
extern "C" {
#endif

static const uint32_t NvSciIpcMajorVersion = 1U;
static const uint32_t NvSciIpcMinorVersion = 4U;

typedef uint64_t NvSciIpcEndpoint;

struct NvSciIpcEndpointInfo {
    uint32_t nframes;
    uint32_t frame_size;
};
typedef struct NvSciIpcEndpointInfo NvSciIpcEndpointInfo;

#define NVSCIIPC_MAX_ENDPOINT_NAME 64U

#define NV_SCI_IPC_EVENT_READ 0x01U
#define NV_SCI_IPC_EVENT_WRITE 0x02U
#define NV_SCI_IPC_EVENT_CONN_EST 0x04U
#define NV_SCI_IPC_EVENT_CONN_RESET 0x08U
#define NV_SCI_IPC_EVENT_WRITE_EMPTY 0x10U
#define NV_SCI_IPC_EVENT_ASYNC_ERROR 0x20U
#define NV_SCI_IPC_EVENT_CONN_EST_ALL (NV_SCI_IPC_EVENT_CONN_EST | NV_SCI_IPC_EVENT_WRITE | \
                                       NV_SCI_IPC_EVENT_WRITE_EMPTY | NV_SCI_IPC_EVENT_READ)

#define NVSCIIPC_INFINITE_WAIT -1LL

#define NV_SCI_ASYNC_PCIE_EDMA_XFER_ERROR 0x1U
#define NV_SCI_ASYNC_PCIE_AER_UNCORRECTABLE_FATAL 0x2U
#define NV_SCI_ASYNC_PCIE_AER_UNCORRECTABLE_NONFATAL 0x4U
#define NV_SCI_ASYNC_PCIE_VALIDATION_ERROR 0x8U

NVSCI_EXPORT NvSciError NvSciIpcInit(void);
NVSCI_EXPORT void NvSciIpcDeinit(void);
NVSCI_EXPORT NvSciError NvSciIpcOpenEndpoint(const char *endpoint, NvSciIpcEndpoint *handle);
NVSCI_EXPORT NvSciError NvSciIpcOpenEndpointWithEventService(const char *endpoint, NvSciIpcEndpoint *handle,
                                                             NvSciEventService *eventService);
NVSCI_EXPORT NvSciError NvSciIpcGetEventNotifier(NvSciIpcEndpoint handle, NvSciEventNotifier **eventNotifier);
NVSCI_EXPORT NvSciError NvSciIpcCloseEndpointSafe(NvSciIpcEndpoint handle, bool clear);
NVSCI_EXPORT NvSciError NvSciIpcResetEndpointSafe(NvSciIpcEndpoint handle);
NVSCI_EXPORT NvSciError NvSciIpcReadSafe(NvSciIpcEndpoint handle, void *buf, uint32_t size, uint32_t *bytes);
NVSCI_EXPORT NvSciError NvSciIpcReadGetNextFrame(NvSciIpcEndpoint handle, const volatile void **buf);
NVSCI_EXPORT NvSciError NvSciIpcReadAdvance(NvSciIpcEndpoint handle);
NVSCI_EXPORT NvSciError NvSciIpcWriteSafe(NvSciIpcEndpoint handle, const void *buf, uint32_t size, uint32_t *bytes);
NVSCI_EXPORT NvSciError NvSciIpcWriteGetNextFrame(NvSciIpcEndpoint handle, volatile void **buf);
NVSCI_EXPORT NvSciError NvSciIpcWriteAdvance(NvSciIpcEndpoint handle);
NVSCI_EXPORT NvSciError NvSciIpcGetEndpointInfo(NvSciIpcEndpoint handle, NvSciIpcEndpointInfo *info);
NVSCI_EXPORT NvSciError NvSciIpcGetLinuxEventFd(NvSciIpcEndpoint handle, int32_t *fd);
NVSCI_EXPORT NvSciError NvSciIpcGetEventSafe(NvSciIpcEndpoint handle, uint32_t *events);
NVSCI_EXPORT NvSciError NvSciIpcGetAsyncErrors(NvSciIpcEndpoint handle, uint32_t *errors);
NVSCI_EXPORT NvSciError NvSciIpcEnableNotification(NvSciIpcEndpoint handle, bool flag);
NVSCI_EXPORT NvSciError NvSciIpcCheckVersionCompatibility(uint32_t majorVer, uint32_t minorVer, bool *isCompatible);

/* Older forms (still supported on Linux). */
NVSCI_EXPORT void NvSciIpcCloseEndpoint(NvSciIpcEndpoint handle);
NVSCI_EXPORT void NvSciIpcResetEndpoint(NvSciIpcEndpoint handle);
NVSCI_EXPORT NvSciError NvSciIpcRead(NvSciIpcEndpoint handle, void *buf, size_t size, int32_t *bytes);
NVSCI_EXPORT NvSciError NvSciIpcWrite(NvSciIpcEndpoint handle, const void *buf, size_t size, int32_t *bytes);
NVSCI_EXPORT NvSciError NvSciIpcGetEvent(NvSciIpcEndpoint handle, uint32_t *events);

#ifdef __cplusplus
}
#endif
#endif
