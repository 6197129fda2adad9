/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* The fault interposer (driver/core/hook.c): DROP_DOORBELL and CORRUPT_MSG with one meaning over any
 * ops table. A fake driver shows what reaches the driver's own ops; the built-in tables carry the same
 * interposer (rdma's instance needs a device: its table is checked, simntb's instance is run). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "drv_test.h"

extern const struct osci_drv_ops osci_simntb_ops;
extern const struct osci_drv_ops osci_rdma_ops;

struct call { uint32_t node; unsigned int bit; };

struct fake {
    struct osci_drv base;
    struct call ring[16];
    unsigned int n_ring;
    uint8_t msg[OSCI_DRV_MSG_MAX];
    size_t msg_len;
    unsigned int n_send, send_fail, n_inject;
    enum osci_fault fault;
};

static unsigned int fake_closed;

static struct fake *to_fake(struct osci_drv *d) { return (struct fake *)d; }

static int f_open(const struct osci_adapter_conf *c, struct osci_drv **d)
{
    struct fake *f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    f->base.node_id = c->observe ? 0 : 1;
    *d = &f->base;
    return 0;
}
static void f_close(struct osci_drv *d) { fake_closed++; free(d); }
static int f_query(struct osci_drv *d, struct osci_drv_info *i) { return 0; }
static int f_fd(struct osci_drv *d) { return -1; }
static int f_progress(struct osci_drv *d, struct osci_drv_event *e, unsigned int m) { return 0; }
static int f_peers(struct osci_drv *d, struct osci_peer_info *o, unsigned int m, unsigned int *c) { return 0; }
static int f_send(struct osci_drv *d, uint32_t n, const void *m, size_t l)
{
    struct fake *f = to_fake(d);
    if (f->send_fail) {
        f->send_fail--;
        return -EAGAIN;
    }
    f->n_send++;
    f->msg_len = l;
    if (l)
        memcpy(f->msg, m, l);
    return 0;
}
static int f_ring(struct osci_drv *d, uint32_t n, unsigned int b)
{
    struct fake *f = to_fake(d);
    if (f->n_ring < 16)
        f->ring[f->n_ring++] = (struct call){ n, b };
    return b >= OSCI_DRV_DB_COUNT ? -EINVAL : 0;
}
static int f_mask(struct osci_drv *d, uint64_t m) { return 0; }
static int f_export(struct osci_drv *d, const struct osci_drv_mem_view *v, struct osci_drv_mem **m) { return -EXDEV; }
static void f_unexport(struct osci_drv *d, struct osci_drv_mem *m) { }
static int f_pack(struct osci_drv *d, struct osci_drv_mem *m, void *b, size_t *l) { return -EINVAL; }
static int f_import(struct osci_drv *d, uint32_t n, const void *b, size_t l, struct osci_drv_rmem **r) { return -EINVAL; }
static void f_release(struct osci_drv *d, struct osci_drv_rmem *r) { }
static int f_put(struct osci_drv *d, struct osci_drv_rmem *r, size_t o, const void *s, size_t l) { return -EINVAL; }
static int f_get(struct osci_drv *d, struct osci_drv_rmem *r, size_t o, void *s, size_t l) { return -EINVAL; }
static int f_probe(struct osci_drv *d, uint32_t n) { return n == 9 ? -EADDRNOTAVAIL : 0; }  /* 9 never exists */
static int f_inject(struct osci_drv *d, enum osci_fault f, uint32_t n, unsigned int c)
{
    to_fake(d)->n_inject++;
    to_fake(d)->fault = f;
    return 0;
}

static const struct osci_drv_ops fake_ops = {
    .size = sizeof(struct osci_drv_ops), .name = "fakehook", .open = f_open, .close = f_close, .query = f_query,
    .event_fd = f_fd, .arm = f_fd, .progress = f_progress, .peers = f_peers, .msg_send = f_send,
    .db_ring = f_ring, .db_set_event_mask = f_mask, .mem_export = f_export, .mem_unexport = f_unexport,
    .mem_pack = f_pack, .rmem_import = f_import, .rmem_release = f_release, .put = f_put, .get = f_get,
    .probe = f_probe, .inject = f_inject,
};

static struct osci_drv *open_fake(int observe)
{
    struct osci_adapter_conf c;
    struct osci_drv *d = NULL;

    memset(&c, 0, sizeof(c));
    strcpy(c.driver, "fakehook");
    c.observe = observe;
    assert_int_equal(osci_drv_register(&fake_ops), 0);
    assert_int_equal(osci_drv_open(&c, &d), 0);
    return d;
}

