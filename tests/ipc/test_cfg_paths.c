/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Configuration paths that name no regular file: a FIFO (with no writer), a directory, a device (/dev/zero),
 * a file over the size cap. NvSciIpcInit (NVSCIIPC_CFG), SCIInitialize (OSCI_CONF), the hosts.conf look-up
 * (OSCI_HOSTS) and osci-seginfo each refuse them promptly with an error; each call runs in a child under
 * alarm(), so a regression fails the test instead of hanging it. Also common/osci_file.c at its cap. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "nvsciipc.h"
#include "osci_file.h"
#include "../common/osci_test.h"
#include "sisci_api.h"
#include "../tools/tool_util.h"

#define ALARM_S 5
#define CONF_CAP (1u << 20)   /* opensci.conf, hosts.conf (docs/simntb.md) */
#define IPC_CAP (4u << 20)    /* nvsciipc.cfg (docs/nvsciipc.md) */

enum kind { K_FIFO, K_DIR, K_DEV, K_BIG, K_COUNT };
static const char *const kind_name[K_COUNT] = { "FIFO", "directory", "/dev/zero", "oversized file" };

static char tmpdir[64];
static char paths[K_COUNT][128];
static char big_ipc[128];

static void make_big(const char *path, off_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, size), 0);   /* sparse: NUL bytes */
    close(fd);
}

static int setup(void **state)
{
    (void)state;
    if (tdir_make(tmpdir, sizeof(tmpdir), "cfgpaths") < 0) return -1;
    snprintf(paths[K_FIFO], sizeof(paths[K_FIFO]), "%s/fifo.conf", tmpdir);
    snprintf(paths[K_DIR], sizeof(paths[K_DIR]), "%s/dir.conf", tmpdir);
    snprintf(paths[K_DEV], sizeof(paths[K_DEV]), "/dev/zero");
    snprintf(paths[K_BIG], sizeof(paths[K_BIG]), "%s/big.conf", tmpdir);
    snprintf(big_ipc, sizeof(big_ipc), "%s/big.cfg", tmpdir);
    if (mkfifo(paths[K_FIFO], 0600) < 0 || mkdir(paths[K_DIR], 0700) < 0) return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tproc_reap_all();
    return tdir_remove(tmpdir);
}

typedef uint32_t (*call_fn)(const char *path);

static int child_call(int rd, int wr, void *arg)
{
    const void **a = arg;
    call_fn fn = (call_fn)(uintptr_t)a[0];
    (void)rd;
    signal(SIGALRM, SIG_DFL);
    alarm(ALARM_S);   /* a hang dies of SIGALRM: the parent sees no answer */
    return tproc_send_u32(wr, fn(a[1])) == 0 ? 0 : 1;
}

/* fn(path) in a child under alarm(ALARM_S): its answer; fails the test when the child hangs or dies. */
static uint32_t in_child(call_fn fn, const char *path)
{
    const void *arg[2] = { (const void *)(uintptr_t)fn, path };
    struct tproc p;
    uint32_t v = 0;
    assert_int_equal(tproc_start(&p, child_call, arg), 0);
    if (tproc_recv_u32(p.rd, &v, (ALARM_S + 5) * 1000) != 0) {
        tproc_kill(&p);
        fail_msg("%s: no answer within %d s (hangs)", path, ALARM_S);
    }
    assert_int_equal(tproc_wait(&p, 5000), 0);
    return v;
}

static uint32_t ipc_init(const char *path)
{
    NvSciError e;
    setenv("NVSCIIPC_CFG", path, 1);
    e = NvSciIpcInit();
    if (e == NvSciError_Success) NvSciIpcDeinit();
    return (uint32_t)e;
}

static uint32_t sci_init(const char *path)
{
    sci_error_t e;
    setenv("OSCI_CONF", path, 1);
    SCIInitialize(0, &e);
    if (e == SCI_ERR_OK) SCITerminate();
    return (uint32_t)e;
}

static uint32_t sci_hosts(const char *path)
{
    dis_nodeId_list_t ids;
    dis_virt_adapter_t vtype;
    sci_error_t e;
    unsetenv("OSCI_CONF");   /* the default adapter on this test's fabric */
    SCIInitialize(0, &e);
    if (e != SCI_ERR_OK) return 0xdead;
    setenv("OSCI_HOSTS", path, 1);
    SCIGetNodeIdByAdapterName("alpha", &ids, &vtype, 0, &e);
    SCITerminate();
    return (uint32_t)e;
}

