/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* osci-demo: two nodes share a segment, an interrupt and an NvSciIpc INTER_CHIP channel (run by
 * tools/demo.sh, `make demo`).
 *   osci-demo server [options]            node A: exports a segment, waits for the client's interrupt
 *   osci-demo client --node N [options]   node B: connects to A's segment, writes a pattern, interrupts A;
 *                                         then B sends frames over the channel, A verifies them and answers */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nvscievent.h"
#include "nvsciipc.h"
#include "sisci_api.h"
#include "tool_time.h"

#define ADAPTER 0

struct opts {
    int server;
    unsigned int node, segment_id, intno, timeout_s;
    size_t size;
};

static const char *me = "?";

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;
    printf("[%s] ", me);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

static int failed(const char *call, sci_error_t err)
{
    say("FAILED: %s: %s", call, SCIGetErrorString(err));
    return -1;
}

static const char *reason_str(sci_segment_cb_reason_t r)
{
    switch (r) {
    case SCI_CB_CONNECT: return "CB_CONNECT";
    case SCI_CB_DISCONNECT: return "CB_DISCONNECT";
    case SCI_CB_NOT_OPERATIONAL: return "CB_NOT_OPERATIONAL";
    case SCI_CB_OPERATIONAL: return "CB_OPERATIONAL";
    case SCI_CB_LOST: return "CB_LOST";
    }
    return "unknown event";
}

static uint8_t pattern(size_t i)
{
    return (uint8_t)(i * 131u + 7u);
}

static unsigned int left_ms(uint64_t deadline)
{
    uint64_t now = tool_now_ms();
    return now >= deadline ? 0 : (unsigned int)(deadline - now);
}

/* Waits for one owner-side event, printing the others on the way; -1 on timeout or error. */
static int wait_local_event(sci_local_segment_t seg, unsigned int id, sci_segment_cb_reason_t want, uint64_t deadline,
                            unsigned int *node_p)
{
    for (;;) {
        unsigned int node = 0, adapter = 0;
        sci_error_t err;
        unsigned int t = left_ms(deadline);
        if (t == 0) {
            say("FAILED: no %s on segment %u in time", reason_str(want), id);
            return -1;
        }
        sci_segment_cb_reason_t r = SCIWaitForLocalSegmentEvent(seg, &node, &adapter, t, 0, &err);
        if (err != SCI_ERR_OK)
            return failed("SCIWaitForLocalSegmentEvent", err);
        say("segment %u: %s from node %u (adapter %u)", id, reason_str(r), node, adapter);
        if (r == want) {
            if (node_p)
                *node_p = node;
            return 0;
        }
    }
}

/* ---- the NvSciIpc INTER_CHIP channel (docs/nvsciipc.md "INTER_CHIP"), NVIDIA's documented flow ---- */

#define CHAN_NAME "demo_c2c"   /* both nodes name the same endpoint; each config points at the other node */
#define CHAN_NFRAMES 64u
#define CHAN_FRAME 64u         /* a frame: text, NUL-padded, then a 64-bit checksum of the text part */
#define CHAN_TEXT (CHAN_FRAME - 8u)
#define CHAN_COUNT 8u          /* frames B sends; A answers with one */

struct chan {
    NvSciIpcEndpoint h;
    int inited, opened;
    int fd;                       /* A: NvSciIpcGetLinuxEventFd, waited on with poll() */
    NvSciEventLoopService *svc;   /* B: the event service and the endpoint's notifier */
    NvSciEventNotifier *note;
};

static int chan_failed(const char *call, NvSciError e)
{
    say("FAILED: %s: NvSciError %#x", call, (unsigned int)e);
    return -1;
}

static uint64_t frame_sum(const uint8_t *f)
{
    uint64_t h = 0xcbf29ce484222325ull;   /* FNV-1a 64 */
    for (unsigned int i = 0; i < CHAN_TEXT; i++)
        h = (h ^ f[i]) * 0x100000001b3ull;
    return h;
}

