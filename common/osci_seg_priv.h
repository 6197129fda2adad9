/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* libsisci calls for OpenSCI's own libraries (version node SISCI_PRIVATE_0.1 of libseg/libsisci.map): not an
 * API, in no installed header, may change in any release. */
#ifndef OSCI_SEG_PRIV_H
#define OSCI_SEG_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "sisci_types.h"

#ifndef OSCI_EXPORT
#define OSCI_EXPORT __attribute__((visibility("default")))
#endif

/*
 * osci__map_put_word() - a FIFO's frame and index in one step, through a remote map (a transfer map on
 * rdma: the driver's put): writes @len bytes from @src at @off of @map (nothing when @len is 0), then the
 * 32-bit @word at @word_off, in that order, waits until both have reached remote memory (the driver's
 * flush: one round trip on rdma, nothing on a window device) and ends with a full fence, so that a later
 * load cannot pass the word's arrival (Dekker with the peer). Takes no lock, checks the map once.
 * Return: 0; -EINVAL (not a live map, @word_off not 4-aligned), -ERANGE, -EACCES (read-only), -EIO (the
 * remote segment is lost or a put failed: counted as a fault of the segment, as SCIFlush does).
 */
OSCI_EXPORT int osci__map_put_word(sci_map_t map, size_t off, const void *src, size_t len, size_t word_off,
                                   uint32_t word);

#endif
