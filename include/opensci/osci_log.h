/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* OpenSCI log lines: one format for every OpenSCI library, and a hook for the application.
 *
 * Every library (libsisci, libnvsciipc) writes its diagnostics through one logger, as lines
 * "osci[<pid>] <module>: <text>" (module: seg, simntb, rdma, conf, ipc, ...), by default one write(2) per
 * line to stderr. The level comes from OSCI_LOG=error|warn|info|debug (default warn) or osci_log_set_level.
 * Link with libsisci (libnvsciipc brings it). */
#ifndef OPENSCI_OSCI_LOG_H
#define OPENSCI_OSCI_LOG_H

#include "osci_visibility.h"

#ifdef __cplusplus
extern "C" {
#endif

enum osci_log_level { OSCI_LOG_ERROR = 0, OSCI_LOG_WARN, OSCI_LOG_INFO, OSCI_LOG_DEBUG };

/* Receives every line at or below the current level instead of stderr: `line` is the whole line without
 * its newline (valid during the call only), `level` an enum osci_log_level. It may be called from any
 * thread of the process, also concurrently; it must not call osci_log_set_handler. */
typedef void (*osci_log_handler_t)(int level, const char *line, void *arg);

/* fn NULL: back to stderr. */
OSCI_EXPORT void osci_log_set_handler(osci_log_handler_t fn, void *arg);
/* Overrides OSCI_LOG. 0, or -EINVAL when level is not an enum osci_log_level. */
OSCI_EXPORT int osci_log_set_level(int level);
OSCI_EXPORT int osci_log_get_level(void);

#ifdef __cplusplus
}
#endif
#endif
