/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * dma-buf sharing in userspace (include/opensci/osci_dmabuf.h, docs/doca.md "dma-buf").
 *
 * A buffer's handle is a memfd created at export with size 0: a real fd, but no memory behind it yet.
 * The first map (or mmap, or begin_cpu_access) collates the constraints of every attachment and
 * picks the storage: host pages (the memfd grows to the size: LOC_SYSTEM) or, when every attachment
 * can reach only a kernel dma-buf, a udmabuf made over the same memfd (LOC_KERNEL; /dev/udmabuf).
 * Page storage is page aligned, and physically contiguous only when it is one page: an attachment
 * needing more cannot be satisfied by either (before allocation: the first map fails -EXDEV; after:
 * the attach does).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/dma-buf.h>
#include <linux/udmabuf.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "opensci/osci_dmabuf.h"
#include "osci_list.h"
#include "osci_log.h"

#define LOC_ALL (OSCI_DMABUF_LOC_SYSTEM | OSCI_DMABUF_LOC_KERNEL)
#define ACC_ALL (OSCI_DMABUF_READ | OSCI_DMABUF_WRITE)

struct osci_dmabuf {
    struct osci_list_node link;          /* in bufs */
    pthread_mutex_t lock;
    size_t size;
    uint32_t access;
    osci_dmabuf_release_t release;
    void *priv;
    unsigned int refs;                   /* under bufs_lock */
    int memfd;                           /* the handle's file; the pages when allocated */
    dev_t dev;
    ino_t ino;
    bool allocated;
    uint32_t location;
    int kfd;                             /* LOC_KERNEL: the udmabuf dma-buf fd */
    struct osci_list_head atts;
    unsigned int n_attach, n_mapped;
    unsigned int cpu_read, cpu_write;
};

struct osci_dmabuf_attachment {
    struct osci_list_node link;
    struct osci_dmabuf *buf;
    struct osci_dmabuf_constraints c;
    unsigned int mapped;
};

static pthread_mutex_t bufs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct osci_list_head bufs = OSCI_LIST_HEAD_INIT(bufs);

static size_t page(void) { return (size_t)sysconf(_SC_PAGESIZE); }

OSCI_EXPORT int osci_dmabuf_export(size_t size, uint32_t access, osci_dmabuf_release_t release, void *priv,
                                   struct osci_dmabuf **buf_p)
{
    struct osci_dmabuf *b;
    struct stat st;

