/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* The fake transfer driver (osci_fakedrv.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "osci_fakedrv.h"
#include "osci_test.h"

#define FAKES_MAX 4

struct fx {
    struct osci_drv base;
    int efd;
    struct fakedrv *f;
};

struct osci_drv_mem { int dummy; };

static struct fakedrv *fakes_reg[FAKES_MAX];
static struct osci_drv_ops fakes_ops[FAKES_MAX];
static char conf_path[64];

static struct fakedrv *fx_of(struct osci_drv *d) { return ((struct fx *)d)->f; }

static int fx_open(const struct osci_adapter_conf *c, struct osci_drv **d)
{
    struct fakedrv *f = NULL;
    struct fx *x;

    for (unsigned int i = 0; i < FAKES_MAX && !f; i++)
        if (fakes_reg[i] && !strcmp(fakes_reg[i]->name, c->driver))
            f = fakes_reg[i];
    if (!f)
        return -ENODEV;
    x = calloc(1, sizeof(*x));
    if (!x)
        return -ENOMEM;
    x->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    x->f = f;
    x->base.node_id = 7;
    *d = &x->base;
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
    snprintf(i->name, sizeof(i->name), "%s", fx_of(d)->name);
    i->node_id = d->node_id;
    i->max_nodes = 255;
    i->max_mem_size = 1 << 20;
    i->mem_align = 4096;
    i->n_doorbells = OSCI_DRV_DB_COUNT;
    i->caps = fx_of(d)->caps;
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
    struct fakedrv *f = fx_of(d);

    f->n_export++;
    f->seen = *v;
    if (!(f->caps & OSCI_DRV_CAP_EXPORT_FOREIGN))
        return -EXDEV;
    *m = &one;
    return 0;
}
static void fx_unexport(struct osci_drv *d, struct osci_drv_mem *m) { fx_of(d)->n_unexport++; }
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

static int fakedrv_register(struct fakedrv *f)
{
    for (unsigned int i = 0; i < FAKES_MAX; i++) {
        if (fakes_reg[i] == f)
            return 0;
        if (fakes_reg[i])
            continue;
        fakes_reg[i] = f;
        fakes_ops[i] = (struct osci_drv_ops){
            .size = sizeof(struct osci_drv_ops), .name = f->name, .open = fx_open, .close = fx_close,
            .query = fx_query, .event_fd = fx_fd, .arm = fx_arm, .progress = fx_progress, .peers = fx_peers,
            .msg_send = fx_send, .db_ring = fx_ring, .db_set_event_mask = fx_mask, .mem_export = fx_export,
            .mem_unexport = fx_unexport, .mem_pack = fx_pack, .rmem_import = fx_import,
            .rmem_release = fx_release, .put = fx_put, .get = fx_get };
        return osci_drv_register(&fakes_ops[i]);
    }
    return -ENOSPC;
}

int fakedrv_start(const char *tag, const char *conf, struct fakedrv *const fakes[], unsigned int n)
{
    if (tfile_write(conf_path, sizeof(conf_path), tag, 0600, conf) != 0)
        return -1;
    setenv("OSCI_CONF", conf_path, 1);
    setenv("OSCI_HEARTBEAT", "off", 1);
    for (unsigned int i = 0; i < n; i++)
        if (fakedrv_register(fakes[i]) < 0)
            return -1;
    return 0;
}

void fakedrv_stop(void)
{
    unsetenv("OSCI_CONF");
    unsetenv("OSCI_HEARTBEAT");
    if (conf_path[0])
        unlink(conf_path);
    conf_path[0] = 0;
}