static void test_drop_doorbell(void **state)
{
    struct osci_drv *d = open_fake(0);
    struct fake *f = to_fake(d);
    unsigned int closed = fake_closed;

    (void)state;
    assert_ptr_equal(d->ops, osci_drv_find("fakehook"));
    assert_int_equal(osci_drv_inject(d, OSCI_FAULT_DROP_DOORBELL, 3, 2), 0);
    assert_int_equal(f->n_inject, 0);                        /* the interposer's knob, not the driver's */
    assert_int_equal(osci_drv_db_ring(d, 3, 64), -EINVAL);   /* an invalid ring is not dropped ... */
    assert_int_equal(osci_drv_db_ring(d, 3, 1), 0);          /* ... these two are */
    assert_int_equal(osci_drv_db_ring(d, 3, 2), 0);
    assert_int_equal(osci_drv_db_ring(d, 4, 5), 0);          /* another node: untouched */
    assert_int_equal(osci_drv_db_ring(d, 3, 6), 0);          /* the count is spent */
    assert_int_equal(f->n_ring, 3);
    assert_true(f->ring[0].node == 3 && f->ring[0].bit == 64);
    assert_true(f->ring[1].node == 4 && f->ring[1].bit == 5);
    assert_true(f->ring[2].node == 3 && f->ring[2].bit == 6);

    /* a new count replaces what is left; 0 disarms */
    assert_int_equal(osci_drv_inject(d, OSCI_FAULT_DROP_DOORBELL, 3, 5), 0);
    assert_int_equal(osci_drv_inject(d, OSCI_FAULT_DROP_DOORBELL, 3, 1), 0);
    assert_int_equal(osci_drv_db_ring(d, 3, 7), 0);
    assert_int_equal(osci_drv_db_ring(d, 3, 8), 0);
    assert_int_equal(f->n_ring, 4);
    assert_int_equal(f->ring[3].bit, 8);
    assert_int_equal(osci_drv_inject(d, OSCI_FAULT_DROP_DOORBELL, 3, 3), 0);
    assert_int_equal(osci_drv_inject(d, OSCI_FAULT_DROP_DOORBELL, 3, 0), 0);
    assert_int_equal(osci_drv_db_ring(d, 3, 9), 0);
    assert_int_equal(f->n_ring, 5);
    osci_drv_close(d);
    assert_int_equal(fake_closed, closed + 1);               /* the driver's close, through the interposer */
}

static void test_corrupt_msg(void **state)
{
    static const char text[] = "hello, fabric";
    struct osci_drv *d = open_fake(0);
    struct fake *f = to_fake(d);

    (void)state;
    assert_int_equal(osci_drv_inject(d, OSCI_FAULT_CORRUPT_MSG, 3, 1), 0);
    assert_int_equal(osci_drv_msg_send(d, 3, NULL, 0), 0);   /* empty: passes, does not count */
    assert_int_equal(f->n_send, 1);
    assert_int_equal(f->msg_len, 0);
    assert_int_equal(osci_drv_msg_send(d, 4, text, sizeof(text)), 0);   /* another node */
    assert_memory_equal(f->msg, text, sizeof(text));
    f->send_fail = 1;                                        /* not accepted: still due */
    assert_int_equal(osci_drv_msg_send(d, 3, text, sizeof(text)), -EAGAIN);
    assert_int_equal(osci_drv_msg_send(d, 3, text, sizeof(text)), 0);
    assert_int_equal(f->msg_len, sizeof(text));
    for (size_t i = 0; i < sizeof(text); i++)
        assert_int_equal(f->msg[i], (uint8_t)text[i] ^ 0xa5);
    assert_int_equal(osci_drv_msg_send(d, 3, text, sizeof(text)), 0);   /* the count is spent */
    assert_memory_equal(f->msg, text, sizeof(text));
    assert_int_equal(f->n_send, 4);
    osci_drv_close(d);
}

static void test_inject_args(void **state)
{
    struct osci_drv *d = open_fake(0), *o;
    struct fake *f = to_fake(d);

    (void)state;
    assert_int_equal(osci_drv_inject(d, OSCI_FAULT_DROP_DOORBELL, 0, 1), -EINVAL);
    assert_int_equal(osci_drv_inject(d, OSCI_FAULT_CORRUPT_MSG, 256, 1), -EINVAL);
    assert_int_equal(osci_drv_inject(d, OSCI_FAULT_CORRUPT_MSG, 9, 1), -EHOSTUNREACH);  /* probe: never here */
    assert_int_equal(f->n_inject, 0);
    /* the driver's own faults reach its inject op */
    assert_int_equal(osci_drv_inject(d, OSCI_FAULT_LINK_DOWN, 3, 0), 0);
    assert_int_equal(f->n_inject, 1);
    assert_int_equal(f->fault, OSCI_FAULT_LINK_DOWN);
    osci_drv_close(d);

    o = open_fake(1);
    assert_int_equal(osci_drv_inject(o, OSCI_FAULT_DROP_DOORBELL, 3, 1), -EPERM);
    assert_int_equal(osci_drv_inject(o, OSCI_FAULT_CORRUPT_MSG, 3, 1), -EPERM);
    assert_int_equal(to_fake(o)->n_inject, 0);
    osci_drv_close(o);
}

