/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * rdma driver, host side: options, CM private data, message header, transport bytes (with
 * corrupted and truncated input), chunk arithmetic, hosts.conf admission, the publish file that
 * osci-seginfo reads (format, seqlock under a concurrent writer, creation checks, stale files), and
 * a clean refusal to open without an RDMA device. The two-host behaviour is tested in tests/vmlab.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>
#include <infiniband/verbs.h>
#include <linux/udmabuf.h>

#include "osci_drv.h"
#include "osci_parse.h"
#include "rdma.h"
#include "../common/osci_test.h"

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
    assert_int_equal(o.spin_us, 20);
    assert_int_equal(o.wait_ms, 30000);
    assert_int_equal(o.stall_ms, 3000);
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
    conf_add(&c, "stall_ms", "1500");
    assert_int_equal(rdma__opts_parse(&c, &o, err, sizeof(err)), 0);
    assert_string_equal(o.dev, "rxe0");
    assert_int_equal(o.port, 2);
    assert_int_equal(o.gid_index, 3);
    assert_string_equal(o.ip, "10.0.0.1");
    assert_int_equal(o.listen, 20000);
    assert_int_equal(o.mr_chunk, 65536);
    assert_int_equal(o.bounce, 1 << 20);
    assert_int_equal(o.retry_ms, 250);
    assert_int_equal(o.stall_ms, 1500);
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
    expect_bad_opt("spin_us", "100001", "spin_us");
    expect_bad_opt("spin_us", "-1", "spin_us");
    expect_bad_opt("wait_ms", "99", "wait_ms");
    expect_bad_opt("wait_ms", "1M", "wait_ms");
    expect_bad_opt("stall_ms", "199", "stall_ms");
    expect_bad_opt("stall_ms", "600001", "stall_ms");
    expect_bad_opt("stall_ms", "", "stall_ms");
    expect_bad_opt("fabric", "x", "unknown rdma option \"fabric\"");
    expect_bad_opt("devv", "rxe0", "unknown");
}

