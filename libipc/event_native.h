/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* The NvSciNativeEvent layout that libnvsciipc and libnvscievent agree on (private to OpenSCI). */
#ifndef OSCI_EVENT_NATIVE_H
#define OSCI_EVENT_NATIVE_H

#include "nvscievent.h"

/* An fd that polls readable when its owner may have something to report. The event service never
 * consumes a native event itself unless `consume` is set: NvSciIpc drains its fd in GetEventSafe. */
struct NvSciNativeEvent {
    int fd;
    void (*consume)(NvSciNativeEvent *self);   /* optional, called after fd polled readable */
};

#endif
