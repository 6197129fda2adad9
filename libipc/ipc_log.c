/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* The log hook (include/opensci/osci_log.h) exported by libnvsciipc too, so that an NvSciIpc application
 * linked with -lnvsciipc alone finds it. The one logger is libsisci's: these forward to it. Weak: a static
 * link with libsisci.a takes libsisci's definitions. */
#include "osci_log.h"

__attribute__((weak)) OSCI_EXPORT void osci_log_set_handler(osci_log_handler_t fn, void *arg)
{
    osci__log_set_handler(fn, arg);
}

__attribute__((weak)) OSCI_EXPORT int osci_log_set_level(int level)
{
    return osci__log_set_level(level);
}

__attribute__((weak)) OSCI_EXPORT int osci_log_get_level(void)
{
    return osci__log_get_level();
}
