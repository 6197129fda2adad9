/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* One log format for every library and the application's hook (include/opensci/osci_log.h): lines of libsisci
 * (its config loader) and of libnvsciipc (its endpoint config) reach the handler as "osci[<pid>] <module>: ",
 * at their level, and none reaches stderr meanwhile; without a handler they go to stderr in the same form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nvsciipc.h"
#include "opensci/osci_log.h"
#include "sisci_api.h"
#include "../common/osci_test.h"

#define MAX_LINES 32

static struct {
    pthread_mutex_t lock;
    int n;
    int level[MAX_LINES];
    char line[MAX_LINES][512];
} got = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void hook(int level, const char *line, void *arg)
{
    int *calls = arg;
    pthread_mutex_lock(&got.lock);
    if (got.n < MAX_LINES) {
        got.level[got.n] = level;
        snprintf(got.line[got.n], sizeof(got.line[0]), "%s", line);
        got.n++;
    }
    (*calls)++;
    pthread_mutex_unlock(&got.lock);
}

/* The first line from `module`, or NULL. */
static const char *line_of(const char *module, int *level)
{
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "osci[%d] %s: ", (int)getpid(), module);
    for (int i = 0; i < got.n; i++)
        if (!strncmp(got.line[i], prefix, strlen(prefix))) {
            *level = got.level[i];
            return got.line[i];
        }
    return NULL;
}

/* stderr into a temporary file while `fn` runs; what was written, NUL-terminated (static). */
static const char *capture_stderr(void (*fn)(void))
{
    static char buf[4096];
    char path[] = "/tmp/osci-test-loghook-XXXXXX";
    int fd = mkstemp(path), saved = dup(2);
    ssize_t n;
    assert_true(fd >= 0 && saved >= 0);
    unlink(path);
    dup2(fd, 2);
    fn();
    dup2(saved, 2);
    close(saved);
    n = pread(fd, buf, sizeof(buf) - 1, 0);
    buf[n > 0 ? n : 0] = 0;
    close(fd);
    return buf;
}

/* libsisci: SCIInitialize with a node id that is not one logs (conf) and fails. */
static void sisci_error(void)
{
    sci_error_t err;
    setenv("OSCI_NODE_ID", "not-a-node", 1);
    SCIInitialize(0, &err);
    unsetenv("OSCI_NODE_ID");
    assert_int_not_equal(err, SCI_ERR_OK);
}

/* libnvsciipc: NvSciIpcInit with a config file that does not exist logs (ipc) and fails. */
static void ipc_error(void)
{
    setenv("NVSCIIPC_CFG", "/nonexistent/osci-test-loghook.cfg", 1);
    assert_int_not_equal(NvSciIpcInit(), NvSciError_Success);
    unsetenv("NVSCIIPC_CFG");
}

static void both(void)
{
    sisci_error();
    ipc_error();
}

static void test_hook_gets_both_libraries(void **state)
{
    int calls = 0, lvl_conf = -1, lvl_ipc = -1;
    got.n = 0;
    osci_log_set_handler(hook, &calls);
    const char *err_out = capture_stderr(both);
    osci_log_set_handler(NULL, NULL);
    assert_string_equal(err_out, "");              /* all went to the handler */
    const char *conf = line_of("conf", &lvl_conf), *ipc = line_of("ipc", &lvl_ipc);
    if (!conf || !ipc)
        for (int i = 0; i < got.n; i++)
            fprintf(stderr, "got: %s\n", got.line[i]);
    assert_non_null(conf);
    assert_non_null(ipc);
    assert_int_equal(lvl_conf, OSCI_LOG_ERROR);
    assert_int_equal(lvl_ipc, OSCI_LOG_ERROR);
    assert_non_null(strstr(conf, "OSCI_NODE_ID"));
    assert_non_null(strstr(ipc, "/nonexistent/osci-test-loghook.cfg"));
    assert_null(strchr(conf, '\n'));               /* a line, without its newline */
    assert_null(strchr(ipc, '\n'));
    assert_int_equal(calls, got.n);
}

/* Without a handler the same lines, one per line, on stderr. */
static void test_stderr_same_format(void **state)
{
    char want[64];
    const char *out = capture_stderr(both);
    snprintf(want, sizeof(want), "osci[%d] conf: ", (int)getpid());
    assert_non_null(strstr(out, want));
    snprintf(want, sizeof(want), "osci[%d] ipc: cannot open config", (int)getpid());
    assert_non_null(strstr(out, want));
    assert_null(strstr(out, "nvsciipc:"));
    assert_true(out[strlen(out) - 1] == '\n');
}

/* osci_log_set_level: out-of-range levels refused; at "error" the error lines still pass. */
static void test_level(void **state)
{
    int calls = 0, lvl;
    int before = osci_log_get_level();
    assert_int_equal(osci_log_set_level(7), -EINVAL);
    assert_int_equal(osci_log_set_level(-1), -EINVAL);
    assert_int_equal(osci_log_get_level(), before);
    assert_int_equal(osci_log_set_level(OSCI_LOG_ERROR), 0);
    assert_int_equal(osci_log_get_level(), OSCI_LOG_ERROR);
    got.n = 0;
    osci_log_set_handler(hook, &calls);
    ipc_error();
    assert_non_null(line_of("ipc", &lvl));         /* errors pass at "error" */
    osci_log_set_handler(NULL, NULL);
    assert_int_equal(osci_log_set_level(before), 0);
}

/* Both shared libraries export the hook (an NvSciIpc program linked with -lnvsciipc alone finds it). */
static void test_exported(void **state)
{
    char exe[PATH_MAX], lib[PATH_MAX + 64];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    assert_true(n > 0);
    exe[n] = 0;
    const char *dir = dirname(exe);   /* <build>/tests/tools */
    static const char *const libs[] = { "libsisci.so.0", "libnvsciipc.so.0" };
    for (int i = 0; i < 2; i++) {
        snprintf(lib, sizeof(lib), "%s/../../lib/%s", dir, libs[i]);
        void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
        if (!h)
            fprintf(stderr, "dlopen %s: %s\n", lib, dlerror());
        assert_non_null(h);
        void *sym = dlsym(h, "osci_log_set_handler");
        assert_non_null(sym);
        assert_non_null(dlsym(h, "osci_log_set_level"));
        /* the library's own symbol, not one found elsewhere */
        Dl_info info;
        assert_true(dladdr(sym, &info) != 0);
        assert_non_null(strstr(info.dli_fname, libs[i]));
        dlclose(h);
    }
}

OSCI_TEST_MAIN(NULL, NULL, NULL,
               cmocka_unit_test(test_hook_gets_both_libraries),
               cmocka_unit_test(test_stderr_same_format),
               cmocka_unit_test(test_level),
               cmocka_unit_test(test_exported))
