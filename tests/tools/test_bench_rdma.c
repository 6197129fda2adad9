/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* osci-bench --suite rdma on one host: argument handling, the error without an rdma adapter, and a
 * server/client run over simntb (--adapter 0) on both transfer paths, checking the JSON contract. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "tool_util.h"
#include "../common/osci_test.h"

static char bench[PATH_MAX];
static char tmpdir[] = "/tmp/osci-bench-rdma-XXXXXX";

static int setup(void **state)
{
    if (tu_tool("osci-bench", bench, sizeof(bench)))
        return -1;
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    char p[PATH_MAX];
    static const char *const files[] = { "opensci.conf", "hosts.conf", "simntb.conf" };
    for (unsigned int i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", tmpdir, files[i]);
        unlink(p);
    }
    rmdir(tmpdir);
    return 0;
}

/* Runs argv with extra environment entries ("K=V", NULL-terminated); stdout and stderr apart. */
struct run2 {
    struct tu_run r;
    char *err;
};

static pid_t spawn_env(char *const argv[], const char *const env[], int *out_fd, int *err_fd)
{
    int po[2], pe[2];
    if (pipe(po))
        return -1;
    if (pipe(pe)) {
        close(po[0]);
        close(po[1]);
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        dup2(po[1], 1);
        dup2(pe[1], 2);
        close(po[0]);
        close(po[1]);
        close(pe[0]);
        close(pe[1]);
        for (unsigned int i = 0; env && env[i]; i++)
            putenv((char *)env[i]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    if (pid < 0) {
        close(po[0]);
        close(pe[0]);
        return -1;
    }
    *out_fd = po[0];
    *err_fd = pe[0];
    return pid;
}

/* Collects a spawned child's stdout and stderr (stderr after stdout's EOF; its output is small). */
static void collect(pid_t pid, int out_fd, int err_fd, long timeout_ms, struct run2 *r)
{
    size_t elen;
    if (tu_read_all(out_fd, &r->r.out, &r->r.len, timeout_ms)) {
        r->r.timed_out = 1;
        kill(pid, SIGKILL);
    }
    tu_read_all(err_fd, &r->err, &elen, 5000);
    close(out_fd);
    close(err_fd);
    waitpid(pid, &r->r.status, 0);
}

static void run_env(char *const argv[], const char *const env[], struct run2 *r)
{
    int o, e;
    memset(r, 0, sizeof(*r));
    pid_t pid = spawn_env(argv, env, &o, &e);
    assert_true(pid > 0);
    collect(pid, o, e, 60000, r);
}

static void run2_free(struct run2 *r)
{
    tu_run_free(&r->r);
    free(r->err);
}

static void expect_usage(char *const argv[], const char *needle)
{
    struct run2 r;
    run_env(argv, NULL, &r);
    assert_false(r.r.timed_out);
    if (tu_exit_code(&r.r) != 2 || !strstr(r.err, needle))
        fprintf(stderr, "exit %d, stderr: %s\n", tu_exit_code(&r.r), r.err);
    assert_int_equal(tu_exit_code(&r.r), 2);
    assert_non_null(strstr(r.err, needle));
    assert_int_equal(r.r.len, 0);
    run2_free(&r);
}

static void test_args(void **state)
{
    { char *a[] = { bench, "--suite", "rdma", NULL }; expect_usage(a, "--role server|client"); }
    { char *a[] = { bench, "--suite", "rdma", "--role", "client", NULL }; expect_usage(a, "--peer-node"); }
    { char *a[] = { bench, "--suite", "rdma", "--peer-node", "4", NULL }; expect_usage(a, "--role"); }
    { char *a[] = { bench, "--suite", "rdma", "--role", "master", "--peer-node", "4", NULL };
      expect_usage(a, "--role is server or client"); }
    { char *a[] = { bench, "--suite", "rdma", "--role", "client", "--peer-node", "0", NULL };
      expect_usage(a, "--peer-node"); }
    { char *a[] = { bench, "--suite", "rdma", "--role", "client", "--peer-node", "70000", NULL };
      expect_usage(a, "1..65535"); }
    { char *a[] = { bench, "--suite", "rdma", "--role", "client", "--peer-node", "4", "--adapter", "9", NULL };
      expect_usage(a, "0..7"); }
    { char *a[] = { bench, "--suite", "rdma", "--role", "client", "--peer-node", "4", "--path", "pio", NULL };
      expect_usage(a, "--path is auto, dma, memcpy or transfer"); }
    { char *a[] = { bench, "--suite", "rdma", "--role", "client", "--peer-node", "4", "--dma-queues", "9", NULL };
      expect_usage(a, "at most 8"); }
    { char *a[] = { bench, "--suite", "seg", "--dma-queues", "2", NULL }; expect_usage(a, "belong to --suite rdma"); }
    { char *a[] = { bench, "--suite", "seg", "--role", "client", "--peer-node", "4", NULL };
      expect_usage(a, "belong to --suite rdma"); }
    { char *a[] = { bench, "--suite", "rdma", "--role", "server", "--peer-node", "4", "--csv", NULL };
      expect_usage(a, "belong to the client"); }
    { char *a[] = { bench, "--suite", "rdma", "--role", "client", "--peer-node", "4", "-n", "rdma.nope=5", NULL };
      expect_usage(a, "no such test"); }
    { char *a[] = { bench, "--suite", "rdma", "--role", "client", "--peer-node", "4", "-n", "rdma.write.lat=0",
                    NULL };
      expect_usage(a, "--iters needs a number >= 1"); }
    { char *a[] = { bench, "--suite", "rdma", "--role", "client", "--peer-node", "4", "-n", "=5", NULL };
      expect_usage(a, "needs a test name"); }
}

static void test_list(void **state)
{
    char *a[] = { bench, "--suite", "rdma", "--list", NULL };
    struct run2 r;
    run_env(a, NULL, &r);
    assert_int_equal(tu_exit_code(&r.r), 0);
    assert_non_null(strstr(r.r.out, "rdma.write.bw"));
    assert_non_null(strstr(r.r.out, "rdma.write.lat"));
    assert_non_null(strstr(r.r.out, "rdma.read.lat"));
    assert_null(strstr(r.r.out, "seg.pio.lat"));
    run2_free(&r);
}

static void write_file(const char *name, const char *text, char *path, size_t len)
{
    snprintf(path, len, "%s/%s", tmpdir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

/* The default configuration has only the simntb adapter: the client says what to configure. */
static void test_no_rdma_adapter(void **state)
{
    char *a[] = { bench, "--suite", "rdma", "--role", "client", "--peer-node", "2", "--json", NULL };
    char *s[] = { bench, "--suite", "rdma", "--role", "server", "--peer-node", "2", NULL };
    char conf[PATH_MAX], env_conf[PATH_MAX + 16];
    struct run2 r;

    run_env(a, (const char *const[]){ "OSCI_NODE_ID=1", NULL }, &r);
    assert_false(r.r.timed_out);
    assert_int_equal(tu_exit_code(&r.r), 1);
    assert_non_null(strstr(r.err, "no rdma adapter is configured"));
    assert_non_null(strstr(r.err, "OSCI_CONF"));
    assert_int_equal(r.r.len, 0);
    run2_free(&r);

    /* the same for the server, and with an explicit simntb-only opensci.conf */
    write_file("simntb.conf", "adapter 0 simntb\n", conf, sizeof(conf));
    snprintf(env_conf, sizeof(env_conf), "OSCI_CONF=%s", conf);
    run_env(s, (const char *const[]){ "OSCI_NODE_ID=1", env_conf, NULL }, &r);
    assert_int_equal(tu_exit_code(&r.r), 1);
    assert_non_null(strstr(r.err, "no rdma adapter is configured"));
    run2_free(&r);

    /* an adapter number that is not configured */
    char *b[] = { bench, "--suite", "rdma", "--role", "client", "--peer-node", "2", "--adapter", "3", NULL };
    run_env(b, (const char *const[]){ "OSCI_NODE_ID=1", NULL }, &r);
    assert_int_equal(tu_exit_code(&r.r), 1);
    assert_non_null(strstr(r.err, "adapter 3 is not configured"));
    run2_free(&r);
}

/* An rdma adapter on a host without an RDMA device: the library cannot start, and the tool says so. */
static void test_rdma_without_device(void **state)
{
    char *a[] = { bench, "--suite", "rdma", "--role", "client", "--peer-node", "2", NULL };
    char conf[PATH_MAX], hosts[PATH_MAX], e1[PATH_MAX + 16], e2[PATH_MAX + 16];
    struct run2 r;
    struct stat st;

    if (stat("/sys/class/infiniband", &st) == 0) {
        skip();   /* this host has RDMA devices: the failure below would not happen */
    }
    write_file("opensci.conf", "adapter 0 rdma dev=rxe0 node_id=1\n", conf, sizeof(conf));
    write_file("hosts.conf", "1 127.0.0.1\n2 127.0.0.2\n", hosts, sizeof(hosts));
    snprintf(e1, sizeof(e1), "OSCI_CONF=%s", conf);
    snprintf(e2, sizeof(e2), "OSCI_HOSTS=%s", hosts);
    run_env(a, (const char *const[]){ e1, e2, NULL }, &r);
    assert_false(r.r.timed_out);
    assert_int_equal(tu_exit_code(&r.r), 1);
    assert_non_null(strstr(r.err, "rdma client: SCIInitialize"));
    run2_free(&r);
}

/* osci-seginfo lists an rdma adapter with its device fields even without an RDMA device: they are
 * null, the text says why, and the exit code is 3 (no fabric: no device, or no node running). */
static void test_seginfo_rdma_adapter(void **state)
{
    char seginfo[PATH_MAX], conf[PATH_MAX], hosts[PATH_MAX], e1[PATH_MAX + 16], e2[PATH_MAX + 16];
    struct run2 r;
    tu_bin("osci-seginfo", seginfo, sizeof(seginfo));
    char *a[] = { seginfo, "--json", "-a", "1", NULL };
    char *t[] = { seginfo, "-a", "1", NULL };
    write_file("opensci.conf", "adapter 0 simntb\nadapter 1 rdma dev=rxe0 node_id=1\n", conf, sizeof(conf));
    write_file("hosts.conf", "1 127.0.0.1\n2 127.0.0.2\n", hosts, sizeof(hosts));
    snprintf(e1, sizeof(e1), "OSCI_CONF=%s", conf);
    snprintf(e2, sizeof(e2), "OSCI_HOSTS=%s", hosts);

    run_env(a, (const char *const[]){ e1, e2, NULL }, &r);
    assert_int_equal(tu_exit_code(&r.r), 3);   /* no device, or no node running on it */
    struct tu_json *j = tu_json_of(r.r.out);
    const struct tu_json *ads = tu_get(j, "adapters");
    assert_non_null(ads);
    assert_int_equal(ads->n, 1);
    const struct tu_json *ad = ads->items[0];
    assert_string_equal(tu_str(ad, "driver"), "rdma");
    static const char *const keys[] = { "device", "port", "gid", "link_state" };
    for (unsigned int i = 0; i < 4; i++) {
        const struct tu_json *v = tu_get(ad, keys[i]);
        assert_non_null(v);
        /* a string once the driver reports it (a device would have to be there), null here */
        assert_true(v->t == TJ_NULL || v->t == TJ_STR);
    }
    assert_non_null(tu_get(ad, "peers"));
    tu_json_free(j);
    run2_free(&r);

    run_env(t, (const char *const[]){ e1, e2, NULL }, &r);
    assert_int_equal(tu_exit_code(&r.r), 3);   /* no device, or no node running on it */
    assert_non_null(strstr(r.r.out, "driver:\t\t\trdma"));
    assert_non_null(strstr(r.r.out, "GID:"));
    assert_non_null(strstr(r.r.out, "link state:"));
    run2_free(&r);
}

/* Server and client on this host's simntb fabric (adapter 0), as the lab runs them on two. */
static void pair_run(const char *path, const char *want_mode)
{
    char *srv[] = { bench, "--suite", "rdma", "--role", "server", "--peer-node", "2", "--adapter", "0", "--path",
                    (char *)path, "--json", NULL };
    char *cli[] = { bench, "--suite", "rdma", "--role", "client", "--peer-node", "1", "--adapter", "0", "--path",
                    (char *)path, "--json", "-n", "rdma.write.bw=40", "-n", "rdma.write.lat=200",
                    "-n", "rdma.read.lat=300", NULL };
    struct run2 rs, rc;
    int so, se, co, ce;
    memset(&rs, 0, sizeof(rs));
    memset(&rc, 0, sizeof(rc));
    pid_t sp = spawn_env(srv, (const char *const[]){ "OSCI_NODE_ID=1", NULL }, &so, &se);
    assert_true(sp > 0);
    pid_t cp = spawn_env(cli, (const char *const[]){ "OSCI_NODE_ID=2", NULL }, &co, &ce);
    if (cp <= 0)
        kill(sp, SIGKILL);
    assert_true(cp > 0);
    collect(cp, co, ce, 60000, &rc);
    collect(sp, so, se, 30000, &rs);

    if (tu_exit_code(&rc.r) || tu_exit_code(&rs.r))
        fprintf(stderr, "client exit %d: %s\nserver exit %d: %s\n", tu_exit_code(&rc.r), rc.err,
                tu_exit_code(&rs.r), rs.err);
    assert_false(rc.r.timed_out);
    assert_false(rs.r.timed_out);
    assert_int_equal(tu_exit_code(&rc.r), 0);
    assert_int_equal(tu_exit_code(&rs.r), 0);
    assert_non_null(strstr(rc.err, "not RDMA figures"));   /* simntb is named as such */

    struct tu_json *sj = tu_json_of(rs.r.out);
    assert_string_equal(tu_str(sj, "role"), "server");
    assert_true(tu_get(sj, "ok") && tu_get(sj, "ok")->b);
    assert_true(tu_num(sj, "pingpongs_served") == 1);
    tu_json_free(sj);

    struct tu_json *j = tu_json_of(rc.r.out);
    assert_string_equal(tu_str(j, "suite"), "rdma");
    const struct tu_json *info = tu_get(j, "rdma");
    assert_non_null(info);
    assert_string_equal(tu_str(info, "driver"), "simntb");
    assert_string_equal(tu_str(info, "path"), want_mode);
    assert_true(tu_num(info, "node_id") == 2);
    assert_true(tu_num(info, "peer_node") == 1);
    assert_true(tu_num(info, "adapter") == 0);

    const struct tu_json *res = tu_get(j, "results");
    assert_non_null(res);
    assert_int_equal(res->n, 3);
    static const char *const names[] = { "rdma.write.bw", "rdma.write.lat", "rdma.read.lat" };
    static const double sizes[] = { 65536, 8, 8 }, iters[] = { 40, 200, 300 };
    for (size_t i = 0; i < 3; i++) {
        const struct tu_json *r = res->items[i];
        if (tu_str(r, "error"))
            fprintf(stderr, "%s: %s\n", names[i], tu_str(r, "error"));
        assert_null(tu_get(r, "error"));
        assert_string_equal(tu_str(r, "test"), names[i]);
        assert_string_equal(tu_str(r, "suite"), "rdma");
        assert_string_equal(tu_str(r, "mode"), want_mode);
        assert_true(tu_num(r, "size") == sizes[i]);
        assert_true(tu_num(r, "iters") == iters[i]);
        assert_true(tu_num(r, "warmup") == iters[i] / 10);
    }
    assert_true(tu_num(res->items[0], "bw_MBps") > 0);
    const struct tu_json *lat = tu_get(res->items[1], "lat_ns"), *rtt = tu_get(res->items[1], "rtt_ns");
    assert_non_null(lat);
    assert_non_null(rtt);
    assert_string_equal(tu_str(res->items[1], "metric"), "one-way");
    assert_true(tu_num(lat, "min") > 0 && tu_num(lat, "p50") >= tu_num(lat, "min"));
    assert_true(tu_num(rtt, "p50") == 2 * tu_num(lat, "p50"));
    assert_string_equal(tu_str(res->items[2], "metric"), "round-trip");
    assert_true(tu_num(tu_get(res->items[2], "lat_ns"), "p50") > 0);
    const struct tu_json *ratios = tu_get(j, "ratios");
    assert_non_null(ratios);
    assert_int_equal(ratios->n, 0);
    tu_json_free(j);
    run2_free(&rc);
    run2_free(&rs);
}

static void test_pair_dma(void **state)
{
    pair_run("dma", "dma");
}

static void test_pair_memcpy(void **state)
{
    pair_run("auto", "memcpy");
}

/* SCIMemCpy through a transfer map (the path auto takes on rdma), here over simntb's put/get. */
static void test_pair_transfer(void **state)
{
    pair_run("transfer", "transfer");
}

/* Its own node id as the peer is refused before any wait. */
static void test_self_peer(void **state)
{
    char *a[] = { bench, "--suite", "rdma", "--role", "client", "--peer-node", "1", "--adapter", "0", NULL };
    struct run2 r;
    run_env(a, (const char *const[]){ "OSCI_NODE_ID=1", NULL }, &r);
    assert_int_equal(tu_exit_code(&r.r), 1);
    assert_non_null(strstr(r.err, "this node's own id"));
    run2_free(&r);
}

OSCI_TEST_MAIN(NULL, setup, teardown,
               cmocka_unit_test(test_args),
               cmocka_unit_test(test_list),
               cmocka_unit_test(test_no_rdma_adapter),
               cmocka_unit_test(test_rdma_without_device),
               cmocka_unit_test(test_self_peer),
               cmocka_unit_test(test_seginfo_rdma_adapter),
               cmocka_unit_test(test_pair_dma),
               cmocka_unit_test(test_pair_memcpy),
               cmocka_unit_test(test_pair_transfer))
