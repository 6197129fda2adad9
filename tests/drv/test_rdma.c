/*
 * rdma driver, host side: options, CM private data, message header, transport bytes (with
 * corrupted and truncated input), chunk arithmetic, hosts.conf admission, and a clean refusal
 * to open without an RDMA device. The two-host behaviour is tested in tests/vmlab.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>
#include <infiniband/verbs.h>

#include "osci_drv.h"
#include "rdma.h"

extern const struct osci_drv_ops osci_rdma_ops;

static void conf_init(struct osci_adapter_conf *c)
{
    memset(c, 0, sizeof(*c));
    strcpy(c->driver, "rdma");
}

static void conf_add(struct osci_adapter_conf *c, const char *k, const char *v)
{
    snprintf(c->opts[c->n_opts].key, sizeof(c->opts[0].key), "%s", k);
    snprintf(c->opts[c->n_opts].value, sizeof(c->opts[0].value), "%s", v);
    c->n_opts++;
}

/* ---- options ---- */

static void test_opts_defaults(void **state)
{
    struct osci_adapter_conf c;
    struct rdma_opts o;
    char err[256];
    (void)state;
    conf_init(&c);
    assert_int_equal(rdma__opts_parse(&c, &o, err, sizeof(err)), 0);
    assert_string_equal(o.dev, "");
    assert_int_equal(o.port, 1);
    assert_int_equal(o.gid_index, -1);
    assert_string_equal(o.ip, "");
    assert_int_equal(o.listen, 18515);
    assert_int_equal(o.mr_chunk, 16u << 20);
    assert_int_equal(o.bounce, 2u << 20);
    assert_int_equal(o.retry_ms, 500);
}

static void test_opts_all(void **state)
{
    struct osci_adapter_conf c;
    struct rdma_opts o;
    char err[256];
    (void)state;
    conf_init(&c);
    conf_add(&c, "dev", "rxe0");
    conf_add(&c, "port", "2");
    conf_add(&c, "gid_index", "3");
    conf_add(&c, "ip", "10.0.0.1");
    conf_add(&c, "listen", "20000");
    conf_add(&c, "mr_chunk", "64K");
    conf_add(&c, "bounce", "1M");
    conf_add(&c, "retry_ms", "250");
    assert_int_equal(rdma__opts_parse(&c, &o, err, sizeof(err)), 0);
    assert_string_equal(o.dev, "rxe0");
    assert_int_equal(o.port, 2);
    assert_int_equal(o.gid_index, 3);
    assert_string_equal(o.ip, "10.0.0.1");
    assert_int_equal(o.listen, 20000);
    assert_int_equal(o.mr_chunk, 65536);
    assert_int_equal(o.bounce, 1 << 20);
    assert_int_equal(o.retry_ms, 250);
}

static void expect_bad_opt(const char *k, const char *v, const char *needle)
{
    struct osci_adapter_conf c;
    struct rdma_opts o;
    char err[256];

    conf_init(&c);
    conf_add(&c, k, v);
    memset(&o, 0x5a, sizeof(o));
    assert_int_equal(rdma__opts_parse(&c, &o, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, needle));
    assert_int_equal(o.port, 0x5a5a5a5a);      /* output untouched on failure */
}

static void test_opts_bad(void **state)
{
    (void)state;
    expect_bad_opt("port", "0", "port");
    expect_bad_opt("port", "256", "port");
    expect_bad_opt("port", "1x", "port");
    expect_bad_opt("port", "1K", "port");
    expect_bad_opt("gid_index", "-1", "gid_index");
    expect_bad_opt("ip", "rxe0", "numeric");
    expect_bad_opt("ip", "10.0.0.300", "numeric");
    expect_bad_opt("listen", "65536", "listen");
    expect_bad_opt("listen", "0", "listen");
    expect_bad_opt("mr_chunk", "3M", "power of two");
    expect_bad_opt("mr_chunk", "2K", "power of two");
    expect_bad_opt("mr_chunk", "2G", "power of two");
    expect_bad_opt("bounce", "100", "bounce");
    expect_bad_opt("retry_ms", "10", "retry_ms");
    expect_bad_opt("fabric", "x", "unknown rdma option \"fabric\"");
    expect_bad_opt("devv", "rxe0", "unknown");
}

