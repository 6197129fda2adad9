/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* The exit hook (common/osci_exit.c): what a process opened and must leave cleanly when it returns from
 * main or calls exit() without closing it. A destructor runs every registered entry's leave(), under the
 * registry lock, taken with a 1 s limit (a thread of ours interrupted while holding it: give up).
 * _exit() and SIGKILL run nothing; the owners' next openers reclaim. Forks keep the lock consistent
 * (pthread_atfork); a child inherits the entries, so leave() checks that the entry is its own. Each
 * library carries its own copy (hidden symbols), so each has its own registry and destructor.
 * Lock order: the registry lock, then whatever leave() takes. */
#ifndef OSCI_EXIT_H
#define OSCI_EXIT_H

#include "osci_list.h"

struct osci_exit_entry {
    struct osci_list_node node;
    void (*leave)(struct osci_exit_entry *e);   /* in the destructor, registry lock held */
};

void osci_exit_add(struct osci_exit_entry *e);   /* e->leave set by the caller */
void osci_exit_del(struct osci_exit_entry *e);
/* For an owner that must hold the registry lock while it closes (so the hook waits for it). */
void osci_exit_lock(void);
void osci_exit_unlock(void);
void osci_exit_del_locked(struct osci_exit_entry *e);

#endif
