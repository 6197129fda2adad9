/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Reading a configuration file (common/osci_file.c; every library that needs it carries a hidden copy). */
#ifndef OSCI_FILE_H
#define OSCI_FILE_H

#include <stddef.h>

/*
 * Reads the whole file at path (symbolic links followed) into a NUL-terminated malloc'd buffer: 0 with
 * *buf_p and *len_p. Only a regular file of at most max_size bytes is read; anything else is refused before
 * it is read, and without blocking: a FIFO with no writer, a device or a directory never hangs the caller.
 * Errors: -ENOENT (not logged: a missing default file may be fine), -EISDIR a directory, -EINVAL another
 * file that is not regular (FIFO, device, socket), -EFBIG more than max_size bytes, -ENOMEM, other -errno
 * from open/read. Every error but -ENOENT is logged under module `mod`, naming the path and the cause.
 */
int osci_read_file(const char *path, size_t max_size, const char *mod, char **buf_p, size_t *len_p);

#endif
