/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* simntb with two and three processes: link up, messages, doorbells, window memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <sys/mman.h>

#include "drv_test.h"

static void test_two_nodes_messages(void **state)
{
    struct t_sync s;
    struct osci_drv *d;
    struct t_evlog log = { .n = 0 };
    struct osci_drv_event ev;
    struct osci_peer_info pi[4];
    unsigned int np;
    uint8_t msg[OSCI_DRV_MSG_MAX + 1];
    pid_t pid;

    t_start(&d);
    assert_int_equal(d->node_id, 1);
    pid = t_fork_sync(&s);
    if (pid == 0) {
        struct osci_drv *c;
        struct t_evlog cl = { .n = 0 };
        CHECK(t_open(0, &c) == 0 && c->node_id == 2);
        t_sync_post(s.to_parent[1], 'r');
        CHECK(t_wait_ev(c, &cl, OSCI_DRV_EV_LINK_UP, 1, 5000, 1, &ev) == 0);
        t_sync_post(s.to_parent[1], 'u');
        CHECK(t_sync_wait(s.to_child[0], 10000) == 'g');
        for (int i = 0; i < 16; i++) {
            CHECK(t_wait_ev(c, &cl, OSCI_DRV_EV_MSG, 1, 5000, 1, &ev) == 0);
            CHECK(ev.len == (uint32_t)i + 1);
            for (int k = 0; k <= i; k++)
                CHECK(ev.msg[k] == (uint8_t)(i * 7 + k));
        }
        memset(msg, 0xab, sizeof(msg));
        CHECK(osci_drv_msg_send(c, 1, msg, OSCI_DRV_MSG_MAX + 1) == -EMSGSIZE);
        CHECK(osci_drv_msg_send(c, 9, msg, 4) == -EHOSTUNREACH);
        CHECK(osci_drv_msg_send(c, 1, msg, OSCI_DRV_MSG_MAX) == 0);
        CHECK(t_sync_wait(s.to_child[0], 10000) == 'q');
        osci_drv_close(c);
        _exit(0);
    }
    assert_int_equal(t_sync_wait(s.to_parent[0], 5000), 'r');
    assert_int_equal(t_wait_ev(d, &log, OSCI_DRV_EV_LINK_UP, 2, 5000, 0, &ev), 0);
    assert_int_equal(osci_drv_peers(d, pi, 4, &np), 0);
    assert_int_equal(np, 1);
    assert_int_equal(pi[0].node_id, 2);
    assert_int_equal(pi[0].link_up, 1);
    assert_int_equal(pi[0].pid, pid);
    assert_true(pi[0].epoch == ev.epoch && ev.epoch != 0);
    assert_int_equal(osci_drv_probe(d, 2), 0);
    assert_int_equal(osci_drv_probe(d, 3), -EHOSTUNREACH);
    assert_int_equal(t_sync_wait(s.to_parent[0], 5000), 'u');
    /* Fill the ring while the child does not consume: 16 slots, then -EAGAIN. */
    for (int i = 0; i < 16; i++) {
        for (int k = 0; k <= i; k++)
            msg[k] = (uint8_t)(i * 7 + k);
        assert_int_equal(osci_drv_msg_send(d, 2, msg, (size_t)i + 1), 0);
    }
    assert_int_equal(osci_drv_msg_send(d, 2, msg, 1), -EAGAIN);
    t_sync_post(s.to_child[1], 'g');
    assert_int_equal(t_wait_ev(d, &log, OSCI_DRV_EV_MSG, 2, 5000, 1, &ev), 0);
    assert_int_equal(ev.len, OSCI_DRV_MSG_MAX);
    for (int k = 0; k < OSCI_DRV_MSG_MAX; k++)
        assert_int_equal(ev.msg[k], 0xab);
    /* The ring drained: sending works again. */
    assert_int_equal(osci_drv_msg_send(d, 2, msg, 1), 0);
    t_quit(&s, pid);
    /* A clean close is seen as the end of that incarnation. */
    assert_int_equal(t_wait_ev(d, &log, OSCI_DRV_EV_PEER_DEAD, 2, 5000, 1, &ev), 0);
    assert_int_equal(ev.epoch, pi[0].epoch);
    assert_int_equal(osci_drv_msg_send(d, 2, msg, 1), -EHOSTUNREACH);
    assert_int_equal(t_shm_count(), 2);          /* fabric + own window */
    t_end(d);
}

