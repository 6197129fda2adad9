/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* NvSciIpc and NvSciEventService error paths and event semantics, both ends of an INTER_THREAD channel driven
 * from one thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "nvsciipc.h"
#include "../common/osci_test.h"

#define NF 4
#define FS 128

static char cfg_path[64];
static char ea[NVSCIIPC_MAX_ENDPOINT_NAME], eb[NVSCIIPC_MAX_ENDPOINT_NAME];
static NvSciIpcEndpoint a, b;
static int seq_no;

static int setup(void **state)
{
    (void)state;
    seq_no++;
    snprintf(ea, sizeof(ea), "ie%d_%d_a", (int)getpid(), seq_no);
    snprintf(eb, sizeof(eb), "ie%d_%d_b", (int)getpid(), seq_no);
    if (tcfg_write(cfg_path, sizeof(cfg_path), "ipc-err", 0600, "#CFGVER:1\nINTER_THREAD %s %s %d %d\n", ea, eb, NF,
                   FS) != 0)
        return -1;
    if (NvSciIpcInit() != NvSciError_Success) return -1;
    if (NvSciIpcOpenEndpoint(ea, &a) != NvSciError_Success) return -1;
    if (NvSciIpcOpenEndpoint(eb, &b) != NvSciError_Success) return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    NvSciIpcDeinit();   /* closes what the test left open */
    unlink(cfg_path);
    return 0;
}

static uint32_t events(NvSciIpcEndpoint h)
{
    uint32_t ev = 0xdead;
    assert_int_equal(NvSciIpcGetEventSafe(h, &ev), NvSciError_Success);
    return ev;
}

/* Resets both ends and polls them until both reported CONN_EST. */
static void connect_both(void)
{
    uint32_t ea_ev = 0, eb_ev = 0;
    int i;
    assert_int_equal(NvSciIpcResetEndpointSafe(a), NvSciError_Success);
    assert_int_equal(NvSciIpcResetEndpointSafe(b), NvSciError_Success);
    for (i = 0; i < 10; i++) {
        ea_ev |= events(a);
        eb_ev |= events(b);
    }
    assert_true(ea_ev & NV_SCI_IPC_EVENT_CONN_EST);
    assert_true(eb_ev & NV_SCI_IPC_EVENT_CONN_EST);
}

static void test_bad_handles_and_args(void **state)
{
    uint8_t buf[FS] = { 0 };
    uint32_t n, ev;
    int32_t fd, n32;
    NvSciIpcEndpointInfo info;
    const volatile void *rf;
    volatile void *wf;
    NvSciEventNotifier *no;
    NvSciIpcEndpoint h;
    (void)state;
    assert_int_equal(NvSciIpcWriteSafe(0, buf, 8, &n), NvSciError_BadParameter);
    assert_int_equal(NvSciIpcReadSafe(a ^ 0x100000000ull, buf, 8, &n), NvSciError_BadParameter);
    assert_int_equal(NvSciIpcGetEventSafe(12345, &ev), NvSciError_BadParameter);
    assert_int_equal(NvSciIpcGetEventSafe(a, NULL), NvSciError_BadParameter);
    assert_int_equal(NvSciIpcGetEndpointInfo(a, NULL), NvSciError_BadParameter);
    assert_int_equal(NvSciIpcGetLinuxEventFd(a, NULL), NvSciError_BadParameter);
    assert_int_equal(NvSciIpcReadGetNextFrame(a, NULL), NvSciError_BadParameter);
    assert_int_equal(NvSciIpcWriteGetNextFrame(a, NULL), NvSciError_BadParameter);
    assert_int_equal(NvSciIpcGetEventNotifier(a, &no), NvSciError_InvalidState);   /* no event service */
    assert_int_equal(NvSciIpcGetLinuxEventFd(a, &fd), NvSciError_Success);
    assert_true(fd >= 0);
    assert_int_equal(NvSciIpcGetEndpointInfo(b, &info), NvSciError_Success);
    assert_int_equal(info.nframes, NF);
    assert_int_equal(info.frame_size, FS);
    assert_int_equal(NvSciIpcGetAsyncErrors(a, &n), NvSciError_Success);
    assert_int_equal(n, 0);
    assert_int_equal(NvSciIpcEnableNotification(a, true), NvSciError_Success);
    /* Before a reset, I/O is refused. */
    assert_int_equal(NvSciIpcWriteSafe(a, buf, 8, &n), NvSciError_ConnectionReset);
    assert_int_equal(NvSciIpcReadSafe(b, buf, 8, &n), NvSciError_ConnectionReset);
    assert_int_equal(NvSciIpcReadGetNextFrame(b, &rf), NvSciError_ConnectionReset);
    assert_int_equal(NvSciIpcWriteGetNextFrame(a, &wf), NvSciError_ConnectionReset);
    connect_both();
    /* Sizes and pointers. */
    assert_int_equal(NvSciIpcWriteSafe(a, buf, 0, &n), NvSciError_BadParameter);
    assert_int_equal(NvSciIpcWriteSafe(a, buf, FS + 1, &n), NvSciError_BadParameter);
    assert_int_equal(NvSciIpcWriteSafe(a, NULL, 8, &n), NvSciError_BadParameter);
    assert_int_equal(NvSciIpcWriteSafe(a, buf, 8, NULL), NvSciError_BadParameter);
    assert_int_equal(NvSciIpcReadSafe(b, buf, 0, &n), NvSciError_BadParameter);
    assert_int_equal(NvSciIpcReadSafe(b, buf, FS + 1, &n), NvSciError_BadParameter);
    assert_int_equal(NvSciIpcWrite(a, buf, (size_t)1 << 33, &n32), NvSciError_BadParameter);
    /* A closed handle is stale. */
    assert_int_equal(NvSciIpcCloseEndpointSafe(a, false), NvSciError_Success);
    assert_int_equal(NvSciIpcCloseEndpointSafe(a, false), NvSciError_BadParameter);
    assert_int_equal(NvSciIpcGetEventSafe(a, &ev), NvSciError_BadParameter);
    /* Double open of the open end is Busy; the closed one reopens. */
    assert_int_equal(NvSciIpcOpenEndpoint(eb, &h), NvSciError_Busy);
    assert_int_equal(NvSciIpcOpenEndpoint(ea, &a), NvSciError_Success);
    /* b sees its peer leave. */
    assert_true(events(b) & NV_SCI_IPC_EVENT_CONN_RESET);
    assert_int_equal(NvSciIpcReadSafe(b, buf, 8, &n), NvSciError_ConnectionReset);
    connect_both();
}

