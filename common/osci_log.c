/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Logging: OSCI_LOG=error|warn|info|debug (default warn); lines "osci[<pid>] <module>: <text>", one write(2)
 * per line to stderr, or to the application's handler (osci_log_set_handler). One copy, in libsisci. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "osci_log.h"

OSCI_EXPORT int osci_log_level = OSCI_LOG_WARN;

static pthread_once_t log_once = PTHREAD_ONCE_INIT;
/* Readers are the loggers (the handler runs under the read lock, so it is never called after a set returned);
 * osci_log_set_handler writes. */
static pthread_rwlock_t log_hook_lock = PTHREAD_RWLOCK_INITIALIZER;
static osci_log_handler_t log_hook;
static void *log_hook_arg;

static void log_read_env(void)
{
    static const char *const names[] = { "error", "warn", "info", "debug" };
    const char *v = getenv("OSCI_LOG");
    if (!v || !*v)
        return;
    for (int i = 0; i < 4; i++) {
        if (!strcasecmp(v, names[i])) {
            osci_log_level = i;
            return;
        }
    }
    osci_log_level = OSCI_LOG_WARN;
    osci_log_msg(OSCI_LOG_WARN, "log", "OSCI_LOG=%s is not one of error|warn|info|debug; using warn", v);
}

OSCI_EXPORT void osci_log_init(void)
{
    pthread_once(&log_once, log_read_env);
}

/* The public functions are also exported by libnvsciipc (libipc/ipc_log.c), which calls these. */
OSCI_EXPORT void osci__log_set_handler(osci_log_handler_t fn, void *arg)
{
    pthread_rwlock_wrlock(&log_hook_lock);
    log_hook = fn;
    log_hook_arg = fn ? arg : NULL;
    pthread_rwlock_unlock(&log_hook_lock);
}

OSCI_EXPORT int osci__log_set_level(int level)
{
    if (level < OSCI_LOG_ERROR || level > OSCI_LOG_DEBUG)
        return -EINVAL;
    osci_log_init();   /* OSCI_LOG must not override this later */
    __atomic_store_n(&osci_log_level, level, __ATOMIC_RELAXED);
    return 0;
}

OSCI_EXPORT int osci__log_get_level(void)
{
    osci_log_init();
    return __atomic_load_n(&osci_log_level, __ATOMIC_RELAXED);
}

OSCI_EXPORT void osci_log_set_handler(osci_log_handler_t fn, void *arg)
{
    osci__log_set_handler(fn, arg);
}

OSCI_EXPORT int osci_log_set_level(int level)
{
    return osci__log_set_level(level);
}

OSCI_EXPORT int osci_log_get_level(void)
{
    return osci__log_get_level();
}

OSCI_EXPORT void osci_log_msg(enum osci_log_level lvl, const char *mod, const char *fmt, ...)
{
    char line[1024];
    int n;
    va_list ap;

    n = snprintf(line, sizeof(line), "osci[%d] %s: ", (int)getpid(), mod);
    if (n < 0)
        return;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    n = (int)strlen(line);
    if (n > (int)sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    pthread_rwlock_rdlock(&log_hook_lock);
    if (log_hook) {
        line[n] = 0;
        log_hook((int)lvl, line, log_hook_arg);
        pthread_rwlock_unlock(&log_hook_lock);
        return;
    }
    pthread_rwlock_unlock(&log_hook_lock);
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}
