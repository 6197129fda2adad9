/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* osci-seginfo as a child process: exit codes, and the JSON it prints for a live two-node fabric. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sisci_api.h"
#include "tool_util.h"
#include "../common/osci_test.h"

#define SEG_ID 42
#define SEG_SIZE 8192

static char seginfo[PATH_MAX];

static int setup(void **state) { return tu_tool("osci-seginfo", seginfo, sizeof(seginfo)); }

static void test_usage(void **state)
{
    struct tu_run run;
    char *a1[] = { seginfo, "--bogus", NULL };
    char *a2[] = { seginfo, "-a", "x", NULL };
    char *a3[] = { seginfo, "-a", "-1", NULL };
    char *a4[] = { seginfo, "extra", NULL };
    char *v[] = { seginfo, "--version", NULL };
    char *h[] = { seginfo, "-h", NULL };
    char **bad[] = { a1, a2, a3, a4 };
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(tu_run_code(bad[i], 20000, &run), 2);
        tu_run_free(&run);
    }
    assert_int_equal(tu_run_code(v, 20000, &run), 0);
    assert_true(!strncmp(run.out, "osci-seginfo ", 13));
    tu_run_free(&run);
    assert_int_equal(tu_run_code(h, 20000, &run), 0);
    assert_non_null(strstr(run.out, "usage:"));
    tu_run_free(&run);
}

/* A fabric nobody runs: "no fabric" (3), in text and in JSON. */
static void test_no_fabric(void **state)
{
    struct tu_run run;
    char name[64], *saved = getenv("OSCI_FABRIC") ? strdup(getenv("OSCI_FABRIC")) : NULL;
    char *a1[] = { seginfo, NULL };
    char *a2[] = { seginfo, "--json", NULL };
    snprintf(name, sizeof(name), "h6-absent-%ld", (long)getpid());
    setenv("OSCI_FABRIC", name, 1);
    assert_int_equal(tu_run_code(a1, 20000, &run), 3);
    tu_run_free(&run);
    assert_int_equal(tu_run_code(a2, 20000, &run), 3);
    struct tu_json *j = tu_json_of(run.out);
    /* the fabric it looked for is named */
    const struct tu_json *ads = tu_get(j, "adapters");
    assert_true(ads && ads->n >= 1);
    assert_string_equal(tu_str(ads->items[0], "fabric"), name);
    assert_string_equal(tu_str(ads->items[0], "error"), "fabric not running");
    tu_json_free(j);
    tu_run_free(&run);
    assert_int_equal(tu_run_merged(a1, 20000, &run), 0);
    assert_int_equal(tu_exit_code(&run), 3);
    char want[160];
    snprintf(want, sizeof(want), "no fabric \"%s\" (/dev/shm/osci.%s)", name, name);
    assert_non_null(strstr(run.out, want));
    snprintf(want, sizeof(want), "fabric:\t\t\t%s (not running)", name);
    assert_non_null(strstr(run.out, want));
    tu_run_free(&run);
    if (saved) {
        setenv("OSCI_FABRIC", saved, 1);
        free(saved);
    } else {
        unsetenv("OSCI_FABRIC");
    }
}

/* Child (forked before the parent initialises the library): connects to the parent's segment once told its
 * node id, and stays connected until the hold pipe closes. */
static void connector(int go_fd, int ready_fd, int hold_fd)
{
    sci_desc_t sd;
    sci_remote_segment_t rs;
    sci_error_t err;
    unsigned int node;
    char c = 1;
    if (read(go_fd, &node, sizeof(node)) != sizeof(node))
        _exit(9);
    SCIInitialize(0, &err);
    if (err)
        _exit(10);
    SCIOpen(&sd, 0, &err);
    if (err)
        _exit(11);
    SCIConnectSegment(sd, &rs, node, SEG_ID, 0, NULL, NULL, 5000, 0, &err);
    if (err)
        _exit(12);
    if (write(ready_fd, &c, 1) != 1)
        _exit(13);
    while (read(hold_fd, &c, 1) > 0)
        ;
    SCIDisconnectSegment(rs, 0, &err);
    SCIClose(sd, 0, &err);
    SCITerminate();
    _exit(0);
}

static const struct tu_json *find_node(const struct tu_json *peers, unsigned int node)
{
    for (size_t i = 0; peers && i < peers->n; i++)
        if (tu_num(peers->items[i], "node_id") == (double)node)
            return peers->items[i];
    return NULL;
}

static const struct tu_json *find_seg(const struct tu_json *peer, const char *kind)
{
    const struct tu_json *segs = tu_get(peer, "segments");
    for (size_t i = 0; segs && i < segs->n; i++) {
        const char *k = tu_str(segs->items[i], "kind");
        if (k && !strcmp(k, kind) && tu_num(segs->items[i], "segment_id") == SEG_ID)
            return segs->items[i];
    }
    return NULL;
}

