/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* libopensci-buf internals: devices (OpenSCI adapters) and the doca_mmap object. docs/doca.md. */
#ifndef BUF_INTERNAL_H
#define BUF_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "doca_dev.h"
#include "doca_mmap.h"
#include "opensci/osci_export.h"

#define BUF_DEV_MAGIC  0x44434f44u   /* "DOCD" */
#define BUF_MMAP_MAGIC 0x4d434f44u   /* "DOCM" */

struct doca_devinfo {
    struct osci_export_adapter ad;
    char pci_addr[DOCA_DEVINFO_PCI_ADDR_SIZE];
};

struct doca_dev {
    uint32_t magic;
    struct doca_devinfo info;
};

/* errno -> doca_error_t (the API edge). */
doca_error_t buf_doca_err(int rc);
/* SCIInitialize / SCITerminate, counted (devinfo lists and open devices hold one). */
int buf_lib_get(void);
void buf_lib_put(void);

#endif
