/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Window-device core: what its own files share and providers do not see. */
#ifndef WDEV_INT_H
#define WDEV_INT_H

#include "wdev.h"

#define MOD "wdev"
#define WD_SWEEP_MS 5                 /* provider sweep at most this often from progress() */

struct wd_pwin {                      /* a mapped peer window incarnation */
    struct osci_list_node link;       /* in wdev.pwins */
    unsigned int port;
    uint64_t epoch;
    int fd;
    off_t fd_off;                     /* the window's start in fd */
    uint8_t *base;
    size_t size;
    unsigned int refs;
};

struct wd_map { struct osci_list_node link; void *addr; size_t len; int prot; };   /* in rmem.maps */

struct osci_drv_mem { uint64_t off, size; };

struct osci_drv_rmem {
    struct wd_pwin *pw;
    unsigned int port;
    uint32_t node;
    uint64_t epoch, off, size;
    int revoked;
    struct osci_list_head maps;       /* under the instance lock */
};

static inline struct wdev *to_wd(struct osci_drv *d) { return (struct wdev *)d; }

#endif
