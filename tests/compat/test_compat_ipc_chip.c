/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* NVIDIA's NvSciIpc read and write flows (compat_ipc.h) over INTER_CHIP between two forked processes, nodes
 * 1 and 2 of a private simntb fabric, each with its own config naming the same endpoint: with WaitForEvent
 * and with select(), writer first and reader first, COMPAT_RUNS runs each. Every frame written before the writer's
 * close is read, in order and intact, then CONN_RESET; the reader does not spin. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "compat_ipc.h"

#define NFRAMES 16

/* libseg revokes the map of a segment whose owner left by mapping zero pages over it (see test_ipc_chip.c). */
__attribute__((visibility("default"))) const char *__tsan_default_suppressions(void);
__attribute__((visibility("default"))) const char *__tsan_default_suppressions(void)
{
    return "race:sn_rmem_revoke\n";
}

static void node_setup(const struct compat_prog *p)
{
    tnode_ipc_cfg(cfg_dir, p->node, "#CFGVER:1\nINTER_CHIP %s 0000 36000 peer=%u nframes=%d frame_size=64\n", p->ep,
                  p->peer, NFRAMES);   /* on failure the program's open fails and says so */
}

/* Both nodes name the same endpoint. */
static void endpoints(int k, const char *tag, char *ep_w, char *ep_r, size_t len)
{
    snprintf(ep_w, len, "ipcev_cc%d_%d_%s", (int)getpid(), k, tag);
    snprintf(ep_r, len, "%s", ep_w);
}

static const struct compat_backend chip = {
    "INTER_CHIP", node_setup, endpoints, 1, 16, 4 /* the close's last notes: interrupt, segment callbacks */, NULL
};

COMPAT_TESTS(chip, "compat_chip", ipc_dir_setup, ipc_dir_teardown)
