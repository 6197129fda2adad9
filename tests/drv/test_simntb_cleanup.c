/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Nothing left in /dev/shm (docs/simntb.md §6): a process that exits without closing its driver
 * leaves nothing; a fabric whose every node was killed is reclaimed by the next node to join and
 * removed when it leaves; the last node leaving while another joins never loses the joiner's fabric. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "drv_test.h"

#define RACE_RUNS 100

/* A child: opens node `node`, allocates and exports some window memory, posts 'o', then either
 * exits without closing (exit()), or waits for a byte and acts on it: 'x' exit(), 'c' close + exit. */
static void child_node(struct t_sync *s, uint32_t node, int exit_at_once)
{
    struct osci_drv *d;
    struct osci_drv_mem_view v;
    int c;

    CHECK(t_open(node, &d) == 0);
    CHECK(osci_drv_mem_alloc(d, 65536, &v) == 0);
    memset(v.addr, 0x5a, 4096);
    t_sync_post(s->to_parent[1], 'o');
    if (exit_at_once)
        exit(0);
    c = t_sync_wait(s->to_child[0], 10000);
    if (c == 'c')
        osci_drv_close(d);
    exit(0);
}

static pid_t spawn_node(struct t_sync *s, uint32_t node, int exit_at_once)
{
    pid_t pid;
    pid = t_fork_sync(s);
    if (pid == 0)
        child_node(s, node, exit_at_once);
    assert_true(pid > 0);
    assert_int_equal(t_sync_wait(s->to_parent[0], 10000), 'o');
    return pid;
}

static void close_sync(struct t_sync *s)
{
    close(s->to_child[0]);
    close(s->to_child[1]);
    close(s->to_parent[0]);
    close(s->to_parent[1]);
}

/* Set in a child: after the library's exit hook ran, it reports 'e' and waits for a byte. */
static int late_dtor_rd = -1, late_dtor_wr = -1;

/* Priority 101 runs after every destructor without a priority (the exit hooks). */
__attribute__((destructor(101))) static void late_dtor(void)
{
    if (late_dtor_wr >= 0) {
        t_sync_post(late_dtor_wr, 'e');
        t_sync_wait(late_dtor_rd, 10000);
    }
}

/* The only node exits without close: fabric and window are gone. */
static void test_exit_alone(void **state)
{
    struct t_sync s;
    pid_t pid;

    t_new_fabric();
    pid = spawn_node(&s, 1, 1);
    assert_int_equal(t_reap(pid, 5000), 0);
    assert_int_equal(t_names_left(), 0);
    close_sync(&s);
}

/* Two nodes exit without close at the same moment, many times: neither may count on the other. */
static void test_exit_together(void **state)
{
    t_new_fabric();
    for (int i = 0; i < 20; i++) {
        struct t_sync a, b;
        pid_t pa = spawn_node(&a, 1, 0), pb = spawn_node(&b, 2, 0);
        assert_int_equal(t_shm_count(), 3);
        t_sync_post(a.to_child[1], 'x');
        t_sync_post(b.to_child[1], 'x');
        assert_int_equal(t_reap(pa, 5000), 0);
        assert_int_equal(t_reap(pb, 5000), 0);
        assert_int_equal(t_names_left(), 0);
        close_sync(&a);
        close_sync(&b);
    }
}

/* A node exits without close while a peer stays: its window goes at once, the peer sees it dead,
 * and the fabric goes with the peer's close. */
static void test_exit_peer_stays(void **state)
{
    struct osci_drv *d;
    struct t_evlog log = { .n = 0 };
    struct t_sync s;
    pid_t pid;

    t_start(&d);
    pid = spawn_node(&s, 2, 0);
    assert_int_equal(t_wait_ev(d, &log, OSCI_DRV_EV_LINK_UP, 2, 5000, 1, NULL), 0);
    assert_int_equal(t_shm_count(), 3);
    t_sync_post(s.to_child[1], 'x');
    assert_int_equal(t_reap(pid, 5000), 0);
    assert_int_equal(t_shm_count(), 2);
    assert_int_equal(t_wait_ev(d, &log, OSCI_DRV_EV_PEER_DEAD, 2, 5000, 1, NULL), 0);
    t_end(d);
    close_sync(&s);
}

