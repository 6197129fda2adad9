/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* The NvSciIpc configuration file: DRIVE OS's "#CFGVER:1" format and the older plain format. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipc_internal.h"
#include "osci_conf.h"
#include "osci_file.h"
#include "osci_log.h"

#define CFG_MAX_FIELDS 12
#define CFG_MAX_FILE (4u << 20)   /* nvsciipc.cfg (osci_read_file: regular files only) */

_Static_assert(IPC_CFG_MAX_NFRAMES == OSCI_IC_MAX_NFRAMES && IPC_CFG_MAX_CHANNEL == OSCI_IC_MAX_CHANNEL,
               "opensci.conf's interchip limits are NvSciIpc's");

static const char *const be_names[IPC_BE_COUNT] = {
    [IPC_BE_THREAD] = "INTER_THREAD",
    [IPC_BE_PROCESS] = "INTER_PROCESS",
    [IPC_BE_VM] = "INTER_VM",
    [IPC_BE_CHIP] = "INTER_CHIP",
};

const char *ipc__backend_name(enum ipc_backend be)
{
    return (unsigned)be < IPC_BE_COUNT ? be_names[be] : "?";
}

struct field {
    const char *p;
    size_t len;
};

struct parser {
    const char *path;
    uint32_t line;
    char *err;
    size_t err_len;
    struct ipc_cfg *cfg;
    size_t cap;
};