/* --fabrics (text and JSON) lists this test's fabric with its two nodes and marks it configured. */
static void check_fabrics_lists(unsigned int me, unsigned int child)
{
    const char *fabric = getenv("OSCI_FABRIC") && *getenv("OSCI_FABRIC") ? getenv("OSCI_FABRIC") : "default";
    char *atext[] = { seginfo, "--fabrics", NULL };
    char *ajson[] = { seginfo, "--fabrics", "--json", NULL };
    struct tu_run run;
    char want[256];
    int found = 0;

    assert_int_equal(tu_run_code(atext, 20000, &run), 0);
    snprintf(want, sizeof(want), "\n%-32s %-5u %-5u", fabric, 2u, 2u);
    if (!strstr(run.out, want))
        fprintf(stderr, "--fabrics said:\n%s\n", run.out);
    assert_non_null(strstr(run.out, want));
    assert_non_null(strstr(strstr(run.out, want), "(configured)"));
    tu_run_free(&run);

    assert_int_equal(tu_run_code(ajson, 20000, &run), 0);
    struct tu_json *j = tu_json_of(run.out);
    assert_string_equal(tu_str(j, "configured_fabric"), fabric);
    const struct tu_json *fabs = tu_get(j, "fabrics");
    assert_non_null(fabs);
    for (size_t i = 0; i < fabs->n; i++) {
        const struct tu_json *f = fabs->items[i];
        if (strcmp(tu_str(f, "name"), fabric))
            continue;
        found = 1;
        assert_true(tu_num(f, "nodes") == 2 && tu_num(f, "up") == 2);
        const struct tu_json *ids = tu_get(f, "node_ids");
        assert_int_equal(ids->n, 2);
        assert_true((ids->items[0]->num == me && ids->items[1]->num == child) ||
                    (ids->items[0]->num == child && ids->items[1]->num == me));
        assert_true(tu_get(f, "configured")->b);
    }
    assert_true(found);
    tu_json_free(j);
    tu_run_free(&run);
}

static void test_live_fabric(void **state)
{
    sci_desc_t sd;
    sci_local_segment_t seg;
    sci_error_t err;
    unsigned int me = 0, child_node = 0;
    int go[2], ready[2], hold[2], ok = 0, status;
    char c;
    struct tu_run run;
    char *ajson[] = { seginfo, "--json", NULL };
    char *atext[] = { seginfo, "-v", NULL };
    char *amissing[] = { seginfo, "-a", "7", NULL };

    assert_int_equal(pipe(go), 0);
    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(hold), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(go[1]);
        close(ready[0]);
        close(hold[1]);
        connector(go[0], ready[1], hold[0]);
    }
    close(go[0]);
    close(ready[1]);
    close(hold[0]);

    SCIInitialize(0, &err);
    assert_int_equal(err, SCI_ERR_OK);
    SCIOpen(&sd, 0, &err);
    assert_int_equal(err, SCI_ERR_OK);
    SCIGetLocalNodeId(0, &me, 0, &err);
    assert_int_equal(err, SCI_ERR_OK);
    SCICreateSegment(sd, &seg, SEG_ID, SEG_SIZE, NULL, NULL, 0, &err);
    assert_int_equal(err, SCI_ERR_OK);
    SCIPrepareSegment(seg, 0, 0, &err);
    assert_int_equal(err, SCI_ERR_OK);
    SCISetSegmentAvailable(seg, 0, 0, &err);
    assert_int_equal(err, SCI_ERR_OK);

    assert_int_equal(write(go[1], &me, sizeof(me)), (ssize_t)sizeof(me));
    close(go[1]);
    struct pollfd pfd = { .fd = ready[0], .events = POLLIN };
    int connected = poll(&pfd, 1, 15000) == 1 && read(ready[0], &c, 1) == 1;

    /* The published view may trail the events a little: look for up to 5 s. */
    for (int tries = 0; connected && tries < 50 && !ok; tries++) {
        assert_int_equal(tu_run_code(ajson, 20000, &run), 0);
        struct tu_json *j = tu_json_of(run.out);
        const struct tu_json *ads = tu_get(j, "adapters");
        assert_non_null(ads);
        assert_true(ads->n >= 1);
        const struct tu_json *a0 = ads->items[0];
        assert_non_null(tu_str(a0, "driver"));
        assert_int_equal(tu_get(a0, "node_id")->t, TJ_NULL);   /* it observes */
        const struct tu_json *peers = tu_get(a0, "peers");
        const struct tu_json *mine = find_node(peers, me);
        const struct tu_json *lseg = mine ? find_seg(mine, "local") : NULL;
        for (size_t i = 0; peers && i < peers->n; i++)
            if (tu_num(peers->items[i], "node_id") != me && find_seg(peers->items[i], "remote")) {
                child_node = (unsigned int)tu_num(peers->items[i], "node_id");
                assert_string_equal(tu_str(find_seg(peers->items[i], "remote"), "state"), "OPERATIONAL");
            }
        if (mine && lseg && child_node && tu_num(lseg, "n_connections") == 1) {
            assert_string_equal(tu_str(mine, "link"), "up");
            assert_true(tu_num(mine, "pid") == (double)getpid());
            assert_string_equal(tu_str(lseg, "state"), "AVAILABLE");
            assert_true(tu_num(lseg, "size") == SEG_SIZE);
            assert_true(tu_get(lseg, "connections")->n == 1);
            assert_true(tu_get(lseg, "connections")->items[0]->num == (double)child_node);
            ok = 1;
        }
        tu_json_free(j);
        tu_run_free(&run);
        if (!ok)
            usleep(100000);
    }

    if (ok) {
        char want[64];
        assert_int_equal(tu_run_code(atext, 20000, &run), 0);
        snprintf(want, sizeof(want), "segment %u: %u bytes", SEG_ID, SEG_SIZE);
        assert_non_null(strstr(run.out, want));
        snprintf(want, sizeof(want), "segment %u@node %u", SEG_ID, me);
        assert_non_null(strstr(run.out, want));
        assert_non_null(strstr(run.out, "none (observing)"));
        /* the words of the JSON: link up, the segment's state */
        assert_non_null(strstr(run.out, "link:\t\tup\n"));
        assert_null(strstr(run.out, "PORT_"));
        assert_non_null(strstr(run.out, ", AVAILABLE, 1 connection"));
        tu_run_free(&run);
        assert_int_equal(tu_run_code(amissing, 20000, &run), 3);
        tu_run_free(&run);
        check_fabrics_lists(me, child_node);
    }

    close(hold[1]);
    close(ready[0]);
    waitpid(pid, &status, 0);
    for (int i = 0; i < 100; i++) {
        SCIRemoveSegment(seg, 0, &err);
        if (err != SCI_ERR_BUSY)
            break;
        usleep(20000);
    }
    assert_int_equal(err, SCI_ERR_OK);
    SCIClose(sd, 0, &err);
    SCITerminate();
    assert_true(connected);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_true(ok);
}

