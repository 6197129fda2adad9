/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* An idle waiter costs nothing, on every backend, whichever end opened first: two ends of an established
 * channel both wait ~300 ms with nothing sent, one in select() on its Linux event fd, the other in
 * WaitForEvent (then swapped), and count their wake-ups and the CPU time they used. INTER_THREAD: two
 * threads of this process; INTER_PROCESS: two forked processes; INTER_CHIP: two forked processes, nodes
 * 1 and 2 of a private simntb fabric. A wake-up is a wait that returned before its deadline. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "ipc_util.h"
#include "osci_time.h"

#define IDLE_US 300000
#define CPU_MAX_US 20000          /* a behaviour bound: a spinning waiter burns ~IDLE_US */
#define SETTLE_MAX 4              /* the handshake's or the close's notes arriving late (INTER_CHIP) */
#define T_MS 15000
#define WAIT_US 5000000

enum { MSG_OPENED = 1, MSG_EST, MSG_GO, MSG_QUIT };
static const char *const phase_names[] = { "no peer yet", "established", "peer closed" };
enum be { BE_THREAD, BE_PROCESS, BE_CHIP };
static const char *const be_names[] = { "INTER_THREAD", "INTER_PROCESS", "INTER_CHIP" };

static char ep_a[NVSCIIPC_MAX_ENDPOINT_NAME], ep_b[NVSCIIPC_MAX_ENDPOINT_NAME];
static int test_no;

struct side {
    enum be be;
    int first;           /* this end opens first */
    int svc;             /* waits in WaitForEvent (else select) */
    unsigned node, peer; /* INTER_CHIP */
    const char *ep;
};

struct result {
    uint32_t wakes, first, svc;
    uint32_t events;         /* events GetEventSafe reported during the window */
    uint64_t thread_cpu_us;  /* the waiting thread */
    uint64_t proc_cpu_us;    /* the whole process (INTER_PROCESS, INTER_CHIP: every library thread) */
    uint32_t settle;         /* wake-ups before the window: the handshake's or the close's last notes */
};

/* Config: one INTER_THREAD or INTER_PROCESS pair (shared by both ends), or this node's INTER_CHIP line. */
static int write_cfg(const struct side *s)
{
    char path[128];
    FILE *f;
    if (s->be == BE_CHIP)
        return tnode_ipc_cfg(cfg_dir, s->node, "#CFGVER:1\nINTER_CHIP %s 0000 peer=%u nframes=16 frame_size=64\n",
                             ep_a, s->peer);
    snprintf(path, sizeof(path), "%s/%s.cfg", cfg_dir, be_names[s->be]);
    if (!(f = fopen(path, "w"))) return -1;
    fprintf(f, "#CFGVER:1\n%s %s %s 16 64\n", be_names[s->be], ep_a, ep_b);
    fclose(f);
    setenv("NVSCIIPC_CFG", path, 1);
    return 0;
}

/* Waits `us` with nothing expected; r counts the wake-ups, the events GetEventSafe then reported and the
 * CPU time spent. */
static int idle_window(struct ipc_waiter *e, int64_t us, struct result *r)
{
    uint64_t t_cpu = ipc_cpu_us(RUSAGE_THREAD), p_cpu = ipc_cpu_us(RUSAGE_SELF);
    int64_t end = (int64_t)osci_now_us() + us;
    uint32_t ev;
    for (;;) {
        int64_t left = end - (int64_t)osci_now_us();
        int rc;
        if (left <= 0) break;
        rc = ipc_wait(e, left);
        CHECK(rc >= 0);
        if (rc == 0) break;
        r->wakes++;
        CHECK(NvSciIpcGetEventSafe(e->h, &ev) == NvSciError_Success);   /* what a real waiter does next */
        r->events |= ev & ~(uint32_t)(NV_SCI_IPC_EVENT_WRITE | NV_SCI_IPC_EVENT_WRITE_EMPTY);
    }
    r->thread_cpu_us = ipc_cpu_us(RUSAGE_THREAD) - t_cpu;
    r->proc_cpu_us = ipc_cpu_us(RUSAGE_SELF) - p_cpu;
    return 0;
}

/* Waits until 100 ms pass without a wake-up; returns the wake-ups before that. INTER_CHIP's notifications
 * (SISCI interrupts, segment callbacks) arrive asynchronously: the last ones of a handshake or a close may
 * come after the event they announce was already seen. */
static uint32_t settle(struct ipc_waiter *e)
{
    struct result w;
    uint32_t n = 0, quiet = 0;
    /* two quiet windows in a row: under load a last note can come more than one window late */
    do {
        w = (struct result){ 0 };
        if (idle_window(e, IDLE_US / 3, &w) != 0) return 1000;
        n += w.wakes;
        quiet = w.wakes ? 0 : quiet + 1;
    } while (quiet < 2 && n < 1000);
    return n;
}

