/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * DOCA device discovery over OpenSCI adapters (docs/doca.md "Devices"): every configured adapter is a
 * device; its capabilities come from what its driver states (libsisci's osci_export_adapters), and its
 * PCI address is synthetic, 05c1:<adapter>:00.0.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf_internal.h"
#include "opensci/doca_osci.h"
#include "osci_conf.h"
#include "sisci_api.h"

#define PCI_DOMAIN 0x05c1u

doca_error_t buf_doca_err(int rc)
{
    switch (-rc) {
    case 0: return DOCA_SUCCESS;
    case EINVAL: case ERANGE: case EMSGSIZE: case EBADMSG: case EPROTONOSUPPORT: return DOCA_ERROR_INVALID_VALUE;
    /* what a stale or forged descriptor gets from the exporter's side: refused, gone, no such node */
    case EPERM: case EACCES: case ENOENT: case EHOSTUNREACH: case EADDRNOTAVAIL: case ECONNREFUSED:
        return DOCA_ERROR_NOT_PERMITTED;
    case EHOSTDOWN: return DOCA_ERROR_NOT_CONNECTED;
    case ENOMEM: case ENOSPC: return DOCA_ERROR_NO_MEMORY;
    case EOPNOTSUPP: return DOCA_ERROR_NOT_SUPPORTED;
    case ETIMEDOUT: return DOCA_ERROR_TIME_OUT;
    case ECONNRESET: return DOCA_ERROR_CONNECTION_RESET;
    case ENOLINK: return DOCA_ERROR_NOT_CONNECTED;
    case ENODEV: return DOCA_ERROR_NOT_FOUND;
    case ESHUTDOWN: return DOCA_ERROR_INITIALIZATION;
    case EBUSY: return DOCA_ERROR_IN_USE;
    case EIO: return DOCA_ERROR_DRIVER;
    default: return DOCA_ERROR_OPERATING_SYSTEM;
    }
}

int buf_lib_get(void)
{
    sci_error_t err;
    SCIInitialize(0, &err);
    return err == SCI_ERR_OK ? 0 : -ESHUTDOWN;
}

void buf_lib_put(void)
{
    SCITerminate();
}

DOCA_STABLE doca_error_t doca_devinfo_create_list(struct doca_devinfo ***dev_list, uint32_t *nb_devs)
{
    struct osci_export_adapter ad[OSCI_MAX_ADAPTERS];
    struct doca_devinfo **list;
    unsigned int n = 0;
    int rc;

    if (!dev_list || !nb_devs)
        return DOCA_ERROR_INVALID_VALUE;
    if (buf_lib_get() < 0)
        return DOCA_ERROR_INITIALIZATION;
    rc = osci_export_adapters(ad, OSCI_MAX_ADAPTERS, &n);
    if (rc < 0 || n == 0) {
        buf_lib_put();
        return rc < 0 ? buf_doca_err(rc) : DOCA_ERROR_NOT_FOUND;
    }
    if (n > OSCI_MAX_ADAPTERS)
        n = OSCI_MAX_ADAPTERS;
    /* one block: n pointers, a NULL, then the entries */
    list = calloc(1, (n + 1) * sizeof(*list) + n * sizeof(struct doca_devinfo));
    if (!list) {
        buf_lib_put();
        return DOCA_ERROR_NO_MEMORY;
    }
    for (unsigned int i = 0; i < n; i++) {
        struct doca_devinfo *d = (struct doca_devinfo *)(list + n + 1) + i;
        d->ad = ad[i];
        snprintf(d->pci_addr, sizeof(d->pci_addr), "%04x:%02x:00.0", PCI_DOMAIN, ad[i].adapter_no & 0xffu);
        list[i] = d;
    }
    *dev_list = list;
    *nb_devs = n;
    return DOCA_SUCCESS;
}

DOCA_STABLE doca_error_t doca_devinfo_destroy_list(struct doca_devinfo **dev_list)
{
    if (!dev_list)
        return DOCA_ERROR_INVALID_VALUE;
    free(dev_list);
    buf_lib_put();
    return DOCA_SUCCESS;
}

DOCA_STABLE doca_error_t doca_dev_open(struct doca_devinfo *devinfo, struct doca_dev **dev)
{
    struct doca_dev *d;

    if (!devinfo || !dev)
        return DOCA_ERROR_INVALID_VALUE;
    d = calloc(1, sizeof(*d));
    if (!d)
        return DOCA_ERROR_NO_MEMORY;
    if (buf_lib_get() < 0) {
        free(d);
        return DOCA_ERROR_INITIALIZATION;
    }
    d->magic = BUF_DEV_MAGIC;
    d->info = *devinfo;
    *dev = d;
    return DOCA_SUCCESS;
}

DOCA_STABLE doca_error_t doca_dev_close(struct doca_dev *dev)
{
    if (!dev || dev->magic != BUF_DEV_MAGIC)
        return DOCA_ERROR_INVALID_VALUE;
    dev->magic = 0;
    free(dev);
    buf_lib_put();
    return DOCA_SUCCESS;
}

DOCA_STABLE struct doca_devinfo *doca_dev_as_devinfo(const struct doca_dev *dev)
{
    if (!dev || dev->magic != BUF_DEV_MAGIC)
        return NULL;
    return (struct doca_devinfo *)&dev->info;
}

DOCA_STABLE doca_error_t doca_devinfo_get_pci_addr_str(const struct doca_devinfo *devinfo, char *pci_addr_str)
{
    if (!devinfo || !pci_addr_str)
        return DOCA_ERROR_INVALID_VALUE;
    memcpy(pci_addr_str, devinfo->pci_addr, DOCA_DEVINFO_PCI_ADDR_SIZE);
    return DOCA_SUCCESS;
}

DOCA_STABLE doca_error_t doca_devinfo_is_equal_pci_addr(const struct doca_devinfo *devinfo, const char *pci_addr_str,
                                                        uint8_t *is_equal)
{
    unsigned int dom, bus, devn, fn;
    char tail;

    if (!devinfo || !pci_addr_str || !is_equal)
        return DOCA_ERROR_INVALID_VALUE;
    /* "DDDD:BB:DD.F", or "BB:DD.F" in domain 0 */
    if (sscanf(pci_addr_str, "%x:%x:%x.%x%c", &dom, &bus, &devn, &fn, &tail) == 4) {
    } else if (sscanf(pci_addr_str, "%x:%x.%x%c", &bus, &devn, &fn, &tail) == 3) {
        dom = 0;
    } else {
        return DOCA_ERROR_INVALID_VALUE;
    }
    *is_equal = dom == PCI_DOMAIN && bus == (devinfo->ad.adapter_no & 0xffu) && devn == 0 && fn == 0;
    return DOCA_SUCCESS;
}

static doca_error_t copy_name(const char *name, char *out, uint32_t size)
{
    size_t n = strlen(name);
    if (!out || size == 0)
        return DOCA_ERROR_INVALID_VALUE;
    if (n + 1 > size)
        return DOCA_ERROR_INVALID_VALUE;
    memcpy(out, name, n + 1);
    return DOCA_SUCCESS;
}

/* The adapter's device / fabric name as its driver states it. */
DOCA_STABLE doca_error_t doca_devinfo_get_ibdev_name(const struct doca_devinfo *devinfo, char *ibdev_name,
                                                     uint32_t size)
{
    if (!devinfo)
        return DOCA_ERROR_INVALID_VALUE;
    return copy_name(devinfo->ad.name, ibdev_name, size);
}

/* OpenSCI adapters have no network interface of their own. */
DOCA_STABLE doca_error_t doca_devinfo_get_iface_name(const struct doca_devinfo *devinfo, char *iface_name,
                                                     uint32_t size)
{
    if (!devinfo || !iface_name || !size)
        return DOCA_ERROR_INVALID_VALUE;
    return DOCA_ERROR_NOT_SUPPORTED;
}

DOCA_STABLE doca_error_t doca_mmap_cap_is_export_pci_supported(const struct doca_devinfo *devinfo, uint8_t *mmap_export)
{
    if (!devinfo || !mmap_export)
        return DOCA_ERROR_INVALID_VALUE;
    *mmap_export = (devinfo->ad.caps & OSCI_EXPORT_CAP_WINDOW) != 0;
    return DOCA_SUCCESS;
}

DOCA_STABLE doca_error_t doca_mmap_cap_is_create_from_export_pci_supported(const struct doca_devinfo *devinfo,
                                                                           uint8_t *from_export)
{
    if (!devinfo || !from_export)
        return DOCA_ERROR_INVALID_VALUE;
    *from_export = (devinfo->ad.caps & OSCI_EXPORT_CAP_WINDOW) != 0;
    return DOCA_SUCCESS;
}

DOCA_STABLE doca_error_t doca_osci_cap_is_export_rdma_supported(const struct doca_devinfo *devinfo,
                                                                uint8_t *mmap_export)
{
    if (!devinfo || !mmap_export)
        return DOCA_ERROR_INVALID_VALUE;
    *mmap_export = (devinfo->ad.caps & OSCI_EXPORT_CAP_RDMA) != 0;
    return DOCA_SUCCESS;
}

DOCA_STABLE doca_error_t doca_osci_devinfo_get_adapter(const struct doca_devinfo *devinfo, uint32_t *adapter_no,
                                                       uint32_t *node_id)
{
    if (!devinfo)
        return DOCA_ERROR_INVALID_VALUE;
    if (adapter_no)
        *adapter_no = devinfo->ad.adapter_no;
    if (node_id)
        *node_id = devinfo->ad.node_id;
    return DOCA_SUCCESS;
}

static const char *const err_names[] = {
#define E(n, d) [n] = #n,
#include "doca_errlist.h"
#undef E
};
static const char *const err_descr[] = {
#define E(n, d) [n] = d,
#include "doca_errlist.h"
#undef E
};

DOCA_STABLE const char *doca_error_get_name(doca_error_t error)
{
    if ((unsigned int)error >= sizeof(err_names) / sizeof(err_names[0]) || !err_names[error])
        return "DOCA_ERROR_UNKNOWN";
    return err_names[error];
}

DOCA_STABLE const char *doca_error_get_descr(doca_error_t error)
{
    if ((unsigned int)error >= sizeof(err_descr) / sizeof(err_descr[0]) || !err_descr[error])
        return "Unknown error";
    return err_descr[error];
}
