/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* INTER_THREAD channels between two threads: the seed's usage flows (select() on the Linux event fd,
 * WaitForEvent, WaitForMultipleEvents, zero-copy frames, local events), 100k+ checked frames each. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "nvsciipc.h"
#include "../common/osci_test.h"
#include "ipc_frame.h"

#define NFRAMES_TOTAL 100000u
#define WAIT_US 5000000

static char cfg_path[64];
static char names[8][NVSCIIPC_MAX_ENDPOINT_NAME];

/* Config with `pairs` INTER_THREAD channels named it<pid>_<k>_{a,b}. */
static void write_cfg(unsigned pairs, unsigned nframes, unsigned fsize)
{
    char text[1024];
    size_t n = 0;
    unsigned k;
    for (k = 0; k < pairs; k++) {
        snprintf(names[2 * k], sizeof(names[0]), "it%d_%u_a", (int)getpid(), k);
        snprintf(names[2 * k + 1], sizeof(names[0]), "it%d_%u_b", (int)getpid(), k);
        n += (size_t)snprintf(text + n, sizeof(text) - n, "INTER_THREAD\t%s  %s %u %u\n", names[2 * k],
                              names[2 * k + 1], nframes, fsize);
        assert_true(n < sizeof(text));
    }
    assert_int_equal(tcfg_write(cfg_path, sizeof(cfg_path), "ipc-thr", 0600, "# test config\n#CFGVER:1\n%s", text), 0);
}

static int setup(void **state)
{
    (void)state;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(cfg_path);
    return 0;
}


enum waitmode { W_SELECT, W_SERVICE };

struct peer {
    NvSciIpcEndpoint h;
    NvSciEventLoopService *svc;
    NvSciEventNotifier *notifier;
    enum waitmode mode;
    int zero_copy;
    uint64_t count;
    int failed;
    char why[128];
};

static int wait_event(struct peer *p)
{
    if (p->mode == W_SELECT) {
        int32_t fd;
        fd_set rfds;
        struct timeval tv = { WAIT_US / 1000000, 0 };
        if (NvSciIpcGetLinuxEventFd(p->h, &fd) != NvSciError_Success) return -1;
        FD_ZERO(&rfds);
        FD_SET(fd, &rfds);
        return select(fd + 1, &rfds, NULL, NULL, &tv) > 0 ? 0 : -1;
    }
    return p->svc->WaitForEvent(p->notifier, WAIT_US) == NvSciError_Success ? 0 : -1;
}

#define FAIL(p, ...) do { snprintf((p)->why, sizeof((p)->why), __VA_ARGS__); (p)->failed = 1; return NULL; } while (0)

/* 1 when GetEventSafe reports one of want, else 0 after a wake-up; -1 when GetEventSafe failed, -2 when the
 * wait timed out or failed. */
static int ready(struct peer *p, uint32_t want)
{
    uint32_t ev;
    if (NvSciIpcGetEventSafe(p->h, &ev) != NvSciError_Success) return -1;
    if (ev & want) return 1;
    return wait_event(p) < 0 ? -2 : 0;
}

static int establish(struct peer *p)
{
    int rc;
    if (NvSciIpcResetEndpointSafe(p->h) != NvSciError_Success) return -1;
    while ((rc = ready(p, NV_SCI_IPC_EVENT_CONN_EST)) == 0) continue;
    return rc > 0 ? 0 : -1;
}

