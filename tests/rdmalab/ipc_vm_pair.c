/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Two-guest test of NvSciIpc INTER_VM (libipc/ipc_vm.c over the ivshmem-doorbell device), run by
 * tests/vmlab/steps/62-ipc-intervm.sh. NVSCIIPC_CFG holds the seed's line `INTER_VM <endpoint> 255`, OSCI_CONF
 * the queue table's entry for 255. Each run opens the endpoint, writes READY_FILE (when given), resets and
 * waits for CONN_EST with select() on the Linux event fd, then:
 *
 *   ipc_vm_pair EP stream server|client N [READY_FILE]
 *       the client writes N frames (even ones WriteSafe, odd ones WriteGetNextFrame/WriteAdvance), the server
 *       reads and checks every one (sequence number, pattern, checksum; ReadSafe / zero-copy alike), then
 *       the same back from the server to the client; then the server sends one "idle" frame and both sit
 *       in select() for 2 s: the client, which then waits for nothing that comes, must wake 0 times. The
 *       client closes; the server must see CONN_RESET.
 *   ipc_vm_pair EP hold K [READY_FILE2]
 *       writes K frames, then writes READY_FILE2 and sleeps until it is killed (SIGKILL by the step).
 *   ipc_vm_pair EP survive K N [READY_FILE]
 *       reads the K frames of `hold`, waits for CONN_RESET (its peer killed: the module's last words),
 *       resets, waits for CONN_EST with the peer's new process (`rejoin`), then N frames each way, then
 *       CONN_RESET when the peer closes.
 *   ipc_vm_pair EP rejoin N [READY_FILE]
 *       the peer's new process: N frames each way with `survive`, then closes.
 *
 * IPC_VM_SYNC=PREFIX: a side that gives up writes PREFIX.abort.<role>.
 * Prints a transcript and "ipc-vm <role>: N passed, N failed"; exit 0 only when nothing failed.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include "nvsciipc.h"

#define LAB_NAME "ipc-vm"
#include "lab_report.h"

#define MAGIC 0x4d56435049534f4full
#define TIMEOUT_MS 60000

static NvSciIpcEndpoint h;
static int efd = -1, is_open;
static uint32_t fsize, nframes;

static void lab_on_die(void)
{
    if (is_open) NvSciIpcCloseEndpointSafe(h, false);
    NvSciIpcDeinit();
}

static uint64_t fnv(const uint8_t *p, size_t n)
{
    uint64_t x = 1469598103934665603ull;
    while (n--) x = (x ^ *p++) * 1099511628211ull;
    return x;
}

/* frame: magic, sequence, pattern bytes, checksum of everything before it in the last 8 bytes */
static void fill(uint8_t *f, uint64_t seq)
{
    uint64_t sum;
    memcpy(f, &(uint64_t){ MAGIC }, 8);
    memcpy(f + 8, &seq, 8);
    for (size_t i = 16; i < fsize - 8; i++) f[i] = (uint8_t)(seq * 31 + i);
    sum = fnv(f, fsize - 8);
    memcpy(f + fsize - 8, &sum, 8);
}

static int check_frame(const uint8_t *f, uint64_t want)
{
    uint64_t m, seq, sum;
    memcpy(&m, f, 8);
    memcpy(&seq, f + 8, 8);
    memcpy(&sum, f + fsize - 8, 8);
    if (m != MAGIC || sum != fnv(f, fsize - 8)) return -1;   /* corrupted */
    return seq == want ? 0 : seq < want ? -2 : -3;           /* duplicated / lost or reordered */
}

/* Waits for the fd (at most ms); returns the events GetEvent reports then (0 on timeout). *wakes counts
 * the wake-ups, *empty the ones that brought nothing. */
static uint32_t wait_ev(int ms, unsigned *wakes, unsigned *empty)
{
    uint32_t ev = 0;
    fd_set rd;
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    FD_ZERO(&rd);
    FD_SET(efd, &rd);
    int n = select(efd + 1, &rd, NULL, NULL, &tv);
    if (n < 0 && errno != EINTR) die("select: %s", strerror(errno));
    if (NvSciIpcGetEventSafe(h, &ev) != NvSciError_Success) die("GetEventSafe failed");
    if (n > 0) {
        if (wakes) (*wakes)++;
        if (empty && !ev) (*empty)++;
    }
    return ev;
}

static void wait_for(uint32_t bit, const char *what)
{
    uint64_t t0 = osci_now_ms();
    uint32_t ev = 0;
    if (NvSciIpcGetEventSafe(h, &ev) != NvSciError_Success) die("GetEventSafe failed");
    while (!(ev & bit)) {
        if (osci_now_ms() - t0 > TIMEOUT_MS) die("no %s within %d ms", what, TIMEOUT_MS);
        ev = wait_ev(200, NULL, NULL);
    }
    check(true, "%s after %.0f ms", what, (double)(osci_now_ms() - t0));
}

static void open_ep(const char *name, const char *ready)
{
    struct NvSciIpcEndpointInfo info;
    if (NvSciIpcInit() != NvSciError_Success) die("NvSciIpcInit");
    NvSciError e = NvSciIpcOpenEndpoint(name, &h);
    if (e != NvSciError_Success) die("NvSciIpcOpenEndpoint(%s): %#x", name, (unsigned)e);
    is_open = 1;
    if (NvSciIpcGetLinuxEventFd(h, &efd) != NvSciError_Success) die("GetLinuxEventFd");
    if (NvSciIpcGetEndpointInfo(h, &info) != NvSciError_Success) die("GetEndpointInfo");
    nframes = info.nframes;
    fsize = info.frame_size;
    check(fsize >= 64 && nframes > 0, "opened %s: %u frames of %u bytes (the queue table's)", name, nframes, fsize);
    if (ready) {
        FILE *f = fopen(ready, "w");
        if (!f) die("%s: %s", ready, strerror(errno));
        fclose(f);
    }
    if (NvSciIpcResetEndpointSafe(h) != NvSciError_Success) die("ResetEndpointSafe");
    wait_for(NV_SCI_IPC_EVENT_CONN_EST, "CONN_EST");
}

static void send_n(uint64_t n)
{
    uint8_t *buf = malloc(fsize);
    uint64_t t0 = osci_now_ms(), waits = 0;
    if (!buf) die("malloc");
    for (uint64_t s = 0; s < n;) {
        NvSciError e;
        uint32_t bytes;
        if (s & 1) {
            volatile void *fr;
            e = NvSciIpcWriteGetNextFrame(h, &fr);
            if (e == NvSciError_Success) {
                fill(buf, s);
                memcpy((void *)fr, buf, fsize);
                e = NvSciIpcWriteAdvance(h);
            }
        } else {
            fill(buf, s);
            e = NvSciIpcWriteSafe(h, buf, fsize, &bytes);
        }
        if (e == NvSciError_Success) {
            s++;
            continue;
        }
        if (e != NvSciError_InsufficientMemory) die("write of frame %llu: %#x", (unsigned long long)s, (unsigned)e);
        if (osci_now_ms() - t0 > TIMEOUT_MS) die("writing stalled at frame %llu", (unsigned long long)s);
        wait_ev(200, NULL, NULL);
        waits++;
    }
    check(true, "wrote %llu frames of %u B in %.2f s (%llu waits for room)", (unsigned long long)n, fsize,
          (double)(osci_now_ms() - t0) / 1000.0, (unsigned long long)waits);
    free(buf);
}

static void recv_n(uint64_t n)
{
    uint8_t *buf = malloc(fsize);
    uint64_t t0 = osci_now_ms(), bad[3] = { 0, 0, 0 }, got = 0;
    if (!buf) die("malloc");
    while (got < n) {
        NvSciError e;
        uint32_t bytes;
        if (got & 1) {
            const volatile void *fr;
            e = NvSciIpcReadGetNextFrame(h, &fr);
            if (e == NvSciError_Success) {
                memcpy(buf, (const void *)fr, fsize);
                e = NvSciIpcReadAdvance(h);
            }
        } else {
            e = NvSciIpcReadSafe(h, buf, fsize, &bytes);
        }
        if (e == NvSciError_Success) {
            int r = check_frame(buf, got);
            if (r < 0) bad[-r - 1]++;
            got++;
            continue;
        }
        if (e != NvSciError_InsufficientMemory) die("read of frame %llu: %#x", (unsigned long long)got, (unsigned)e);
        if (osci_now_ms() - t0 > TIMEOUT_MS) die("reading stalled at frame %llu", (unsigned long long)got);
        wait_ev(200, NULL, NULL);
    }
    check(bad[0] + bad[1] + bad[2] == 0, "read %llu frames of %u B in %.2f s: %llu corrupted, %llu duplicated, %llu "
          "lost or reordered", (unsigned long long)n, fsize, (double)(osci_now_ms() - t0) / 1000.0,
          (unsigned long long)bad[0], (unsigned long long)bad[1], (unsigned long long)bad[2]);
    free(buf);
}

/* Idle for ms: nothing is written by either side. expect_none: any wake-up fails (the client: nothing may
 * ring it); otherwise they are reported (the server's first one is the client's read of the idle frame, which
 * empties the FIFO the server waits on; its last may be the client's close). Returns 1 when CONN_RESET came. */
static int idle(int ms, bool expect_none)
{
    unsigned wakes = 0, empty = 0;
    uint64_t t0 = osci_now_ms();
    uint32_t ev = 0;
    while ((int)(osci_now_ms() - t0) < ms && !(ev & NV_SCI_IPC_EVENT_CONN_RESET))
        ev = wait_ev(ms - (int)(osci_now_ms() - t0), &wakes, &empty);
    check(!expect_none || wakes == 0, "idle waiter for %d ms: %u wake-ups (%u reporting no event)%s", ms, wakes, empty,
          ev & NV_SCI_IPC_EVENT_CONN_RESET ? ", the last with CONN_RESET" : "");
    return !!(ev & NV_SCI_IPC_EVENT_CONN_RESET);
}

static void finish(void)
{
    if (is_open) NvSciIpcCloseEndpointSafe(h, false);
    is_open = 0;
    NvSciIpcDeinit();
    summary();
}

int main(int argc, char **argv)
{
    t_start = osci_now_ms();
    sync_prefix = getenv("IPC_VM_SYNC");   /* a side that gives up writes <it>.abort.<role> */
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 4) {
        fprintf(stderr, "usage: ipc_vm_pair EP stream server|client N [READY] | hold K [READY] | "
                        "survive K N [READY] | rejoin N [READY]\n");
        return 2;
    }
    const char *ep = argv[1], *mode = argv[2];
    if (!strcmp(mode, "stream")) {
        bool srv = !strcmp(argv[3], "server");
        uint64_t n = argc > 4 ? strtoull(argv[4], NULL, 0) : 2000;
        role = srv ? "server" : "client";
        open_ep(ep, argc > 5 ? argv[5] : NULL);
        if (srv) {
            recv_n(n);
            send_n(n);
            send_n(1);                 /* "idle" */
            if (!idle(2000, false))    /* the client's close may end it: CONN_RESET */
                wait_for(NV_SCI_IPC_EVENT_CONN_RESET, "CONN_RESET (the client closed)");
        } else {
            send_n(n);
            recv_n(n);
            recv_n(1);
            idle(2000, true);
        }
    } else if (!strcmp(mode, "hold")) {
        role = "holder";
        uint64_t k = strtoull(argv[3], NULL, 0);
        open_ep(ep, NULL);
        send_n(k);
        if (argc > 4) {
            FILE *f = fopen(argv[4], "w");
            if (f) fclose(f);
        }
        summary();   /* then wait to be killed */
        for (;;) pause();
    } else if (!strcmp(mode, "survive") && argc > 4) {
        role = "survivor";
        uint64_t k = strtoull(argv[3], NULL, 0), n = strtoull(argv[4], NULL, 0);
        open_ep(ep, argc > 5 ? argv[5] : NULL);
        recv_n(k);
        wait_for(NV_SCI_IPC_EVENT_CONN_RESET, "CONN_RESET (the peer process was killed)");
        if (NvSciIpcResetEndpointSafe(h) != NvSciError_Success) die("ResetEndpointSafe");
        wait_for(NV_SCI_IPC_EVENT_CONN_EST, "CONN_EST again (the peer's new process)");
        recv_n(n);
        send_n(n);
        wait_for(NV_SCI_IPC_EVENT_CONN_RESET, "CONN_RESET (the new process closed)");
    } else if (!strcmp(mode, "rejoin")) {
        role = "rejoiner";
        uint64_t n = strtoull(argv[3], NULL, 0);
        open_ep(ep, argc > 4 ? argv[4] : NULL);
        send_n(n);
        recv_n(n);
    } else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }
    finish();
    return n_fail ? 1 : 0;
}