static void test_size_parse(void **state)
{
    uint64_t v;
    (void)state;
    assert_int_equal(rdma__size_parse("0", 10, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(rdma__size_parse("4k", 1ull << 40, &v), 0);
    assert_int_equal(v, 4096);
    assert_int_equal(rdma__size_parse("16M", 1ull << 40, &v), 0);
    assert_int_equal(v, 16u << 20);
    assert_int_equal(rdma__size_parse("1G", 1ull << 30, &v), 0);
    assert_int_equal(rdma__size_parse("1G", (1ull << 30) - 1, &v), -EINVAL);
    assert_int_equal(rdma__size_parse("", 10, &v), -EINVAL);
    assert_int_equal(rdma__size_parse("M", 10, &v), -EINVAL);
    assert_int_equal(rdma__size_parse("1MB", 1ull << 40, &v), -EINVAL);
    assert_int_equal(rdma__size_parse(" 1", 10, &v), -EINVAL);
    assert_int_equal(rdma__size_parse("99999999999999999999999", UINT64_MAX, &v), -EINVAL);
    assert_int_equal(rdma__size_parse("17179869184G", UINT64_MAX, &v), -EINVAL);
}

/* ---- CM private data ---- */

static void test_cm_priv(void **state)
{
    struct rdma_cm_priv p = { .node_id = 7, .epoch = 0x0123456789abcdefull }, q;
    uint8_t b[RDMA_CM_PRIV_LEN], pad[56];
    (void)state;

    rdma__cm_priv_pack(&p, b);
    assert_int_equal(rdma__cm_priv_unpack(b, sizeof(b), &q), 0);
    assert_int_equal(q.node_id, 7);
    assert_true(q.epoch == p.epoch);
    /* the CM hands over its whole private-data field, zero padded */
    memset(pad, 0, sizeof(pad));
    memcpy(pad, b, sizeof(b));
    assert_int_equal(rdma__cm_priv_unpack(pad, sizeof(pad), &q), 0);
    assert_int_equal(rdma__cm_priv_unpack(b, sizeof(b) - 1, &q), -EPROTO);
    assert_int_equal(rdma__cm_priv_unpack(NULL, 0, &q), -EPROTO);
    /* any flipped byte of magic, version, length, node id or reserved is refused */
    for (size_t i = 0; i < 16; i++) {
        if (i >= 9 && i < 12)
            continue;   /* high bytes of node id: checked below through the range */
        uint8_t c[RDMA_CM_PRIV_LEN];
        memcpy(c, b, sizeof(c));
        c[i] ^= (i == 8) ? 0x07 : 0x40;   /* node 7 -> 0 */
        assert_int_equal(rdma__cm_priv_unpack(c, sizeof(c), &q), -EPROTO);
    }
    p.node_id = 256;
    rdma__cm_priv_pack(&p, b);
    assert_int_equal(rdma__cm_priv_unpack(b, sizeof(b), &q), -EPROTO);
    p.node_id = 1;
    p.epoch = 0;
    rdma__cm_priv_pack(&p, b);
    assert_int_equal(rdma__cm_priv_unpack(b, sizeof(b), &q), -EPROTO);
}

/* ---- message header ---- */

static void test_msg_hdr(void **state)
{
    uint8_t b[RDMA_MSG_BUF];
    struct rdma_msg_hdr h = { .type = RDMA_MSG_DATA, .len = 5, .bit = 0 }, g;
    (void)state;

    rdma__msg_hdr_pack(&h, b);
    assert_int_equal(rdma__msg_hdr_unpack(b, RDMA_MSG_HDR + 5, &g), 0);
    assert_int_equal(g.type, RDMA_MSG_DATA);
    assert_int_equal(g.len, 5);
    assert_int_equal(rdma__msg_hdr_unpack(b, RDMA_MSG_HDR + 4, &g), -EPROTO);   /* length disagrees */
    assert_int_equal(rdma__msg_hdr_unpack(b, RDMA_MSG_HDR - 1, &g), -EPROTO);
    h.len = OSCI_DRV_MSG_MAX;
    rdma__msg_hdr_pack(&h, b);
    assert_int_equal(rdma__msg_hdr_unpack(b, RDMA_MSG_BUF, &g), 0);
    assert_int_equal(rdma__msg_hdr_unpack(b, RDMA_MSG_BUF + 1, &g), -EPROTO);
    h.len = 0;
    rdma__msg_hdr_pack(&h, b);
    assert_int_equal(rdma__msg_hdr_unpack(b, RDMA_MSG_HDR, &g), 0);

    h.type = RDMA_MSG_DOORBELL;
    h.bit = 63;
    rdma__msg_hdr_pack(&h, b);
    assert_int_equal(rdma__msg_hdr_unpack(b, RDMA_MSG_HDR, &g), 0);
    assert_int_equal(g.type, RDMA_MSG_DOORBELL);
    assert_int_equal(g.bit, 63);
    assert_int_equal(rdma__msg_hdr_unpack(b, RDMA_MSG_HDR + 1, &g), -EPROTO);
    h.bit = 64;
    rdma__msg_hdr_pack(&h, b);
    assert_int_equal(rdma__msg_hdr_unpack(b, RDMA_MSG_HDR, &g), -EPROTO);
    h.bit = 1;
    rdma__msg_hdr_pack(&h, b);
    b[0] ^= 1;
    assert_int_equal(rdma__msg_hdr_unpack(b, RDMA_MSG_HDR, &g), -EPROTO);
    b[0] ^= 1;
    b[2] = 2;                           /* unknown version */
    assert_int_equal(rdma__msg_hdr_unpack(b, RDMA_MSG_HDR, &g), -EPROTO);
    b[2] = RDMA_MSG_VERSION;
    b[3] = 3;                           /* unknown type */
    assert_int_equal(rdma__msg_hdr_unpack(b, RDMA_MSG_HDR, &g), -EPROTO);
}

/* ---- transport bytes ---- */

static void make_xport(struct rdma_xport *x, uint64_t size, uint64_t chunk)
{
    memset(x, 0, sizeof(*x));
    x->addr = 0x7f0000100000ull;
    x->size = size;
    x->chunk = chunk;
    x->n_chunks = (uint32_t)rdma__n_chunks(size, chunk);
    for (uint32_t i = 0; i < x->n_chunks && i < RDMA_XPORT_MAX_CHUNKS; i++)
        x->rkey[i] = 0x1000 + i * 17;
}

static void test_xport_roundtrip(void **state)
{
    struct rdma_xport x, y;
    uint8_t b[OSCI_DRV_XPORT_MAX];
    size_t len;
    (void)state;

    make_xport(&x, 1 << 20, 16 << 20);
    len = sizeof(b);
    assert_int_equal(rdma__xport_pack(&x, b, len, &len), 0);
    assert_int_equal(len, RDMA_XPORT_HDR + 4);
    assert_int_equal(rdma__xport_unpack(b, len, &y), 0);
    assert_memory_equal(&x, &y, sizeof(x));

    make_xport(&x, 10 * 4096 - 1, 4096);        /* the largest export: 10 chunks */
    assert_int_equal(x.n_chunks, 10);
    len = sizeof(b);
    assert_int_equal(rdma__xport_pack(&x, b, len, &len), 0);
    assert_int_equal(len, OSCI_DRV_XPORT_MAX);
    assert_int_equal(rdma__xport_unpack(b, len, &y), 0);
    assert_memory_equal(&x, &y, sizeof(x));

    make_xport(&x, 10 * 4096 + 1, 4096);        /* 11 chunks do not fit */
    len = sizeof(b);
    assert_int_equal(rdma__xport_pack(&x, b, len, &len), -E2BIG);
    make_xport(&x, 4096, 4096);
    len = RDMA_XPORT_HDR + 3;
    assert_int_equal(rdma__xport_pack(&x, b, len, &len), -ENOSPC);
    make_xport(&x, 8192, 4096);
    x.n_chunks = 1;                              /* inconsistent with size */
    len = sizeof(b);
    assert_int_equal(rdma__xport_pack(&x, b, len, &len), -EINVAL);
    make_xport(&x, 8192, 6000);                  /* chunk not a power of two */
    assert_int_equal(rdma__xport_pack(&x, b, len, &len), -EINVAL);
}

static void test_xport_corrupt(void **state)
{
    struct rdma_xport x, y;
    uint8_t b[OSCI_DRV_XPORT_MAX], c[OSCI_DRV_XPORT_MAX + 8];
    size_t len = sizeof(b);
    (void)state;

    make_xport(&x, 3 * 65536 + 5, 65536);       /* 4 chunks */
    assert_int_equal(rdma__xport_pack(&x, b, len, &len), 0);
    /* every truncation and extension is refused */
    for (size_t l = 0; l < len; l++)
        assert_true(rdma__xport_unpack(b, l, &y) < 0);
    memcpy(c, b, len);
    memset(c + len, 0, 8);
    assert_true(rdma__xport_unpack(c, len + 4, &y) < 0);
    /* every flipped header byte (magic, version, n, shift, len) is refused */
    for (size_t i = 0; i < 8; i++) {
        for (int bit = 0; bit < 8; bit++) {
            memcpy(c, b, len);
            c[i] ^= (uint8_t)(1u << bit);
            int r = rdma__xport_unpack(c, len, &y);
            if (i == 6 && r == 0) {
                /* a different chunk shift can still describe a consistent export only if n agrees */
                assert_int_equal(rdma__n_chunks(y.size, y.chunk), y.n_chunks);
                continue;
            }
            assert_true(r < 0);
        }
    }
    /* size that disagrees with the chunk count */
    memcpy(c, b, len);
    c[16 + 2] ^= 0x10;      /* size += 1M: 20 chunks of 64K, n says 4 */
    assert_true(rdma__xport_unpack(c, len, &y) < 0);
    memset(c + 16, 0, 8);   /* size 0 */
    assert_true(rdma__xport_unpack(c, len, &y) < 0);
    /* address + size wrapping around */
    memcpy(c, b, len);
    memset(c + 8, 0xff, 8);
    assert_true(rdma__xport_unpack(c, len, &y) < 0);
    /* rkeys are opaque: a changed rkey still unpacks, with that value */
    memcpy(c, b, len);
    c[RDMA_XPORT_HDR + 4] ^= 0xff;
    assert_int_equal(rdma__xport_unpack(c, len, &y), 0);
    assert_int_equal(y.rkey[1], x.rkey[1] ^ 0xff);
}

/* ---- chunk arithmetic ---- */

static void test_chunk_math(void **state)
{
    (void)state;
    assert_int_equal(rdma__n_chunks(0, 4096), 0);
    assert_int_equal(rdma__n_chunks(1, 4096), 1);
    assert_int_equal(rdma__n_chunks(4096, 4096), 1);
    assert_int_equal(rdma__n_chunks(4097, 4096), 2);
    assert_int_equal(rdma__n_chunks(160ull << 20, 16ull << 20), 10);
    assert_int_equal(rdma__n_chunks(4096, 3000), 0);
    /* pieces stop at chunk ends and at max */
    assert_int_equal(rdma__piece(0, 10000, 4096, 0), 4096);
    assert_int_equal(rdma__piece(4000, 10000, 4096, 0), 96);
    assert_int_equal(rdma__piece(4096, 10000, 4096, 1000), 1000);
    assert_int_equal(rdma__piece(5, 10, 4096, 0), 10);
    /* a walk over a transfer covers it exactly, never crossing a chunk */
    uint64_t off = 1000, left = 5 * 4096 + 123, sum = 0;
    while (left) {
        uint64_t p = rdma__piece(off, left, 4096, 3000);
        assert_true(p > 0 && p <= 3000);
        assert_int_equal(off / 4096, (off + p - 1) / 4096);
        off += p;
        left -= p;
        sum += p;
    }
    assert_int_equal(sum, 5 * 4096 + 123);
}

/* ---- hosts.conf admission ---- */

static void sin_of(struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
    memset(ss, 0, sizeof(*ss));
    if (strchr(ip, ':')) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        assert_int_equal(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        assert_int_equal(inet_pton(AF_INET, ip, &s4->sin_addr), 1);
    }
}

static void test_hosts_admission(void **state)
{
    const char *text = "1 10.0.2.1\n2 10.0.2.2\n3 fd00::3\n";
    struct osci_host in[8];
    struct rdma_host h[8];
    struct sockaddr_storage a;
    unsigned int n;
    char err[256];
    (void)state;

    assert_int_equal(osci_hosts_parse("hosts", text, strlen(text), in, 8, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 3);
    assert_int_equal(rdma__hosts_resolve(in, n, h, err, sizeof(err)), 0);

    sin_of(&a, "10.0.2.2", 40000);
    assert_int_equal(rdma__hosts_node_of(h, n, (struct sockaddr *)&a), 2);
    assert_int_equal(rdma__peer_check(h, n, 1, (struct sockaddr *)&a, 2), 0);
    assert_int_equal(rdma__peer_check(h, n, 1, (struct sockaddr *)&a, 3), -EACCES);   /* wrong address */
    assert_int_equal(rdma__peer_check(h, n, 1, (struct sockaddr *)&a, 9), -EACCES);   /* not listed */
    assert_int_equal(rdma__peer_check(h, n, 2, (struct sockaddr *)&a, 2), -EACCES);   /* claims to be us */
    assert_int_equal(rdma__peer_check(h, n, 1, (struct sockaddr *)&a, 0), -EACCES);
    sin_of(&a, "::ffff:10.0.2.2", 1);                                                  /* v4-mapped */
    assert_int_equal(rdma__peer_check(h, n, 1, (struct sockaddr *)&a, 2), 0);
    sin_of(&a, "10.0.2.9", 1);
    assert_int_equal(rdma__hosts_node_of(h, n, (struct sockaddr *)&a), 0);
    assert_int_equal(rdma__peer_check(h, n, 1, (struct sockaddr *)&a, 2), -EACCES);
    sin_of(&a, "fd00::3", 7);
    assert_int_equal(rdma__peer_check(h, n, 1, (struct sockaddr *)&a, 3), 0);
    sin_of(&a, "fd00::4", 7);
    assert_int_equal(rdma__peer_check(h, n, 1, (struct sockaddr *)&a, 3), -EACCES);
    assert_non_null(rdma__hosts_find(h, n, 3));
    assert_null(rdma__hosts_find(h, n, 4));

    strcpy(in[0].addr, "no such host.invalid");
    assert_int_equal(rdma__hosts_resolve(in, 1, h, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "node 1"));
}

/* ---- opening ---- */

static void test_ops_registered(void **state)
{
    (void)state;
    assert_ptr_equal(osci_drv_find("rdma"), &osci_rdma_ops);
    assert_null(osci_rdma_ops.rmem_map);       /* no load/store over RDMA */
    assert_null(osci_rdma_ops.mem_alloc);
    assert_null(osci_rdma_ops.db_wait);
    assert_non_null(osci_rdma_ops.db_poll);
}

static void test_open_bad_option(void **state)
{
    struct osci_adapter_conf c;
    struct osci_drv *d = NULL;
    (void)state;
    conf_init(&c);
    c.node_id = 1;
    conf_add(&c, "mr_chunk", "5M");
    assert_int_equal(osci_drv_open(&c, &d), -EINVAL);
    assert_null(d);
    conf_init(&c);
    c.observe = 1;
    assert_int_equal(osci_drv_open(&c, &d), -EOPNOTSUPP);
}

static void test_open_without_device(void **state)
{
    struct osci_adapter_conf c;
    struct osci_drv *d = NULL;
    struct ibv_device **list;
    char path[] = "/tmp/osci-rdma-hosts-XXXXXX";
    int n = 0, fd;
    (void)state;

    list = ibv_get_device_list(&n);
    if (list)
        ibv_free_device_list(list);
    if (n > 0) {
        print_message("an RDMA device is present: the no-device refusal is not checked here\n");
        skip();
    }
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "1 10.0.2.1\n2 10.0.2.2\n", 22), 22);
    close(fd);
    setenv("OSCI_HOSTS", path, 1);
    conf_init(&c);
    c.node_id = 1;
    conf_add(&c, "dev", "rxe0");
    assert_int_equal(osci_drv_open(&c, &d), -ENODEV);
    assert_null(d);
    unsetenv("OSCI_HOSTS");
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_opts_defaults),
        cmocka_unit_test(test_opts_all),
        cmocka_unit_test(test_opts_bad),
        cmocka_unit_test(test_size_parse),
        cmocka_unit_test(test_cm_priv),
        cmocka_unit_test(test_msg_hdr),
        cmocka_unit_test(test_xport_roundtrip),
        cmocka_unit_test(test_xport_corrupt),
        cmocka_unit_test(test_chunk_math),
        cmocka_unit_test(test_hosts_admission),
        cmocka_unit_test(test_ops_registered),
        cmocka_unit_test(test_open_bad_option),
        cmocka_unit_test(test_open_without_device),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
