/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* NVIDIA's NvSciIpc read and write flows (compat_ipc.h) over INTER_PROCESS: with WaitForEvent and with
 * select(), writer first and reader first, 100 runs each. Every frame written before the writer's close is
 * read, in order and intact, then CONN_RESET; the reader does not spin while it waits or after the reset;
 * nothing is left in /dev/shm or /dev/mqueue. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "compat_ipc.h"

#define RUNS 100
#define NFRAMES 16   /* FIFO depth: the writer closes with frames still queued */

static char cfg_path[64];
static char prefix[32];

static void write_cfg(void)
{
    char text[16384];
    size_t n = 0;
    int k;
    snprintf(prefix, sizeof(prefix), "ipcev_cp%d", (int)getpid());
    for (k = 0; k < RUNS; k++) {
        n += (size_t)snprintf(text + n, sizeof(text) - n, "INTER_PROCESS %s_%d_w %s_%d_r %d 64\n", prefix, k, prefix, k,
                              NFRAMES);
        assert_true(n < sizeof(text));
    }
    assert_int_equal(tcfg_write(cfg_path, sizeof(cfg_path), "compat-ipc", 0600, "#CFGVER:1\n%s", text), 0);
}

static unsigned leftovers(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    unsigned n = 0;
    if (!d) return 0;
    while ((de = readdir(d)))
        if (strstr(de->d_name, prefix)) n++;
    closedir(d);
    return n;
}

static void run_pairs(enum compat_flow flow, int reader_first, const char *what)
{
    struct compat_run_stats st = { 0 };
    int k;
    for (k = 0; k < RUNS; k++) {
        char ep_w[64], ep_r[64];
        uint32_t n = 64 + (uint32_t)(k * 37) % 193;   /* 64..256 frames */
        struct compat_prog pw = { flow, ep_w, n, reader_first, NULL, 0, 0 };
        struct compat_prog pr = { flow, ep_r, 0, !reader_first, NULL, 0, 0 };
        struct compat_report rw, rr;
        snprintf(ep_w, sizeof(ep_w), "%s_%d_w", prefix, k);
        snprintf(ep_r, sizeof(ep_r), "%s_%d_r", prefix, k);
        compat_run(&pw, &pr, &rw, &rr);
        compat_check(what, k, n, &rw, &rr, 8, 2, &st);
    }
    compat_print(what, &st);
    assert_int_equal(leftovers("/dev/shm"), 0);
    assert_int_equal(leftovers("/dev/mqueue"), 0);
}

static void test_service_writer_first(void **state)
{
    (void)state;
    run_pairs(FLOW_SERVICE, 0, "INTER_PROCESS WaitForEvent, writer first");
}

static void test_service_reader_first(void **state)
{
    (void)state;
    run_pairs(FLOW_SERVICE, 1, "INTER_PROCESS WaitForEvent, reader first");
}

static void test_select_writer_first(void **state)
{
    (void)state;
    run_pairs(FLOW_SELECT, 0, "INTER_PROCESS select(), writer first");
}

static void test_select_reader_first(void **state)
{
    (void)state;
    run_pairs(FLOW_SELECT, 1, "INTER_PROCESS select(), reader first");
}

static int setup_group(void **state)
{
    (void)state;
    write_cfg();
    return 0;
}

static int teardown_group(void **state)
{
    (void)state;
    tproc_reap_all();
    unlink(cfg_path);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_service_writer_first, tproc_teardown),
        cmocka_unit_test_teardown(test_service_reader_first, tproc_teardown),
        cmocka_unit_test_teardown(test_select_writer_first, tproc_teardown),
        cmocka_unit_test_teardown(test_select_reader_first, tproc_teardown),
    };
    if (getenv("IPC_TEST_FILTER")) cmocka_set_test_filter(getenv("IPC_TEST_FILTER"));
    return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