static void test_three_nodes(void **state)
{
    struct t_sync s[2];
    pid_t pid[2];
    struct osci_drv *d;
    struct t_evlog log = { .n = 0 };
    struct osci_drv_event ev;
    int seen[256] = { 0 };

    t_start(&d);
    for (int i = 0; i < 2; i++) {
        pid[i] = t_fork_sync(&s[i]);
        if (pid[i] == 0) {
            struct osci_drv *c;
            struct t_evlog cl = { .n = 0 };
            int got[256] = { 0 }, n = 0;
            CHECK(t_open(0, &c) == 0);
            CHECK(c->node_id == 2 || c->node_id == 3);
            uint32_t other = c->node_id == 2 ? 3 : 2;
            CHECK(t_wait_ev(c, &cl, OSCI_DRV_EV_LINK_UP, 1, 5000, 1, NULL) == 0);
            CHECK(t_wait_ev(c, &cl, OSCI_DRV_EV_LINK_UP, other, 5000, 1, NULL) == 0);
            uint8_t m = (uint8_t)c->node_id;
            CHECK(osci_drv_msg_send(c, 1, &m, 1) == 0);
            CHECK(osci_drv_msg_send(c, other, &m, 1) == 0);
            while (n < 2) {
                CHECK(t_wait_ev(c, &cl, OSCI_DRV_EV_MSG, 0, 5000, 1, &ev) == 0);
                CHECK(ev.len == 1 && ev.msg[0] == ev.node && !got[ev.node]);
                got[ev.node] = 1;
                n++;
            }
            CHECK(got[1] && got[other]);
            t_sync_post(s[i].to_parent[1], 'd');
            /* Stay until the parent has seen everything. */
            CHECK(t_sync_wait(s[i].to_child[0], 10000) == 'q');
            osci_drv_close(c);
            _exit(0);
        }
    }
    for (int i = 0; i < 2; i++) {
        assert_int_equal(t_wait_ev(d, &log, OSCI_DRV_EV_LINK_UP, 0, 5000, 1, &ev), 0);
        assert_true(ev.node == 2 || ev.node == 3);
        uint8_t m = 1;
        assert_int_equal(osci_drv_msg_send(d, ev.node, &m, 1), 0);
    }
    for (int i = 0; i < 2; i++) {
        assert_int_equal(t_wait_ev(d, &log, OSCI_DRV_EV_MSG, 0, 5000, 1, &ev), 0);
        assert_int_equal(ev.msg[0], ev.node);
        assert_false(seen[ev.node]);
        seen[ev.node] = 1;
    }
    for (int i = 0; i < 2; i++)
        assert_int_equal(t_sync_wait(s[i].to_parent[0], 10000), 'd');
    for (int i = 0; i < 2; i++) {
        t_sync_post(s[i].to_child[1], 'q');
        assert_int_equal(t_reap(pid[i], 10000), 0);
    }
    t_end(d);
}

