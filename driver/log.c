/* Logging: OSCI_LOG=error|warn|info|debug (default warn); one write(2) per line to stderr. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "osci_log.h"

int osci_log_level = OSCI_LOG_WARN;

static pthread_once_t log_once = PTHREAD_ONCE_INIT;

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

void osci_log_init(void)
{
    pthread_once(&log_once, log_read_env);
}

void osci_log_msg(enum osci_log_level lvl, const char *mod, const char *fmt, ...)
{
    char line[1024];
    int n;
    va_list ap;

    (void)lvl;
    n = snprintf(line, sizeof(line), "osci[%d] %s: ", (int)getpid(), mod);
    if (n < 0)
        return;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    n = (int)strlen(line);
    if (n > (int)sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}
