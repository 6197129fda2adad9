/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * osci-bench rdma suite: RDMA WRITE bandwidth, write ping-pong latency and read latency through the
 * SISCI API on an rdma adapter, between two hosts (the same operations as perftest's ib_write_bw,
 * ib_write_lat and ib_read_lat). Each host runs one process: the server owns a segment and answers,
 * the client drives every test and prints the results.
 *
 * Each side creates one segment and connects to the peer's. The client sends commands by writing
 * into the server's control area (parameters first, then the sequence word: RC writes land in
 * order). Transfers use SCIMemCpy: through a load/store map where the adapter has one ("memcpy"),
 * else through a transfer map (SCI_FLAG_OSCI_TRANSFER_MAP: the driver's RDMA WRITE/READ from the
 * calling thread, "transfer"); or DMA queues (SCIStartDmaTransfer, "dma"). The path is reported
 * as the result's mode.
 *
 * Segment layout (both sides):
 *   CTL_RX   0      written by the peer: u64 seq, u32 cmd, u32 size, u64 count; u64 hello at 64
 *   CTL_TX   256    staging for what this side writes into the peer's control area
 *   PP_RX    4096   ping-pong slot written by the peer (the last 8 bytes carry the sequence number)
 *   PP_TX    8192   ping-pong staging
 *   RD       12288  landing area of reads
 *   BW       16384  bandwidth area, BW_MAX bytes
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "opensci/osci.h"
#include "sisci_api.h"
#include "bench.h"
#include "tool_json.h"

#define SEG_ID_SERVER 0x0B20u
#define SEG_ID_CLIENT 0x0B21u
#define CTL_RX        0u
#define CTL_HELLO     64u
#define CTL_TX        256u
#define PP_RX         4096u
#define PP_TX         8192u
#define RD_AREA       12288u
#define BW_AREA       16384u
#define SLOT_MAX      4096u
#define BW_MAX        (1024u * 1024u)
#define SEG_SIZE      (BW_AREA + BW_MAX)
#define BW_QUEUES     8u              /* most DMA queues in flight for bandwidth (--dma-queues) */
#define HELLO         0x4f53424e00000001ull   /* "OSBN", protocol 1 */
#define CONNECT_MS    60000
#define WAIT_MS       60000           /* longest wait for the peer's next write */
#define DMA_WAIT_MS   30000

enum { CMD_PINGPONG = 1, CMD_QUIT = 2 };

struct rsess {
    sci_desc_t sd;
    int inited, opened, avail, server;
    unsigned int adapter, self, peer;
    char driver[OSCI_NAME_MAX + 1], device[65];
    sci_local_segment_t lseg;
    sci_map_t lmap;
    volatile uint8_t *mem;
    sci_remote_segment_t rseg;
    sci_map_t rmap;                  /* NULL: the DMA path */
    sci_sequence_t seq;              /* on rmap: SCIFlush and the check after a bandwidth run */
    int transfer_map;                /* rmap has no CPU pointer: SCIMemCpy is the driver's put/get */
    sci_dma_queue_t dq[BW_QUEUES];
    unsigned int nq;
    uint64_t cmd_seq, served;
    const char *path;                /* "memcpy", "transfer" or "dma", kept after teardown for the JSON */
    unsigned int queues;
};

static struct rsess S;

static int fail(char *err, size_t len, const char *call, sci_error_t e)
{
    snprintf(err, len, "%s: %s", call, SCIGetErrorString(e));
    return -1;
}

static const char *path_name(void)
{
    return S.path ? S.path : "none";
}

/* Copies size bytes at local offset loff to the peer's segment at roff (read: the other way) and waits. */
static int xfer(size_t loff, size_t roff, size_t size, int read, sci_error_t *e)
{
    if (S.rmap) {
        SCIMemCpy(NULL, (void *)(S.mem + loff), S.rmap, roff, size, read ? SCI_FLAG_BLOCK_READ : 0, e);
        return *e == SCI_ERR_OK ? 0 : -1;
    }
    SCIStartDmaTransfer(S.dq[0], S.lseg, S.rseg, loff, size, roff, NULL, NULL,
                        SCI_FLAG_DMA_WAIT | (read ? SCI_FLAG_DMA_READ : 0), e);
    return *e == SCI_ERR_OK ? 0 : -1;
}

