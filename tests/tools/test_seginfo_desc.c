/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* osci-seginfo --desc: decodes a descriptor that a real export_pci wrote to a file; refuses a truncated
 * or corrupted one (exit 5) and an unreadable file (exit 6). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <cmocka.h>

#include "../buf/doca_test.h"
#include "tool_util.h"
#include "../common/osci_test.h"

#define LEN (4 * 4096)

static char seginfo[PATH_MAX];

static void write_file(const char *path, const void *b, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void test_desc(void **state)
{
    struct doca_dev *dev;
    struct doca_mmap *m;
    const void *desc;
    size_t dlen;
    unsigned char copy[256];
    char path[] = "/tmp/osci-desc-XXXXXX", want[64];
    struct tu_run run;
    void *p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int fd;

    (void)state;
    assert_true(p != MAP_FAILED);
    assert_non_null(dev = dt_open_first());
    assert_int_equal(dt_export_pci(dev, p, LEN, DOCA_ACCESS_FLAG_PCI_READ_ONLY, &m, &desc, &dlen), DOCA_SUCCESS);
    assert_true(dlen <= sizeof(copy));
    memcpy(copy, desc, dlen);
    fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_file(path, copy, dlen);

    char *a[] = { seginfo, "--desc", path, NULL };
    assert_int_equal(tu_run_code(a, 20000, &run), 0);
    assert_non_null(strstr(run.out, "pci (export_pci)"));
    snprintf(want, sizeof(want), "size:\t\t%d bytes", LEN);
    assert_non_null(strstr(run.out, want));
    assert_non_null(strstr(run.out, "pci_ro"));
    assert_null(strstr(run.out, "\tkey:\t\t0"));
    tu_run_free(&run);
    char *j[] = { seginfo, "-j", "-d", path, NULL };
    assert_int_equal(tu_run_code(j, 20000, &run), 0);
    assert_non_null(strstr(run.out, "\"kind\": \"pci\""));
    tu_run_free(&run);
    /* truncated, corrupted */
    write_file(path, copy, dlen - 1);
    assert_int_equal(tu_run_code(a, 20000, &run), 5);
    tu_run_free(&run);
    copy[25] ^= 1;
    write_file(path, copy, dlen);
    assert_int_equal(tu_run_code(a, 20000, &run), 5);
    tu_run_free(&run);
    unlink(path);
    assert_int_equal(tu_run_code(a, 20000, &run), 6);
    tu_run_free(&run);
    char *both[] = { seginfo, "--desc", path, "--config", NULL };
    assert_int_equal(tu_run_code(both, 20000, &run), 2);
    tu_run_free(&run);

    assert_int_equal(doca_mmap_destroy(m), DOCA_SUCCESS);
    assert_int_equal(doca_dev_close(dev), DOCA_SUCCESS);
    munmap(p, LEN);
}

static int setup(void **state) { return tu_tool("osci-seginfo", seginfo, sizeof(seginfo)); }

OSCI_TEST_MAIN(NULL, setup, NULL,
               cmocka_unit_test(test_desc))