static void frame_make(uint8_t *f, const char *text)
{
    uint64_t sum;
    memset(f, 0, CHAN_FRAME);
    snprintf((char *)f, CHAN_TEXT, "%s", text);
    sum = frame_sum(f);
    memcpy(f + CHAN_TEXT, &sum, sizeof(sum));
}

/* 0 when the checksum holds and the text is `want` (any text when `want` is NULL). */
static int frame_check(const uint8_t *f, const char *want)
{
    uint64_t sum;
    memcpy(&sum, f + CHAN_TEXT, sizeof(sum));
    if (sum != frame_sum(f) || memchr(f, 0, CHAN_TEXT) == NULL)
        return -1;
    return want && strcmp((const char *)f, want) ? -1 : 0;
}

/* Each node writes its own config (by now it knows the peer's node id) and loads it: NvSciIpcInit reads
 * NVSCIIPC_CFG once, so the file is removed right after. Under $TMPDIR (demo.sh points it at its own
 * temporary directory), else /tmp. */
static int chan_init(struct chan *c, unsigned int peer)
{
    const char *tmp = getenv("TMPDIR");
    char path[PATH_MAX];
    NvSciError e;
    FILE *f;
    int fd, ok;

    snprintf(path, sizeof(path), "%s/osci-demo-%s." "XX" "XX" "XX", tmp && *tmp ? tmp : "/tmp", me);
    fd = mkstemp(path);
    if (fd < 0) {
        say("FAILED: cannot create the channel config %s: %s", path, strerror(errno));
        return -1;
    }
    f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        unlink(path);
        say("FAILED: fdopen: %s", strerror(errno));
        return -1;
    }
    fprintf(f, "#CFGVER:1\nINTER_CHIP %s 0000 peer=%u nframes=%u frame_size=%u\n", CHAN_NAME, peer, CHAN_NFRAMES,
            CHAN_FRAME);
    ok = fclose(f) == 0;
    if (ok)
        ok = setenv("NVSCIIPC_CFG", path, 1) == 0;
    e = ok ? NvSciIpcInit() : NvSciError_Unknown;
    unlink(path);
    if (!ok) {
        say("FAILED: cannot write the channel config %s", path);
        return -1;
    }
    if (e != NvSciError_Success)
        return chan_failed("NvSciIpcInit", e);
    c->inited = 1;
    say("channel config: INTER_CHIP %s 0000 peer=%u nframes=%u frame_size=%u", CHAN_NAME, peer, CHAN_NFRAMES,
        CHAN_FRAME);
    return 0;
}