static volatile uint64_t *word(size_t off)
{
    return (volatile uint64_t *)(S.mem + off);
}

/* Spins on a word of local segment memory until the peer has written want; -1 after WAIT_MS. */
static int wait_word(size_t off, uint64_t want)
{
    unsigned int spins = 0;
    uint64_t deadline = 0;
    while (__atomic_load_n(word(off), __ATOMIC_ACQUIRE) != want) {
        bench_cpu_relax();
        if (++spins % 4096 == 0) {
            uint64_t now = tool_now_ns();
            if (!deadline)
                deadline = now + WAIT_MS * 1000000ull;
            else if (now > deadline)
                return -1;
        }
    }
    return 0;
}

/*
 * The server's wait for the next command: polls every COMMAND_POLL_US and sleeps between polls, so
 * that while the client measures bandwidth or reads, this host's CPU is idle, as perftest's server
 * is then (in the lab a server polling every 0.5 ms or spinning gave slower reads and writes). A
 * command is picked up that much later: the first, unmeasured, iterations of a test absorb it.
 */
#define COMMAND_POLL_US 20000
static int wait_command(size_t off, uint64_t want)
{
    uint64_t deadline = tool_now_ns() + WAIT_MS * 1000000ull;
    while (__atomic_load_n(word(off), __ATOMIC_ACQUIRE) != want) {
        if (tool_now_ns() > deadline)
            return -1;
        usleep(COMMAND_POLL_US);
    }
    return 0;
}

static int find_adapter(const struct bench_opts *o, char *err, size_t len)
{
    struct osci_adapter_info ad[8];
    unsigned int n = 0;
    int rc = osci_info_adapters(ad, 8, &n), found = -1;
    if (rc) {
        snprintf(err, len, "cannot list the adapters: %s", osci_strerror(rc));
        return -1;
    }
    for (unsigned int i = 0; i < n && i < 8; i++) {
        int rdma = !strncmp(ad[i].driver, "rdma", sizeof(ad[i].driver));
        if (o->adapter >= 0 ? ad[i].adapter_no == (unsigned int)o->adapter : rdma) {
            found = (int)i;
            break;
        }
    }
    if (found < 0) {
        if (o->adapter >= 0)
            snprintf(err, len, "adapter %d is not configured (OSCI_CONF or /etc/opensci/opensci.conf)", o->adapter);
        else
            snprintf(err, len, "no rdma adapter is configured: add one to opensci.conf (OSCI_CONF or "
                               "/etc/opensci/opensci.conf), e.g. 'adapter 1 rdma dev=rxe0', and the nodes to "
                               "hosts.conf (docs/rdma.md)");
        return -1;
    }
    S.adapter = ad[found].adapter_no;
    memcpy(S.driver, ad[found].driver, sizeof(ad[found].driver));
    S.driver[sizeof(ad[found].driver)] = 0;
    memcpy(S.device, ad[found].name, sizeof(ad[found].name));
    S.device[sizeof(ad[found].name)] = 0;
    if (strcmp(S.driver, "rdma"))
        fprintf(stderr, "osci-bench: adapter %u uses the %s driver, not rdma: its figures are not RDMA figures\n",
                S.adapter, S.driver);
    return 0;
}

