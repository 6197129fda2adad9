/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* NvSciEventService: event loop service, native event notifiers, local events (OpenSCI implementation of the
 * NvSciEvent 1.4 API as found on DRIVE OS Linux). */
#ifndef INCLUDED_NVSCIEVENT_H
#define INCLUDED_NVSCIEVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "nvscierror.h"

#ifdef __cplusplus
extern "C" {
#endif

static const uint32_t NvSciEventMajorVersion = 1U;
static const uint32_t NvSciEventMinorVersion = 4U;

#define NV_SCI_EVENT_INFINITE_WAIT -1
#define NV_SCI_EVENT_PRIORITIES 4

typedef struct NvSciEventService NvSciEventService;
typedef struct NvSciEventNotifier NvSciEventNotifier;
typedef struct NvSciEventLoopService NvSciEventLoopService;
typedef struct NvSciLocalEvent NvSciLocalEvent;
typedef struct NvSciNativeEvent NvSciNativeEvent;   /* opaque: provided by NvSciIpc */
typedef struct NvSciTimerEvent NvSciTimerEvent;     /* opaque */
typedef struct NvSciEventLoop NvSciEventLoop;       /* opaque */

struct NvSciLocalEvent {
    NvSciEventNotifier *eventNotifier;
    NvSciError (*Signal)(NvSciLocalEvent *thisLocalEvent);
    void (*Delete)(NvSciLocalEvent *thisLocalEvent);
};

struct NvSciEventService {
    NvSciError (*CreateNativeEventNotifier)(NvSciEventService *thisEventService, NvSciNativeEvent *nativeEvent,
                                            NvSciEventNotifier **newEventNotifier);
    NvSciError (*CreateLocalEvent)(NvSciEventService *thisEventService, NvSciLocalEvent **newLocalEvent);
    NvSciError (*CreateTimerEvent)(NvSciEventService *thisEventService, NvSciTimerEvent **newTimerEvent);
    void (*Delete)(NvSciEventService *thisEventService);
};

struct NvSciEventNotifier {
    NvSciError (*SetHandler)(NvSciEventNotifier *thisEventNotifier, void (*callback)(void *cookie), void *cookie,
                             uint32_t priority);
    void (*Delete)(NvSciEventNotifier *thisEventNotifier);
};

struct NvSciEventLoopService {
    NvSciEventService EventService;   /* first: a loop service pointer is also an event service pointer */
    NvSciError (*CreateEventLoop)(NvSciEventLoopService *eventLoopService, NvSciEventLoop **eventLoop);
    NvSciError (*WaitForEvent)(NvSciEventNotifier *eventNotifier, int64_t microseconds);
    NvSciError (*WaitForMultipleEvents)(NvSciEventNotifier *const *eventNotifierArray, size_t eventNotifierCount,
                                        int64_t microseconds, bool *newEventArray);
    NvSciError (*WaitForMultipleEventsExt)(NvSciEventService *eventService,
                                           NvSciEventNotifier *const *eventNotifierArray, size_t eventNotifierCount,
                                           int64_t microseconds, bool *newEventArray);
};

NVSCI_EXPORT NvSciError NvSciEventLoopServiceCreate(size_t maxEventLoops, NvSciEventLoopService **newEventLoopService);
NVSCI_EXPORT NvSciError NvSciEventLoopServiceCreateSafe(size_t maxEventLoops, void *config,
                                                        NvSciEventLoopService **newEventLoopService);
NVSCI_EXPORT NvSciError NvSciEventLoopServiceCreateSafeX(size_t maxEventLoops, void *config,
                                                         NvSciEventLoopService **newEventLoopService);
NVSCI_EXPORT NvSciError NvSciEventMoveNotifier(NvSciEventService *oldEventService,
                                               NvSciEventService *newEventService,
                                               NvSciEventNotifier *eventNotifier);
NVSCI_EXPORT NvSciError NvSciEventCheckVersionCompatibility(uint32_t majorVer, uint32_t minorVer,
                                                            bool *isCompatible);

#ifdef __cplusplus
}
#endif
#endif
