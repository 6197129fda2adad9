/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * A dma-buf-backed doca_mmap exported with export_rdma reaches the driver as a view with the fd
 * (libbuf -> osci_export_create -> seg__lseg_register -> mem_export), so the rdma driver can register it
 * with ibv_reg_dmabuf_mr; a plain range reaches it without an fd. The adapter is a fake transfer driver
 * (PUT_GET | EXPORT_FOREIGN, like rdma) that records the view; the memory is a memfd (no RDMA device and
 * no udmabuf on the host: the real registration runs in the lab, step 57-dmabuf-rdma).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../common/osci_fakedrv.h"
#include "../common/osci_test.h"
#include "doca_mmap.h"
#include "opensci/doca_osci.h"

static struct fakedrv fx = { .name = "fxrdma", .caps = OSCI_DRV_CAP_PUT_GET | OSCI_DRV_CAP_EXPORT_FOREIGN };

static int setup(void **state)
{
    struct fakedrv *fakes[] = { &fx };
    return fakedrv_start("dmabufview-conf", "adapter 0 fxrdma\n", fakes, 1);
}

static int teardown(void **state)
{
    fakedrv_stop();
    return 0;
}

static struct doca_dev *open_rdma_dev(void)
{
    struct doca_devinfo **list;
    struct doca_dev *dev = NULL;
    uint32_t n = 0;
    uint8_t cap = 0;

    assert_int_equal(doca_devinfo_create_list(&list, &n), DOCA_SUCCESS);
    assert_int_equal(n, 1);
    assert_int_equal(doca_osci_cap_is_export_rdma_supported(list[0], &cap), DOCA_SUCCESS);
    assert_int_equal(cap, 1);
    assert_int_equal(doca_dev_open(list[0], &dev), DOCA_SUCCESS);
    assert_int_equal(doca_devinfo_destroy_list(list), DOCA_SUCCESS);
    return dev;
}

static struct doca_mmap *mmap_new(struct doca_dev *dev)
{
    struct doca_mmap *m;
    assert_int_equal(doca_mmap_create(&m), DOCA_SUCCESS);
    assert_int_equal(doca_mmap_add_dev(m, dev), DOCA_SUCCESS);
    assert_int_equal(doca_mmap_set_permissions(m, DOCA_ACCESS_FLAG_LOCAL_READ_WRITE | DOCA_ACCESS_FLAG_RDMA_READ |
                                                      DOCA_ACCESS_FLAG_RDMA_WRITE), DOCA_SUCCESS);
    return m;
}

static void export_and_stop(struct doca_mmap *m, struct doca_dev *dev)
{
    const void *desc;
    size_t dlen;
    unsigned int before = fx.n_unexport;

    assert_int_equal(doca_mmap_start(m), DOCA_SUCCESS);
    assert_int_equal(doca_mmap_export_rdma(m, dev, &desc, &dlen), DOCA_SUCCESS);
    assert_true(dlen > 0);
    assert_int_equal(doca_mmap_stop(m), DOCA_SUCCESS);
    assert_int_equal(fx.n_unexport, before + 1);
}

static void test_dmabuf_view(void **state)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE), len;
    int fd = memfd_create("osci-dmabufview", MFD_CLOEXEC);
    struct doca_dev *dev = open_rdma_dev();
    struct doca_mmap *m;
    uint8_t *own, *plain;
    void *addr;

    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)(4 * pg)), 0);

    /* the library maps [pg, 3 pg) of the fd: the driver gets that mapping, the fd and its offset */
    m = mmap_new(dev);
    assert_int_equal(doca_mmap_set_dmabuf_memrange(m, fd, NULL, pg, 2 * pg), DOCA_SUCCESS);
    assert_int_equal(doca_mmap_get_memrange(m, &addr, &len), DOCA_SUCCESS);
    export_and_stop(m, dev);
    assert_int_equal(fx.n_export, 1);
    assert_ptr_equal(fx.seen.addr, addr);
    assert_int_equal(fx.seen.size, 2 * pg);
    assert_int_equal(fx.seen.fd, fd);
    assert_int_equal(fx.seen.fd_offset, (off_t)pg);
    assert_int_equal(doca_mmap_destroy(m), DOCA_SUCCESS);

    /* the caller's own mapping of [2 pg, 4 pg): the same, at the caller's address */
    own = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)(2 * pg));
    assert_ptr_not_equal(own, MAP_FAILED);
    m = mmap_new(dev);
    assert_int_equal(doca_mmap_set_dmabuf_memrange(m, fd, own, 2 * pg, 2 * pg), DOCA_SUCCESS);
    export_and_stop(m, dev);
    assert_int_equal(fx.n_export, 2);
    assert_ptr_equal(fx.seen.addr, own);
    assert_int_equal(fx.seen.fd, fd);
    assert_int_equal(fx.seen.fd_offset, (off_t)(2 * pg));
    assert_int_equal(doca_mmap_destroy(m), DOCA_SUCCESS);

    /* an fd offset no page aligned mapping can have: registered by the address only */
    m = mmap_new(dev);
    assert_int_equal(doca_mmap_set_dmabuf_memrange(m, fd, own, 100, 2 * pg), DOCA_SUCCESS);
    export_and_stop(m, dev);
    assert_int_equal(fx.n_export, 3);
    assert_ptr_equal(fx.seen.addr, own);
    assert_int_equal(fx.seen.fd, -1);
    assert_int_equal(doca_mmap_destroy(m), DOCA_SUCCESS);

    /* a plain range: no fd */
    plain = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_ptr_not_equal(plain, MAP_FAILED);
    m = mmap_new(dev);
    assert_int_equal(doca_mmap_set_memrange(m, plain, pg), DOCA_SUCCESS);
    export_and_stop(m, dev);
    assert_int_equal(fx.n_export, 4);
    assert_ptr_equal(fx.seen.addr, plain);
    assert_int_equal(fx.seen.size, pg);
    assert_int_equal(fx.seen.fd, -1);
    assert_int_equal(doca_mmap_destroy(m), DOCA_SUCCESS);

    assert_int_equal(doca_dev_close(dev), DOCA_SUCCESS);
    munmap(plain, pg);
    munmap(own, 2 * pg);
    close(fd);
}

OSCI_TEST_MAIN(NULL, NULL, NULL,
               cmocka_unit_test_setup_teardown(test_dmabuf_view, setup, teardown))
