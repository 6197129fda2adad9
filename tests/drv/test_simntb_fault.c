/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* simntb faults: peer killed, link down/up, liveness lost, corrupted messages, stale fabrics,
 * refused fabric files, observe mode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "drv_test.h"

/* A child node that stays alive and answers progress() until told to quit (or killed). */
static pid_t spawn_idle(struct t_sync *s, uint32_t node, const char *k, const char *v, int liveness_lost)
{
    pid_t pid;
    pid = t_fork_sync(s);
    if (pid == 0) {
        struct osci_drv *c;
        struct osci_adapter_conf conf;
        struct t_evlog cl = { .n = 0 };
        t_conf(&conf, node, k, v);
        CHECK(osci_drv_open(&conf, &c) == 0);
        if (liveness_lost)
            CHECK(osci_drv_inject(c, OSCI_FAULT_LIVENESS_LOST, 0, 0) == 0);
        t_sync_post(s->to_parent[1], 'r');
        for (;;) {
            struct pollfd pfd = { .fd = s->to_child[0], .events = POLLIN };
            t_idle(c, &cl, 5);
            cl.n = 0;
            if (poll(&pfd, 1, 0) == 1)
                break;
        }
        osci_drv_close(c);
        _exit(0);
    }
    assert_int_equal(t_sync_wait(s->to_parent[0], 5000), 'r');
    return pid;
}

static void test_peer_killed(void **state)
{
    struct osci_drv *d;
    struct t_evlog log = { .n = 0 };
    struct osci_drv_event up, ev;
    struct t_sync s;
    pid_t pid;

    t_start(&d);
    pid = spawn_idle(&s, 2, "window", "16M", 0);
    assert_int_equal(t_wait_ev(d, &log, OSCI_DRV_EV_LINK_UP, 2, 5000, 1, &up), 0);
    assert_int_equal(t_shm_count(), 3);
    /* Sleep on the event fd: the pidfd wakes us when the peer dies. */
    assert_int_equal(osci_drv_arm(d), 0);
    uint64_t t0 = osci_now_ms();
    kill(pid, SIGKILL);
    assert_int_equal(t_wait_ev(d, &log, OSCI_DRV_EV_PEER_DEAD, 2, 2000, 1, &ev), 0);
    print_message("PEER_DEAD %llu ms after SIGKILL\n", (unsigned long long)(osci_now_ms() - t0));
    assert_int_equal(ev.epoch, up.epoch);
    assert_true(WIFSIGNALED(t_reap(pid, 5000)));
    /* The detector reclaimed the dead port: its window is gone. */
    assert_int_equal(t_shm_count(), 2);
    assert_int_equal(osci_drv_msg_send(d, 2, "x", 1), -EHOSTUNREACH);
    assert_int_equal(osci_drv_probe(d, 2), -EHOSTUNREACH);

    /* The node comes back: a new incarnation with a new epoch. */
    pid = spawn_idle(&s, 2, "window", "16M", 0);
    assert_int_equal(t_wait_ev(d, &log, OSCI_DRV_EV_LINK_UP, 2, 5000, 1, &ev), 0);
    assert_true(ev.epoch != up.epoch);
    t_quit(&s, pid);
    assert_int_equal(t_wait_ev(d, &log, OSCI_DRV_EV_PEER_DEAD, 2, 5000, 1, NULL), 0);
    t_end(d);
}

