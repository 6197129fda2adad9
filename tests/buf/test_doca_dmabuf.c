/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The dma-buf life cycle (include/opensci/osci_dmabuf.h): export, handle fd, attach with constraints,
 * storage allocated only at the first map after collating them, map/unmap, CPU access brackets, mmap,
 * late attaches accepted and refused, detach, release at the last reference; and
 * doca_mmap_set_dmabuf_memrange with real dma-buf fds (memfd here; udmabuf where /dev/udmabuf exists).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../common/osci_test.h"
#include "doca_mmap.h"
#include "opensci/doca_osci.h"
#include "opensci/osci_dmabuf.h"

#define SZ (8 * 4096)

static int released;
static void on_release(void *priv) { released += (int)(uintptr_t)priv; }

static off_t fd_size(int fd)
{
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    return st.st_size;
}

static void test_life_cycle(void **state)
{
    struct osci_dmabuf *b, *b2;
    struct osci_dmabuf_attachment *a1, *a2, *late;
    struct osci_dmabuf_constraints c1 = { .align = 4096, .locations = OSCI_DMABUF_LOC_SYSTEM | OSCI_DMABUF_LOC_KERNEL,
                                          .access = OSCI_DMABUF_READ | OSCI_DMABUF_WRITE };
    struct osci_dmabuf_constraints c2 = { .locations = OSCI_DMABUF_LOC_SYSTEM, .access = OSCI_DMABUF_READ };
    struct osci_dmabuf_state st;
    struct osci_dmabuf_map m1, m2;
    void *cpu;
    size_t len;
    int fd;

    (void)state;
    assert_int_equal(osci_dmabuf_export(SZ + 1, OSCI_DMABUF_READ, NULL, NULL, &b), -EINVAL);
    assert_int_equal(osci_dmabuf_export(SZ, 0x8, NULL, NULL, &b), -EINVAL);
    released = 0;
    assert_int_equal(osci_dmabuf_export(SZ, OSCI_DMABUF_READ | OSCI_DMABUF_WRITE, on_release, (void *)1, &b), 0);
    /* the handle: a real fd; the importer finds the buffer behind it */
    fd = osci_dmabuf_fd(b);
    assert_true(fd >= 0);
    assert_int_equal(fd_size(fd), 0);                  /* no storage yet */
    assert_int_equal(osci_dmabuf_get(fd, &b2), 0);
    assert_ptr_equal(b2, b);
    assert_int_equal(osci_dmabuf_get(0, &b2), -EBADF);   /* stdin is no dma-buf of ours */
    /* attach: bad constraints, access beyond the exporter's, then two importers */
    struct osci_dmabuf_constraints bad = { .align = 3 };
    assert_int_equal(osci_dmabuf_attach(b, &bad, &late), -EINVAL);
    assert_int_equal(osci_dmabuf_attach(b, &c1, &a1), 0);
    assert_int_equal(osci_dmabuf_attach(b, &c2, &a2), 0);
    /* attachments of no common location: refused before any storage exists */
    struct osci_dmabuf_constraints konly = { .locations = OSCI_DMABUF_LOC_KERNEL };
    assert_int_equal(osci_dmabuf_attach(b, &konly, &late), -EXDEV);
    assert_int_equal(osci_dmabuf_state(b, &st), 0);
    assert_int_equal(st.allocated, 0);
    assert_int_equal(st.n_attach, 2);
    assert_int_equal(st.refs, 4);                       /* exporter, get, two attachments */
    /* first map: storage allocated from the collated constraints (host pages: both reach them) */
    assert_int_equal(osci_dmabuf_map(a1, &m1), 0);
    assert_int_equal(osci_dmabuf_state(b, &st), 0);
    assert_int_equal(st.allocated, 1);
    assert_int_equal(st.location, OSCI_DMABUF_LOC_SYSTEM);
    assert_int_equal(fd_size(fd), SZ);
    assert_int_equal(m1.size, SZ);
    assert_int_equal(osci_dmabuf_map(a2, &m2), 0);
    /* one memory: the writer's data is what the reader sees, bracketed by CPU access */
    assert_int_equal(osci_dmabuf_end_cpu_access(b, OSCI_DMABUF_SYNC_WRITE), -EINVAL);
    assert_int_equal(osci_dmabuf_begin_cpu_access(b, OSCI_DMABUF_SYNC_WRITE), 0);
    memset(m1.addr, 0xa5, SZ);
    assert_int_equal(osci_dmabuf_end_cpu_access(b, OSCI_DMABUF_SYNC_WRITE), 0);
    assert_int_equal(osci_dmabuf_begin_cpu_access(b, OSCI_DMABUF_SYNC_READ), 0);
    assert_int_equal(((unsigned char *)m2.addr)[SZ - 1], 0xa5);
    assert_int_equal(osci_dmabuf_end_cpu_access(b, OSCI_DMABUF_SYNC_READ), 0);
    assert_int_equal(osci_dmabuf_begin_cpu_access(b, 0x4), -EINVAL);
    /* mmap of the buffer and of the handle fd (another process would do the latter) */
    assert_int_equal(osci_dmabuf_mmap(b, &cpu, &len), 0);
    assert_int_equal(len, SZ);
    assert_int_equal(((unsigned char *)cpu)[100], 0xa5);
    munmap(cpu, len);
    cpu = mmap(NULL, SZ, PROT_READ, MAP_SHARED, fd, 0);
    assert_true(cpu != MAP_FAILED);
    assert_int_equal(((unsigned char *)cpu)[7], 0xa5);
    munmap(cpu, SZ);
    /* late attaches: the host-page storage cannot give a kernel dma-buf, contiguity over 8 pages or
     * 64 KiB alignment; it can give what it has */
    assert_int_equal(osci_dmabuf_attach(b, &konly, &late), -EXDEV);
    struct osci_dmabuf_constraints contig = { .contiguous = 1 };
    assert_int_equal(osci_dmabuf_attach(b, &contig, &late), -EXDEV);
    struct osci_dmabuf_constraints align = { .align = 65536 };
    assert_int_equal(osci_dmabuf_attach(b, &align, &late), -EXDEV);
    struct osci_dmabuf_constraints ok = { .align = 4096, .locations = OSCI_DMABUF_LOC_SYSTEM };
    assert_int_equal(osci_dmabuf_attach(b, &ok, &late), 0);
    assert_int_equal(osci_dmabuf_detach(late), 0);
    /* detach while mapped: busy; unmap, detach, and the last reference releases */
    assert_int_equal(osci_dmabuf_detach(a1), -EBUSY);
    assert_int_equal(osci_dmabuf_unmap(a1, &m1), 0);
    assert_int_equal(osci_dmabuf_unmap(a2, &m2), 0);
    assert_int_equal(osci_dmabuf_detach(a1), 0);
    assert_int_equal(osci_dmabuf_detach(a2), 0);
    osci_dmabuf_put(b2);
    assert_int_equal(released, 0);
    osci_dmabuf_put(b);
    assert_int_equal(released, 1);
    /* the handle fd outlives the buffer object as plain memory; no buffer behind it any more */
    assert_int_equal(osci_dmabuf_get(fd, &b2), -EBADF);
    close(fd);
}