static void *writer(void *arg)
{
    struct peer *p = arg;
    uint64_t seq = 0;
    if (establish(p) < 0) FAIL(p, "writer: no CONN_EST");
    while (seq < p->count) {
        int rc = ready(p, NV_SCI_IPC_EVENT_WRITE);
        if (rc < 0)
            FAIL(p, "writer: %s at %llu", rc == -1 ? "GetEventSafe failed" : "wait timed out", (unsigned long long)seq);
        if (rc == 0) continue;
        for (;;) {
            NvSciError err;
            if (p->zero_copy) {
                volatile void *f;
                err = NvSciIpcWriteGetNextFrame(p->h, &f);
                if (err == NvSciError_Success) {
                    fill(f, seq);
                    err = NvSciIpcWriteAdvance(p->h);
                }
            } else {
                uint64_t buf[8];
                uint32_t bytes = 0;
                fill(buf, seq);
                err = NvSciIpcWriteSafe(p->h, buf, sizeof(buf), &bytes);
                if (err == NvSciError_Success && bytes != sizeof(buf)) FAIL(p, "writer: short write");
            }
            if (err == NvSciError_InsufficientMemory) break;
            if (err != NvSciError_Success) FAIL(p, "writer: error 0x%x", err);
            if (++seq == p->count) break;
        }
    }
    return NULL;
}

static void *reader(void *arg)
{
    struct peer *p = arg;
    uint64_t seq = 0;
    if (establish(p) < 0) FAIL(p, "reader: no CONN_EST");
    while (seq < p->count) {
        int rc = ready(p, NV_SCI_IPC_EVENT_READ);
        if (rc < 0)
            FAIL(p, "reader: %s at %llu", rc == -1 ? "GetEventSafe failed" : "wait timed out", (unsigned long long)seq);
        if (rc == 0) continue;
        for (;;) {
            NvSciError err;
            if (p->zero_copy) {
                const volatile void *f;
                err = NvSciIpcReadGetNextFrame(p->h, &f);
                if (err == NvSciError_Success) {
                    if (!check(f, seq)) FAIL(p, "reader: frame %llu bad", (unsigned long long)seq);
                    err = NvSciIpcReadAdvance(p->h);
                }
            } else {
                uint64_t buf[8];
                uint32_t bytes = 0;
                err = NvSciIpcReadSafe(p->h, buf, sizeof(buf), &bytes);
                if (err == NvSciError_Success && (bytes != sizeof(buf) || !check(buf, seq)))
                    FAIL(p, "reader: frame %llu lost, duplicated, reordered or corrupt (got seq %llu)",
                         (unsigned long long)seq, (unsigned long long)buf[0]);
            }
            if (err == NvSciError_InsufficientMemory) break;
            if (err != NvSciError_Success) FAIL(p, "reader: error 0x%x", err);
            if (++seq == p->count) break;
        }
    }
    /* Nothing more may arrive. */
    {
        uint64_t buf[8];
        uint32_t bytes;
        if (NvSciIpcReadSafe(p->h, buf, sizeof(buf), &bytes) != NvSciError_InsufficientMemory)
            FAIL(p, "reader: extra frame after the last");
    }
    return NULL;
}

static void run_stream(enum waitmode mode, int zero_copy)
{
    struct peer w = { .mode = mode, .zero_copy = zero_copy, .count = NFRAMES_TOTAL };
    struct peer r = w;
    NvSciEventLoopService *svc = NULL;
    NvSciIpcEndpointInfo info;
    pthread_t tw, tr;

    write_cfg(1, 64, 64);
    if (mode == W_SERVICE) assert_int_equal(NvSciEventLoopServiceCreateSafe(1, NULL, &svc), NvSciError_Success);
    assert_int_equal(NvSciIpcInit(), NvSciError_Success);
    if (mode == W_SERVICE) {
        assert_int_equal(NvSciIpcOpenEndpointWithEventService(names[0], &w.h, &svc->EventService), NvSciError_Success);
        assert_int_equal(NvSciIpcOpenEndpointWithEventService(names[1], &r.h, &svc->EventService), NvSciError_Success);
        assert_int_equal(NvSciIpcGetEventNotifier(w.h, &w.notifier), NvSciError_Success);
        assert_int_equal(NvSciIpcGetEventNotifier(r.h, &r.notifier), NvSciError_Success);
        w.svc = r.svc = svc;
    } else {
        assert_int_equal(NvSciIpcOpenEndpoint(names[0], &w.h), NvSciError_Success);
        assert_int_equal(NvSciIpcOpenEndpoint(names[1], &r.h), NvSciError_Success);
    }
    assert_int_equal(NvSciIpcGetEndpointInfo(w.h, &info), NvSciError_Success);
    assert_int_equal(info.nframes, 64);
    assert_int_equal(info.frame_size, 64);
    assert_int_equal(pthread_create(&tr, NULL, reader, &r), 0);
    assert_int_equal(pthread_create(&tw, NULL, writer, &w), 0);
    pthread_join(tw, NULL);
    pthread_join(tr, NULL);
    if (w.failed) fail_msg("%s", w.why);
    if (r.failed) fail_msg("%s", r.why);
    if (mode == W_SERVICE) {   /* documented order: notifiers, endpoints, library, service */
        w.notifier->Delete(w.notifier);
        r.notifier->Delete(r.notifier);
    }
    assert_int_equal(NvSciIpcCloseEndpointSafe(w.h, false), NvSciError_Success);
    assert_int_equal(NvSciIpcCloseEndpointSafe(r.h, false), NvSciError_Success);
    NvSciIpcDeinit();
    if (svc) svc->EventService.Delete(&svc->EventService);
}

