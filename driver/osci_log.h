/* Logging shared by every OpenSCI library (driver/log.c; each library links its own copy). */
#ifndef OSCI_LOG_H
#define OSCI_LOG_H

/* Logging (driver/log.c): OSCI_LOG=error|warn|info|debug (default warn), to stderr. */
enum osci_log_level { OSCI_LOG_ERROR = 0, OSCI_LOG_WARN, OSCI_LOG_INFO, OSCI_LOG_DEBUG };
extern int osci_log_level;
void osci_log_init(void);
void osci_log_msg(enum osci_log_level lvl, const char *mod, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define osci_log(lvl, mod, ...) \
    do { if ((int)(lvl) <= osci_log_level) osci_log_msg((lvl), (mod), __VA_ARGS__); } while (0)

#endif