/* The peer exited without close first (its port flagged, pid still there for a moment or not):
 * the remaining node's own exit without close removes everything. */
static void test_exit_after_peer_exit(void **state)
{
    struct t_sync a, b;
    pid_t pa, pb;

    t_new_fabric();
    pa = spawn_node(&a, 1, 0);
    pb = spawn_node(&b, 2, 0);
    t_sync_post(a.to_child[1], 'x');
    assert_int_equal(t_reap(pa, 5000), 0);
    assert_int_equal(t_shm_count(), 2);
    t_sync_post(b.to_child[1], 'c');           /* closes normally */
    assert_int_equal(t_reap(pb, 5000), 0);
    assert_int_equal(t_names_left(), 0);
    close_sync(&a);
    close_sync(&b);
}

/* A node has run its exit hook but its process is still there: the other node's close does not
 * count it and removes the fabric. */
static void test_close_beside_exiting(void **state)
{
    struct osci_drv *d;
    struct t_sync s;
    pid_t pid;

    t_start(&d);
    pid = t_fork_sync(&s);
    if (pid == 0) {
        struct osci_drv *c;
        CHECK(t_open(2, &c) == 0);
        late_dtor_rd = s.to_child[0];
        late_dtor_wr = s.to_parent[1];
        exit(0);
    }
    assert_true(pid > 0);
    assert_int_equal(t_sync_wait(s.to_parent[0], 10000), 'e');
    assert_int_equal(kill(pid, 0), 0);
    assert_int_equal(t_shm_count(), 2);        /* its window is gone already */
    t_end(d);
    t_sync_post(s.to_child[1], 'q');
    assert_int_equal(t_reap(pid, 5000), 0);
    assert_int_equal(t_names_left(), 0);
    close_sync(&s);
}

/* Every node SIGKILLed: all files stay; the next node to join reclaims the dead ports' windows
 * and its leaving removes the fabric. Also when it leaves by exiting without close. */
static void test_killed_fabric_reclaimed(void **state)
{
    t_new_fabric();
    for (int how = 0; how < 2; how++) {
        struct t_sync s[3];
        pid_t pid[3];
        struct osci_drv *d;
        struct osci_drv_observer *ob;
        struct osci_adapter_conf c;

        for (int i = 0; i < 3; i++)
            pid[i] = spawn_node(&s[i], (uint32_t)i + 1, 0);
        for (int i = 0; i < 3; i++) {
            kill(pid[i], SIGKILL);
            assert_int_not_equal(t_reap(pid[i], 5000), 0);
            close_sync(&s[i]);
        }
        assert_int_equal(t_shm_count(), 4);
        /* An observer neither reclaims nor creates anything. */
        t_conf(&c, 0, NULL, NULL);
        assert_int_equal(osci_drv_observe_open(&c, &ob), 0);
        osci_drv_observe_close(ob);
        assert_int_equal(t_shm_count(), 4);
        if (how == 0) {
            assert_int_equal(t_open(2, &d), 0);   /* a dead node's id is free again */
            assert_int_equal(t_shm_count(), 2);
            osci_drv_close(d);
        } else {
            struct t_sync j;
            pid_t pj = spawn_node(&j, 1, 1);
            assert_int_equal(t_reap(pj, 5000), 0);
            close_sync(&j);
        }
        assert_int_equal(t_names_left(), 0);
        assert_int_equal(osci_drv_observe_open(&c, &ob), -ENOENT);
        assert_int_equal(t_names_left(), 0);
    }
}

/* The last node leaves while the next one joins, RACE_RUNS times in a chain (each joiner is the
 * next leaver); every second run the leaver exits without close. The joiner always gets a port in
 * the fabric file that stays linked: after the leaver is gone exactly the fabric file and the
 * joiner's window are left, and nothing after the last one leaves. */
