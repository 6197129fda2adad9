/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * NVIDIA's documented NvSciIpc read and write flows (apis.md §2.2 "Typical flow"), line by line, as two
 * programs run in forked processes: with NvSciEventService (OpenEndpointWithEventService, GetEventNotifier,
 * WaitForEvent) or with select() on NvSciIpcGetLinuxEventFd. The writer writes its frames, closes and
 * exits right after its last write; the reader reads until CONN_RESET, checks every frame (sequence and
 * checksum), and counts its own wake-ups and CPU time, also for a short while after the reset.
 * Included by tests/compat/test_compat_ipc_*.c: compat_runs and COMPAT_TESTS make their tests.
 */
#ifndef COMPAT_IPC_H
#define COMPAT_IPC_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/osci_test.h"
#include "../ipc/ipc_frame.h"
#include "../ipc/ipc_util.h"

#define COMPAT_WAIT_US 5000000        /* a wait this long means a lost notification: the run fails */
#define COMPAT_AFTER_US 20000         /* the reader keeps waiting this long after CONN_RESET */
#define COMPAT_T_MS 20000

enum compat_flow { FLOW_SERVICE, FLOW_SELECT };
enum { COMPAT_OPENED = 1, COMPAT_GO };

struct compat_prog {
    enum compat_flow flow;
    const char *ep;
    uint32_t frames;           /* the writer's frames */
    int wait_go;               /* open only after the parent says so (the second program) */
    void (*setup)(const struct compat_prog *p);   /* environment before any library call */
    unsigned node, peer;       /* INTER_CHIP */
};

struct compat_report {
    uint32_t frames;           /* reader: frames read in sequence and intact; writer: frames written */
    uint32_t bad;              /* reader: first bad sequence + 1 (0: none) */
    uint32_t reset;            /* reader: CONN_RESET seen */
    uint32_t wakes;            /* waits that returned before their timeout */
    uint32_t wakes_after;      /* reader: wake-ups in COMPAT_AFTER_US after CONN_RESET */
    uint32_t step;             /* the line that failed, 0 */
    uint64_t cpu_us;           /* the process's CPU time from open to close */
};

