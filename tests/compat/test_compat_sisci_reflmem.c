/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Reflective memory between three nodes, as Dolphin's reflective-memory example does it: each node
 * SCICreateSegment(group id, SCI_FLAG_BROADCAST), SCIPrepareSegment(SCI_FLAG_BROADCAST),
 * SCIMapLocalSegment (where it reads), SCISetSegmentAvailable, SCIConnectSegment(
 * DIS_BROADCAST_NODEID_GROUP_ALL, SCI_FLAG_BROADCAST) retried until it connects, SCIMapRemoteSegment(
 * SCI_FLAG_BROADCAST) (where it writes), SCICreateMapSequence; a CMD_READY barrier written through the
 * broadcast map and read in the local map; then the closeout in the example's order (sequence, local
 * map, local segment, remote map, remote segment).
 * Each node writes its own slot sequence through the broadcast map and reads the others' through its
 * local map: every value is counted, and seen in order (a value is never visible before an earlier
 * one of the same writer). Values carry the run number, so memory left over from a run would show.
 * 30 runs, the six start orders in turn, with staggered starts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "sisci_api.h"
#include "../common/osci_test.h"
#include "../seg/seg_peer.h"
#include "osci_time.h"

#define NO_CALLBACK NULL
#define NO_FLAGS    0
#define CMD_READY   1234u
#define RM_GROUP    2u
#define RM_SIZE     0x10000u
#define NODES       3u
#define VALUES      512u
#define RUNS        30u
/* layout in u32: [0..15] READY flags by rank, [16..31] DONE flags, then VALUES per rank */
#define SYNC_READY  0u
#define SYNC_DONE   16u
#define SLOTS       32u

struct rm_arg { unsigned int rank, run; };

/* Waits until every rank's flag at base holds want (10 s at most). */
static int wait_all(volatile uint32_t *rd, unsigned int base, uint32_t want)
{
    uint64_t end = osci_now_ms() + 10000;
    for (unsigned int r = 0; r < NODES; r++)
        while (rd[base + r] != want)
            if (osci_now_ms() > end)
                return -1;
            else
                usleep(50);
    return 0;
}

