/* Fuzzes both configuration parsers: opensci.conf and hosts.conf. */
#include <stdint.h>
#include <string.h>

#include "osci_drv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct osci_adapter_conf a[OSCI_MAX_ADAPTERS];
    struct osci_host h[16];
    unsigned int n;
    char err[256];

    if (osci_conf_parse("fuzz.conf", (const char *)data, size, a, OSCI_MAX_ADAPTERS, &n, err, sizeof(err)) == 0) {
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