static void test_fifo_full_empty_and_frames(void **state)
{
    uint8_t buf[FS], out[FS];
    uint32_t n, i;
    int32_t n32;
    const volatile void *rf;
    volatile void *wf;
    (void)state;
    connect_both();
    assert_int_equal(NvSciIpcReadSafe(b, out, 8, &n), NvSciError_InsufficientMemory);   /* empty */
    assert_int_equal(NvSciIpcReadGetNextFrame(b, &rf), NvSciError_InsufficientMemory);
    memset(buf, 0xff, sizeof(buf));
    for (i = 0; i < NF; i++) {
        buf[0] = (uint8_t)i;
        assert_int_equal(NvSciIpcWriteSafe(a, buf, FS, &n), NvSciError_Success);
        assert_int_equal(n, FS);
    }
    assert_int_equal(NvSciIpcWriteSafe(a, buf, FS, &n), NvSciError_InsufficientMemory);   /* full */
    assert_int_equal(NvSciIpcWriteGetNextFrame(a, &wf), NvSciError_InsufficientMemory);
    assert_int_equal(NvSciIpcWriteAdvance(a), NvSciError_InsufficientMemory);
    /* ReadSafe copies at most size bytes and drops the rest of the frame. */
    assert_int_equal(NvSciIpcReadSafe(b, out, 16, &n), NvSciError_Success);
    assert_int_equal(n, 16);
    assert_int_equal(out[0], 0);
    assert_int_equal(NvSciIpcRead(b, out, FS, &n32), NvSciError_Success);
    assert_int_equal(n32, FS);
    assert_int_equal(out[0], 1);
    assert_int_equal(out[FS - 1], 0xff);
    /* WriteSafe zero-fills the rest of a frame (slots previously held 0xff). */
    memset(buf, 0x5a, 10);
    assert_int_equal(NvSciIpcWriteSafe(a, buf, 10, &n), NvSciError_Success);
    assert_int_equal(NvSciIpcWrite(a, buf, 10, &n32), NvSciError_Success);
    assert_int_equal(n32, 10);
    for (i = 0; i < 2; i++) assert_int_equal(NvSciIpcReadSafe(b, out, FS, &n), NvSciError_Success);
    assert_int_equal(NvSciIpcReadGetNextFrame(b, &rf), NvSciError_Success);
    assert_int_equal(((const volatile uint8_t *)rf)[9], 0x5a);
    for (i = 10; i < FS; i++) assert_int_equal(((const volatile uint8_t *)rf)[i], 0);
    assert_int_equal(NvSciIpcReadAdvance(b), NvSciError_Success);
    assert_int_equal(NvSciIpcReadSafe(b, out, FS, &n), NvSciError_Success);
    assert_int_equal(NvSciIpcReadAdvance(b), NvSciError_InsufficientMemory);
    /* Zero-copy: write through the frame pointer. */
    assert_int_equal(NvSciIpcWriteGetNextFrame(a, &wf), NvSciError_Success);
    ((volatile uint8_t *)wf)[0] = 77;
    assert_int_equal(NvSciIpcWriteAdvance(a), NvSciError_Success);
    assert_int_equal(NvSciIpcReadGetNextFrame(b, &rf), NvSciError_Success);
    assert_int_equal(((const volatile uint8_t *)rf)[0], 77);
    assert_int_equal(NvSciIpcReadAdvance(b), NvSciError_Success);
}

