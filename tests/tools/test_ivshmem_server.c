/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* osci-ivshmem-server driven by fake QEMU clients: the version-0 greeting, the shared memory, eventfds that
 * really connect two peers, departures, id reuse, the peer limit and bad arguments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "tool_util.h"

#define VECTORS 2

static char server[PATH_MAX];

struct server_run {
    pid_t pid;
    char dir[64], path[128];
};

struct msg {
    int64_t value;
    int fd;        /* -1: none */
};

/* A fake QEMU: its own id, the memory and its eventfds, and every other peer's eventfds. */
struct client {
    int sock;
    int64_t id;
    int shm_fd;
    int own[VECTORS];
};

static int setup(void **state) { return tu_tool("osci-ivshmem-server", server, sizeof(server)); }

static int sock_connect(const char *path)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a))) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Starts the server with extra arguments and waits until its socket accepts. */
static void server_start(struct server_run *r, const char *const *extra)
{
    char *argv[16];
    int n = 0, null_fd;

    snprintf(r->dir, sizeof(r->dir), "/tmp/osci-ivsh-XXXXXX");
    assert_non_null(mkdtemp(r->dir));
    snprintf(r->path, sizeof(r->path), "%s/sock", r->dir);
    argv[n++] = server;
    argv[n++] = "-S";
    argv[n++] = r->path;
    for (; extra && *extra; extra++)
        argv[n++] = (char *)*extra;
    argv[n] = NULL;
    r->pid = fork();
    assert_true(r->pid >= 0);
    if (r->pid == 0) {
        null_fd = open("/dev/null", O_WRONLY);
        dup2(null_fd, 2);
        execv(server, argv);
        _exit(127);
    }
    for (int i = 0; i < 500; i++) {
        int fd = sock_connect(r->path);
        if (fd >= 0) {
            close(fd);   /* a peer that leaves at once: the server must survive it */
            return;
        }
        usleep(10000);
    }
    fail_msg("the server did not start listening on %s", r->path);
}

static int server_stop(struct server_run *r)
{
    int st;
    kill(r->pid, SIGTERM);
    assert_int_equal(waitpid(r->pid, &st, 0), r->pid);
    unlink(r->path);
    rmdir(r->dir);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* One message, waiting at most 5 s; value INT64_MIN on end of file or timeout. */
static struct msg recv_msg(int sock)
{
    union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } control;
    struct msg m = { INT64_MIN, -1 };
    struct iovec iov = { .iov_base = &m.value, .iov_len = sizeof(m.value) };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                         .msg_controllen = sizeof(control.buf) };
    struct pollfd p = { .fd = sock, .events = POLLIN };

    if (poll(&p, 1, 5000) != 1 || recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) != sizeof(m.value)) {
        m.value = INT64_MIN;
        return m;
    }
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
            memcpy(&m.fd, CMSG_DATA(c), sizeof(int));
    return m;
}

/* No message within 200 ms. */
static int quiet(int sock)
{
    struct pollfd p = { .fd = sock, .events = POLLIN };
    return poll(&p, 1, 200) == 0;
}

/* Connects and reads the greeting: version, id, memory, then `others` other peers' eventfds (closed here,
 * returned as ids in others_ids), then its own eventfds. */
static void client_join(struct client *c, const char *path, unsigned int others, int64_t *others_ids,
                        int *others_fds)
{
    struct msg m;

    c->sock = sock_connect(path);
    assert_true(c->sock >= 0);
    m = recv_msg(c->sock);
    assert_int_equal(m.value, 0);            /* protocol version */
    assert_int_equal(m.fd, -1);
    m = recv_msg(c->sock);
    assert_true(m.value >= 0 && m.value <= 0xffff);
    assert_int_equal(m.fd, -1);
    c->id = m.value;
    m = recv_msg(c->sock);
    assert_int_equal(m.value, -1);
    assert_true(m.fd >= 0);
    c->shm_fd = m.fd;
    for (unsigned int i = 0; i < others * VECTORS; i++) {
        m = recv_msg(c->sock);
        assert_true(m.value >= 0 && m.value != c->id);
        assert_true(m.fd >= 0);
        if (others_ids)
            others_ids[i] = m.value;
        if (others_fds)
            others_fds[i] = m.fd;
        else
            close(m.fd);
    }
    for (unsigned int v = 0; v < VECTORS; v++) {
        m = recv_msg(c->sock);
        assert_int_equal(m.value, c->id);
        assert_true(m.fd >= 0);
        c->own[v] = m.fd;
    }
}

static void client_leave(struct client *c)
{
    close(c->sock);
    close(c->shm_fd);
    for (unsigned int v = 0; v < VECTORS; v++)
        close(c->own[v]);
}

static void test_usage(void **state)
{
    const char *bad[][3] = { { "-n", "0" }, { "-n", "65" }, { "-l", "3000" }, { "-l", "4M1" }, { "-l", "2G" },
                             { "-M", "x" }, { "--bogus" }, { "extra" } };
    struct tu_run run;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *argv[] = { server, (char *)bad[i][0], (char *)bad[i][1], NULL };
        assert_int_equal(tu_run_code(argv, 10000, &run), 2);
        tu_run_free(&run);
    }
    char *v[] = { server, "--version", NULL };
    assert_int_equal(tu_run_code(v, 10000, &run), 0);
    assert_non_null(strstr(run.out, "ivshmem protocol 0"));
    tu_run_free(&run);
}