    if (!buf_p || !size || (size & (page() - 1)) || !access || (access & ~ACC_ALL))
        return -EINVAL;
    b = calloc(1, sizeof(*b));
    if (!b)
        return -ENOMEM;
    b->memfd = memfd_create("osci-dmabuf", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (b->memfd < 0 || fstat(b->memfd, &st) < 0) {
        int rc = -errno;
        if (b->memfd >= 0)
            close(b->memfd);
        free(b);
        return rc;
    }
    pthread_mutex_init(&b->lock, NULL);
    b->size = size;
    b->access = access;
    b->release = release;
    b->priv = priv;
    b->refs = 1;
    b->dev = st.st_dev;
    b->ino = st.st_ino;
    b->kfd = -1;
    osci_list_init(&b->atts);
    pthread_mutex_lock(&bufs_lock);
    osci_list_add(&bufs, &b->link);
    pthread_mutex_unlock(&bufs_lock);
    *buf_p = b;
    return 0;
}

OSCI_EXPORT int osci_dmabuf_fd(struct osci_dmabuf *b)
{
    int fd;

    if (!b)
        return -EINVAL;
    fd = fcntl(b->memfd, F_DUPFD_CLOEXEC, 0);
    return fd < 0 ? -errno : fd;
}

OSCI_EXPORT int osci_dmabuf_get(int fd, struct osci_dmabuf **buf_p)
{
    struct osci_dmabuf *b;
    struct stat st;
    int rc = -EBADF;

    if (!buf_p)
        return -EINVAL;
    if (fstat(fd, &st) < 0)
        return -EBADF;
    pthread_mutex_lock(&bufs_lock);
    osci_list_for_each(b, &bufs, link) {
        if (b->dev == st.st_dev && b->ino == st.st_ino && b->refs) {
            b->refs++;
            *buf_p = b;
            rc = 0;
            break;
        }
    }
    pthread_mutex_unlock(&bufs_lock);
    return rc;
}

OSCI_EXPORT void osci_dmabuf_put(struct osci_dmabuf *b)
{
    bool last;

    if (!b)
        return;
    pthread_mutex_lock(&bufs_lock);
    last = --b->refs == 0;
    if (last)
        osci_list_del(&b->link);
    pthread_mutex_unlock(&bufs_lock);
    if (!last)
        return;
    if (b->kfd >= 0)
        close(b->kfd);
    close(b->memfd);
    pthread_mutex_destroy(&b->lock);
    if (b->release)
        b->release(b->priv);
    free(b);
}

/* The storage's guarantees. */
static uint64_t store_align(void) { return page(); }
static bool store_contiguous(const struct osci_dmabuf *b) { return b->size <= page(); }

/* Whether storage at `loc` satisfies c; *why names what fails. */
static bool fits(const struct osci_dmabuf *b, uint32_t loc, const struct osci_dmabuf_constraints *c, const char **why)
{
    if (c->align > store_align()) {
        *why = "alignment beyond a page";
        return false;
    }
    if (c->contiguous && !store_contiguous(b)) {
        *why = "physical contiguity beyond one page";
        return false;
    }
    if (!(c->locations & loc)) {
        *why = "location";
        return false;
    }
    return true;
}

OSCI_EXPORT int osci_dmabuf_attach(struct osci_dmabuf *b, const struct osci_dmabuf_constraints *cin,
                                   struct osci_dmabuf_attachment **att_p)
{
    struct osci_dmabuf_constraints c = { 0 };
    struct osci_dmabuf_attachment *a, *o;
    const char *why = NULL;
    uint32_t common = LOC_ALL;
    int rc = 0;

