/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Another uid against a simntb fabric (docs/simntb.md "Wake path and names"): it cannot reach a
 * node's wake socket, so its datagram flood costs an idle node nothing; it cannot take a joiner's
 * names ahead of it (old predictable names are no longer used, a taken random name is drawn again).
 * Runs as root (the other uid is a child that drops to 65534); skipped otherwise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>

#include "drv_test.h"
#include "simntb.h"

#define NOBODY    65534
#define FLOOD_MS  1000

/* getrandom as the driver sees it: scripted values when a test sets them, else the kernel's. */
static uint64_t script_val;
static int script_left;               /* draws still scripted; -1: all of them */

ssize_t getrandom(void *buf, size_t len, unsigned int flags)
{
    if (script_left && len == sizeof(script_val)) {
        if (script_left > 0)
            script_left--;
        memcpy(buf, &script_val, len);
        return (ssize_t)len;
    }
    return syscall(SYS_getrandom, buf, len, flags);
}

static void drop_to_nobody(void)
{
    CHECK(setgroups(0, NULL) == 0 && setgid(NOBODY) == 0 && setuid(NOBODY) == 0);
}

/* The wake address of the fabric's one node, found the way anyone can: an abstract name listed in
 * /proc/net/unix (the old scheme; 1) or a wake directory in /dev/shm (2; entering it is the owner's
 * business). -1 when none. */
static int wake_target(struct sockaddr_un *sa, socklen_t *sl)
{
    char line[512], pfx[96];
    size_t n;
    FILE *f = fopen("/proc/net/unix", "r");
    DIR *dir;
    struct dirent *e;

    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    n = (size_t)snprintf(pfx, sizeof(pfx), "@osci.%s.", t_fabric);
    while (f && fgets(line, sizeof(line), f)) {
        char *at = strstr(line, pfx);
        if (!at)
            continue;
        at[strcspn(at, "\n")] = '\0';
        snprintf(sa->sun_path + 1, sizeof(sa->sun_path) - 1, "%s", at + 1);
        *sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(at + 1));
        fclose(f);
        return 1;
    }
    if (f)
        fclose(f);
    n = (size_t)snprintf(pfx, sizeof(pfx), "osci.%s.s", t_fabric);
    if (!(dir = opendir("/dev/shm")))
        return -1;
    while ((e = readdir(dir)))
        if (!strncmp(e->d_name, pfx, n)) {
            snprintf(sa->sun_path, sizeof(sa->sun_path), "/dev/shm/%.80s/w", e->d_name);
            *sl = (socklen_t)sizeof(*sa);
            closedir(dir);
            return 2;
        }
    closedir(dir);
    return -1;
}

/* CPU time of a process in ns (/proc/<pid>/schedstat). */
static uint64_t cpu_ns(pid_t pid)
{
    char path[64];
    unsigned long long ns = 0;
    FILE *f;
    snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
    f = fopen(path, "r");
    if (f) {
        if (fscanf(f, "%llu", &ns) != 1)
            ns = 0;
        fclose(f);
    }
    return ns;
}

/* A node that only waits: arms, sleeps on its event fd, runs progress; stops on a byte from `stop`. */
static void idle_node(struct t_sync *s)
{
    struct osci_drv *d;
    struct osci_drv_event ev[8];

    CHECK(t_open(1, &d) == 0);
    t_sync_post(s->to_parent[1], 'o');
    for (;;) {
        struct pollfd pfd[2] = { { .fd = osci_drv_event_fd(d), .events = POLLIN },
                                 { .fd = s->to_child[0], .events = POLLIN } };
        while (osci_drv_progress(d, ev, 8) > 0)
            ;
        if (osci_drv_arm(d) == 0 && poll(pfd, 2, 1000) > 0 && (pfd[1].revents & POLLIN))
            break;
    }
    osci_drv_close(d);
    _exit(0);
}

