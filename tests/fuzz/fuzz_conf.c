/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Fuzzes both configuration parsers: opensci.conf (adapters, interchip and intervm lines) and hosts.conf. */
#include <stdint.h>
#include <string.h>

#include "osci_drv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct osci_adapter_conf a[OSCI_MAX_ADAPTERS];
    static struct osci_interchip_conf ic[OSCI_IC_MAX];
    static struct osci_intervm_conf q[OSCI_IVM_MAX];
    struct osci_host h[16];
    unsigned int n, n_ic, n_q;
    char err[256];
    int ic_ret;

    ic_ret = osci_conf_parse_interchip("fuzz.conf", (const char *)data, size, ic, OSCI_IC_MAX, &n_ic, err,
                                       sizeof(err));
    if (ic_ret == 0) {
        for (unsigned int i = 0; i < n_ic; i++) {
            if (ic[i].device > OSCI_IC_MAX_DEVICE || ic[i].adapter_no >= OSCI_MAX_ADAPTERS ||
                ic[i].peer_node == 0 || ic[i].peer_node > 255 || ic[i].nframes > OSCI_IC_MAX_NFRAMES ||
                ic[i].frame_size % 64 || ic[i].line == 0 ||
                (uint64_t)ic[i].nframes * ic[i].frame_size > OSCI_IC_MAX_CHANNEL)
                __builtin_trap();
            for (unsigned int j = 0; j < i; j++)
                if (ic[j].device == ic[i].device)
                    __builtin_trap();
        }
    } else if (!memchr(err, '\0', sizeof(err)) || strncmp(err, "fuzz.conf:", 10)) {
        __builtin_trap();
    }
    /* The INTER_VM queue table: in range, no queue twice, no two areas of one device overlapping. */
    if ((osci_conf_parse_intervm("fuzz.conf", (const char *)data, size, q, OSCI_IVM_MAX, &n_q, err, sizeof(err)) ==
         0) != (ic_ret == 0))
        __builtin_trap();
    if (ic_ret == 0) {
        for (unsigned int i = 0; i < n_q; i++) {
            uint64_t end = q[i].offset + OSCI_IVM_AREA(q[i].nframes, q[i].frame_size);
            if (q[i].nframes == 0 || q[i].nframes > OSCI_IVM_MAX_NFRAMES || q[i].frame_size == 0 ||
                q[i].frame_size % 64 || q[i].offset % 64 || q[i].peers[0] == q[i].peers[1] ||
                q[i].peers[0] > OSCI_IVM_MAX_PEER || q[i].peers[1] > OSCI_IVM_MAX_PEER ||
                q[i].vector > OSCI_IVM_MAX_VECTOR || !memchr(q[i].slot, '\0', sizeof(q[i].slot)) || q[i].line == 0)
                __builtin_trap();
            for (unsigned int j = 0; j < i; j++)
                if (q[j].queue == q[i].queue ||
                    (!strcmp(q[j].slot, q[i].slot) && q[j].offset < end &&
                     q[i].offset < q[j].offset + OSCI_IVM_AREA(q[j].nframes, q[j].frame_size)))
                    __builtin_trap();
        }
    }
    /* One file, one verdict. */
    if ((osci_conf_parse("fuzz.conf", (const char *)data, size, a, OSCI_MAX_ADAPTERS, &n, err, sizeof(err)) == 0) !=
        (ic_ret == 0))
        __builtin_trap();
    if (ic_ret == 0) {
        if (n == 0 || n > OSCI_MAX_ADAPTERS)
            __builtin_trap();
        for (unsigned int i = 0; i < n; i++) {
            if (a[i].adapter_no >= OSCI_MAX_ADAPTERS || a[i].n_opts > 16 || a[i].node_id > 255 ||
                !memchr(a[i].driver, '\0', sizeof(a[i].driver)))
                __builtin_trap();
            for (unsigned int k = 0; k < a[i].n_opts; k++)
                if (osci_conf_opt(&a[i], a[i].opts[k].key) == NULL)
                    __builtin_trap();
        }
    } else if (!memchr(err, '\0', sizeof(err)) || strncmp(err, "fuzz.conf:", 10)) {
        __builtin_trap();
    }
    if (osci_hosts_parse("fuzz.hosts", (const char *)data, size, h, 16, &n, err, sizeof(err)) == 0) {
        for (unsigned int i = 0; i < n; i++)
            if (h[i].node_id == 0 || h[i].node_id > 255 || !memchr(h[i].addr, '\0', sizeof(h[i].addr)))
                __builtin_trap();
    } else if (strncmp(err, "fuzz.hosts:", 11)) {
        __builtin_trap();
    }
    return 0;
}