static int create_local(char *err, size_t len)
{
    sci_error_t e;
    SCICreateSegment(S.sd, &S.lseg, S.server ? SEG_ID_SERVER : SEG_ID_CLIENT, SEG_SIZE, NULL, NULL, 0, &e);
    if (e != SCI_ERR_OK) {
        S.lseg = NULL;
        return fail(err, len, "SCICreateSegment", e);
    }
    SCIPrepareSegment(S.lseg, S.adapter, 0, &e);
    if (e != SCI_ERR_OK)
        return fail(err, len, "SCIPrepareSegment", e);
    S.mem = SCIMapLocalSegment(S.lseg, &S.lmap, 0, SEG_SIZE, NULL, 0, &e);
    if (e != SCI_ERR_OK) {
        S.lmap = NULL;
        return fail(err, len, "SCIMapLocalSegment", e);
    }
    memset((void *)S.mem, 0, SEG_SIZE);
    SCISetSegmentAvailable(S.lseg, S.adapter, 0, &e);
    if (e != SCI_ERR_OK)
        return fail(err, len, "SCISetSegmentAvailable", e);
    S.avail = 1;
    return 0;
}

/* The peer may start later: retry until its segment is available. */
static int connect_peer(const struct bench_opts *o, char *err, size_t len)
{
    sci_error_t e = SCI_ERR_OK;
    uint64_t deadline = tool_now_ns() + CONNECT_MS * 1000000ull;
    do {
        SCIConnectSegment(S.sd, &S.rseg, S.peer, S.server ? SEG_ID_CLIENT : SEG_ID_SERVER, S.adapter, NULL, NULL,
                          1000, 0, &e);
        if (e == SCI_ERR_OK)
            break;
        S.rseg = NULL;
        usleep(50000);
    } while (tool_now_ns() < deadline);
    if (e != SCI_ERR_OK) {
        snprintf(err, len, "SCIConnectSegment(node %u, segment %#x, adapter %u) for %d s: %s", S.peer,
                 S.server ? SEG_ID_CLIENT : SEG_ID_SERVER, S.adapter, CONNECT_MS / 1000, SCIGetErrorString(e));
        return -1;
    }
    if (SCIGetRemoteSegmentSize(S.rseg) != SEG_SIZE) {
        snprintf(err, len, "the peer's segment has %zu bytes, not %u: another osci-bench version?",
                 SCIGetRemoteSegmentSize(S.rseg), SEG_SIZE);
        return -1;
    }
    if (o->path == BENCH_PATH_AUTO || o->path == BENCH_PATH_MEMCPY) {
        (void)SCIMapRemoteSegment(S.rseg, &S.rmap, 0, SEG_SIZE, NULL, 0, &e);
        if (e != SCI_ERR_OK) {
            S.rmap = NULL;
            if (e != SCI_ERR_NOT_SUPPORTED || o->path == BENCH_PATH_MEMCPY)
                return fail(err, len, "SCIMapRemoteSegment", e);
        }
    }
    if (!S.rmap && (o->path == BENCH_PATH_AUTO || o->path == BENCH_PATH_TRANSFER)) {
        /* No load/store map (rdma): SCIMemCpy through a transfer map goes straight to RDMA WRITE/READ. */
        (void)SCIMapRemoteSegment(S.rseg, &S.rmap, 0, SEG_SIZE, NULL, SCI_FLAG_OSCI_TRANSFER_MAP, &e);
        if (e != SCI_ERR_OK) {
            S.rmap = NULL;
            return fail(err, len, "SCIMapRemoteSegment(SCI_FLAG_OSCI_TRANSFER_MAP)", e);
        }
        S.transfer_map = 1;
    }
    if (S.rmap) {
        SCICreateMapSequence(S.rmap, &S.seq, 0, &e);
        if (e != SCI_ERR_OK) {
            S.seq = NULL;
            return fail(err, len, "SCICreateMapSequence", e);
        }
    }
    if (!S.rmap) {
        /* One CPU: each waiting queue worker polls and competes with soft-RoCE; two measured best there. */
        unsigned int want = o->dma_queues ? o->dma_queues : o->ncpu < 2 ? 2 : 4;
        for (S.nq = 0; S.nq < want && S.nq < BW_QUEUES; S.nq++) {
            SCICreateDMAQueue(S.sd, &S.dq[S.nq], S.adapter, 1, 0, &e);
            if (e != SCI_ERR_OK)
                return fail(err, len, "SCICreateDMAQueue", e);
        }
    }
    S.path = !S.rmap ? "dma" : S.transfer_map ? "transfer" : "memcpy";
    S.queues = S.nq;
    return 0;
}