/* Sends 1-byte datagrams to the node's wake address for ms milliseconds, as `uid` (0: stays);
 * reports how many were accepted and refused. */
static void flood(uid_t uid, int ms, long *sent, long *refused, int *last_errno)
{
    int pfd[2];
    pid_t pid;
    long r[3] = { 0, 0, 0 };

    assert_int_equal(pipe(pfd), 0);
    pid = t_fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct sockaddr_un sa;
        socklen_t sl;
        int fd;
        uint64_t end;
        if (uid)
            drop_to_nobody();
        CHECK(wake_target(&sa, &sl) > 0);
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        CHECK(fd >= 0);
        end = osci_now_ms() + (uint64_t)ms;
        while (osci_now_ms() < end)
            for (int i = 0; i < 64; i++) {
                if (sendto(fd, "x", 1, MSG_DONTWAIT, (struct sockaddr *)&sa, sl) == 1) {
                    r[0]++;
                } else {
                    if (errno != EAGAIN)
                        r[1]++;
                    r[2] = errno;
                }
            }
        CHECK(write(pfd[1], r, sizeof(r)) == (ssize_t)sizeof(r));
        _exit(0);
    }
    close(pfd[1]);
    assert_int_equal(read(pfd[0], r, sizeof(r)), (ssize_t)sizeof(r));
    close(pfd[0]);
    assert_int_equal(t_reap(pid, 5000), 0);
    *sent = r[0];
    *refused = r[1];
    *last_errno = (int)r[2];
}

/* (a) The other uid can neither send nor connect to a node's wake socket; the same uid can. The
 * control shows what it could do with an abstract name (the old scheme). */
static void test_other_uid_cannot_reach(void **state)
{
    struct osci_drv *d;
    struct sockaddr_un sa, ctl;
    socklen_t sl;
    int cfd, st;
    pid_t pid;

    (void)state;
    if (geteuid() != 0)
        skip();
    t_start(&d);
    assert_int_equal(wake_target(&sa, &sl), 2);      /* 1: listed as an abstract name */
    memset(&ctl, 0, sizeof(ctl));
    ctl.sun_family = AF_UNIX;
    snprintf(ctl.sun_path + 1, sizeof(ctl.sun_path) - 1, "wake-ctl.%d", (int)getpid());
    cfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(cfd >= 0);
    assert_int_equal(bind(cfd, (struct sockaddr *)&ctl, sizeof(ctl)), 0);

    pid = t_fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd;
        drop_to_nobody();
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        CHECK(fd >= 0);
        CHECK(sendto(fd, "x", 1, MSG_DONTWAIT, (struct sockaddr *)&ctl, sizeof(ctl)) == 1);
        CHECK(sendto(fd, "x", 1, MSG_DONTWAIT, (struct sockaddr *)&sa, sl) < 0 && errno == EACCES);
        CHECK(connect(fd, (struct sockaddr *)&sa, sl) < 0 && errno == EACCES);
        _exit(0);
    }
    st = t_reap(pid, 5000);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    close(cfd);
    pid = t_fork();                                  /* a member (same uid) reaches it */
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        CHECK(fd >= 0 && sendto(fd, "x", 1, MSG_DONTWAIT, (struct sockaddr *)&sa, sl) == 1);
        _exit(0);
    }
    st = t_reap(pid, 5000);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    t_end(d);
}

/* (b) A flood from the other uid reaches nothing and costs the idle node next to nothing. A flood
 * from the same uid (a member gone wrong) reaches it: each wake drains the socket, and past a burst of
 * datagrams no taken arm explains, the socket is muted until the next tick; the node does not spin. */
