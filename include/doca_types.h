/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Common DOCA types, source-compatible with DOCA 2.5's doca_types.h (the part doca_mmap and device
 * discovery use). OpenSCI's libopensci-buf; docs/doca.md. */
#ifndef DOCA_TYPES_H_
#define DOCA_TYPES_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A Linux file descriptor to poll for completions or events. */
typedef int doca_event_handle_t;
#define doca_event_invalid_handle -1
typedef doca_event_handle_t doca_notification_handle_t;
#define doca_notification_invalid_handle -1

/* A user identifier: a pointer or a 64-bit value. */
union doca_data {
	void *ptr;
	uint64_t u64;
};

/* Who may access the memory of an mmap (doca_mmap_set_permissions). The local device can always read
 * it; PCI_READ_ONLY and PCI_READ_WRITE exclude each other. */
enum doca_access_flag {
	DOCA_ACCESS_FLAG_LOCAL_READ_ONLY = 0,
	DOCA_ACCESS_FLAG_LOCAL_READ_WRITE = (1 << 0),
	DOCA_ACCESS_FLAG_RDMA_READ = (1 << 1),
	DOCA_ACCESS_FLAG_RDMA_WRITE = (1 << 2),
	DOCA_ACCESS_FLAG_RDMA_ATOMIC = (1 << 3),
	DOCA_ACCESS_FLAG_PCI_READ_ONLY = (1 << 4),
	DOCA_ACCESS_FLAG_PCI_READ_WRITE = (1 << 5),
	DOCA_ACCESS_FLAG_PCI_RELAXED_ORDERING = (1 << 6),
};

/* A list of memory ranges. */
struct doca_gather_list {
	void *addr;
	uint64_t len;
	struct doca_gather_list *next;
};

enum doca_pci_func_type {
	DOCA_PCI_FUNC_TYPE_PF = 0,
	DOCA_PCI_FUNC_TYPE_VF,
	DOCA_PCI_FUNC_TYPE_SF,
};

#ifdef __cplusplus
}
#endif

#endif /* DOCA_TYPES_H_ */
