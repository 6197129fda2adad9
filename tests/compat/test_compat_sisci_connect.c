/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * A SISCI pair that follows the documented flow line by line, run in both start orders many times.
 * Server: SCIInitialize, SCIOpen, SCICreateSegment, SCIPrepareSegment, SCIMapLocalSegment,
 * SCISetSegmentAvailable, wait for the client's value, SCISetSegmentUnavailable(NOTIFY), unmap,
 * SCIRemoveSegment while BUSY, SCIClose, SCITerminate.
 * Client: SCIInitialize, SCIOpen, `do SCIConnectSegment(...) while (err == SCI_ERR_NO_SUCH_SEGMENT)`
 * with a short sleep, SCIMapRemoteSegment, write, SCIUnmapSegment, SCIDisconnectSegment, SCIClose,
 * SCITerminate.
 * Client first, the server has not joined the fabric while the client connects: the connect must
 * answer NO_SUCH_SEGMENT (retried), never NO_SUCH_NODEID (which the client gives up on).
 * Each process gets an explicit node id (OSCI_NODE_ID) on the same OSCI_FABRIC.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../common/osci_test.h"
#include "sisci_api.h"

#define SERVER_NODE 11
#define CLIENT_NODE 12
#define SEG_ID 4711
#define SEG_SIZE 4096
#define N_WORDS 256            /* data words, then the "done" word */
#define RUNS 100
#define T_MS 10000

/* What a child reports through its pipe: a step reached, or the error that stopped it. */
enum { MSG_TRIED = 1, MSG_AVAILABLE = 2, MSG_DONE = 3, MSG_FAIL = 0x40000000 };

static uint32_t word(uint32_t run, uint32_t i)
{
    return (run * 2654435761u) ^ (i * 40503u) ^ 0x5a5a0000u;
}

static int child_fail(int wr, sci_error_t err, int line)
{
    fprintf(stderr, "compat child %d: line %d: %s (0x%x)\n", (int)getpid(), line, SCIGetErrorString(err),
            (unsigned int)err);
    tproc_send_u32(wr, (uint32_t)err);
    return 1;
}
#define SCI_OK_OR_FAIL(err) \
    do { sci_error_t e_ = (err); if (e_ != SCI_ERR_OK) return child_fail(wr, e_, __LINE__); } while (0)
/* A SISCI call whose last argument is &err, then SCI_OK_OR_FAIL(err). */
#define SCI_TRY(call) do { call; SCI_OK_OR_FAIL(err); } while (0)

/* As a SISCI program starts on node `node`: SCIInitialize, SCIOpen. OK or the error that stopped it. */
static sci_error_t node_start(const char *node, sci_desc_t *sd)
{
    sci_error_t err;

    setenv("OSCI_NODE_ID", node, 1);
    SCIInitialize(0, &err);
    if (err == SCI_ERR_OK)
        SCIOpen(sd, 0, &err);
    return err;
}

/* As it ends: SCIClose, SCITerminate; MSG_DONE told. The child's exit status. */
static int node_end(int wr, sci_desc_t sd)
{
    sci_error_t err;

    SCI_TRY(SCIClose(sd, 0, &err));
    SCITerminate();
    tproc_send_u32(wr, MSG_DONE);
    return 0;
}

static int server_main(int rd, int wr, void *arg)
{
    uint32_t run = (uint32_t)(uintptr_t)arg;
    sci_desc_t sd;
    sci_local_segment_t seg;
    sci_map_t map;
    volatile uint32_t *mem;
    sci_error_t err;
    int bad = 0;

    (void)rd;
    SCI_OK_OR_FAIL(node_start("11", &sd));
    SCI_TRY(SCICreateSegment(sd, &seg, SEG_ID, SEG_SIZE, NULL, NULL, 0, &err));
    SCI_TRY(SCIPrepareSegment(seg, 0, 0, &err));
    SCI_TRY(mem = SCIMapLocalSegment(seg, &map, 0, SEG_SIZE, NULL, 0, &err));
    memset((void *)mem, 0, SEG_SIZE);
    SCI_TRY(SCISetSegmentAvailable(seg, 0, 0, &err));
    tproc_send_u32(wr, MSG_AVAILABLE);
    /* wait for the value */
    for (int i = 0; __atomic_load_n(&mem[N_WORDS], __ATOMIC_ACQUIRE) != word(run, N_WORDS); i++) {
        if (i == T_MS)
            return child_fail(wr, SCI_ERR_TIMEOUT, __LINE__);
        usleep(1000);
    }
    for (uint32_t i = 0; i < N_WORDS; i++)
        bad += mem[i] != word(run, i);
    if (bad)
        return child_fail(wr, SCI_ERR_TRANSFER_FAILED, __LINE__);
    SCI_TRY(SCISetSegmentUnavailable(seg, 0, SCI_FLAG_NOTIFY, &err));
    SCI_TRY(SCIUnmapSegment(map, 0, &err));
    for (int i = 0;; i++) {
        SCIRemoveSegment(seg, 0, &err);
        if (err != SCI_ERR_BUSY)
            break;
        if (i == T_MS)
            return child_fail(wr, SCI_ERR_TIMEOUT, __LINE__);
        usleep(1000);
    }
    SCI_OK_OR_FAIL(err);
    return node_end(wr, sd);
}