static void test_link_down_up(void **state)
{
    struct osci_drv *d;
    struct t_evlog log = { .n = 0 };
    struct osci_drv_event up, ev;
    struct t_sync s;
    pid_t pid;

    t_start(&d);
    pid = t_fork_sync(&s);
    if (pid == 0) {
        struct osci_drv *c;
        struct t_evlog cl = { .n = 0 };
        struct osci_drv_event cup, cev;
        CHECK(t_open(2, &c) == 0);
        CHECK(t_wait_ev(c, &cl, OSCI_DRV_EV_LINK_UP, 1, 5000, 1, &cup) == 0);
        t_sync_post(s.to_parent[1], 'r');
        CHECK(t_wait_ev(c, &cl, OSCI_DRV_EV_LINK_DOWN, 1, 5000, 1, &cev) == 0 && cev.epoch == cup.epoch);
        CHECK(osci_drv_msg_send(c, 1, "x", 1) == -ENOTCONN);
        CHECK(t_wait_ev(c, &cl, OSCI_DRV_EV_LINK_UP, 1, 5000, 1, &cev) == 0 && cev.epoch == cup.epoch);
        CHECK(osci_drv_msg_send(c, 1, "y", 1) == 0);
        CHECK(t_sync_wait(s.to_child[0], 10000) == 'q');
        osci_drv_close(c);
        _exit(0);
    }
    assert_int_equal(t_wait_ev(d, &log, OSCI_DRV_EV_LINK_UP, 2, 5000, 1, &up), 0);
    assert_int_equal(t_sync_wait(s.to_parent[0], 5000), 'r');
    assert_int_equal(osci_drv_inject(d, OSCI_FAULT_LINK_DOWN, 2, 0), 0);
    assert_int_equal(t_wait_ev(d, &log, OSCI_DRV_EV_LINK_DOWN, 2, 5000, 1, &ev), 0);
    assert_int_equal(ev.epoch, up.epoch);
    assert_int_equal(osci_drv_msg_send(d, 2, "x", 1), -ENOTCONN);
    assert_int_equal(osci_drv_db_ring(d, 2, 1), -ENOTCONN);
    assert_int_equal(osci_drv_probe(d, 2), -ENOLINK);
    struct osci_peer_info pi;
    unsigned int np;
    assert_int_equal(osci_drv_peers(d, &pi, 1, &np), 0);
    assert_int_equal(np, 1);
    assert_int_equal(pi.link_up, 0);
    t_idle(d, &log, 30);
    assert_int_equal(osci_drv_inject(d, OSCI_FAULT_LINK_UP, 2, 0), 0);
    assert_int_equal(t_wait_ev(d, &log, OSCI_DRV_EV_LINK_UP, 2, 5000, 1, &ev), 0);
    assert_int_equal(ev.epoch, up.epoch);
    assert_int_equal(t_wait_ev(d, &log, OSCI_DRV_EV_MSG, 2, 5000, 1, &ev), 0);
    assert_int_equal(ev.msg[0], 'y');
    assert_int_equal(osci_drv_probe(d, 2), 0);
    t_quit(&s, pid);
    /* No PEER_DEAD came during the outage. */
    for (unsigned int i = 0; i < log.n; i++)
        assert_int_not_equal(log.ev[i].type, OSCI_DRV_EV_PEER_DEAD);
    t_end(d);
}

/* A link is taken down for one incarnation of the peer (the own link_down word names its epoch): an
 * observer sees it down, and the peer's next incarnation comes up with the link up, without LINK_UP
 * being injected. */
