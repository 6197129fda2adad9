/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* DOCA device discovery, source-compatible with DOCA 2.5's doca_dev.h for the subset a doca_mmap
 * program needs. Every OpenSCI adapter is a device (docs/doca.md "Devices"). */
#ifndef DOCA_DEV_H_
#define DOCA_DEV_H_

#include <stdint.h>

#include <doca_compat.h>
#include <doca_error.h>
#include <doca_types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct doca_devinfo;
struct doca_dev;

#define DOCA_DEVINFO_IPV4_ADDR_SIZE 4
#define DOCA_DEVINFO_IPV6_ADDR_SIZE 16
#define DOCA_DEVINFO_MAC_ADDR_SIZE 6
#define DOCA_DEVINFO_IFACE_NAME_SIZE 256
#define DOCA_DEVINFO_IBDEV_NAME_SIZE 64
#define DOCA_DEVINFO_PCI_ADDR_SIZE 13   /* "XXXX:XX:XX.X" and the terminator */
#define DOCA_DEVINFO_PCI_BDF_SIZE 8     /* "XX:XX.X" and the terminator */

/* Every device of this host; free the list with doca_devinfo_destroy_list (devices opened from it stay
 * valid). DOCA_ERROR_NOT_FOUND when there is none, DOCA_ERROR_INITIALIZATION when the fabric cannot be
 * joined. */
DOCA_STABLE
doca_error_t doca_devinfo_create_list(struct doca_devinfo ***dev_list, uint32_t *nb_devs);
DOCA_STABLE
doca_error_t doca_devinfo_destroy_list(struct doca_devinfo **dev_list);

DOCA_STABLE
doca_error_t doca_dev_open(struct doca_devinfo *devinfo, struct doca_dev **dev);
DOCA_STABLE
doca_error_t doca_dev_close(struct doca_dev *dev);
DOCA_STABLE
struct doca_devinfo *doca_dev_as_devinfo(const struct doca_dev *dev);

/* "Domain:Bus:Device.Function" in hex; OpenSCI adapters have a synthetic one (docs/doca.md). */
DOCA_STABLE
doca_error_t doca_devinfo_get_pci_addr_str(const struct doca_devinfo *devinfo, char *pci_addr_str);
/* 1 in *is_equal when pci_addr_str names this device. */
DOCA_STABLE
doca_error_t doca_devinfo_is_equal_pci_addr(const struct doca_devinfo *devinfo, const char *pci_addr_str,
					    uint8_t *is_equal);
DOCA_STABLE
doca_error_t doca_devinfo_get_ibdev_name(const struct doca_devinfo *devinfo, char *ibdev_name, uint32_t size);
DOCA_STABLE
doca_error_t doca_devinfo_get_iface_name(const struct doca_devinfo *devinfo, char *iface_name, uint32_t size);

#ifdef __cplusplus
}
#endif

#endif /* DOCA_DEV_H_ */