/* The first map fails clearly when the collated constraints ask for what no storage gives. */
static void test_unsatisfiable(void **state)
{
    struct osci_dmabuf *b;
    struct osci_dmabuf_attachment *a;
    struct osci_dmabuf_constraints c = { .align = 1u << 21 };
    struct osci_dmabuf_map m;
    struct osci_dmabuf_state st;

    (void)state;
    assert_int_equal(osci_dmabuf_export(SZ, OSCI_DMABUF_READ, NULL, NULL, &b), 0);
    assert_int_equal(osci_dmabuf_attach(b, &c, &a), 0);
    assert_int_equal(osci_dmabuf_map(a, &m), -EXDEV);
    assert_int_equal(osci_dmabuf_state(b, &st), 0);
    assert_int_equal(st.allocated, 0);
    assert_int_equal(osci_dmabuf_detach(a), 0);
    /* a one-page buffer is contiguous */
    osci_dmabuf_put(b);
    struct osci_dmabuf_constraints one = { .contiguous = 1 };
    assert_int_equal(osci_dmabuf_export(4096, OSCI_DMABUF_READ, NULL, NULL, &b), 0);
    assert_int_equal(osci_dmabuf_attach(b, &one, &a), 0);
    assert_int_equal(osci_dmabuf_map(a, &m), 0);
    assert_int_equal(m.contiguous, 1);
    assert_int_equal(osci_dmabuf_unmap(a, &m), 0);
    assert_int_equal(osci_dmabuf_detach(a), 0);
    osci_dmabuf_put(b);
}