static void test_link_down_per_incarnation(void **state)
{
    struct osci_adapter_conf conf;
    struct osci_drv_observer *ob;
    struct osci_drv *d;
    struct t_evlog log = { .n = 0 };
    struct osci_drv_event up, ev;
    struct osci_peer_info pi[2];
    unsigned int np;
    struct t_sync s;
    pid_t pid;

    t_start(&d);
    pid = spawn_idle(&s, 2, NULL, NULL, 0);
    assert_int_equal(t_wait_ev(d, &log, OSCI_DRV_EV_LINK_UP, 2, 5000, 1, &up), 0);
    assert_int_equal(osci_drv_inject(d, OSCI_FAULT_LINK_DOWN, 2, 0), 0);
    assert_int_equal(t_wait_ev(d, &log, OSCI_DRV_EV_LINK_DOWN, 2, 5000, 1, &ev), 0);
    assert_int_equal(ev.epoch, up.epoch);
    t_conf(&conf, 0, NULL, NULL);
    assert_int_equal(osci_drv_observe_open(&conf, &ob), 0);
    assert_int_equal(osci_drv_observe_peers(ob, pi, 2, &np), 0);
    assert_int_equal(np, 2);
    for (unsigned int i = 0; i < np; i++)
        if (pi[i].node_id == 1)
            assert_int_equal(pi[i].link_up, 0);   /* node 1 took its link to node 2 down */
    t_quit(&s, pid);
    assert_int_equal(t_wait_ev(d, &log, OSCI_DRV_EV_PEER_DEAD, 2, 5000, 1, NULL), 0);
    pid = spawn_idle(&s, 2, NULL, NULL, 0);
    assert_int_equal(t_wait_ev(d, &log, OSCI_DRV_EV_LINK_UP, 2, 5000, 1, &ev), 0);
    assert_true(ev.epoch != up.epoch);
    assert_int_equal(osci_drv_probe(d, 2), 0);
    assert_int_equal(osci_drv_msg_send(d, 2, "z", 1), 0);
    assert_int_equal(osci_drv_observe_peers(ob, pi, 2, &np), 0);
    assert_int_equal(np, 2);
    assert_true(pi[0].link_up && pi[1].link_up);
    osci_drv_observe_close(ob);
    t_quit(&s, pid);
    t_end(d);
}

static void test_liveness_lost(void **state)
{
    struct osci_drv *d;
    struct osci_adapter_conf conf;
    struct t_evlog log = { .n = 0 };
    struct osci_drv_event up, ev;
    struct t_sync s;
    pid_t pid;

    t_new_fabric();
    t_conf(&conf, 1, "hb_timeout", "150");
    assert_int_equal(osci_drv_open(&conf, &d), 0);
    pid = spawn_idle(&s, 2, NULL, NULL, 1);
    assert_int_equal(t_wait_ev(d, &log, OSCI_DRV_EV_LINK_UP, 2, 5000, 1, &up), 0);
    assert_int_equal(t_wait_ev(d, &log, OSCI_DRV_EV_PEER_DEAD, 2, 5000, 1, &ev), 0);
    assert_int_equal(ev.epoch, up.epoch);
    /* Declared dead by the heartbeat while its process lives: nothing is reclaimed under it. */
    assert_int_equal(kill(pid, 0), 0);
    assert_int_equal(t_shm_count(), 3);
    assert_int_equal(osci_drv_msg_send(d, 2, "x", 1), -EHOSTUNREACH);
    struct osci_peer_info pi;
    unsigned int np;
    assert_int_equal(osci_drv_peers(d, &pi, 1, &np), 0);
    assert_int_equal(np, 1);
    assert_int_equal(pi.link_up, 0);
    assert_int_equal(pi.pid, -1);
    assert_true(pi.heartbeat_age_ms >= 150);
    t_quit(&s, pid);
    t_end(d);
}

static void test_corrupt_msg(void **state)
{
    struct osci_drv *d;
    struct t_evlog log = { .n = 0 };
    struct t_sync s;
    pid_t pid;
    static const char text[] = "hello, fabric";

    t_start(&d);
    pid = t_fork_sync(&s);
    if (pid == 0) {
        struct osci_drv *c;
        struct t_evlog cl = { .n = 0 };
        struct osci_drv_event ev;
        CHECK(t_open(2, &c) == 0);
        CHECK(t_wait_ev(c, &cl, OSCI_DRV_EV_MSG, 1, 5000, 1, &ev) == 0);
        CHECK(ev.len == sizeof(text) && memcmp(ev.msg, text, sizeof(text)) != 0);
        CHECK(t_wait_ev(c, &cl, OSCI_DRV_EV_MSG, 1, 5000, 1, &ev) == 0);
        CHECK(ev.len == sizeof(text) && memcmp(ev.msg, text, sizeof(text)) == 0);
        t_sync_post(s.to_parent[1], 'd');
        CHECK(t_sync_wait(s.to_child[0], 10000) == 'q');
        osci_drv_close(c);
        _exit(0);
    }
    assert_int_equal(t_wait_ev(d, &log, OSCI_DRV_EV_LINK_UP, 2, 5000, 1, NULL), 0);
    assert_int_equal(osci_drv_inject(d, OSCI_FAULT_CORRUPT_MSG, 2, 1), 0);
    assert_int_equal(osci_drv_msg_send(d, 2, text, sizeof(text)), 0);
    assert_int_equal(osci_drv_msg_send(d, 2, text, sizeof(text)), 0);
    assert_int_equal(t_sync_wait(s.to_parent[0], 5000), 'd');
    t_quit(&s, pid);
    assert_int_equal(osci_drv_inject(d, OSCI_FAULT_CORRUPT_MSG, 0, 1), -EINVAL);
    t_end(d);
}

