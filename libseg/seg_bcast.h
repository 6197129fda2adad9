/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * SCI_FLAG_BROADCAST: reflective memory groups (docs/sisci-compat.md "Reflective memory"). The hooks
 * the segment, map and core files call; everything else lives in seg_bcast.c. Lock held for all but
 * seg__bcast_xfer (a data path).
 */
#ifndef SEG_BCAST_H
#define SEG_BCAST_H

#include "seg_obj.h"

int seg__bcast_create_check(unsigned int flags);
/* Group memory from the first adapter whose driver has a multicast window; -EOPNOTSUPP: use plain memory. */
int seg__bcast_alloc(struct seg_lmem *mem, uint32_t id, size_t size);
int seg__bcast_prepare(struct sci_local_segment *ls, struct seg_adapter *a);
/* After any change of ls's state on `adapter` (available, unavailable, removed): join or leave. */
void seg__bcast_lseg_changed(struct sci_local_segment *ls, unsigned int adapter);
int seg__bcast_connect(sci_desc_t sd, sci_remote_segment_t *segment, unsigned int node, unsigned int id,
                       unsigned int adapter, sci_cb_remote_segment_t cb, void *cb_arg, unsigned int timeout,
                       unsigned int flags);
int seg__bcast_disconnect(struct sci_remote_segment *rs);
void *seg__bcast_map(struct sci_remote_segment *rs, sci_map_t *map, size_t offset, size_t size, void *addr,
                     unsigned int flags, int *rc_p);
void seg__bcast_unmap(struct sci_map *m);
/* SCIMemCpy through a broadcast transfer map: a put to every member (in order per member), or a get. */
int seg__bcast_xfer(struct sci_map *m, size_t off, void *buf, size_t len, bool rd);
void seg__bcast_on_msg(struct seg_adapter *a, const struct seg_msg *m);
void seg__bcast_peer_up(struct seg_adapter *a, uint32_t node);
void seg__bcast_peer_lost(struct seg_adapter *a, uint32_t node);
void seg__bcast_free_all(void);

#endif
