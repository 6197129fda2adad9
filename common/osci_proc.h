/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Process identity and liveness from /proc and pidfds (common/osci_proc.c; every library that needs it
 * carries its own hidden copy). A process is named by its pid and its start time, so a reused pid is
 * never taken for the process that held it. A zombie (state Z) or a dying process (X) is dead, and so is
 * a process whose pidfd polls readable. */
#ifndef OSCI_PROC_H
#define OSCI_PROC_H

#include <stdint.h>
#include <sys/types.h>

/* State (field 3) and start time (field 22, clock ticks since boot) of pid from /proc/<pid>/stat:
 * 0, -ESRCH (no such process), -EPROTO (unparsable) or another -errno (the file could not be read). */
int osci_proc_stat(pid_t pid, char *state_p, uint64_t *start_p);
/* Start time of pid when it is alive (not a zombie): 0, or -ESRCH when it is gone or dead, other -errno. */
int osci_proc_start(pid_t pid, uint64_t *start_p);
/* 1 when the process that started at `start` as pid is alive, 0 when it is gone, dead (a zombie too) or
 * pid now names another process. A /proc that cannot be read for another reason (fds exhausted) answers 1:
 * a live owner must never be taken for dead. */
int osci_proc_alive(pid_t pid, uint64_t start);
/* A close-on-exec pidfd for the process that started at `start` as pid, checked after it is open (pid reuse):
 * the fd, -ESRCH when that process is gone or dead, -ENOSYS without pidfd_open (kernel < 5.3), other -errno. */
int osci_pidfd_open(pid_t pid, uint64_t start);
/* 1 when the pidfd polls readable (its process exited: a zombie or reaped), 0 when it runs, -errno. */
int osci_pidfd_exited(int pidfd);

#endif
