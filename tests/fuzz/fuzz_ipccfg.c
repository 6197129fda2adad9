/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Fuzzes the NvSciIpc configuration parser: any input is accepted or refused with a message, never a crash;
 * an accepted config satisfies the documented rules. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipc_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ipc_cfg cfg;
    char err[256];
    size_t i, j;
    if (ipc__cfg_parse((const char *)data, size, "fuzz.cfg", &cfg, err, sizeof(err)) < 0) {
        if (strncmp(err, "fuzz.cfg:", 9) != 0) abort();   /* every refusal names file and line */
        return 0;
    }
    for (i = 0; i < cfg.n; i++) {
        const struct ipc_cfg_ep *e = &cfg.eps[i];
        size_t len = strnlen(e->name, sizeof(e->name));
        if (len == 0 || len >= NVSCIIPC_MAX_ENDPOINT_NAME) abort();
        if (e->backend == IPC_BE_THREAD || e->backend == IPC_BE_PROCESS || e->backend == IPC_BE_CHIP) {
            if (e->nframes == 0 || e->frame_size == 0 || e->frame_size % 64) abort();
            /* INTER_CHIP: with one of the two from opensci.conf, the product is checked at open */
            if ((uint64_t)e->nframes * e->frame_size > IPC_CFG_MAX_CHANNEL &&
                (e->backend != IPC_BE_CHIP || e->chip_set == (IPC_CHIP_SET_NFRAMES | IPC_CHIP_SET_FRAME_SIZE)))
                abort();
        }
        if (e->backend == IPC_BE_CHIP &&
            (e->peer_node > 255 || e->adapter != e->device_id || e->chip_set > 3 || !e->info_text[0]))
            abort();
        if ((e->backend == IPC_BE_THREAD || e->backend == IPC_BE_PROCESS) &&
            (!ipc__cfg_find(&cfg, e->peer_name) || e->side > 1))
            abort();
        for (j = 0; j < i; j++)
            if (strcmp(cfg.eps[j].name, e->name) == 0) abort();
    }
    ipc__cfg_free(&cfg);
    return 0;
}
