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
    char path[128], buf[16];
    FILE *f;
    snprintf(path, sizeof(path), "%s/node%u.cfg", cfg_dir, p->node);
    if (!(f = fopen(path, "w"))) return;
    fprintf(f, "#CFGVER:1\nINTER_CHIP %s 0000 36000 peer=%u nframes=%d frame_size=64\n", p->ep, p->peer, NFRAMES);
    fclose(f);
    setenv("NVSCIIPC_CFG", path, 1);
    snprintf(buf, sizeof(buf), "%u", p->node);
    setenv("OSCI_NODE_ID", buf, 1);
}

static int writer_prog(int rd, int wr, void *arg)
{
    return compat_main(rd, wr, arg, 1);
}

static int reader_prog(int rd, int wr, void *arg)
{
    return compat_main(rd, wr, arg, 0);
}

static void run_pairs(enum compat_flow flow, int reader_first, const char *what)
{
    struct compat_run_stats st = { 0 };
    int k;
    for (k = 0; k < RUNS; k++) {
        char ep[64];
        uint32_t n = 64 + (uint32_t)(k * 37) % 193, m;   /* 64..256 frames */
        unsigned rnode = 1 + (unsigned)(k & 1);          /* the reader on node 1 or 2 */
        struct compat_prog pw = { flow, ep, n, reader_first, node_setup, 3 - rnode, rnode };
        struct compat_prog pr = { flow, ep, 0, !reader_first, node_setup, rnode, 3 - rnode };
        struct compat_report rw, rr;
        struct tproc w, r, *first, *second;
        snprintf(ep, sizeof(ep), "ipcev_cc%d_%d_%d%d", (int)getpid(), k, (int)flow, reader_first);
        assert_int_equal(tproc_start(&w, writer_prog, &pw), 0);
        assert_int_equal(tproc_start(&r, reader_prog, &pr), 0);
        first = reader_first ? &r : &w;
        second = reader_first ? &w : &r;
        assert_int_equal(tproc_recv_u32(first->rd, &m, COMPAT_T_MS), 0);
        assert_int_equal(m, COMPAT_OPENED);
        assert_int_equal(tproc_send_u32(second->wr, COMPAT_GO), 0);
        assert_int_equal(tproc_recv_u32(second->rd, &m, COMPAT_T_MS), 0);
        assert_int_equal(m, COMPAT_OPENED);
        assert_int_equal(tproc_recv(w.rd, &rw, sizeof(rw), COMPAT_T_MS), 0);
        assert_int_equal(tproc_recv(r.rd, &rr, sizeof(rr), COMPAT_T_MS), 0);
        assert_int_equal(tproc_wait(&w, COMPAT_T_MS), 0);
        assert_int_equal(tproc_wait(&r, COMPAT_T_MS), 0);
        if (rw.step || rr.step || rw.frames != n || rr.frames != n || rr.bad || !rr.reset)
            fail_msg("%s, run %d: writer wrote %u/%u (step %u); reader read %u (bad %u, reset %u, step %u)", what, k,
                     rw.frames, n, rw.step, rr.frames, rr.bad, rr.reset, rr.step);
        if (rr.wakes > n + 16) fail_msg("%s, run %d: reader woke %u times for %u frames", what, k, rr.wakes, n);
        if (rr.wakes_after > 4)   /* the close's last notes (interrupt, segment callbacks) */
            fail_msg("%s, run %d: reader woke %u times after CONN_RESET", what, k, rr.wakes_after);
        st.runs++;
        st.frames += n;
        st.wakes_reader += rr.wakes;
        st.wakes_writer += rw.wakes;
        st.wakes_after += rr.wakes_after;
        st.cpu_reader_us += rr.cpu_us;
        st.cpu_writer_us += rw.cpu_us;
        if (rr.wakes_after > st.max_wakes_after) st.max_wakes_after = rr.wakes_after;
        if (rr.cpu_us > st.max_cpu_reader_us) st.max_cpu_reader_us = rr.cpu_us;
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
    snprintf(cfg_dir, sizeof(cfg_dir), "/tmp/osci-compat-chip-%s", "XX" "XX" "XX");
    assert_non_null(mkdtemp(cfg_dir));
    return 0;
}

static int teardown_group(void **state)
{
    char cmd[128];
    (void)state;
    tproc_reap_all();
    snprintf(cmd, sizeof(cmd), "rm -rf %s", cfg_dir);
    return system(cmd) == 0 ? 0 : -1;
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