int bench_rdma_open(const struct bench_opts *o, char *err, size_t len)
{
    sci_error_t e;
    memset(&S, 0, sizeof(S));
    S.server = o->role == BENCH_ROLE_SERVER;
    S.peer = o->peer_node;
    /* One CPU: the spinning side must let the soft-RoCE and library threads run. */
    bench_yield_spin = o->ncpu < 2;
    SCIInitialize(0, &e);
    if (e != SCI_ERR_OK)
        return fail(err, len, "SCIInitialize", e);
    S.inited = 1;
    SCIOpen(&S.sd, 0, &e);
    if (e != SCI_ERR_OK)
        return fail(err, len, "SCIOpen", e);
    S.opened = 1;
    if (find_adapter(o, err, len))
        return -1;
    SCIGetLocalNodeId(S.adapter, &S.self, 0, &e);
    if (e != SCI_ERR_OK)
        return fail(err, len, "SCIGetLocalNodeId", e);
    if (S.self == S.peer) {
        snprintf(err, len, "--peer-node %u is this node's own id on adapter %u", S.peer, S.adapter);
        return -1;
    }
    if (create_local(err, len) || connect_peer(o, err, len))
        return -1;
    if (S.server) {
        /* Tell the client that its segment is reachable from here. */
        sci_error_t xe;
        *word(CTL_TX) = HELLO;
        if (xfer(CTL_TX, CTL_HELLO, 8, 0, &xe))
            return fail(err, len, "hello write", xe);
    } else if (wait_word(CTL_HELLO, HELLO)) {
        snprintf(err, len, "the server (node %u) did not answer within %d s", S.peer, WAIT_MS / 1000);
        return -1;
    }
    return 0;
}

/* Teardown in the order the segment rules need: our use of the peer first, then our segment,
 * which stays busy until the peer has disconnected from it. */
static void teardown(void)
{
    sci_error_t e;
    if (S.avail)
        SCISetSegmentUnavailable(S.lseg, S.adapter, 0, &e);   /* no new connections from here on */
    S.avail = 0;
    for (unsigned int i = 0; i < S.nq; i++)
        SCIRemoveDMAQueue(S.dq[i], 0, &e);
    S.nq = 0;
    if (S.seq)
        SCIRemoveSequence(S.seq, 0, &e);
    S.seq = NULL;
    if (S.rmap)
        SCIUnmapSegment(S.rmap, 0, &e);
    S.rmap = NULL;
    if (S.rseg)
        SCIDisconnectSegment(S.rseg, 0, &e);
    S.rseg = NULL;
    if (S.lmap)
        SCIUnmapSegment(S.lmap, 0, &e);
    S.lmap = NULL;
    if (S.lseg) {   /* a peer still connected is disconnected by the removal */
        SCIRemoveSegment(S.lseg, 0, &e);
        if (e != SCI_ERR_OK)
            fprintf(stderr, "osci-bench: SCIRemoveSegment: %s\n", SCIGetErrorString(e));
    }
    S.lseg = NULL;
    if (S.opened)
        SCIClose(S.sd, 0, &e);
    if (S.inited)
        SCITerminate();
    S.opened = S.inited = 0;
}

static int send_cmd(uint32_t cmd, uint32_t size, uint64_t count, sci_error_t *e)
{
    uint32_t p[4] = { cmd, size, (uint32_t)count, (uint32_t)(count >> 32) };
    memcpy((void *)(S.mem + CTL_TX + 8), p, sizeof(p));
    *word(CTL_TX) = ++S.cmd_seq;
    if (xfer(CTL_TX + 8, CTL_RX + 8, sizeof(p), 0, e))
        return -1;
    return xfer(CTL_TX, CTL_RX, 8, 0, e);
}