static void test_stream_select(void **state) { (void)state; run_stream(W_SELECT, 0); }
static void test_stream_waitforevent(void **state) { (void)state; run_stream(W_SERVICE, 0); }
static void test_stream_zero_copy(void **state) { (void)state; run_stream(W_SELECT, 1); }

/* ---- several channels, one reader waiting with WaitForMultipleEvents ---- */
#define NCH 3

struct multi {
    NvSciIpcEndpoint tx[NCH], rx[NCH];
    NvSciEventNotifier *ntx[NCH], *nrx[NCH];
    NvSciEventLoopService *svc;
    uint64_t per_channel;
    int failed;
    char why[128];
};

static void *multi_writer(void *arg)
{
    struct multi *m = arg;
    uint64_t seq[NCH] = { 0 };
    unsigned done = 0, k;
    while (done < NCH) {
        int progress = 0;
        bool fired[NCH];
        done = 0;
        for (k = 0; k < NCH; k++) {
            uint64_t buf[8];
            uint32_t bytes;
            NvSciError err;
            if (seq[k] == m->per_channel) {
                done++;
                continue;
            }
            fill(buf, seq[k]);
            err = NvSciIpcWriteSafe(m->tx[k], buf, sizeof(buf), &bytes);
            if (err == NvSciError_Success) {
                seq[k]++;
                progress = 1;
            } else if (err != NvSciError_InsufficientMemory) {
                FAIL(m, "multi writer: error 0x%x", err);
            }
        }
        if (!progress && done < NCH) {
            uint32_t ev;
            int any = 0;
            for (k = 0; k < NCH; k++) {
                NvSciIpcGetEventSafe(m->tx[k], &ev);
                if ((ev & NV_SCI_IPC_EVENT_WRITE) && seq[k] < m->per_channel) any = 1;
            }
            if (!any && m->svc->WaitForMultipleEvents(m->ntx, NCH, WAIT_US, fired) != NvSciError_Success)
                FAIL(m, "multi writer: wait failed");
        }
    }
    return NULL;
}

