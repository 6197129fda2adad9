/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* osci_info_config: the effective adapter configuration with the source of every value, for osci-seginfo
 * --config. It loads opensci.conf and the environment as SCIInitialize does (osci_conf_load), then parses
 * the file alone to tell which values the file gave. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seg_obj.h"

#define CONF_DEFAULT "/etc/opensci/opensci.conf"

static void add_opt(struct osci_adapter_config *a, const char *key, const char *value, const char *source)
{
    if (a->n_opts == OSCI_CONFIG_MAX_OPTS)
        return;
    struct osci_config_opt *o = &a->opts[a->n_opts++];
    snprintf(o->key, sizeof(o->key), "%s", key);
    snprintf(o->value, sizeof(o->value), "%s", value);
    snprintf(o->source, sizeof(o->source), "%s", source);
}

OSCI_EXPORT int osci_info_config(struct osci_adapter_config *out, unsigned int max, unsigned int *count_p,
                                 char *path_out, size_t path_len, int *file_found)
{
    struct osci_adapter_conf eff[OSCI_MAX_ADAPTERS], file[OSCI_MAX_ADAPTERS];
    const char *env_path = getenv("OSCI_CONF");
    const char *env_node = getenv("OSCI_NODE_ID");
    const char *path = env_path && *env_path ? env_path : CONF_DEFAULT;
    unsigned int n = 0, nf = 0, k = 0;
    char buf[32];
    int rc;

    if ((!out && max) || !count_p)
        return -EINVAL;
    osci_log_init();
    if (path_out && path_len)
        snprintf(path_out, path_len, "%s", path);
    rc = osci_conf_load(eff, OSCI_MAX_ADAPTERS, &n);
    if (rc < 0)
        return rc;
    rc = osci_conf_read(path, file, OSCI_MAX_ADAPTERS, &nf);   /* to tell which values the file gave */
    if (rc < 0 && rc != -ENOENT)
        return rc;
    if (file_found)
        *file_found = rc == 0;
    for (unsigned int i = 0; i < n && k < max; i++, k++) {
        struct osci_adapter_config *a = &out[k];
        const struct osci_adapter_conf *f = NULL;
        for (unsigned int j = 0; j < nf; j++)
            if (file[j].adapter_no == eff[i].adapter_no)
                f = &file[j];
        memset(a, 0, sizeof(*a));
        a->adapter_no = eff[i].adapter_no;
        snprintf(a->driver, sizeof(a->driver), "%s", eff[i].driver);
        add_opt(a, "driver", eff[i].driver, f ? path : "default (no configuration file: one simntb adapter)");
        if (eff[i].node_id)
            snprintf(buf, sizeof(buf), "%u", eff[i].node_id);
        else
            snprintf(buf, sizeof(buf), "auto");
        add_opt(a, "node_id", buf,
                env_node ? "environment OSCI_NODE_ID"
                : f && f->node_id ? path : "default (the driver picks a free node id at SCIInitialize)");
        for (unsigned int o = 0; o < eff[i].n_opts && o < sizeof(eff[i].opts) / sizeof(eff[i].opts[0]); o++) {
            const char *key = eff[i].opts[o].key, *val = eff[i].opts[o].value, *fv = f ? osci_conf_opt(f, key) : NULL;
            const char *src = "default", *env = osci_conf_opt_env(&eff[i], key);
            char src_env[64];
            if (env) {
                snprintf(src_env, sizeof(src_env), "environment %s", env);
                src = src_env;
            }
            else if (fv && !strcmp(fv, val))
                src = path;
            add_opt(a, key, val, src);
        }
    }
    *count_p = k;
    return 0;
}