void bench_rdma_close(void)
{
    sci_error_t e;
    if (S.rseg && send_cmd(CMD_QUIT, 0, 0, &e))
        fprintf(stderr, "osci-bench: telling the server to stop: %s\n", SCIGetErrorString(e));
    teardown();
}

void bench_rdma_json(void)
{
    printf(",\n  \"rdma\": {\"adapter\": %u, \"driver\": ", S.adapter);
    tool_json_str(S.driver);
    printf(", \"device\": ");
    tool_json_str(S.device);
    printf(", \"node_id\": %u, \"peer_node\": %u, \"path\": \"%s\", \"dma_queues\": %u}", S.self, S.peer,
           path_name(), S.queues);
}

/* ---- server ---- */

static int serve_pingpong(uint32_t size, uint64_t count)
{
    sci_error_t e;
    for (uint64_t i = 1; i <= count; i++) {
        if (wait_word(PP_RX + size - 8, i)) {
            fprintf(stderr, "osci-bench: server: ping %" PRIu64 " of %" PRIu64 " never came\n", i, count);
            return -1;
        }
        *word(PP_TX + size - 8) = i;
        if (xfer(PP_TX, PP_RX, size, 0, &e)) {
            fprintf(stderr, "osci-bench: server: pong %" PRIu64 ": %s\n", i, SCIGetErrorString(e));
            return -1;
        }
    }
    return 0;
}

int bench_rdma_serve(const struct bench_opts *o)
{
    char err[BENCH_ERR_MAX * 2];
    int rc = 1;
    if (bench_rdma_open(o, err, sizeof(err))) {
        fprintf(stderr, "osci-bench: rdma server: %s\n", err);
        goto out;
    }
    if (!o->json)
        printf("osci-bench rdma server: node %u, adapter %u (%s), serving node %u over %s\n", S.self, S.adapter,
               S.device, S.peer, path_name());
    fflush(stdout);
    for (;;) {
        uint64_t seq = S.cmd_seq + 1;
        uint32_t p[4];
        /* Between commands the client may be slow (bandwidth runs, reads): wait in WAIT_MS rounds. */
        if (wait_command(CTL_RX, seq)) {
            fprintf(stderr, "osci-bench: rdma server: no command from node %u for %d s\n", S.peer, WAIT_MS / 1000);
            goto out;
        }
        S.cmd_seq = seq;
        memcpy(p, (const void *)(S.mem + CTL_RX + 8), sizeof(p));
        if (p[0] == CMD_QUIT)
            break;
        if (p[0] != CMD_PINGPONG || p[1] < 8 || p[1] > SLOT_MAX || p[1] % 8) {
            fprintf(stderr, "osci-bench: rdma server: bad command %u (size %u)\n", p[0], p[1]);
            goto out;
        }
        if (serve_pingpong(p[1], (uint64_t)p[2] | (uint64_t)p[3] << 32))
            goto out;
        S.served++;
    }
    rc = 0;
out:
    if (o->json)
        printf("{\"tool\": \"osci-bench\", \"suite\": \"rdma\", \"role\": \"server\", \"node_id\": %u, "
               "\"peer_node\": %u, \"pingpongs_served\": %" PRIu64 ", \"ok\": %s}\n",
               S.self, S.peer, S.served, rc == 0 ? "true" : "false");
    else if (rc == 0)
        printf("osci-bench rdma server: done, %" PRIu64 " ping-pong runs served\n", S.served);
    teardown();
    return rc;
}

/* ---- client tests ---- */

static int check_session(struct bench_result *r)
{
    if (!S.rseg) {
        snprintf(r->error, sizeof(r->error), "no rdma session");
        return -1;
    }
    r->mode = path_name();
    return 0;
}

