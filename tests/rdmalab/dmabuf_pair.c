/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Two-host test of a dma-buf-backed doca_mmap exported with export_rdma (libopensci-buf over adapter
 * 0 = rdma), run by tests/vmlab/steps/57-dmabuf-rdma.sh on the two guests (their kernel has /dev/udmabuf).
 *
 *   dmabuf_pair --role server|client --sync PREFIX
 *
 * The server makes a udmabuf of 1 MiB + 1 page over a sealed memfd, checks that the rdma driver's test
 * takes it for a dma-buf and a memfd not, fills it (DMA_BUF_IOCTL_SYNC around the CPU writes), gives
 * [1 page, +1 MiB) of it to doca_mmap_set_dmabuf_memrange (the library maps it) and exports it with
 * export_rdma: the driver registers it with ibv_reg_dmabuf_mr where the device can. Where it cannot (rxe)
 * the library's mapping of a udmabuf cannot be registered by address either (VM_PFNMAP): NOT_SUPPORTED,
 * and the range is given again with the program's mapping of the memfd under it (registered by address).
 * The driver's info log says which; the server publishes the descriptor. The client reads the whole range (RDMA READ), writes the second half (RDMA
 * WRITE); the server checks that in its own mapping of the dma-buf, rewrites the first quarter, and the
 * client reads that again. Several registrations (mr_chunk=256K): every chunk is reached.
 * Prints a transcript and "dmabuf-rdma <role>: N passed, N failed"; exit 0 only when nothing failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/dma-buf.h>
#include <linux/udmabuf.h>

#include "rdma.h"

#define LAB_NAME "dmabuf-rdma"
#include "lab_report.h"
#include "lab_doca.h"

#define SIZE (1024u * 1024u)

static uint8_t pat(size_t i, int who) { return (uint8_t)(i * 29u + 0x11u * (unsigned int)(who + 1)); }

static void cpu_sync(int fd, uint64_t flags)
{
    struct dma_buf_sync s = { .flags = flags };
    if (ioctl(fd, DMA_BUF_IOCTL_SYNC, &s) < 0)
        die("DMA_BUF_IOCTL_SYNC: %s", strerror(errno));
}

/* A udmabuf over a sealed memfd of len bytes; *memfd_p keeps the memfd. */
static int make_udmabuf(size_t len, int *memfd_p)
{
    int udev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC), mfd, fd;
    struct udmabuf_create c;

    if (udev < 0)
        die("/dev/udmabuf: %s", strerror(errno));
    mfd = memfd_create("dmabuf-pair", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (mfd < 0 || ftruncate(mfd, (off_t)len) < 0 || fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK) < 0)
        die("memfd: %s", strerror(errno));
    c = (struct udmabuf_create){ .memfd = (uint32_t)mfd, .flags = UDMABUF_FLAGS_CLOEXEC, .offset = 0, .size = len };
    fd = ioctl(udev, UDMABUF_CREATE, &c);
    if (fd < 0)
        die("UDMABUF_CREATE: %s", strerror(errno));
    close(udev);
    *memfd_p = mfd;
    return fd;
}

/* An mmap of [pg, pg + SIZE) of the udmabuf fd, at addr (NULL: the library maps it), exported. */
static doca_error_t export_range(int fd, void *addr, struct doca_mmap **m_p, const void **desc_p, size_t *dlen_p)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    struct doca_mmap *m;
    doca_error_t e;

    if ((e = doca_mmap_create(&m)) != DOCA_SUCCESS || (e = doca_mmap_add_dev(m, dev)) != DOCA_SUCCESS ||
        (e = doca_mmap_set_permissions(m, DOCA_ACCESS_FLAG_LOCAL_READ_WRITE | DOCA_ACCESS_FLAG_RDMA_READ |
                                              DOCA_ACCESS_FLAG_RDMA_WRITE)) != DOCA_SUCCESS ||
        (e = doca_mmap_set_dmabuf_memrange(m, fd, addr, pg, SIZE)) != DOCA_SUCCESS ||
        (e = doca_mmap_start(m)) != DOCA_SUCCESS)
        die("mmap setup: %s", doca_error_get_name(e));
    e = doca_mmap_export_rdma(m, dev, desc_p, dlen_p);
    if (e != DOCA_SUCCESS)
        doca_mmap_destroy(m);
    else
        *m_p = m;
    return e;
}

/*
 * First the range as the library maps it from the fd (registered by the fd: ibv_reg_dmabuf_mr); on a
 * device without dma-buf registration that mapping (VM_PFNMAP) cannot be registered either and the export
 * is NOT_SUPPORTED: then the same pages given with this program's mapping of the memfd under the udmabuf,
 * which the driver registers by address.
 */