/* A regular file at the socket path is never replaced; a dead server's socket is. */
static void test_socket_path(void **state)
{
    char dir[] = "/tmp/osci-ivsh-XXXXXX", path[128];
    struct tu_run run;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/sock", dir);
    int fd = open(path, O_CREAT | O_WRONLY, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "keep", 4), 4);
    close(fd);
    char *argv[] = { server, "-S", path, NULL };
    assert_int_equal(tu_run_code(argv, 10000, &run), 1);
    tu_run_free(&run);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode) && st.st_size == 4);
    unlink(path);
    rmdir(dir);
}

/* Two peers: the same memory, each other's eventfds, a departure told to the survivor, the id reused. */
static void test_two_peers(void **state)
{
    const char *extra[] = { "-n", "2", "-l", "64K", NULL };
    struct server_run r;
    struct client a, b, a2;
    int64_t ids[VECTORS];
    int fds[VECTORS];
    struct msg m;
    uint64_t one = 1, got;

    server_start(&r, extra);
    client_join(&a, r.path, 0, NULL, NULL);
    assert_int_equal(a.id, 0);
    client_join(&b, r.path, 1, ids, fds);
    assert_int_equal(b.id, 1);
    for (unsigned int v = 0; v < VECTORS; v++)
        assert_int_equal(ids[v], a.id);

    /* a learns of b: b's id with one eventfd per vector */
    int b_fds[VECTORS];
    for (unsigned int v = 0; v < VECTORS; v++) {
        m = recv_msg(a.sock);
        assert_int_equal(m.value, b.id);
        assert_true(m.fd >= 0);
        b_fds[v] = m.fd;
    }

    /* the same memory, of the size asked for, sealed against resizing */
    struct stat st;
    assert_int_equal(fstat(a.shm_fd, &st), 0);
    assert_int_equal(st.st_size, 65536);
    assert_int_not_equal(ftruncate(a.shm_fd, 4096), 0);
    char *pa = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_SHARED, a.shm_fd, 0);
    char *pb = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_SHARED, b.shm_fd, 0);
    assert_true(pa != MAP_FAILED && pb != MAP_FAILED);
    strcpy(pa + 60000, "from a");
    assert_string_equal(pb + 60000, "from a");
    munmap(pa, 65536);
    munmap(pb, 65536);

    /* a rings b's vector 1: b's own eventfd of vector 1 fires, vector 0 does not */
    assert_int_equal(write(b_fds[1], &one, sizeof(one)), sizeof(one));
    struct pollfd p[2] = { { .fd = b.own[0], .events = POLLIN }, { .fd = b.own[1], .events = POLLIN } };
    assert_int_equal(poll(p, 2, 5000), 1);
    assert_true(p[1].revents & POLLIN);
    assert_int_equal(read(b.own[1], &got, sizeof(got)), sizeof(got));
    assert_int_equal(got, 1);
    /* and b rings a's vector 0 */
    assert_int_equal(write(fds[0], &one, sizeof(one)), sizeof(one));
    assert_int_equal(read(a.own[0], &got, sizeof(got)), sizeof(got));

    /* a's QEMU goes away: b is told a's id with no fd, and nothing else */
    client_leave(&a);
    m = recv_msg(b.sock);
    assert_int_equal(m.value, 0);
    assert_int_equal(m.fd, -1);
    assert_true(quiet(b.sock));

    /* a comes back: it gets its old id, sees b, and b learns its new eventfds */
    client_join(&a2, r.path, 1, NULL, NULL);
    assert_int_equal(a2.id, 0);
    for (unsigned int v = 0; v < VECTORS; v++) {
        m = recv_msg(b.sock);
        assert_int_equal(m.value, 0);
        assert_true(m.fd >= 0);
        close(m.fd);
    }
    /* bytes from a client are ignored, not fatal */
    assert_int_equal(write(a2.sock, "x", 1), 1);
    assert_true(quiet(b.sock));

    client_leave(&a2);
    client_leave(&b);
    for (unsigned int v = 0; v < VECTORS; v++) {
        close(fds[v]);
        close(b_fds[v]);
    }
    assert_int_equal(server_stop(&r), 0);
}

/* -M 2: the third peer is refused (its connection closed before any message); the first two keep going. */
static void test_peer_limit(void **state)
{
    const char *extra[] = { "-n", "2", "-M", "2", NULL };
    struct server_run r;
    struct client a, b;

    server_start(&r, extra);
    client_join(&a, r.path, 0, NULL, NULL);
    client_join(&b, r.path, 1, NULL, NULL);
    for (unsigned int v = 0; v < VECTORS; v++)
        close(recv_msg(a.sock).fd);
    int c = sock_connect(r.path);
    assert_true(c >= 0);
    assert_int_equal(recv_msg(c).value, INT64_MIN);   /* closed, nothing sent */
    close(c);
    assert_true(quiet(a.sock));
    client_leave(&b);
    struct msg m = recv_msg(a.sock);
    assert_int_equal(m.value, 1);
    client_leave(&a);
    assert_int_equal(server_stop(&r), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_usage),
        cmocka_unit_test(test_socket_path),
        cmocka_unit_test(test_two_peers),
        cmocka_unit_test(test_peer_limit),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, setup, NULL);
}
