/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* The demo program end to end: server and client as child processes on the test's fabric, sharing a segment,
 * an interrupt and an NvSciIpc INTER_CHIP channel. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "tool_util.h"
#include "../common/osci_test.h"

static char demo[PATH_MAX];
static char tmpdir[64];   /* TMPDIR of the demo's nodes: where each writes its channel config */

/* Number of entries in dir besides . and .. (-1 if it cannot be read). */
static int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    if (!d)
        return -1;
    while ((e = readdir(d)))
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

static int setup(void **state)
{
    if (tu_tool("osci-demo", demo, sizeof(demo)))
        return -1;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/osci-test-demo." "XX" "XX" "XX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return -1;
    }
    setenv("TMPDIR", tmpdir, 1);   /* inherited by every node the tests start */
    return 0;
}

static int teardown(void **state)
{
    int n = dir_entries(tmpdir);
    if (n > 0)
        fprintf(stderr, "the demo left %d file(s) in %s\n", n, tmpdir);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    if (system(cmd))
        return -1;
    return n == 0 ? 0 : -1;
}

/* Reads the server's output until its node id line appears (or 15 s pass). */
static unsigned int read_node(int fd, char *buf, size_t cap, size_t *len_p)
{
    size_t len = 0;
    unsigned int node = 0;
    for (int i = 0; i < 150 && !node; i++) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, 100) == 1) {
            ssize_t n = read(fd, buf + len, cap - len - 1);
            if (n <= 0)
                break;
            len += (size_t)n;
            buf[len] = 0;
        }
        char *line = strstr(buf, "[A] node ");
        if (line)
            sscanf(line, "[A] node %u on adapter", &node);
    }
    *len_p = len;
    return node;
}

/* One run of the pair: a server, then a client given its node id and TMPDIR client_tmp, both to their end. */
struct pair_run {
    unsigned int node;      /* the server's */
    int status;             /* the server's wait status */
    char *rest;             /* what the server printed after its node id line */
    char *all;              /* the server's whole transcript */
    struct tu_run client;
};

static void run_pair(const char *timeout, const char *client_tmp, struct pair_run *r)
{
    char sbuf[16384] = "", nodearg[16];
    size_t slen = 0, rlen = 0;
    int sfd;
    char *sargv[] = { demo, "server", "--timeout", (char *)timeout, NULL };
    pid_t server = tu_spawn(sargv, &sfd);
    assert_true(server > 0);
    r->rest = NULL;
    r->node = read_node(sfd, sbuf, sizeof(sbuf), &slen);
    if (!r->node) {
        kill(server, SIGKILL);
        waitpid(server, &r->status, 0);
        fprintf(stderr, "server output:\n%s\n", sbuf);
        fail_msg("the server printed no node id");
    }
    snprintf(nodearg, sizeof(nodearg), "%u", r->node);
    char *cargv[] = { demo, "client", "--node", nodearg, "--timeout", (char *)timeout, NULL };
    setenv("TMPDIR", client_tmp, 1);
    int crc = tu_run(cargv, 30000, &r->client);
    setenv("TMPDIR", tmpdir, 1);
    assert_int_equal(crc, 0);
    int srd = tu_read_all(sfd, &r->rest, &rlen, 30000);
    close(sfd);
    if (srd)
        kill(server, SIGKILL);
    waitpid(server, &r->status, 0);
    fprintf(stderr, "%s%s%s", sbuf, r->rest ? r->rest : "", r->client.out);
    size_t alen = strlen(sbuf) + (r->rest ? strlen(r->rest) : 0) + 1;
    r->all = malloc(alen);
    assert_non_null(r->all);
    snprintf(r->all, alen, "%s%s", sbuf, r->rest ? r->rest : "");
}

static void pair_free(struct pair_run *r)
{
    free(r->all);
    free(r->rest);
    tu_run_free(&r->client);
}