/* Loops GetEventSafe until one of `want`; 0 or a CHECK code. */
static int wait_event(struct ipc_waiter *e, uint32_t want)
{
    uint32_t ev;
    for (;;) {
        CHECK(NvSciIpcGetEventSafe(e->h, &ev) == NvSciError_Success);
        if (ev & want) return 0;
        CHECK(ipc_wait(e, WAIT_US) == 1);
    }
}

/*
 * One end: open (in the given order), establish, wait idle, report. The first opener also waits idle
 * before the peer opens (phase 1) and after the peer closed and left (phase 3, after the close's own
 * notifications settled). Returns 0 or a CHECK code.
 */
static int side_main(int rd, int wr, void *arg)
{
    struct side *s = arg;
    struct result r = { .first = (uint32_t)s->first, .svc = (uint32_t)s->svc };
    struct ipc_waiter e = { 0 };
    uint32_t m, ev;
    if (s->be != BE_THREAD) CHECK(write_cfg(s) == 0);   /* INTER_THREAD: the parent wrote it */
    if (!s->first) CHECK(tproc_recv_u32(rd, &m, T_MS) == 0 && m == MSG_GO);
    CHECK(ipc_open(&e, s->ep, s->svc) == 0);
    CHECK(tproc_send_u32(wr, MSG_OPENED) == 0);
    CHECK(NvSciIpcResetEndpointSafe(e.h) == NvSciError_Success);
    if (s->first) {   /* phase 1: no peer yet */
        CHECK(NvSciIpcGetEventSafe(e.h, &ev) == NvSciError_Success && ev == 0);
        CHECK(idle_window(&e, IDLE_US, &r) == 0);
        CHECK(tproc_send(wr, &r, sizeof(r)) == 0);
    }
    CHECK(wait_event(&e, NV_SCI_IPC_EVENT_CONN_EST_ALL) == 0);
    CHECK(tproc_send_u32(wr, MSG_EST) == 0);
    CHECK(tproc_recv_u32(rd, &m, T_MS) == 0 && m == MSG_GO);   /* both ends established */
    r = (struct result){ .first = (uint32_t)s->first, .svc = (uint32_t)s->svc, .settle = settle(&e) };
    CHECK(idle_window(&e, IDLE_US, &r) == 0);   /* phase 2: established, nothing sent */
    CHECK(tproc_send(wr, &r, sizeof(r)) == 0);
    CHECK(tproc_recv_u32(rd, &m, T_MS) == 0);
    if (m == MSG_GO) {   /* phase 3: the peer closed and left */
        CHECK(wait_event(&e, NV_SCI_IPC_EVENT_CONN_RESET) == 0);
        r = (struct result){ .first = (uint32_t)s->first, .svc = (uint32_t)s->svc, .settle = settle(&e) };
        CHECK(idle_window(&e, IDLE_US, &r) == 0);
        CHECK(tproc_send(wr, &r, sizeof(r)) == 0);
        CHECK(tproc_recv_u32(rd, &m, T_MS) == 0);
    }
    CHECK(ipc_close(&e) == NvSciError_Success);
    return 0;
}

/* ---- INTER_THREAD: the two ends are threads of this process, with pipes like a forked child's ---- */
struct thr {
    pthread_t t;
    int to_side[2], to_parent[2];
    struct side s;
    int rc;
};

static void *thr_main(void *arg)
{
    struct thr *t = arg;
    t->rc = side_main(t->to_side[0], t->to_parent[1], &t->s);
    if (t->rc) fprintf(stderr, "%s end failed: %d\n", t->s.ep, t->rc);
    close(t->to_parent[1]);   /* EOF for the parent */
    return NULL;
}

struct end {
    int rd, wr;   /* parent's side of the pipes */
    struct tproc p;
    struct thr *t;
};

static void start_end(enum be be, struct end *e, struct thr *t, const struct side *s)
{
    if (be == BE_THREAD) {
        t->s = *s;
        assert_int_equal(pipe(t->to_side), 0);
        assert_int_equal(pipe(t->to_parent), 0);
        assert_int_equal(pthread_create(&t->t, NULL, thr_main, t), 0);
        e->t = t;
        e->rd = t->to_parent[0];
        e->wr = t->to_side[1];
    } else {
        assert_int_equal(tproc_start(&e->p, side_main, (void *)s), 0);
        e->t = NULL;
        e->rd = e->p.rd;
        e->wr = e->p.wr;
    }
}

static void finish_end(struct end *e)
{
    if (e->t) {
        pthread_join(e->t->t, NULL);
        assert_int_equal(e->t->rc, 0);
        close(e->t->to_side[0]);
        close(e->t->to_side[1]);
        close(e->t->to_parent[0]);
    } else {
        assert_int_equal(tproc_wait(&e->p, T_MS), 0);
    }
}

