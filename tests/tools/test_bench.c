/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* osci-bench as a child process: the seg suite's JSON contract, CSV, and argument errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>

#include "tool_util.h"
#include "../common/osci_test.h"

static char bench[PATH_MAX];

static int setup(void **state) { return tu_tool("osci-bench", bench, sizeof(bench)); }

static const struct tu_json *find_test(const struct tu_json *results, const char *name, size_t *count_p)
{
    const struct tu_json *first = NULL;
    size_t count = 0;
    for (size_t i = 0; i < results->n; i++) {
        const char *t = tu_str(results->items[i], "test");
        if (t && !strcmp(t, name)) {
            if (!first)
                first = results->items[i];
            count++;
        }
    }
    *count_p = count;
    return first;
}

static void check_lat(const struct tu_json *r, const char *key)
{
    const struct tu_json *lat = tu_get(r, key);
    assert_non_null(lat);
    double min = tu_num(lat, "min"), p50 = tu_num(lat, "p50"), avg = tu_num(lat, "avg"), p99 = tu_num(lat, "p99"),
           max = tu_num(lat, "max");
    assert_true(min > 0);
    assert_true(p50 >= min);
    assert_true(p99 >= p50);
    assert_true(max >= p99);
    assert_true(avg >= min && avg <= max);
}

static void test_seg_json(void **state)
{
    static const char *const lat_tests[] = { "seg.pio.lat", "floor.spin.lat", "seg.intr.rtt", "floor.futex.rtt" };
    static const char *const bw_tests[] = { "seg.memcpy.bw", "floor.memcpy.bw" };
    static const char *const ratio_names[] = { "seg.pio.lat/floor.spin.lat", "seg.memcpy.bw/floor.memcpy.bw",
                                               "seg.intr.rtt/floor.futex.rtt" };
    char *argv[] = { bench, "--suite", "seg", "--json", "--quick", NULL };
    struct tu_run run;
    assert_int_equal(tu_run_code(argv, 120000, &run), 0);
    struct tu_json *j = tu_json_of(run.out);
    assert_int_equal(j->t, TJ_OBJ);

    const struct tu_json *m = tu_get(j, "machine");
    assert_true(tu_num(m, "nproc") >= 1);
    assert_non_null(tu_str(m, "kernel"));

    const struct tu_json *res = tu_get(j, "results");
    assert_non_null(res);
    assert_int_equal(res->t, TJ_ARR);
    for (size_t i = 0; i < res->n; i++) {
        const struct tu_json *r = res->items[i];
        const char *err = tu_str(r, "error");
        if (err)
            fprintf(stderr, "%s size %.0f: %s\n", tu_str(r, "test"), tu_num(r, "size"), err);
        assert_null(err);
        assert_non_null(tu_str(r, "test"));
        assert_true(tu_num(r, "size") >= 0);
        assert_true(tu_num(r, "iters") > 0);
    }
    for (size_t k = 0; k < sizeof(lat_tests) / sizeof(lat_tests[0]); k++) {
        size_t count;
        const struct tu_json *r = find_test(res, lat_tests[k], &count);
        assert_non_null(r);
        check_lat(r, "lat_ns");
        if (strstr(lat_tests[k], ".lat")) {
            assert_int_equal(count, 2);              /* sizes 8 and 64 */
            check_lat(r, "rtt_ns");
            /* one-way is half the round trip */
            double one = tu_num(tu_get(r, "lat_ns"), "p50"), rtt = tu_num(tu_get(r, "rtt_ns"), "p50");
            assert_true(one * 2 > rtt * 0.999 && one * 2 < rtt * 1.001);
        }
    }
    for (size_t k = 0; k < sizeof(bw_tests) / sizeof(bw_tests[0]); k++) {
        size_t count;
        const struct tu_json *r = find_test(res, bw_tests[k], &count);
        assert_non_null(r);
        assert_int_equal(count, 3);                  /* 4 KiB, 1 MiB, 64 MiB */
        for (size_t i = 0; i < res->n; i++) {
            const char *t = tu_str(res->items[i], "test");
            if (t && !strcmp(t, bw_tests[k]))
                assert_true(tu_num(res->items[i], "bw_MBps") > 0);
        }
    }
    const struct tu_json *ratios = tu_get(j, "ratios");
    assert_non_null(ratios);
    assert_int_equal(ratios->t, TJ_ARR);
    for (size_t k = 0; k < sizeof(ratio_names) / sizeof(ratio_names[0]); k++) {
        int seen = 0;
        for (size_t i = 0; i < ratios->n; i++) {
            const char *name = tu_str(ratios->items[i], "name");
            if (name && !strcmp(name, ratio_names[k])) {
                seen = 1;
                assert_true(tu_num(ratios->items[i], "value") > 0);
                assert_non_null(tu_str(ratios->items[i], "target"));
            }
        }
        assert_true(seen);
    }
    tu_json_free(j);
    tu_run_free(&run);
}

