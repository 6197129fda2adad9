/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Process identity and liveness: the one /proc/<pid>/stat parser (common/osci_proc.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "osci_proc.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

int osci_proc_stat(pid_t pid, char *state_p, uint64_t *start_p)
{
    char path[64], buf[1024], *p, *end;
    unsigned long long start;
    ssize_t n;
    int fd;

    if (pid <= 0)
        return -ESRCH;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? -ESRCH : -errno;
    do
        n = read(fd, buf, sizeof(buf) - 1);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        int ret = errno == ESRCH ? -ESRCH : -errno;   /* exited and reaped since the open */
        close(fd);
        return ret;
    }
    close(fd);
    buf[n] = '\0';
    /* "pid (comm) S ...": comm may hold spaces and parentheses, so the state follows the last ')'. */
    p = strrchr(buf, ')');
    if (!p || p[1] != ' ' || !p[2] || p[3] != ' ')
        return -EPROTO;
    *state_p = p[2];
    p += 3;                           /* the space before field 4 */
    for (int field = 4; field <= 22; field++) {
        if (*p != ' ')
            return -EPROTO;
        p++;
        if (field == 22)
            break;
        p = strchr(p, ' ');
        if (!p)
            return -EPROTO;
    }
    errno = 0;
    start = strtoull(p, &end, 10);
    if (end == p || errno || (*end != ' ' && *end != '\n' && *end != '\0'))
        return -EPROTO;
    *start_p = start;
    return 0;
}

int osci_proc_start(pid_t pid, uint64_t *start_p)
{
    char state;
    uint64_t start;
    int ret = osci_proc_stat(pid, &state, &start);

    if (ret < 0)
        return ret;
    if (state == 'Z' || state == 'X')
        return -ESRCH;
    *start_p = start;
    return 0;
}

int osci_proc_alive(pid_t pid, uint64_t start)
{
    uint64_t s;
    int ret = osci_proc_start(pid, &s);

    if (ret == -ESRCH || ret == -EPROTO)
        return 0;
    return ret < 0 || s == start;
}

int osci_pidfd_open(pid_t pid, uint64_t start)
{
    int fd;

    if (pid <= 0)
        return -ESRCH;
    fd = (int)syscall(SYS_pidfd_open, pid, 0);   /* close-on-exec by the kernel */
    if (fd < 0)
        return -errno;
    /* exited already (readable), a zombie, or pid already names another process */
    if (osci_pidfd_exited(fd) != 0 || !osci_proc_alive(pid, start)) {
        close(fd);
        return -ESRCH;
    }
    return fd;
}

int osci_pidfd_exited(int pidfd)
{
    struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
    int n;

    do
        n = poll(&pfd, 1, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    if (n && (pfd.revents & POLLNVAL))
        return -EBADF;
    return n > 0;
}
