/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* opensci.conf / hosts.conf parsing, conf_load with the environment, registry validity checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "osci_drv.h"
#include "../common/osci_test.h"

static int parse(const char *text, struct osci_adapter_conf *out, unsigned int *n, char *err)
{
    return osci_conf_parse("test.conf", text, strlen(text), out, OSCI_MAX_ADAPTERS, n, err, 256);
}

/* A file refused: its text, the line the error names, what the error says. */
struct bad_conf { const char *text; int line; const char *reason; };

/* err names line `line` of test.conf and says `reason` ("": anything); i: the case of a table. */
static void assert_err(const char *err, int line, const char *reason, size_t i)
{
    char want[64];
    snprintf(want, sizeof(want), "test.conf:%d: ", line);
    if (strncmp(err, want, strlen(want)) || !strstr(err, reason))
        fail_msg("case %zu: error \"%s\", wanted \"%s...%s\"", i, err, want, reason);
}

static void test_conf_good(void **state)
{
    struct osci_adapter_conf a[OSCI_MAX_ADAPTERS];
    unsigned int n = 99;
    char err[256];
    const char *text =
        "# comment\n"
        "\n"
        "node_id = 4                       # default node id\n"
        "adapter 0 simntb fabric=default window=256M\n"
        "  adapter\t1 rdma dev=rxe0 port=1 gid_index=1 listen=18515 node_id=8   \r\n"
        "adapter 3 simntb";
    assert_int_equal(parse(text, a, &n, err), 0);
    assert_int_equal(n, 3);
    assert_int_equal(a[0].adapter_no, 0);
    assert_string_equal(a[0].driver, "simntb");
    assert_int_equal(a[0].node_id, 4);
    assert_int_equal(a[0].n_opts, 2);
    assert_string_equal(osci_conf_opt(&a[0], "fabric"), "default");
    assert_string_equal(osci_conf_opt(&a[0], "window"), "256M");
    assert_null(osci_conf_opt(&a[0], "dev"));
    assert_int_equal(a[1].adapter_no, 1);
    assert_string_equal(a[1].driver, "rdma");
    assert_int_equal(a[1].node_id, 8);
    assert_int_equal(a[1].n_opts, 4);
    assert_string_equal(osci_conf_opt(&a[1], "listen"), "18515");
    assert_null(osci_conf_opt(&a[1], "node_id"));
    assert_int_equal(a[2].adapter_no, 3);
    assert_int_equal(a[2].node_id, 4);
    assert_int_equal(a[2].n_opts, 0);

    /* The other spellings of node_id; no adapter lines: the default adapter. */
    const char *forms[] = { "node_id=7", "node_id =7", "node_id= 7", "node_id = 7 # x" };
    for (unsigned int i = 0; i < 4; i++) {
        assert_int_equal(parse(forms[i], a, &n, err), 0);
        assert_int_equal(n, 1);
        assert_string_equal(a[0].driver, "simntb");
        assert_int_equal(a[0].node_id, 7);
    }
    assert_int_equal(parse("", a, &n, err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(a[0].node_id, 0);
}

static void test_conf_bad(void **state)
{
    static const struct bad_conf bad[] = {
        { "adapter 0\n", 1, "expected" },
        { "\nadapter x simntb\n", 2, "not a decimal" },
        { "adapter 8 simntb\n", 1, "out of range" },
        { "adapter 99999999999 simntb\n", 1, "not a decimal" },
        { "adapter 0 simntb\nadapter 0 rdma\n", 2, "defined twice" },
        { "adapter 0 SimNTB\n", 1, "bad driver name" },
        { "adapter 0 sim-ntb\n", 1, "bad driver name" },
        { "adapter 0 a234567890123456789012345678901234\n", 1, "bad driver name" },
        { "adapter 0 simntb fabric\n", 1, "not key=value" },
        { "adapter 0 simntb =x\n", 1, "not key=value" },
        { "adapter 0 simntb fabric=\n", 1, "empty value" },
        { "adapter 0 simntb Fabric=x\n", 1, "bad option key" },
        { "adapter 0 simntb a=1 a=2\n", 1, "given twice" },
        { "adapter 0 simntb node_id=0\n", 1, "1..255" },
        { "adapter 0 simntb node_id=256\n", 1, "1..255" },
        { "node_id = 300\n", 1, "1..255" },
        { "node_id = -1\n", 1, "1..255" },
        { "node_id 4\n", 1, "expected" },
        { "node_id = 4 5\n", 1, "expected" },
        { "node_id = 4\nnode_id = 5\n", 2, "given twice" },
        { "adaptor 0 simntb\n", 1, "unknown directive" },
        { "# ok\n\nbogus\n", 3, "unknown directive" },
        { "adapter 0 simntb\tfabric=a\x01\n", 1, "control character" },
    };
    struct osci_adapter_conf a[OSCI_MAX_ADAPTERS];
    unsigned int n;
    char err[256];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        n = 77;
        assert_int_equal(parse(bad[i].text, a, &n, err), -EINVAL);
        assert_int_equal(n, 77);                   /* outputs untouched on error */
        assert_err(err, bad[i].line, bad[i].reason, i);
    }

    /* Over-long value, too many options, too many adapters, over-long line, NUL byte. */
    char text[4096];
    snprintf(text, sizeof(text), "adapter 0 simntb fabric=%0150d\n", 1);
    assert_int_equal(parse(text, a, &n, err), -EINVAL);
    assert_non_null(strstr(err, "longer than"));
    strcpy(text, "adapter 0 simntb");
    for (int i = 0; i < 17; i++)
        sprintf(text + strlen(text), " k%d=v", i);
    assert_int_equal(parse(text, a, &n, err), -EINVAL);
    assert_non_null(strstr(err, "more than 16"));
    text[0] = '\0';
    for (int i = 0; i < 8; i++)
        sprintf(text + strlen(text), "adapter %d simntb\n", i);
    assert_int_equal(parse(text, a, &n, err), 0);
    assert_int_equal(n, 8);
    strcat(text, "adapter 7 simntb\n");
    assert_int_equal(parse(text, a, &n, err), -EINVAL);
    assert_non_null(strstr(err, "test.conf:9:"));
    memset(text, 'x', 2000);
    text[2000] = '\0';
    assert_int_equal(parse(text, a, &n, err), -EINVAL);
    assert_non_null(strstr(err, "longer than"));
    assert_int_equal(osci_conf_parse("f", "adapter 0\0 simntb", 17, a, 8, &n, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "f:1: NUL"));
    /* Room for fewer adapters than configured. */
    assert_int_equal(osci_conf_parse("f", "adapter 0 simntb\nadapter 1 simntb\n", 34, a, 1, &n, err, sizeof(err)),
                     -EINVAL);
}

static void test_hosts(void **state)
{
    struct osci_host h[8];
    unsigned int n = 0;
    char err[256];
    const char *good = "# dishosts\n4 10.0.0.1\n  8\tnode-b.example   # second\n\n255 fe80::1\n";
    assert_int_equal(osci_hosts_parse("hosts", good, strlen(good), h, 8, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 3);
    assert_int_equal(h[0].node_id, 4);
    assert_string_equal(h[0].addr, "10.0.0.1");
    assert_int_equal(h[1].node_id, 8);
    assert_string_equal(h[1].addr, "node-b.example");
    assert_int_equal(h[2].node_id, 255);

    static const struct { const char *text; const char *want; } bad[] = {
        { "4\n", "hosts:1: expected" },
        { "4 a b\n", "hosts:1: expected" },
        { "0 a\n", "hosts:1: node id" },
        { "x a\n", "hosts:1: node id" },
        { "4 a\n4 b\n", "hosts:2: node id 4 listed twice" },
        { "4 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", "hosts:1: address" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(osci_hosts_parse("hosts", bad[i].text, strlen(bad[i].text), h, 8, &n, err, sizeof(err)),
                         -EINVAL);
        if (strncmp(err, bad[i].want, strlen(bad[i].want)))
            fail_msg("case %zu: \"%s\" wanted \"%s\"", i, err, bad[i].want);
    }
    assert_int_equal(osci_hosts_parse("hosts", "1 a\n2 b\n", 8, h, 1, &n, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "more than 1"));
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_load_env(void **state)
{
    struct osci_adapter_conf a[OSCI_MAX_ADAPTERS];
    struct osci_host h[4];
    unsigned int n;
    char path[] = "/tmp/osci-conf-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);

    /* No file at all (default path absent): adapter 0 simntb on OSCI_FABRIC. */
    unsetenv("OSCI_CONF");
    unsetenv("OSCI_NODE_ID");
    if (access("/etc/opensci/opensci.conf", F_OK) != 0) {
        setenv("OSCI_FABRIC", "fab1", 1);
        assert_int_equal(osci_conf_load(a, OSCI_MAX_ADAPTERS, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(a[0].driver, "simntb");
        assert_string_equal(osci_conf_opt(&a[0], "fabric"), "fab1");
        unsetenv("OSCI_FABRIC");
        assert_int_equal(osci_conf_load(a, OSCI_MAX_ADAPTERS, &n), 0);
        assert_string_equal(osci_conf_opt(&a[0], "fabric"), "default");
    }

    write_file(path, "adapter 0 simntb fabric=x window=1M\nadapter 2 rdma dev=rxe0 node_id=9\n");
    setenv("OSCI_CONF", path, 1);
    setenv("OSCI_FABRIC", "envfab", 1);
    setenv("OSCI_NODE_ID", "17", 1);
    assert_int_equal(osci_conf_load(a, OSCI_MAX_ADAPTERS, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(osci_conf_opt(&a[0], "fabric"), "envfab");
    assert_string_equal(osci_conf_opt(&a[0], "window"), "1M");
    assert_int_equal(a[0].node_id, 17);
    assert_int_equal(a[1].node_id, 17);
    assert_null(osci_conf_opt(&a[1], "fabric"));
    assert_int_equal(osci_conf_load(a, 1, &n), -E2BIG);

    setenv("OSCI_NODE_ID", "0", 1);
    assert_int_equal(osci_conf_load(a, OSCI_MAX_ADAPTERS, &n), -EINVAL);
    setenv("OSCI_NODE_ID", "12x", 1);
    assert_int_equal(osci_conf_load(a, OSCI_MAX_ADAPTERS, &n), -EINVAL);
    unsetenv("OSCI_NODE_ID");

    write_file(path, "adapter 0 simntb\nadapter 0 simntb\n");
    assert_int_equal(osci_conf_load(a, OSCI_MAX_ADAPTERS, &n), -EINVAL);
    unlink(path);
    assert_int_equal(osci_conf_load(a, OSCI_MAX_ADAPTERS, &n), -ENOENT);   /* OSCI_CONF names a missing file */
    unsetenv("OSCI_CONF");
    unsetenv("OSCI_FABRIC");

    write_file(path, "3 192.168.0.3\n");
    setenv("OSCI_HOSTS", path, 1);
    assert_int_equal(osci_hosts_load(h, 4, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(h[0].addr, "192.168.0.3");
    unlink(path);
    assert_int_equal(osci_hosts_load(h, 4, &n), -ENOENT);
    unsetenv("OSCI_HOSTS");
}

/* ---- registry ---- */
static int f_open(const struct osci_adapter_conf *c, struct osci_drv **d) { return -ENODEV; }
static void f_close(struct osci_drv *d) { }
static int f_query(struct osci_drv *d, struct osci_drv_info *i) { return 0; }
static int f_fd(struct osci_drv *d) { return -1; }
static int f_progress(struct osci_drv *d, struct osci_drv_event *e, unsigned int m) { return 0; }
static int f_peers(struct osci_drv *d, struct osci_peer_info *o, unsigned int m, unsigned int *c) { return 0; }
static int f_send(struct osci_drv *d, uint32_t n, const void *m, size_t l) { return 0; }
static int f_ring(struct osci_drv *d, uint32_t n, unsigned int b) { return 0; }
static int f_mask(struct osci_drv *d, uint64_t m) { return 0; }
static int f_export(struct osci_drv *d, const struct osci_drv_mem_view *v, struct osci_drv_mem **m) { return 0; }
static void f_unexport(struct osci_drv *d, struct osci_drv_mem *m) { }
static int f_pack(struct osci_drv *d, struct osci_drv_mem *m, void *b, size_t *l) { return 0; }
static int f_import(struct osci_drv *d, uint32_t n, const void *b, size_t l, struct osci_drv_rmem **r) { return 0; }
static void f_release(struct osci_drv *d, struct osci_drv_rmem *r) { }
static int f_put(struct osci_drv *d, struct osci_drv_rmem *r, size_t o, const void *s, size_t l) { return 0; }
static int f_get(struct osci_drv *d, struct osci_drv_rmem *r, size_t o, void *s, size_t l) { return 0; }
static int f_alloc(struct osci_drv *d, size_t s, struct osci_drv_mem_view *v) { return 0; }
static int f_map(struct osci_drv *d, struct osci_drv_rmem *r, size_t o, size_t l, int ro, void **a) { return 0; }

static struct osci_drv_ops good_ops(const char *name)
{
    struct osci_drv_ops o = {
        .size = sizeof(struct osci_drv_ops), .name = name, .open = f_open, .close = f_close, .query = f_query,
        .event_fd = f_fd, .arm = f_fd, .progress = f_progress, .peers = f_peers, .msg_send = f_send,
        .db_ring = f_ring, .db_set_event_mask = f_mask, .mem_export = f_export, .mem_unexport = f_unexport,
        .mem_pack = f_pack, .rmem_import = f_import, .rmem_release = f_release, .put = f_put, .get = f_get,
    };
    return o;
}

static void test_registry(void **state)
{
    static struct osci_drv_ops ok, bad;
    struct osci_adapter_conf c;
    struct osci_drv *d;

    assert_non_null(osci_drv_find("simntb"));
    assert_null(osci_drv_find("nosuch"));
    assert_int_equal(osci_drv_register(NULL), -EINVAL);

    bad = good_ops("bad1"); bad.size -= 8;
    assert_int_equal(osci_drv_register(&bad), -EINVAL);
    bad = good_ops("bad2"); bad.progress = NULL;
    assert_int_equal(osci_drv_register(&bad), -EINVAL);
    bad = good_ops("bad3"); bad.get = NULL;
    assert_int_equal(osci_drv_register(&bad), -EINVAL);
    bad = good_ops("bad4"); bad.mem_alloc = f_alloc;          /* mem_alloc without mem_free */
    assert_int_equal(osci_drv_register(&bad), -EINVAL);
    bad = good_ops("bad5"); bad.rmem_map = f_map;             /* rmem_map without rmem_unmap */
    assert_int_equal(osci_drv_register(&bad), -EINVAL);
    bad = good_ops(""); 
    assert_int_equal(osci_drv_register(&bad), -EINVAL);
    bad = good_ops(NULL);
    assert_int_equal(osci_drv_register(&bad), -EINVAL);
    assert_null(osci_drv_find("bad4"));

    ok = good_ops("fake");
    assert_int_equal(osci_drv_register(&ok), 0);
    assert_int_equal(osci_drv_register(&ok), 0);              /* the same table again */
    const struct osci_drv_ops *f = osci_drv_find("fake");    /* a copy, every optional op filled */
    assert_non_null(f);
    assert_ptr_equal(f->open, ok.open);
    assert_non_null(f->mem_alloc);
    assert_non_null(f->mcast_detach);
    assert_int_equal(f->probe(NULL, 1), -EOPNOTSUPP);
    assert_int_equal(f->db_poll(NULL, 1, NULL), -EOPNOTSUPP);
    assert_int_equal(f->flush(NULL, NULL), 0);                /* synchronous by default */
    assert_int_equal(f->rmem_revoke(NULL, NULL), 0);
    bad = good_ops("simntb");
    assert_int_equal(osci_drv_register(&bad), -EEXIST);

    memset(&c, 0, sizeof(c));
    strcpy(c.driver, "fake");
    assert_int_equal(osci_drv_open(&c, &d), -ENODEV);         /* the driver's own answer */
    strcpy(c.driver, "nosuch");
    assert_int_equal(osci_drv_open(&c, &d), -ENODEV);
    c.adapter_no = OSCI_MAX_ADAPTERS;
    strcpy(c.driver, "simntb");
    assert_int_equal(osci_drv_open(&c, &d), -EINVAL);
}

static int parse_ic(const char *text, struct osci_interchip_conf *out, unsigned int *n, char *err)
{
    return osci_conf_parse_interchip("test.conf", text, strlen(text), out, OSCI_IC_MAX, n, err, 256);
}

/* interchip <device> [adapter=<n>] peer=<node> [nframes=<n>] [frame_size=<bytes>] */
/* Which options the environment overrides: OSCI_FABRIC, for a simntb adapter's fabric only. */
static void test_opt_env(void **state)
{
    struct osci_adapter_conf c;
    char *saved = getenv("OSCI_FABRIC") ? strdup(getenv("OSCI_FABRIC")) : NULL;

    (void)state;
    memset(&c, 0, sizeof(c));
    strcpy(c.driver, "simntb");
    unsetenv("OSCI_FABRIC");
    assert_null(osci_conf_opt_env(&c, "fabric"));
    setenv("OSCI_FABRIC", "x", 1);
    assert_string_equal(osci_conf_opt_env(&c, "fabric"), "OSCI_FABRIC");
    assert_null(osci_conf_opt_env(&c, "window"));
    strcpy(c.driver, "rdma");
    assert_null(osci_conf_opt_env(&c, "fabric"));
    if (saved)
        setenv("OSCI_FABRIC", saved, 1);
    else
        unsetenv("OSCI_FABRIC");
    free(saved);
}

static void test_interchip(void **state)
{
    static struct osci_interchip_conf ic[OSCI_IC_MAX];
    struct osci_adapter_conf a[OSCI_MAX_ADAPTERS];
    struct osci_interchip_conf one;
    unsigned int n = 99;
    char err[256], path[256];
    const char *text =
        "adapter 0 simntb\n"
        "adapter 2 simntb fabric=x\n"
        "interchip 0000 adapter=2 peer=3 nframes=16 frame_size=4096   # NVIDIA's nvscic2c_pcie_*\n"
        "interchip\t0105 peer=255\n"
        "interchip 1005 frame_size=64 peer=1 adapter=0 nframes=65536\n"
        "interchip 7 peer=9\n";
    (void)state;
    assert_int_equal(parse_ic(text, ic, &n, err), 0);
    assert_int_equal(n, 4);
    assert_int_equal(ic[0].device, 0);
    assert_int_equal(ic[0].adapter_no, 2);
    assert_int_equal(ic[0].peer_node, 3);
    assert_int_equal(ic[0].nframes, 16);
    assert_int_equal(ic[0].frame_size, 4096);
    assert_int_equal(ic[0].line, 3);
    assert_int_equal(ic[1].device, 105);
    assert_int_equal(ic[1].adapter_no, 0);
    assert_int_equal(ic[1].peer_node, 255);
    assert_int_equal(ic[1].nframes, 0);        /* not given */
    assert_int_equal(ic[1].frame_size, 0);
    assert_int_equal(ic[2].device, 1005);
    assert_int_equal(ic[2].nframes, 65536);
    assert_int_equal(ic[3].device, 7);
    /* The adapters of the same file are unaffected by the interchip lines. */
    assert_int_equal(parse(text, a, &n, err), 0);
    assert_int_equal(n, 2);
    /* Without adapter lines the default adapter 0 is there to map to. */
    assert_int_equal(parse_ic("interchip 0000 peer=2\n", ic, &n, err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(parse_ic("", ic, &n, err), 0);
    assert_int_equal(n, 0);

    static const struct bad_conf bad[] = {
        { "interchip\n", 1, "expected \"interchip <device>" },
        { "interchip 0000\n", 1, "interchip device 0000 has no peer=<node>" },
        { "interchip peer=2\n", 1, "not 1 to 4 decimal digits" },
        { "interchip 10000 peer=2\n", 1, "not 1 to 4 decimal digits" },
        { "interchip 00105 peer=2\n", 1, "not 1 to 4 decimal digits" },
        { "interchip -1 peer=2\n", 1, "not 1 to 4 decimal digits" },
        { "interchip 0105 peer=2\n#\ninterchip 105 peer=3\n", 3, "already mapped on line 1" },
        { "interchip 0000 peer\n", 1, "not key=value" },
        { "interchip 0000 =2\n", 1, "not key=value" },
        { "interchip 0000 node=2\n", 1, "unknown interchip key \"node\"" },
        { "interchip 0000 peer=2 peer=3\n", 1, "key peer given twice" },
        { "interchip 0000 adapter=0\n", 1, "has no peer=<node>" },
        { "interchip 0000 peer=0\n", 1, "peer=\"0\" is not a node id in 1..255" },
        { "interchip 0000 peer=256\n", 1, "peer=\"256\" is not a node id in 1..255" },
        { "interchip 0000 peer=\n", 1, "peer=\"\" is not a node id" },
        { "interchip 0000 peer=2 adapter=8\n", 1, "adapter=\"8\" is not an adapter number in 0..7" },
        { "interchip 0000 peer=2 adapter=x\n", 1, "adapter=\"x\"" },
        { "interchip 0000 peer=2 nframes=0\n", 1, "nframes=\"0\" is not in 1..65536" },
        { "interchip 0000 peer=2 nframes=65537\n", 1, "nframes=\"65537\"" },
        { "interchip 0000 peer=2 nframes=99999999999\n", 1, "nframes=" },
        { "interchip 0000 peer=2 frame_size=0\n", 1, "frame_size=\"0\" is not a nonzero multiple of 64" },
        { "interchip 0000 peer=2 frame_size=100\n", 1, "frame_size=\"100\"" },
        { "interchip 0000 peer=2 frame_size=268435520\n", 1, "frame_size=\"268435520\"" },
        { "interchip 0000 peer=2 nframes=65536 frame_size=8192\n", 1, "channel of 65536 frames of 8192 bytes" },
        { "adapter 0 simntb\n\ninterchip 0000 peer=2 adapter=1\n", 3, "adapter 1 is not configured" },
        { "interchip 0000 peer=2 adapter=3\nadapter 3 simntb\nadapter 0 simntb\ninterchip 1 peer=2 adapter=1\n", 4,
          "adapter 1 is not configured" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        n = 77;
        assert_int_equal(parse_ic(bad[i].text, ic, &n, err), -EINVAL);
        assert_int_equal(n, 77);
        assert_err(err, bad[i].line, bad[i].reason, i);
        /* osci_conf_parse refuses the same file (at the same line): SCIInitialize and NvSciIpc read one
         * file the same way. */
        assert_int_equal(parse(bad[i].text, a, &n, err), -EINVAL);
        assert_err(err, bad[i].line, "", i);
    }
    /* At most OSCI_IC_MAX lines. */
    {
        static char big[OSCI_IC_MAX * 32 + 64];
        big[0] = '\0';
        for (int i = 0; i <= OSCI_IC_MAX; i++) sprintf(big + strlen(big), "interchip %d peer=2\n", i);
        assert_int_equal(parse_ic(big, ic, &n, err), -EINVAL);
        assert_non_null(strstr(err, "more than 128 interchip lines"));
    }

    /* osci_conf_interchip: OSCI_CONF, looked up by device number. */
    char tmp[] = "/tmp/ipccfg-conf-XXXXXX";
    int fd = mkstemp(tmp);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    setenv("OSCI_CONF", tmp, 1);
    assert_int_equal(osci_conf_interchip(105, &one, path, sizeof(path)), 0);
    assert_int_equal(one.peer_node, 255);
    assert_string_equal(path, tmp);
    assert_int_equal(osci_conf_interchip(1009, &one, path, sizeof(path)), -ENOENT);
    unlink(tmp);
    assert_int_equal(osci_conf_interchip(105, &one, path, sizeof(path)), -EINVAL);   /* named and missing */
    unsetenv("OSCI_CONF");
}

OSCI_TEST_MAIN(NULL, NULL, NULL,
               cmocka_unit_test(test_conf_good),
               cmocka_unit_test(test_conf_bad),
               cmocka_unit_test(test_hosts),
               cmocka_unit_test(test_load_env),
               cmocka_unit_test(test_registry),
               cmocka_unit_test(test_opt_env),
               cmocka_unit_test(test_interchip))