static void test_event_semantics(void **state)
{
    uint8_t buf[FS];
    uint32_t n, ev;
    (void)state;
    assert_int_equal(events(a), 0);   /* nothing before a reset */
    connect_both();
    /* CONN_EST is edge-triggered: reported once. WRITE and WRITE_EMPTY are levels. */
    ev = events(a);
    assert_false(ev & NV_SCI_IPC_EVENT_CONN_EST);
    assert_int_equal(ev, NV_SCI_IPC_EVENT_WRITE | NV_SCI_IPC_EVENT_WRITE_EMPTY);
    assert_int_equal(events(a), NV_SCI_IPC_EVENT_WRITE | NV_SCI_IPC_EVENT_WRITE_EMPTY);
    memset(buf, 1, sizeof(buf));
    assert_int_equal(NvSciIpcWriteSafe(a, buf, FS, &n), NvSciError_Success);
    assert_int_equal(events(a), NV_SCI_IPC_EVENT_WRITE);
    assert_int_equal(events(b) & NV_SCI_IPC_EVENT_READ, NV_SCI_IPC_EVENT_READ);
    assert_int_equal(events(b) & NV_SCI_IPC_EVENT_READ, NV_SCI_IPC_EVENT_READ);   /* level */
    while (NvSciIpcWriteSafe(a, buf, FS, &n) == NvSciError_Success) {}
    assert_int_equal(events(a), 0);   /* full: neither WRITE nor WRITE_EMPTY */
    while (NvSciIpcReadSafe(b, buf, FS, &n) == NvSciError_Success) {}
    assert_int_equal(events(a), NV_SCI_IPC_EVENT_WRITE | NV_SCI_IPC_EVENT_WRITE_EMPTY);
    assert_false(events(b) & NV_SCI_IPC_EVENT_READ);
    /* The peer resets: CONN_RESET once, I/O refused until the channel is up again, data discarded. */
    assert_int_equal(NvSciIpcWriteSafe(a, buf, FS, &n), NvSciError_Success);
    assert_int_equal(NvSciIpcResetEndpointSafe(b), NvSciError_Success);
    assert_int_equal(NvSciIpcReadSafe(b, buf, FS, &n), NvSciError_ConnectionReset);   /* our own reset */
    ev = events(a);
    assert_true(ev & NV_SCI_IPC_EVENT_CONN_RESET);
    assert_false(events(a) & NV_SCI_IPC_EVENT_CONN_RESET);
    assert_int_equal(NvSciIpcWriteSafe(a, buf, FS, &n), NvSciError_ConnectionReset);
    ev = events(b) | events(a) | events(b);
    assert_true(events(a) & NV_SCI_IPC_EVENT_WRITE_EMPTY);
    assert_int_equal(NvSciIpcReadSafe(b, buf, FS, &n), NvSciError_InsufficientMemory);   /* discarded */
    /* Deprecated forms behave like the Safe ones. */
    assert_int_equal(NvSciIpcGetEvent(a, &ev), NvSciError_Success);
    NvSciIpcResetEndpoint(a);
    assert_int_equal(NvSciIpcWriteSafe(a, buf, FS, &n), NvSciError_ConnectionReset);
    NvSciIpcCloseEndpoint(a);
    assert_int_equal(NvSciIpcGetEvent(a, &ev), NvSciError_BadParameter);
}

