/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* simntb with a peer node that died and was not reaped (a zombie; the survivor is its parent): PEER_DEAD
 * comes, the survivor sleeps meanwhile, the dead port is reclaimed and the node id can join again while the
 * zombie is still there. Also the /proc parser of common/osci_proc.c on names that look like stat fields. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <sys/prctl.h>

#include "drv_test.h"
#include "osci_proc.h"

#define WATCH_MS 1000
#define CPU_PCT_MAX 20

static int64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* A node that joins, says so, and once told dies as told: 'e' _exit() without closing, 'k' waits for SIGKILL. */
static pid_t spawn_node(struct t_sync *s, uint32_t node, int how)
{
    pid_t pid;
    pid = t_fork_sync(s);
    if (pid == 0) {
        struct osci_drv *c;
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        CHECK(t_open(node, &c) == 0);
        t_sync_post(s->to_parent[1], 'r');
        CHECK(t_sync_wait(s->to_child[0], 10000) == 'g');   /* the parent saw it join */
        if (how == 'k')
            for (;;)
                pause();
        _exit(0);   /* no close, no exit hook */
    }
    assert_int_equal(t_sync_wait(s->to_parent[0], 5000), 'r');
    return pid;
}

static int is_zombie(pid_t pid)
{
    siginfo_t si = { 0 };
    return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid;
}

/* Sleeps on the event fd, collecting events, while pid dies and for WATCH_MS after it is a zombie (at most 5 s
 * more): the CPU used over those WATCH_MS in percent of the wall time; the first PEER_DEAD's time in *dead_ms. */
static int watch(struct osci_drv *d, struct t_evlog *log, pid_t pid, uint64_t *dead_ms)
{
    uint64_t t0 = osci_now_ms(), z = 0, t;
    int64_t c0 = 0;
    while ((t = osci_now_ms()) - t0 < 6 * WATCH_MS && (!z || t - z < WATCH_MS)) {
        struct osci_drv_event ev[8];
        int n;
        if (!z && is_zombie(pid)) {   /* the watched window starts */
            z = osci_now_ms();
            c0 = cpu_ns();
        }
        n = osci_drv_progress(d, ev, 8);
        assert_true(n >= 0);
        for (int i = 0; i < n && log->n < 256; i++) {
            if (ev[i].type == OSCI_DRV_EV_PEER_DEAD && !*dead_ms)
                *dead_ms = osci_now_ms();
            log->ev[log->n++] = ev[i];
        }
        if (n == 0 && osci_drv_arm(d) == 0) {
            struct pollfd pfd = { .fd = osci_drv_event_fd(d), .events = POLLIN };
            poll(&pfd, 1, z ? (int)(WATCH_MS - (t - z)) + 1 : 1);
        }
    }
    assert_true(z != 0);   /* it died, and nobody reaped it */
    return (int)((cpu_ns() - c0) / 10000 / (int64_t)(osci_now_ms() - z));
}

