/* The demo program end to end: server and client as child processes on the test's fabric. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "tool_util.h"

static char demo[PATH_MAX];

static int setup(void **state)
{
    tu_bin("osci-demo", demo, sizeof(demo));
    if (access(demo, X_OK)) {
        fprintf(stderr, "%s not built\n", demo);
        return -1;
    }
    return 0;
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

static void test_demo_pair(void **state)
{
    char sbuf[16384] = "", nodearg[16], *rest = NULL;
    size_t slen = 0, rlen = 0;
    int sfd, status;
    char *sargv[] = { demo, "server", "--timeout", "20", NULL };
    pid_t server = tu_spawn(sargv, &sfd);
    assert_true(server > 0);
    unsigned int node = read_node(sfd, sbuf, sizeof(sbuf), &slen);
    if (!node) {
        kill(server, SIGKILL);
        waitpid(server, &status, 0);
        fprintf(stderr, "server output:\n%s\n", sbuf);
        fail_msg("the server printed no node id");
    }
    snprintf(nodearg, sizeof(nodearg), "%u", node);
    char *cargv[] = { demo, "client", "--node", nodearg, "--timeout", "20", NULL };
    struct tu_run client;
    assert_int_equal(tu_run(cargv, 30000, &client), 0);
    int srd = tu_read_all(sfd, &rest, &rlen, 30000);
    close(sfd);
    if (srd)
        kill(server, SIGKILL);
    waitpid(server, &status, 0);
    fprintf(stderr, "%s%s%s", sbuf, rest, client.out);

    assert_int_equal(tu_exit_code(&client), 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* the server's whole transcript: what came before its node id line and after */
    size_t alen = strlen(sbuf) + (rest ? strlen(rest) : 0) + 1;
    char *all = malloc(alen);
    assert_non_null(all);
    snprintf(all, alen, "%s%s", sbuf, rest ? rest : "");
    assert_non_null(strstr(all, "[A] segment 7: CREATED -> PREPARED -> AVAILABLE"));
    assert_non_null(strstr(all, "[A] segment 7: pattern verified"));
    assert_non_null(strstr(all, "[A] segment 7: CB_CONNECT from node"));
    assert_non_null(strstr(all, "[A] segment 7: removed"));
    free(all);
    assert_non_null(strstr(client.out, "[B] remote segment 7@node"));
    assert_non_null(strstr(client.out, "-> OPERATIONAL"));
    assert_non_null(strstr(client.out, "[B] interrupt 3@node"));
    assert_non_null(strstr(client.out, "CB_DISCONNECT"));
    assert_non_null(strstr(client.out, "[B] done"));
    free(rest);
    tu_run_free(&client);
}

/* A client with no server gives up with a clear failure, not a hang. */
static void test_client_alone(void **state)
{
    char *argv[] = { demo, "client", "--node", "200", "--timeout", "2", NULL };
    struct tu_run run;
    assert_int_equal(tu_run(argv, 20000, &run), 0);
    assert_false(run.timed_out);
    assert_int_equal(tu_exit_code(&run), 1);
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
        assert_int_equal(tu_run(bad[i], 10000, &run), 0);
        assert_int_equal(tu_exit_code(&run), 2);
        tu_run_free(&run);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_usage),
        cmocka_unit_test(test_demo_pair),
        cmocka_unit_test(test_client_alone),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