static void test_event_service_errors(void **state)
{
    NvSciEventLoopService *s1, *s2;
    NvSciEventLoop *loop;
    NvSciTimerEvent *timer;
    NvSciLocalEvent *le;
    NvSciEventNotifier *na, *nb;
    NvSciEventNotifier *arr[2];
    bool fired[2];
    NvSciIpcEndpoint h;
    (void)state;
    assert_int_equal(NvSciEventLoopServiceCreateSafe(2, NULL, &s1), NvSciError_BadParameter);
    assert_int_equal(NvSciEventLoopServiceCreateSafe(1, (void *)&s1, &s1), NvSciError_BadParameter);
    assert_int_equal(NvSciEventLoopServiceCreateSafe(1, NULL, NULL), NvSciError_BadParameter);
    assert_int_equal(NvSciEventLoopServiceCreate(0, &s1), NvSciError_BadParameter);
    assert_int_equal(NvSciEventLoopServiceCreate(1, &s1), NvSciError_Success);
    assert_int_equal(NvSciEventLoopServiceCreateSafeX(1, NULL, &s2), NvSciError_Success);
    assert_int_equal(s1->CreateEventLoop(s1, &loop), NvSciError_NotSupported);
    assert_int_equal(s1->EventService.CreateTimerEvent(&s1->EventService, &timer), NvSciError_NotSupported);
    assert_int_equal(s1->EventService.CreateLocalEvent(&s1->EventService, NULL), NvSciError_BadParameter);
    assert_int_equal(s1->EventService.CreateNativeEventNotifier(&s1->EventService, NULL, &na),
                     NvSciError_BadParameter);
    assert_int_equal(s1->WaitForEvent(NULL, 0), NvSciError_BadParameter);
    /* Endpoints on the service: wait, move, multiple-wait argument checks. */
    NvSciIpcCloseEndpointSafe(a, false);
    NvSciIpcCloseEndpointSafe(b, false);
    assert_int_equal(NvSciIpcOpenEndpointWithEventService(ea, &a, &s1->EventService), NvSciError_Success);
    assert_int_equal(NvSciIpcOpenEndpointWithEventService(eb, &h, &s1->EventService), NvSciError_Success);
    assert_int_equal(NvSciIpcGetEventNotifier(a, &na), NvSciError_Success);
    assert_int_equal(NvSciIpcGetEventNotifier(h, &nb), NvSciError_Success);
    assert_int_equal(s1->WaitForEvent(na, -2), NvSciError_BadParameter);
    assert_int_equal(s1->WaitForEvent(na, 0), NvSciError_Timeout);
    assert_int_equal(s1->WaitForEvent(na, 3000), NvSciError_Timeout);
    assert_int_equal(NvSciIpcResetEndpointSafe(h), NvSciError_Success);   /* notifies a */
    assert_int_equal(s1->WaitForEvent(na, 1000000), NvSciError_Success);
    arr[0] = na;
    arr[1] = nb;
    assert_int_equal(s1->WaitForMultipleEvents(arr, 0, 0, fired), NvSciError_BadParameter);
    assert_int_equal(s1->WaitForMultipleEvents(arr, 2, 0, NULL), NvSciError_BadParameter);
    arr[1] = na;
    assert_int_equal(s1->WaitForMultipleEvents(arr, 2, 0, fired), NvSciError_BadParameter);   /* duplicate */
    arr[1] = nb;
    assert_int_equal(s1->WaitForMultipleEvents(arr, 2, 0, fired), NvSciError_Success);
    assert_true(fired[0]);
    assert_false(fired[1]);
    assert_int_equal(s1->WaitForMultipleEventsExt(&s1->EventService, arr, 2, 0, fired), NvSciError_Success);
    assert_int_equal(s1->WaitForMultipleEventsExt(NULL, arr, 2, 0, fired), NvSciError_BadParameter);
    assert_int_equal(NvSciEventMoveNotifier(&s1->EventService, &s2->EventService, na), NvSciError_Success);
    assert_int_equal(NvSciEventMoveNotifier(&s1->EventService, &s2->EventService, na), NvSciError_BadParameter);
    assert_int_equal(s2->WaitForEvent(na, 0), NvSciError_Success);
    assert_int_equal(NvSciEventMoveNotifier(NULL, &s2->EventService, na), NvSciError_BadParameter);
    /* Local events. */
    assert_int_equal(s2->EventService.CreateLocalEvent(&s2->EventService, &le), NvSciError_Success);
    assert_int_equal(le->Signal(NULL), NvSciError_BadParameter);
    assert_int_equal(le->Signal(le), NvSciError_Success);
    assert_int_equal(le->Signal(le), NvSciError_Success);
    assert_int_equal(s2->WaitForEvent(le->eventNotifier, 0), NvSciError_Success);
    assert_int_equal(s2->WaitForEvent(le->eventNotifier, 0), NvSciError_Timeout);   /* coalesced, consumed */
    le->Delete(le);
    /* Documented clean-up order. */
    na->Delete(na);
    nb->Delete(nb);
    assert_int_equal(NvSciIpcCloseEndpointSafe(a, true), NvSciError_Success);
    assert_int_equal(NvSciIpcCloseEndpointSafe(h, true), NvSciError_Success);
    NvSciIpcDeinit();
    assert_int_equal(NvSciIpcInit(), NvSciError_Success);   /* teardown's Deinit balances this one */
    s1->EventService.Delete(&s1->EventService);
    s2->EventService.Delete(&s2->EventService);
}

OSCI_TEST_MAIN(NULL, NULL, NULL,
               cmocka_unit_test_setup_teardown(test_bad_handles_and_args, setup, teardown),
               cmocka_unit_test_setup_teardown(test_fifo_full_empty_and_frames, setup, teardown),
               cmocka_unit_test_setup_teardown(test_event_semantics, setup, teardown),
               cmocka_unit_test_setup_teardown(test_event_service_errors, setup, teardown))
