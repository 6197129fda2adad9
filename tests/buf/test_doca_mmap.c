/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * doca_mmap's state machine on one node (docs/doca.md "State machine"): every legal step, and every
 * illegal one with the error DOCA documents; devices (OpenSCI adapters) and their capabilities.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "../common/osci_test.h"
#include "doca_test.h"
#include "doca_mmap.h"
#include "opensci/doca_osci.h"

#define LEN (16 * 4096)

static struct doca_dev *open_first(void)
{
    struct doca_dev *dev = dt_open_first();
    assert_non_null(dev);
    return dev;
}

static void *range(void)
{
    void *p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(p != MAP_FAILED);
    return p;
}

static void test_devices(void **state)
{
    struct doca_devinfo **list;
    char pci[DOCA_DEVINFO_PCI_ADDR_SIZE], name[DOCA_DEVINFO_IBDEV_NAME_SIZE], iface[16];
    uint8_t cap = 9, eq = 9;
    uint32_t n = 0, adapter = 99, node = 0;

    (void)state;
    assert_int_equal(doca_devinfo_create_list(NULL, &n), DOCA_ERROR_INVALID_VALUE);
    assert_int_equal(doca_devinfo_create_list(&list, &n), DOCA_SUCCESS);
    assert_true(n >= 1);
    /* the default fabric's adapter 0 is simntb: a window device, not an rdma one */
    assert_int_equal(doca_devinfo_get_pci_addr_str(list[0], pci), DOCA_SUCCESS);
    assert_string_equal(pci, "05c1:00:00.0");
    assert_int_equal(doca_devinfo_is_equal_pci_addr(list[0], "05c1:00:00.0", &eq), DOCA_SUCCESS);
    assert_int_equal(eq, 1);
    assert_int_equal(doca_devinfo_is_equal_pci_addr(list[0], "0000:3a:00.0", &eq), DOCA_SUCCESS);
    assert_int_equal(eq, 0);
    assert_int_equal(doca_devinfo_is_equal_pci_addr(list[0], "bogus", &eq), DOCA_ERROR_INVALID_VALUE);
    assert_int_equal(doca_devinfo_get_ibdev_name(list[0], name, sizeof(name)), DOCA_SUCCESS);
    assert_true(strlen(name) > 0);
    assert_int_equal(doca_devinfo_get_ibdev_name(list[0], name, 1), DOCA_ERROR_INVALID_VALUE);
    assert_int_equal(doca_devinfo_get_iface_name(list[0], iface, sizeof(iface)), DOCA_ERROR_NOT_SUPPORTED);
    assert_int_equal(doca_mmap_cap_is_export_pci_supported(list[0], &cap), DOCA_SUCCESS);
    assert_int_equal(cap, 1);
    assert_int_equal(doca_mmap_cap_is_create_from_export_pci_supported(list[0], &cap), DOCA_SUCCESS);
    assert_int_equal(cap, 1);
    assert_int_equal(doca_osci_cap_is_export_rdma_supported(list[0], &cap), DOCA_SUCCESS);
    assert_int_equal(cap, 0);
    assert_int_equal(doca_osci_devinfo_get_adapter(list[0], &adapter, &node), DOCA_SUCCESS);
    assert_int_equal(adapter, 0);
    assert_true(node != 0);
    assert_int_equal(doca_devinfo_destroy_list(list), DOCA_SUCCESS);
    assert_string_equal(doca_error_get_name(DOCA_ERROR_NOT_PERMITTED), "DOCA_ERROR_NOT_PERMITTED");
    assert_string_equal(doca_error_get_name((doca_error_t)1000), "DOCA_ERROR_UNKNOWN");
    assert_non_null(doca_error_get_descr(DOCA_ERROR_BAD_STATE));
}

static int freed;
static void free_cb(void *addr, size_t len, void *cookie)
{
    assert_int_equal(len, LEN);
    munmap(addr, len);
    freed += (int)(uintptr_t)cookie;
}