/* Waits for a notification, until the deadline at most; -1 when the deadline has passed or the wait failed. */
static int chan_sleep(struct chan *c, uint64_t deadline)
{
    unsigned int t = left_ms(deadline);
    if (t == 0)
        return -1;
    if (c->svc) {
        NvSciError e = c->svc->WaitForEvent(c->note, (int64_t)t * 1000);
        return e == NvSciError_Success || e == NvSciError_Timeout || e == NvSciError_InterruptedCall ? 0 :
               chan_failed("WaitForEvent", e);
    }
    struct pollfd p = { .fd = c->fd, .events = POLLIN };
    if (poll(&p, 1, (int)t) < 0 && errno != EINTR) {
        say("FAILED: poll: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* Loops NvSciIpcGetEventSafe until one of `want` is reported; the events, or 0 (the reason said). A
 * CONN_RESET that was not asked for is a failure: the peer reset or closed its end. */
static uint32_t chan_wait(struct chan *c, uint32_t want, const char *what, uint64_t deadline)
{
    for (;;) {
        uint32_t ev = 0;
        NvSciError e = NvSciIpcGetEventSafe(c->h, &ev);
        if (e != NvSciError_Success) {
            chan_failed("NvSciIpcGetEventSafe", e);
            return 0;
        }
        if (ev & want)
            return ev;
        if (ev & NV_SCI_IPC_EVENT_CONN_RESET) {
            say("FAILED: channel %s: CONN_RESET while waiting for %s", CHAN_NAME, what);
            return 0;
        }
        if (chan_sleep(c, deadline)) {
            if (!left_ms(deadline))
                say("FAILED: channel %s: no %s in time", CHAN_NAME, what);
            return 0;
        }
    }
}

/* Open, query, reset, wait for CONN_EST. With `service`, through NvSciEventService; else the Linux fd. */
static int chan_open(struct chan *c, unsigned int peer, int service, uint64_t deadline)
{
    NvSciIpcEndpointInfo info;
    NvSciError e;

    if (chan_init(c, peer))
        return -1;
    if (service) {
        e = NvSciEventLoopServiceCreateSafe(1, NULL, &c->svc);
        if (e != NvSciError_Success) {
            c->svc = NULL;
            return chan_failed("NvSciEventLoopServiceCreateSafe", e);
        }
        e = NvSciIpcOpenEndpointWithEventService(CHAN_NAME, &c->h, &c->svc->EventService);
        if (e != NvSciError_Success)
            return chan_failed("NvSciIpcOpenEndpointWithEventService", e);
        c->opened = 1;
        e = NvSciIpcGetEventNotifier(c->h, &c->note);
        if (e != NvSciError_Success) {
            c->note = NULL;
            return chan_failed("NvSciIpcGetEventNotifier", e);
        }
    } else {
        int32_t fd;
        e = NvSciIpcOpenEndpoint(CHAN_NAME, &c->h);
        if (e != NvSciError_Success)
            return chan_failed("NvSciIpcOpenEndpoint", e);
        c->opened = 1;
        e = NvSciIpcGetLinuxEventFd(c->h, &fd);
        if (e != NvSciError_Success)
            return chan_failed("NvSciIpcGetLinuxEventFd", e);
        c->fd = fd;
    }
    e = NvSciIpcGetEndpointInfo(c->h, &info);
    if (e != NvSciError_Success)
        return chan_failed("NvSciIpcGetEndpointInfo", e);
    if (info.frame_size < CHAN_FRAME) {
        say("FAILED: channel %s: frames of %u B, the demo needs %u", CHAN_NAME, info.frame_size, CHAN_FRAME);
        return -1;
    }
    say("channel %s: opened (%s), reset, waiting for node %u", CHAN_NAME,
        service ? "NvSciEventService notifier" : "Linux event fd", peer);
    e = NvSciIpcResetEndpointSafe(c->h);
    if (e != NvSciError_Success)
        return chan_failed("NvSciIpcResetEndpointSafe", e);
    if (!chan_wait(c, NV_SCI_IPC_EVENT_CONN_EST, "CONN_EST", deadline))
        return -1;
    say("channel %s -> node %u: CONN_EST (%u frames of %u B)", CHAN_NAME, peer, info.nframes, info.frame_size);
    return 0;
}

static int chan_write(struct chan *c, const uint8_t *frame, uint64_t deadline)
{
    for (;;) {
        uint32_t bytes = 0;
        NvSciError e = NvSciIpcWriteSafe(c->h, frame, CHAN_FRAME, &bytes);
        if (e == NvSciError_Success)
            return 0;
        if (e != NvSciError_InsufficientMemory)   /* the peer's FIFO is full: wait for WRITE */
            return chan_failed("NvSciIpcWriteSafe", e);
        if (!chan_wait(c, NV_SCI_IPC_EVENT_WRITE, "WRITE", deadline))
            return -1;
    }
}

static int chan_read(struct chan *c, uint8_t *frame, uint64_t deadline)
{
    for (;;) {
        uint32_t bytes = 0;
        NvSciError e = NvSciIpcReadSafe(c->h, frame, CHAN_FRAME, &bytes);
        if (e == NvSciError_Success)
            return 0;
        if (e != NvSciError_InsufficientMemory)   /* nothing to read yet: wait for READ */
            return chan_failed("NvSciIpcReadSafe", e);
        if (!chan_wait(c, NV_SCI_IPC_EVENT_READ, "READ", deadline))
            return -1;
    }
}

/* NVIDIA's order: the notifier, the endpoint, NvSciIpcDeinit, then the event service. */
static void chan_close(struct chan *c)
{
    if (c->note)
        c->note->Delete(c->note);
    if (c->opened) {
        NvSciError e = NvSciIpcCloseEndpointSafe(c->h, false);
        if (e != NvSciError_Success)
            chan_failed("NvSciIpcCloseEndpointSafe", e);
        else
            say("channel %s: closed", CHAN_NAME);
    }
    if (c->inited)
        NvSciIpcDeinit();
    if (c->svc)
        c->svc->EventService.Delete(&c->svc->EventService);
    memset(c, 0, sizeof(*c));
}

/* Node A: receives CHAN_COUNT frames from `peer`, verifies them, answers with one, and closes once the peer
 * has closed its end (so the answer is read before the channel goes away). */
static int chan_server(unsigned int peer, uint64_t deadline)
{
    struct chan c = { 0 };
    uint8_t frame[CHAN_FRAME];
    char want[CHAN_TEXT];
    int rc = -1;

    if (chan_open(&c, peer, 0, deadline))
        goto out_close;
    for (unsigned int k = 1; k <= CHAN_COUNT; k++) {
        if (chan_read(&c, frame, deadline))
            goto out_close;
        snprintf(want, sizeof(want), "frame %u of %u", k, CHAN_COUNT);
        if (frame_check(frame, want)) {
            frame[CHAN_TEXT - 1] = 0;
            say("FAILED: channel %s: frame %u is \"%s\" or its checksum is wrong, expected \"%s\"", CHAN_NAME, k,
                (const char *)frame, want);
            goto out_close;
        }
    }
    say("channel: %u frames received and verified", CHAN_COUNT);
    snprintf(want, sizeof(want), "node A verified %u frames", CHAN_COUNT);
    frame_make(frame, want);
    if (chan_write(&c, frame, deadline))
        goto out_close;
    say("channel: reply sent");
    if (!chan_wait(&c, NV_SCI_IPC_EVENT_CONN_RESET, "CONN_RESET (node B closing)", deadline))
        goto out_close;
    say("channel %s: CONN_RESET (node %u closed its end)", CHAN_NAME, peer);
    rc = 0;
out_close:
    chan_close(&c);
    return rc;
}

/* Node B: sends CHAN_COUNT frames to `peer`, reads and checks the answer, closes. */
static int chan_client(unsigned int peer, uint64_t deadline)
{
    struct chan c = { 0 };
    uint8_t frame[CHAN_FRAME];
    char text[CHAN_TEXT];
    int rc = -1;

    if (chan_open(&c, peer, 1, deadline))
        goto out_close;
    for (unsigned int k = 1; k <= CHAN_COUNT; k++) {
        snprintf(text, sizeof(text), "frame %u of %u", k, CHAN_COUNT);
        frame_make(frame, text);
        if (chan_write(&c, frame, deadline))
            goto out_close;
    }
    say("channel: %u frames written", CHAN_COUNT);
    if (chan_read(&c, frame, deadline))
        goto out_close;
    if (frame_check(frame, NULL)) {
        say("FAILED: channel %s: the reply's checksum is wrong", CHAN_NAME);
        goto out_close;
    }
    say("channel: reply from node %u: \"%s\"", peer, (const char *)frame);
    rc = 0;
out_close:
    chan_close(&c);
    return rc;
}

/* This process as an OpenSCI node: library, descriptor, node id. On failure nothing is left open. */
static int node_open(sci_desc_t *sd, unsigned int *node)
{
    sci_error_t err;

    SCIInitialize(0, &err);
    if (err != SCI_ERR_OK)
        return failed("SCIInitialize", err);
    SCIOpen(sd, 0, &err);
    if (err != SCI_ERR_OK) {
        failed("SCIOpen", err);
        goto out_terminate;
    }
    SCIGetLocalNodeId(ADAPTER, node, 0, &err);
    if (err != SCI_ERR_OK) {
        failed("SCIGetLocalNodeId", err);
        SCIClose(*sd, 0, &err);
        goto out_terminate;
    }
    say("node %u on adapter %u", *node, ADAPTER);
    return 0;

out_terminate:
    SCITerminate();
    say("FAILED");
    return -1;
}

/* Closes what node_open opened; the run's result, made a failure if closing fails. */
static int node_close(sci_desc_t sd, int rc)
{
    sci_error_t err;

    SCIClose(sd, 0, &err);
    if (err != SCI_ERR_OK) {
        failed("SCIClose", err);
        rc = -1;
    }
    SCITerminate();
    say(rc == 0 ? "done" : "FAILED");
    return rc;
}

static int run_server(const struct opts *o)
{
    sci_desc_t sd;
    sci_local_segment_t seg = NULL;
    sci_local_interrupt_t intr = NULL;
    sci_map_t map = NULL;
    volatile uint8_t *mem = NULL;
    sci_error_t err;
    unsigned int node = 0, intno = o->intno, client = 0;
    uint64_t deadline = tool_now_ms() + o->timeout_s * 1000ull;
    int rc = -1, avail = 0;

    if (node_open(&sd, &node) < 0)
        return -1;

    SCICreateInterrupt(sd, &intr, ADAPTER, &intno, NULL, NULL, SCI_FLAG_FIXED_INTNO, &err);
    if (err != SCI_ERR_OK) {
        intr = NULL;
        failed("SCICreateInterrupt", err);
        goto out_close;
    }
    say("interrupt %u: created", intno);

    SCICreateSegment(sd, &seg, o->segment_id, o->size, NULL, NULL, 0, &err);
    if (err != SCI_ERR_OK) {
        seg = NULL;
        failed("SCICreateSegment", err);
        goto out_intr;
    }
    SCIPrepareSegment(seg, ADAPTER, 0, &err);
    if (err != SCI_ERR_OK) {
        failed("SCIPrepareSegment", err);
        goto out_seg;
    }
    mem = SCIMapLocalSegment(seg, &map, 0, o->size, NULL, 0, &err);
    if (err != SCI_ERR_OK) {
        map = NULL;
        failed("SCIMapLocalSegment", err);
        goto out_seg;
    }
    memset((void *)mem, 0, o->size);
    SCISetSegmentAvailable(seg, ADAPTER, 0, &err);
    if (err != SCI_ERR_OK) {
        failed("SCISetSegmentAvailable", err);
        goto out_seg;
    }
    avail = 1;
    say("segment %u: CREATED -> PREPARED -> AVAILABLE (%zu bytes)", o->segment_id, o->size);
    say("waiting for a client: osci-demo client --node %u   (watch: osci-seginfo -v)", node);

    if (wait_local_event(seg, o->segment_id, SCI_CB_CONNECT, deadline, &client))
        goto out_seg;
    SCIWaitForInterrupt(intr, left_ms(deadline), 0, &err);
    if (err != SCI_ERR_OK) {
        failed("SCIWaitForInterrupt", err);
        goto out_seg;
    }
    say("interrupt %u: received (node %u has written the segment)", intno, client);

    for (size_t i = 0; i < o->size; i++) {
        if (mem[i] != pattern(i)) {
            say("FAILED: pattern mismatch at offset %zu: %#x, expected %#x", i, mem[i], pattern(i));
            goto out_seg;
        }
    }
    say("segment %u: pattern verified, %zu bytes", o->segment_id, o->size);

    if (chan_server(client, deadline))
        goto out_seg;

    SCISetSegmentUnavailable(seg, ADAPTER, SCI_FLAG_NOTIFY, &err);
    if (err != SCI_ERR_OK) {
        failed("SCISetSegmentUnavailable", err);
        goto out_seg;
    }
    avail = 0;
    say("segment %u: AVAILABLE -> PREPARED (unavailable, connected nodes notified)", o->segment_id);
    if (wait_local_event(seg, o->segment_id, SCI_CB_DISCONNECT, deadline, NULL))
        goto out_seg;
    rc = 0;

out_seg:
    if (avail)
        SCISetSegmentUnavailable(seg, ADAPTER, 0, &err);
    if (map) {
        SCIUnmapSegment(map, 0, &err);
        if (err != SCI_ERR_OK) {
            failed("SCIUnmapSegment", err);
            rc = -1;
        }
    }
    if (seg) {
        /* after a failure the client may still be connected: it gets CB_DISCONNECT */
        SCIRemoveSegment(seg, rc ? SCI_FLAG_FORCE_REMOVE : 0, &err);
        if (err != SCI_ERR_OK) {
            failed("SCIRemoveSegment", err);
            rc = -1;
        } else {
            say("segment %u: removed", o->segment_id);
        }
    }
out_intr:
    if (intr) {
        SCIRemoveInterrupt(intr, 0, &err);
        if (err != SCI_ERR_OK) {
            failed("SCIRemoveInterrupt", err);
            rc = -1;
        }
    }
out_close:
    return node_close(sd, rc);
}

static int run_client(const struct opts *o)
{
    sci_desc_t sd;
    sci_remote_segment_t rseg = NULL;
    sci_remote_interrupt_t rintr = NULL;
    sci_map_t map = NULL;
    volatile uint8_t *mem;
    sci_error_t err = SCI_ERR_OK, last = SCI_ERR_OK;
    unsigned int node = 0, tries = 0;
    uint64_t deadline = tool_now_ms() + o->timeout_s * 1000ull;
    int rc = -1;
    size_t size;

    if (node_open(&sd, &node) < 0)
        return -1;

    /* The server may not have made the segment available yet: retry until it has. */
    say("remote segment %u@node %u: CONNECTING", o->segment_id, o->node);
    for (;;) {
        unsigned int t = left_ms(deadline);
        if (t == 0) {
            failed("SCIConnectSegment (gave up)", last);
            goto out_close;
        }
        SCIConnectSegment(sd, &rseg, o->node, o->segment_id, ADAPTER, NULL, NULL, t < 1000 ? t : 1000, 0, &err);
        if (err == SCI_ERR_OK)
            break;
        rseg = NULL;
        if (err != last)
            say("remote segment %u@node %u: not yet (%s), retrying", o->segment_id, o->node, SCIGetErrorString(err));
        last = err;
        tries++;
        usleep(50000);
    }
    size = SCIGetRemoteSegmentSize(rseg);
    say("remote segment %u@node %u: CONNECTING -> OPERATIONAL (%zu bytes, %u retr%s)", o->segment_id, o->node, size,
        tries, tries == 1 ? "y" : "ies");

    mem = SCIMapRemoteSegment(rseg, &map, 0, size, NULL, 0, &err);
    if (err != SCI_ERR_OK) {
        map = NULL;
        failed("SCIMapRemoteSegment", err);
        goto out_disconnect;
    }
    for (size_t i = 0; i < size; i++)
        mem[i] = pattern(i);
    SCIFlush(NULL, 0);
    say("remote segment %u@node %u: wrote the pattern into %zu bytes", o->segment_id, o->node, size);

    SCIConnectInterrupt(sd, &rintr, o->node, ADAPTER, o->intno, left_ms(deadline), 0, &err);
    if (err != SCI_ERR_OK) {
        rintr = NULL;
        failed("SCIConnectInterrupt", err);
        goto out_unmap;
    }
    SCITriggerInterrupt(rintr, 0, &err);
    if (err != SCI_ERR_OK) {
        failed("SCITriggerInterrupt", err);
        goto out_unmap;
    }
    say("interrupt %u@node %u: triggered", o->intno, o->node);

    if (chan_client(o->node, deadline))
        goto out_unmap;

    /* The server verifies, then sets the segment unavailable with NOTIFY: wait for that. */
    for (;;) {
        sci_error_t status = SCI_ERR_OK;
        unsigned int t = left_ms(deadline);
        if (t == 0) {
            say("FAILED: no CB_DISCONNECT from the server in time");
            goto out_unmap;
        }
        sci_segment_cb_reason_t r = SCIWaitForRemoteSegmentEvent(rseg, &status, t, 0, &err);
        if (err != SCI_ERR_OK) {
            failed("SCIWaitForRemoteSegmentEvent", err);
            goto out_unmap;
        }
        if (r == SCI_CB_DISCONNECT) {
            say("remote segment %u@node %u: OPERATIONAL -> DISCONNECTING_OPERATIONAL (CB_DISCONNECT)", o->segment_id,
                o->node);
            break;
        }
        if (r == SCI_CB_LOST) {
            say("FAILED: remote segment %u@node %u: CB_LOST", o->segment_id, o->node);
            goto out_unmap;
        }
        say("remote segment %u@node %u: %s", o->segment_id, o->node, reason_str(r));
    }
    rc = 0;

out_unmap:
    if (rintr) {
        SCIDisconnectInterrupt(rintr, 0, &err);
        if (err != SCI_ERR_OK) {
            failed("SCIDisconnectInterrupt", err);
            rc = -1;
        }
    }
    if (map) {
        SCIUnmapSegment(map, 0, &err);
        if (err != SCI_ERR_OK) {
            failed("SCIUnmapSegment", err);
            rc = -1;
        }
    }
out_disconnect:
    SCIDisconnectSegment(rseg, 0, &err);
    if (err != SCI_ERR_OK) {
        failed("SCIDisconnectSegment", err);
        rc = -1;
    } else {
        say("remote segment %u@node %u: disconnected", o->segment_id, o->node);
    }
out_close:
    return node_close(sd, rc);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: osci-demo server [options]\n"
               "       osci-demo client --node N [options]\n"
               "  -n, --node N          the server's node id (client)\n"
               "  -s, --segment-id N    segment id (default 7)\n"
               "  -i, --intno N         interrupt number (default 3)\n"
               "  -z, --size N          segment size in bytes (server; default 16384)\n"
               "  -t, --timeout S       give up after S seconds (default 20)\n"
               "After the segment, both open the NvSciIpc INTER_CHIP channel " CHAN_NAME ": each writes its own\n"
               "config (peer = the other node) under $TMPDIR or /tmp, loads it and removes it (NVSCIIPC_CFG is\n"
               "overridden).\n"
               "\n"
               "By hand, in two terminals on one host (the same OSCI_FABRIC, default \"default\"):\n"
               "  osci-demo server --timeout 120        prints \"[A] node N on adapter 0\"\n"
               "  osci-demo client --node N\n"
               "and in a third, while they run: osci-seginfo -v (the nodes, the segment and its state),\n"
               "osci-seginfo --fabrics (the fabrics on this host).\n");
}

static int parse_uint(const char *opt, const char *arg, unsigned long max, unsigned long *out)
{
    char *end;
    unsigned long v = strtoul(arg, &end, 0);
    if (end == arg || *end || *arg == '-' || v > max) {
        fprintf(stderr, "osci-demo: %s needs a number up to %lu, not '%s'\n", opt, max, arg);
        return -1;
    }
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "node", required_argument, NULL, 'n' },  { "segment-id", required_argument, NULL, 's' },
        { "intno", required_argument, NULL, 'i' }, { "size", required_argument, NULL, 'z' },
        { "timeout", required_argument, NULL, 't' }, { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct opts o = { .segment_id = 7, .intno = 3, .timeout_s = 20, .size = 16384 };
    unsigned long v;
    int ch;

    if (argc < 2 || (strcmp(argv[1], "server") && strcmp(argv[1], "client"))) {
        if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
            usage(stdout);
            return 0;
        }
        usage(stderr);
        return 2;
    }
    o.server = !strcmp(argv[1], "server");
    me = o.server ? "A" : "B";
    optind = 2;
    while ((ch = getopt_long(argc, argv, "n:s:i:z:t:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'n': if (parse_uint("--node", optarg, 0xffffffffUL, &v)) return 2; o.node = (unsigned int)v; break;
        case 's': if (parse_uint("--segment-id", optarg, 0xffffffffUL, &v)) return 2; o.segment_id = (unsigned int)v; break;
        case 'i': if (parse_uint("--intno", optarg, 0xffffffffUL, &v)) return 2; o.intno = (unsigned int)v; break;
        case 'z': if (parse_uint("--size", optarg, 1UL << 30, &v) || v == 0) return 2; o.size = v; break;
        case 't': if (parse_uint("--timeout", optarg, 3600, &v) || v == 0) return 2; o.timeout_s = (unsigned int)v; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "osci-demo: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (!o.server && o.node == 0) {
        fprintf(stderr, "osci-demo: the client needs --node (the server prints its node id)\n");
        return 2;
    }
    return (o.server ? run_server(&o) : run_client(&o)) == 0 ? 0 : 1;
}
