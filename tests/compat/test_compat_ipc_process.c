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
    FILE *f;
    int fd, k;
    snprintf(prefix, sizeof(prefix), "ipcev_cp%d", (int)getpid());
    snprintf(cfg_path, sizeof(cfg_path), "/tmp/osci-compat-ipc-%s", "XX" "XX" "XX");
    fd = mkstemp(cfg_path);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    fprintf(f, "#CFGVER:1\n");
    for (k = 0; k < RUNS; k++) fprintf(f, "INTER_PROCESS %s_%d_w %s_%d_r %d 64\n", prefix, k, prefix, k, NFRAMES);
    fclose(f);
    setenv("NVSCIIPC_CFG", cfg_path, 1);
}

static int writer_prog(int rd, int wr, void *arg)
{
    return compat_main(rd, wr, arg, 1);
}

static int reader_prog(int rd, int wr, void *arg)
{
    return compat_main(rd, wr, arg, 0);
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
        uint32_t n = 64 + (uint32_t)(k * 37) % 193, m;   /* 64..256 frames */
        struct compat_prog pw = { flow, ep_w, n, reader_first, NULL, 0, 0 };
        struct compat_prog pr = { flow, ep_r, 0, !reader_first, NULL, 0, 0 };
        struct compat_report rw, rr;
        struct tproc w, r, *first, *second;
        snprintf(ep_w, sizeof(ep_w), "%s_%d_w", prefix, k);
        snprintf(ep_r, sizeof(ep_r), "%s_%d_r", prefix, k);
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
        if (rr.wakes > n + 8) fail_msg("%s, run %d: reader woke %u times for %u frames", what, k, rr.wakes, n);
        assert_true(rr.wakes_after <= 2);
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