static void test_state_machine(void **state)
{
    struct doca_dev *dev = open_first(), *dev2 = open_first();
    struct doca_mmap *m;
    union doca_data ud = { .u64 = 77 }, got;
    void *p = range(), *a, *ref;
    size_t len;
    uint32_t v;
    uint8_t f;
    const void *desc;
    size_t dlen;

    (void)state;
    assert_int_equal(doca_mmap_create(NULL), DOCA_ERROR_INVALID_VALUE);
    assert_int_equal(doca_mmap_create(&m), DOCA_SUCCESS);
    /* defaults */
    assert_int_equal(doca_mmap_get_memrange(m, &a, &len), DOCA_ERROR_BAD_STATE);
    assert_int_equal(doca_mmap_get_max_num_devices(m, &v), DOCA_SUCCESS);
    assert_int_equal(v, 64);
    assert_int_equal(doca_mmap_get_num_bufs(m, &v), DOCA_SUCCESS);
    assert_int_equal(v, 0);
    assert_int_equal(doca_mmap_get_exported(m, &f), DOCA_SUCCESS);
    assert_int_equal(f, 0);
    assert_int_equal(doca_mmap_get_from_export(m, &f), DOCA_SUCCESS);
    assert_int_equal(f, 0);
    /* start needs a range */
    assert_int_equal(doca_mmap_start(m), DOCA_ERROR_INVALID_VALUE);
    /* set_memrange: bad values, then once */
    assert_int_equal(doca_mmap_set_memrange(m, NULL, LEN), DOCA_ERROR_INVALID_VALUE);
    assert_int_equal(doca_mmap_set_memrange(m, p, 0), DOCA_ERROR_INVALID_VALUE);
    assert_int_equal(doca_mmap_set_memrange(m, (void *)(uintptr_t)(UINTPTR_MAX - 10), 100), DOCA_ERROR_INVALID_VALUE);
    assert_int_equal(doca_mmap_set_memrange(m, p, LEN), DOCA_SUCCESS);
    assert_int_equal(doca_mmap_set_memrange(m, p, LEN), DOCA_ERROR_NOT_PERMITTED);
    assert_int_equal(doca_mmap_get_memrange(m, &a, &len), DOCA_SUCCESS);
    assert_ptr_equal(a, p);
    assert_int_equal(len, LEN);
    /* permissions validated */
    assert_int_equal(doca_mmap_set_permissions(m, 1u << 7), DOCA_ERROR_INVALID_VALUE);
    assert_int_equal(doca_mmap_set_permissions(m, DOCA_ACCESS_FLAG_PCI_READ_ONLY | DOCA_ACCESS_FLAG_PCI_READ_WRITE),
                     DOCA_ERROR_INVALID_VALUE);
    assert_int_equal(doca_mmap_set_permissions(m, DOCA_ACCESS_FLAG_LOCAL_READ_WRITE | DOCA_ACCESS_FLAG_PCI_READ_WRITE),
                     DOCA_SUCCESS);
    /* devices: limit, duplicates, removal */
    assert_int_equal(doca_mmap_set_max_num_devices(m, 0), DOCA_ERROR_INVALID_VALUE);
    assert_int_equal(doca_mmap_set_max_num_devices(m, 1), DOCA_SUCCESS);
    assert_int_equal(doca_mmap_add_dev(m, dev), DOCA_SUCCESS);
    assert_int_equal(doca_mmap_add_dev(m, dev), DOCA_ERROR_ALREADY_EXIST);
    assert_int_equal(doca_mmap_add_dev(m, dev2), DOCA_ERROR_NO_MEMORY);
    assert_int_equal(doca_mmap_rm_dev(m, dev2), DOCA_ERROR_NOT_FOUND);
    assert_int_equal(doca_mmap_rm_dev(m, dev), DOCA_SUCCESS);
    assert_int_equal(doca_mmap_add_dev(m, dev), DOCA_SUCCESS);
    /* user data and free callback */
    assert_int_equal(doca_mmap_set_user_data(m, ud), DOCA_SUCCESS);
    assert_int_equal(doca_mmap_get_user_data(m, &got), DOCA_SUCCESS);
    assert_int_equal(got.u64, 77);
    assert_int_equal(doca_mmap_set_free_cb(m, NULL, NULL), DOCA_ERROR_INVALID_VALUE);
    assert_int_equal(doca_mmap_set_free_cb(m, free_cb, (void *)(uintptr_t)1), DOCA_SUCCESS);
    /* export before start */
    assert_int_equal(doca_mmap_export_pci(m, dev, &desc, &dlen), DOCA_ERROR_NOT_PERMITTED);
    /* started: frozen */
    assert_int_equal(doca_mmap_start(m), DOCA_SUCCESS);
    assert_int_equal(doca_mmap_start(m), DOCA_ERROR_BAD_STATE);
    assert_int_equal(doca_mmap_set_permissions(m, DOCA_ACCESS_FLAG_LOCAL_READ_WRITE), DOCA_ERROR_BAD_STATE);
    assert_int_equal(doca_mmap_set_user_data(m, ud), DOCA_ERROR_BAD_STATE);
    assert_int_equal(doca_mmap_set_free_cb(m, free_cb, NULL), DOCA_ERROR_BAD_STATE);
    assert_int_equal(doca_mmap_add_dev(m, dev2), DOCA_ERROR_NOT_PERMITTED);
    assert_int_equal(doca_mmap_rm_dev(m, dev), DOCA_ERROR_NOT_PERMITTED);
    assert_int_equal(doca_mmap_set_max_num_devices(m, 4), DOCA_ERROR_NOT_PERMITTED);
    /* export: device not in the mmap, wrong kind of access / device */
    assert_int_equal(doca_mmap_export_pci(m, dev2, &desc, &dlen), DOCA_ERROR_NOT_FOUND);
    assert_int_equal(doca_mmap_export_rdma(m, dev, &desc, &dlen), DOCA_ERROR_NOT_PERMITTED);
    /* a buffer reference blocks stop and destroy */
    assert_int_equal(doca_osci_mmap_map(m, &ref, &len), DOCA_SUCCESS);
    assert_ptr_equal(ref, p);
    assert_int_equal(doca_mmap_get_num_bufs(m, &v), DOCA_SUCCESS);
    assert_int_equal(v, 1);
    assert_int_equal(doca_mmap_stop(m), DOCA_ERROR_NOT_PERMITTED);
    assert_int_equal(doca_mmap_destroy(m), DOCA_ERROR_NOT_PERMITTED);
    assert_int_equal(doca_osci_mmap_unmap(m, (char *)ref + 1), DOCA_ERROR_NOT_FOUND);
    assert_int_equal(doca_osci_mmap_unmap(m, ref), DOCA_SUCCESS);
    /* exported: the flag, one descriptor per device, start refused */
    memset(p, 0x5a, LEN);
    assert_int_equal(doca_mmap_export_pci(m, dev, &desc, &dlen), DOCA_SUCCESS);
    assert_true(dlen >= 68);
    {
        const void *d2;
        size_t l2;
        assert_int_equal(doca_mmap_export_pci(m, dev, &d2, &l2), DOCA_SUCCESS);
        assert_ptr_equal(d2, desc);
    }
    assert_int_equal(doca_mmap_get_exported(m, &f), DOCA_SUCCESS);
    assert_int_equal(f, 1);
    assert_int_equal(doca_mmap_start(m), DOCA_ERROR_NOT_PERMITTED);
    /* the range still holds its content and takes stores (the window took it over) */
    assert_int_equal(((unsigned char *)p)[LEN - 1], 0x5a);
    ((unsigned char *)p)[0] = 0x11;
    /* stop: descriptors freed, configurable again, range content kept */
    assert_int_equal(doca_mmap_stop(m), DOCA_SUCCESS);
    assert_int_equal(doca_mmap_get_exported(m, &f), DOCA_SUCCESS);
    assert_int_equal(f, 0);
    assert_int_equal(((unsigned char *)p)[0], 0x11);
    assert_int_equal(((unsigned char *)p)[1], 0x5a);
    assert_int_equal(doca_mmap_set_user_data(m, ud), DOCA_SUCCESS);
    assert_int_equal(doca_mmap_set_memrange(m, p, LEN), DOCA_ERROR_NOT_PERMITTED);
    assert_int_equal(doca_mmap_set_max_num_devices(m, 4), DOCA_ERROR_NOT_PERMITTED);  /* after the first start */
    assert_int_equal(doca_mmap_start(m), DOCA_SUCCESS);
    /* destroy implies stop and calls the free callback once */
    freed = 0;
    assert_int_equal(doca_mmap_destroy(m), DOCA_SUCCESS);
    assert_int_equal(freed, 1);
    assert_int_equal(doca_dev_close(dev), DOCA_SUCCESS);
    assert_int_equal(doca_dev_close(dev2), DOCA_SUCCESS);
}

