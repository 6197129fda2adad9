/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Reading a configuration file: regular files only, size capped, never blocking (common/osci_file.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "osci_file.h"
#include "osci_log.h"

static const char *file_kind(mode_t m)
{
    if (S_ISDIR(m))
        return "a directory";
    if (S_ISFIFO(m))
        return "a FIFO";
    if (S_ISCHR(m))
        return "a character device";
    if (S_ISBLK(m))
        return "a block device";
    if (S_ISSOCK(m))
        return "a socket";
    return "not a regular file";
}

/* 0 for a regular file of at most max bytes, else the error (logged). */
static int check_stat(const char *path, const struct stat *st, size_t max, const char *mod)
{
    if (!S_ISREG(st->st_mode)) {
        osci_log(OSCI_LOG_ERROR, mod, "%s: is %s, not a regular file: refused", path, file_kind(st->st_mode));
        return S_ISDIR(st->st_mode) ? -EISDIR : -EINVAL;
    }
    if ((unsigned long long)st->st_size > max) {
        osci_log(OSCI_LOG_ERROR, mod, "%s: %lld bytes, more than the %zu a configuration file may have: refused",
                 path, (long long)st->st_size, max);
        return -EFBIG;
    }
    return 0;
}

int osci_read_file(const char *path, size_t max_size, const char *mod, char **buf_p, size_t *len_p)
{
    struct stat st;
    char *buf = NULL;
    size_t len = 0;
    int fd, ret;

    osci_log_init();
    /* Checked before the open too, so that no device or FIFO is ever opened (an open may have effects). */
    if (stat(path, &st) < 0) {
        ret = -errno;
        goto err_log;
    }
    if ((ret = check_stat(path, &st, max_size, mod)) < 0)
        return ret;
    /* O_NONBLOCK: what was swapped in since the stat cannot block the open; fstat decides. */
    fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        ret = -errno;
        goto err_log;
    }
    if (fstat(fd, &st) < 0) {
        ret = -errno;
        goto err_close_log;
    }
    if ((ret = check_stat(path, &st, max_size, mod)) < 0)
        goto err_close;
    /* Read to the end, not st_size: a file may grow since the fstat; one byte past the cap tells. */
    if (!(buf = malloc(max_size + 2))) {
        ret = -ENOMEM;
        goto err_close;
    }
    while (len <= max_size) {
        ssize_t r = read(fd, buf + len, max_size + 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            ret = -errno;
            goto err_close_log;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    if (len > max_size) {
        osci_log(OSCI_LOG_ERROR, mod, "%s: more than the %zu bytes a configuration file may have: refused", path,
                 max_size);
        ret = -EFBIG;
        goto err_close;
    }
    close(fd);
    buf[len] = '\0';
    *buf_p = buf;
    *len_p = len;
    return 0;

err_close_log:
    osci_log(OSCI_LOG_ERROR, mod, "cannot read %s: %s", path, strerror(-ret));
err_close:
    close(fd);
    free(buf);
    return ret;
err_log:
    if (ret != -ENOENT)
        osci_log(OSCI_LOG_ERROR, mod, "cannot read %s: %s", path, strerror(-ret));
    return ret;
}