    if (!b || !att_p)
        return -EINVAL;
    if (cin)
        c = *cin;
    if ((c.align & (c.align - 1)) || c.contiguous > 1 || (c.locations & ~LOC_ALL) || (c.access & ~ACC_ALL))
        return -EINVAL;
    if (!c.locations)
        c.locations = LOC_ALL;
    if (!c.access)
        c.access = OSCI_DMABUF_READ;
    if (c.access & ~b->access)
        return -EACCES;
    a = calloc(1, sizeof(*a));
    if (!a)
        return -ENOMEM;
    a->buf = b;
    a->c = c;
    pthread_mutex_lock(&b->lock);
    if (b->allocated) {
        if (!fits(b, b->location, &c, &why)) {
            osci_log(OSCI_LOG_INFO, "dmabuf", "late attach refused: the storage (%s, %zu bytes) cannot give %s",
                     b->location == OSCI_DMABUF_LOC_KERNEL ? "kernel dma-buf" : "host pages", b->size, why);
            rc = -EXDEV;
        }
    } else {
        osci_list_for_each(o, &b->atts, link)
            common &= o->c.locations;
        if (!(common & c.locations)) {
            osci_log(OSCI_LOG_INFO, "dmabuf", "attach refused: no location in common with the attachments");
            rc = -EXDEV;
        }
    }
    if (rc == 0) {
        osci_list_add(&b->atts, &a->link);
        b->n_attach++;
    }
    pthread_mutex_unlock(&b->lock);
    if (rc < 0) {
        free(a);
        return rc;
    }
    pthread_mutex_lock(&bufs_lock);
    b->refs++;
    pthread_mutex_unlock(&bufs_lock);
    *att_p = a;
    return 0;
}

OSCI_EXPORT int osci_dmabuf_detach(struct osci_dmabuf_attachment *a)
{
    struct osci_dmabuf *b;

    if (!a)
        return -EINVAL;
    b = a->buf;
    pthread_mutex_lock(&b->lock);
    if (a->mapped) {
        pthread_mutex_unlock(&b->lock);
        return -EBUSY;
    }
    osci_list_del(&a->link);
    b->n_attach--;
    pthread_mutex_unlock(&b->lock);
    free(a);
    osci_dmabuf_put(b);
    return 0;
}

static int make_udmabuf(struct osci_dmabuf *b)
{
    struct udmabuf_create uc = { .memfd = (uint32_t)b->memfd, .flags = UDMABUF_FLAGS_CLOEXEC, .offset = 0,
                                 .size = b->size };
    int dev, fd;

    if (fcntl(b->memfd, F_ADD_SEALS, F_SEAL_SHRINK) < 0)
        return -errno;
    dev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
    if (dev < 0)
        return errno == ENOENT ? -ENODEV : -errno;
    fd = ioctl(dev, UDMABUF_CREATE, &uc);
    if (fd < 0) {
        int rc = -errno;
        close(dev);
        return rc;
    }
    close(dev);
    b->kfd = fd;
    return 0;
}

/* The storage, collated from every attachment (lock held). */
static int allocate(struct osci_dmabuf *b)
{
    struct osci_dmabuf_attachment *a;
    uint32_t common = LOC_ALL;
    const char *why;
    int rc;

    if (b->allocated)
        return 0;
    osci_list_for_each(a, &b->atts, link)
        common &= a->c.locations;
    b->location = (common & OSCI_DMABUF_LOC_SYSTEM) ? OSCI_DMABUF_LOC_SYSTEM : OSCI_DMABUF_LOC_KERNEL;
    osci_list_for_each(a, &b->atts, link) {
        if (!fits(b, b->location, &a->c, &why)) {
            osci_log(OSCI_LOG_INFO, "dmabuf", "no storage satisfies the attachments: %s", why);
            return -EXDEV;
        }
    }
    if (ftruncate(b->memfd, (off_t)b->size) < 0)
        return -errno;
    if (b->location == OSCI_DMABUF_LOC_KERNEL && (rc = make_udmabuf(b)) < 0) {
        osci_log(OSCI_LOG_INFO, "dmabuf", "kernel dma-buf storage: %s", strerror(-rc));
        return rc;
    }
    b->allocated = true;
    return 0;
}

static int storage_fd(const struct osci_dmabuf *b)
{
    return b->location == OSCI_DMABUF_LOC_KERNEL ? b->kfd : b->memfd;
}

OSCI_EXPORT int osci_dmabuf_map(struct osci_dmabuf_attachment *a, struct osci_dmabuf_map *m)
{
    struct osci_dmabuf *b;
    void *p;
    int rc;

    if (!a || !m)
        return -EINVAL;
    b = a->buf;
    pthread_mutex_lock(&b->lock);
    if ((rc = allocate(b)) < 0)
        goto out;
    p = mmap(NULL, b->size, PROT_READ | ((a->c.access & OSCI_DMABUF_WRITE) ? PROT_WRITE : 0), MAP_SHARED,
             storage_fd(b), 0);
    if (p == MAP_FAILED) {
        rc = -errno;
        goto out;
    }
    *m = (struct osci_dmabuf_map){ .addr = p, .size = b->size, .fd = storage_fd(b), .location = b->location,
                                   .align = store_align(), .contiguous = store_contiguous(b) };
    a->mapped++;
    b->n_mapped++;
out:
    pthread_mutex_unlock(&b->lock);
    return rc;
}

OSCI_EXPORT int osci_dmabuf_unmap(struct osci_dmabuf_attachment *a, struct osci_dmabuf_map *m)
{
    struct osci_dmabuf *b;

    if (!a || !m || !m->addr)
        return -EINVAL;
    b = a->buf;
    pthread_mutex_lock(&b->lock);
    if (!a->mapped || m->size != b->size) {
        pthread_mutex_unlock(&b->lock);
        return -EINVAL;
    }
    munmap(m->addr, m->size);
    m->addr = NULL;
    a->mapped--;
    b->n_mapped--;
    pthread_mutex_unlock(&b->lock);
    return 0;
}

static int cpu_sync(struct osci_dmabuf *b, uint32_t dir, bool start)
{
    struct dma_buf_sync s = { .flags = (start ? DMA_BUF_SYNC_START : DMA_BUF_SYNC_END) |
                                       ((dir & OSCI_DMABUF_SYNC_READ) ? DMA_BUF_SYNC_READ : 0) |
                                       ((dir & OSCI_DMABUF_SYNC_WRITE) ? DMA_BUF_SYNC_WRITE : 0) };
    if (b->location == OSCI_DMABUF_LOC_KERNEL)
        return ioctl(b->kfd, DMA_BUF_IOCTL_SYNC, &s) < 0 ? -errno : 0;
    atomic_thread_fence(memory_order_seq_cst);     /* host pages: coherent, order only */
    return 0;
}

OSCI_EXPORT int osci_dmabuf_begin_cpu_access(struct osci_dmabuf *b, uint32_t dir)
{
    int rc;

    if (!b || !dir || (dir & ~(OSCI_DMABUF_SYNC_READ | OSCI_DMABUF_SYNC_WRITE)))
        return -EINVAL;
    pthread_mutex_lock(&b->lock);
    if ((rc = allocate(b)) == 0 && (rc = cpu_sync(b, dir, true)) == 0) {
        b->cpu_read += (dir & OSCI_DMABUF_SYNC_READ) != 0;
        b->cpu_write += (dir & OSCI_DMABUF_SYNC_WRITE) != 0;
    }
    pthread_mutex_unlock(&b->lock);
    return rc;
}

OSCI_EXPORT int osci_dmabuf_end_cpu_access(struct osci_dmabuf *b, uint32_t dir)
{
    int rc;

    if (!b || !dir || (dir & ~(OSCI_DMABUF_SYNC_READ | OSCI_DMABUF_SYNC_WRITE)))
        return -EINVAL;
    pthread_mutex_lock(&b->lock);
    if (((dir & OSCI_DMABUF_SYNC_READ) && !b->cpu_read) || ((dir & OSCI_DMABUF_SYNC_WRITE) && !b->cpu_write)) {
        rc = -EINVAL;
    } else if ((rc = cpu_sync(b, dir, false)) == 0) {
        b->cpu_read -= (dir & OSCI_DMABUF_SYNC_READ) != 0;
        b->cpu_write -= (dir & OSCI_DMABUF_SYNC_WRITE) != 0;
    }
    pthread_mutex_unlock(&b->lock);
    return rc;
}

OSCI_EXPORT int osci_dmabuf_mmap(struct osci_dmabuf *b, void **addr_p, size_t *len_p)
{
    void *p;
    int rc;

    if (!b || !addr_p)
        return -EINVAL;
    pthread_mutex_lock(&b->lock);
    if ((rc = allocate(b)) == 0) {
        p = mmap(NULL, b->size, PROT_READ | ((b->access & OSCI_DMABUF_WRITE) ? PROT_WRITE : 0), MAP_SHARED,
                 storage_fd(b), 0);
        if (p == MAP_FAILED) {
            rc = -errno;
        } else {
            *addr_p = p;
            if (len_p)
                *len_p = b->size;
        }
    }
    pthread_mutex_unlock(&b->lock);
    return rc;
}

OSCI_EXPORT int osci_dmabuf_state(struct osci_dmabuf *b, struct osci_dmabuf_state *st)
{
    if (!b || !st)
        return -EINVAL;
    pthread_mutex_lock(&b->lock);
    *st = (struct osci_dmabuf_state){ .allocated = b->allocated, .n_attach = b->n_attach, .n_mapped = b->n_mapped,
                                      .location = b->allocated ? b->location : 0,
                                      .contiguous = b->allocated && store_contiguous(b),
                                      .align = b->allocated ? store_align() : 0 };
    pthread_mutex_unlock(&b->lock);
    pthread_mutex_lock(&bufs_lock);
    st->refs = b->refs;
    pthread_mutex_unlock(&bufs_lock);
    return 0;
}