static void test_leave_join_race(void **state)
{
    struct t_sync h, j;
    pid_t ph, pj;

    t_new_fabric();
    ph = spawn_node(&h, 1, 0);
    for (int i = 0; i < RACE_RUNS; i++) {
        int go[2];
        assert_int_equal(pipe(go), 0);
        pj = t_fork_sync(&j);
        if (pj == 0) {
            struct osci_drv *d;
            int c;
            close(go[1]);
            CHECK(t_sync_wait(go[0], 10000) == 'g');
            CHECK(t_open(0, &d) == 0);
            t_sync_post(j.to_parent[1], 'o');
            c = t_sync_wait(j.to_child[0], 20000);
            if (c == 'c')
                osci_drv_close(d);
            exit(0);
        }
        assert_true(pj > 0);
        /* both start at once: the joiner opens while the holder leaves */
        assert_int_equal(write(go[1], "g", 1), 1);
        t_sync_post(h.to_child[1], i % 2 ? 'x' : 'c');
        close(go[0]);
        close(go[1]);
        assert_int_equal(t_sync_wait(j.to_parent[0], 10000), 'o');
        assert_int_equal(t_reap(ph, 5000), 0);
        assert_int_equal(t_shm_count(), 2);
        close_sync(&h);
        h = j;
        ph = pj;
    }
    t_sync_post(h.to_child[1], 'c');
    assert_int_equal(t_reap(ph, 5000), 0);
    close_sync(&h);
    assert_int_equal(t_names_left(), 0);
}

/* A fabric file whose creator never initialised it: removed by the next opener once its creator
 * is gone (its flock released), never while the creator lives. */
static void test_abandoned_fabric(void **state)
{
    char name[96];
    struct stat st;

    t_new_fabric();
    snprintf(name, sizeof(name), "/osci.%s", t_fabric);
    for (int creator_lives = 0; creator_lives < 2; creator_lives++) {
        struct t_sync s;
        pid_t pid;
        int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
        assert_true(fd >= 0);
        assert_int_equal(fchmod(fd, 0600), 0);
        if (creator_lives)
            assert_int_equal(flock(fd, LOCK_EX), 0);
        else
            close(fd);
        pid = t_fork_sync(&s);
        if (pid == 0) {
            struct osci_drv *d;
            if (creator_lives)
                close(fd);                /* the lock is the creator's, not this copy's */
            CHECK(t_open(1, &d) == 0);
            t_sync_post(s.to_parent[1], 'o');
            CHECK(t_sync_wait(s.to_child[0], 10000) == 'c');
            osci_drv_close(d);
            exit(0);
        }
        assert_true(pid > 0);
        if (creator_lives) {
            /* past the ~1 s an attacher waits: it must still wait, the file still linked */
            assert_int_equal(t_sync_wait(s.to_parent[0], 1500), -1);
            assert_int_equal(fstat(fd, &st), 0);
            assert_int_equal(st.st_nlink, 1);
            close(fd);                    /* the creator "dies" */
        }
        assert_int_equal(t_sync_wait(s.to_parent[0], 10000), 'o');
        assert_int_equal(t_shm_count(), 2);
        t_sync_post(s.to_child[1], 'c');
        assert_int_equal(t_reap(pid, 5000), 0);
        assert_int_equal(t_names_left(), 0);
        close_sync(&s);
    }
}

OSCI_TEST_MAIN(NULL, NULL, NULL,
               cmocka_unit_test_teardown(test_exit_alone, t_teardown),
               cmocka_unit_test_teardown(test_exit_together, t_teardown),
               cmocka_unit_test_teardown(test_exit_peer_stays, t_teardown),
               cmocka_unit_test_teardown(test_exit_after_peer_exit, t_teardown),
               cmocka_unit_test_teardown(test_close_beside_exiting, t_teardown),
               cmocka_unit_test_teardown(test_killed_fabric_reclaimed, t_teardown),
               cmocka_unit_test_teardown(test_leave_join_race, t_teardown),
               cmocka_unit_test_teardown(test_abandoned_fabric, t_teardown))
