/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Configuration: opensci.conf (adapters, NvSciIpc's interchip device mapping) and hosts.conf
 * (node id -> address). The parsers are pure (text in, tables out) so they can be fuzzed; *_load
 * and osci_conf_interchip add the files and the environment.
 * Any malformed line is an error "<file>:<line>: <reason>", never a silent skip.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "osci_conf.h"
#include "osci_file.h"
#include "osci_log.h"

#define CONF_LINE_MAX 1024
#define CONF_FILE_MAX (1u << 20)   /* opensci.conf, hosts.conf (osci_read_file: regular files only) */
#define CONF_DEFAULT_PATH "/etc/opensci/opensci.conf"
#define HOSTS_DEFAULT_PATH "/etc/opensci/hosts.conf"

struct conf_cursor {
    const char *path;
    const char *p, *end;
    unsigned int lineno;
    char line[CONF_LINE_MAX + 1];
    char *err;
    size_t errlen;
};

static int conf_err(struct conf_cursor *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int conf_err(struct conf_cursor *c, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (c->err && c->errlen) {
        n = snprintf(c->err, c->errlen, "%s:%u: ", c->path, c->lineno);
        if (n >= 0 && (size_t)n < c->errlen) {
            va_start(ap, fmt);
            vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return -EINVAL;
}

/* Next line without comment and surrounding blanks: 1, 0 at end, <0 on error. */
static int conf_next_line(struct conf_cursor *c)
{
    const char *nl;
    size_t len;
    char *s, *hash;

    if (c->p >= c->end)
        return 0;
    c->lineno++;
    nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
    len = nl ? (size_t)(nl - c->p) : (size_t)(c->end - c->p);
    if (len > CONF_LINE_MAX)
        return conf_err(c, "line longer than %d characters", CONF_LINE_MAX);
    if (memchr(c->p, '\0', len))
        return conf_err(c, "NUL byte in line");
    memcpy(c->line, c->p, len);
    c->line[len] = '\0';
    c->p += len + (nl ? 1 : 0);
    if (len && c->line[len - 1] == '\r')
        c->line[--len] = '\0';
    if ((hash = strchr(c->line, '#')))
        *hash = '\0';
    for (s = c->line; *s; s++)
        if (!isprint((unsigned char)*s) && *s != '\t')
            return conf_err(c, "control character 0x%02x in line", (unsigned char)*s);
    return 1;
}

/* Splits on blanks; returns the number of fields or <0 when there are more than max. */
static int conf_split(char *s, char **f, int max)
{
    int n = 0;
    for (;;) {
        while (*s == ' ' || *s == '\t')
            s++;
        if (!*s)
            return n;
        if (n == max)
            return -1;
        f[n++] = s;
        while (*s && *s != ' ' && *s != '\t')
            s++;
        if (*s)
            *s++ = '\0';
    }
}

static int conf_uint(const char *s, unsigned long max, unsigned long *v_p)
{
    unsigned long v = 0;
    if (!*s || strlen(s) > 10)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (unsigned long)(*s - '0');
    }
    if (v > max)
        return -1;
    *v_p = v;
    return 0;
}

static int conf_node_id(const char *s, uint32_t *id_p)
{
    unsigned long v;
    if (conf_uint(s, 255, &v) < 0 || v == 0)
        return -1;
    *id_p = (uint32_t)v;
    return 0;
}

/* Names of drivers and option keys: a lowercase letter, then [a-z0-9_]. */
static int conf_ident_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n >= max || !(s[0] >= 'a' && s[0] <= 'z'))
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

static int conf_parse_adapter(struct conf_cursor *c, char **f, int nf, struct osci_adapter_conf *a,
                              unsigned int *seen)
{
    unsigned long no;

    memset(a, 0, sizeof(*a));
    if (nf < 3)
        return conf_err(c, "expected \"adapter <number> <driver> [key=value ...]\"");
    if (conf_uint(f[1], 1000000, &no) < 0)
        return conf_err(c, "adapter number \"%s\" is not a decimal number", f[1]);
    if (no >= OSCI_MAX_ADAPTERS)
        return conf_err(c, "adapter number %lu out of range (0..%d)", no, OSCI_MAX_ADAPTERS - 1);
    if (*seen & (1u << no))
        return conf_err(c, "adapter %lu defined twice", no);
    if (!conf_ident_ok(f[2], sizeof(a->driver)))
        return conf_err(c, "bad driver name \"%s\" (a lowercase letter, then [a-z0-9_], under %zu characters)",
                        f[2], sizeof(a->driver));
    a->adapter_no = (unsigned int)no;
    strcpy(a->driver, f[2]);
    for (int i = 3; i < nf; i++) {
        char *eq = strchr(f[i], '=');
        if (!eq || eq == f[i])
            return conf_err(c, "driver option \"%s\" is not key=value", f[i]);
        *eq = '\0';
        const char *key = f[i], *val = eq + 1;
        if (!conf_ident_ok(key, sizeof(a->opts[0].key)))
            return conf_err(c, "bad option key \"%s\"", key);
        if (!*val)
            return conf_err(c, "option %s has an empty value", key);
        if (strlen(val) >= sizeof(a->opts[0].value))
            return conf_err(c, "value of option %s longer than %zu characters", key, sizeof(a->opts[0].value) - 1);
        if (!strcmp(key, "node_id")) {
            if (a->node_id)
                return conf_err(c, "option node_id given twice");
            if (conf_node_id(val, &a->node_id) < 0)
                return conf_err(c, "node_id \"%s\" is not in 1..255", val);
            continue;
        }
        for (unsigned int k = 0; k < a->n_opts; k++)
            if (!strcmp(a->opts[k].key, key))
                return conf_err(c, "option %s given twice", key);
        if (a->n_opts == sizeof(a->opts) / sizeof(a->opts[0]))
            return conf_err(c, "more than %zu driver options", sizeof(a->opts) / sizeof(a->opts[0]));
        strcpy(a->opts[a->n_opts].key, key);
        strcpy(a->opts[a->n_opts].value, val);
        a->n_opts++;
    }
    *seen |= 1u << no;
    return 0;
}

/* Field f of a `what` line, "key=value" with key one of `keys` (NULL-terminated; `names` lists them for the
 * error): the key's index, its value into *val_p. A key found twice is refused (`seen`: a bit per index). */
static int conf_kv(struct conf_cursor *c, const char *what, char *f, const char *const *keys, const char *names,
                   unsigned int *seen, const char **val_p)
{
    char *eq = strchr(f, '=');
    int k;

    if (!eq || eq == f)
        return conf_err(c, "%s field \"%s\" is not key=value", what, f);
    *eq = '\0';
    for (k = 0; keys[k] && strcmp(f, keys[k]); k++)
        ;
    if (!keys[k])
        return conf_err(c, "unknown %s key \"%s\" (%s)", what, f, names);
    if (*seen & (1u << k))
        return conf_err(c, "%s key %s given twice", what, f);
    *seen |= 1u << k;
    *val_p = eq + 1;
    return k;
}

/* One "interchip" line into *ic; `prev` are the lines before it (no device mapped twice). */
static int conf_parse_interchip(struct conf_cursor *c, char **f, int nf, struct osci_interchip_conf *ic,
                                const struct osci_interchip_conf *prev, unsigned int n_prev)
{
    static const char *const keys[] = { "adapter", "peer", "nframes", "frame_size", NULL };
    enum { K_ADAPTER, K_PEER, K_NFRAMES, K_FSIZE };
    unsigned int seen = 0;
    unsigned long v;

    memset(ic, 0, sizeof(*ic));
    if (nf < 2)
        return conf_err(c, "expected \"interchip <device> [adapter=<n>] peer=<node> [nframes=<n>] "
                        "[frame_size=<bytes>]\"");
    if (strlen(f[1]) > 4 || conf_uint(f[1], OSCI_IC_MAX_DEVICE, &v) < 0)
        return conf_err(c, "interchip device \"%s\" is not 1 to 4 decimal digits (nvsciipc.cfg's backend info, "
                        "e.g. 0105)", f[1]);
    ic->device = (uint32_t)v;
    for (unsigned int i = 0; i < n_prev; i++)
        if (prev[i].device == ic->device)
            return conf_err(c, "interchip device %s already mapped on line %u", f[1], prev[i].line);
    for (int i = 2; i < nf; i++) {
        const char *val;
        int k = conf_kv(c, "interchip", f[i], keys, "adapter, peer, nframes or frame_size", &seen, &val);
        if (k < 0)
            return k;
        if (k == K_ADAPTER) {
            if (conf_uint(val, OSCI_MAX_ADAPTERS - 1, &v) < 0)
                return conf_err(c, "adapter=\"%s\" is not an adapter number in 0..%d", val, OSCI_MAX_ADAPTERS - 1);
            ic->adapter_no = (unsigned int)v;
        } else if (k == K_PEER) {
            if (conf_node_id(val, &ic->peer_node) < 0)
                return conf_err(c, "peer=\"%s\" is not a node id in 1..255", val);
        } else if (k == K_NFRAMES) {
            if (conf_uint(val, OSCI_IC_MAX_NFRAMES, &v) < 0 || v == 0)
                return conf_err(c, "nframes=\"%s\" is not in 1..%u", val, OSCI_IC_MAX_NFRAMES);
            ic->nframes = (uint32_t)v;
        } else {
            if (conf_uint(val, OSCI_IC_MAX_CHANNEL, &v) < 0 || v == 0 || v % 64)
                return conf_err(c, "frame_size=\"%s\" is not a nonzero multiple of 64 up to %u", val,
                                OSCI_IC_MAX_CHANNEL);
            ic->frame_size = (uint32_t)v;
        }
    }
    if (!ic->peer_node)
        return conf_err(c, "interchip device %s has no peer=<node>", f[1]);
    if (ic->nframes && ic->frame_size && (uint64_t)ic->nframes * ic->frame_size > OSCI_IC_MAX_CHANNEL)
        return conf_err(c, "channel of %u frames of %u bytes exceeds %u bytes", ic->nframes, ic->frame_size,
                        OSCI_IC_MAX_CHANNEL);
    ic->line = c->lineno;
    return 0;
}

/* "dddd:bb:ss.f" or "bb:ss.f" (hex) into "dddd:bb:ss.f"; -1 when malformed. */
static int conf_pci_slot(const char *s, char out[16])
{
    unsigned int d = 0, b, sl, f;
    char tail;
    if (strlen(s) > 12)
        return -1;
    if (sscanf(s, "%4x:%2x:%2x.%1x%c", &d, &b, &sl, &f, &tail) != 4) {
        d = 0;
        if (sscanf(s, "%2x:%2x.%1x%c", &b, &sl, &f, &tail) != 3)
            return -1;
    }
    for (; *s; s++)
        if (!isxdigit((unsigned char)*s) && *s != ':' && *s != '.')
            return -1;
    if (sl > 0x1f || f > 7)
        return -1;
    snprintf(out, 16, "%04x:%02x:%02x.%x", d & 0xffffu, b & 0xffu, sl & 0xffu, f & 7u);
    return 0;
}

/* One "intervm" line into *q; `prev` are the lines before it (no queue twice, no overlapping areas on one
 * device). */
static int conf_parse_intervm(struct conf_cursor *c, char **f, int nf, struct osci_intervm_conf *q,
                              const struct osci_intervm_conf *prev, unsigned int n_prev)
{
    static const char *const keys[] = { "slot", "offset", "peers", "nframes", "frame_size", "vector", NULL };
    enum { K_SLOT, K_OFFSET, K_PEERS, K_NFRAMES, K_FSIZE, K_VECTOR };
    const unsigned int need = 1u << K_OFFSET | 1u << K_PEERS | 1u << K_NFRAMES | 1u << K_FSIZE;
    unsigned int seen = 0;
    unsigned long v;
    uint64_t end;

    memset(q, 0, sizeof(*q));
    if (nf < 2)
        return conf_err(c, "expected \"intervm <queue id> [slot=<pci address>] offset=<bytes> peers=<id>,<id> "
                        "nframes=<n> frame_size=<bytes> [vector=<n>]\"");
    if (conf_uint(f[1], UINT32_MAX, &v) < 0)
        return conf_err(c, "intervm queue id \"%s\" is not a decimal number (nvsciipc.cfg's INTER_VM queue id)",
                        f[1]);
    q->queue = (uint32_t)v;
    for (unsigned int i = 0; i < n_prev; i++)
        if (prev[i].queue == q->queue)
            return conf_err(c, "intervm queue %s already defined on line %u", f[1], prev[i].line);
    for (int i = 2; i < nf; i++) {
        const char *val;
        int k = conf_kv(c, "intervm", f[i], keys, "slot, offset, peers, nframes, frame_size or vector", &seen,
                        &val);
        if (k < 0)
            return k;
        if (k == K_SLOT) {
            if (conf_pci_slot(val, q->slot) < 0)
                return conf_err(c, "slot=\"%s\" is not a PCI address (dddd:bb:ss.f or bb:ss.f)", val);
        } else if (k == K_OFFSET) {
            if (conf_uint(val, UINT32_MAX, &v) < 0 || v % 64)
                return conf_err(c, "offset=\"%s\" is not a multiple of 64 below 4 GiB", val);
            q->offset = v;
        } else if (k == K_PEERS) {
            char *comma = strchr(val, ',');
            unsigned long a, b;
            if (!comma)
                return conf_err(c, "peers=\"%s\" is not two ivshmem ids <id>,<id>", val);
            *comma = '\0';
            if (conf_uint(val, OSCI_IVM_MAX_PEER, &a) < 0 || conf_uint(comma + 1, OSCI_IVM_MAX_PEER, &b) < 0)
                return conf_err(c, "peers=\"%s,%s\" is not two ivshmem ids in 0..%u", val, comma + 1,
                                OSCI_IVM_MAX_PEER);
            if (a == b)
                return conf_err(c, "peers=%lu,%lu names one machine twice", a, b);
            q->peers[0] = (uint32_t)a;
            q->peers[1] = (uint32_t)b;
        } else if (k == K_NFRAMES) {
            if (conf_uint(val, OSCI_IVM_MAX_NFRAMES, &v) < 0 || v == 0)
                return conf_err(c, "nframes=\"%s\" is not in 1..%u", val, OSCI_IVM_MAX_NFRAMES);
            q->nframes = (uint32_t)v;
        } else if (k == K_FSIZE) {
            if (conf_uint(val, OSCI_IVM_MAX_FRAME, &v) < 0 || v == 0 || v % 64)
                return conf_err(c, "frame_size=\"%s\" is not a nonzero multiple of 64 up to %u", val,
                                OSCI_IVM_MAX_FRAME);
            q->frame_size = (uint32_t)v;
        } else {
            if (conf_uint(val, OSCI_IVM_MAX_VECTOR, &v) < 0)
                return conf_err(c, "vector=\"%s\" is not in 0..%u", val, OSCI_IVM_MAX_VECTOR);
            q->vector = (uint32_t)v;
        }
    }
    if ((seen & need) != need)
        return conf_err(c, "intervm queue %s needs offset=, peers=, nframes= and frame_size=", f[1]);
    end = q->offset + OSCI_IVM_AREA(q->nframes, q->frame_size);
    for (unsigned int i = 0; i < n_prev; i++) {
        const struct osci_intervm_conf *o = &prev[i];
        if (strcmp(o->slot, q->slot))
            continue;
        if (q->offset < o->offset + OSCI_IVM_AREA(o->nframes, o->frame_size) && o->offset < end)
            return conf_err(c, "intervm queue %s: its area (bytes %llu..%llu of BAR2) overlaps queue %u's (line %u)",
                            f[1], (unsigned long long)q->offset, (unsigned long long)end - 1, o->queue, o->line);
    }
    q->line = c->lineno;
    return 0;
}

/* The whole file into ad[OSCI_MAX_ADAPTERS], ic[OSCI_IC_MAX] and ivm[OSCI_IVM_MAX]. */
static int conf_parse_all(const char *path, const char *text, size_t len, struct osci_adapter_conf *tmp,
                          unsigned int *n_p, struct osci_interchip_conf *ic, unsigned int *n_ic_p,
                          struct osci_intervm_conf *ivm, unsigned int *n_ivm_p, char *err, size_t errlen)
{
    struct conf_cursor *c;
    unsigned int n = 0, n_ic = 0, n_ivm = 0, seen = 0;
    uint32_t def_node = 0;
    int ret, r;

    c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->path = path ? path : "(config)";
    c->p = text;
    c->end = text + len;
    c->err = err;
    c->errlen = errlen;
    while ((r = conf_next_line(c)) > 0) {
        char *f[24];
        int nf = conf_split(c->line, f, 24);
        if (nf < 0) {
            ret = conf_err(c, "too many fields");
            goto out_free;
        }
        if (nf == 0)
            continue;
        if (!strcmp(f[0], "adapter")) {
            if (n == OSCI_MAX_ADAPTERS) {
                ret = conf_err(c, "more than %d adapters", OSCI_MAX_ADAPTERS);
                goto out_free;
            }
            if ((ret = conf_parse_adapter(c, f, nf, &tmp[n], &seen)) < 0)
                goto out_free;
            n++;
            continue;
        }
        if (!strcmp(f[0], "interchip")) {
            if (n_ic == OSCI_IC_MAX) {
                ret = conf_err(c, "more than %d interchip lines", OSCI_IC_MAX);
                goto out_free;
            }
            if ((ret = conf_parse_interchip(c, f, nf, &ic[n_ic], ic, n_ic)) < 0)
                goto out_free;
            n_ic++;
            continue;
        }
        if (!strcmp(f[0], "intervm")) {
            if (n_ivm == OSCI_IVM_MAX) {
                ret = conf_err(c, "more than %d intervm lines", OSCI_IVM_MAX);
                goto out_free;
            }
            if ((ret = conf_parse_intervm(c, f, nf, &ivm[n_ivm], ivm, n_ivm)) < 0)
                goto out_free;
            n_ivm++;
            continue;
        }
        /* "node_id = 4", "node_id=4", "node_id =4", "node_id= 4" */
        if (!strcmp(f[0], "node_id") || !strncmp(f[0], "node_id=", 8)) {
            const char *val = NULL;
            if (!strcmp(f[0], "node_id")) {
                if (nf >= 2 && f[1][0] == '=')
                    val = f[1][1] ? (nf == 2 ? f[1] + 1 : NULL) : (nf == 3 ? f[2] : NULL);
            } else {
                val = f[0][8] ? (nf == 1 ? f[0] + 8 : NULL) : (nf == 2 ? f[1] : NULL);
            }
            if (!val) {
                ret = conf_err(c, "expected \"node_id = <1..255>\"");
                goto out_free;
            }
            if (def_node) {
                ret = conf_err(c, "node_id given twice");
                goto out_free;
            }
            if (conf_node_id(val, &def_node) < 0) {
                ret = conf_err(c, "node_id \"%s\" is not in 1..255", val);
                goto out_free;
            }
            continue;
        }
        ret = conf_err(c, "unknown directive \"%s\" (expected \"adapter\", \"interchip\", \"intervm\" or \"node_id\")", f[0]);
        goto out_free;
    }
    if (r < 0) {
        ret = r;
        goto out_free;
    }
    if (n == 0) {
        /* Only global settings: the default adapter. */
        tmp[0].adapter_no = 0;
        strcpy(tmp[0].driver, "simntb");
        n = 1;
        seen = 1;
    }
    for (unsigned int i = 0; i < n_ic; i++)
        if (!(seen & (1u << ic[i].adapter_no))) {
            c->lineno = ic[i].line;
            ret = conf_err(c, "interchip device %u: adapter %u is not configured in this file", ic[i].device,
                           ic[i].adapter_no);
            goto out_free;
        }
    for (unsigned int i = 0; i < n; i++)
        if (!tmp[i].node_id)
            tmp[i].node_id = def_node;
    *n_p = n;
    *n_ic_p = n_ic;
    *n_ivm_p = n_ivm;
    ret = 0;
out_free:
    free(c);
    return ret;
}

/* Parses the whole text; copies the adapters into `out` (when `count_p`) and the interchip lines into
 * `ic_out` (when `ic_count_p`), refusing more than the caller has room for. */
static int conf_parse_into(const char *path, const char *text, size_t len, struct osci_adapter_conf *out,
                           unsigned int max, unsigned int *count_p, struct osci_interchip_conf *ic_out,
                           unsigned int ic_max, unsigned int *ic_count_p, struct osci_intervm_conf *ivm_out,
                           unsigned int ivm_max, unsigned int *ivm_count_p, char *err, size_t errlen)
{
    struct osci_adapter_conf *tmp;
    struct osci_interchip_conf *ic;
    struct osci_intervm_conf *ivm;
    const char *where = path ? path : "(config)";
    unsigned int n = 0, n_ic = 0, n_ivm = 0;
    int ret;

    if (err && errlen)
        err[0] = '\0';
    if (!text || (count_p && !out && max) || (ic_count_p && !ic_out && ic_max) || (ivm_count_p && !ivm_out && ivm_max))
        return -EINVAL;
    tmp = calloc(OSCI_MAX_ADAPTERS, sizeof(*tmp));
    ic = calloc(OSCI_IC_MAX, sizeof(*ic));
    ivm = calloc(OSCI_IVM_MAX, sizeof(*ivm));
    if (!tmp || !ic || !ivm) {
        ret = -ENOMEM;
        goto out_free;
    }
    if ((ret = conf_parse_all(path, text, len, tmp, &n, ic, &n_ic, ivm, &n_ivm, err, errlen)) < 0)
        goto out_free;
    ret = -EINVAL;
    if (count_p && n > max) {
        if (err && errlen)
            snprintf(err, errlen, "%s:0: %u adapters configured, room for %u", where, n, max);
        goto out_free;
    }
    if (ic_count_p && n_ic > ic_max) {
        if (err && errlen)
            snprintf(err, errlen, "%s:0: %u interchip lines, room for %u", where, n_ic, ic_max);
        goto out_free;
    }
    if (ivm_count_p && n_ivm > ivm_max) {
        if (err && errlen)
            snprintf(err, errlen, "%s:0: %u intervm lines, room for %u", where, n_ivm, ivm_max);
        goto out_free;
    }
    if (count_p) {
        memcpy(out, tmp, n * sizeof(*tmp));
        *count_p = n;
    }
    if (ivm_count_p) {
        memcpy(ivm_out, ivm, n_ivm * sizeof(*ivm));
        *ivm_count_p = n_ivm;
    }
    if (ic_count_p) {
        memcpy(ic_out, ic, n_ic * sizeof(*ic));
        *ic_count_p = n_ic;
    }
    ret = 0;
out_free:
    free(ivm);
    free(ic);
    free(tmp);
    return ret;
}

int osci_conf_parse(const char *path, const char *text, size_t len, struct osci_adapter_conf *out,
                    unsigned int max, unsigned int *count_p, char *err, size_t errlen)
{
    if (!count_p)
        return -EINVAL;
    return conf_parse_into(path, text, len, out, max, count_p, NULL, 0, NULL, NULL, 0, NULL, err, errlen);
}

int osci_conf_parse_interchip(const char *path, const char *text, size_t len, struct osci_interchip_conf *out,
                              unsigned int max, unsigned int *count_p, char *err, size_t errlen)
{
    if (!count_p)
        return -EINVAL;
    return conf_parse_into(path, text, len, NULL, 0, NULL, out, max, count_p, NULL, 0, NULL, err, errlen);
}

int osci_conf_parse_intervm(const char *path, const char *text, size_t len, struct osci_intervm_conf *out,
                            unsigned int max, unsigned int *count_p, char *err, size_t errlen)
{
    if (!count_p)
        return -EINVAL;
    return conf_parse_into(path, text, len, NULL, 0, NULL, NULL, 0, NULL, out, max, count_p, err, errlen);
}

const char *osci_conf_opt(const struct osci_adapter_conf *conf, const char *key)
{
    if (!conf || !key)
        return NULL;
    for (unsigned int i = 0; i < conf->n_opts && i < sizeof(conf->opts) / sizeof(conf->opts[0]); i++)
        if (!strcmp(conf->opts[i].key, key))
            return conf->opts[i].value;
    return NULL;
}

static int conf_set_opt(struct osci_adapter_conf *a, const char *key, const char *val)
{
    unsigned int i;
    if (strlen(val) >= sizeof(a->opts[0].value))
        return -ENAMETOOLONG;
    for (i = 0; i < a->n_opts; i++)
        if (!strcmp(a->opts[i].key, key))
            break;
    if (i == a->n_opts) {
        if (a->n_opts == sizeof(a->opts) / sizeof(a->opts[0]))
            return -E2BIG;
        snprintf(a->opts[i].key, sizeof(a->opts[i].key), "%s", key);
        a->n_opts++;
    }
    snprintf(a->opts[i].value, sizeof(a->opts[i].value), "%s", val);
    return 0;
}

const char *osci_conf_opt_env(const struct osci_adapter_conf *conf, const char *key)
{
    if (!strcmp(conf->driver, "simntb") && !strcmp(key, "fabric") && getenv("OSCI_FABRIC"))
        return "OSCI_FABRIC";
    return NULL;
}

int osci_conf_read(const char *path, struct osci_adapter_conf *out, unsigned int max, unsigned int *count_p)
{
    char err[512];
    char *text;
    size_t len;
    int ret = osci_read_file(path, CONF_FILE_MAX, "conf", &text, &len);

    if (ret < 0)
        return ret;
    ret = osci_conf_parse(path, text, len, out, max, count_p, err, sizeof(err));
    free(text);
    if (ret < 0)
        osci_log(OSCI_LOG_ERROR, "conf", "%s", err);
    return ret;
}

int osci_conf_load(struct osci_adapter_conf *out, unsigned int max, unsigned int *count_p)
{
    const char *env_path = getenv("OSCI_CONF");
    const char *path = env_path && *env_path ? env_path : CONF_DEFAULT_PATH;
    const char *fabric = getenv("OSCI_FABRIC");
    const char *node_env = getenv("OSCI_NODE_ID");
    struct osci_adapter_conf tmp[OSCI_MAX_ADAPTERS];
    unsigned int n;
    uint32_t node = 0;
    int ret;

    osci_log_init();
    if (!out || !count_p)
        return -EINVAL;
    if (node_env && conf_node_id(node_env, &node) < 0) {
        osci_log(OSCI_LOG_ERROR, "conf", "OSCI_NODE_ID=\"%s\" is not a node id in 1..255", node_env);
        return -EINVAL;
    }
    if (fabric && (!*fabric || strlen(fabric) >= sizeof(tmp[0].opts[0].value))) {
        osci_log(OSCI_LOG_ERROR, "conf", "OSCI_FABRIC must be 1..%zu characters", sizeof(tmp[0].opts[0].value) - 1);
        return -EINVAL;
    }
    ret = osci_conf_read(path, tmp, OSCI_MAX_ADAPTERS, &n);
    if (ret == -ENOENT && path != env_path) {
        memset(tmp, 0, sizeof(tmp));
        strcpy(tmp[0].driver, "simntb");
        n = 1;
    } else if (ret < 0) {
        if (ret == -ENOENT)
            osci_log(OSCI_LOG_ERROR, "conf", "cannot read %s: %s", path, strerror(-ret));
        return ret;
    }
    if (n > max) {
        osci_log(OSCI_LOG_ERROR, "conf", "%s: %u adapters configured, room for %u", path, n, max);
        return -E2BIG;
    }
    for (unsigned int i = 0; i < n; i++) {
        if (node)
            tmp[i].node_id = node;
        if (osci_conf_opt_env(&tmp[i], "fabric") || (!strcmp(tmp[i].driver, "simntb") &&
                                                    !osci_conf_opt(&tmp[i], "fabric"))) {
            ret = conf_set_opt(&tmp[i], "fabric", fabric ? fabric : "default");
            if (ret < 0) {
                osci_log(OSCI_LOG_ERROR, "conf", "adapter %u: cannot set fabric: %s", tmp[i].adapter_no,
                         strerror(-ret));
                return ret;
            }
        }
    }
    memcpy(out, tmp, n * sizeof(tmp[0]));
    *count_p = n;
    return 0;
}

/* The text of OSCI_CONF or the default opensci.conf for a lookup (its path into path_out): 0, -ENOENT when
 * the default file does not exist (nothing configured), -EINVAL (logged) when the file OSCI_CONF names is
 * missing, other errors (logged) when unreadable. */
static int conf_read_for_lookup(char *path_out, size_t path_len, const char **path_p, char **text_p, size_t *len_p)
{
    const char *env_path = getenv("OSCI_CONF");
    const char *path = env_path && *env_path ? env_path : CONF_DEFAULT_PATH;
    int ret;

    osci_log_init();
    *path_p = path;
    if (path_len)
        snprintf(path_out, path_len, "%s", path);
    ret = osci_read_file(path, CONF_FILE_MAX, "conf", text_p, len_p);
    if (ret == -ENOENT && path != env_path)
        return -ENOENT;
    if (ret == -ENOENT) {
        osci_log(OSCI_LOG_ERROR, "conf", "cannot read %s: %s", path, strerror(-ret));
        return -EINVAL;
    }
    return ret;
}

/* One lookup for both tables: the interchip line of `key` into ic_out, or the intervm line into ivm_out
 * (the other one NULL), with the returns osci_conf_interchip and osci_conf_intervm document. */
static int conf_lookup(uint32_t key, struct osci_interchip_conf *ic_out, struct osci_intervm_conf *ivm_out,
                       char *path_out, size_t path_len)
{
    struct osci_interchip_conf *ic;
    struct osci_intervm_conf *ivm;
    const char *path;
    char err[512];
    char *text = NULL;
    size_t len = 0;
    unsigned int n_ic = 0, n_ivm = 0;
    int ret;

    if ((ret = conf_read_for_lookup(path_out, path_len, &path, &text, &len)) < 0)
        return ret;   /* -ENOENT: no file, nothing is mapped */
    ic = calloc(OSCI_IC_MAX, sizeof(*ic));
    ivm = calloc(OSCI_IVM_MAX, sizeof(*ivm));
    if (!ic || !ivm) {
        ret = -ENOMEM;
        goto out;
    }
    ret = conf_parse_into(path, text, len, NULL, 0, NULL, ic, OSCI_IC_MAX, &n_ic, ivm, OSCI_IVM_MAX, &n_ivm, err,
                          sizeof(err));
    if (ret < 0) {
        osci_log(OSCI_LOG_ERROR, "conf", "%s", err);
        goto out;
    }
    ret = -ENOENT;
    for (unsigned int i = 0; ic_out && i < n_ic && ret; i++)
        if (ic[i].device == key) {
            *ic_out = ic[i];
            ret = 0;
        }
    for (unsigned int i = 0; ivm_out && i < n_ivm && ret; i++)
        if (ivm[i].queue == key) {
            *ivm_out = ivm[i];
            ret = 0;
        }
out:
    free(ivm);
    free(ic);
    free(text);
    return ret;
}

int osci_conf_interchip(uint32_t device, struct osci_interchip_conf *out, char *path_out, size_t path_len)
{
    return out ? conf_lookup(device, out, NULL, path_out, path_len) : -EINVAL;
}

int osci_conf_intervm(uint32_t queue, struct osci_intervm_conf *out, char *path_out, size_t path_len)
{
    return out ? conf_lookup(queue, NULL, out, path_out, path_len) : -EINVAL;
}

/* ---- hosts.conf ---- */

int osci_hosts_parse(const char *path, const char *text, size_t len, struct osci_host *out, unsigned int max,
                     unsigned int *count_p, char *err, size_t errlen)
{
    struct conf_cursor *c;
    unsigned int n = 0;
    int ret = 0, r;

    if (err && errlen)
        err[0] = '\0';
    if (!text || !count_p || (!out && max))
        return -EINVAL;
    c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->path = path ? path : "(hosts)";
    c->p = text;
    c->end = text + len;
    c->err = err;
    c->errlen = errlen;
    while ((r = conf_next_line(c)) > 0) {
        char *f[3];
        uint32_t id;
        int nf = conf_split(c->line, f, 3);
        if (nf == 0)
            continue;
        if (nf != 2) {
            ret = conf_err(c, "expected \"<node_id> <address>\"");
            goto out;
        }
        if (conf_node_id(f[0], &id) < 0) {
            ret = conf_err(c, "node id \"%s\" is not in 1..255", f[0]);
            goto out;
        }
        if (strlen(f[1]) >= sizeof(out[0].addr)) {
            ret = conf_err(c, "address longer than %zu characters", sizeof(out[0].addr) - 1);
            goto out;
        }
        for (unsigned int i = 0; i < n; i++)
            if (out[i].node_id == id) {
                ret = conf_err(c, "node id %u listed twice", id);
                goto out;
            }
        if (n == max) {
            ret = conf_err(c, "more than %u hosts", max);
            goto out;
        }
        out[n].node_id = id;
        strcpy(out[n].addr, f[1]);
        n++;
    }
    if (r < 0) {
        ret = r;
        goto out;
    }
    *count_p = n;
out:
    free(c);
    return ret;
}

int osci_hosts_load(struct osci_host *out, unsigned int max, unsigned int *count_p)
{
    const char *env_path = getenv("OSCI_HOSTS");
    const char *path = env_path && *env_path ? env_path : HOSTS_DEFAULT_PATH;
    char err[512];
    char *text = NULL;
    size_t len = 0;
    int ret;

    osci_log_init();
    if (!count_p || (!out && max))
        return -EINVAL;
    ret = osci_read_file(path, CONF_FILE_MAX, "conf", &text, &len);
    if (ret == -ENOENT && path != env_path) {
        *count_p = 0;
        return 0;
    }
    if (ret < 0) {
        if (ret == -ENOENT)
            osci_log(OSCI_LOG_ERROR, "conf", "cannot read %s: %s", path, strerror(-ret));
        return ret;
    }
    ret = osci_hosts_parse(path, text, len, out, max, count_p, err, sizeof(err));
    free(text);
    if (ret < 0)
        osci_log(OSCI_LOG_ERROR, "conf", "%s", err);
    return ret;
}