/* Both built-in tables: the same interposer over the driver's own ops. */
static void test_builtin_tables(void **state)
{
    const struct osci_drv_ops *fk, *builtin[][2] = {
        { osci_drv_find("simntb"), &osci_simntb_ops },
#ifdef OSCI_HAVE_RDMA                   /* built with the rdma driver (make RDMA=yes/auto) */
        { osci_drv_find("rdma"), &osci_rdma_ops },
#endif
    };

    (void)state;
    assert_int_equal(osci_drv_register(&fake_ops), 0);
    fk = osci_drv_find("fakehook");
    assert_non_null(fk);
    for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++) {
        const struct osci_drv_ops *t = builtin[i][0], *own = builtin[i][1];

        assert_non_null(t);
        assert_ptr_equal(t->db_ring, fk->db_ring);
        assert_ptr_equal(t->msg_send, fk->msg_send);
        assert_ptr_equal(t->inject, fk->inject);
        assert_ptr_equal(t->close, fk->close);
        assert_ptr_not_equal(t->db_ring, own->db_ring);
        assert_ptr_not_equal(t->msg_send, own->msg_send);
        assert_ptr_equal(t->put, own->put);                  /* the data path is the driver's own */
        assert_ptr_equal(t->get, own->get);
        assert_ptr_equal(t->mem_export, own->mem_export);
    }
}

/* simntb through the interposer: two nodes in this process. */
static void test_simntb_knobs(void **state)
{
    static const char text[] = "corrupt me";
    struct osci_drv *a, *b;
    struct t_evlog la = { .n = 0 }, lb = { .n = 0 };
    struct osci_drv_event ev;
    uint64_t bits = 0;

    (void)state;
    t_start(&a);
    assert_int_equal(t_open(2, &b), 0);
    assert_int_equal(t_wait_ev(a, &la, OSCI_DRV_EV_LINK_UP, 2, 5000, 0, NULL), 0);
    assert_int_equal(t_wait_ev(b, &lb, OSCI_DRV_EV_LINK_UP, 1, 5000, 0, NULL), 0);

    assert_int_equal(osci_drv_inject(a, OSCI_FAULT_DROP_DOORBELL, 2, 2), 0);
    assert_int_equal(osci_drv_db_ring(a, 2, 4), 0);
    assert_int_equal(osci_drv_db_ring(a, 2, 5), 0);
    assert_int_equal(osci_drv_db_ring(a, 2, 6), 0);
    assert_int_equal(osci_drv_db_poll(b, 0xff, &bits), 0);
    assert_int_equal(bits, 0x40);                            /* 4 and 5 dropped */

    assert_int_equal(osci_drv_inject(a, OSCI_FAULT_CORRUPT_MSG, 2, 1), 0);
    assert_int_equal(osci_drv_msg_send(a, 2, text, sizeof(text)), 0);
    assert_int_equal(osci_drv_msg_send(a, 2, text, sizeof(text)), 0);
    assert_int_equal(t_wait_ev(b, &lb, OSCI_DRV_EV_MSG, 1, 5000, 0, &ev), 0);
    assert_int_equal(ev.len, sizeof(text));
    for (size_t i = 0; i < sizeof(text); i++)
        assert_int_equal(ev.msg[i], (uint8_t)text[i] ^ 0xa5);
    assert_int_equal(t_wait_ev(b, &lb, OSCI_DRV_EV_MSG, 1, 5000, 0, &ev), 0);
    assert_memory_equal(ev.msg, text, sizeof(text));

    /* simntb's own fault still reaches simntb */
    assert_int_equal(osci_drv_inject(a, OSCI_FAULT_LINK_DOWN, 2, 0), 0);
    assert_int_equal(osci_drv_probe(a, 2), -ENOLINK);
    assert_int_equal(osci_drv_inject(a, OSCI_FAULT_LINK_UP, 2, 0), 0);
    osci_drv_close(b);
    t_end(a);
}

OSCI_TEST_MAIN(NULL, NULL, NULL,
               cmocka_unit_test(test_drop_doorbell),
               cmocka_unit_test(test_corrupt_msg),
               cmocka_unit_test(test_inject_args),
               cmocka_unit_test(test_builtin_tables),
               cmocka_unit_test(test_simntb_knobs))