static void test_doorbells(void **state)
{
    struct t_sync s;
    struct osci_drv *d;
    struct t_evlog log = { .n = 0 };
    pid_t pid;

    t_start(&d);
    pid = t_fork_sync(&s);
    if (pid == 0) {
        struct osci_drv *c;
        struct t_evlog cl = { .n = 0 };
        struct osci_drv_event ev;
        uint64_t bits = 0;
        CHECK(t_open(2, &c) == 0);
        CHECK(osci_drv_db_set_event_mask(c, 0xf00) == 0);
        CHECK(t_wait_ev(c, &cl, OSCI_DRV_EV_LINK_UP, 1, 5000, 1, NULL) == 0);
        CHECK(osci_drv_db_poll(c, 0xff, &bits) == -EAGAIN);
        t_sync_post(s.to_parent[1], 'r');
        /* 1: blocking db_wait on bits outside the event mask. */
        CHECK(osci_drv_db_wait(c, 0xff, 5000, &bits) == 0 && bits == 0x8);
        t_sync_post(s.to_parent[1], '1');
        /* 2: a bit in the event mask, through the event fd and progress(). */
        CHECK(t_wait_ev(c, &cl, OSCI_DRV_EV_DOORBELL, 1, 5000, 1, &ev) == 0);
        CHECK(ev.db_bits == 0x200);
        t_sync_post(s.to_parent[1], '2');
        /* 3: the first of two rings was dropped by fault injection. */
        CHECK(t_sync_wait(s.to_child[0], 10000) == '3');
        CHECK(osci_drv_db_wait(c, 0x30, 5000, &bits) == 0 && bits == 0x20);
        CHECK(osci_drv_db_poll(c, 0xff, &bits) == -EAGAIN);
        CHECK(osci_drv_db_wait(c, 0xff, 30, &bits) == -ETIMEDOUT);
        t_sync_post(s.to_parent[1], '3');
        CHECK(t_sync_wait(s.to_child[0], 10000) == 'q');
        osci_drv_close(c);
        _exit(0);
    }
    assert_int_equal(t_sync_wait(s.to_parent[0], 5000), 'r');
    assert_int_equal(t_wait_ev(d, &log, OSCI_DRV_EV_LINK_UP, 2, 5000, 0, NULL), 0);
    assert_int_equal(osci_drv_db_ring(d, 2, 64), -EINVAL);
    assert_int_equal(osci_drv_db_ring(d, 7, 1), -EHOSTUNREACH);
    usleep(20000);                                /* let the child block in db_wait */
    assert_int_equal(osci_drv_db_ring(d, 2, 3), 0);
    assert_int_equal(t_sync_wait(s.to_parent[0], 5000), '1');
    usleep(20000);                                /* let it sleep on its event fd */
    assert_int_equal(osci_drv_db_ring(d, 2, 9), 0);
    assert_int_equal(t_sync_wait(s.to_parent[0], 5000), '2');
    assert_int_equal(osci_drv_inject(d, OSCI_FAULT_DROP_DOORBELL, 2, 1), 0);
    assert_int_equal(osci_drv_db_ring(d, 2, 4), 0);
    assert_int_equal(osci_drv_db_ring(d, 2, 5), 0);
    t_sync_post(s.to_child[1], '3');
    assert_int_equal(t_sync_wait(s.to_parent[0], 5000), '3');
    t_quit(&s, pid);
    t_end(d);
}

static int child_writes_and_dies(void *addr)
{
    pid_t p = tproc_fork();   /* the child's SIGSEGV handler is the default one */
    if (p == 0) {
        *(volatile uint8_t *)addr = 1;
        _exit(0);
    }
    return tproc_reap(p, 10000);
}

