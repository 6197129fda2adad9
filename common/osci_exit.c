/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* The exit hook: a registry of open things and the destructor that leaves them (osci_exit.h). */
#include <pthread.h>
#include <time.h>

#include "osci_exit.h"
#include "osci_time.h"

static pthread_mutex_t exit_lock = PTHREAD_MUTEX_INITIALIZER;
static struct osci_list_head exit_list = OSCI_LIST_HEAD_INIT(exit_list);

static void exit_atfork_lock(void) { pthread_mutex_lock(&exit_lock); }
static void exit_atfork_unlock(void) { pthread_mutex_unlock(&exit_lock); }
static void exit_once(void) { pthread_atfork(exit_atfork_lock, exit_atfork_unlock, exit_atfork_unlock); }

void osci_exit_lock(void) { pthread_mutex_lock(&exit_lock); }
void osci_exit_unlock(void) { pthread_mutex_unlock(&exit_lock); }

void osci_exit_add(struct osci_exit_entry *e)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;

    pthread_once(&once, exit_once);
    pthread_mutex_lock(&exit_lock);
    osci_list_add(&exit_list, &e->node);
    pthread_mutex_unlock(&exit_lock);
}

void osci_exit_del_locked(struct osci_exit_entry *e)
{
    osci_list_del(&e->node);         /* nothing when never added */
}

void osci_exit_del(struct osci_exit_entry *e)
{
    pthread_mutex_lock(&exit_lock);
    osci_exit_del_locked(e);
    pthread_mutex_unlock(&exit_lock);
}

__attribute__((destructor)) static void osci_exit_hook(void)
{
    struct timespec ts = osci_ts_after_ms(CLOCK_REALTIME, 1000);
    struct osci_exit_entry *e;

    if (pthread_mutex_timedlock(&exit_lock, &ts))
        return;
    osci_list_for_each(e, &exit_list, node)
        e->leave(e);
    pthread_mutex_unlock(&exit_lock);
}
