/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * DOCA memory maps, source-compatible with DOCA 2.5's doca_mmap.h (every function of it; the DPA calls
 * of later releases are not provided). OpenSCI's libopensci-buf: an mmap holds one memory range, the
 * devices are OpenSCI adapters, export_pci / export_rdma make the range a segment on a window-device /
 * rdma adapter and return a descriptor, create_from_export connects that segment. The state machine,
 * the errors and the descriptor format: docs/doca.md.
 */
#ifndef DOCA_MMAP_H_
#define DOCA_MMAP_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <doca_dev.h>

#ifdef __cplusplus
extern "C" {
#endif

struct doca_mmap;

/* Called at destroy with the range, when the mmap was started (and the callback not changed since). */
typedef void (doca_mmap_memrange_free_cb_t)(void *addr, size_t len, void *cookie);

/* A zero-size mmap with default attributes (permissions LOCAL_READ_WRITE, 64 devices at most). */
DOCA_STABLE
doca_error_t doca_mmap_create(struct doca_mmap **mmap);
/* NOT_PERMITTED while buffers point into it; implies stop. */
DOCA_STABLE
doca_error_t doca_mmap_destroy(struct doca_mmap *mmap);
/* Validates and freezes the configuration. NOT_PERMITTED on an exported or from-export mmap,
 * INVALID_VALUE without a memory range, BAD_STATE when started. */
DOCA_STABLE
doca_error_t doca_mmap_start(struct doca_mmap *mmap);
/* Frees every export descriptor and invalidates every mmap created from them. NOT_PERMITTED on a
 * from-export mmap or while buffers exist. */
DOCA_STABLE
doca_error_t doca_mmap_stop(struct doca_mmap *mmap);
DOCA_STABLE
doca_error_t doca_mmap_add_dev(struct doca_mmap *mmap, struct doca_dev *dev);
DOCA_STABLE
doca_error_t doca_mmap_rm_dev(struct doca_mmap *mmap, struct doca_dev *dev);

/* Descriptors belong to the mmap and are freed at stop. */
DOCA_STABLE
doca_error_t doca_mmap_export_pci(struct doca_mmap *mmap, const struct doca_dev *dev, const void **export_desc,
				  size_t *export_desc_len);
DOCA_STABLE
doca_error_t doca_mmap_export_rdma(struct doca_mmap *mmap, const struct doca_dev *dev, const void **export_desc,
				   size_t *export_desc_len);
/* An mmap of remote memory (never started; no set_*, add_dev, rm_dev or export on it). */
DOCA_STABLE
doca_error_t doca_mmap_create_from_export(const union doca_data *user_data, const void *export_desc,
					  size_t export_desc_len, struct doca_dev *dev, struct doca_mmap **mmap);

/* Mandatory, settable once (NOT_PERMITTED); BAD_STATE when started; INVALID_VALUE if addr + len
 * overflows. */
DOCA_STABLE
doca_error_t doca_mmap_set_memrange(struct doca_mmap *mmap, void *addr, size_t len);
/* The same for a dma-buf fd (a real dma-buf, e.g. udmabuf, or a memfd); addr NULL: the library maps
 * [dmabuf_offset, dmabuf_offset + len) of it. */
DOCA_STABLE
doca_error_t doca_mmap_set_dmabuf_memrange(struct doca_mmap *mmap, int dmabuf_fd, void *addr, size_t dmabuf_offset,
					   size_t len);
/* BAD_STATE when no range was set. On a from-export mmap: the remote length, and the local mapping's
 * address where the device maps remote memory, else the exporter's address. */
DOCA_STABLE
doca_error_t doca_mmap_get_memrange(const struct doca_mmap *mmap, void **addr, size_t *len);
DOCA_STABLE
doca_error_t doca_mmap_set_free_cb(struct doca_mmap *mmap, doca_mmap_memrange_free_cb_t *free_cb, void *opaque);
DOCA_STABLE
doca_error_t doca_mmap_get_user_data(const struct doca_mmap *mmap, union doca_data *user_data);
DOCA_STABLE
doca_error_t doca_mmap_get_max_num_devices(const struct doca_mmap *mmap, uint32_t *max_num_devices);
DOCA_STABLE
doca_error_t doca_mmap_get_num_bufs(const struct doca_mmap *mmap, uint32_t *num_bufs);
DOCA_STABLE
doca_error_t doca_mmap_get_exported(const struct doca_mmap *mmap, uint8_t *exported);
DOCA_STABLE
doca_error_t doca_mmap_get_from_export(const struct doca_mmap *mmap, uint8_t *from_export);
/* NOT_PERMITTED after the first start. */
DOCA_STABLE
doca_error_t doca_mmap_set_max_num_devices(struct doca_mmap *mmap, uint32_t max_num_devices);
/* enum doca_access_flag bits; INVALID_VALUE for undefined bits or PCI_READ_ONLY with PCI_READ_WRITE. */
DOCA_STABLE
doca_error_t doca_mmap_set_permissions(struct doca_mmap *mmap, uint32_t access_mask);
DOCA_STABLE
doca_error_t doca_mmap_set_user_data(struct doca_mmap *mmap, union doca_data user_data);

/* 1: the device exports over a window (a window-device adapter). */
DOCA_STABLE
doca_error_t doca_mmap_cap_is_export_pci_supported(const struct doca_devinfo *devinfo, uint8_t *mmap_export);
/* 1: the device imports what export_pci made. */
DOCA_STABLE
doca_error_t doca_mmap_cap_is_create_from_export_pci_supported(const struct doca_devinfo *devinfo,
								uint8_t *from_export);

#ifdef __cplusplus
}
#endif

#endif /* DOCA_MMAP_H_ */
