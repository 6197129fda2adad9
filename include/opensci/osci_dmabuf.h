/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * dma-buf sharing modelled in userspace with real fds (libopensci-buf, docs/doca.md "dma-buf"): the
 * life cycle of the kernel's dma-buf document. An exporter exports a buffer of a size and hands out a
 * handle (a real fd); importers attach with their constraints, map and unmap, bracket CPU access,
 * mmap, detach; the buffer is released with its last reference. The backing storage is allocated at the
 * first map (or mmap or CPU access), after collating every attached importer's constraints; a later
 * attach the storage cannot satisfy is refused (-EXDEV), one it can satisfy succeeds.
 * Every function returns 0 (or an fd) or a negative errno. Attach, map and detach of one buffer happen
 * in the exporting process; the handle fd, once the storage exists, is the memory in any process.
 */
#ifndef OPENSCI_OSCI_DMABUF_H
#define OPENSCI_OSCI_DMABUF_H

#include <stddef.h>
#include <stdint.h>

#include "osci_visibility.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Access (exporter: what it allows; importer: what it needs). */
#define OSCI_DMABUF_READ   0x1
#define OSCI_DMABUF_WRITE  0x2
/* Locations (an importer: the set it can reach; the storage: exactly one). */
#define OSCI_DMABUF_LOC_SYSTEM 0x1   /* host memory pages (memfd) */
#define OSCI_DMABUF_LOC_KERNEL 0x2   /* a kernel dma-buf (udmabuf over memfd; needs /dev/udmabuf) */
/* CPU access directions (begin/end_cpu_access), as DMA_BUF_SYNC_READ/WRITE. */
#define OSCI_DMABUF_SYNC_READ  0x1
#define OSCI_DMABUF_SYNC_WRITE 0x2

struct osci_dmabuf_constraints {
    uint64_t align;                  /* physical alignment the device needs (power of two; 0: a page) */
    uint32_t contiguous;             /* 1: one physically contiguous range */
    uint32_t locations;              /* OSCI_DMABUF_LOC_* it can reach (0: any) */
    uint32_t access;                 /* OSCI_DMABUF_READ / WRITE it needs */
};

/* What a map gives the importer (the kernel's sg_table, in this model one entry). */
struct osci_dmabuf_map {
    void *addr;                      /* the importer's view (read-only without WRITE access) */
    size_t size;
    int fd;                          /* the storage: a memfd (LOC_SYSTEM) or a dma-buf fd (LOC_KERNEL) */
    uint32_t location;               /* OSCI_DMABUF_LOC_* */
    uint64_t align;                  /* alignment the storage guarantees */
    uint32_t contiguous;
};

struct osci_dmabuf;
struct osci_dmabuf_attachment;
typedef void (*osci_dmabuf_release_t)(void *priv);

/* Exporter: a buffer of `size` bytes (page multiple), `access` what importers may get; release is
 * called with priv when the last reference goes. One reference, the exporter's. */
OSCI_EXPORT int osci_dmabuf_export(size_t size, uint32_t access, osci_dmabuf_release_t release, void *priv,
                                   struct osci_dmabuf **buf_p);
/* The handle: a new real fd (close-on-exec) of the buffer; the caller closes it. */
OSCI_EXPORT int osci_dmabuf_fd(struct osci_dmabuf *buf);
/* Importer: the buffer behind a handle fd, with a new reference (-EBADF: no buffer of this process). */
OSCI_EXPORT int osci_dmabuf_get(int fd, struct osci_dmabuf **buf_p);
/* Drops a reference; the last one releases the buffer (storage freed, release called). */
OSCI_EXPORT void osci_dmabuf_put(struct osci_dmabuf *buf);
/* Attach with constraints (NULL: none). -EINVAL bad constraints; -EACCES access beyond the exporter's;
 * -EXDEV the constraints conflict with the storage already allocated or with the attachments' (no
 * location in common). An attachment holds a reference. */
OSCI_EXPORT int osci_dmabuf_attach(struct osci_dmabuf *buf, const struct osci_dmabuf_constraints *c,
                                   struct osci_dmabuf_attachment **att_p);
/* -EBUSY while mapped. */
OSCI_EXPORT int osci_dmabuf_detach(struct osci_dmabuf_attachment *att);
/* Allocates the storage at the first map of the buffer (collating every attachment's constraints:
 * -ENOMEM / -EXDEV when none can satisfy them), then gives the importer its view. */
OSCI_EXPORT int osci_dmabuf_map(struct osci_dmabuf_attachment *att, struct osci_dmabuf_map *map);
OSCI_EXPORT int osci_dmabuf_unmap(struct osci_dmabuf_attachment *att, struct osci_dmabuf_map *map);
/* Bracket CPU access (DMA_BUF_IOCTL_SYNC on a kernel dma-buf; a full fence otherwise). end without a
 * matching begin: -EINVAL. */
OSCI_EXPORT int osci_dmabuf_begin_cpu_access(struct osci_dmabuf *buf, uint32_t dir);
OSCI_EXPORT int osci_dmabuf_end_cpu_access(struct osci_dmabuf *buf, uint32_t dir);
/* A CPU mapping of the whole buffer (allocates the storage like a first map); munmap(2) it. */
OSCI_EXPORT int osci_dmabuf_mmap(struct osci_dmabuf *buf, void **addr_p, size_t *len_p);
/* State for tests and tools: allocated (0/1), attachments, references, the storage's location. */
struct osci_dmabuf_state {
    uint32_t allocated, n_attach, refs, n_mapped, location, contiguous;
    uint64_t align;
};
OSCI_EXPORT int osci_dmabuf_state(struct osci_dmabuf *buf, struct osci_dmabuf_state *st);

#ifdef __cplusplus
}
#endif
#endif
