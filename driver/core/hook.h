/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* The fault interposer (hook.c), for the registry only: a table over a driver's filled ops table, and the
 * state each opened instance carries in drv->hook. */
#ifndef OSCI_DRV_HOOK_H
#define OSCI_DRV_HOOK_H

#include "osci_drv.h"

/* *out = *inner with the interposer's msg_send, db_ring, inject and close. */
void osci_hook_table(struct osci_drv_ops *out, const struct osci_drv_ops *inner);
/* The state of one instance of the driver whose filled table is @inner; NULL: out of memory. Freed by the
 * interposed close, or with osci_hook_free() when the driver's open failed. */
struct osci_drv_hook *osci_hook_new(const struct osci_drv_ops *inner, int observe);
void osci_hook_free(struct osci_drv_hook *h);

#endif
