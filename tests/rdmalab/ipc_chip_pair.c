/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Two-host test of NvSciIpc INTER_CHIP channels (libipc/ipc_chip.c over libseg), run by
 * tests/vmlab/steps/60-ipc-chip-rdma.sh on two guests with soft-RoCE (adapter 0 = rdma: the backend
 * takes transfer maps and SCIMemCpy). Also runs between two processes of one host over simntb.
 *
 *   ipc_chip_pair --role server|client --channel NAME,NFRAMES,FRAME_SIZE,COUNT [--channel ...]
 *                 [--sync PREFIX] [--card-type HEX] [--timeout-ms N]
 *
 * NVSCIIPC_CFG names each channel's endpoint as `INTER_CHIP NAME <info> peer=<node> nframes=NFRAMES
 * frame_size=FRAME_SIZE` (the same name on both nodes). Both sides: NvSciIpcInit, NvSciIpcOpenEndpoint,
 * NvSciIpcGetLinuxEventFd, NvSciIpcGetEndpointInfo (checked against NFRAMES, FRAME_SIZE),
 * NvSciIpcResetEndpointSafe, then NvSciIpcGetEventSafe until CONN_EST, waiting with select() on the fd.
 * Per channel, in order, the client writes COUNT frames of FRAME_SIZE bytes (each: a magic, its
 * sequence number, the count, a pattern of the sequence number, a 64-bit FNV-1a checksum of all the
 * rest); the server reads them and counts frames lost, duplicated, reordered and corrupted, then writes
 * one summary frame back, which the client checks. Channel 1, 3, ... use the zero-copy calls
 * (WriteGetNextFrame/WriteAdvance, ReadGetNextFrame/ReadAdvance), the others WriteSafe/ReadSafe.
 * Closing: the client closes its endpoints and calls NvSciIpcDeinit; the server must see CONN_RESET on
 * each endpoint, then closes it and calls NvSciIpcDeinit.
 * --card-type: SCIQuery must report this adapter 0 card type (0x5103: rdma).
 * --sync PREFIX: a side that gives up writes PREFIX.abort.<role>; the other stops waiting when it sees it.
 * Prints a transcript and "ipc-chip-rdma <role>: N passed, N failed"; exit 0 only when nothing failed.
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
#include "sisci_api.h"

#define LAB_NAME "ipc-chip-rdma"
#include "lab_report.h"

#define MAX_CH 4
#define MAGIC_DATA 0x4154414443504952ull   /* "RIPCDATA" */
#define MAGIC_SUM 0x4d55534443504952ull    /* "RIPCDSUM" */
#define SLICE_US 200000                    /* select() slices: the peer's abort file is checked between them */

struct channel {
    char name[NVSCIIPC_MAX_ENDPOINT_NAME];
    uint32_t nframes, fsize;
    uint64_t count;
    NvSciIpcEndpoint h;
    int fd;
    bool open;
};

static bool server, sci_ref;
static struct channel ch[MAX_CH];
static unsigned int n_ch, timeout_ms = 20000, want_card;

/* ---------------------------------------------------------------- checks (lab_report.h) */

static bool check_err(NvSciError err, const char *what)
{
    if (err == NvSciError_Success)
        return check(true, "%s", what);
    return check(false, "%s: NvSciError %#x", what, (unsigned int)err);
}

/* Before a fatal exit: close what is open. */
static void lab_on_die(void)
{
    for (unsigned int i = 0; i < n_ch; i++)
        if (ch[i].open)
            NvSciIpcCloseEndpointSafe(ch[i].h, false);
    NvSciIpcDeinit();
    if (sci_ref)
        SCITerminate();
}

/* ---------------------------------------------------------------- frames */

static uint64_t fnv64(const void *p, size_t len)
{
    const uint8_t *b = p;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t pattern(uint64_t seq, size_t i)
{
    return (seq * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)i * 0xBF58476D1CE4E5B9ull) ^ (seq << 32 | i);
}

/* Words: magic, seq, count, pattern ..., checksum of the words before it. */
static void fill_data(uint64_t *w, size_t fsize, uint64_t seq, uint64_t count)
{
    size_t n = fsize / 8;
    w[0] = MAGIC_DATA;
    w[1] = seq;
    w[2] = count;
    for (size_t i = 3; i < n - 1; i++)
        w[i] = pattern(seq, i);
    w[n - 1] = fnv64(w, (n - 1) * 8);
}

/* 1 a good data frame of `count` (seq in *seq), 0 corrupted. */
static int parse_data(const uint64_t *w, size_t fsize, uint64_t count, uint64_t *seq)
{
    size_t n = fsize / 8;
    if (w[n - 1] != fnv64(w, (n - 1) * 8) || w[0] != MAGIC_DATA || w[2] != count || w[1] >= count)
        return 0;
    for (size_t i = 3; i < n - 1; i++)
        if (w[i] != pattern(w[1], i))
            return 0;
    *seq = w[1];
    return 1;
}

struct tally {
    uint64_t received, good, corrupt, lost, dup, reordered;
};

static void fill_sum(uint64_t *w, size_t fsize, const struct tally *t)
{
    size_t n = fsize / 8;
    memset(w, 0, fsize);
    w[0] = MAGIC_SUM;
    w[1] = t->received;
    w[2] = t->good;
    w[3] = t->corrupt;
    w[4] = t->lost;
    w[5] = t->dup;
    w[6] = t->reordered;
    w[n - 1] = fnv64(w, (n - 1) * 8);
}

static int parse_sum(const uint64_t *w, size_t fsize, struct tally *t)
{
    size_t n = fsize / 8;
    if (w[0] != MAGIC_SUM || w[n - 1] != fnv64(w, (n - 1) * 8))
        return 0;
    *t = (struct tally){ w[1], w[2], w[3], w[4], w[5], w[6] };
    return 1;
}

/* Durations (us) of the successful write or read calls of one stream. */
struct lat {
    uint64_t *us;
    uint64_t n;
};

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static const char *lat_str(struct lat *l, char *buf, size_t len)
{
    if (!l->n) {
        snprintf(buf, len, "no calls");
        return buf;
    }
    uint64_t slow = 0;
    qsort(l->us, l->n, sizeof(*l->us), cmp_u64);
    for (uint64_t i = 0; i < l->n; i++)
        slow += l->us[i] >= 10000;
    snprintf(buf, len, "per call min %.2f ms, median %.2f ms, 90%% %.2f ms, max %.2f ms; %llu of %llu took 10 ms or more",
             (double)l->us[0] / 1000.0, (double)l->us[l->n / 2] / 1000.0, (double)l->us[l->n * 9 / 10] / 1000.0,
             (double)l->us[l->n - 1] / 1000.0, (unsigned long long)slow, (unsigned long long)l->n);
    return buf;
}

/* ---------------------------------------------------------------- events */

static const char *ev_str(uint32_t ev, char *buf, size_t len)
{
    snprintf(buf, len, "%s%s%s%s%s", ev & NV_SCI_IPC_EVENT_CONN_EST ? " CONN_EST" : "",
             ev & NV_SCI_IPC_EVENT_CONN_RESET ? " CONN_RESET" : "", ev & NV_SCI_IPC_EVENT_READ ? " READ" : "",
             ev & NV_SCI_IPC_EVENT_WRITE ? " WRITE" : "", ev & NV_SCI_IPC_EVENT_WRITE_EMPTY ? " WRITE_EMPTY" : "");
    if (!buf[0])
        snprintf(buf, len, " none");
    return buf;
}

/* GetEventSafe until one of `want` shows up, select() on the Linux event fd between calls (the
 * documented loop: wait only after GetEventSafe reported nothing wanted). Returns the events, 0 when
 * `timeout` ms passed without them or the peer aborted. An unwanted CONN_RESET ends it too (returned). */
static uint32_t wait_for(struct channel *c, uint32_t want, unsigned int timeout)
{
    uint64_t deadline = osci_now_ms() + timeout;
    for (;;) {
        uint32_t ev = 0;
        fd_set rfds;
        struct timeval tv = { 0, SLICE_US };
        NvSciError err = NvSciIpcGetEventSafe(c->h, &ev);
        if (err != NvSciError_Success)
            die("%s: NvSciIpcGetEventSafe: NvSciError %#x", c->name, (unsigned int)err);
        if (ev & want)
            return ev;
        if (ev & NV_SCI_IPC_EVENT_CONN_RESET)
            return ev;
        if (osci_now_ms() >= deadline || peer_aborted())
            return 0;
        FD_ZERO(&rfds);
        FD_SET(c->fd, &rfds);
        if (select(c->fd + 1, &rfds, NULL, NULL, &tv) < 0 && errno != EINTR)
            die("select on the event fd of %s: %s", c->name, strerror(errno));
    }
}

/* ---------------------------------------------------------------- steps */

static void open_channel(struct channel *c)
{
    NvSciIpcEndpointInfo info;
    NvSciError err;
    int32_t fd = -1;

    err = NvSciIpcOpenEndpoint(c->name, &c->h);
    if (!check(err == NvSciError_Success, "NvSciIpcOpenEndpoint(%s): NvSciError %#x", c->name, (unsigned int)err))
        die("NvSciIpcOpenEndpoint(%s) failed", c->name);
    c->open = true;
    err = NvSciIpcGetLinuxEventFd(c->h, &fd);
    if (!check(err == NvSciError_Success && fd >= 0, "%s: NvSciIpcGetLinuxEventFd: fd %d", c->name, (int)fd))
        die("no event fd");
    c->fd = fd;
    err = NvSciIpcGetEndpointInfo(c->h, &info);
    if (!check(err == NvSciError_Success && info.nframes == c->nframes && info.frame_size == c->fsize,
               "%s: NvSciIpcGetEndpointInfo: nframes %u, frame_size %u (expected %u, %u)", c->name,
               err == NvSciError_Success ? info.nframes : 0, err == NvSciError_Success ? info.frame_size : 0,
               c->nframes, c->fsize))
        die("the endpoint's geometry is not the configured one");
}

static void establish(struct channel *c, uint64_t t0)
{
    char buf[80];
    uint32_t ev = wait_for(c, NV_SCI_IPC_EVENT_CONN_EST, timeout_ms);
    if (!check(ev & NV_SCI_IPC_EVENT_CONN_EST, "%s: CONN_EST after %llu ms (events%s)", c->name,
               (unsigned long long)(osci_now_ms() - t0), ev_str(ev, buf, sizeof(buf))))
        die("%s: the connection was not established within %u ms", c->name, timeout_ms);
}

/* One frame into c, copying (WriteSafe) or zero-copy (WriteGetNextFrame + WriteAdvance). */
static NvSciError put_frame(struct channel *c, const uint64_t *w, bool zc)
{
    NvSciError err;
    if (zc) {
        volatile void *f;
        err = NvSciIpcWriteGetNextFrame(c->h, &f);
        if (err != NvSciError_Success)
            return err;
        memcpy((void *)f, w, c->fsize);
        return NvSciIpcWriteAdvance(c->h);
    } else {
        uint32_t bytes = 0;
        err = NvSciIpcWriteSafe(c->h, w, c->fsize, &bytes);
        if (err == NvSciError_Success && bytes != c->fsize)
            die("%s: NvSciIpcWriteSafe wrote %u bytes of %u", c->name, bytes, c->fsize);
        return err;
    }
}

static NvSciError get_frame(struct channel *c, uint64_t *w, bool zc)
{
    NvSciError err;
    if (zc) {
        const volatile void *f;
        err = NvSciIpcReadGetNextFrame(c->h, &f);
        if (err != NvSciError_Success)
            return err;
        memcpy(w, (const void *)f, c->fsize);
        return NvSciIpcReadAdvance(c->h);
    } else {
        uint32_t bytes = 0;
        err = NvSciIpcReadSafe(c->h, w, c->fsize, &bytes);
        if (err == NvSciError_Success && bytes != c->fsize)
            die("%s: NvSciIpcReadSafe read %u bytes of %u", c->name, bytes, c->fsize);
        return err;
    }
}

/* Writes (or reads) one frame, waiting for WRITE while the FIFO is full (READ while it is empty). false on
 * timeout (logged). */
static bool xfer_one(struct channel *c, uint64_t *w, bool write, bool zc, uint64_t *waits, struct lat *l)
{
    uint32_t want = write ? NV_SCI_IPC_EVENT_WRITE : NV_SCI_IPC_EVENT_READ;
    for (;;) {
        char buf[80];
        uint32_t ev;
        uint64_t t0 = osci_now_us();
        NvSciError err = write ? put_frame(c, w, zc) : get_frame(c, w, zc);
        if (err == NvSciError_Success) {
            if (l)
                l->us[l->n++] = osci_now_us() - t0;
            return true;
        }
        if (err != NvSciError_InsufficientMemory)
            die("%s: %s: NvSciError %#x", c->name, write ? "write" : "read", (unsigned int)err);
        (*waits)++;
        ev = wait_for(c, want, timeout_ms);
        if (!(ev & want)) {
            say("%s: no %s within %u ms (events%s)", c->name, write ? "WRITE" : "READ", timeout_ms,
                ev_str(ev, buf, sizeof(buf)));
            return false;
        }
    }
}

static double per_s(uint64_t n, uint64_t ms)
{
    return ms ? (double)n * 1000.0 / (double)ms : 0.0;
}

static void client_stream(struct channel *c, bool zc)
{
    uint64_t *w = calloc(1, c->fsize), waits = 0, t0 = osci_now_ms(), ms, seq;
    struct tally t = { 0 };
    struct lat l = { calloc(c->count, sizeof(uint64_t)), 0 };
    char lbuf[200];
    if (!w || !l.us)
        die("out of memory");
    for (seq = 0; seq < c->count; seq++) {
        fill_data(w, c->fsize, seq, c->count);
        if (!xfer_one(c, w, true, zc, &waits, &l))
            break;
    }
    ms = osci_now_ms() - t0;
    say("%s: writes: %s", c->name, lat_str(&l, lbuf, sizeof(lbuf)));
    check(seq == c->count, "%s: wrote %llu of %llu frames of %u B (%s) in %llu ms, %.0f frames/s, %llu waits for WRITE",
          c->name, (unsigned long long)seq, (unsigned long long)c->count, c->fsize,
          zc ? "WriteGetNextFrame/WriteAdvance" : "WriteSafe", (unsigned long long)ms, per_s(seq, ms),
          (unsigned long long)waits);
    waits = 0;
    if (!xfer_one(c, w, false, zc, &waits, NULL))
        die("%s: no summary from the server", c->name);
    if (!check(parse_sum(w, c->fsize, &t), "%s: summary frame from the server intact", c->name))
        die("%s: corrupted summary", c->name);
    check(t.received == c->count && t.good == c->count && !t.corrupt && !t.lost && !t.dup && !t.reordered,
          "%s: server's summary: received %llu, good %llu, corrupted %llu, lost %llu, duplicated %llu, "
          "reordered %llu (sent %llu)", c->name, (unsigned long long)t.received, (unsigned long long)t.good,
          (unsigned long long)t.corrupt, (unsigned long long)t.lost, (unsigned long long)t.dup,
          (unsigned long long)t.reordered, (unsigned long long)c->count);
    free(l.us);
    free(w);
}

static void server_stream(struct channel *c, bool zc)
{
    uint64_t *w = calloc(1, c->fsize), waits = 0, t0 = 0, ms, next = 0, seq, sum_waits = 0;
    uint8_t *seen = calloc(1, c->count);
    struct tally t = { 0 };
    struct lat l = { calloc(c->count, sizeof(uint64_t)), 0 };
    char lbuf[200];
    if (!w || !seen || !l.us)
        die("out of memory");
    while (t.received < c->count) {
        if (!xfer_one(c, w, false, zc, &waits, &l))
            break;
        if (t.received++ == 0)
            t0 = osci_now_ms();
        if (!parse_data(w, c->fsize, c->count, &seq)) {
            if (t.corrupt++ < 5)
                say("%s: frame %llu corrupted (word 0 %#llx, word 1 %llu)", c->name,
                    (unsigned long long)(t.received - 1), (unsigned long long)w[0], (unsigned long long)w[1]);
            continue;
        }
        if (seen[seq]) {
            if (t.dup++ < 5)
                say("%s: frame %llu duplicated", c->name, (unsigned long long)seq);
            continue;
        }
        seen[seq] = 1;
        if (seq == next) {
            t.good++;
        } else if (t.reordered++ < 5) {
            say("%s: frame %llu arrived where %llu was due", c->name, (unsigned long long)seq,
                (unsigned long long)next);
        }
        next = seq + 1;
    }
    ms = t0 ? osci_now_ms() - t0 : 0;
    say("%s: reads that found a frame: %s", c->name, lat_str(&l, lbuf, sizeof(lbuf)));
    for (seq = 0; seq < c->count; seq++)
        t.lost += !seen[seq];
    check(t.received == c->count && t.good == c->count && !t.corrupt && !t.lost && !t.dup && !t.reordered,
          "%s: read %llu frames of %u B (%s) in %llu ms after the first, %.0f frames/s, %llu waits for READ: "
          "good %llu, corrupted %llu, lost %llu, duplicated %llu, reordered %llu", c->name,
          (unsigned long long)t.received, c->fsize, zc ? "ReadGetNextFrame/ReadAdvance" : "ReadSafe",
          (unsigned long long)ms, per_s(t.received, ms), (unsigned long long)waits, (unsigned long long)t.good,
          (unsigned long long)t.corrupt, (unsigned long long)t.lost, (unsigned long long)t.dup,
          (unsigned long long)t.reordered);
    fill_sum(w, c->fsize, &t);
    check(xfer_one(c, w, true, zc, &sum_waits, NULL), "%s: summary frame written back", c->name);
    free(l.us);
    free(seen);
    free(w);
}

static void card_type_check(void)
{
    sci_query_adapter_t q = { .localAdapterNo = 0, .subcommand = SCI_Q_ADAPTER_CARD_TYPE };
    unsigned int type = 0, node = 0;
    sci_error_t err;
    q.data = &type;
    SCIQuery(SCI_Q_ADAPTER, &q, 0, &err);
    if (err == SCI_ERR_OK)
        SCIGetLocalNodeId(0, &node, 0, &err);
    if (!check(err == SCI_ERR_OK && type == want_card, "adapter 0: card type %#x (expected %#x), node %u", type,
               want_card, node))
        die("adapter 0 is not the expected one");
}

static int run(void)
{
    sci_error_t serr = SCI_ERR_OK;
    NvSciError err;
    uint64_t t0;

    if (want_card) {   /* a reference of our own: libipc's SCIInitialize/SCITerminate then only count */
        SCIInitialize(0, &serr);
        if (serr != SCI_ERR_OK)
            die("SCIInitialize: %s", SCIGetErrorString(serr));
        sci_ref = true;
        card_type_check();
    }
    err = NvSciIpcInit();
    if (!check_err(err, "NvSciIpcInit") || err != NvSciError_Success)
        die("NvSciIpcInit failed (NVSCIIPC_CFG=%s)", getenv("NVSCIIPC_CFG") ? getenv("NVSCIIPC_CFG") : "unset");
    for (unsigned int i = 0; i < n_ch; i++)
        open_channel(&ch[i]);
    t0 = osci_now_ms();
    for (unsigned int i = 0; i < n_ch; i++)
        if (!check(NvSciIpcResetEndpointSafe(ch[i].h) == NvSciError_Success, "%s: NvSciIpcResetEndpointSafe", ch[i].name))
            die("reset failed");
    for (unsigned int i = 0; i < n_ch; i++)
        establish(&ch[i], t0);

    for (unsigned int i = 0; i < n_ch; i++) {
        say("%s: %llu frames of %u B through %u slots, %s", ch[i].name, (unsigned long long)ch[i].count,
            ch[i].fsize, ch[i].nframes, server ? "reading" : "writing");
        if (server)
            server_stream(&ch[i], i % 2 == 1);
        else
            client_stream(&ch[i], i % 2 == 1);
    }

    /* Closing: the client first (it has read the summaries); the server sees that as CONN_RESET. */
    for (unsigned int i = 0; i < n_ch; i++) {
        struct channel *c = &ch[i];
        if (server) {
            char buf[80];
            uint64_t t1 = osci_now_ms();
            uint32_t ev = wait_for(c, NV_SCI_IPC_EVENT_CONN_RESET, timeout_ms);
            check(ev & NV_SCI_IPC_EVENT_CONN_RESET, "%s: the client's close seen as CONN_RESET after %llu ms "
                  "(events%s)", c->name, (unsigned long long)(osci_now_ms() - t1), ev_str(ev, buf, sizeof(buf)));
        }
        c->open = false;
        NvSciIpcCloseEndpointSafe(c->h, false);
        say("%s: endpoint closed", c->name);
    }
    NvSciIpcDeinit();
    say("NvSciIpcDeinit done");
    if (sci_ref)
        SCITerminate();
    summary();
    return n_fail ? 1 : 0;
}

/* ---------------------------------------------------------------- main */

static void parse_channel(const char *arg)
{
    char buf[256], *f[4], *save = NULL, *p;
    unsigned int n = 0;
    struct channel *c;
    if (n_ch >= MAX_CH || strlen(arg) >= sizeof(buf))
        lab_usage();
    strcpy(buf, arg);
    for (p = strtok_r(buf, ",", &save); p && n < 4; p = strtok_r(NULL, ",", &save))
        f[n++] = p;
    if (n != 4 || p || strlen(f[0]) >= NVSCIIPC_MAX_ENDPOINT_NAME)
        lab_usage();
    c = &ch[n_ch++];
    snprintf(c->name, sizeof(c->name), "%s", f[0]);
    c->nframes = (uint32_t)lab_num(f[1], 65536);
    c->fsize = (uint32_t)lab_num(f[2], 1u << 20);
    c->count = lab_num(f[3], 100000000);
    if (c->fsize % 64) {
        fprintf(stderr, "ipc_chip_pair: frame size %u of %s is not a multiple of 64\n", c->fsize, c->name);
        exit(2);
    }
    c->fd = -1;
}

int main(int argc, char **argv)
{
    static const struct lab_opt opts[] = {
        { "--channel", .fn = parse_channel },
        { "--card-type", .num = &want_card, .max = 0xffff },
        { "--timeout-ms", .num = &timeout_ms, .max = 600000 },
        { NULL },
    };

    server = lab_args(argc, argv, opts, "usage: ipc_chip_pair --role server|client --channel "
                      "NAME,NFRAMES,FRAME_SIZE,COUNT [--channel ...] [--sync PREFIX] [--card-type HEX] [--timeout-ms N]");
    if (!n_ch)
        lab_usage();
    return run();
}
