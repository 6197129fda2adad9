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
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../common/osci_test.h"
#include "doca_mmap.h"
#include "opensci/doca_osci.h"
#include "osci_drv.h"

struct fx {
    struct osci_drv base;
    int efd;
};

struct osci_drv_mem { int dummy; };

static unsigned int n_export, n_unexport;
static struct osci_drv_mem_view seen;

static int fx_open(const struct osci_adapter_conf *c, struct osci_drv **d)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    f->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    f->base.node_id = 9;
    *d = &f->base;
    return 0;
}
static void fx_close(struct osci_drv *d)
{
    close(((struct fx *)d)->efd);
    free(d);
}
static int fx_query(struct osci_drv *d, struct osci_drv_info *i)
{
    memset(i, 0, sizeof(*i));
    strcpy(i->name, "fxrdma");
    i->node_id = d->node_id;
    i->max_nodes = 255;
    i->max_mem_size = 1 << 20;
    i->mem_align = 4096;
    i->n_doorbells = OSCI_DRV_DB_COUNT;
    i->caps = OSCI_DRV_CAP_PUT_GET | OSCI_DRV_CAP_EXPORT_FOREIGN;
    return 0;
}
static int fx_fd(struct osci_drv *d) { return ((struct fx *)d)->efd; }
static int fx_arm(struct osci_drv *d) { return 0; }
static int fx_progress(struct osci_drv *d, struct osci_drv_event *e, unsigned int m) { return 0; }
static int fx_peers(struct osci_drv *d, struct osci_peer_info *o, unsigned int m, unsigned int *c)
{ *c = 0; return 0; }
static int fx_send(struct osci_drv *d, uint32_t n, const void *m, size_t l) { return -EHOSTUNREACH; }
static int fx_ring(struct osci_drv *d, uint32_t n, unsigned int b) { return -EHOSTUNREACH; }
static int fx_mask(struct osci_drv *d, uint64_t m) { return 0; }
static int fx_export(struct osci_drv *d, const struct osci_drv_mem_view *v, struct osci_drv_mem **m)
{
    static struct osci_drv_mem one;
    n_export++;
    seen = *v;
    *m = &one;
    return 0;
}
static void fx_unexport(struct osci_drv *d, struct osci_drv_mem *m) { n_unexport++; }
static int fx_pack(struct osci_drv *d, struct osci_drv_mem *m, void *b, size_t *l)
{
    if (*l < 8)
        return -ENOSPC;
    memset(b, 0x22, 8);
    *l = 8;
    return 0;
}
static int fx_import(struct osci_drv *d, uint32_t n, const void *b, size_t l, struct osci_drv_rmem **r)
{ return -EINVAL; }
static void fx_release(struct osci_drv *d, struct osci_drv_rmem *r) { }
static int fx_put(struct osci_drv *d, struct osci_drv_rmem *r, size_t o, const void *s, size_t l) { return -EINVAL; }
static int fx_get(struct osci_drv *d, struct osci_drv_rmem *r, size_t o, void *s, size_t l) { return -EINVAL; }

static const struct osci_drv_ops fx_ops = {
    .size = sizeof(struct osci_drv_ops), .name = "fxrdma", .open = fx_open, .close = fx_close,
    .query = fx_query, .event_fd = fx_fd, .arm = fx_arm, .progress = fx_progress, .peers = fx_peers,
    .msg_send = fx_send, .db_ring = fx_ring, .db_set_event_mask = fx_mask, .mem_export = fx_export,
    .mem_unexport = fx_unexport, .mem_pack = fx_pack, .rmem_import = fx_import, .rmem_release = fx_release,
    .put = fx_put, .get = fx_get };

static char conf_path[] = "/tmp/osci-dmabufview-conf-XXXXXX";

static int setup(void **state)
{
    static const char text[] = "adapter 0 fxrdma\n";
    int fd = mkstemp(conf_path);

    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        return -1;
    close(fd);
    setenv("OSCI_CONF", conf_path, 1);
    setenv("OSCI_HEARTBEAT", "off", 1);
    return osci_drv_register(&fx_ops) < 0 ? -1 : 0;
}

static int teardown(void **state)
{
    unsetenv("OSCI_CONF");
    unsetenv("OSCI_HEARTBEAT");
    unlink(conf_path);
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
    unsigned int before = n_unexport;

    assert_int_equal(doca_mmap_start(m), DOCA_SUCCESS);
    assert_int_equal(doca_mmap_export_rdma(m, dev, &desc, &dlen), DOCA_SUCCESS);
    assert_true(dlen > 0);
    assert_int_equal(doca_mmap_stop(m), DOCA_SUCCESS);
    assert_int_equal(n_unexport, before + 1);
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
    assert_int_equal(n_export, 1);
    assert_ptr_equal(seen.addr, addr);
    assert_int_equal(seen.size, 2 * pg);
    assert_int_equal(seen.fd, fd);
    assert_int_equal(seen.fd_offset, (off_t)pg);
    assert_int_equal(doca_mmap_destroy(m), DOCA_SUCCESS);

    /* the caller's own mapping of [2 pg, 4 pg): the same, at the caller's address */
    own = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)(2 * pg));
    assert_ptr_not_equal(own, MAP_FAILED);
    m = mmap_new(dev);
    assert_int_equal(doca_mmap_set_dmabuf_memrange(m, fd, own, 2 * pg, 2 * pg), DOCA_SUCCESS);
    export_and_stop(m, dev);
    assert_int_equal(n_export, 2);
    assert_ptr_equal(seen.addr, own);
    assert_int_equal(seen.fd, fd);
    assert_int_equal(seen.fd_offset, (off_t)(2 * pg));
    assert_int_equal(doca_mmap_destroy(m), DOCA_SUCCESS);

    /* an fd offset no page aligned mapping can have: registered by the address only */
    m = mmap_new(dev);
    assert_int_equal(doca_mmap_set_dmabuf_memrange(m, fd, own, 100, 2 * pg), DOCA_SUCCESS);
    export_and_stop(m, dev);
    assert_int_equal(n_export, 3);
    assert_ptr_equal(seen.addr, own);
    assert_int_equal(seen.fd, -1);
    assert_int_equal(doca_mmap_destroy(m), DOCA_SUCCESS);

    /* a plain range: no fd */
    plain = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_ptr_not_equal(plain, MAP_FAILED);
    m = mmap_new(dev);
    assert_int_equal(doca_mmap_set_memrange(m, plain, pg), DOCA_SUCCESS);
    export_and_stop(m, dev);
    assert_int_equal(n_export, 4);
    assert_ptr_equal(seen.addr, plain);
    assert_int_equal(seen.size, pg);
    assert_int_equal(seen.fd, -1);
    assert_int_equal(doca_mmap_destroy(m), DOCA_SUCCESS);

    assert_int_equal(doca_dev_close(dev), DOCA_SUCCESS);
    munmap(plain, pg);
    munmap(own, 2 * pg);
    close(fd);
}

OSCI_TEST_MAIN(NULL, NULL, NULL,
               cmocka_unit_test_setup_teardown(test_dmabuf_view, setup, teardown))