static void zombie_node(int how)
{
    struct osci_drv *d;
    struct t_evlog log = { .n = 0 };
    struct osci_drv_event up, ev;
    struct t_sync s;
    uint64_t t_dead, dead_ms = 0;
    pid_t pid, pid2;
    int cpu;

    t_start(&d);
    pid = spawn_node(&s, 2, how);
    assert_int_equal(t_wait_ev(d, &log, OSCI_DRV_EV_LINK_UP, 2, 5000, 1, &up), 0);
    t_sync_post(s.to_child[1], 'g');   /* 'e': it exits now */
    t_dead = osci_now_ms();
    if (how == 'k')
        kill(pid, SIGKILL);
    cpu = watch(d, &log, pid, &dead_ms);
    print_message("%s node, unreaped: PEER_DEAD %lld ms after its death (-1: none), survivor CPU %d%% "
                  "over 1 s as a zombie\n", how == 'k' ? "SIGKILLed" : "_exit()ed",
                  dead_ms ? (long long)(dead_ms - t_dead) : -1ll, cpu);
    assert_int_equal(t_wait_ev(d, &log, OSCI_DRV_EV_PEER_DEAD, 2, 0, 1, &ev), 0);
    assert_int_equal(ev.epoch, up.epoch);
    assert_true(cpu < CPU_PCT_MAX);
    /* Its port was reclaimed (window gone) and node 2 joins again, the zombie still there. */
    assert_int_equal(t_shm_count(), 2);
    assert_int_equal(osci_drv_probe(d, 2), -EHOSTUNREACH);
    pid2 = spawn_node(&s, 2, 'k');
    assert_int_equal(t_wait_ev(d, &log, OSCI_DRV_EV_LINK_UP, 2, 5000, 1, &ev), 0);
    t_sync_post(s.to_child[1], 'g');
    assert_true(ev.epoch != up.epoch);
    assert_true(is_zombie(pid));
    kill(pid2, SIGKILL);
    assert_int_equal(t_wait_ev(d, &log, OSCI_DRV_EV_PEER_DEAD, 2, 5000, 1, NULL), 0);
    t_end(d);
}

static void test_node_exit_zombie(void **state)
{
    zombie_node('e');
}

static void test_node_killed_zombie(void **state)
{
    zombie_node('k');
}

/* A command name with spaces and parentheses that mimic stat fields: the state is the field after the last
 * ')', the start time field 22. A zombie is dead, a pidfd of an exited process is readable. */
static void test_proc_parser(void **state)
{
    char st, st2;
    uint64_t start, start2;
    struct t_sync s;
    int pfd;
    pid_t pid;

    pid = t_fork_sync(&s);
    if (pid == 0) {
        prctl(PR_SET_NAME, "a) Z 1 2 (b) Z");
        t_sync_post(s.to_parent[1], 'r');
        CHECK(t_sync_wait(s.to_child[0], 10000) == 'q');
        _exit(0);
    }
    assert_int_equal(t_sync_wait(s.to_parent[0], 5000), 'r');
    assert_int_equal(osci_proc_stat(pid, &st, &start), 0);
    assert_true(st == 'S' || st == 'R');
    assert_int_equal(osci_proc_stat(getpid(), &st2, &start2), 0);
    assert_true(start >= start2);   /* started after us */
    assert_int_equal(osci_proc_alive(pid, start), 1);
    assert_int_equal(osci_proc_alive(pid, start + 1), 0);   /* a reused pid is another process */
    pfd = osci_pidfd_open(pid, start);
    assert_true(pfd >= 0);
    assert_int_equal(osci_pidfd_exited(pfd), 0);
    assert_int_equal(osci_pidfd_open(pid, start + 1), -ESRCH);
    t_sync_post(s.to_child[1], 'q');
    for (int i = 0; i < 5000 && !is_zombie(pid); i++)
        usleep(1000);
    assert_true(is_zombie(pid));
    assert_int_equal(osci_proc_stat(pid, &st, &start2), 0);
    assert_int_equal(st, 'Z');
    assert_int_equal(start2, start);
    assert_int_equal(osci_proc_alive(pid, start), 0);
    assert_int_equal(osci_proc_start(pid, &start2), -ESRCH);
    assert_int_equal(osci_pidfd_exited(pfd), 1);
    assert_int_equal(osci_pidfd_open(pid, start), -ESRCH);
    assert_int_equal(t_reap(pid, 5000), 0);
    assert_int_equal(osci_pidfd_exited(pfd), 1);
    close(pfd);
    assert_int_equal(osci_proc_alive(pid, start), 0);
    assert_int_equal(osci_proc_stat(0, &st, &start), -ESRCH);
}

OSCI_TEST_MAIN(NULL, NULL, NULL,
               cmocka_unit_test_teardown(test_node_exit_zombie, t_teardown),
               cmocka_unit_test_teardown(test_node_killed_zombie, t_teardown),
               cmocka_unit_test_teardown(test_proc_parser, t_teardown))
