/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Helpers for the doca_mmap tests (tests/buf, tests/tools): the first device, a range exported for PCI. */
#ifndef DOCA_TEST_H
#define DOCA_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "doca_mmap.h"

/* The first device (adapter 0) opened, or NULL when there is none or a step fails; no cmocka assert, so
 * children may call it too. */
static inline struct doca_dev *dt_open_first(void)
{
    struct doca_devinfo **list;
    struct doca_dev *dev = NULL;
    uint32_t n = 0;

    if (doca_devinfo_create_list(&list, &n) != DOCA_SUCCESS)
        return NULL;
    if (n == 0 || doca_dev_open(list[0], &dev) != DOCA_SUCCESS)
        dev = NULL;
    if (doca_devinfo_destroy_list(list) != DOCA_SUCCESS && dev) {
        doca_dev_close(dev);
        dev = NULL;
    }
    return dev;
}

/* A new mmap in *m_p of [p, p + len) on dev with permissions perm, started, then exported for PCI: what
 * export_pci returned (the descriptor in *desc_p, *dlen_p). Every step before the export must succeed. */
static inline doca_error_t dt_export_pci(struct doca_dev *dev, void *p, size_t len, uint32_t perm,
                                         struct doca_mmap **m_p, const void **desc_p, size_t *dlen_p)
{
    assert_int_equal(doca_mmap_create(m_p), DOCA_SUCCESS);
    assert_int_equal(doca_mmap_add_dev(*m_p, dev), DOCA_SUCCESS);
    assert_int_equal(doca_mmap_set_permissions(*m_p, perm), DOCA_SUCCESS);
    assert_int_equal(doca_mmap_set_memrange(*m_p, p, len), DOCA_SUCCESS);
    assert_int_equal(doca_mmap_start(*m_p), DOCA_SUCCESS);
    return doca_mmap_export_pci(*m_p, dev, desc_p, dlen_p);
}

#endif
