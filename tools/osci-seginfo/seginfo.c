/* osci-seginfo: show OpenSCI adapters, the nodes on their fabrics and every node's segments (ibv_devinfo style).
 * It observes: it joins no fabric and takes no node id. Exit codes are listed in osci-seginfo(1). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opensci/osci.h"

#define SEGINFO_VERSION "0.1.0"

enum {
    EXIT_OK = 0,
    EXIT_OUTPUT = 1,      /* writing the output failed */
    EXIT_USAGE = 2,
    EXIT_NO_FABRIC = 3,   /* no adapter configured, the requested one missing, or its fabric not running */
    EXIT_INTROSPECT = 4,  /* peers or segments could not be read */
};

#define MAX_ADAPTERS 8
#define MAX_PEERS 256
#define MAX_SEGS 256

struct opts {
    int json, verbose, adapter;   /* adapter -1: all */
};

static int no_fabric_err(int err)
{
    return err == -ENOENT || err == -ENODEV || err == -ENXIO || err == -ENOTCONN;
}

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
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
        json_str(v);
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
    json_str(field(s->state, sizeof(s->state), st));
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
        json_str(drv);
        printf(", \"name\": ");
        json_str(name);
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
        } else {
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
        rc = no_fabric_err(err) ? EXIT_NO_FABRIC : EXIT_INTROSPECT;
        if (o->json) {
            printf(", \"error\": ");
            json_str(rc == EXIT_NO_FABRIC ? "fabric not running" : osci_strerror(err));
            printf(", \"peers\": []}");
        } else {
            printf("\tpeers:\t\t\tnone\n");
        }
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
                   p->node_id, p->link_up ? "up" : "down", p->epoch);
            p->pid >= 0 ? printf("%" PRId64, p->pid) : printf("null");
            printf(", \"heartbeat_age_ms\": %" PRIu64, p->heartbeat_age_ms);
            if (elsewhere) {
                printf(", \"segments\": null}");
                continue;
            }
            if (serr) {
                printf(", \"error\": ");
                json_str(osci_strerror(serr));
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
        printf("\t\t\tlink:\t\t%s\n", p->link_up ? "PORT_UP" : "PORT_DOWN");
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

static void usage(FILE *f)
{
    fprintf(f, "usage: osci-seginfo [-a N] [-v] [--json] [--version] [-h]\n"
               "  -a, --adapter N   only local adapter N\n"
               "  -v, --verbose     adapter limits and the nodes connected to each segment\n"
               "  -j, --json        machine-readable output\n"
               "  -V, --version     print the version\n"
               "  -h, --help        this text\n"
               "exit: 0 ok, 1 output error, 2 usage, 3 no fabric / adapter not configured, 4 introspection failed\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "adapter", required_argument, NULL, 'a' }, { "verbose", no_argument, NULL, 'v' },
        { "json", no_argument, NULL, 'j' },          { "version", no_argument, NULL, 'V' },
        { "help", no_argument, NULL, 'h' },          { NULL, 0, NULL, 0 },
    };
    static struct osci_adapter_info ad[MAX_ADAPTERS];
    struct opts o = { .adapter = -1 };
    unsigned int n = 0, shown = 0;
    int ch, err, rc = EXIT_OK;
    char *end;

    while ((ch = getopt_long(argc, argv, "a:vjVh", longopts, NULL)) != -1) {
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