#define STEP(cond) \
    do { \
        if (!(cond)) { \
            rep.step = __LINE__; \
            fprintf(stderr, "compat %d: %s:%d: failed: %s\n", (int)getpid(), __FILE__, __LINE__, #cond); \
            goto out; \
        } \
    } while (0)

/* One program, reader or writer. The report goes to the parent; the exit status is 0 unless a step failed. */
static int compat_main(int rd, int wr, const struct compat_prog *p, int writer)
{
    struct compat_report rep = { 0 };
    struct ipc_waiter e = { 0 };
    NvSciIpcEndpointInfo info;
    uint64_t buf[8], seq = 0, cpu0 = 0;
    uint32_t ev, m, bytes;
    int inited = 0, opened = 0, rc;

    if (p->setup) p->setup(p);
    if (p->wait_go) STEP(tproc_recv_u32(rd, &m, COMPAT_T_MS) == 0 && m == COMPAT_GO);
    cpu0 = ipc_cpu_us(RUSAGE_SELF);
    if (p->flow == FLOW_SERVICE) STEP(NvSciEventLoopServiceCreateSafe(1, NULL, &e.svc) == NvSciError_Success);
    STEP(NvSciIpcInit() == NvSciError_Success);
    inited = 1;
    if (p->flow == FLOW_SERVICE) {
        STEP(NvSciIpcOpenEndpointWithEventService(p->ep, &e.h, &e.svc->EventService) == NvSciError_Success);
        opened = 1;
        STEP(NvSciIpcGetEventNotifier(e.h, &e.note) == NvSciError_Success);
    } else {
        STEP(NvSciIpcOpenEndpoint(p->ep, &e.h) == NvSciError_Success);
        opened = 1;
        STEP(NvSciIpcGetLinuxEventFd(e.h, &e.fd) == NvSciError_Success);
    }
    STEP(NvSciIpcGetEndpointInfo(e.h, &info) == NvSciError_Success);
    STEP(info.frame_size >= sizeof(buf));
    STEP(tproc_send_u32(wr, COMPAT_OPENED) == 0);
    STEP(NvSciIpcResetEndpointSafe(e.h) == NvSciError_Success);
    for (;;) {   /* until the connection is established */
        STEP(NvSciIpcGetEventSafe(e.h, &ev) == NvSciError_Success);
        if (ev & NV_SCI_IPC_EVENT_CONN_EST_ALL) break;
        STEP((rc = ipc_wait(&e, COMPAT_WAIT_US)) == 1);
        rep.wakes++;
    }
    if (writer) {
        while (seq < p->frames) {
            STEP(NvSciIpcGetEventSafe(e.h, &ev) == NvSciError_Success);
            STEP(!(ev & NV_SCI_IPC_EVENT_CONN_RESET));
            if (ev & NV_SCI_IPC_EVENT_WRITE) {
                NvSciError err;
                fill(buf, seq);
                err = NvSciIpcWriteSafe(e.h, buf, sizeof(buf), &bytes);
                STEP(err == NvSciError_Success || err == NvSciError_InsufficientMemory);
                if (err == NvSciError_Success) seq++;
                continue;
            }
            STEP((rc = ipc_wait(&e, COMPAT_WAIT_US)) == 1);
            rep.wakes++;
        }
        rep.frames = (uint32_t)seq;   /* close and leave right after the last write */
    } else {
        for (;;) {
            STEP(NvSciIpcGetEventSafe(e.h, &ev) == NvSciError_Success);
            if (ev & NV_SCI_IPC_EVENT_READ) {
                NvSciError err = NvSciIpcReadSafe(e.h, buf, sizeof(buf), &bytes);
                STEP(err == NvSciError_Success || err == NvSciError_InsufficientMemory);
                if (err == NvSciError_Success) {
                    if (!check(buf, seq) && !rep.bad) rep.bad = (uint32_t)seq + 1;
                    seq++;
                }
                continue;
            }
            if (ev & NV_SCI_IPC_EVENT_CONN_RESET) {
                rep.reset = 1;
                break;
            }
            STEP((rc = ipc_wait(&e, COMPAT_WAIT_US)) == 1);
            rep.wakes++;
        }
        rep.frames = (uint32_t)seq;
        /* Nothing more will come: a waiter that keeps waking now spins. */
        for (;;) {
            STEP((rc = ipc_wait(&e, COMPAT_AFTER_US)) >= 0);
            if (rc == 0) break;
            STEP(NvSciIpcGetEventSafe(e.h, &ev) == NvSciError_Success);
            if (++rep.wakes_after > 1000) break;
        }
    }
out:
    if (e.note) e.note->Delete(e.note);
    if (opened) NvSciIpcCloseEndpointSafe(e.h, false);
    if (inited) NvSciIpcDeinit();
    if (e.svc) e.svc->EventService.Delete(&e.svc->EventService);
    rep.cpu_us = ipc_cpu_us(RUSAGE_SELF) - cpu0;
    if (tproc_send(wr, &rep, sizeof(rep)) != 0) return 3;
    return rep.step ? 1 : 0;
}

#undef STEP

struct compat_run_stats {
    unsigned runs;
    uint64_t frames, wakes_reader, wakes_writer, wakes_after, cpu_reader_us, cpu_writer_us;
    uint32_t max_wakes_after;
    uint64_t max_cpu_reader_us;
};

static void compat_print(const char *what, const struct compat_run_stats *s)
{
    printf("  %-44s %3u runs, %6llu frames; reader: %5.1f wake-ups/run, %4.0f us CPU/run (max %llu), after "
           "CONN_RESET %llu wake-ups in all (max %u); writer: %5.1f wake-ups/run\n", what, s->runs,
           (unsigned long long)s->frames, (double)s->wakes_reader / s->runs, (double)s->cpu_reader_us / s->runs,
           (unsigned long long)s->max_cpu_reader_us, (unsigned long long)s->wakes_after, s->max_wakes_after,
           (double)s->wakes_writer / s->runs);
}

static int compat_writer_prog(int rd, int wr, void *arg)
{
    return compat_main(rd, wr, arg, 1);
}

static int compat_reader_prog(int rd, int wr, void *arg)
{
    return compat_main(rd, wr, arg, 0);
}

/* One run: the program without wait_go opens first, the other after it opened. Fills the two reports. */
static void compat_run(struct compat_prog *pw, struct compat_prog *pr, struct compat_report *rw,
                       struct compat_report *rr)
{
    struct tproc w, r, *first, *second;
    assert_int_equal(tproc_start(&w, compat_writer_prog, pw), 0);
    assert_int_equal(tproc_start(&r, compat_reader_prog, pr), 0);
    first = pw->wait_go ? &r : &w;
    second = pw->wait_go ? &w : &r;
    IPC_EXPECT(first->rd, COMPAT_OPENED, COMPAT_T_MS);
    assert_int_equal(tproc_send_u32(second->wr, COMPAT_GO), 0);
    IPC_EXPECT(second->rd, COMPAT_OPENED, COMPAT_T_MS);
    assert_int_equal(tproc_recv(w.rd, rw, sizeof(*rw), COMPAT_T_MS), 0);
    assert_int_equal(tproc_recv(r.rd, rr, sizeof(*rr), COMPAT_T_MS), 0);
    assert_int_equal(tproc_wait(&w, COMPAT_T_MS), 0);
    assert_int_equal(tproc_wait(&r, COMPAT_T_MS), 0);
}

/* Checks run k of n frames: all written, all read in order and intact, then CONN_RESET; the reader woke at
 * most n + extra_wakes times, and max_after times after the reset. Adds the run to st. */
static void compat_check(const char *what, int k, uint32_t n, const struct compat_report *rw,
                         const struct compat_report *rr, uint32_t extra_wakes, uint32_t max_after,
                         struct compat_run_stats *st)
{
    if (rw->step || rr->step || rw->frames != n || rr->frames != n || rr->bad || !rr->reset)
        fail_msg("%s, run %d: writer wrote %u/%u (step %u); reader read %u (bad %u, reset %u, step %u)", what, k,
                 rw->frames, n, rw->step, rr->frames, rr->bad, rr->reset, rr->step);
    if (rr->wakes > n + extra_wakes) fail_msg("%s, run %d: reader woke %u times for %u frames", what, k, rr->wakes, n);
    if (rr->wakes_after > max_after)
        fail_msg("%s, run %d: reader woke %u times after CONN_RESET", what, k, rr->wakes_after);
    st->runs++;
    st->frames += n;
    st->wakes_reader += rr->wakes;
    st->wakes_writer += rw->wakes;
    st->wakes_after += rr->wakes_after;
    st->cpu_reader_us += rr->cpu_us;
    st->cpu_writer_us += rw->cpu_us;
    if (rr->wakes_after > st->max_wakes_after) st->max_wakes_after = rr->wakes_after;
    if (rr->cpu_us > st->max_cpu_reader_us) st->max_cpu_reader_us = rr->cpu_us;
}

#define COMPAT_RUNS 100

/* A backend of the test programs: how run k names its endpoints, and what its runs may cost. */
struct compat_backend {
    const char *name;                                   /* "INTER_CHIP" */
    void (*setup)(const struct compat_prog *p);         /* as compat_prog.setup */
    void (*endpoints)(int k, const char *tag, char *ep_w, char *ep_r, size_t len);
    int two_nodes;                                      /* the reader on node 1 or 2, the writer on the other */
    uint32_t extra_wakes, max_after;                    /* as compat_check */
    void (*after)(void);                                /* checks after the runs, or NULL */
};

/* COMPAT_RUNS runs of 64..256 frames with one flow, the reader or the writer opening first. */
static void compat_runs(const struct compat_backend *b, enum compat_flow flow, int reader_first, const char *how)
{
    struct compat_run_stats st = { 0 };
    char what[64], tag[8];
    int k;
    snprintf(what, sizeof(what), "%s %s", b->name, how);
    snprintf(tag, sizeof(tag), "%d%d", (int)flow, reader_first);
    for (k = 0; k < COMPAT_RUNS; k++) {
        char ep_w[64], ep_r[64];
        uint32_t n = 64 + (uint32_t)(k * 37) % 193;                /* 64..256 frames */
        unsigned rnode = b->two_nodes ? 1 + (unsigned)(k & 1) : 0;  /* the reader on node 1 or 2 */
        unsigned wnode = b->two_nodes ? 3 - rnode : 0;
        struct compat_prog pw = { flow, ep_w, n, reader_first, b->setup, wnode, rnode };
        struct compat_prog pr = { flow, ep_r, 0, !reader_first, b->setup, rnode, wnode };
        struct compat_report rw, rr;
        b->endpoints(k, tag, ep_w, ep_r, sizeof(ep_w));
        compat_run(&pw, &pr, &rw, &rr);
        compat_check(what, k, n, &rw, &rr, b->extra_wakes, b->max_after, &st);
    }
    compat_print(what, &st);
    if (b->after) b->after();
}

#define COMPAT_TEST(backend, name, flow, reader_first, how) \
    static void name(void **state) \
    { \
        (void)state; \
        compat_runs(&(backend), flow, reader_first, how); \
    }

/* The four tests of a backend's program (WaitForEvent or select(), writer or reader first) and its main. */
#define COMPAT_TESTS(backend, fabric, group_setup, group_teardown) \
    COMPAT_TEST(backend, test_service_writer_first, FLOW_SERVICE, 0, "WaitForEvent, writer first") \
    COMPAT_TEST(backend, test_service_reader_first, FLOW_SERVICE, 1, "WaitForEvent, reader first") \
    COMPAT_TEST(backend, test_select_writer_first, FLOW_SELECT, 0, "select(), writer first") \
    COMPAT_TEST(backend, test_select_reader_first, FLOW_SELECT, 1, "select(), reader first") \
    OSCI_TEST_MAIN(fabric, group_setup, group_teardown, \
                   cmocka_unit_test_teardown(test_service_writer_first, tproc_teardown), \
                   cmocka_unit_test_teardown(test_service_reader_first, tproc_teardown), \
                   cmocka_unit_test_teardown(test_select_writer_first, tproc_teardown), \
                   cmocka_unit_test_teardown(test_select_reader_first, tproc_teardown))

#endif