/* A kernel dma-buf where the kernel has udmabuf; otherwise the storage is refused clearly. */
static void test_kernel_storage(void **state)
{
    struct osci_dmabuf *b;
    struct osci_dmabuf_attachment *a;
    struct osci_dmabuf_constraints c = { .locations = OSCI_DMABUF_LOC_KERNEL, .access = OSCI_DMABUF_WRITE };
    struct osci_dmabuf_map m;
    int rc;

    (void)state;
    assert_int_equal(osci_dmabuf_export(SZ, OSCI_DMABUF_READ | OSCI_DMABUF_WRITE, NULL, NULL, &b), 0);
    assert_int_equal(osci_dmabuf_attach(b, &c, &a), 0);
    rc = osci_dmabuf_map(a, &m);
    if (access("/dev/udmabuf", F_OK) != 0) {
        assert_int_equal(rc, -ENODEV);
    } else {
        char path[64], target[64] = "";
        assert_int_equal(rc, 0);
        assert_int_equal(m.location, OSCI_DMABUF_LOC_KERNEL);
        snprintf(path, sizeof(path), "/proc/self/fd/%d", m.fd);
        assert_true(readlink(path, target, sizeof(target) - 1) > 0);
        assert_non_null(strstr(target, "dmabuf"));
        assert_int_equal(osci_dmabuf_begin_cpu_access(b, OSCI_DMABUF_SYNC_WRITE), 0);
        memset(m.addr, 1, SZ);
        assert_int_equal(osci_dmabuf_end_cpu_access(b, OSCI_DMABUF_SYNC_WRITE), 0);
        /* doca_mmap takes the kernel dma-buf fd and maps it itself */
        struct doca_mmap *mm;
        void *addr;
        size_t len;
        assert_int_equal(doca_mmap_create(&mm), DOCA_SUCCESS);
        assert_int_equal(doca_mmap_set_dmabuf_memrange(mm, m.fd, NULL, 0, SZ), DOCA_SUCCESS);
        assert_int_equal(doca_mmap_get_memrange(mm, &addr, &len), DOCA_SUCCESS);
        assert_int_equal(len, SZ);
        assert_int_equal(((unsigned char *)addr)[SZ - 1], 1);
        ((unsigned char *)addr)[0] = 2;
        assert_int_equal(((unsigned char *)m.addr)[0], 2);
        assert_int_equal(doca_mmap_destroy(mm), DOCA_SUCCESS);
        assert_int_equal(osci_dmabuf_unmap(a, &m), 0);
    }
    assert_int_equal(osci_dmabuf_detach(a), 0);
    osci_dmabuf_put(b);
}

/* doca_mmap takes real dma-buf fds (a memfd-backed one here) and refuses other fds. */
static void test_doca_dmabuf_memrange(void **state)
{
    struct osci_dmabuf *b;
    struct doca_mmap *mm;
    void *addr, *cpu;
    size_t len;
    int fd, pfd[2];

    (void)state;
    assert_int_equal(osci_dmabuf_export(SZ, OSCI_DMABUF_READ | OSCI_DMABUF_WRITE, NULL, NULL, &b), 0);
    fd = osci_dmabuf_fd(b);
    assert_int_equal(doca_mmap_create(&mm), DOCA_SUCCESS);
    /* no storage yet: the range is outside the buffer */
    assert_int_equal(doca_mmap_set_dmabuf_memrange(mm, fd, NULL, 0, SZ), DOCA_ERROR_INVALID_VALUE);
    assert_int_equal(osci_dmabuf_mmap(b, &cpu, &len), 0);
    memset(cpu, 0x3c, len);
    assert_int_equal(pipe(pfd), 0);
    assert_int_equal(doca_mmap_set_dmabuf_memrange(mm, pfd[0], NULL, 0, SZ), DOCA_ERROR_INVALID_VALUE);
    assert_int_equal(doca_mmap_set_dmabuf_memrange(mm, fd, NULL, 4096, SZ), DOCA_ERROR_INVALID_VALUE);
    assert_int_equal(doca_mmap_set_dmabuf_memrange(mm, fd, NULL, 4096, SZ - 4096), DOCA_SUCCESS);
    assert_int_equal(doca_mmap_set_dmabuf_memrange(mm, fd, NULL, 0, SZ), DOCA_ERROR_NOT_PERMITTED);
    assert_int_equal(doca_mmap_set_memrange(mm, cpu, SZ), DOCA_ERROR_NOT_PERMITTED);
    assert_int_equal(doca_mmap_get_memrange(mm, &addr, &len), DOCA_SUCCESS);
    assert_int_equal(len, SZ - 4096);
    ((unsigned char *)addr)[0] = 0x77;                     /* the library's mapping is the dma-buf's memory */
    assert_int_equal(((unsigned char *)cpu)[4096], 0x77);
    assert_int_equal(doca_mmap_start(mm), DOCA_SUCCESS);
    assert_int_equal(doca_mmap_destroy(mm), DOCA_SUCCESS);
    munmap(cpu, SZ);
    close(pfd[0]);
    close(pfd[1]);
    close(fd);
    osci_dmabuf_put(b);
}

OSCI_TEST_MAIN("docadmabuf", NULL, NULL,
               cmocka_unit_test(test_life_cycle),
               cmocka_unit_test(test_unsatisfiable),
               cmocka_unit_test(test_kernel_storage),
               cmocka_unit_test(test_doca_dmabuf_memrange))