static int run_server(void)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    struct doca_mmap *m = NULL;
    const void *desc;
    size_t dlen = 0, len = 0;
    void *addr = NULL;
    uint8_t *p, *q;
    int mfd, fd = make_udmabuf(SIZE + pg, &mfd);
    doca_error_t e;
    long bad = 0, bq = 0;

    check(rdma__fd_is_dmabuf(fd) == 1 && rdma__fd_is_dmabuf(mfd) == 0,
          "the rdma driver takes the udmabuf fd for a dma-buf, its memfd not");
    q = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, (off_t)pg);
    if (q == MAP_FAILED)
        die("mmap memfd: %s", strerror(errno));
    cpu_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
    for (size_t i = 0; i < SIZE; i++)
        q[i] = pat(i, 0);
    cpu_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);
    e = export_range(fd, NULL, &m, &desc, &dlen);
    check(e == DOCA_SUCCESS || e == DOCA_ERROR_NOT_SUPPORTED, "export_rdma of [%zu, +%u) of the udmabuf, mapped "
          "by the library: %s", pg, SIZE, doca_error_get_name(e));
    if (e == DOCA_SUCCESS) {
        say("exported by the dma-buf fd (the library's mapping of it)");
    } else {
        say("the device cannot register the dma-buf nor its PFN mapping: the memfd's mapping is given instead");
        e = export_range(fd, q, &m, &desc, &dlen);
        if (!check(e == DOCA_SUCCESS, "export_rdma of the same range at this program's memfd mapping: %s",
                   doca_error_get_name(e)))
            die("no descriptor");
    }
    if (doca_mmap_get_memrange(m, &addr, &len) != DOCA_SUCCESS || len != SIZE)
        die("get_memrange: %zu bytes", len);
    p = addr;
    desc_publish(desc, dlen);
    wait_sig("written", T_MS, NULL, 0);
    cpu_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
    for (size_t i = SIZE / 2; i < SIZE; i++)
        bad += p[i] != pat(i, 1);
    /* the same bytes through the memfd under the udmabuf: the registration reached its pages */
    for (size_t i = 0; i < SIZE; i++)
        bq += q[i] != pat(i, i >= SIZE / 2);
    cpu_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
    check(bad == 0, "the client's %u bytes (RDMA WRITE) are in the exported range (%ld wrong)", SIZE / 2, bad);
    check(bq == 0, "the memfd's pages under the udmabuf hold both patterns (%ld wrong)", bq);
    cpu_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
    for (size_t i = 0; i < SIZE / 4; i++)
        p[i] = pat(i, 2);
    cpu_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);
    sig("rewritten", "1\n");
    wait_sig("done", T_MS, NULL, 0);
    e = doca_mmap_stop(m);
    check(e == DOCA_SUCCESS, "stop: %s", doca_error_get_name(e));
    doca_mmap_destroy(m);
    munmap(q, SIZE);
    close(fd);
    close(mfd);
    return 0;
}

static int run_client(void)
{
    uint8_t desc[DESC_MAX], *buf = malloc(SIZE);
    size_t dlen;
    struct doca_mmap *r;
    doca_error_t e;
    long bad = 0;

    if (!buf)
        die("no memory");
    dlen = desc_receive(desc);
    e = doca_mmap_create_from_export(NULL, desc, dlen, dev, &r);
    if (!check(e == DOCA_SUCCESS, "create_from_export: %s", doca_error_get_name(e)))
        die("cannot import");
    read_then_write_half(r, buf, SIZE, " from its dma-buf", " into the dma-buf");
    sig("written", "1\n");
    wait_sig("rewritten", T_MS, NULL, 0);
    memset(buf, 0, SIZE);
    e = doca_osci_mmap_copy_from(r, 0, buf, SIZE);
    bad = 0;
    for (size_t i = 0; i < SIZE; i++)
        bad += buf[i] != pat(i, i < SIZE / 4 ? 2 : i < SIZE / 2 ? 0 : 1);
    check(e == DOCA_SUCCESS && bad == 0, "copy_from again: the server's rewrite and this node's write (%s, %ld "
          "wrong)", doca_error_get_name(e), bad);
    doca_mmap_destroy(r);
    sig("done", "1\n");
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct lab_opt opts[] = { { NULL } };
    return lab_doca_main(argc, argv, opts, "usage: dmabuf_pair --role server|client --sync PREFIX");
}
