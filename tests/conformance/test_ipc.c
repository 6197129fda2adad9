/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * NvSciIpc conformance (docs/testing.md): the public NvSciIpc API's flow (open, reset, CONN_EST, write,
 * read, events on the Linux event fd, CONN_RESET when the peer closes), every frame counted and checked.
 * INTER_CHIP goes through the driver adapter 0 of OSCI_CONF names (simntb when unset); INTER_PROCESS
 * does not use a driver, so in the two-host lab each host runs those cases on its own.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nvsciipc.h"
#include "sisci_api.h"
#include "../common/osci_conform.h"
#include "../ipc/ipc_frame.h"

enum backend { BE_PROCESS, BE_CHIP };

struct stream {
    enum backend be;
    int reader_first;          /* the reader opens first, the writer after it */
    uint32_t frames;           /* the writer's frames */
    uint32_t nframes, fsize;   /* the channel */
    int zero_copy;             /* WriteGetNextFrame/WriteAdvance, ReadGetNextFrame/ReadAdvance */
};

/* 1 when the endpoint's event fd became readable within the timeout. */
static int wait_fd(int32_t fd)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    return poll(&p, 1, conform_timeout_ms()) == 1;
}

/* Waits until the endpoint has an event of `want`, sleeping on its event fd; an event of `refused` on the
 * way fails the side. */
static void wait_for(NvSciIpcEndpoint h, int32_t fd, uint32_t want, uint32_t refused)
{
    uint32_t ev;
    for (;;) {
        CHECK(NvSciIpcGetEventSafe(h, &ev) == NvSciError_Success);
        CHECK(!(ev & refused));
        if (ev & want)
            return;
        CHECK(wait_fd(fd));
    }
}