static void test_size_parse(void **state)
{
    uint64_t v;
    (void)state;
    assert_int_equal(osci_parse_size("0", 10, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(osci_parse_size("4k", 1ull << 40, &v), 0);
    assert_int_equal(v, 4096);
    assert_int_equal(osci_parse_size("16M", 1ull << 40, &v), 0);
    assert_int_equal(v, 16u << 20);
    assert_int_equal(osci_parse_size("1G", 1ull << 30, &v), 0);
    assert_int_equal(osci_parse_size("1G", (1ull << 30) - 1, &v), -EINVAL);
    assert_int_equal(osci_parse_size("", 10, &v), -EINVAL);
    assert_int_equal(osci_parse_size("M", 10, &v), -EINVAL);
    assert_int_equal(osci_parse_size("1MB", 1ull << 40, &v), -EINVAL);
    assert_int_equal(osci_parse_size(" 1", 10, &v), -EINVAL);
    assert_int_equal(osci_parse_size("99999999999999999999999", UINT64_MAX, &v), -EINVAL);
    assert_int_equal(osci_parse_size("17179869184G", UINT64_MAX, &v), -EINVAL);
    /* a multiplier that wraps to a small value (2^34 + 1 G = 2^64 + 2^30) is too big, not 1 G */
    assert_int_equal(osci_parse_size("17179869185G", 1ull << 40, &v), -EINVAL);
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

/* ---- dma-buf detection (mem_export's choice between ibv_reg_dmabuf_mr and ibv_reg_mr) ---- */

/* A udmabuf over a sealed memfd of 2 pages, or -1 where the kernel has no /dev/udmabuf. */
static int make_udmabuf(void)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    int dev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC), mfd, fd;
    struct udmabuf_create c;

    if (dev < 0)
        return -1;
    mfd = memfd_create("osci-test-udmabuf", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    assert_true(mfd >= 0);
    assert_int_equal(ftruncate(mfd, (off_t)(2 * pg)), 0);
    assert_int_equal(fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK), 0);
    c = (struct udmabuf_create){ .memfd = (uint32_t)mfd, .flags = UDMABUF_FLAGS_CLOEXEC, .offset = 0,
                                 .size = 2 * pg };
    fd = ioctl(dev, UDMABUF_CREATE, &c);
    assert_true(fd >= 0);
    close(mfd);
    close(dev);
    return fd;
}

static void test_dmabuf_detect(void **state)
{
    char path[] = "/tmp/osci-test-dmabuf-XXXXXX";
    int mfd = memfd_create("osci-test-dmabuf", MFD_CLOEXEC), pfd[2], ffd = mkstemp(path), ufd;
    (void)state;
    assert_true(mfd >= 0 && ffd >= 0);
    unlink(path);
    assert_int_equal(pipe(pfd), 0);
    assert_int_equal(rdma__fd_is_dmabuf(mfd), 0);         /* memfd: registered by its mapping */
    assert_int_equal(rdma__fd_is_dmabuf(ffd), 0);
    assert_int_equal(rdma__fd_is_dmabuf(pfd[0]), 0);
    assert_int_equal(rdma__fd_is_dmabuf(-1), -EBADF);
    close(pfd[1]);
    assert_int_equal(rdma__fd_is_dmabuf(pfd[1]), -EBADF);  /* closed */
    ufd = make_udmabuf();                                  /* the lab's guests have /dev/udmabuf */
    if (ufd >= 0) {
        assert_int_equal(rdma__fd_is_dmabuf(ufd), 1);
        close(ufd);
    } else {
        print_message("no /dev/udmabuf here: the positive case runs in the lab (57-dmabuf-rdma)\n");
    }
    close(pfd[0]);
    close(ffd);
    close(mfd);
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

/* ---- who keeps which connection ---- */

static void test_cm_admit(void **state)
{
    static const enum rdma_have all[] = { RDMA_HAVE_NONE, RDMA_HAVE_OWN_ATTEMPT, RDMA_HAVE_ACCEPTING, RDMA_HAVE_UP };
    (void)state;

    /* nothing held: any listed peer is accepted, whichever id is lower */
    assert_int_equal(rdma__cm_admit(4, 8, RDMA_HAVE_NONE), RDMA_ADMIT_ACCEPT);
    assert_int_equal(rdma__cm_admit(8, 4, RDMA_HAVE_NONE), RDMA_ADMIT_ACCEPT);
    /* crossed attempts: node 4 keeps its own and refuses 8's; node 8 drops its own for 4's */
    assert_int_equal(rdma__cm_admit(4, 8, RDMA_HAVE_OWN_ATTEMPT), RDMA_ADMIT_REFUSE);
    assert_int_equal(rdma__cm_admit(8, 4, RDMA_HAVE_OWN_ATTEMPT), RDMA_ADMIT_REPLACE);
    /* a peer that asks again while we hold an established (half-dead) or half-accepted connection */
    assert_int_equal(rdma__cm_admit(4, 8, RDMA_HAVE_UP), RDMA_ADMIT_REPLACE);
    assert_int_equal(rdma__cm_admit(8, 4, RDMA_HAVE_UP), RDMA_ADMIT_REPLACE);
    assert_int_equal(rdma__cm_admit(4, 8, RDMA_HAVE_ACCEPTING), RDMA_ADMIT_REPLACE);
    assert_int_equal(rdma__cm_admit(8, 4, RDMA_HAVE_ACCEPTING), RDMA_ADMIT_REPLACE);
    /* whatever the two sides hold, they never both refuse each other's request (no side stays without a
     * connection because of the other), and a refusal only ever comes from the lower id */
    for (unsigned int i = 0; i < 4; i++)
        for (unsigned int j = 0; j < 4; j++) {
            enum rdma_admit lo = rdma__cm_admit(1, 200, all[i]), hi = rdma__cm_admit(200, 1, all[j]);
            assert_false(lo == RDMA_ADMIT_REFUSE && hi == RDMA_ADMIT_REFUSE);
            assert_int_not_equal(hi, RDMA_ADMIT_REFUSE);
            assert_int_equal(lo == RDMA_ADMIT_REFUSE, all[i] == RDMA_HAVE_OWN_ATTEMPT);
        }
}

/* ---- opening ---- */

static void test_ops_registered(void **state)
{
    (void)state;
    assert_ptr_equal(osci_drv_find("rdma")->open, osci_rdma_ops.open);   /* the registry's filled copy */
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
    conf_add(&c, "listen", "0");
    assert_int_equal(osci_drv_open(&c, &d), -EINVAL);      /* observers check options too */
    assert_null(d);
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
    c.observe = 1;                                           /* osci-seginfo: the same refusal */
    assert_int_equal(osci_drv_open(&c, &d), -ENODEV);
    assert_null(d);
    unsetenv("OSCI_HOSTS");
    unlink(path);
}

/* ---- publish file ---- */

static char pub_name[96];

static void pub_name_init(void)
{
    const char *f = getenv("OSCI_FABRIC");
    snprintf(pub_name, sizeof(pub_name), "/osci-rdma-test.%s.%d", f ? f : "none", (int)getpid());
}

static void test_pub_name(void **state)
{
    char b[64];
    (void)state;
    assert_int_equal(rdma__pub_name("rxe0", 1, 18515, b, sizeof(b)), 0);
    assert_string_equal(b, "/osci-rdma.rxe0.1.18515");
    assert_int_equal(rdma__pub_name("../a b", 2, 7, b, sizeof(b)), 0);
    assert_string_equal(b, "/osci-rdma.___a_b.2.7");          /* no path out of /dev/shm */
    assert_int_equal(rdma__pub_name("mlx5_0", 1, 18515, b, 12), -ENAMETOOLONG);
}

static void test_pub_format(void **state)
{
    uint8_t *m = calloc(1, RDMA_PUB_SIZE);
    struct rdma_pub_state *st = calloc(1, sizeof(*st));
    struct rdma_pub_peer p[3] = { { 2, 1, 0x22, 1000 }, { 3, 0, 0, 0 }, { 9, 1, 0x99, 5 } };
    uint8_t info[64], big[RDMA_PUB_INFO_MAX + 1];
    uint32_t v;
    (void)state;
    assert_non_null(m);
    assert_non_null(st);

    assert_int_equal(rdma__pub_read(m, RDMA_PUB_SIZE, st, NULL, 0), -EBADMSG);   /* no magic yet */
    rdma__pub_init(m, 4242, 1, 0xabcdef);
    assert_int_equal(rdma__pub_read(m, RDMA_PUB_SIZE, st, info, sizeof(info)), 0);
    assert_int_equal(st->pid, 4242);
    assert_int_equal(st->node_id, 1);
    assert_true(st->epoch == 0xabcdef);
    assert_int_equal(st->n_peers, 0);
    assert_int_equal(st->info_len, 0);

    rdma__pub_set_peers(m, p, 3);
    assert_int_equal(rdma__pub_set_info(m, "hello", 5), 0);
    assert_int_equal(rdma__pub_read(m, RDMA_PUB_SIZE, st, info, sizeof(info)), 0);
    assert_int_equal(st->n_peers, 3);
    assert_int_equal(st->peer[0].node_id, 2);
    assert_int_equal(st->peer[0].link_up, 1);
    assert_true(st->peer[0].epoch == 0x22 && st->peer[0].last_rx_ms == 1000);
    assert_int_equal(st->peer[1].link_up, 0);
    assert_int_equal(st->peer[2].node_id, 9);
    assert_int_equal(st->info_len, 5);
    assert_memory_equal(info, "hello", 5);
    assert_int_equal(rdma__pub_read(m, RDMA_PUB_SIZE, st, info, 4), -EMSGSIZE);
    assert_int_equal(rdma__pub_read(m, RDMA_PUB_SIZE, st, NULL, 0), 0);          /* table only */
    assert_int_equal(rdma__pub_read(m, RDMA_PUB_SIZE - 1, st, NULL, 0), -EBADMSG);
    memset(big, 1, sizeof(big));
    assert_int_equal(rdma__pub_set_info(m, big, sizeof(big)), -EMSGSIZE);
    assert_int_equal(rdma__pub_set_info(m, NULL, 3), -EINVAL);
    assert_int_equal(rdma__pub_set_info(m, big, RDMA_PUB_INFO_MAX), 0);

    /* malformed: counts past their areas, another version */
    memcpy(&v, m + 20, 4);
    uint32_t bad = RDMA_PUB_PEERS + 1;
    memcpy(m + 20, &bad, 4);
    assert_int_equal(rdma__pub_read(m, RDMA_PUB_SIZE, st, NULL, 0), -EBADMSG);
    memcpy(m + 20, &v, 4);
    bad = RDMA_PUB_INFO_MAX + 1;
    memcpy(m + 32, &bad, 4);
    assert_int_equal(rdma__pub_read(m, RDMA_PUB_SIZE, st, NULL, 0), -EBADMSG);
    bad = 0;
    memcpy(m + 32, &bad, 4);
    m[4] = 9;
    assert_int_equal(rdma__pub_read(m, RDMA_PUB_SIZE, st, NULL, 0), -EBADMSG);
    m[4] = RDMA_PUB_VERSION;
    m[8] = 1;                                        /* a writer that never finishes */
    assert_int_equal(rdma__pub_read(m, RDMA_PUB_SIZE, st, NULL, 0), -EAGAIN);
    free(st);
    free(m);
}

struct pub_writer {
    uint8_t *map;
    volatile int stop;
    unsigned long rounds;
};

/* Every entry of round r carries epoch r: a torn read shows two different values. */
static void *pub_writer_main(void *arg)
{
    struct pub_writer *w = arg;
    struct rdma_pub_peer p[RDMA_PUB_PEERS];
    uint8_t info[512];
    while (!w->stop) {
        unsigned int n = 1 + (unsigned int)(w->rounds % RDMA_PUB_PEERS);
        for (unsigned int i = 0; i < n; i++) {
            p[i].node_id = i + 1;
            p[i].link_up = 1;
            p[i].epoch = w->rounds;
            p[i].last_rx_ms = w->rounds;
        }
        rdma__pub_set_peers(w->map, p, n);
        memset(info, (int)(w->rounds & 0xff), sizeof(info));
        (void)rdma__pub_set_info(w->map, info, 1 + w->rounds % sizeof(info));
        w->rounds++;
    }
    return NULL;
}

static void test_pub_seqlock(void **state)
{
    struct pub_writer w = { .map = calloc(1, RDMA_PUB_SIZE) };
    struct rdma_pub_state *st = calloc(1, sizeof(*st));
    uint8_t info[512];
    pthread_t t;
    unsigned int reads = 0;
    (void)state;
    assert_non_null(w.map);
    assert_non_null(st);
    rdma__pub_init(w.map, 1, 1, 1);
    assert_int_equal(pthread_create(&t, NULL, pub_writer_main, &w), 0);
    for (unsigned int i = 0; i < 20000; i++) {
        int ret = rdma__pub_read(w.map, RDMA_PUB_SIZE, st, info, sizeof(info));
        if (ret == -EAGAIN)
            continue;
        assert_int_equal(ret, 0);
        for (unsigned int k = 1; k < st->n_peers; k++)
            assert_true(st->peer[k].epoch == st->peer[0].epoch);
        for (size_t k = 1; k < st->info_len; k++)
            assert_int_equal(info[k], info[0]);
        reads++;
    }
    w.stop = 1;
    pthread_join(t, NULL);
    assert_true(reads > 0);
    free(st);
    free(w.map);
}

static void test_pub_file(void **state)
{
    struct rdma_pub_state st;
    const void *ro;
    void *map = NULL, *map2 = NULL;
    char err[256];
    char path[128];
    pid_t child;
    int fd, status;
    (void)state;
    pub_name_init();
    snprintf(path, sizeof(path), "/dev/shm%s", pub_name);
    assert_int_equal(rdma__pub_open(pub_name, &ro), -ENOENT);

    /* fresh: 0600, the right size, readable by an observer */
    assert_int_equal(rdma__pub_create(pub_name, (int32_t)getpid(), 3, 0x77, &map, err, sizeof(err)), 0);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(sb.st_size, RDMA_PUB_SIZE);
    assert_int_equal(rdma__pub_set_info(map, "abc", 3), 0);
    assert_int_equal(rdma__pub_open(pub_name, &ro), 0);
    assert_int_equal(rdma__pub_read(ro, RDMA_PUB_SIZE, &st, NULL, 0), 0);
    assert_int_equal(st.node_id, 3);
    assert_int_equal(st.pid, getpid());
    assert_int_equal(st.info_len, 3);
    munmap((void *)(uintptr_t)ro, RDMA_PUB_SIZE);

    /* a live owner keeps it */
    assert_int_equal(rdma__pub_create(pub_name, (int32_t)getpid(), 4, 1, &map2, err, sizeof(err)), -EADDRINUSE);
    assert_non_null(strstr(err, "belongs to process"));

    /* group/other access: refused by the reader */
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(rdma__pub_open(pub_name, &ro), -EPERM);
    assert_int_equal(chmod(path, 0600), 0);

    /* left by a process that is gone: replaced */
    munmap(map, RDMA_PUB_SIZE);
    child = fork();
    assert_true(child >= 0);
    if (child == 0)
        _exit(0);
    assert_int_equal(waitpid(child, &status, 0), child);
    fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    int32_t dead = (int32_t)child;
    assert_int_equal(pwrite(fd, &dead, 4, 12), 4);          /* the owner pid field */
    close(fd);
    assert_int_equal(rdma__pub_create(pub_name, (int32_t)getpid(), 5, 2, &map2, err, sizeof(err)), 0);
    assert_int_equal(rdma__pub_read(map2, RDMA_PUB_SIZE, &st, NULL, 0), 0);
    assert_int_equal(st.node_id, 5);
    assert_int_equal(st.info_len, 0);                        /* nothing of the old one */
    munmap(map2, RDMA_PUB_SIZE);

    /* a half-made file (wrong size) is replaced after a short look */
    assert_int_equal(truncate(path, 100), 0);
    assert_int_equal(rdma__pub_open(pub_name, &ro), -EBADMSG);
    assert_int_equal(rdma__pub_create(pub_name, (int32_t)getpid(), 6, 3, &map2, err, sizeof(err)), 0);
    munmap(map2, RDMA_PUB_SIZE);

    /* a symlink is never followed */
    assert_int_equal(unlink(path), 0);
    assert_int_equal(symlink("/dev/null", path), 0);
    assert_int_equal(rdma__pub_open(pub_name, &ro), -ELOOP);
    assert_true(rdma__pub_create(pub_name, (int32_t)getpid(), 7, 4, &map2, err, sizeof(err)) < 0);
    assert_int_equal(unlink(path), 0);
}

OSCI_TEST_MAIN(NULL, NULL, NULL,
               cmocka_unit_test(test_opts_defaults),
               cmocka_unit_test(test_opts_all),
               cmocka_unit_test(test_opts_bad),
               cmocka_unit_test(test_size_parse),
               cmocka_unit_test(test_cm_priv),
               cmocka_unit_test(test_msg_hdr),
               cmocka_unit_test(test_xport_roundtrip),
               cmocka_unit_test(test_xport_corrupt),
               cmocka_unit_test(test_chunk_math),
               cmocka_unit_test(test_dmabuf_detect),
               cmocka_unit_test(test_hosts_admission),
               cmocka_unit_test(test_cm_admit),
               cmocka_unit_test(test_ops_registered),
               cmocka_unit_test(test_open_bad_option),
               cmocka_unit_test(test_open_without_device),
               cmocka_unit_test(test_pub_name),
               cmocka_unit_test(test_pub_format),
               cmocka_unit_test(test_pub_seqlock),
               cmocka_unit_test(test_pub_file))