static void test_multiple_endpoints(void **state)
{
    struct multi m = { .per_channel = 40000 };
    uint64_t seq[NCH] = { 0 };
    pthread_t tw;
    unsigned k, done = 0;
    (void)state;
    write_cfg(NCH, 32, 64);
    assert_int_equal(NvSciEventLoopServiceCreateSafe(1, NULL, &m.svc), NvSciError_Success);
    assert_int_equal(NvSciIpcInit(), NvSciError_Success);
    for (k = 0; k < NCH; k++) {
        assert_int_equal(NvSciIpcOpenEndpointWithEventService(names[2 * k], &m.tx[k], &m.svc->EventService), 0);
        assert_int_equal(NvSciIpcOpenEndpointWithEventService(names[2 * k + 1], &m.rx[k], &m.svc->EventService), 0);
        assert_int_equal(NvSciIpcGetEventNotifier(m.tx[k], &m.ntx[k]), 0);
        assert_int_equal(NvSciIpcGetEventNotifier(m.rx[k], &m.nrx[k]), 0);
        assert_int_equal(NvSciIpcResetEndpointSafe(m.tx[k]), 0);
        assert_int_equal(NvSciIpcResetEndpointSafe(m.rx[k]), 0);
    }
    for (k = 0; k < NCH; k++) {   /* both ends in this thread: the handshake completes in a few polls */
        uint32_t ev = 0, ev2 = 0;
        int i;
        for (i = 0; i < 10 && !((ev & NV_SCI_IPC_EVENT_CONN_EST) && (ev2 & NV_SCI_IPC_EVENT_CONN_EST)); i++) {
            uint32_t e;
            NvSciIpcGetEventSafe(m.tx[k], &e);
            ev |= e;
            NvSciIpcGetEventSafe(m.rx[k], &e);
            ev2 |= e;
        }
        assert_true(ev & NV_SCI_IPC_EVENT_CONN_EST);
        assert_true(ev2 & NV_SCI_IPC_EVENT_CONN_EST);
    }
    assert_int_equal(pthread_create(&tw, NULL, multi_writer, &m), 0);
    while (done < NCH) {
        bool fired[NCH];
        NvSciError err = m.svc->WaitForMultipleEvents(m.nrx, NCH, WAIT_US, fired);
        if (err != NvSciError_Success) break;
        done = 0;
        for (k = 0; k < NCH; k++) {
            uint32_t ev;
            NvSciIpcGetEventSafe(m.rx[k], &ev);
            while (ev & NV_SCI_IPC_EVENT_READ) {
                uint64_t buf[8];
                uint32_t bytes;
                err = NvSciIpcReadSafe(m.rx[k], buf, sizeof(buf), &bytes);
                if (err == NvSciError_InsufficientMemory) break;
                assert_int_equal(err, NvSciError_Success);
                assert_true(check(buf, seq[k]));
                seq[k]++;
            }
            if (seq[k] == m.per_channel) done++;
        }
    }
    pthread_join(tw, NULL);
    if (m.failed) fail_msg("%s", m.why);
    for (k = 0; k < NCH; k++) assert_int_equal(seq[k], m.per_channel);
    for (k = 0; k < NCH; k++) {
        m.ntx[k]->Delete(m.ntx[k]);
        m.nrx[k]->Delete(m.nrx[k]);
        assert_int_equal(NvSciIpcCloseEndpointSafe(m.tx[k], false), 0);
        assert_int_equal(NvSciIpcCloseEndpointSafe(m.rx[k], false), 0);
    }
    NvSciIpcDeinit();
    m.svc->EventService.Delete(&m.svc->EventService);
}

/* ---- local events: ping-pong between two threads, and a handler run by a waiting loop ---- */
struct pingpong {
    NvSciEventLoopService *svc;
    NvSciLocalEvent *ping, *pong;
    int rounds, failed;
};

static void *pong_thread(void *arg)
{
    struct pingpong *pp = arg;
    int i;
    for (i = 0; i < pp->rounds; i++) {
        if (pp->svc->WaitForEvent(pp->ping->eventNotifier, WAIT_US) != NvSciError_Success ||
            pp->pong->Signal(pp->pong) != NvSciError_Success) {
            pp->failed = 1;
            break;
        }
    }
    return NULL;
}

static void handler(void *cookie)
{
    (*(int *)cookie)++;
}