/* Never started: the free callback is not called; the range is the caller's. */
static void test_destroy_unstarted(void **state)
{
    struct doca_mmap *m;
    void *p = range();

    (void)state;
    assert_int_equal(doca_mmap_create(&m), DOCA_SUCCESS);
    assert_int_equal(doca_mmap_set_memrange(m, p, LEN), DOCA_SUCCESS);
    assert_int_equal(doca_mmap_set_free_cb(m, free_cb, (void *)(uintptr_t)1), DOCA_SUCCESS);
    freed = 0;
    assert_int_equal(doca_mmap_destroy(m), DOCA_SUCCESS);
    assert_int_equal(freed, 0);
    munmap(p, LEN);
}

/* A heap range (posix_memalign) taken over by the window and given back at stop: its content is kept,
 * the allocator's neighbouring data too, and free() works after. An unaligned range cannot be exported. */
static void test_heap_range(void **state)
{
    struct doca_dev *dev = open_first();
    struct doca_mmap *m;
    unsigned char *p = NULL, *q;
    const void *desc;
    size_t dlen;

    (void)state;
    assert_int_equal(posix_memalign((void **)&p, 4096, LEN), 0);
    q = malloc(100);                                   /* a neighbour on the heap */
    assert_non_null(q);
    memset(q, 0x42, 100);
    for (size_t i = 0; i < LEN; i++)
        p[i] = (unsigned char)i;
    assert_int_equal(dt_export_pci(dev, p + 100, LEN - 4096, DOCA_ACCESS_FLAG_PCI_READ_WRITE, &m, &desc, &dlen),
                     DOCA_ERROR_INVALID_VALUE);
    assert_int_equal(doca_mmap_destroy(m), DOCA_SUCCESS);
    assert_int_equal(dt_export_pci(dev, p, LEN, DOCA_ACCESS_FLAG_PCI_READ_WRITE, &m, &desc, &dlen), DOCA_SUCCESS);
    for (size_t i = 0; i < LEN; i++)
        if (p[i] != (unsigned char)i)
            fail_msg("byte %zu changed by the take-over", i);
    p[5] = 0xee;
    assert_int_equal(doca_mmap_destroy(m), DOCA_SUCCESS);
    assert_int_equal(p[5], 0xee);
    assert_int_equal(p[LEN - 1], (unsigned char)(LEN - 1));
    for (int i = 0; i < 100; i++)
        assert_int_equal(q[i], 0x42);
    free(p);
    free(q);
    assert_int_equal(doca_dev_close(dev), DOCA_SUCCESS);
}