static void test_csv(void **state)
{
    char *argv[] = { bench, "--suite", "seg", "--csv", "--quick", "-n", "200", "-w", "20", "-s", "64", NULL };
    struct tu_run run;
    assert_int_equal(tu_run_code(argv, 120000, &run), 0);
    assert_true(!strncmp(run.out, "test,suite,mode,size,iters,", 27));
    /* header + pio + spin + memcpy + memcpy floor at 64 bytes + intr + futex */
    size_t lines = 0;
    for (char *p = run.out; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 7);
    assert_non_null(strstr(run.out, "\nseg.pio.lat,seg,poll,64,200,"));
    assert_non_null(strstr(run.out, "\nseg.intr.rtt,seg,event,0,200,"));
    tu_run_free(&run);
}

static void expect_usage_error(char **argv)
{
    struct tu_run run;
    assert_int_equal(tu_run_code(argv, 10000, &run), 2);
    assert_int_equal(run.len, 0);
    tu_run_free(&run);
}

static void test_bad_args(void **state)
{
    char *a1[] = { bench, "--bogus", NULL };
    char *a2[] = { bench, "--json", "--csv", NULL };
    char *a3[] = { bench, "-s", "0", NULL };
    char *a4[] = { bench, "-s", "12Q", NULL };
    char *a5[] = { bench, "--suite", "nope", NULL };
    char *a6[] = { bench, "-n", "-5", NULL };
    char *a7[] = { bench, "extra", NULL };
    expect_usage_error(a1);
    expect_usage_error(a2);
    expect_usage_error(a3);
    expect_usage_error(a4);
    expect_usage_error(a5);
    expect_usage_error(a6);
    expect_usage_error(a7);
}