static void test_flood_idle_cpu(void **state)
{
    struct t_sync s;
    pid_t node;
    long sent, refused;
    int err;
    uint64_t c0, c1, t0, t1;
    double pct;

    (void)state;
    if (geteuid() != 0)
        skip();
    t_new_fabric();
    node = t_fork_sync(&s);
    if (node == 0)
        idle_node(&s);
    assert_int_equal(t_sync_wait(s.to_parent[0], 5000), 'o');

    c0 = cpu_ns(node);
    t0 = osci_now_ms();
    flood(NOBODY, FLOOD_MS, &sent, &refused, &err);
    c1 = cpu_ns(node);
    t1 = osci_now_ms();
    pct = 100.0 * (double)(c1 - c0) / 1e6 / (double)(t1 - t0);
    print_message("other uid: %ld datagrams accepted, %ld refused (%s); idle node CPU %.1f%%\n", sent, refused,
                  strerror(err), pct);
    assert_int_equal(sent, 0);
    assert_true(refused > 0);
    assert_int_equal(err, EACCES);
    assert_true(pct < 20.0);

    c0 = cpu_ns(node);
    t0 = osci_now_ms();
    flood(0, FLOOD_MS, &sent, &refused, &err);
    c1 = cpu_ns(node);
    t1 = osci_now_ms();
    pct = 100.0 * (double)(c1 - c0) / 1e6 / (double)(t1 - t0);
    print_message("same uid: %ld datagrams accepted, %ld refused; idle node CPU %.1f%%\n", sent, refused, pct);
    assert_true(sent > 0);
    assert_true(pct < 20.0);                         /* muted past a burst per tick: no spin */

    t_sync_post(s.to_child[1], 'q');
    assert_int_equal(t_reap(node, 5000), 0);
    assert_int_equal(t_names_left(), 0);
}

/* The next joiner's port, read from the fabric file as a member can, and its epoch: the joiner draws
 * its epoch first, then its names' random part (getrandom), so a script of r draws epoch r. */
static void next_join(unsigned int *port, uint64_t *epoch, uint64_t r)
{
    char name[96];
    int fd;
    struct wd_hdr *h;

    snprintf(name, sizeof(name), "/osci.%s", t_fabric);
    fd = shm_open(name, O_RDONLY, 0);
    assert_true(fd >= 0);
    h = mmap(NULL, WD_HDR_SIZE + WD_PORTS * WD_PORT_SIZE, PROT_READ, MAP_SHARED, fd, 0);
    assert_true(h != MAP_FAILED);
    *epoch = r;
    *port = WD_PORTS;
    for (unsigned int p = 0; p < WD_PORTS && *port == WD_PORTS; p++) {
        struct wd_port *P = (struct wd_port *)((uint8_t *)h + WD_HDR_SIZE + p * WD_PORT_SIZE);
        if (__atomic_load_n(&P->state, __ATOMIC_SEQ_CST) == WD_FREE)
            *port = p;
    }
    munmap(h, WD_HDR_SIZE + WD_PORTS * WD_PORT_SIZE);
    close(fd);
}

/* A joiner (node 2) in a child: its open's result (0 / -errno) as the exit status + 100. */
static int join_child(void)
{
    pid_t pid = t_fork();
    int st;
    assert_true(pid >= 0);
    if (pid == 0) {
        struct osci_drv *d;
        int r = t_open(2, &d);
        if (r == 0)
            osci_drv_close(d);
        _exit(100 + r);
    }
    st = t_reap(pid, 10000);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st) - 100;
}

/* Creates, as the other uid, the shm object `obj` or the directory `dir` (/dev/shm/...) */
static void squat(const char *obj, const char *dir)
{
    pid_t pid = t_fork();
    int st;
    assert_true(pid >= 0);
    if (pid == 0) {
        drop_to_nobody();
        if (obj) {
            int fd = shm_open(obj, O_RDWR | O_CREAT | O_EXCL, 0600);
            CHECK(fd >= 0);
        }
        if (dir)
            CHECK(mkdir(dir, 0700) == 0);
        _exit(0);
    }
    st = t_reap(pid, 5000);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* (c) Squatting: the old scheme's next names (window and abstract socket, for the next ports and
 * epochs) taken by the other uid do not stop a joiner; a taken random window name or wake directory
 * is drawn again; only when every draw is taken does the open fail (-EEXIST, logged). */
