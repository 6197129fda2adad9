/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* The connect key of exported segments (seg_export.c): what the owner and the requester call. */
#ifndef SEG_EXPORT_H
#define SEG_EXPORT_H

#include <stdint.h>

#include "seg_proto.h"

struct sci_local_segment;

/* Owner side, on CONNECT (lock held): 0 when `key` opens `ls` (an exported segment: its key; any other
 * segment: all zero), else -EACCES. */
int seg__export_key_check(const struct sci_local_segment *ls, const uint8_t key[SEG_KEY_LEN]);
/* Requester side: the key this thread's osci_import_connect is connecting with (all zero otherwise). */
void seg__export_key_fill(uint8_t key[SEG_KEY_LEN]);

#endif
