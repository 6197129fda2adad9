/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * OpenSCI extensions to doca_mmap (libopensci-buf), in place of DOCA's buffer and DMA libraries:
 * copy to and from a from-export mmap, map one where the device allows, take a buffer reference on an
 * mmap, and the rdma export capability. docs/doca.md "OpenSCI extensions".
 */
#ifndef OPENSCI_DOCA_OSCI_H
#define OPENSCI_DOCA_OSCI_H

#include <stddef.h>
#include <stdint.h>

#include <doca_mmap.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Copy len bytes between [offset, offset + len) of a from-export mmap's remote memory and local memory.
 * NOT_PERMITTED: the exporter did not grant write (copy_to); INVALID_VALUE: out of range or not a
 * from-export mmap; CONNECTION_RESET: the exporter stopped or went away. */
DOCA_STABLE
doca_error_t doca_osci_mmap_copy_to(struct doca_mmap *mmap, size_t offset, const void *src, size_t len);
DOCA_STABLE
doca_error_t doca_osci_mmap_copy_from(struct doca_mmap *mmap, size_t offset, void *dst, size_t len);
/* DOCA_SUCCESS while the exporter's memory is reachable, CONNECTION_RESET once it stopped. */
DOCA_STABLE
doca_error_t doca_osci_mmap_check(const struct doca_mmap *mmap);

/* A buffer reference: the mmap's range (a started local mmap) or a load/store mapping of the remote
 * memory (a from-export mmap whose device maps remote memory; NOT_SUPPORTED otherwise). Each counts in
 * doca_mmap_get_num_bufs until doca_osci_mmap_unmap; stop and destroy fail while any is held. A mapping
 * of a stopped exporter's memory no longer reaches it (reads zeros, writes are lost). */
DOCA_STABLE
doca_error_t doca_osci_mmap_map(struct doca_mmap *mmap, void **addr, size_t *len);
DOCA_STABLE
doca_error_t doca_osci_mmap_unmap(struct doca_mmap *mmap, void *addr);

/* 1: the device exports registered memory for rdma (doca_mmap_export_rdma) and imports it. */
DOCA_STABLE
doca_error_t doca_osci_cap_is_export_rdma_supported(const struct doca_devinfo *devinfo, uint8_t *mmap_export);
/* The OpenSCI adapter number and this process's node id on it. */
DOCA_STABLE
doca_error_t doca_osci_devinfo_get_adapter(const struct doca_devinfo *devinfo, uint32_t *adapter_no,
					   uint32_t *node_id);

/* What an export descriptor says (the key itself is not given out). */
struct doca_osci_desc_info {
	uint32_t version;                /* format version */
	uint32_t kind;                   /* 1 pci (export_pci), 2 rdma (export_rdma) */
	uint32_t length;                 /* bytes */
	uint32_t node_id, adapter_no, segment_id;
	uint64_t size, addr;             /* bytes; the exporter's address of the range */
	uint32_t access;                 /* enum doca_access_flag bits granted */
	uint32_t xport_len;              /* transport bytes */
	uint32_t checksum;               /* CRC-32 */
};
/* Decodes and checks a descriptor as create_from_export does, without connecting anything.
 * INVALID_VALUE (malformed, truncated, bad checksum), UNSUPPORTED_VERSION (another format version). */
DOCA_STABLE
doca_error_t doca_osci_desc_decode(const void *desc, size_t len, struct doca_osci_desc_info *info);

#ifdef __cplusplus
}
#endif
#endif