static void test_local_events(void **state)
{
    struct pingpong pp = { .rounds = 2000 };
    NvSciLocalEvent *h_ev;
    pthread_t t;
    int i, calls = 0;
    (void)state;
    assert_int_equal(NvSciEventLoopServiceCreateSafe(1, NULL, &pp.svc), NvSciError_Success);
    assert_int_equal(pp.svc->EventService.CreateLocalEvent(&pp.svc->EventService, &pp.ping), 0);
    assert_int_equal(pp.svc->EventService.CreateLocalEvent(&pp.svc->EventService, &pp.pong), 0);
    assert_int_equal(pthread_create(&t, NULL, pong_thread, &pp), 0);
    for (i = 0; i < pp.rounds; i++) {
        assert_int_equal(pp.ping->Signal(pp.ping), NvSciError_Success);
        assert_int_equal(pp.svc->WaitForEvent(pp.pong->eventNotifier, WAIT_US), NvSciError_Success);
    }
    pthread_join(t, NULL);
    assert_false(pp.failed);
    /* Nothing pending: a short wait times out. */
    assert_int_equal(pp.svc->WaitForEvent(pp.pong->eventNotifier, 2000), NvSciError_Timeout);

    /* A handler runs while the loop waits on another notifier; NULL unregisters it. */
    assert_int_equal(pp.svc->EventService.CreateLocalEvent(&pp.svc->EventService, &h_ev), 0);
    assert_int_equal(h_ev->eventNotifier->SetHandler(h_ev->eventNotifier, handler, &calls, 0), 0);
    assert_int_equal(h_ev->Signal(h_ev), 0);
    assert_int_equal(pp.svc->WaitForEvent(pp.pong->eventNotifier, 20000), NvSciError_Timeout);
    assert_int_equal(calls, 1);
    assert_int_equal(h_ev->eventNotifier->SetHandler(h_ev->eventNotifier, NULL, NULL, 0), 0);
    assert_int_equal(h_ev->Signal(h_ev), 0);
    assert_int_equal(pp.svc->WaitForEvent(pp.pong->eventNotifier, 5000), NvSciError_Timeout);
    assert_int_equal(calls, 1);
    assert_int_equal(pp.svc->WaitForEvent(h_ev->eventNotifier, 5000), NvSciError_Success);   /* still pending */

    h_ev->Delete(h_ev);
    pp.ping->Delete(pp.ping);
    pp.pong->Delete(pp.pong);
    pp.svc->EventService.Delete(&pp.svc->EventService);
}

/* A second thread waiting on a notifier that is already waited on gets NotSupported. */
struct waiter {
    NvSciEventLoopService *svc;
    NvSciLocalEvent *ev;
    NvSciError ret;
};

static void *wait_long(void *arg)
{
    struct waiter *w = arg;
    do w->ret = w->svc->WaitForEvent(w->ev->eventNotifier, WAIT_US);
    while (w->ret == NvSciError_NotSupported);   /* the main thread held it for a moment */
    return NULL;
}

static void test_second_waiter(void **state)
{
    struct waiter w = { 0 };
    pthread_t t;
    NvSciError err;
    int i;
    (void)state;
    assert_int_equal(NvSciEventLoopServiceCreateSafe(1, NULL, &w.svc), 0);
    assert_int_equal(w.svc->EventService.CreateLocalEvent(&w.svc->EventService, &w.ev), 0);
    assert_int_equal(pthread_create(&t, NULL, wait_long, &w), 0);
    /* Until the other thread is inside its wait, our own wait simply times out. */
    for (i = 0, err = NvSciError_Timeout; i < 4000 && err == NvSciError_Timeout; i++) {
        usleep(1000);   /* leave the notifier free most of the time, so that the other thread gets in */
        err = w.svc->WaitForEvent(w.ev->eventNotifier, 0);
    }
    assert_int_equal(err, NvSciError_NotSupported);
    assert_int_equal(w.ev->Signal(w.ev), 0);
    pthread_join(t, NULL);
    assert_int_equal(w.ret, NvSciError_Success);
    w.ev->Delete(w.ev);
    w.svc->EventService.Delete(&w.svc->EventService);
}

OSCI_TEST_MAIN(NULL, NULL, NULL,
               cmocka_unit_test_setup_teardown(test_stream_select, setup, teardown),
               cmocka_unit_test_setup_teardown(test_stream_waitforevent, setup, teardown),
               cmocka_unit_test_setup_teardown(test_stream_zero_copy, setup, teardown),
               cmocka_unit_test_setup_teardown(test_multiple_endpoints, setup, teardown),
               cmocka_unit_test(test_local_events),
               cmocka_unit_test(test_second_waiter))