/* --config: every value with its source, the environment's and the file's, unknown OSCI_* variables named. */
static void test_config(void **state)
{
    char *saved = getenv("OSCI_FABRIC") ? strdup(getenv("OSCI_FABRIC")) : NULL, name[64], want[256];
    char *atext[] = { seginfo, "--config", NULL };
    char *ajson[] = { seginfo, "-c", "--json", NULL };
    char *afab[] = { seginfo, "--config", "-a", "0", NULL };
    struct tu_run run;

    snprintf(name, sizeof(name), "h6-conf-%ld", (long)getpid());
    setenv("OSCI_FABRIC", name, 1);
    setenv("OSCI_H6_BOGUS", "1", 1);
    setenv("OSCI_LOG", "info", 1);
    assert_int_equal(tu_run_code(atext, 20000, &run), 0);
    snprintf(want, sizeof(want), "\nOSCI_FABRIC=%s", name);
    assert_non_null(strstr(run.out, want));
    assert_non_null(strstr(strstr(run.out, want), "# environment\n"));
    assert_non_null(strstr(run.out, "\nOSCI_LOG=info"));
    assert_non_null(strstr(run.out, "\nOSCI_HEARTBEAT_MS=200"));
    assert_non_null(strstr(strstr(run.out, "\nOSCI_HEARTBEAT_MS=200"), "# default\n"));
    assert_non_null(strstr(run.out, "\nOSCI_H6_BOGUS=1"));
    assert_non_null(strstr(strstr(run.out, "\nOSCI_H6_BOGUS=1"), "# unknown: ignored\n"));
    assert_non_null(strstr(run.out, "\nadapter.0.driver="));
    assert_non_null(strstr(run.out, "environment OSCI_FABRIC\n"));
    tu_run_free(&run);

    assert_int_equal(tu_run_code(ajson, 20000, &run), 0);
    struct tu_json *j = tu_json_of(run.out);
    assert_non_null(tu_str(tu_get(j, "config_file"), "path"));
    const struct tu_json *env = tu_get(j, "environment"), *unknown = tu_get(j, "unknown_environment");
    int seen = 0;
    for (size_t i = 0; env && i < env->n; i++)
        if (!strcmp(tu_str(env->items[i], "name"), "OSCI_FABRIC")) {
            assert_string_equal(tu_str(env->items[i], "value"), name);
            assert_string_equal(tu_str(env->items[i], "source"), "environment");
            seen = 1;
        }
    assert_true(seen);
    assert_true(unknown && unknown->n >= 1);
    const struct tu_json *ads = tu_get(j, "adapters");
    assert_true(ads && ads->n >= 1);
    tu_json_free(j);
    tu_run_free(&run);

    assert_int_equal(tu_run_code(afab, 20000, &run), 2);   /* -a has no meaning there */
    tu_run_free(&run);
    unsetenv("OSCI_H6_BOGUS");
    unsetenv("OSCI_LOG");
    if (saved) {
        setenv("OSCI_FABRIC", saved, 1);
        free(saved);
    } else {
        unsetenv("OSCI_FABRIC");
    }
}

OSCI_TEST_MAIN(NULL, setup, NULL,
               cmocka_unit_test(test_usage),
               cmocka_unit_test(test_no_fabric),
               cmocka_unit_test(test_live_fabric),
               cmocka_unit_test(test_config))