/* Thread safety: concurrent configuration calls and buffer references on one mmap. */
#include <pthread.h>
static void *refs_worker(void *arg)
{
    struct doca_mmap *m = arg;
    for (int i = 0; i < 2000; i++) {
        void *a;
        size_t l;
        if (doca_osci_mmap_map(m, &a, &l) != DOCA_SUCCESS || doca_osci_mmap_unmap(m, a) != DOCA_SUCCESS)
            return (void *)1;
        uint32_t n;
        if (doca_mmap_get_num_bufs(m, &n) != DOCA_SUCCESS)
            return (void *)1;
    }
    return NULL;
}

static void test_threads(void **state)
{
    struct doca_mmap *m;
    pthread_t t[4];
    void *p = range(), *r;
    uint32_t n;

    (void)state;
    assert_int_equal(doca_mmap_create(&m), DOCA_SUCCESS);
    assert_int_equal(doca_mmap_set_memrange(m, p, LEN), DOCA_SUCCESS);
    assert_int_equal(doca_mmap_start(m), DOCA_SUCCESS);
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, refs_worker, m), 0);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(t[i], &r), 0);
        assert_null(r);
    }
    assert_int_equal(doca_mmap_get_num_bufs(m, &n), DOCA_SUCCESS);
    assert_int_equal(n, 0);
    assert_int_equal(doca_mmap_destroy(m), DOCA_SUCCESS);
    munmap(p, LEN);
}

OSCI_TEST_MAIN("docamm", NULL, NULL,
               cmocka_unit_test(test_devices),
               cmocka_unit_test(test_state_machine),
               cmocka_unit_test(test_destroy_unstarted),
               cmocka_unit_test(test_heap_range),
               cmocka_unit_test(test_threads))
