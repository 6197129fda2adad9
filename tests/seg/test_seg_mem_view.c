/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Memory by descriptor: libseg gives mem_export the segment's view {addr, size, fd, fd offset}, and decides
 * from OSCI_DRV_CAP_EXPORT_FOREIGN whether an adapter may export memory it did not allocate, without
 * asking a driver that cannot. Two fake drivers (with and without the capability) count what reaches them;
 * the memory is a memfd given through seg__lseg_register(), the internal path libbuf uses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../common/osci_test.h"
#include "../common/osci_fakedrv.h"
#include "seg_internal.h"
#include "seg_obj.h"
#include "seg_peer.h"

static struct fakedrv fx_foreign = { .name = "fxforeign", .caps = OSCI_DRV_CAP_PUT_GET | OSCI_DRV_CAP_EXPORT_FOREIGN };
static struct fakedrv fx_own = { .name = "fxown", .caps = OSCI_DRV_CAP_PUT_GET };

static int setup(void **state)
{
    struct fakedrv *fakes[] = { &fx_foreign, &fx_own };

    if (fakedrv_start("memview-conf", "adapter 0 fxforeign\nadapter 1 fxown\n", fakes, 2) < 0)
        return -1;
    return sd_setup(state);
}

static int teardown(void **state)
{
    sd_teardown(state);
    fakedrv_stop();
    return 0;
}

static void test_fd_view(void **state)
{
    sci_desc_t sd = *state;
    sci_local_segment_t ls, ls2;
    sci_map_t m;
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    int fd = memfd_create("osci-memview", MFD_CLOEXEC);
    uint8_t *mem;
    struct osci_drv_mem_view v;
    sci_error_t e_;

    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)(3 * pg)), 0);
    mem = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)pg);
    assert_ptr_not_equal(mem, MAP_FAILED);
    mem[5] = 0x3c;

    OK(SCICreateSegment(sd, &ls, 40, 2 * pg, NULL, NULL, SCI_FLAG_EMPTY, &e_));
    v = (struct osci_drv_mem_view){ .addr = mem, .size = 2 * pg, .fd = fd, .fd_offset = 100 };
    assert_int_equal(seg__lseg_register(ls, &v, 0), -EINVAL);          /* fd offset not page-aligned */
    v.fd_offset = (off_t)pg;
    assert_int_equal(seg__lseg_register(ls, &v, 0), 0);
    assert_int_equal(seg__lseg_register(ls, &v, 0), -EPERM);           /* has memory already */

    /* adapter 1 cannot export memory it did not allocate: refused from its capability, never asked */
    ERR(SCI_ERR_NOT_SUPPORTED, SCIPrepareSegment(ls, 1, 0, &e_));
    assert_int_equal(fx_own.n_export, 0);
    /* adapter 0 can: it gets the whole view */
    OK(SCIPrepareSegment(ls, 0, 0, &e_));
    assert_int_equal(fx_foreign.n_export, 1);
    assert_ptr_equal(fx_foreign.seen.addr, mem);
    assert_int_equal(fx_foreign.seen.size, 2 * pg);
    assert_int_equal(fx_foreign.seen.fd, fd);
    assert_int_equal(fx_foreign.seen.fd_offset, (off_t)pg);

    /* the fd gives read-only local maps (registered memory without one cannot) */
    const volatile uint8_t *p = SCIMapLocalSegment(ls, &m, 0, pg, NULL, SCI_FLAG_READONLY_MAP, &e_);
    assert_int_equal(e_, SCI_ERR_OK);
    assert_int_equal(p[5], 0x3c);
    OK(SCIUnmapSegment(m, 0, &e_));
    OK(SCIRemoveSegment(ls, 0, &e_));
    assert_int_equal(fx_foreign.n_unexport, 1);

    /* SCIRegisterSegmentMemory: the same path, without an fd */
    OK(SCICreateSegment(sd, &ls2, 41, pg, NULL, NULL, SCI_FLAG_EMPTY, &e_));
    OK(SCIRegisterSegmentMemory(mem, pg, ls2, 0, &e_));
    ERR(SCI_ERR_NOT_SUPPORTED, SCIPrepareSegment(ls2, 1, 0, &e_));
    assert_int_equal(fx_own.n_export, 0);
    OK(SCIPrepareSegment(ls2, 0, 0, &e_));
    assert_int_equal(fx_foreign.n_export, 2);
    assert_ptr_equal(fx_foreign.seen.addr, mem);
    assert_int_equal(fx_foreign.seen.fd, -1);
    ERR(SCI_ERR_NOT_SUPPORTED, SCIMapLocalSegment(ls2, &m, 0, 16, NULL, SCI_FLAG_READONLY_MAP, &e_));
    OK(SCIRemoveSegment(ls2, 0, &e_));
    munmap(mem, 2 * pg);
    close(fd);
}

OSCI_TEST_MAIN(NULL, NULL, NULL,
               cmocka_unit_test_setup_teardown(test_fd_view, setup, teardown))
