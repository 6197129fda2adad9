/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* osci-seginfo: show OpenSCI adapters, the nodes on their fabrics and every node's segments (ibv_devinfo style).
 * It observes: it joins no fabric and takes no node id. Exit codes are listed in osci-seginfo(1). */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "opensci/doca_osci.h"
#include "opensci/osci.h"
#include "opensci/osci_log.h"
#include "tool_json.h"

#ifdef OSCI_VERSION
#define SEGINFO_VERSION OSCI_VERSION
#else
#define SEGINFO_VERSION "0.1.0"
#endif
#define SHM_DIR "/dev/shm"

enum {
    EXIT_OK = 0,
    EXIT_OUTPUT = 1,      /* writing the output failed */
    EXIT_USAGE = 2,
    EXIT_NO_FABRIC = 3,   /* no adapter configured, the requested one missing, or its fabric not running */
    EXIT_INTROSPECT = 4,  /* peers or segments could not be read */
    EXIT_DESC = 5,        /* --desc: the file is no valid export descriptor */
    EXIT_DESC_READ = 6,   /* --desc: the file cannot be read */
};

#define MAX_ADAPTERS 8
#define MAX_PEERS 256
#define MAX_SEGS 256

struct opts {
    int json, verbose, adapter;   /* adapter -1: all */
};

/* The words for a link, the same in text and JSON. */
static const char *link_word(uint32_t up)
{
    return up ? "up" : "down";
}

/* The fabric a simntb adapter attaches to, from the effective configuration; "" when unknown. */
static void adapter_fabric(unsigned int adapter, char *out, size_t len)
{
    static struct osci_adapter_config cfg[MAX_ADAPTERS];
    unsigned int n = 0;
    out[0] = 0;
    if (osci_info_config(cfg, MAX_ADAPTERS, &n, NULL, 0, NULL))
        return;
    for (unsigned int i = 0; i < n && i < MAX_ADAPTERS; i++) {
        if (cfg[i].adapter_no != adapter || strcmp(cfg[i].driver, "simntb"))
            continue;
        for (unsigned int k = 0; k < cfg[i].n_opts; k++)
            if (!strcmp(cfg[i].opts[k].key, "fabric"))
                snprintf(out, len, "%s", cfg[i].opts[k].value);
    }
}

static int no_fabric_err(int err)
{
    return err == -ENOENT || err == -ENODEV || err == -ENXIO || err == -ENOTCONN;
}

/* Fixed-size name fields from the library may lack a NUL when full. */
static const char *field(const char *f, size_t len, char *buf)
{
    memcpy(buf, f, len);
    buf[len] = 0;
    return buf;
}

/*
 * What an rdma adapter's query name tells: "rdma:<device>:<port>", optionally followed by
 * " gid=<GID>" and " state=<port state>" (e.g. "rdma:rxe0:1 gid=::ffff:10.77.0.1 state=ACTIVE").
 * Fields the driver does not give stay empty.
 */
struct rdma_desc {
    char device[64], port[16], gid[64], state[32];
};

static void rdma_parse(const char *name, struct rdma_desc *d)
{
    const char *p, *colon, *end;
    memset(d, 0, sizeof(*d));
    if (strncmp(name, "rdma:", 5))
        return;
    p = name + 5;
    end = p + strcspn(p, " ");
    colon = memchr(p, ':', (size_t)(end - p));
    if (!colon)
        colon = end;
    snprintf(d->device, sizeof(d->device), "%.*s", (int)(colon - p), p);
    if (colon < end)
        snprintf(d->port, sizeof(d->port), "%.*s", (int)(end - colon - 1), colon + 1);
    for (p = end; *p;) {
        size_t len;
        p += strspn(p, " ");
        len = strcspn(p, " ");
        if (len > 4 && !strncmp(p, "gid=", 4))
            snprintf(d->gid, sizeof(d->gid), "%.*s", (int)(len - 4), p + 4);
        else if (len > 6 && !strncmp(p, "state=", 6))
            snprintf(d->state, sizeof(d->state), "%.*s", (int)(len - 6), p + 6);
        p += len;
    }
}

static void json_opt(const char *key, const char *v)
{
    printf(", \"%s\": ", key);
    if (*v)
        tool_json_str(v);
    else
        printf("null");
}

static void text_opt(const char *label, const char *v, const char *why)
{
    printf("\t%s%s\n", label, *v ? v : why);
}