/* Outstanding DMA transfers after an error: let them end before the queues are removed. */
static void drain(uint64_t from, uint64_t to)
{
    sci_error_t e;
    for (; from < to; from++)
        (void)SCIWaitForDMAQueue(S.dq[from % S.nq], DMA_WAIT_MS, 0, &e);
}

/*
 * count writes of size bytes. SCIMemCpy: the writes may be posted (rdma), so one SCIFlush at the end
 * waits until all of them reached the peer's memory, and the sequence check reports any that did
 * not: the figure is confirmed by the receiver, as ib_write_bw's completions are. The DMA path keeps
 * every queue busy (transfer j on queue j % nq); a transfer is DONE once its data landed.
 */
static int bw_phase(size_t size, uint64_t count, uint64_t *done_p, sci_error_t *e)
{
    uint64_t started = 0, done = 0;
    *e = SCI_ERR_OK;
    if (S.rmap) {
        sci_sequence_status_t st = SCIStartSequence(S.seq, 0, e);
        if (*e == SCI_ERR_OK && st != SCI_SEQ_OK)
            *e = SCI_ERR_TRANSFER_FAILED;
        for (; *e == SCI_ERR_OK && done < count; done++) {
            SCIMemCpy(NULL, (void *)(S.mem + BW_AREA), S.rmap, BW_AREA, size, 0, e);
            if (*e != SCI_ERR_OK)
                break;
        }
        if (*e == SCI_ERR_OK) {
            SCIFlush(S.seq, 0);
            st = SCICheckSequence(S.seq, SCI_FLAG_NO_FLUSH, e);
            if (*e == SCI_ERR_OK && st != SCI_SEQ_OK)
                *e = SCI_ERR_TRANSFER_FAILED;
        }
        *done_p = done;
        return *e == SCI_ERR_OK ? 0 : -1;
    }
    while (done < count) {
        while (started < count && started - done < S.nq) {
            SCIStartDmaTransfer(S.dq[started % S.nq], S.lseg, S.rseg, BW_AREA, size, BW_AREA, NULL, NULL, 0, e);
            if (*e != SCI_ERR_OK)
                goto err;
            started++;
        }
        sci_dma_queue_state_t st = SCIWaitForDMAQueue(S.dq[done % S.nq], DMA_WAIT_MS, 0, e);
        if (*e == SCI_ERR_OK && st != SCI_DMAQUEUE_DONE)
            *e = SCI_ERR_TRANSFER_FAILED;
        if (*e != SCI_ERR_OK)
            goto err;
        done++;
    }
    *done_p = done;
    return 0;
err:
    drain(done, started);
    *done_p = done;
    return -1;
}

static void run_write_bw(const struct bench_test *t, const struct bench_opts *o, size_t size,
                         struct bench_result *r)
{
    uint64_t iters, warmup, done = 0, t0;
    sci_error_t e;
    if (check_session(r))
        return;
    if (size == 0 || size > BW_MAX) {
        snprintf(r->error, sizeof(r->error), "size %zu: rdma bandwidth sizes are 1..%u bytes", size, BW_MAX);
        return;
    }
    bench_iters(t, o, &iters, &warmup);
    if (bw_phase(size, warmup, &done, &e))
        goto err;
    t0 = tool_now_ns();
    if (bw_phase(size, iters, &done, &e))
        goto err;
    r->iters = iters;
    r->warmup = warmup;
    r->seconds = (double)(tool_now_ns() - t0) / 1e9;
    r->bw_MBps = r->seconds > 0 ? (double)iters * (double)size / r->seconds / 1e6 : 0;
    return;
err:
    snprintf(r->error, sizeof(r->error), "%s %" PRIu64 ": %s", S.rmap ? "SCIMemCpy" : "DMA transfer", done,
             SCIGetErrorString(e));
}