static void test_stale_fabric_recycled(void **state)
{
    struct osci_drv *d, *d2;
    struct osci_peer_info pi[4];
    unsigned int np;
    struct t_sync s[2];
    pid_t pid[2];

    t_new_fabric();
    /* Two nodes are SIGKILLed: the fabric, two windows are left behind. */
    pid[0] = spawn_idle(&s[0], 2, "window", "1M", 0);
    pid[1] = spawn_idle(&s[1], 3, "window", "1M", 0);
    kill(pid[0], SIGKILL);
    kill(pid[1], SIGKILL);
    t_reap(pid[0], 5000);
    t_reap(pid[1], 5000);
    assert_int_equal(t_shm_count(), 3);
    /* The next node takes node id 2 again: the dead owner's claim is recycled. */
    assert_int_equal(t_open(2, &d), 0);
    assert_int_equal(t_shm_count(), 2);
    assert_int_equal(osci_drv_peers(d, pi, 4, &np), 0);
    assert_int_equal(np, 0);
    /* A node id held by a live process is refused. */
    assert_int_equal(t_open(2, &d2), -EADDRINUSE);
    t_end(d);

    /* A killed lone node: the next open and close leave /dev/shm clean. */
    pid[0] = spawn_idle(&s[0], 0, NULL, NULL, 0);
    kill(pid[0], SIGKILL);
    t_reap(pid[0], 5000);
    assert_int_equal(t_shm_count(), 2);
    assert_int_equal(t_open(0, &d), 0);
    assert_int_equal(d->node_id, 1);
    t_end(d);
}

static int shm_fd(void)
{
    char name[96];
    snprintf(name, sizeof(name), "/osci.%s", t_fabric);
    return shm_open(name, O_RDWR, 0);
}

static void test_fabric_file_checked(void **state)
{
    struct osci_drv *a, *b;
    struct stat st;
    int fd;

    t_start(&a);
    fd = shm_fd();
    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    /* Mode 0644: refused. */
    assert_int_equal(fchmod(fd, 0644), 0);
    assert_int_equal(t_open(2, &b), -EACCES);
    assert_int_equal(fchmod(fd, 0600), 0);
    /* Wrong size: refused. */
    assert_int_equal(ftruncate(fd, st.st_size + 4096), 0);
    assert_int_equal(t_open(2, &b), -EPROTO);
    assert_int_equal(ftruncate(fd, st.st_size), 0);
    /* Unknown layout version: refused with a clear error. */
    uint32_t *hdr = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    assert_true(hdr != MAP_FAILED);
    uint32_t version = hdr[2];
    hdr[2] = 99;
    assert_int_equal(t_open(2, &b), -EPROTO);
    hdr[2] = version;
    munmap(hdr, 4096);
    close(fd);
    /* Restored: accepted. */
    assert_int_equal(t_open(2, &b), 0);
    osci_drv_close(b);
    t_end(a);

    /* A symlink in place of the fabric is not followed. */
    char path[128];
    snprintf(path, sizeof(path), "/dev/shm/osci.%s", t_fabric);
    assert_int_equal(symlink("/dev/null", path), 0);
    assert_int_equal(t_open(1, &a), -ELOOP);
    unlink(path);
    assert_int_equal(t_names_left(), 0);
}