static void print_seg_text(const struct osci_seg_info *s, const struct opts *o)
{
    char st[sizeof(s->state) + 1];
    field(s->state, sizeof(s->state), st);
    if (s->kind == OSCI_SEG_LOCAL) {
        printf("\t\t\t\tsegment %u: %" PRIu64 " bytes, adapter %u, %s, %u connection%s", s->segment_id, s->size,
               s->adapter_no, st, s->n_conn, s->n_conn == 1 ? "" : "s");
        if (s->n_conn && o->verbose) {
            unsigned int n = s->n_conn < OSCI_SEG_INFO_MAX_CONN ? s->n_conn : OSCI_SEG_INFO_MAX_CONN;
            printf(" (node");
            for (unsigned int i = 0; i < n; i++)
                printf(" %u", s->conn_node[i]);
            printf("%s)", s->n_conn > n ? " ..." : "");
        }
        printf("\n");
    } else {
        printf("\t\t\t\tsegment %u@node %u: %" PRIu64 " bytes, adapter %u, %s\n", s->segment_id, s->node_id, s->size,
               s->adapter_no, st);
    }
}

static void print_seg_json(const struct osci_seg_info *s)
{
    char st[sizeof(s->state) + 1];
    unsigned int n = s->n_conn < OSCI_SEG_INFO_MAX_CONN ? s->n_conn : OSCI_SEG_INFO_MAX_CONN;
    printf("{\"kind\": \"%s\", \"segment_id\": %u, \"node_id\": %u, \"adapter\": %u, \"size\": %" PRIu64
           ", \"state\": ",
           s->kind == OSCI_SEG_LOCAL ? "local" : "remote", s->segment_id, s->node_id, s->adapter_no, s->size);
    tool_json_str(field(s->state, sizeof(s->state), st));
    if (s->kind == OSCI_SEG_LOCAL) {
        printf(", \"n_connections\": %u, \"connections\": [", s->n_conn);
        for (unsigned int i = 0; i < n; i++)
            printf("%s%u", i ? ", " : "", s->conn_node[i]);
        printf("]");
    }
    printf("}");
}