static void run_write_lat(const struct bench_test *t, const struct bench_opts *o, size_t size,
                          struct bench_result *r)
{
    uint64_t iters, warmup, *samples;
    sci_error_t e;
    if (check_session(r))
        return;
    if (size < 8 || size % 8 || size > SLOT_MAX) {
        snprintf(r->error, sizeof(r->error), "size %zu: ping-pong sizes are multiples of 8 up to %u bytes", size,
                 SLOT_MAX);
        return;
    }
    bench_iters(t, o, &iters, &warmup);
    if (!(samples = calloc(iters, sizeof(*samples)))) {
        snprintf(r->error, sizeof(r->error), "no memory for %" PRIu64 " samples", iters);
        return;
    }
    /* a fresh slot: the server counts from 1 again */
    memset((void *)(S.mem + PP_RX), 0, SLOT_MAX);
    memset((void *)(S.mem + PP_TX), 0x5a, SLOT_MAX);
    if (send_cmd(CMD_PINGPONG, (uint32_t)size, warmup + iters, &e)) {
        snprintf(r->error, sizeof(r->error), "command: %s", SCIGetErrorString(e));
        goto out;
    }
    for (uint64_t i = 1; i <= warmup + iters; i++) {
        *word(PP_TX + size - 8) = i;
        uint64_t t0 = tool_now_ns();
        if (xfer(PP_TX, PP_RX, size, 0, &e)) {
            snprintf(r->error, sizeof(r->error), "ping %" PRIu64 ": %s", i, SCIGetErrorString(e));
            goto out;
        }
        if (wait_word(PP_RX + size - 8, i)) {
            snprintf(r->error, sizeof(r->error), "pong %" PRIu64 " never came (%d s)", i, WAIT_MS / 1000);
            goto out;
        }
        if (i > warmup)
            samples[i - warmup - 1] = tool_now_ns() - t0;
    }
    bench_lat_result(r, samples, iters, warmup);
out:
    free(samples);
}

static void run_read_lat(const struct bench_test *t, const struct bench_opts *o, size_t size,
                         struct bench_result *r)
{
    uint64_t iters, warmup, *samples;
    sci_error_t e;
    if (check_session(r))
        return;
    if (size == 0 || size > SLOT_MAX) {
        snprintf(r->error, sizeof(r->error), "size %zu: read sizes are 1..%u bytes", size, SLOT_MAX);
        return;
    }
    bench_iters(t, o, &iters, &warmup);
    if (!(samples = calloc(iters, sizeof(*samples)))) {
        snprintf(r->error, sizeof(r->error), "no memory for %" PRIu64 " samples", iters);
        return;
    }
    for (uint64_t i = 0; i < warmup + iters; i++) {
        uint64_t t0 = tool_now_ns();
        if (xfer(RD_AREA, PP_TX, size, 1, &e)) {
            snprintf(r->error, sizeof(r->error), "read %" PRIu64 ": %s", i, SCIGetErrorString(e));
            goto out;
        }
        if (i >= warmup)
            samples[i - warmup] = tool_now_ns() - t0;
    }
    bench_lat_result(r, samples, iters, warmup);
out:
    free(samples);
}

/* Default counts are perftest's in the lab (ib_write_bw -n 200, ib_write_lat -n 100, ib_read_lat -n 200). */
static const struct bench_test tests[] = {
    { "rdma.write.bw", "rdma", "copy", "RDMA WRITE bandwidth into the peer's segment (like ib_write_bw)",
      BENCH_BW, { 65536 }, 200, 50, run_write_bw, 0 },
    { "rdma.write.lat", "rdma", "poll", "RDMA WRITE ping-pong, each side spins on its own segment (like ib_write_lat)",
      BENCH_LAT, { 8 }, 100, 30, run_write_lat, 0 },
    { "rdma.read.lat", "rdma", "poll", "one RDMA READ from the peer's segment, start to completion (like ib_read_lat)",
      BENCH_RTT, { 8 }, 200, 50, run_read_lat, 0 },
};

const struct bench_suite bench_rdma_suite = { "rdma", tests, BENCH_N(tests), NULL, 0 };
