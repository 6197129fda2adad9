/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Logging shared by every OpenSCI library: one logger (common/osci_log.c, in libsisci, which libnvsciipc links
 * against), its public side in include/opensci/osci_log.h. */
#ifndef OSCI_LOG_H
#define OSCI_LOG_H

#include "opensci/osci_log.h"

/* Exported from libsisci for the other OpenSCI libraries only (not in the public header). */
extern OSCI_EXPORT int osci_log_level;
OSCI_EXPORT void osci_log_init(void);
OSCI_EXPORT void osci_log_msg(enum osci_log_level lvl, const char *mod, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
OSCI_EXPORT void osci__log_set_handler(osci_log_handler_t fn, void *arg);
OSCI_EXPORT int osci__log_set_level(int level);
OSCI_EXPORT int osci__log_get_level(void);
#define osci_log(lvl, mod, ...) \
    do { if ((int)(lvl) <= __atomic_load_n(&osci_log_level, __ATOMIC_RELAXED)) osci_log_msg((lvl), (mod), __VA_ARGS__); } while (0)

#endif