/* One adapter: its description, its peers and their segments. Returns an exit code. */
static int show_adapter(const struct osci_adapter_info *a, const struct opts *o, int first)
{
    static struct osci_peer_info peers[MAX_PEERS];
    static struct osci_seg_info segs[MAX_SEGS];
    char drv[sizeof(a->driver) + 1], name[sizeof(a->name) + 1];
    unsigned int np = 0;
    int rc = EXIT_OK, err;

    struct rdma_desc rd;
    int rdma;

    field(a->driver, sizeof(a->driver), drv);
    field(a->name, sizeof(a->name), name);
    rdma = !strcmp(drv, "rdma");
    rdma_parse(name, &rd);
    err = osci_info_peers(a->adapter_no, peers, MAX_PEERS, &np);
    if (o->json) {
        printf("%s\n    {\"adapter\": %u, \"driver\": ", first ? "" : ",", a->adapter_no);
        tool_json_str(drv);
        printf(", \"name\": ");
        tool_json_str(name);
        printf(", \"node_id\": ");
        a->node_id ? printf("%u", a->node_id) : printf("null");
        printf(", \"max_nodes\": %u, \"max_segment_size\": %" PRIu64 ", \"n_doorbells\": %u, \"can_map_remote\": %s",
               a->max_nodes, a->max_segment_size, a->n_doorbells, a->can_map_remote ? "true" : "false");
        if (rdma) {
            json_opt("device", rd.device);
            json_opt("port", rd.port);
            json_opt("gid", rd.gid);
            json_opt("link_state", rd.state);
        }
    } else {
        printf("%sadapter %u\n", first ? "" : "\n", a->adapter_no);
        printf("\tdriver:\t\t\t%s\n", drv);
        if (rdma) {
            /* An empty name: the device could not be opened (none, or not the configured one). */
            const char *why = name[0] ? "not reported by the driver" : "unknown (the RDMA device could not be opened)";
            text_opt("device:\t\t\t", rd.device, why);
            text_opt("port:\t\t\t", rd.port, why);
            text_opt("GID:\t\t\t", rd.gid, why);
            text_opt("link state:\t\t", rd.state, why);
        } else if (name[0]) {
            printf("\tfabric:\t\t\t%s\n", name);
        }
        if (a->node_id)
            printf("\tnode id:\t\t%u\n", a->node_id);
        else
            printf("\tnode id:\t\tnone (observing)\n");
        if (o->verbose) {
            printf("\tmax nodes:\t\t%u\n", a->max_nodes);
            printf("\tmax segment size:\t%" PRIu64 " bytes\n", a->max_segment_size);
            printf("\tdoorbells:\t\t%u\n", a->n_doorbells);
            printf("\tremote map:\t\t%s\n", a->can_map_remote ? "yes (load/store)" : "no (copy only)");
        }
    }
    if (err) {
        char fabric[128];
        rc = no_fabric_err(err) ? EXIT_NO_FABRIC : EXIT_INTROSPECT;
        adapter_fabric(a->adapter_no, fabric, sizeof(fabric));
        if (o->json) {
            if (fabric[0]) {
                printf(", \"fabric\": ");
                tool_json_str(fabric);
            }
            printf(", \"error\": ");
            tool_json_str(rc == EXIT_NO_FABRIC ? "fabric not running" : osci_strerror(err));
            printf(", \"peers\": []}");
        } else {
            if (fabric[0] && !name[0])
                printf("\tfabric:\t\t\t%s (not running)\n", fabric);
            printf("\tpeers:\t\t\tnone\n");
        }
        if (rc == EXIT_NO_FABRIC && fabric[0])
            fprintf(stderr, "osci-seginfo: adapter %u: fabric not running: no fabric \"%s\" (" SHM_DIR "/osci.%s) on "
                            "this host; set OSCI_FABRIC or see the running ones with osci-seginfo --fabrics\n",
                    a->adapter_no, fabric, fabric);
        else
            fprintf(stderr, "osci-seginfo: adapter %u: %s: %s\n", a->adapter_no,
                    rc == EXIT_NO_FABRIC ? "fabric not running" : "cannot read the peers", osci_strerror(err));
        return rc;
    }
    if (np > MAX_PEERS)
        np = MAX_PEERS;
    if (o->json)
        printf(", \"peers\": [");
    else
        printf("\tpeers:\t\t\t%u\n", np);
    for (unsigned int i = 0; i < np; i++) {
        const struct osci_peer_info *p = &peers[i];
        unsigned int ns = 0;
        int serr = osci_info_segments(a->adapter_no, p->node_id, segs, MAX_SEGS, &ns);
        /* rdma: a node's table is readable on its own host only */
        int elsewhere = serr == -EOPNOTSUPP;
        if (ns > MAX_SEGS)
            ns = MAX_SEGS;
        if (serr && !elsewhere) {
            fprintf(stderr, "osci-seginfo: adapter %u node %u: cannot read the segments: %s\n", a->adapter_no,
                    p->node_id, osci_strerror(serr));
            rc = EXIT_INTROSPECT;
        }
        if (o->json) {
            printf("%s\n      {\"node_id\": %u, \"link\": \"%s\", \"epoch\": \"%#" PRIx64 "\", \"pid\": ", i ? "," : "",
                   p->node_id, link_word(p->link_up), p->epoch);
            p->pid >= 0 ? printf("%" PRId64, p->pid) : printf("null");
            printf(", \"heartbeat_age_ms\": %" PRIu64, p->heartbeat_age_ms);
            if (elsewhere) {
                printf(", \"segments\": null}");
                continue;
            }
            if (serr) {
                printf(", \"error\": ");
                tool_json_str(osci_strerror(serr));
            }
            printf(", \"segments\": [");
            for (unsigned int k = 0; k < ns && !serr; k++) {
                printf("%s\n        ", k ? "," : "");
                print_seg_json(&segs[k]);
            }
            printf("]}");
            continue;
        }
        printf("\t\tnode %u\n", p->node_id);
        printf("\t\t\tlink:\t\t%s\n", link_word(p->link_up));
        printf("\t\t\tepoch:\t\t%#" PRIx64 "\n", p->epoch);
        if (p->pid >= 0)
            printf("\t\t\tpid:\t\t%" PRId64 "\n", p->pid);
        else
            printf("\t\t\tpid:\t\tunknown (other host)\n");
        printf("\t\t\theartbeat age:\t%" PRIu64 " ms\n", p->heartbeat_age_ms);
        if (elsewhere) {
            printf("\t\t\tsegments:\tnot readable here (run osci-seginfo on that node's host)\n");
            continue;
        }
        if (serr) {
            printf("\t\t\tsegments:\tunreadable (%s)\n", osci_strerror(serr));
            continue;
        }
        unsigned int nl = 0, nr = 0;
        for (unsigned int k = 0; k < ns; k++)
            segs[k].kind == OSCI_SEG_LOCAL ? nl++ : nr++;
        printf("\t\t\tlocal segments:\t%u\n", nl);
        for (unsigned int k = 0; k < ns; k++)
            if (segs[k].kind == OSCI_SEG_LOCAL)
                print_seg_text(&segs[k], o);
        printf("\t\t\tremote segments:\t%u\n", nr);
        for (unsigned int k = 0; k < ns; k++)
            if (segs[k].kind != OSCI_SEG_LOCAL)
                print_seg_text(&segs[k], o);
    }
    if (o->json)
        printf("%s]}", np ? "\n    " : "");
    return rc;
}

