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

#define NFRAMES 16   /* FIFO depth: the writer closes with frames still queued */

static char cfg_path[64];
static char prefix[32];

static void write_cfg(void)
{
    char text[16384];
    size_t n = 0;
    int k;
    snprintf(prefix, sizeof(prefix), "ipcev_cp%d", (int)getpid());
    for (k = 0; k < COMPAT_RUNS; k++) {
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

/* The config names every run's pair of endpoints. */
static void endpoints(int k, const char *tag, char *ep_w, char *ep_r, size_t len)
{
    (void)tag;
    snprintf(ep_w, len, "%s_%d_w", prefix, k);
    snprintf(ep_r, len, "%s_%d_r", prefix, k);
}

static void no_leftovers(void)
{
    assert_int_equal(leftovers("/dev/shm"), 0);
    assert_int_equal(leftovers("/dev/mqueue"), 0);
}

static const struct compat_backend process = { "INTER_PROCESS", NULL, endpoints, 0, 8, 2, no_leftovers };

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

COMPAT_TESTS(process, NULL, setup_group, teardown_group)