static void test_observe(void **state)
{
    struct osci_adapter_conf conf;
    struct osci_drv *a, *o;
    struct osci_drv_observer *ob;
    struct osci_peer_info pi[2];
    struct osci_drv_info info;
    unsigned int np;
    char buf[32];
    size_t len;

    t_new_fabric();
    t_conf(&conf, 0, NULL, NULL);
    assert_int_equal(osci_drv_observe_open(&conf, &ob), -ENOENT);
    assert_int_equal(t_names_left(), 0);
    assert_int_equal(t_open(5, &a), 0);
    assert_int_equal(osci_drv_info_publish(a, "state", 6), 0);
    assert_int_equal(osci_drv_observe_open(&conf, &ob), 0);
    assert_int_equal(osci_drv_observe_peers(ob, pi, 2, &np), 0);
    assert_int_equal(np, 1);
    assert_int_equal(pi[0].node_id, 5);
    assert_int_equal(pi[0].pid, getpid());
    assert_true(pi[0].link_up);
    assert_int_equal(osci_drv_observe_info_read(ob, 5, buf, sizeof(buf), &len), 0);
    assert_string_equal(buf, "state");
    assert_int_equal(osci_drv_observe_query(ob, &info), 0);
    assert_int_equal(info.node_id, 0);
    assert_non_null(strstr(info.name, "simntb:"));
    /* An observer is not an instance: simntb's open refuses conf->observe (the observe ops serve it). */
    conf.observe = 1;
    assert_int_equal(osci_drv_open(&conf, &o), -EOPNOTSUPP);
    /* The observer is not a node: the owner sees no peer. */
    assert_int_equal(osci_drv_peers(a, pi, 2, &np), 0);
    assert_int_equal(np, 0);
    osci_drv_observe_close(ob);
    t_end(a);
}

/* A forked child closing its copy of a driver leaves the parent's node in place. */
static void test_fork_child_close(void **state)
{
    struct osci_drv *a, *b;
    struct t_evlog la = { .n = 0 }, lb = { .n = 0 };
    struct osci_drv_event ev;
    pid_t pid;

    t_start(&a);
    assert_int_equal(t_open(2, &b), 0);
    assert_int_equal(t_wait_ev(b, &lb, OSCI_DRV_EV_LINK_UP, 1, 5000, 0, NULL), 0);
    pid = t_fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        osci_drv_close(a);
        _exit(0);
    }
    assert_int_equal(t_reap(pid, 5000), 0);
    t_idle(b, &lb, 50);
    for (unsigned int i = 0; i < lb.n; i++)
        assert_int_not_equal(lb.ev[i].type, OSCI_DRV_EV_PEER_DEAD);
    assert_int_equal(osci_drv_msg_send(a, 2, "k", 1), 0);
    assert_int_equal(t_wait_ev(b, &lb, OSCI_DRV_EV_MSG, 1, 5000, 0, &ev), 0);
    assert_int_equal(t_shm_count(), 3);
    (void)la;
    osci_drv_close(a);
    t_end(b);
}

OSCI_TEST_MAIN(NULL, NULL, NULL,
               cmocka_unit_test_teardown(test_peer_killed, t_teardown),
               cmocka_unit_test_teardown(test_link_down_up, t_teardown),
               cmocka_unit_test_teardown(test_link_down_per_incarnation, t_teardown),
               cmocka_unit_test_teardown(test_liveness_lost, t_teardown),
               cmocka_unit_test_teardown(test_corrupt_msg, t_teardown),
               cmocka_unit_test_teardown(test_stale_fabric_recycled, t_teardown),
               cmocka_unit_test_teardown(test_fabric_file_checked, t_teardown),
               cmocka_unit_test_teardown(test_observe, t_teardown),
               cmocka_unit_test_teardown(test_fork_child_close, t_teardown))
