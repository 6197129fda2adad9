/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The pcishm driver on a machine without its device (docs/pcishm.md): opensci.conf's pcishm adapter line
 * parses; opening it fails cleanly with -ENODEV and a log line naming the missing device (or, in a build
 * without it, the registry's "this build has no pcishm support"); its own options are checked first.
 * The driver's behaviour between two machines is the lab's (tests/vmlab/steps/70-pcishm-*.sh).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "osci_conf.h"
#include "osci_drv.h"
#include "../common/osci_test.h"

static const char *logged;     /* what the last open_captured logged */

static int parse(const char *text, struct osci_adapter_conf *a, unsigned int *n)
{
    char err[256];
    return osci_conf_parse("test.conf", text, strlen(text), a, OSCI_MAX_ADAPTERS, n, err, sizeof(err));
}

static int open_captured(const struct osci_adapter_conf *c, struct osci_drv **d)
{
    int ret;

    tlog_begin(0);
    ret = osci_drv_open(c, d);
    logged = tlog_end();
    return ret;
}

static void test_conf_line(void **state)
{
    struct osci_adapter_conf a[OSCI_MAX_ADAPTERS];
    unsigned int n = 0;

    (void)state;
    assert_int_equal(parse("node_id = 4\nadapter 0 pcishm slot=0000:00:05.0 node_id=8\nadapter 1 pcishm peers=4\n",
                           a, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(a[0].driver, "pcishm");
    assert_int_equal(a[0].node_id, 8);
    assert_string_equal(osci_conf_opt(&a[0], "slot"), "0000:00:05.0");
    assert_int_equal(a[0].n_opts, 1);
    assert_string_equal(a[1].driver, "pcishm");
    assert_int_equal(a[1].node_id, 4);
    assert_string_equal(osci_conf_opt(&a[1], "peers"), "4");
    assert_null(osci_conf_opt(&a[1], "slot"));
}

/* No ivshmem-doorbell device on this machine (a test host): -ENODEV and a line saying so. */
static void test_open_no_device(void **state)
{
    struct osci_adapter_conf a[OSCI_MAX_ADAPTERS];
    struct osci_drv *d = NULL;
    unsigned int n = 0;

    (void)state;
    assert_int_equal(parse("adapter 2 pcishm node_id=4\n", a, &n), 0);
#ifdef OSCI_HAVE_PCISHM
    assert_non_null(osci_drv_find("pcishm"));
    if (getenv("OSCI_TEST_PCISHM_DEVICE"))
        skip();                       /* a machine with the device: the lab's steps test it */
    assert_int_equal(open_captured(&a[0], &d), -ENODEV);
    assert_null(d);
    assert_non_null(strstr(logged, "no ivshmem-doorbell device (PCI 1af4:1110"));
    /* at a given slot: the slot is named */
    assert_int_equal(parse("adapter 2 pcishm slot=0000:7f:1f.7\n", a, &n), 0);
    assert_int_equal(open_captured(&a[0], &d), -ENODEV);
    assert_non_null(strstr(logged, "at 0000:7f:1f.7"));
    /* an observer (osci-seginfo) too */
    struct osci_drv_observer *obs = NULL;
    tlog_begin(0);
    assert_int_equal(osci_drv_observe_open(&a[0], &obs), -ENODEV);
    logged = tlog_end();
    assert_null(obs);
    assert_non_null(strstr(logged, "no ivshmem-doorbell device"));
    /* twice in a row: libpciaccess's global state is taken and given back each time */
    assert_int_equal(open_captured(&a[0], &d), -ENODEV);
#else
    assert_null(osci_drv_find("pcishm"));
    assert_int_equal(open_captured(&a[0], &d), -ENODEV);
    assert_null(d);
    assert_non_null(strstr(logged, "adapter 2: this build has no pcishm support"));
#endif
}

/* Bad options are refused before any device is looked for, each with a line naming it. */
static void test_bad_options(void **state)
{
#ifdef OSCI_HAVE_PCISHM
    static const struct { const char *line, *msg; } bad[] = {
        { "adapter 0 pcishm slot=zz:1\n", "slot=\"zz:1\" is not a PCI address" },
        { "adapter 0 pcishm slot=00:20.0\n", "slot=\"00:20.0\" is not a PCI address" },
        { "adapter 0 pcishm peers=1\n", "peers=1 is not in 2..32" },
        { "adapter 0 pcishm peers=33\n", "peers=33 is not in 2..32" },
        { "adapter 0 pcishm peers=2x\n", "peers=2x is not in 2..32" },
        { "adapter 0 pcishm hb_timeout=5\n", "hb_timeout=5 is not in 20..600000 ms" },
        { "adapter 0 pcishm fabric=x\n", "unknown option fabric" },
    };
    struct osci_adapter_conf a[OSCI_MAX_ADAPTERS];
    struct osci_drv *d = NULL;
    unsigned int n = 0;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(parse(bad[i].line, a, &n), 0);
        assert_int_equal(open_captured(&a[0], &d), -EINVAL);
        assert_null(d);
        if (!strstr(logged, bad[i].msg))
            fail_msg("%s: log has no \"%s\":\n%s", bad[i].line, bad[i].msg, logged);
    }
#endif
    (void)state;
}

OSCI_TEST_MAIN(NULL, NULL, NULL,
               cmocka_unit_test(test_conf_line),
               cmocka_unit_test(test_open_no_device),
               cmocka_unit_test(test_bad_options))