static void test_memory(void **state)
{
    struct t_sync s;
    struct osci_drv *d;
    struct t_evlog log = { .n = 0 };
    struct osci_drv_event ev;
    struct osci_drv_rmem *rm;
    uint8_t xp[OSCI_DRV_XPORT_MAX], bad[OSCI_DRV_XPORT_MAX];
    uint8_t *map, *ro, buf[256];
    size_t xlen;
    pid_t pid;

    t_start(&d);
    pid = t_fork_sync(&s);
    if (pid == 0) {
        struct osci_drv *c;
        struct t_evlog cl = { .n = 0 };
        struct osci_drv_mem_view v, v2;
        struct osci_drv_mem *m;
        uint8_t stack[64];
        struct osci_drv_mem_view sv = { .addr = stack, .size = sizeof(stack), .fd = -1 };
        size_t len = sizeof(xp);
        CHECK(t_open(2, &c) == 0);
        CHECK(osci_drv_mem_alloc(c, 100000, &v) == 0);
        CHECK(v.size == 102400 && v.fd >= 0 && (uintptr_t)v.addr % 4096 == 0);
        CHECK(osci_drv_mem_alloc(c, 4096, &v2) == 0 && v2.fd_offset == v.fd_offset + 102400);
        CHECK(osci_drv_mem_export(c, &sv, &m) == -EXDEV);
        CHECK(osci_drv_mem_export(c, &v, &m) == 0);
        for (size_t i = 0; i < v.size; i++)
            ((uint8_t *)v.addr)[i] = (uint8_t)(i * 13);
        CHECK(osci_drv_mem_pack(c, m, xp, &len) == 0 && len == 40);
        CHECK(t_wait_ev(c, &cl, OSCI_DRV_EV_LINK_UP, 1, 5000, 1, NULL) == 0);
        CHECK(osci_drv_msg_send(c, 1, xp, len) == 0);
        /* The parent writes through its map and by put; check every byte. */
        CHECK(t_wait_ev(c, &cl, OSCI_DRV_EV_MSG, 1, 10000, 1, &ev) == 0);
        uint8_t *a = v.addr;
        for (size_t i = 0; i < 8192; i++)
            CHECK(a[i] == (uint8_t)(i ^ 0x5a));
        for (size_t i = 8192; i < 8192 + 256; i++)
            CHECK(a[i] == (uint8_t)(0xc3 + i));
        for (size_t i = 8192 + 256; i < v.size; i++)
            CHECK(a[i] == (uint8_t)(i * 13));
        /* Freed memory comes back zeroed. */
        osci_drv_mem_unexport(c, m);
        osci_drv_mem_free(c, &v2);
        CHECK(osci_drv_mem_alloc(c, 4096, &v2) == 0 && ((uint8_t *)v2.addr)[0] == 0);
        t_sync_post(s.to_parent[1], 'v');
        CHECK(t_sync_wait(s.to_child[0], 10000) == 'q');
        osci_drv_close(c);
        _exit(0);
    }
    assert_int_equal(t_wait_ev(d, &log, OSCI_DRV_EV_MSG, 2, 10000, 1, &ev), 0);
    assert_int_equal(ev.len, 40);
    memcpy(xp, ev.msg, 40);
    xlen = 40;

    /* Forged or wrong descriptions are refused. */
    memcpy(bad, xp, 40); bad[0] ^= 1;
    assert_int_equal(osci_drv_rmem_import(d, 2, bad, 40, &rm), -EINVAL);
    assert_int_equal(osci_drv_rmem_import(d, 2, xp, 39, &rm), -EINVAL);
    assert_int_equal(osci_drv_rmem_import(d, 3, xp, 40, &rm), -EINVAL);
    memcpy(bad, xp, 40); bad[4] = 2;
    assert_int_equal(osci_drv_rmem_import(d, 2, bad, 40, &rm), -EPROTO);
    memcpy(bad, xp, 40); bad[16] ^= 1;
    assert_int_equal(osci_drv_rmem_import(d, 2, bad, 40, &rm), -ESTALE);
    memcpy(bad, xp, 40); bad[24 + 1] = 0x10;      /* offset not page-aligned... */
    bad[24] = 1;
    assert_int_equal(osci_drv_rmem_import(d, 2, bad, 40, &rm), -EINVAL);
    memcpy(bad, xp, 40); bad[32 + 3] = 0x40;      /* size beyond the 16M window */
    assert_int_equal(osci_drv_rmem_import(d, 2, bad, 40, &rm), -EINVAL);
    memcpy(bad, xp, 40); bad[8] = 40;             /* port out of range */
    assert_int_equal(osci_drv_rmem_import(d, 2, bad, 40, &rm), -EINVAL);

    assert_int_equal(osci_drv_rmem_import(d, 2, xp, xlen, &rm), 0);
    assert_int_equal(osci_drv_rmem_map(d, rm, 0, 102400, 0, (void **)&map), 0);
    assert_int_equal(osci_drv_rmem_map(d, rm, 100, 10, 0, (void **)&ro), -EINVAL);
    assert_int_equal(osci_drv_rmem_map(d, rm, 0, 102401, 0, (void **)&ro), -EINVAL);
    for (size_t i = 0; i < 102400; i++)
        if (map[i] != (uint8_t)(i * 13))
            fail_msg("byte %zu differs", i);
    for (size_t i = 0; i < 8192; i++)
        map[i] = (uint8_t)(i ^ 0x5a);
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(0xc3 + 8192 + i);
    assert_int_equal(osci_drv_put(d, rm, 8192, buf, sizeof(buf)), 0);
    assert_int_equal(osci_drv_put(d, rm, 102400 - 8, buf, 16), -EINVAL);
    memset(buf, 0, sizeof(buf));
    assert_int_equal(osci_drv_get(d, rm, 100, buf, 16), 0);
    for (size_t i = 0; i < 16; i++)
        assert_int_equal(buf[i], (uint8_t)((100 + i) ^ 0x5a));
    /* A readonly map really is read-only. */
    assert_int_equal(osci_drv_rmem_map(d, rm, 4096, 4096, 1, (void **)&ro), 0);
    assert_int_equal(ro[0], (uint8_t)(4096 ^ 0x5a));
    int st = child_writes_and_dies(ro);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);
    assert_int_equal(osci_drv_rmem_unmap(d, rm, ro, 4096), 0);
    assert_int_equal(osci_drv_rmem_unmap(d, rm, ro, 4096), -EINVAL);
    uint8_t z = 1;
    assert_int_equal(osci_drv_msg_send(d, 2, &z, 1), 0);
    assert_int_equal(t_sync_wait(s.to_parent[0], 10000), 'v');
    /* Revoke: stores land nowhere that matters, never fault; put/get refuse. */
    assert_int_equal(osci_drv_rmem_revoke(d, rm), 0);
    map[0] = 0xee;
    assert_int_equal(osci_drv_get(d, rm, 0, buf, 1), -ECONNRESET);
    assert_int_equal(osci_drv_put(d, rm, 0, buf, 1), -ECONNRESET);
    t_quit(&s, pid);
    assert_int_equal(osci_drv_rmem_unmap(d, rm, map, 102400), 0);
    osci_drv_rmem_release(d, rm);
    t_end(d);
}