static void check_result(enum be be, int phase, const struct result *r)
{
    printf("  %-13s %-11s %s opener, %-12s: %u wake-ups, waiter thread %llu us CPU", be_names[be],
           phase_names[phase], r->first ? "first " : "second", r->svc ? "WaitForEvent" : "select()", r->wakes,
           (unsigned long long)r->thread_cpu_us);
    if (be != BE_THREAD) printf(", process %llu us", (unsigned long long)r->proc_cpu_us);
    printf(" in %d ms", IDLE_US / 1000);
    if (phase) printf(" (%u late notes before)", r->settle);
    printf("\n");
}

static void assert_idle(enum be be, int phase, const struct result *r)
{
    if (r->wakes != 0 || r->events != 0)
        fail_msg("%s, %s, %s opener: idle waiter woke %u times (events %#x)", be_names[be], phase_names[phase],
                 r->first ? "first" : "second", r->wakes, r->events);
    assert_true(r->thread_cpu_us < CPU_MAX_US);
    if (be != BE_THREAD) assert_true(r->proc_cpu_us < CPU_MAX_US);
    if (phase) assert_true(r->settle <= SETTLE_MAX);
}

/* End a opens first; a waits with the event service when a_svc, b with the other method. */
static void run_idle(enum be be, int a_svc)
{
    struct side sa = { be, 1, a_svc, 1, 2, ep_a }, sb = { be, 0, !a_svc, 2, 1, ep_b };
    struct thr ta, tb;
    struct end a, b;
    struct result r[4];   /* a without a peer, a and b established, a after b left */
    static const int phase[4] = { 0, 1, 1, 2 };
    int i;
    test_no++;
    snprintf(ep_a, sizeof(ep_a), "ipcev_idle%d_%d_a", (int)getpid(), test_no);
    if (be == BE_CHIP) snprintf(ep_b, sizeof(ep_b), "%s", ep_a);   /* both nodes name the same endpoint */
    else snprintf(ep_b, sizeof(ep_b), "ipcev_idle%d_%d_b", (int)getpid(), test_no);
    if (be == BE_THREAD) assert_int_equal(write_cfg(&sa), 0);
    start_end(be, &a, &ta, &sa);
    IPC_EXPECT(a.rd, MSG_OPENED, T_MS);
    assert_int_equal(tproc_recv(a.rd, &r[0], sizeof(r[0]), T_MS), 0);   /* a idle without a peer */
    start_end(be, &b, &tb, &sb);
    assert_int_equal(tproc_send_u32(b.wr, MSG_GO), 0);   /* b opens second */
    IPC_EXPECT(b.rd, MSG_OPENED, T_MS);
    IPC_EXPECT(a.rd, MSG_EST, T_MS);
    IPC_EXPECT(b.rd, MSG_EST, T_MS);
    assert_int_equal(tproc_send_u32(a.wr, MSG_GO), 0);
    assert_int_equal(tproc_send_u32(b.wr, MSG_GO), 0);
    assert_int_equal(tproc_recv(a.rd, &r[1], sizeof(r[1]), T_MS), 0);
    assert_int_equal(tproc_recv(b.rd, &r[2], sizeof(r[2]), T_MS), 0);
    assert_int_equal(tproc_send_u32(b.wr, MSG_QUIT), 0);   /* b closes and leaves */
    finish_end(&b);
    assert_int_equal(tproc_send_u32(a.wr, MSG_GO), 0);
    assert_int_equal(tproc_recv(a.rd, &r[3], sizeof(r[3]), T_MS), 0);
    assert_int_equal(tproc_send_u32(a.wr, MSG_QUIT), 0);
    finish_end(&a);
    for (i = 0; i < 4; i++) check_result(be, phase[i], &r[i]);
    for (i = 0; i < 4; i++) assert_idle(be, phase[i], &r[i]);
}

static void test_idle_thread(void **state)
{
    (void)state;
    run_idle(BE_THREAD, 0);
    run_idle(BE_THREAD, 1);
}

static void test_idle_process(void **state)
{
    (void)state;
    run_idle(BE_PROCESS, 0);
    run_idle(BE_PROCESS, 1);
}

static void test_idle_chip(void **state)
{
    (void)state;
    run_idle(BE_CHIP, 0);
    run_idle(BE_CHIP, 1);
}

OSCI_TEST_MAIN("ipc_idle", ipc_dir_setup, ipc_dir_teardown,
               cmocka_unit_test_teardown(test_idle_thread, tproc_teardown),
               cmocka_unit_test_teardown(test_idle_process, tproc_teardown),
               cmocka_unit_test_teardown(test_idle_chip, tproc_teardown))