__attribute__((format(printf, 2, 3)))
static int fail(struct parser *ps, const char *fmt, ...)
{
    char reason[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    if (ps->err_len) snprintf(ps->err, ps->err_len, "%s:%u: %s", ps->path, ps->line, reason);
    return -EINVAL;
}

static int field_is(const struct field *f, const char *s)
{
    return f->len == strlen(s) && memcmp(f->p, s, f->len) == 0;
}

/* Decimal, no sign, no overflow past `max`. */
static int parse_u32(const struct field *f, uint32_t max, uint32_t *out)
{
    uint64_t v = 0;
    size_t i;
    if (f->len == 0 || f->len > 10) return -EINVAL;
    for (i = 0; i < f->len; i++) {
        if (f->p[i] < '0' || f->p[i] > '9') return -EINVAL;
        v = v * 10 + (uint64_t)(f->p[i] - '0');
    }
    if (v > max) return -ERANGE;
    *out = (uint32_t)v;
    return 0;
}

static int parse_name(struct parser *ps, const struct field *f, char *out)
{
    size_t i;
    if (f->len >= NVSCIIPC_MAX_ENDPOINT_NAME)
        return fail(ps, "endpoint name '%.*s...' is %zu bytes, the limit is %u", 16, f->p, f->len,
                    NVSCIIPC_MAX_ENDPOINT_NAME - 1);
    for (i = 0; i < f->len; i++)
        if ((unsigned char)f->p[i] < 0x21 || (unsigned char)f->p[i] > 0x7e)
            return fail(ps, "endpoint name contains a non-printable byte 0x%02x", (unsigned char)f->p[i]);
    memcpy(out, f->p, f->len);
    out[f->len] = '\0';
    return 0;
}

static int parse_gid(struct parser *ps, const struct field *f, int64_t *gid)
{
    uint32_t v;
    if (parse_u32(f, UINT32_MAX - 1, &v) < 0)
        return fail(ps, "gid '%.*s' is not a decimal group id", (int)(f->len > 32 ? 32 : f->len), f->p);
    *gid = v;
    return 0;
}

static struct ipc_cfg_ep *new_ep(struct parser *ps)
{
    struct ipc_cfg *cfg = ps->cfg;
    if (cfg->n == ps->cap) {
        size_t cap = ps->cap ? ps->cap * 2 : 16;
        struct ipc_cfg_ep *eps = realloc(cfg->eps, cap * sizeof(*eps));
        if (!eps) return NULL;
        cfg->eps = eps;
        ps->cap = cap;
    }
    memset(&cfg->eps[cfg->n], 0, sizeof(cfg->eps[0]));
    cfg->eps[cfg->n].line = ps->line;
    cfg->eps[cfg->n].gid = IPC_GID_NONE;
    return &cfg->eps[cfg->n++];
}

static int check_unique(struct parser *ps, const char *name)
{
    size_t i;
    for (i = 0; i < ps->cfg->n; i++)
        if (strcmp(ps->cfg->eps[i].name, name) == 0)
            return fail(ps, "endpoint '%s' already defined on line %u", name, ps->cfg->eps[i].line);
    return 0;
}

static int parse_nframes(struct parser *ps, const struct field *fn, uint32_t *nframes)
{
    if (parse_u32(fn, IPC_CFG_MAX_NFRAMES, nframes) < 0 || *nframes == 0)
        return fail(ps, "nframes '%.*s' must be a number from 1 to %u", (int)(fn->len > 32 ? 32 : fn->len), fn->p,
                    IPC_CFG_MAX_NFRAMES);
    return 0;
}

static int parse_frame_size(struct parser *ps, const struct field *fs, uint32_t *frame_size)
{
    if (parse_u32(fs, IPC_CFG_MAX_CHANNEL, frame_size) < 0 || *frame_size == 0 || *frame_size % 64)
        return fail(ps, "frame_size '%.*s' must be a nonzero multiple of 64", (int)(fs->len > 32 ? 32 : fs->len),
                    fs->p);
    return 0;
}

static int check_channel(struct parser *ps, uint32_t nframes, uint32_t frame_size)
{
    if ((uint64_t)nframes * frame_size > IPC_CFG_MAX_CHANNEL)
        return fail(ps, "channel of %u frames of %u bytes exceeds %u bytes", nframes, frame_size,
                    IPC_CFG_MAX_CHANNEL);
    return 0;
}

static int parse_geometry(struct parser *ps, const struct field *fn, const struct field *fs, uint32_t *nframes,
                          uint32_t *frame_size)
{
    int ret;
    if ((ret = parse_nframes(ps, fn, nframes)) < 0 || (ret = parse_frame_size(ps, fs, frame_size)) < 0) return ret;
    return check_channel(ps, *nframes, *frame_size);
}

static int parse_pair(struct parser *ps, enum ipc_backend be, const struct field *f, int nf)
{
    char n0[NVSCIIPC_MAX_ENDPOINT_NAME], n1[NVSCIIPC_MAX_ENDPOINT_NAME];
    uint32_t nframes, frame_size;
    int64_t gid = IPC_GID_NONE;
    struct ipc_cfg_ep *a, *b;
    int ret;

    if (nf < 5 || nf > 6)
        return fail(ps, "%s needs <ep1> <ep2> <nframes> <frame_size> [<gid>], got %d fields", be_names[be], nf);
    if ((ret = parse_name(ps, &f[1], n0)) < 0 || (ret = parse_name(ps, &f[2], n1)) < 0) return ret;
    if (strcmp(n0, n1) == 0) return fail(ps, "both ends are named '%s'", n0);
    if ((ret = check_unique(ps, n0)) < 0 || (ret = check_unique(ps, n1)) < 0) return ret;
    if ((ret = parse_geometry(ps, &f[3], &f[4], &nframes, &frame_size)) < 0) return ret;
    if (nf == 6 && (ret = parse_gid(ps, &f[5], &gid)) < 0) return ret;
    if (!(a = new_ep(ps)) || !(b = new_ep(ps))) return -ENOMEM;
    a = &ps->cfg->eps[ps->cfg->n - 2];   /* new_ep may have moved the array */
    snprintf(a->name, sizeof(a->name), "%s", n0);
    snprintf(a->peer_name, sizeof(a->peer_name), "%s", n1);
    snprintf(b->name, sizeof(b->name), "%s", n1);
    snprintf(b->peer_name, sizeof(b->peer_name), "%s", n0);
    a->backend = b->backend = be;
    a->side = 0;
    b->side = 1;
    a->nframes = b->nframes = nframes;
    a->frame_size = b->frame_size = frame_size;
    a->gid = b->gid = gid;
    return 0;
}

/* INTER_VM, INTER_CHIP. A geometry field on an INTER_CHIP line is checked alone here, the product of the
 * two only when the line gives both: else at open (ipc__chip_route), once opensci.conf may have given one. */
static int parse_single(struct parser *ps, enum ipc_backend be, const struct field *f, int nf)
{
    char name[NVSCIIPC_MAX_ENDPOINT_NAME];
    struct ipc_cfg_ep *e;
    uint32_t info, nframes = IPC_CHIP_DEFAULT_NFRAMES, frame_size = IPC_CHIP_DEFAULT_FRAME_SIZE, peer = 0, set = 0;
    int64_t gid = IPC_GID_NONE;
    int i, ret;

    if (nf < 3)
        return fail(ps, "%s needs <endpoint> <backend info> [<gid>], got %d fields", be_names[be], nf);
    if ((ret = parse_name(ps, &f[1], name)) < 0 || (ret = check_unique(ps, name)) < 0) return ret;
    if (parse_u32(&f[2], UINT32_MAX, &info) < 0)
        return fail(ps, "backend info '%.*s' is not a decimal number", (int)(f[2].len > 32 ? 32 : f[2].len), f[2].p);
    if (be == IPC_BE_CHIP && ps->cfg->version >= 1 && f[2].len != 4)
        return fail(ps, "INTER_CHIP backend info must be four digits <xfer_role><device_id>, got '%.*s'",
                    (int)(f[2].len > 32 ? 32 : f[2].len), f[2].p);
    for (i = 3; i < nf; i++) {
        const struct field *x = &f[i];
        if (i == 3 && x->len && x->p[0] >= '0' && x->p[0] <= '9') {
            if ((ret = parse_gid(ps, x, &gid)) < 0) return ret;
        } else if (be == IPC_BE_CHIP && x->len > 5 && !memcmp(x->p, "peer=", 5) && !peer) {
            struct field v = { x->p + 5, x->len - 5 };
            if (parse_u32(&v, 255, &peer) < 0 || peer == 0)
                return fail(ps, "peer='%.*s' is not a node id in 1..255", (int)(v.len > 32 ? 32 : v.len), v.p);
        } else if (be == IPC_BE_CHIP && x->len > 8 && !memcmp(x->p, "nframes=", 8) &&
                   !(set & IPC_CHIP_SET_NFRAMES)) {
            struct field v = { x->p + 8, x->len - 8 };
            if ((ret = parse_nframes(ps, &v, &nframes)) < 0) return ret;
            set |= IPC_CHIP_SET_NFRAMES;
        } else if (be == IPC_BE_CHIP && x->len > 11 && !memcmp(x->p, "frame_size=", 11) &&
                   !(set & IPC_CHIP_SET_FRAME_SIZE)) {
            struct field v = { x->p + 11, x->len - 11 };
            if ((ret = parse_frame_size(ps, &v, &frame_size)) < 0) return ret;
            set |= IPC_CHIP_SET_FRAME_SIZE;
        } else {
            return fail(ps, "unexpected field '%.*s'", (int)(x->len > 32 ? 32 : x->len), x->p);
        }
    }
    if (set == (IPC_CHIP_SET_NFRAMES | IPC_CHIP_SET_FRAME_SIZE) && (ret = check_channel(ps, nframes, frame_size)) < 0)
        return ret;
    if (!(e = new_ep(ps))) return -ENOMEM;
    snprintf(e->name, sizeof(e->name), "%s", name);
    snprintf(e->info_text, sizeof(e->info_text), "%.*s", (int)f[2].len, f[2].p);
    e->backend = be;
    e->backend_info = info;
    e->gid = gid;
    if (be == IPC_BE_CHIP) {
        if (ps->cfg->version >= 1) {
            e->xfer_role = info / 100;
            e->device_id = info % 100;
        } else {
            e->device_id = info;
        }
        e->adapter = e->device_id;
        e->peer_node = peer;
        e->chip_set = set;
        e->nframes = nframes;
        e->frame_size = frame_size;
    }
    return 0;
}

static int parse_line(struct parser *ps, const char *p, size_t len)
{
    struct field f[CFG_MAX_FIELDS];
    int nf = 0, be;
    size_t i = 0;

    while (i < len) {
        size_t start;
        while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r')) i++;
        if (i >= len || p[i] == '#') break;
        start = i;
        while (i < len && p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '#') i++;
        if (nf == CFG_MAX_FIELDS) return fail(ps, "too many fields");
        f[nf++] = (struct field){ p + start, i - start };
    }
    if (nf == 0) return 0;
    for (be = 0; be < IPC_BE_COUNT; be++)
        if (field_is(&f[0], be_names[be])) break;
    if (be == IPC_BE_COUNT)
        return fail(ps, "unknown backend '%.*s' (INTER_THREAD, INTER_PROCESS, INTER_VM or INTER_CHIP)",
                    (int)(f[0].len > 32 ? 32 : f[0].len), f[0].p);
    if (be == IPC_BE_THREAD || be == IPC_BE_PROCESS) return parse_pair(ps, (enum ipc_backend)be, f, nf);
    return parse_single(ps, (enum ipc_backend)be, f, nf);
}

/* "#CFGVER:1" among the comment lines before the first entry selects the newer format. */
static int detect_version(const char *text, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t e = i, s;
        while (e < len && text[e] != '\n') e++;
        s = i;
        while (s < e && (text[s] == ' ' || text[s] == '\t' || text[s] == '\r')) s++;
        if (s < e && text[s] != '#') return 0;
        if (e - s >= 9 && !memcmp(text + s, "#CFGVER:", 8)) {
            size_t k = s + 8;
            int v = 0;
            while (k < e && text[k] >= '0' && text[k] <= '9' && v < 1000) v = v * 10 + (text[k++] - '0');
            if (v >= 1) return v;
        }
        i = e + 1;
    }
    return 0;
}