/* Side A writes, side B reads. */
static int stream_side(struct conform_side *s, void *arg)
{
    const struct stream *st = arg;
    int writer = !s->b, sci = 0;
    char ep[64], path[64] = "", text[256];
    NvSciIpcEndpoint h;
    NvSciIpcEndpointInfo info;
    int32_t fd;
    uint32_t ev, bytes;
    uint64_t seq = 0, buf[192];
    unsigned int node = 0, peer;
    sci_error_t e;

    CHECK(st->fsize <= sizeof(buf));
    if (st->be == BE_CHIP) {
        /* both ends name the same endpoint, each with the other's node as peer */
        SCIInitialize(0, &e);
        CHECK(e == SCI_ERR_OK);
        sci = 1;
        SCIGetLocalNodeId(0, &node, 0, &e);
        CHECK(e == SCI_ERR_OK);
        conform_send(s, node);
        peer = conform_recv(s);
        snprintf(ep, sizeof(ep), "conform_chip_%u_%u", st->fsize, st->reader_first);
        snprintf(text, sizeof(text), "#CFGVER:1\nINTER_CHIP %s 0000 peer=%u nframes=%u frame_size=%u\n", ep, peer,
                 st->nframes, st->fsize);
    } else {
        char a[64], b[64];
        snprintf(a, sizeof(a), "cfp%d_%u_%u_w", (int)getppid(), st->fsize, st->reader_first);
        snprintf(b, sizeof(b), "cfp%d_%u_%u_r", (int)getppid(), st->fsize, st->reader_first);
        snprintf(ep, sizeof(ep), "%s", writer ? a : b);
        snprintf(text, sizeof(text), "#CFGVER:1\nINTER_PROCESS %s %s %u %u\n", a, b, st->nframes, st->fsize);
    }
    CHECK(tcfg_write(path, sizeof(path), "conform-ipc", 0600, "%s", text) == 0);
    /* the second opener waits for the first */
    if (writer == st->reader_first)
        CHECK(conform_recv(s) == 1);
    CHECK(NvSciIpcInit() == NvSciError_Success);
    CHECK(NvSciIpcOpenEndpoint(ep, &h) == NvSciError_Success);
    unlink(path);
    CHECK(NvSciIpcGetLinuxEventFd(h, &fd) == NvSciError_Success && fd >= 0);
    CHECK(NvSciIpcGetEndpointInfo(h, &info) == NvSciError_Success);
    CHECK(info.nframes == st->nframes && info.frame_size == st->fsize);
    CHECK(NvSciIpcResetEndpointSafe(h) == NvSciError_Success);
    if (writer != st->reader_first)
        conform_send(s, 1);
    wait_for(h, fd, NV_SCI_IPC_EVENT_CONN_EST_ALL, 0);     /* established */
    if (writer) {
        while (seq < st->frames) {
            wait_for(h, fd, NV_SCI_IPC_EVENT_WRITE, NV_SCI_IPC_EVENT_CONN_RESET);
            if (st->zero_copy) {
                volatile void *f = NULL;
                NvSciError err = NvSciIpcWriteGetNextFrame(h, &f);
                if (err == NvSciError_InsufficientMemory)
                    continue;
                CHECK(err == NvSciError_Success && f);
                fill(f, seq);
                CHECK(NvSciIpcWriteAdvance(h) == NvSciError_Success);
            } else {
                NvSciError err;
                fill(buf, seq);
                err = NvSciIpcWriteSafe(h, buf, st->fsize, &bytes);
                if (err == NvSciError_InsufficientMemory)
                    continue;
                CHECK(err == NvSciError_Success && bytes == st->fsize);
            }
            seq++;
        }
        /* the reader counted every frame before the writer closes */
        CHECK(conform_recv(s) == st->frames);
    } else {
        uint32_t bad = 0;
        while (seq < st->frames) {
            wait_for(h, fd, NV_SCI_IPC_EVENT_READ, NV_SCI_IPC_EVENT_CONN_RESET);
            if (st->zero_copy) {
                const volatile void *f = NULL;
                NvSciError err = NvSciIpcReadGetNextFrame(h, &f);
                if (err == NvSciError_InsufficientMemory)
                    continue;
                CHECK(err == NvSciError_Success && f);
                if (!check(f, seq) && !bad)
                    bad = (uint32_t)seq + 1;
                CHECK(NvSciIpcReadAdvance(h) == NvSciError_Success);
            } else {
                NvSciError err = NvSciIpcReadSafe(h, buf, st->fsize, &bytes);
                if (err == NvSciError_InsufficientMemory)
                    continue;
                CHECK(err == NvSciError_Success && bytes == st->fsize);
                if (!check(buf, seq) && !bad)
                    bad = (uint32_t)seq + 1;
            }
            seq++;
        }
        if (bad)
            fprintf(stderr, "reader: frame %u bad\n", bad - 1);
        CHECK(bad == 0);
        /* nothing beyond the frames written */
        CHECK(NvSciIpcGetEventSafe(h, &ev) == NvSciError_Success);
        CHECK(!(ev & NV_SCI_IPC_EVENT_READ));
        conform_send(s, (uint32_t)seq);
        /* the writer closes: CONN_RESET */
        wait_for(h, fd, NV_SCI_IPC_EVENT_CONN_RESET, NV_SCI_IPC_EVENT_READ);
    }
    NvSciIpcCloseEndpointSafe(h, false);
    NvSciIpcDeinit();
    if (sci)
        SCITerminate();
    return 0;
}

static struct stream proc_w_first = { BE_PROCESS, 0, 2000, 16, 64, 0 };
static struct stream proc_r_first = { BE_PROCESS, 1, 2000, 16, 64, 0 };
static struct stream proc_zero_copy = { BE_PROCESS, 0, 500, 16, 1536, 1 };
static struct stream chip_w_first = { BE_CHIP, 0, 300, 64, 64, 0 };
static struct stream chip_r_first = { BE_CHIP, 1, 300, 64, 64, 0 };
static struct stream chip_zero_copy = { BE_CHIP, 0, 100, 16, 1536, 1 };

CONFORM_MAIN("ipc",
             CONFORM_CASE_LOCAL("ipc_process_writer_first", stream_side, stream_side, &proc_w_first),
             CONFORM_CASE_LOCAL("ipc_process_reader_first", stream_side, stream_side, &proc_r_first),
             CONFORM_CASE_LOCAL("ipc_process_zero_copy", stream_side, stream_side, &proc_zero_copy),
             CONFORM_CASE("ipc_chip_writer_first", stream_side, stream_side, &chip_w_first),
             CONFORM_CASE("ipc_chip_reader_first", stream_side, stream_side, &chip_r_first),
             CONFORM_CASE("ipc_chip_zero_copy", stream_side, stream_side, &chip_zero_copy))
