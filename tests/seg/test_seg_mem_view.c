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
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../common/osci_test.h"
#include "osci_drv.h"
#include "seg_internal.h"
#include "seg_obj.h"
#include "seg_peer.h"


struct fx {
    struct osci_drv base;
    int efd;
    uint32_t caps;
};

struct osci_drv_mem { int dummy; };

/* What reached mem_export, per fake driver (0: foreign, 1: own-only). */
static unsigned int n_export[2], n_unexport[2];
static struct osci_drv_mem_view seen[2];

static int fx_open(const struct osci_adapter_conf *c, struct osci_drv **d, uint32_t caps)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    f->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    f->caps = caps;
    f->base.node_id = 7;
    *d = &f->base;
    return 0;
}
static int fx_open_foreign(const struct osci_adapter_conf *c, struct osci_drv **d)
{ return fx_open(c, d, OSCI_DRV_CAP_PUT_GET | OSCI_DRV_CAP_EXPORT_FOREIGN); }
static int fx_open_own(const struct osci_adapter_conf *c, struct osci_drv **d)
{ return fx_open(c, d, OSCI_DRV_CAP_PUT_GET); }
static void fx_close(struct osci_drv *d)
{
    close(((struct fx *)d)->efd);
    free(d);
}
static int fx_query(struct osci_drv *d, struct osci_drv_info *i)
{
    memset(i, 0, sizeof(*i));
    strcpy(i->name, "fx");
    i->node_id = d->node_id;
    i->max_nodes = 255;
    i->max_mem_size = 1 << 20;
    i->mem_align = 4096;
    i->n_doorbells = OSCI_DRV_DB_COUNT;
    i->caps = ((struct fx *)d)->caps;
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
static int fx_idx(struct osci_drv *d) { return ((struct fx *)d)->caps & OSCI_DRV_CAP_EXPORT_FOREIGN ? 0 : 1; }
static int fx_export(struct osci_drv *d, const struct osci_drv_mem_view *v, struct osci_drv_mem **m)
{
    static struct osci_drv_mem one;
    int i = fx_idx(d);
    n_export[i]++;
    seen[i] = *v;
    if (i == 1)
        return -EXDEV;
    *m = &one;
    return 0;
}
static void fx_unexport(struct osci_drv *d, struct osci_drv_mem *m) { n_unexport[fx_idx(d)]++; }
static int fx_pack(struct osci_drv *d, struct osci_drv_mem *m, void *b, size_t *l)
{
    if (*l < 8)
        return -ENOSPC;
    memset(b, 0x11, 8);
    *l = 8;
    return 0;
}
static int fx_import(struct osci_drv *d, uint32_t n, const void *b, size_t l, struct osci_drv_rmem **r)
{ return -EINVAL; }
static void fx_release(struct osci_drv *d, struct osci_drv_rmem *r) { }
static int fx_put(struct osci_drv *d, struct osci_drv_rmem *r, size_t o, const void *s, size_t l) { return -EINVAL; }
static int fx_get(struct osci_drv *d, struct osci_drv_rmem *r, size_t o, void *s, size_t l) { return -EINVAL; }

#define FX_OPS(nm, op) { \
    .size = sizeof(struct osci_drv_ops), .name = nm, .open = op, .close = fx_close, .query = fx_query, \
    .event_fd = fx_fd, .arm = fx_arm, .progress = fx_progress, .peers = fx_peers, .msg_send = fx_send, \
    .db_ring = fx_ring, .db_set_event_mask = fx_mask, .mem_export = fx_export, .mem_unexport = fx_unexport, \
    .mem_pack = fx_pack, .rmem_import = fx_import, .rmem_release = fx_release, .put = fx_put, .get = fx_get }

static const struct osci_drv_ops fx_foreign_ops = FX_OPS("fxforeign", fx_open_foreign);
static const struct osci_drv_ops fx_own_ops = FX_OPS("fxown", fx_open_own);

static char conf_path[] = "/tmp/osci-memview-conf-XXXXXX";

static int setup(void **state)
{
    static const char text[] = "adapter 0 fxforeign\nadapter 1 fxown\n";
    int fd = mkstemp(conf_path);

    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        return -1;
    close(fd);
    setenv("OSCI_CONF", conf_path, 1);
    setenv("OSCI_HEARTBEAT", "off", 1);
    if (osci_drv_register(&fx_foreign_ops) < 0 || osci_drv_register(&fx_own_ops) < 0)
        return -1;
    return sd_setup(state);
}

static int teardown(void **state)
{
    sd_teardown(state);
    unsetenv("OSCI_CONF");
    unsetenv("OSCI_HEARTBEAT");
    unlink(conf_path);
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
    assert_int_equal(n_export[1], 0);
    /* adapter 0 can: it gets the whole view */
    OK(SCIPrepareSegment(ls, 0, 0, &e_));
    assert_int_equal(n_export[0], 1);
    assert_ptr_equal(seen[0].addr, mem);
    assert_int_equal(seen[0].size, 2 * pg);
    assert_int_equal(seen[0].fd, fd);
    assert_int_equal(seen[0].fd_offset, (off_t)pg);

    /* the fd gives read-only local maps (registered memory without one cannot) */
    const volatile uint8_t *p = SCIMapLocalSegment(ls, &m, 0, pg, NULL, SCI_FLAG_READONLY_MAP, &e_);
    assert_int_equal(e_, SCI_ERR_OK);
    assert_int_equal(p[5], 0x3c);
    OK(SCIUnmapSegment(m, 0, &e_));
    OK(SCIRemoveSegment(ls, 0, &e_));
    assert_int_equal(n_unexport[0], 1);

    /* SCIRegisterSegmentMemory: the same path, without an fd */
    OK(SCICreateSegment(sd, &ls2, 41, pg, NULL, NULL, SCI_FLAG_EMPTY, &e_));
    OK(SCIRegisterSegmentMemory(mem, pg, ls2, 0, &e_));
    ERR(SCI_ERR_NOT_SUPPORTED, SCIPrepareSegment(ls2, 1, 0, &e_));
    assert_int_equal(n_export[1], 0);
    OK(SCIPrepareSegment(ls2, 0, 0, &e_));
    assert_int_equal(n_export[0], 2);
    assert_ptr_equal(seen[0].addr, mem);
    assert_int_equal(seen[0].fd, -1);
    ERR(SCI_ERR_NOT_SUPPORTED, SCIMapLocalSegment(ls2, &m, 0, 16, NULL, SCI_FLAG_READONLY_MAP, &e_));
    OK(SCIRemoveSegment(ls2, 0, &e_));
    munmap(mem, 2 * pg);
    close(fd);
}

OSCI_TEST_MAIN(NULL, NULL, NULL,
               cmocka_unit_test_setup_teardown(test_fd_view, setup, teardown))
