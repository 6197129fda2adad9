/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* NVIDIA's NvSciIpc read and write flows (compat_ipc.h) over INTER_CHIP between two forked processes, nodes
 * 1 and 2 of a private simntb fabric, each with its own config naming the same endpoint: with WaitForEvent
 * and with select(), writer first and reader first, RUNS runs each. Every frame written before the writer's
 * close is read, in order and intact, then CONN_RESET; the reader does not spin. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "compat_ipc.h"

#define RUNS 100
#define NFRAMES 16

static char cfg_dir[64];

/* libseg revokes the map of a segment whose owner left by mapping zero pages over it (see test_ipc_chip.c). */
__attribute__((visibility("default"))) const char *__tsan_default_suppressions(void);
__attribute__((visibility("default"))) const char *__tsan_default_suppressions(void)
{
    return "race:sn_rmem_revoke\n";
}

static void node_setup(const struct compat_prog *p)
{
    tnode_ipc_cfg(cfg_dir, p->node, "#CFGVER:1\nINTER_CHIP %s 0000 36000 peer=%u nframes=%d frame_size=64\n", p->ep,
                  p->peer, NFRAMES);   /* on failure the program's open fails and says so */
}

static void run_pairs(enum compat_flow flow, int reader_first, const char *what)
{
    struct compat_run_stats st = { 0 };
    int k;
    for (k = 0; k < RUNS; k++) {
        char ep[64];
        uint32_t n = 64 + (uint32_t)(k * 37) % 193;      /* 64..256 frames */
        unsigned rnode = 1 + (unsigned)(k & 1);          /* the reader on node 1 or 2 */
        struct compat_prog pw = { flow, ep, n, reader_first, node_setup, 3 - rnode, rnode };
        struct compat_prog pr = { flow, ep, 0, !reader_first, node_setup, rnode, 3 - rnode };
        struct compat_report rw, rr;
        snprintf(ep, sizeof(ep), "ipcev_cc%d_%d_%d%d", (int)getpid(), k, (int)flow, reader_first);
        compat_run(&pw, &pr, &rw, &rr);
        compat_check(what, k, n, &rw, &rr, 16, 4 /* the close's last notes: interrupt, segment callbacks */, &st);
    }
    compat_print(what, &st);
}

static void test_service_writer_first(void **state)
{
    (void)state;
    run_pairs(FLOW_SERVICE, 0, "INTER_CHIP WaitForEvent, writer first");
}

static void test_service_reader_first(void **state)
{
    (void)state;
    run_pairs(FLOW_SERVICE, 1, "INTER_CHIP WaitForEvent, reader first");
}

static void test_select_writer_first(void **state)
{
    (void)state;
    run_pairs(FLOW_SELECT, 0, "INTER_CHIP select(), writer first");
}

static void test_select_reader_first(void **state)
{
    (void)state;
    run_pairs(FLOW_SELECT, 1, "INTER_CHIP select(), reader first");
}

static int setup_group(void **state)
{
    (void)state;
    tproc_default_fabric("compat_chip");
    assert_int_equal(tdir_make(cfg_dir, sizeof(cfg_dir), "compat-chip"), 0);
    return 0;
}

static int teardown_group(void **state)
{
    (void)state;
    tproc_reap_all();
    return tdir_remove(cfg_dir);
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
