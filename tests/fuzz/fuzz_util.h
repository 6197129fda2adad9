/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Helpers for the fuzzers that run simntb nodes in their own process. */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "osci_drv.h"

/* A fabric of this process's own: "<OSCI_FABRIC or fuzz>-<tag><pid>". */
static inline void fz_fabric_name(char *buf, size_t len, const char *tag)
{
    const char *base = getenv("OSCI_FABRIC");
    snprintf(buf, len, "%.32s-%s%d", base && *base ? base : "fuzz", tag, (int)getpid());
}

/* Opens simntb node `node` on `fabric` with a window of `window` and, when not NULL, `hb_timeout`. */
static inline int fz_simntb_open(struct osci_drv **d_p, uint32_t node, const char *fabric, const char *window,
                                 const char *hb_timeout)
{
    const char *opt[][2] = { { "fabric", fabric }, { "window", window }, { "hb_timeout", hb_timeout } };
    struct osci_adapter_conf c;

    memset(&c, 0, sizeof(c));
    strcpy(c.driver, "simntb");
    c.node_id = node;
    for (unsigned int i = 0; i < 3 && opt[i][1]; i++, c.n_opts++) {
        snprintf(c.opts[i].key, sizeof(c.opts[i].key), "%s", opt[i][0]);
        snprintf(c.opts[i].value, sizeof(c.opts[i].value), "%s", opt[i][1]);
    }
    return osci_drv_open(&c, d_p);
}

#endif