/* ---- --fabrics: the simntb fabrics on this host ---- */

static void quiet_log(int level, const char *line, void *arg)
{
    (void)level;
    (void)line;
    (void)arg;
}

struct fabric {
    char name[128];
    unsigned int n_nodes, n_up;
    uint32_t node[16];
};

static int fabric_cmp(const void *a, const void *b)
{
    return strcmp(((const struct fabric *)a)->name, ((const struct fabric *)b)->name);
}

/* The first simntb adapter of the effective configuration and its fabric: 0, or -1 when there is none. */
static int simntb_adapter(unsigned int *adapter, char *fabric, size_t len)
{
    static struct osci_adapter_config cfg[MAX_ADAPTERS];
    unsigned int n = 0;
    if (osci_info_config(cfg, MAX_ADAPTERS, &n, NULL, 0, NULL))
        return -1;
    for (unsigned int i = 0; i < n && i < MAX_ADAPTERS; i++) {
        if (strcmp(cfg[i].driver, "simntb"))
            continue;
        *adapter = cfg[i].adapter_no;
        adapter_fabric(cfg[i].adapter_no, fabric, len);
        return 0;
    }
    return -1;
}

/* The simntb driver's other files in /dev/shm are named after their fabric: osci.<fabric>.w<port>.<hex>...
 * (windows), osci.<fabric>.s<port>.<hex> (wake directories), osci.<fabric>.mc<hex> (multicast groups). They
 * are skipped by name: attaching to one would wait for a fabric header that never comes. */