int ipc__cfg_parse(const char *text, size_t len, const char *path, struct ipc_cfg *cfg, char *err, size_t err_len)
{
    struct parser ps = { .path = path ? path : "(config)", .err = err, .err_len = err_len, .cfg = cfg };
    size_t i = 0;
    int ret = 0;

    memset(cfg, 0, sizeof(*cfg));
    if (err_len) err[0] = '\0';
    cfg->version = detect_version(text, len);
    if (cfg->version > 1) {
        ps.line = 1;
        return fail(&ps, "unsupported #CFGVER:%d (this library reads 1)", cfg->version);
    }
    while (i < len && ret == 0) {
        size_t e = i;
        while (e < len && text[e] != '\n') e++;
        ps.line++;
        if (memchr(text + i, '\0', e - i)) ret = fail(&ps, "NUL byte in line");
        else ret = parse_line(&ps, text + i, e - i);
        i = e + 1;
    }
    if (ret < 0) {
        if (ret == -ENOMEM) fail(&ps, "out of memory");
        ipc__cfg_free(cfg);
    }
    return ret;
}

int ipc__cfg_load(const char *path, struct ipc_cfg *cfg)
{
    char err[512];
    char *buf;
    size_t len;
    int ret;

    /* a regular file of at most CFG_MAX_FILE bytes (a FIFO, device or directory is refused, never read) */
    ret = osci_read_file(path, CFG_MAX_FILE, "ipc", &buf, &len);
    if (ret < 0) {
        if (ret == -ENOENT) osci_log(OSCI_LOG_ERROR, "ipc", "cannot open config %s: %s", path, strerror(-ret));
        return ret;
    }
    ret = ipc__cfg_parse(buf, len, path, cfg, err, sizeof(err));
    if (ret < 0) osci_log(OSCI_LOG_ERROR, "ipc", "%s", err);
    free(buf);
    return ret;
}

