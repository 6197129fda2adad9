/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* The conformance harness (osci_conform.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "osci_conf.h"
#include "osci_conform.h"
#include "osci_time.h"

static struct {
    int lab;                    /* 1: one side per host */
    int b;                      /* lab: this host's side */
    int listen_fd;              /* lab, side A */
    char peer[128], port[16];
    char conf[64];              /* a generated opensci.conf, removed by conform_fini */
    char driver[OSCI_NAME_MAX];
    char exclude[64][64];
    unsigned int n_exclude;
} cf = { .listen_fd = -1 };

int conform_timeout_ms(void)
{
    const char *t = getenv("OSCI_CONFORM_TIMEOUT_MS");
    int v = t ? atoi(t) : 0;
    return v > 0 ? v : 20000;
}

static int load_exclude(const char *path)
{
    char line[256];
    FILE *f = fopen(path, "r");

    if (!f) {
        fprintf(stderr, "conform: cannot read the exclude file %s: %s\n", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof(line), f) && cf.n_exclude < 64) {
        char name[64];
        if (line[0] == '#' || sscanf(line, "%63s", name) != 1)
            continue;
        snprintf(cf.exclude[cf.n_exclude++], sizeof(cf.exclude[0]), "%s", name);
    }
    fclose(f);
    return 0;
}

static int conform_init(const char *suite)
{
    const char *role = getenv("OSCI_CONFORM_ROLE"), *ex = getenv("OSCI_CONFORM_EXCLUDE");
    struct osci_adapter_conf ad[OSCI_MAX_ADAPTERS];
    unsigned int n = 0;

    if (!getenv("OSCI_CONF")) {
        /* by hand or in make check: simntb on a fabric of this run's own */
        tproc_default_fabric(suite);
        if (tfile_write(cf.conf, sizeof(cf.conf), "conform", 0600, "adapter 0 simntb\n") != 0) {
            fprintf(stderr, "conform: cannot write an opensci.conf\n");
            return -1;
        }
        setenv("OSCI_CONF", cf.conf, 1);
    }
    if (osci_conf_read(getenv("OSCI_CONF"), ad, OSCI_MAX_ADAPTERS, &n) < 0 || n == 0) {
        fprintf(stderr, "conform: no adapter in %s\n", getenv("OSCI_CONF"));
        return -1;
    }
    snprintf(cf.driver, sizeof(cf.driver), "%s", ad[0].driver);
    if (ex && *ex && load_exclude(ex) < 0)
        return -1;
    if (role && *role) {
        const char *peer = getenv("OSCI_CONFORM_PEER"), *port = getenv("OSCI_CONFORM_PORT");
        if (strcmp(role, "a") && strcmp(role, "b")) {
            fprintf(stderr, "conform: OSCI_CONFORM_ROLE must be a or b, not '%s'\n", role);
            return -1;
        }
        if (!strcmp(role, "b") && (!peer || !*peer)) {
            fprintf(stderr, "conform: side b needs OSCI_CONFORM_PEER (side a's address)\n");
            return -1;
        }
        cf.lab = 1;
        cf.b = !strcmp(role, "b");
        snprintf(cf.peer, sizeof(cf.peer), "%s", peer ? peer : "");
        snprintf(cf.port, sizeof(cf.port), "%s", port && *port ? port : "18530");
        if (!cf.b) {
            struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(cf.port)) };
            int one = 1;
            cf.listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (cf.listen_fd < 0 || setsockopt(cf.listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
                bind(cf.listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(cf.listen_fd, 4) < 0) {
                fprintf(stderr, "conform: cannot listen on port %s: %s\n", cf.port, strerror(errno));
                return -1;
            }
        }
    }
    printf("conform: suite %s on driver %s (%s%s)\n", suite, cf.driver,
           cf.lab ? "lab, side " : "host, both sides", cf.lab ? (cf.b ? "b" : "a") : "");
    return 0;
}

static void conform_fini(void)
{
    if (cf.conf[0])
        unlink(cf.conf);
    if (cf.listen_fd >= 0)
        close(cf.listen_fd);
}

const char *conform_driver(void)
{
    return cf.driver;
}

/* Lab: side B connects to side A, retrying until the timeout. */
static int lab_connect(void)
{
    struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *ai;
    uint64_t end = osci_now_ms() + (uint64_t)conform_timeout_ms();
    int fd = -1;

    if (cf.b) {
        if (getaddrinfo(cf.peer, cf.port, &hints, &ai) != 0)
            return -1;
        do {
            fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
                break;
            if (fd >= 0)
                close(fd);
            fd = -1;
            usleep(50000);
        } while (osci_now_ms() < end);
        freeaddrinfo(ai);
    } else {
        struct pollfd p = { .fd = cf.listen_fd, .events = POLLIN };
        if (poll(&p, 1, conform_timeout_ms()) == 1)
            fd = accept4(cf.listen_fd, NULL, NULL, SOCK_CLOEXEC);
    }
    if (fd >= 0) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    return fd;
}

static void side_main(const char *name, int b, int fd, int lab, conform_fn fn, void *arg)
{
    struct conform_side s = { .b = b, .fd = fd, .name = name };
    char other[64] = "";
    int rc;

    if (cf.listen_fd >= 0 && b)
        close(cf.listen_fd);
    if (!lab && !cf.lab) {
        char id[8];
        s.node = b ? 2 : 1;
        snprintf(id, sizeof(id), "%u", s.node);
        setenv("OSCI_NODE_ID", id, 1);
    }
    /* a case may take longer than the harness's default alarm under emulation: three timeouts */
    alarm((unsigned int)(conform_timeout_ms() * 3 / 1000 + 1));
    if (fd < 0)
        s.fd = lab_connect();
    CHECK(s.fd >= 0);
    /* both sides run the same case */
    conform_send_buf(&s, name, (uint32_t)strlen(name));
    conform_recv_buf(&s, other, sizeof(other) - 1);
    if (strcmp(other, name)) {
        fprintf(stderr, "conform: side %c runs %s, the other side %s\n", b ? 'b' : 'a', name, other);
        _exit(99);
    }
    rc = fn(&s, arg);
    fflush(NULL);
    _exit(rc & 0xff);
}

static int status_of(int st)
{
    if (st == -1)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void run(const char *name, conform_fn a, conform_fn b, void *arg, int lab)
{
    pid_t pid[2] = { 0, 0 };
    int rc[2] = { 0, 0 }, sv[2] = { -1, -1 };
    int ms = conform_timeout_ms() * 3;

    for (unsigned int i = 0; i < cf.n_exclude; i++) {
        if (!strcmp(cf.exclude[i], name)) {
            printf("conform: %s excluded on %s (%s)\n", name, cf.driver, getenv("OSCI_CONFORM_EXCLUDE"));
            skip();
        }
    }
    if (!lab)
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    for (int k = 0; k < 2; k++) {
        if (lab && k != cf.b)
            continue;
        pid[k] = tproc_fork();
        assert_true(pid[k] >= 0);
        if (pid[k] == 0) {
            if (sv[1 - k] >= 0)
                close(sv[1 - k]);
            side_main(name, k, lab ? -1 : sv[k], lab, k ? b : a, arg);
        }
    }
    if (!lab) {
        close(sv[0]);
        close(sv[1]);
    }
    for (int k = 0; k < 2; k++)
        if (pid[k] > 0)
            rc[k] = status_of(tproc_reap(pid[k], ms));
    if ((rc[0] == CONFORM_SKIP || rc[1] == CONFORM_SKIP) && (rc[0] == 0 || rc[0] == CONFORM_SKIP) &&
        (rc[1] == 0 || rc[1] == CONFORM_SKIP)) {
        printf("conform: %s skipped on %s\n", name, cf.driver);
        skip();
    }
    if (rc[0] != 0 || rc[1] != 0)
        fail_msg("%s on %s: side a %s %d, side b %s %d", name, cf.driver, rc[0] == -1 ? "timed out" : "exit",
                 rc[0], rc[1] == -1 ? "timed out" : "exit", rc[1]);
}

static void case_test(void **state)
{
    const struct conform_case *c = *state;
    run(c->name, c->a, c->b, c->arg, c->local ? 0 : cf.lab);
}

#define CASES_MAX 32

int conform_main(const char *suite, const struct conform_case *cases, unsigned int n)
{
    struct CMUnitTest tests[CASES_MAX];
    char names[CASES_MAX][72], group[64];
    size_t pre = strlen(suite);
    int rc;

    if (n > CASES_MAX || conform_init(suite) != 0)
        return 1;
    for (unsigned int i = 0; i < n; i++) {
        const char *what = cases[i].name;
        if (!strncmp(what, suite, pre) && what[pre] == '_')
            what += pre + 1;
        snprintf(names[i], sizeof(names[i]), "test_%s", what);
        tests[i] = (struct CMUnitTest){ .name = names[i], .test_func = case_test, .teardown_func = tproc_teardown,
                                        .initial_state = (void *)&cases[i] };
    }
    snprintf(group, sizeof(group), "conformance %s", suite);
    rc = _cmocka_run_group_tests(group, tests, n, NULL, NULL);
    conform_fini();
    return rc;
}

void conform_send_buf(struct conform_side *s, const void *buf, uint32_t len)
{
    CHECK(tproc_send(s->fd, &len, sizeof(len)) == 0);
    CHECK(len == 0 || tproc_send(s->fd, buf, len) == 0);
}

uint32_t conform_recv_buf(struct conform_side *s, void *buf, uint32_t max)
{
    uint32_t len = 0;
    CHECK(tproc_recv(s->fd, &len, sizeof(len), conform_timeout_ms()) == 0);
    CHECK(len <= max);
    CHECK(len == 0 || tproc_recv(s->fd, buf, len, conform_timeout_ms()) == 0);
    return len;
}

void conform_send(struct conform_side *s, uint32_t v)
{
    CHECK(tproc_send_u32(s->fd, v) == 0);
}

uint32_t conform_recv(struct conform_side *s)
{
    uint32_t v = 0;
    CHECK(tproc_recv_u32(s->fd, &v, conform_timeout_ms()) == 0);
    return v;
}

void conform_sync(struct conform_side *s, uint32_t tag)
{
    conform_send(s, tag);
    CHECK(conform_recv(s) == tag);
}

int conform_need(struct conform_side *s, uint32_t caps, uint32_t need, const char *what)
{
    uint32_t other, miss;

    conform_send(s, caps);
    other = conform_recv(s);
    miss = need & ~(caps & other);
    if (miss)
        printf("conform: %s: side %c skips: the driver lacks %s (capability bits 0x%x)\n", s->name,
               s->b ? 'b' : 'a', what, miss);
    return !miss;
}
