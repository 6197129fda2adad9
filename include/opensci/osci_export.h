/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * libsisci's internal export API for OpenSCI's own libraries (libopensci-buf): not an API for
 * programs, not installed as one; its symbols live in libsisci.map's SISCI_PRIVATE node and may
 * change in any release. docs/doca.md "The export API".
 *
 * An export makes a range of this process's memory a segment on one adapter, protected by a random
 * 128-bit key: a CONNECT that does not carry that key is refused by the owner (-EACCES), and a plain
 * SISCI connect (key 0) to it as well. An import connects such a segment from another process or node
 * with the key, and can copy to and from it and, where the adapter maps remote memory, map it.
 * Every function returns 0 or a negative errno and needs SCIInitialize to have run.
 */
#ifndef OPENSCI_OSCI_EXPORT_H
#define OPENSCI_OSCI_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "osci_visibility.h"

#ifdef __cplusplus
extern "C" {
#endif

#define OSCI_EXPORT_KEY_LEN    16
#define OSCI_EXPORT_XPORT_MAX  64

/* What an adapter offers an exporter, from the facts its driver states (not its name). */
#define OSCI_EXPORT_CAP_WINDOW  0x1   /* a window device: peers map exported memory (DOCA export_pci) */
#define OSCI_EXPORT_CAP_RDMA    0x2   /* a transfer device that registers memory (DOCA export_rdma) */
#define OSCI_EXPORT_CAP_MAP     0x4   /* an importer can map remote memory for load/store */

struct osci_export_adapter {
    unsigned int adapter_no;
    uint32_t node_id;                 /* this process's node id on it */
    uint32_t card_type;               /* as SCIQuery reports it */
    uint32_t caps;                    /* OSCI_EXPORT_CAP_* */
    char name[64];                    /* fabric / device name */
};

/* The configured adapters (at most max; *count_p = how many there are). */
OSCI_EXPORT int osci_export_adapters(struct osci_export_adapter *out, unsigned int max, unsigned int *count_p);

/* What names an exported segment: enough for another node to connect it. */
struct osci_export_info {
    uint32_t node_id;                 /* the exporter's node id on the adapter */
    uint32_t adapter_no;              /* the exporter's adapter */
    uint32_t segment_id;
    uint32_t xport_len;               /* <= OSCI_EXPORT_XPORT_MAX */
    uint64_t size;                    /* bytes */
    uint8_t key[OSCI_EXPORT_KEY_LEN]; /* random, never all zero */
    uint8_t xport[OSCI_EXPORT_XPORT_MAX]; /* the driver's transport bytes (informative; the connect
                                           * answer carries the ones the importer uses) */
};

struct osci_export;
struct osci_import;

/*
 * Export [addr, addr + len) on adapter `adapter`. addr and len must be page aligned (-EINVAL).
 * An adapter that registers foreign memory (rdma) exports the range in place. A window device that
 * exports only memory of its window (simntb) takes the range over: the range's content is copied into
 * window memory, which is then mapped at the same addresses, so the program's loads and stores through
 * addr reach the exported memory; osci_export_destroy gives the range private pages again, with the
 * content it has then. `fd`/`fd_offset` (fd >= 0: the range is a mapping of that fd, e.g. a dma-buf):
 * such a range cannot be taken over and a window device refuses it (-EOPNOTSUPP); a registering adapter
 * gets the fd with the range (rdma registers a dma-buf by it), unless fd_offset is not page aligned
 * (then the range alone).
 * -EOPNOTSUPP: the adapter cannot export this memory; -ENODEV: no such adapter.
 */
OSCI_EXPORT int osci_export_create(unsigned int adapter, void *addr, size_t len, int fd, uint64_t fd_offset,
                                   struct osci_export **exp_p, struct osci_export_info *info);
/* Removes the segment: every importer is force-disconnected (its copies fail, its maps stop reaching
 * the memory) and will not connect again with this key. */
OSCI_EXPORT int osci_export_destroy(struct osci_export *exp);
/* How many importers are connected now. */
OSCI_EXPORT int osci_export_connections(struct osci_export *exp, unsigned int *count_p);

/*
 * Connect the segment `info` names (node_id, segment_id, key; size is checked against the owner's)
 * through local adapter `adapter`, waiting up to timeout_ms for the owner's answer. A node this process
 * has never seen (it may still be starting, or its link still coming up) is waited for up to
 * node_wait_ms; a node seen before and gone is not. flags: OSCI_IMPORT_*.
 * -ENOENT: no such segment (stopped), or the node is not there; -EACCES: the owner refused the key;
 * -ETIMEDOUT; -EHOSTUNREACH / -EADDRNOTAVAIL: no such node; -EMSGSIZE: the owner's segment has another size.
 */
#define OSCI_IMPORT_READONLY 0x1    /* map read-only, refuse copies into the segment (-EACCES) */
OSCI_EXPORT int osci_import_connect(unsigned int adapter, const struct osci_export_info *info,
                                    unsigned int flags, unsigned int timeout_ms, unsigned int node_wait_ms,
                                    struct osci_import **imp_p);
/* The size of the imported segment. */
OSCI_EXPORT uint64_t osci_import_size(const struct osci_import *imp);
/* A load/store mapping of the whole segment (-EOPNOTSUPP where the adapter has none). The same address
 * for every call; unmapped by osci_import_release. */
OSCI_EXPORT int osci_import_map(struct osci_import *imp, void **addr_p);
/* Copy len bytes between buf and offset off of the segment (write: buf -> segment). -ERANGE out of
 * bounds; -ECONNRESET: the exporter stopped or went away (the data did not reach it / is not its). */
OSCI_EXPORT int osci_import_copy(struct osci_import *imp, uint64_t off, void *buf, size_t len, int write);
/* 0 while the exporter's segment is reachable; -ECONNRESET once it stopped, was removed or was lost. */
OSCI_EXPORT int osci_import_check(struct osci_import *imp);
OSCI_EXPORT int osci_import_release(struct osci_import *imp);

#ifdef __cplusplus
}
#endif
#endif