static int rm_node(int rd_fd, int wr_fd, void *argp)
{
    const struct rm_arg *arg = argp;
    sci_desc_t sd;
    sci_local_segment_t localSegment;
    sci_remote_segment_t remoteSegment;
    sci_map_t localMap, remoteMap;
    sci_sequence_t sequence;
    volatile uint32_t *readAddr, *writeAddr;
    unsigned int localNodeId;
    uint32_t tag = (arg->run + 1) << 16, counted = 0;
    sci_error_t error;
    (void)rd_fd;

    COK(SCIInitialize(NO_FLAGS, &e_));
    COK(SCIOpen(&sd, NO_FLAGS, &e_));
    COK(SCIGetLocalNodeId(0, &localNodeId, NO_FLAGS, &e_));
    COK(SCICreateSegment(sd, &localSegment, RM_GROUP, RM_SIZE, NO_CALLBACK, NULL, SCI_FLAG_BROADCAST, &e_));
    COK(SCIPrepareSegment(localSegment, 0, SCI_FLAG_BROADCAST, &e_));
    readAddr = SCIMapLocalSegment(localSegment, &localMap, 0, RM_SIZE, NULL, NO_FLAGS, &error);
    CHECK(error == SCI_ERR_OK);
    COK(SCISetSegmentAvailable(localSegment, 0, NO_FLAGS, &e_));
    do {
        SCIConnectSegment(sd, &remoteSegment, DIS_BROADCAST_NODEID_GROUP_ALL, RM_GROUP, 0, NO_CALLBACK, NULL,
                          SCI_INFINITE_TIMEOUT, SCI_FLAG_BROADCAST, &error);
        if (error != SCI_ERR_OK)
            usleep(1000);
    } while (error != SCI_ERR_OK);
    CHECK(SCIGetRemoteSegmentSize(remoteSegment) == RM_SIZE);
    writeAddr = SCIMapRemoteSegment(remoteSegment, &remoteMap, 0, RM_SIZE, NULL, SCI_FLAG_BROADCAST, &error);
    CHECK(error == SCI_ERR_OK);
    COK(SCICreateMapSequence(remoteMap, &sequence, NO_FLAGS, &e_));

    /* barrier: my CMD_READY through the broadcast map, everyone's in my local map */
    writeAddr[SYNC_READY + arg->rank] = tag | CMD_READY;
    SCIFlush(sequence, SCI_FLAG_FLUSH_CPU_BUFFERS_ONLY);
    CHECK(wait_all(readAddr, SYNC_READY, tag | CMD_READY) == 0);

    /* my sequence, while reading the others': nothing visible before its predecessor */
    for (uint32_t i = 0; i < VALUES; i++) {
        writeAddr[SLOTS + arg->rank * VALUES + i] = tag | (i + 1);
        SCIFlush(sequence, SCI_FLAG_FLUSH_CPU_BUFFERS_ONLY);
        for (unsigned int r = 0; r < NODES; r++) {
            uint32_t j = (i * 7) % VALUES, v = readAddr[SLOTS + r * VALUES + j];
            if (v == (tag | (j + 1)) && j)
                CHECK(readAddr[SLOTS + r * VALUES + j - 1] == (tag | j));
            CHECK(v == 0 || v == (tag | (j + 1)));
        }
    }
    writeAddr[SYNC_DONE + arg->rank] = tag | CMD_READY;
    SCIFlush(sequence, SCI_FLAG_FLUSH_CPU_BUFFERS_ONLY);
    CHECK(wait_all(readAddr, SYNC_DONE, tag | CMD_READY) == 0);
    for (unsigned int r = 0; r < NODES; r++)
        for (uint32_t i = 0; i < VALUES; i++)
            counted += readAddr[SLOTS + r * VALUES + i] == (tag | (i + 1));
    CHECK(SCICheckSequence(sequence, NO_FLAGS, &error) == SCI_SEQ_OK && error == SCI_ERR_OK);

    COK(SCIRemoveSequence(sequence, NO_FLAGS, &e_));
    COK(SCIUnmapSegment(localMap, NO_FLAGS, &e_));
    COK(SCIRemoveSegment(localSegment, NO_FLAGS, &e_));
    COK(SCIUnmapSegment(remoteMap, NO_FLAGS, &e_));
    COK(SCIDisconnectSegment(remoteSegment, NO_FLAGS, &e_));
    COK(SCIClose(sd, NO_FLAGS, &e_));
    SCITerminate();
    CHECK(tproc_send_u32(wr_fd, counted) == 0);
    return 0;
}

static void test_reflective_memory_three_nodes(void **state)
{
    static const unsigned int order[6][NODES] = { {0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0} };
    uint64_t total = 0;
    (void)state;

    for (unsigned int run = 0; run < RUNS; run++) {
        struct tproc p[NODES];
        struct rm_arg arg[NODES];

        for (unsigned int k = 0; k < NODES; k++) {
            unsigned int rank = order[run % 6][k];
            arg[rank] = (struct rm_arg){ .rank = rank, .run = run };
            assert_int_equal(tproc_start(&p[rank], rm_node, &arg[rank]), 0);
            usleep((run % 3) * 3000 * k);    /* together, or one after the other */
        }
        for (unsigned int r = 0; r < NODES; r++) {
            uint32_t counted = 0;
            assert_int_equal(tproc_recv_u32(p[r].rd, &counted, 20000), 0);
            assert_int_equal(counted, NODES * VALUES);
            assert_int_equal(tproc_wait(&p[r], 10000), 0);
            total += counted;
        }
    }
    assert_int_equal(total, (uint64_t)RUNS * NODES * NODES * VALUES);
}

OSCI_TEST_MAIN("compat-reflmem", NULL, NULL,
               cmocka_unit_test_teardown(test_reflective_memory_three_nodes, tproc_teardown))