static int fabric_subfile(const char *name)
{
    for (const char *p = strchr(name, '.'); p; p = strchr(p + 1, '.')) {
        const char *q = p + 1;
        if ((*q == 'w' || *q == 's') && q[1] >= '0' && q[1] <= '9') {
            q++;
            while (*q >= '0' && *q <= '9')
                q++;
            if (*q == '.')
                return 1;
        } else if (q[0] == 'm' && q[1] == 'c' && q[2]) {
            q += 2;
            while ((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f'))
                q++;
            if (!*q)
                return 1;
        }
    }
    return 0;
}

/* Every /dev/shm/osci.<name> that the simntb driver attaches to in observe mode (read-only, no node id taken)
 * is a fabric; the other osci.* files (wake directories, windows, multicast groups) do not attach. */
static int list_fabrics(const struct opts *o)
{
    static struct osci_peer_info peers[MAX_PEERS];
    static struct fabric fab[256];
    const char *saved = getenv("OSCI_FABRIC");
    char *old = saved ? strdup(saved) : NULL, current[128];
    unsigned int adapter, nf = 0;
    struct dirent *de;
    DIR *dir;

    if (simntb_adapter(&adapter, current, sizeof(current))) {
        fprintf(stderr, "osci-seginfo: --fabrics: no simntb adapter is configured (osci-seginfo --config)\n");
        free(old);
        return EXIT_NO_FABRIC;
    }
    if (!(dir = opendir(SHM_DIR))) {
        fprintf(stderr, "osci-seginfo: " SHM_DIR ": %s\n", strerror(errno));
        free(old);
        return EXIT_INTROSPECT;
    }
    osci_log_set_handler(quiet_log, NULL);   /* the files that are not fabrics fail to attach, loudly */
    while ((de = readdir(dir)) && nf < sizeof(fab) / sizeof(fab[0])) {
        char path[512];
        struct stat st;
        unsigned int np = 0;
        if (strncmp(de->d_name, "osci.", 5) || strlen(de->d_name + 5) >= sizeof(fab[0].name) || !de->d_name[5])
            continue;
        snprintf(path, sizeof(path), SHM_DIR "/%s", de->d_name);
        if (fabric_subfile(de->d_name + 5) || lstat(path, &st) || !S_ISREG(st.st_mode) || st.st_size == 0)
            continue;
        setenv("OSCI_FABRIC", de->d_name + 5, 1);
        if (osci_info_peers(adapter, peers, MAX_PEERS, &np))
            continue;
        struct fabric *f = &fab[nf++];
        memset(f, 0, sizeof(*f));
        snprintf(f->name, sizeof(f->name), "%s", de->d_name + 5);
        f->n_nodes = np < MAX_PEERS ? np : MAX_PEERS;
        for (unsigned int i = 0; i < f->n_nodes; i++) {
            if (i < sizeof(f->node) / sizeof(f->node[0]))
                f->node[i] = peers[i].node_id;
            f->n_up += peers[i].link_up != 0;
        }
    }
    closedir(dir);
    osci_log_set_handler(NULL, NULL);
    if (old)
        setenv("OSCI_FABRIC", old, 1);
    else
        unsetenv("OSCI_FABRIC");
    free(old);
    qsort(fab, nf, sizeof(fab[0]), fabric_cmp);
    if (o->json) {
        printf("{\"tool\": \"osci-seginfo\", \"version\": \"%s\", \"configured_fabric\": ", SEGINFO_VERSION);
        tool_json_str(current);
        printf(", \"fabrics\": [");
    } else if (nf) {
        printf("%-32s %-5s %-5s %s\n", "fabric", "nodes", "up", "node ids");
    }
    for (unsigned int i = 0; i < nf; i++) {
        const struct fabric *f = &fab[i];
        unsigned int shown = f->n_nodes < 16 ? f->n_nodes : 16;
        if (o->json) {
            printf("%s\n    {\"name\": ", i ? "," : "");
            tool_json_str(f->name);
            printf(", \"nodes\": %u, \"up\": %u, \"node_ids\": [", f->n_nodes, f->n_up);
            for (unsigned int k = 0; k < shown; k++)
                printf("%s%u", k ? ", " : "", f->node[k]);
            printf("], \"configured\": %s}", strcmp(f->name, current) ? "false" : "true");
            continue;
        }
        printf("%-32s %-5u %-5u", f->name, f->n_nodes, f->n_up);
        for (unsigned int k = 0; k < shown; k++)
            printf("%s%u", k ? " " : "", f->node[k]);
        if (!shown)
            printf("-");
        printf("%s%s\n", f->n_nodes > shown ? " ..." : "", strcmp(f->name, current) ? "" : "   (configured)");
    }
    if (o->json)
        printf("%s]}\n", nf ? "\n  " : "");
    if (!nf)
        fprintf(stderr, "osci-seginfo: no fabric is running on this host (no " SHM_DIR "/osci.<fabric>); the "
                        "configured one is \"%s\"\n", current);
    return nf ? EXIT_OK : EXIT_NO_FABRIC;
}

/* ---- --config: the effective configuration and environment (ucx_info -c style) ---- */

static const struct {
    const char *name, *def, *what;
} env_vars[] = {
    { "OSCI_CONF", "/etc/opensci/opensci.conf", "opensci.conf, the adapters (opensci.conf(5))" },
    { "OSCI_HOSTS", "/etc/opensci/hosts.conf", "hosts.conf, node ids of the network drivers (hosts.conf(5))" },
    { "OSCI_FABRIC", "default", "fabric of every simntb adapter" },
    { "OSCI_NODE_ID", "auto", "node id of every adapter, 1..255 (auto: the driver picks a free one)" },
    { "OSCI_LOG", "warn", "log level: error, warn, info or debug" },
    { "OSCI_GRACE_MS", "1000", "how long a peer may be down before its segments are lost" },
    { "OSCI_HEARTBEAT", "auto", "heartbeats: auto (drivers that do not see peer death), on, off" },
    { "OSCI_HEARTBEAT_MS", "200", "heartbeat period" },
    { "OSCI_HEARTBEAT_TIMEOUT_MS", "1500", "silence after which a peer is down" },
    { "OSCI_IPC_CHIP_TRANSFER", "0", "1: NvSciIpc INTER_CHIP copies through a transfer map on every adapter" },
    { "NVSCIIPC_CFG", "/etc/nvsciipc.cfg", "the NvSciIpc endpoint configuration (nvsciipc.cfg(5))" },
};
#define N_ENV (sizeof(env_vars) / sizeof(env_vars[0]))

static int known_env(const char *name, size_t len)
{
    for (unsigned int i = 0; i < N_ENV; i++)
        if (strlen(env_vars[i].name) == len && !strncmp(env_vars[i].name, name, len))
            return 1;
    return 0;
}

static void config_line(const char *name, const char *value, const char *source)
{
    char kv[512];
    snprintf(kv, sizeof(kv), "%s=%s", name, value);
    printf("%-48s # %s\n", kv, source);
}

static int show_config(const struct opts *o)
{
    static const char *const levels[] = { "error", "warn", "info", "debug" };
    static struct osci_adapter_config cfg[MAX_ADAPTERS];
    extern char **environ;
    char path[512], name[64];
    unsigned int n = 0, first = 1;
    int found = 0, err;

    err = osci_info_config(cfg, MAX_ADAPTERS, &n, path, sizeof(path), &found);
    if (o->json) {
        printf("{\"tool\": \"osci-seginfo\", \"version\": \"%s\", \"config_file\": {\"path\": ", SEGINFO_VERSION);
        tool_json_str(path);
        printf(", \"found\": %s}, \"environment\": [", found ? "true" : "false");
    } else {
        printf("# configuration file: %s (%s)\n", path,
               err ? "malformed" : found ? "read" : "not found: the built-in default, one simntb adapter");
        printf("# environment\n");
    }
    for (unsigned int i = 0; i < N_ENV; i++) {
        const char *v = getenv(env_vars[i].name);
        const char *val = v && *v ? v : env_vars[i].def;
        if (!strcmp(env_vars[i].name, "OSCI_LOG"))
            val = levels[osci_log_get_level()];   /* an invalid OSCI_LOG means warn */
        if (o->json) {
            printf("%s\n    {\"name\": \"%s\", \"value\": ", i ? "," : "", env_vars[i].name);
            tool_json_str(val);
            printf(", \"source\": \"%s\", \"description\": ", v && *v ? "environment" : "default");
            tool_json_str(env_vars[i].what);
            printf("}");
        } else {
            config_line(env_vars[i].name, val, v && *v ? "environment" : "default");
        }
    }
    if (o->json)
        printf("\n  ], \"unknown_environment\": [");
    for (char **e = environ; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        if (strncmp(*e, "OSCI_", 5) || !eq || known_env(*e, (size_t)(eq - *e)))
            continue;
        snprintf(name, sizeof(name), "%.*s", (int)(eq - *e), *e);
        if (o->json) {
            printf("%s\n    {\"name\": ", first ? "" : ",");
            tool_json_str(name);
            printf(", \"value\": ");
            tool_json_str(eq + 1);
            printf("}");
        } else {
            if (first)
                printf("# OSCI_* variables OpenSCI does not read\n");
            config_line(name, eq + 1, "unknown: ignored");
        }
        first = 0;
    }
    if (o->json)
        printf("%s], \"adapters\": [", first ? "" : "\n  ");
    for (unsigned int i = 0; !err && i < n && i < MAX_ADAPTERS; i++) {
        const struct osci_adapter_config *a = &cfg[i];
        if (o->json)
            printf("%s\n    {\"adapter\": %u, \"options\": [", i ? "," : "", a->adapter_no);
        else
            printf("# adapter %u\n", a->adapter_no);
        for (unsigned int k = 0; k < a->n_opts && k < OSCI_CONFIG_MAX_OPTS; k++) {
            const struct osci_config_opt *op = &a->opts[k];
            if (o->json) {
                printf("%s{\"key\": ", k ? ", " : "");
                tool_json_str(op->key);
                printf(", \"value\": ");
                tool_json_str(op->value);
                printf(", \"source\": ");
                tool_json_str(op->source);
                printf("}");
            } else {
                char key[96];
                snprintf(key, sizeof(key), "adapter.%u.%s", a->adapter_no, op->key);
                config_line(key, op->value, op->source);
            }
        }
        if (o->json)
            printf("]}");
    }
    if (o->json) {
        printf("%s]", n && !err ? "\n  " : "");
        if (err) {
            printf(", \"error\": ");
            tool_json_str(osci_strerror(err));
        }
        printf("}\n");
    }
    if (err) {
        fprintf(stderr, "osci-seginfo: cannot load the configuration %s: %s\n", path, osci_strerror(err));
        return EXIT_NO_FABRIC;
    }
    return EXIT_OK;
}

static const char *access_words(uint32_t a, char *buf, size_t len)
{
    static const char *const names[] = { "local_rw", "rdma_read", "rdma_write", "rdma_atomic", "pci_ro", "pci_rw",
                                         "pci_relaxed_ordering" };
    size_t o = 0;

    buf[0] = '\0';
    for (unsigned int i = 0; i < 7; i++)
        if (a & (1u << i))
            o += (size_t)snprintf(buf + o, o < len ? len - o : 0, "%s%s", o ? "," : "", names[i]);
    if (!o)
        snprintf(buf, len, "local_ro");
    return buf;
}

/* --desc FILE: decode a doca_mmap export descriptor (docs/doca.md "Export descriptor"). */
static int show_desc(const char *path, const struct opts *o)
{
    struct doca_osci_desc_info di;
    unsigned char buf[1024];
    char acc[160];
    doca_error_t r;
    size_t n;
    FILE *f = fopen(path, "rb");

    if (!f) {
        fprintf(stderr, "osci-seginfo: cannot open %s: %s\n", path, strerror(errno));
        return EXIT_DESC_READ;
    }
    n = fread(buf, 1, sizeof(buf), f);
    if (ferror(f)) {
        fprintf(stderr, "osci-seginfo: cannot read %s\n", path);
        fclose(f);
        return EXIT_DESC_READ;
    }
    fclose(f);
    r = doca_osci_desc_decode(buf, n, &di);
    if (r != DOCA_SUCCESS) {
        fprintf(stderr, "osci-seginfo: %s is no valid export descriptor (%zu bytes): %s\n", path, n,
                r == DOCA_ERROR_UNSUPPORTED_VERSION ? "another format version" : "malformed, truncated or corrupted");
        return EXIT_DESC;
    }
    access_words(di.access, acc, sizeof(acc));
    if (o->json) {
        printf("{\"tool\": \"osci-seginfo\", \"version\": \"%s\", \"descriptor\": {\"format\": %u, \"kind\": \"%s\", "
               "\"length\": %u, \"node\": %u, \"adapter\": %u, \"segment\": %u, \"size\": %" PRIu64 ", "
               "\"address\": \"0x%" PRIx64 "\", \"access\": \"%s\", \"xport_len\": %u, \"key_bits\": 128, "
               "\"checksum\": \"0x%08x\"}}\n", SEGINFO_VERSION, di.version, di.kind == 1 ? "pci" : "rdma", di.length,
               di.node_id, di.adapter_no, di.segment_id, di.size, di.addr, acc, di.xport_len, di.checksum);
    } else {
        printf("export descriptor %s\n"
               "\tformat:\t\t%u\n\tkind:\t\t%s\n\tlength:\t\t%u bytes\n\texporter:\tnode %u, adapter %u\n"
               "\tsegment:\t%u\n\tsize:\t\t%" PRIu64 " bytes\n\taddress:\t0x%" PRIx64 "\n\taccess:\t\t%s\n"
               "\ttransport:\t%u bytes\n\tkey:\t\t128 bits (not shown)\n\tchecksum:\t0x%08x (valid)\n",
               path, di.version, di.kind == 1 ? "pci (export_pci)" : "rdma (export_rdma)", di.length, di.node_id,
               di.adapter_no, di.segment_id, di.size, di.addr, acc, di.xport_len, di.checksum);
    }
    return EXIT_OK;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: osci-seginfo [-a N] [-v] [--json] [--fabrics | --config | --desc FILE] [--version] [-h]\n"
               "  -a, --adapter N   only local adapter N\n"
               "  -v, --verbose     adapter limits and the nodes connected to each segment\n"
               "  -j, --json        machine-readable output\n"
               "  -f, --fabrics     the simntb fabrics on this host, their nodes, the configured one\n"
               "  -c, --config      the effective configuration and OSCI_* environment, each value with its source\n"
               "  -d, --desc FILE   decode a doca_mmap export descriptor file\n"
               "  -V, --version     print the version\n"
               "  -h, --help        this text\n"
               "exit: 0 ok, 1 output error, 2 usage, 3 no fabric / adapter not configured, 4 introspection failed,\n"
               "      5 not a valid descriptor, 6 descriptor file unreadable\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "adapter", required_argument, NULL, 'a' }, { "verbose", no_argument, NULL, 'v' },
        { "json", no_argument, NULL, 'j' },          { "version", no_argument, NULL, 'V' },
        { "help", no_argument, NULL, 'h' },          { "fabrics", no_argument, NULL, 'f' },
        { "config", no_argument, NULL, 'c' },        { "desc", required_argument, NULL, 'd' },
        { NULL, 0, NULL, 0 },
    };
    static struct osci_adapter_info ad[MAX_ADAPTERS];
    struct opts o = { .adapter = -1 };
    unsigned int n = 0, shown = 0;
    int ch, err, rc = EXIT_OK, fabrics = 0, config = 0;
    const char *desc = NULL;
    char *end;

    while ((ch = getopt_long(argc, argv, "a:vjVhfcd:", longopts, NULL)) != -1) {
        switch (ch) {
        case 'a': {
            errno = 0;
            long v = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || v < 0 || v >= MAX_ADAPTERS) {
                fprintf(stderr, "osci-seginfo: -a needs an adapter number 0..%d, not '%s'\n", MAX_ADAPTERS - 1,
                        optarg);
                return EXIT_USAGE;
            }
            o.adapter = (int)v;
            break;
        }
        case 'v': o.verbose = 1; break;
        case 'j': o.json = 1; break;
        case 'f': fabrics = 1; break;
        case 'c': config = 1; break;
        case 'd': desc = optarg; break;
        case 'V': printf("osci-seginfo %s\n", SEGINFO_VERSION); return EXIT_OK;
        case 'h': usage(stdout); return EXIT_OK;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "osci-seginfo: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return EXIT_USAGE;
    }
    if (fabrics + config + (desc != NULL) > 1) {
        fprintf(stderr, "osci-seginfo: choose one of --fabrics, --config and --desc\n");
        return EXIT_USAGE;
    }
    if (desc) {
        if (o.adapter >= 0) {
            fprintf(stderr, "osci-seginfo: --adapter does not go with --desc\n");
            return EXIT_USAGE;
        }
        rc = show_desc(desc, &o);
        if (fflush(stdout) || ferror(stdout)) {
            fprintf(stderr, "osci-seginfo: writing the output failed\n");
            return EXIT_OUTPUT;
        }
        return rc;
    }
    if ((fabrics || config) && o.adapter >= 0) {
        fprintf(stderr, "osci-seginfo: --adapter does not go with --%s\n", fabrics ? "fabrics" : "config");
        return EXIT_USAGE;
    }
    if (fabrics || config) {
        rc = fabrics ? list_fabrics(&o) : show_config(&o);
        if (fflush(stdout) || ferror(stdout)) {
            fprintf(stderr, "osci-seginfo: writing the output failed\n");
            return EXIT_OUTPUT;
        }
        return rc;
    }
    err = osci_info_adapters(ad, MAX_ADAPTERS, &n);
    if (err) {
        fprintf(stderr, "osci-seginfo: cannot list the adapters: %s\n", osci_strerror(err));
        return no_fabric_err(err) ? EXIT_NO_FABRIC : EXIT_INTROSPECT;
    }
    if (n > MAX_ADAPTERS)
        n = MAX_ADAPTERS;
    if (n == 0) {
        fprintf(stderr, "osci-seginfo: no adapter is configured\n");
        return EXIT_NO_FABRIC;
    }
    if (o.adapter >= 0) {
        unsigned int i;
        for (i = 0; i < n && ad[i].adapter_no != (unsigned int)o.adapter; i++)
            ;
        if (i == n) {
            fprintf(stderr, "osci-seginfo: adapter %d is not configured\n", o.adapter);
            return EXIT_NO_FABRIC;
        }
    }
    if (o.json)
        printf("{\"tool\": \"osci-seginfo\", \"version\": \"%s\", \"adapters\": [", SEGINFO_VERSION);
    for (unsigned int i = 0; i < n; i++) {
        if (o.adapter >= 0 && ad[i].adapter_no != (unsigned int)o.adapter)
            continue;
        int r = show_adapter(&ad[i], &o, shown++ == 0);
        if (r > rc)
            rc = r;
    }
    if (o.json)
        printf("\n  ]}\n");
    if (fflush(stdout) || ferror(stdout)) {
        fprintf(stderr, "osci-seginfo: writing the output failed\n");
        return EXIT_OUTPUT;
    }
    return rc;
}