static void test_squatted_names(void **state)
{
    struct osci_drv *d;
    struct t_sync s;
    unsigned int port;
    uint64_t epoch;
    char obj[128], dir[160];
    const uint64_t r0 = 0x5eed5eed5eed5eedull;
    pid_t holder;
    struct stat st;

    (void)state;
    if (geteuid() != 0)
        skip();
    t_start(&d);
    next_join(&port, &epoch, 1);
    assert_int_equal(port, 1);

    /* The old scheme: the other uid holds the next windows and abstract wake names. */
    holder = t_fork_sync(&s);
    if (holder == 0) {
        drop_to_nobody();
        for (unsigned int p = port; p < port + 3; p++)
            for (uint64_t e = epoch; e < epoch + 8; e++) {
                struct sockaddr_un sa = { .sun_family = AF_UNIX };
                int n, fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                snprintf(obj, sizeof(obj), "/osci.%s.w%u.%" PRIx64, t_fabric, p, e);
                CHECK(shm_open(obj, O_RDWR | O_CREAT | O_EXCL, 0600) >= 0);
                n = snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "osci.%s.%u.%" PRIx64, t_fabric, p, e);
                CHECK(bind(fd, (struct sockaddr *)&sa,
                                 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n)) == 0);
            }
        t_sync_post(s.to_parent[1], 'o');
        t_sync_wait(s.to_child[0], 10000);
        _exit(0);
    }
    assert_int_equal(t_sync_wait(s.to_parent[0], 5000), 'o');
    assert_int_equal(join_child(), 0);
    t_sync_post(s.to_child[1], 'q');
    assert_int_equal(t_reap(holder, 5000), 0);
    for (unsigned int p = port; p < port + 3; p++)
        for (uint64_t e = epoch; e < epoch + 8; e++) {
            snprintf(obj, sizeof(obj), "/osci.%s.w%u.%" PRIx64, t_fabric, p, e);
            assert_int_equal(shm_unlink(obj), 0);         /* still the squatter's: never used */
        }

    /* The random scheme: the first draw's window name is taken; the joiner draws again. */
    next_join(&port, &epoch, r0);
    snprintf(obj, sizeof(obj), "/osci.%s.w%u.%" PRIx64 ".%016" PRIx64, t_fabric, port, epoch, r0);
    squat(obj, NULL);
    script_val = r0;
    script_left = 2;                                 /* the epoch, then the first draw of the names */
    assert_int_equal(join_child(), 0);
    script_left = 0;
    snprintf(dir, sizeof(dir), "/dev/shm%s", obj);
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_uid, NOBODY);
    assert_int_equal(shm_unlink(obj), 0);

    /* ... the first draw's wake directory is taken. */
    next_join(&port, &epoch, r0);
    snprintf(dir, sizeof(dir), "/dev/shm/osci.%s.s%u.%016" PRIx64, t_fabric, port, r0);
    squat(NULL, dir);
    script_val = r0;
    script_left = 2;                                 /* the epoch, then the first draw of the names */
    assert_int_equal(join_child(), 0);
    script_left = 0;
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_uid, NOBODY);

    /* ... every draw is taken: the open fails, and leaves nothing of its own. */
    script_left = -1;
    assert_int_equal(join_child(), -EEXIST);
    script_left = 0;
    assert_int_equal(rmdir(dir), 0);
    assert_int_equal(t_shm_count(), 2);               /* fabric + node 1's window */
    t_end(d);
}

OSCI_TEST_MAIN(NULL, NULL, NULL,
               cmocka_unit_test(test_other_uid_cannot_reach),
               cmocka_unit_test(test_flood_idle_cpu),
               cmocka_unit_test(test_squatted_names))