static int client_main(int rd, int wr, void *arg)
{
    uint32_t run = (uint32_t)(uintptr_t)arg;
    sci_desc_t sd;
    sci_remote_segment_t rseg;
    sci_map_t map;
    volatile uint32_t *mem;
    sci_error_t err;
    bool told = false;

    (void)rd;
    SCI_OK_OR_FAIL(node_start("12", &sd));
    do {
        SCIConnectSegment(sd, &rseg, SERVER_NODE, SEG_ID, 0, NULL, NULL, SCI_INFINITE_TIMEOUT, 0, &err);
        if (!told) {
            tproc_send_u32(wr, MSG_TRIED);  /* the parent starts a server only now (client first) */
            told = true;
        }
        if (err == SCI_ERR_NO_SUCH_SEGMENT)
            usleep(1000);
    } while (err == SCI_ERR_NO_SUCH_SEGMENT);
    SCI_OK_OR_FAIL(err);
    SCI_TRY(mem = (volatile uint32_t *)SCIMapRemoteSegment(rseg, &map, 0, SEG_SIZE, NULL, 0, &err));
    for (uint32_t i = 0; i < N_WORDS; i++)
        mem[i] = word(run, i);
    __atomic_store_n(&mem[N_WORDS], word(run, N_WORDS), __ATOMIC_RELEASE);
    SCI_TRY(SCIUnmapSegment(map, 0, &err));
    SCI_TRY(SCIDisconnectSegment(rseg, 0, &err));
    return node_end(wr, sd);
}

/* A child's last word: MSG_DONE, the error that stopped it, or MSG_FAIL (nothing said in time). */
static uint32_t final_word(struct tproc *p)
{
    uint32_t msg;

    while (tproc_recv_u32(p->rd, &msg, T_MS) == 0)
        if (msg != MSG_TRIED && msg != MSG_AVAILABLE)
            return msg;
    return MSG_FAIL;
}

/* One pair; client_first chooses the start order. Returns 0, or the error a side reported. */
static uint32_t run_pair(uint32_t run, bool client_first)
{
    struct tproc s = { 0 }, c = { 0 };
    uint32_t msg = 0, rc;

    if (client_first) {
        assert_int_equal(tproc_start(&c, client_main, (void *)(uintptr_t)run), 0);
        assert_int_equal(tproc_recv_u32(c.rd, &msg, T_MS), 0);
        assert_int_equal(msg, MSG_TRIED);
        assert_int_equal(tproc_start(&s, server_main, (void *)(uintptr_t)run), 0);
    } else {
        assert_int_equal(tproc_start(&s, server_main, (void *)(uintptr_t)run), 0);
        assert_int_equal(tproc_recv_u32(s.rd, &msg, T_MS), 0);
        assert_int_equal(msg, MSG_AVAILABLE);
        assert_int_equal(tproc_start(&c, client_main, (void *)(uintptr_t)run), 0);
    }
    rc = final_word(&c);
    if (rc == MSG_DONE)
        rc = final_word(&s);
    if (rc == MSG_DONE && (tproc_wait(&c, T_MS) != 0 || tproc_wait(&s, T_MS) != 0))
        rc = MSG_FAIL;
    tproc_kill(&c);
    tproc_kill(&s);
    return rc == MSG_DONE ? 0 : rc;
}

static void pairs(bool client_first)
{
    unsigned int ok = 0;
    uint32_t first_err = 0;

    for (uint32_t run = 1; run <= RUNS; run++) {
        uint32_t rc = run_pair(run, client_first);
        if (rc == 0)
            ok++;
        else if (!first_err)
            first_err = rc;
    }
    print_message("%s first: %u of %u runs connected and delivered all %u words%s%s\n",
                  client_first ? "client" : "server", ok, RUNS, N_WORDS, first_err ? "; first error: " : "",
                  first_err ? SCIGetErrorString((sci_error_t)first_err) : "");
    assert_int_equal(ok, RUNS);
}

static void test_client_first(void **state)
{
    (void)state;
    pairs(true);
}

static void test_server_first(void **state)
{
    (void)state;
    pairs(false);
}

OSCI_TEST_MAIN("compat-conn", NULL, NULL,
               cmocka_unit_test_teardown(test_client_first, tproc_teardown),
               cmocka_unit_test_teardown(test_server_first, tproc_teardown))