/* Every bad option value: exit 2, nothing on stdout, a message naming the option and the value. */
static void test_bad_values(void **state)
{
    static const struct {
        const char *args[6];
        const char *option, *value;
    } cases[] = {
        { { "-t", "no.such.test" }, "--test", "no.such.test" },
        { { "--test", "seg.pio.lat,bogus" }, "--test", "bogus" },
        { { "-n", "abc" }, "--iters", "abc" },
        { { "-n", "nope=5" }, "--iters", "nope" },
        { { "-w", "-1" }, "--warmup", "-1" },
        { { "-s", "12Q" }, "--size", "12Q" },
        { { "--units", "furlongs" }, "--units", "furlongs" },
        { { "--suite", "nope" }, "--suite", "nope" },
        { { "--suite", "rdma", "--role", "boss" }, "--role", "boss" },
        { { "--suite", "rdma", "--peer-node", "x" }, "--peer-node", "x" },
        { { "--suite", "rdma", "--adapter", "99" }, "--adapter", "99" },
        { { "--suite", "rdma", "--dma-queues", "0" }, "--dma-queues", "0" },
        { { "--suite", "rdma", "--path", "warp" }, "--path", "warp" },
        { { "--suite", "seg", "-t", "peer.mq.lat" }, "--test", "peer.mq.lat" },
        { { "-t", "rdma.write.lat" }, "--test", "rdma.write.lat" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *argv[8] = { bench };
        struct tu_run run;
        for (int k = 0; k < 6 && cases[i].args[k]; k++)
            argv[k + 1] = (char *)cases[i].args[k];
        assert_int_equal(tu_run_merged(argv, 10000, &run), 0);
        if (tu_exit_code(&run) != 2 || !strstr(run.out, cases[i].option) || !strstr(run.out, cases[i].value))
            fprintf(stderr, "case %zu (%s %s): exit %d, said: %s\n", i, cases[i].option, cases[i].value,
                    tu_exit_code(&run), run.out);
        assert_int_equal(tu_exit_code(&run), 2);
        assert_non_null(strstr(run.out, cases[i].option));
        assert_non_null(strstr(run.out, cases[i].value));
        assert_non_null(strstr(run.out, "osci-bench: "));
        tu_run_free(&run);
    }
}

static void test_version(void **state)
{
    char *argv[] = { bench, "--version", NULL };
    char *argv2[] = { bench, "-V", NULL };
    struct tu_run run;
    assert_int_equal(tu_run_code(argv, 10000, &run), 0);
    assert_true(!strncmp(run.out, "osci-bench ", 11));
    assert_true(run.len > 12 && run.out[run.len - 1] == '\n');
    assert_true(strchr(run.out, ' ') == strrchr(run.out, ' '));   /* "osci-bench VERSION" */
    tu_run_free(&run);
    assert_int_equal(tu_run_code(argv2, 10000, &run), 0);
    assert_true(!strncmp(run.out, "osci-bench ", 11));
    tu_run_free(&run);
}

/* -t runs exactly the tests named, once each, in the order given; the CPU and stdev figures come along. */
static void test_select(void **state)
{
    char *argv[] = { bench, "-t", "floor.futex.rtt,floor.spin.lat", "-t", "floor.futex.rtt", "-n", "200",
                     "-s", "8", "--json", NULL };
    struct tu_run run;
    assert_int_equal(tu_run_code(argv, 60000, &run), 0);
    struct tu_json *j = tu_json_of(run.out);
    const struct tu_json *res = tu_get(j, "results");
    assert_non_null(res);
    assert_int_equal(res->n, 2);              /* futex: size 0 only; spin: -s 8 */
    assert_string_equal(tu_str(res->items[0], "test"), "floor.futex.rtt");
    assert_string_equal(tu_str(res->items[1], "test"), "floor.spin.lat");
    for (size_t i = 0; i < res->n; i++) {
        const struct tu_json *r = res->items[i];
        assert_null(tu_str(r, "error"));
        assert_true(tu_num(tu_get(r, "lat_ns"), "stdev") >= 0);
        assert_true(tu_num(tu_get(r, "cpu"), "a_pct") >= 0);   /* both are two-node figures */
        assert_true(tu_num(tu_get(r, "cpu"), "b_us_per_iter") >= 0);
    }
    /* only the ratio whose two sides ran: none here */
    assert_int_equal(tu_get(j, "ratios")->n, 0);
    tu_json_free(j);
    tu_run_free(&run);
}

/* A sleeping figure carries the CPU columns in text without --cpu; a polling one only with --cpu; --units us. */
static void test_text_cpu_units(void **state)
{
    char *a1[] = { bench, "-t", "floor.futex.rtt,floor.spin.lat", "-n", "100", "-s", "8", NULL };
    char *a2[] = { bench, "-t", "floor.spin.lat", "-n", "100", "-s", "8", "--cpu", "--units", "perftest", NULL };
    char *a3[] = { bench, "-t", "floor.spin.lat", "-n", "100", "-s", "8", "--csv", "--units", "us,MiB/s", NULL };
    struct tu_run run;
    assert_int_equal(tu_run_code(a1, 60000, &run), 0);
    char *futex = strstr(run.out, "floor.futex.rtt"), *spin = strstr(run.out, "floor.spin.lat");
    assert_non_null(futex);
    assert_non_null(spin);
    *spin = 0;                                 /* futex's block, then spin's */
    assert_non_null(strstr(futex, "cpuA%"));
    assert_non_null(strstr(futex, "stdev"));
    assert_null(strstr(spin + 1, "cpuA%"));
    assert_non_null(strstr(spin + 1, "RTT/2, ns"));
    tu_run_free(&run);
    assert_int_equal(tu_run_code(a2, 60000, &run), 0);
    assert_non_null(strstr(run.out, "cpuA%"));
    assert_non_null(strstr(run.out, "RTT/2, us"));
    tu_run_free(&run);
    assert_int_equal(tu_run_code(a3, 60000, &run), 0);
    assert_non_null(strstr(run.out, ",p50_us,"));
    assert_non_null(strstr(run.out, ",bw_MiBps,"));
    assert_non_null(strstr(run.out, ",stdev_us,cpu_a_us_per_iter,cpu_b_us_per_iter\n"));
    tu_run_free(&run);
}

/* ucx_perftest, when installed, is read from its CSV output: a median and an average, a rate. */
static void test_ucx_peer(void **state)
{
    /* 100 iterations: ucx_perftest right-aligns the count (" 100,0.175,..."), which must parse too */
    char *argv[] = { bench, "-t", "peer.ucx.am_lat,peer.ucx.am_rate", "-n", "100", "-w", "10", "-s", "64",
                     "--json", NULL };
    struct tu_run run;
    if (system("command -v ucx_perftest >/dev/null 2>&1") != 0) {
        fprintf(stderr, "ucx_perftest not installed: skipped\n");
        skip();
    }
    assert_int_equal(tu_run_code(argv, 120000, &run), 0);
    struct tu_json *j = tu_json_of(run.out);
    const struct tu_json *res = tu_get(j, "results");
    assert_int_equal(res->n, 2);
    const struct tu_json *lat = res->items[0], *rate = res->items[1];
    if (tu_str(lat, "error") || tu_str(rate, "error"))
        fprintf(stderr, "ucx: %s / %s\n", tu_str(lat, "error"), tu_str(rate, "error"));
    assert_null(tu_str(lat, "error"));
    assert_true(tu_num(lat, "iters") == 100);
    assert_true(tu_num(tu_get(lat, "lat_ns"), "p50") > 0);
    assert_true(tu_num(tu_get(lat, "lat_ns"), "avg") > 0);
    assert_int_equal(tu_get(tu_get(lat, "lat_ns"), "max")->t, TJ_NULL);
    assert_null(tu_str(rate, "error"));
    double mps = tu_num(rate, "rate_Mps"), mbps = tu_num(rate, "bw_MBps");
    assert_true(mps > 0);
    /* decimal MB/s = messages/s x size (not MiB/s: 4.9 % apart), within the JSON's 3-decimal rounding */
    double slack = 0.001 * mbps + 0.0005 * 64 + 0.0005;
    assert_true(mbps > mps * 64 - slack && mbps < mps * 64 + slack);
    tu_json_free(j);
    tu_run_free(&run);
}

/* --plot draws every suite's figures, a rate alone too (it used to fail: "all points y value undefined"). */
static void test_plot(void **state)
{
    char png[] = "/tmp/osci-test-plot-XXXXXX";
    int fd = mkstemp(png);
    assert_true(fd >= 0);
    close(fd);
    char *a1[] = { bench, "-t", "ipc.process.rate", "-n", "500", "-s", "64", "--plot", png, NULL };
    char *a2[] = { bench, "-t", "floor.futex.rtt,floor.memcpy.bw", "-n", "100", "-s", "4K", "--quick", "--plot", png,
                   NULL };
    char **runs[] = { a1, a2 };
    if (system("command -v gnuplot >/dev/null 2>&1") != 0) {
        unlink(png);
        fprintf(stderr, "gnuplot not installed: skipped\n");
        skip();
    }
    for (int i = 0; i < 2; i++) {
        struct tu_run run;
        struct stat st;
        assert_int_equal(truncate(png, 0), 0);
        assert_int_equal(tu_run_merged(runs[i], 60000, &run), 0);
        if (tu_exit_code(&run) != 0)
            fprintf(stderr, "%s\n", run.out);
        assert_int_equal(tu_exit_code(&run), 0);
        assert_null(strstr(run.out, "undefined"));
        assert_int_equal(stat(png, &st), 0);
        assert_true(st.st_size > 1000);
        tu_run_free(&run);
    }
    unlink(png);
}

static void test_list(void **state)
{
    char *argv[] = { bench, "--list", NULL };
    struct tu_run run;
    assert_int_equal(tu_run_code(argv, 10000, &run), 0);
    assert_non_null(strstr(run.out, "seg.pio.lat"));
    assert_non_null(strstr(run.out, "floor.futex.rtt"));
    assert_non_null(strstr(run.out, "ipc.process.lat.poll"));
    assert_non_null(strstr(run.out, "peer.ucx.am_lat"));
    tu_run_free(&run);
}

/* The mqueue peer runs anywhere and leaves no queue behind (run.sh checks /dev/mqueue). */
static void test_mq_peer(void **state)
{
    char *argv[] = { bench, "--suite", "ipc", "--json", "--quick", "-n", "100", "-w", "10", "-s", "64", NULL };
    struct tu_run run;
    size_t count;
    assert_int_equal(tu_run_code(argv, 120000, &run), 0);
    struct tu_json *j = tu_json_of(run.out);
    const struct tu_json *r = find_test(tu_get(j, "results"), "peer.mq.lat", &count);
    assert_non_null(r);
    assert_null(tu_str(r, "error"));
    check_lat(r, "lat_ns");
    /* Every ipc row is present: measured, or an error saying why not. */
    r = find_test(tu_get(j, "results"), "peer.ucx.am_lat", &count);
    assert_non_null(r);
    assert_true(tu_str(r, "error") != NULL || tu_num(tu_get(r, "lat_ns"), "p50") > 0);
    tu_json_free(j);
    tu_run_free(&run);
}

OSCI_TEST_MAIN(NULL, setup, NULL,
               cmocka_unit_test(test_bad_args),
               cmocka_unit_test(test_bad_values),
               cmocka_unit_test(test_version),
               cmocka_unit_test(test_select),
               cmocka_unit_test(test_text_cpu_units),
               cmocka_unit_test(test_ucx_peer),
               cmocka_unit_test(test_plot),
               cmocka_unit_test(test_list),
               cmocka_unit_test(test_seg_json),
               cmocka_unit_test(test_csv),
               cmocka_unit_test(test_mq_peer))
