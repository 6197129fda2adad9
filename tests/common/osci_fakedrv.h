/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * A fake transfer driver for tests of what libseg hands a driver (memory by descriptor): an adapter of it
 * exports the view it is given and records it, packs 8 bytes, has no peers, and fails every transfer.
 * Without OSCI_DRV_CAP_EXPORT_FOREIGN its mem_export answers -EXDEV, as simntb does.
 */
#ifndef OSCI_FAKEDRV_H
#define OSCI_FAKEDRV_H

#include "osci_drv.h"

struct fakedrv {
    const char *name;                   /* the driver name an opensci.conf adapter line gives */
    uint32_t caps;                      /* what query reports */
    unsigned int n_export, n_unexport;  /* mem_export and mem_unexport calls */
    struct osci_drv_mem_view seen;      /* the view of the last mem_export */
};

/* Registers the fakes (up to 4 over a program's life) and makes `conf` (opensci.conf text naming them) the
 * configuration: OSCI_CONF names a file /tmp/osci-<tag>-XXXXXX holding it, the heartbeat is off. 0 or -1. */
int fakedrv_start(const char *tag, const char *conf, struct fakedrv *const fakes[], unsigned int n);
/* Undoes the configuration of fakedrv_start. */
void fakedrv_stop(void);

#endif