static void test_query_and_info(void **state)
{
    struct osci_drv *a, *b;
    struct osci_drv_info info;
    char buf[64];
    size_t len;

    t_start(&a);
    assert_int_equal(t_open(1, &b), -EADDRINUSE);
    assert_int_equal(t_open(0, &b), 0);
    assert_int_equal(b->node_id, 2);
    assert_int_equal(osci_drv_query(a, &info), 0);
    assert_true(!strncmp(info.name, "simntb:", 7) && strstr(info.name, t_fabric));
    assert_int_equal(info.node_id, 1);
    assert_int_equal(info.max_nodes, 255);
    assert_int_equal(info.max_mem_size, 16u << 20);
    assert_int_equal(info.mem_align, 4096);
    assert_int_equal(info.n_doorbells, 64);
    assert_int_equal(info.caps, OSCI_DRV_CAP_MAP_REMOTE | OSCI_DRV_CAP_PUT_GET | OSCI_DRV_CAP_MEM_ALLOC |
                                OSCI_DRV_CAP_DB_WAIT | OSCI_DRV_CAP_INFO | OSCI_DRV_CAP_OWN_LIVENESS |
                                OSCI_DRV_CAP_FULL_VIEW);
    assert_int_equal(info.card_type, OSCI_DRV_CARD_SIMNTB);
    assert_int_equal(osci_drv_info_publish(a, "segments: 3", 12), 0);
    assert_int_equal(osci_drv_info_read(b, 1, buf, sizeof(buf), &len), 0);
    assert_int_equal(len, 12);
    assert_string_equal(buf, "segments: 3");
    assert_int_equal(osci_drv_info_read(b, 1, buf, 4, &len), -EMSGSIZE);
    assert_int_equal(osci_drv_info_read(b, 9, buf, sizeof(buf), &len), -EHOSTUNREACH);
    osci_drv_close(b);
    t_end(a);

    /* Bad options. */
    struct osci_adapter_conf c;
    t_conf(&c, 0, "window", "12345");
    assert_int_equal(osci_drv_open(&c, &a), -EINVAL);
    t_conf(&c, 0, "bogus", "1");
    assert_int_equal(osci_drv_open(&c, &a), -EINVAL);
    t_conf(&c, 0, NULL, NULL);
    strcpy(c.opts[0].value, "../etc");
    assert_int_equal(osci_drv_open(&c, &a), -EINVAL);
    assert_int_equal(t_names_left(), 0);
}

OSCI_TEST_MAIN(NULL, NULL, NULL,
               cmocka_unit_test_teardown(test_query_and_info, t_teardown),
               cmocka_unit_test_teardown(test_two_nodes_messages, t_teardown),
               cmocka_unit_test_teardown(test_three_nodes, t_teardown),
               cmocka_unit_test_teardown(test_doorbells, t_teardown),
               cmocka_unit_test_teardown(test_memory, t_teardown))