static void test_demo_pair(void **state)
{
    struct pair_run r;
    run_pair("20", tmpdir, &r);
    const char *all = r.all, *cout = r.client.out;
    unsigned int node = r.node;

    assert_int_equal(tu_exit_code(&r.client), 0);
    assert_true(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
    assert_non_null(strstr(all, "[A] segment 7: CREATED -> PREPARED -> AVAILABLE"));
    assert_non_null(strstr(all, "[A] segment 7: pattern verified"));
    assert_non_null(strstr(all, "[A] segment 7: CB_CONNECT from node"));
    assert_non_null(strstr(all, "[A] segment 7: removed"));
    assert_non_null(strstr(cout, "[B] remote segment 7@node"));
    assert_non_null(strstr(cout, "-> OPERATIONAL"));
    assert_non_null(strstr(cout, "[B] interrupt 3@node"));
    assert_non_null(strstr(cout, "CB_DISCONNECT"));
    assert_non_null(strstr(cout, "[B] done"));

    /* the channel: each side's config names the other node; B's frames arrive verified, A's reply returns */
    unsigned int bnode = 0;
    const char *bline = strstr(cout, "[B] node ");
    assert_non_null(bline);
    assert_int_equal(sscanf(bline, "[B] node %u on adapter", &bnode), 1);
    char want[160];
    snprintf(want, sizeof(want), "[A] channel config: INTER_CHIP demo_c2c 0000 peer=%u nframes=64 frame_size=64", bnode);
    assert_non_null(strstr(all, want));
    snprintf(want, sizeof(want), "[B] channel config: INTER_CHIP demo_c2c 0000 peer=%u nframes=64 frame_size=64", node);
    assert_non_null(strstr(cout, want));
    snprintf(want, sizeof(want), "[A] channel demo_c2c -> node %u: CONN_EST (64 frames of 64 B)", bnode);
    assert_non_null(strstr(all, want));
    snprintf(want, sizeof(want), "[B] channel demo_c2c -> node %u: CONN_EST (64 frames of 64 B)", node);
    assert_non_null(strstr(cout, want));
    assert_non_null(strstr(cout, "[B] channel: 8 frames written"));
    const char *verified = strstr(all, "[A] channel: 8 frames received and verified");
    assert_non_null(verified);
    snprintf(want, sizeof(want), "[B] channel: reply from node %u: \"node A verified 8 frames\"", node);
    assert_non_null(strstr(cout, want));
    assert_non_null(strstr(cout, "[B] channel demo_c2c: closed"));
    snprintf(want, sizeof(want), "[A] channel demo_c2c: CONN_RESET (node %u closed its end)", bnode);
    assert_non_null(strstr(all, want));
    /* A's channel closes before its segment is taken down */
    const char *aclosed = strstr(all, "[A] channel demo_c2c: closed");
    const char *unavail = strstr(all, "[A] segment 7: AVAILABLE -> PREPARED");
    assert_non_null(aclosed);
    assert_non_null(unavail);
    assert_true(verified < aclosed && aclosed < unavail);
    assert_null(strstr(all, "FAILED"));
    assert_null(strstr(cout, "FAILED"));
    assert_int_equal(dir_entries(tmpdir), 0);   /* both configs removed */
    pair_free(&r);
}

/* The channel part failing fails the demo on both nodes: a client that cannot write its channel config (its
 * TMPDIR does not exist) after the segment part worked; the server then gets no CONN_EST and gives up. */
static void test_channel_fails(void **state)
{
    char missing[96];
    struct pair_run r;
    snprintf(missing, sizeof(missing), "%s/absent", tmpdir);
    run_pair("3", missing, &r);

    assert_int_equal(tu_exit_code(&r.client), 1);
    assert_non_null(strstr(r.client.out, "[B] remote segment 7@node"));   /* the segment part ran */
    assert_non_null(strstr(r.client.out, "[B] FAILED: cannot create the channel config"));
    assert_non_null(strstr(r.client.out, "[B] FAILED\n"));
    assert_true(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 1);
    assert_non_null(r.rest);
    assert_non_null(strstr(r.rest, "[A] segment 7: pattern verified"));
    assert_non_null(strstr(r.rest, "[A] FAILED: channel demo_c2c: no CONN_EST in time"));
    assert_non_null(strstr(r.rest, "[A] segment 7: removed"));
    assert_non_null(strstr(r.rest, "[A] FAILED\n"));
    pair_free(&r);
}

/* A client with no server gives up with a clear failure, not a hang. */
static void test_client_alone(void **state)
{
    char *argv[] = { demo, "client", "--node", "200", "--timeout", "2", NULL };
    struct tu_run run;
    assert_int_equal(tu_run_code(argv, 20000, &run), 1);
    assert_non_null(strstr(run.out, "FAILED"));
    tu_run_free(&run);
}

static void test_usage(void **state)
{
    struct tu_run run;
    char *a1[] = { demo, NULL };
    char *a2[] = { demo, "client", NULL };
    char *a3[] = { demo, "server", "--size", "0", NULL };
    char **bad[] = { a1, a2, a3 };
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(tu_run_code(bad[i], 10000, &run), 2);
        tu_run_free(&run);
    }
}

OSCI_TEST_MAIN(NULL, setup, teardown,
               cmocka_unit_test(test_usage),
               cmocka_unit_test(test_demo_pair),
               cmocka_unit_test(test_channel_fails),
               cmocka_unit_test(test_client_alone))
