/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* simntb with threads (run under TSan): two nodes in one process, a sender thread, a progress
 * thread sleeping on the event fd, a db_wait thread and a put/get thread, all at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>

#include "drv_test.h"

#define N_MSG 2000
#define N_DB 500

struct mt {
    struct osci_drv *a, *b;
    struct osci_drv_rmem *rm;
    int msgs_ok, db_events, db_waits;
    uint64_t db_wait_bits;
};

static void *sender(void *arg)
{
    struct mt *t = arg;
    for (uint32_t i = 0; i < N_MSG; i++) {
        int r;
        while ((r = osci_drv_msg_send(t->a, t->b->node_id, &i, sizeof(i))) == -EAGAIN)
            sched_yield();
        if (r)
            return (void *)1;
        if (i % 4 == 0 && i / 4 < N_DB)
            osci_drv_db_ring(t->a, t->b->node_id, 1);   /* in b's event mask */
    }
    return NULL;
}

static void *ringer(void *arg)
{
    struct mt *t = arg;
    for (int i = 0; i < N_DB; i++) {
        osci_drv_db_ring(t->a, t->b->node_id, 40);      /* taken by db_wait */
        usleep(100);
    }
    return NULL;
}

static void *progress_thread(void *arg)
{
    struct mt *t = arg;
    uint32_t next = 0;
    uint64_t end = osci_now_ms() + 15000;
    while (next < N_MSG && osci_now_ms() < end) {
        struct osci_drv_event ev[16];
        int n = osci_drv_progress(t->b, ev, 16);
        for (int i = 0; i < n; i++) {
            if (ev[i].type == OSCI_DRV_EV_MSG) {
                uint32_t v;
                memcpy(&v, ev[i].msg, sizeof(v));
                if (v != next++)
                    return (void *)1;
            } else if (ev[i].type == OSCI_DRV_EV_DOORBELL) {
                if (ev[i].db_bits & ~(uint64_t)0x2)
                    return (void *)2;
                t->db_events++;
            }
        }
        if (n == 0 && osci_drv_arm(t->b) == 0) {
            struct pollfd pfd = { .fd = osci_drv_event_fd(t->b), .events = POLLIN };
            poll(&pfd, 1, 100);
        }
    }
    t->msgs_ok = next == N_MSG;
    return NULL;
}

static void *waiter(void *arg)
{
    struct mt *t = arg;
    uint64_t end = osci_now_ms() + 15000;
    while (osci_now_ms() < end) {
        uint64_t bits;
        int r = osci_drv_db_wait(t->b, 1ull << 40, 200, &bits);
        if (r == 0) {
            t->db_wait_bits |= bits;
            t->db_waits++;
        } else if (t->db_waits) {
            break;                     /* the ringer is done */
        }
    }
    return NULL;
}

static void *copier(void *arg)
{
    struct mt *t = arg;
    uint8_t buf[512], back[512];
    for (int i = 0; i < 500; i++) {
        memset(buf, i, sizeof(buf));
        if (osci_drv_put(t->a, t->rm, (size_t)(i % 8) * 512, buf, sizeof(buf)) ||
            osci_drv_get(t->a, t->rm, (size_t)(i % 8) * 512, back, sizeof(back)) || memcmp(buf, back, sizeof(buf)))
            return (void *)1;
    }
    return NULL;
}

static void test_threads(void **state)
{
    struct mt t = { 0 };
    struct t_evlog la = { .n = 0 }, lb = { .n = 0 };
    struct osci_drv_mem_view v;
    struct osci_drv_mem *m;
    uint8_t xp[64];
    size_t xl = sizeof(xp);
    pthread_t th[5];
    void *rv;

    t_start(&t.a);
    assert_int_equal(t_open(2, &t.b), 0);
    assert_int_equal(t_wait_ev(t.a, &la, OSCI_DRV_EV_LINK_UP, 2, 5000, 0, NULL), 0);
    assert_int_equal(t_wait_ev(t.b, &lb, OSCI_DRV_EV_LINK_UP, 1, 5000, 0, NULL), 0);
    assert_int_equal(osci_drv_db_set_event_mask(t.b, 0x2), 0);
    assert_int_equal(osci_drv_mem_alloc(t.b, 8 * 512, &v), 0);
    assert_int_equal(osci_drv_mem_export(t.b, &v, &m), 0);
    assert_int_equal(osci_drv_mem_pack(t.b, m, xp, &xl), 0);
    assert_int_equal(osci_drv_rmem_import(t.a, 2, xp, xl, &t.rm), 0);

    assert_int_equal(pthread_create(&th[0], NULL, progress_thread, &t), 0);
    assert_int_equal(pthread_create(&th[1], NULL, waiter, &t), 0);
    assert_int_equal(pthread_create(&th[2], NULL, sender, &t), 0);
    assert_int_equal(pthread_create(&th[3], NULL, ringer, &t), 0);
    assert_int_equal(pthread_create(&th[4], NULL, copier, &t), 0);
    for (int i = 4; i >= 0; i--) {
        assert_int_equal(pthread_join(th[i], &rv), 0);
        assert_null(rv);
    }
    assert_true(t.msgs_ok);
    assert_true(t.db_events >= 1);
    assert_true(t.db_waits >= 1);
    assert_int_equal(t.db_wait_bits, 1ull << 40);

    osci_drv_rmem_release(t.a, t.rm);
    osci_drv_mem_unexport(t.b, m);
    osci_drv_mem_free(t.b, &v);
    osci_drv_close(t.a);
    assert_int_equal(t_wait_ev(t.b, &lb, OSCI_DRV_EV_PEER_DEAD, 1, 5000, 0, NULL), 0);
    t_end(t.b);
}

OSCI_TEST_MAIN(NULL, NULL, NULL,
               cmocka_unit_test_teardown(test_threads, t_teardown))
