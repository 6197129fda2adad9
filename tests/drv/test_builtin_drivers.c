/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* The registry's built-in drivers follow the build: rdma only when built with it (make RDMA=yes/auto);
 * without it an rdma adapter fails to open with -ENODEV and a log line saying why. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "osci_drv.h"
#include "../common/osci_test.h"

static void test_simntb_builtin(void **state)
{
    (void)state;
    assert_non_null(osci_drv_find("simntb"));
    assert_null(osci_drv_find("nosuchdriver"));
}

static void test_rdma_follows_build(void **state)
{
    struct osci_adapter_conf c;
    struct osci_drv *d = NULL;

    (void)state;
#ifdef OSCI_HAVE_RDMA
    assert_non_null(osci_drv_find("rdma"));
    (void)c;
    (void)d;
#else
    assert_null(osci_drv_find("rdma"));
    memset(&c, 0, sizeof(c));
    strcpy(c.driver, "rdma");
    c.adapter_no = 3;
    tlog_begin(0);
    assert_int_equal(osci_drv_open(&c, &d), -ENODEV);
    const char *logged = tlog_end();
    assert_null(d);
    assert_non_null(strstr(logged, "adapter 3: this build has no rdma support"));
    assert_non_null(strstr(logged, "no driver named \"rdma\""));
#endif
}

OSCI_TEST_MAIN(NULL, NULL, NULL,
               cmocka_unit_test(test_simntb_builtin),
               cmocka_unit_test(test_rdma_follows_build))