void ipc__cfg_free(struct ipc_cfg *cfg)
{
    free(cfg->eps);
    cfg->eps = NULL;
    cfg->n = 0;
}

const struct ipc_cfg_ep *ipc__cfg_find(const struct ipc_cfg *cfg, const char *name)
{
    size_t i;
    for (i = 0; i < cfg->n; i++)
        if (strcmp(cfg->eps[i].name, name) == 0) return &cfg->eps[i];
    return NULL;
}

int ipc__chip_route(struct ipc_cfg_ep *ep)
{
    struct osci_interchip_conf ic = { 0 };
    char path[256] = "opensci.conf";
    int ret;

    ret = ep->backend_info > OSCI_IC_MAX_DEVICE ? -ENOENT : osci_conf_interchip(ep->backend_info, &ic, path,
                                                                                 sizeof(path));
    if (ret == -ENOENT) {
        if (!ep->peer_node && ep->backend_info > OSCI_IC_MAX_DEVICE) {
            osci_log(OSCI_LOG_ERROR, "ipc", "%s: INTER_CHIP device %s (config line %u) is not mapped: no peer=<node> "
                     "on the line, and opensci.conf maps device numbers 0..%u only", ep->name, ep->info_text,
                     ep->line, OSCI_IC_MAX_DEVICE);
            return -ENODEV;
        }
        if (!ep->peer_node) {
            osci_log(OSCI_LOG_ERROR, "ipc", "%s: INTER_CHIP device %s (config line %u) is not mapped: no \"interchip "
                     "%s peer=<node>\" line in %s and no peer=<node> on the line", ep->name, ep->info_text, ep->line,
                     ep->info_text, path);
            return -ENODEV;
        }
        /* the line's own peer=, on adapter <device_id>: as before mappings */
    } else if (ret < 0) {
        return ret == -ENOMEM ? ret : -EPROTO;   /* logged by osci_conf_interchip */
    } else {
        ep->adapter = ic.adapter_no;
        if (!ep->peer_node) ep->peer_node = ic.peer_node;
        if (!(ep->chip_set & IPC_CHIP_SET_NFRAMES) && ic.nframes) ep->nframes = ic.nframes;
        if (!(ep->chip_set & IPC_CHIP_SET_FRAME_SIZE) && ic.frame_size) ep->frame_size = ic.frame_size;
    }
    if ((uint64_t)ep->nframes * ep->frame_size > IPC_CFG_MAX_CHANNEL) {
        char where[300] = "";
        if (ic.line) snprintf(where, sizeof(where), ", %s:%u", path, ic.line);
        osci_log(OSCI_LOG_ERROR, "ipc", "%s: channel of %u frames of %u bytes (config line %u%s) exceeds %u bytes",
                 ep->name, ep->nframes, ep->frame_size, ep->line, where, IPC_CFG_MAX_CHANNEL);
        return -EPROTO;
    }
    return 0;
}