static void test_ipc_init(void **state)
{
    static const NvSciError want[K_COUNT] = { NvSciError_BadParameter, NvSciError_IsDirectory,
                                              NvSciError_BadParameter, NvSciError_FileTooBig };
    (void)state;
    make_big(big_ipc, IPC_CAP + 1);
    for (int k = 0; k < K_COUNT; k++) {
        const char *path = k == K_BIG ? big_ipc : paths[k];
        uint32_t e = in_child(ipc_init, path);
        if (e != (uint32_t)want[k]) fail_msg("NvSciIpcInit, config a %s: 0x%x, want 0x%x", kind_name[k], e, want[k]);
    }
}

/* Every kind of bad file named where fn's SCI call reads it: ILLEGAL_PARAMETER. */
static void check_sci(call_fn fn, const char *what)
{
    make_big(paths[K_BIG], CONF_CAP + 1);
    for (int k = 0; k < K_COUNT; k++) {
        uint32_t e = in_child(fn, paths[k]);
        if (e != SCI_ERR_ILLEGAL_PARAMETER) fail_msg("%s a %s: 0x%x, want ILLEGAL_PARAMETER", what, kind_name[k], e);
    }
}

static void test_sci_init(void **state)
{
    (void)state;
    check_sci(sci_init, "SCIInitialize, OSCI_CONF");
}

static void test_sci_hosts(void **state)
{
    (void)state;
    check_sci(sci_hosts, "SCIGetNodeIdByAdapterName, OSCI_HOSTS");
}

/* osci-seginfo reads opensci.conf through the library: a failure exit, not a hang. */
static void test_seginfo(void **state)
{
    char bin[PATH_MAX];
    (void)state;
    tu_bin("osci-seginfo", bin, sizeof(bin));
    if (access(bin, X_OK)) fail_msg("%s not built", bin);
    make_big(paths[K_BIG], CONF_CAP + 1);
    for (int k = 0; k < K_COUNT; k++) {
        char *argv[] = { bin, NULL };
        struct tu_run run;
        setenv("OSCI_CONF", paths[k], 1);
        assert_int_equal(tu_run(argv, ALARM_S * 1000, &run), 0);
        unsetenv("OSCI_CONF");
        if (run.timed_out) fail_msg("osci-seginfo, OSCI_CONF a %s: hangs", kind_name[k]);
        assert_int_not_equal(tu_exit_code(&run), 0);
        tu_run_free(&run);
    }
}

/* The reader itself: at the cap accepted (to the last byte), one byte more refused; nothing is left open. */
static void test_read_file_cap(void **state)
{
    char path[160], *buf;
    size_t len;
    (void)state;
    snprintf(path, sizeof(path), "%s/cap.conf", tmpdir);
    make_big(path, 5000);
    assert_int_equal(osci_read_file(path, 5000, "test", &buf, &len), 0);
    assert_int_equal(len, 5000);
    assert_int_equal(buf[len], '\0');
    free(buf);
    assert_int_equal(osci_read_file(path, 4999, "test", &buf, &len), -EFBIG);
    assert_int_equal(osci_read_file(paths[K_DIR], 5000, "test", &buf, &len), -EISDIR);
    assert_int_equal(osci_read_file(paths[K_DEV], 5000, "test", &buf, &len), -EINVAL);
    snprintf(path, sizeof(path), "%s/missing.conf", tmpdir);
    assert_int_equal(osci_read_file(path, 5000, "test", &buf, &len), -ENOENT);
    snprintf(path, sizeof(path), "%s/empty.conf", tmpdir);
    make_big(path, 0);
    assert_int_equal(osci_read_file(path, 5000, "test", &buf, &len), 0);
    assert_int_equal(len, 0);
    free(buf);
}

/* A FIFO refused in the reader directly too, under alarm. */
static uint32_t read_direct(const char *path)
{
    char *buf;
    size_t len;
    return (uint32_t)-osci_read_file(path, 5000, "test", &buf, &len);
}

static void test_read_file_fifo(void **state)
{
    (void)state;
    assert_int_equal(in_child(read_direct, paths[K_FIFO]), EINVAL);
}

OSCI_TEST_MAIN("cfgpaths", setup, teardown,
               cmocka_unit_test(test_ipc_init),
               cmocka_unit_test(test_sci_init),
               cmocka_unit_test(test_sci_hosts),
               cmocka_unit_test(test_seginfo),
               cmocka_unit_test(test_read_file_cap),
               cmocka_unit_test(test_read_file_fifo))
