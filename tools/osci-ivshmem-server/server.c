/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * osci-ivshmem-server: the server QEMU's ivshmem-doorbell device connects to (protocol version 0).
 * It owns one memfd (the device's BAR2) and, for every connected peer, one eventfd per MSI-X vector.
 * Every message is one int64 in host byte order, with at most one file descriptor (SCM_RIGHTS):
 *   to a new peer:    0 (the protocol version); its id; -1 with the memory fd;
 *                     for every other peer, that peer's id once per vector with the peer's eventfd;
 *                     its own id once per vector with its own eventfd
 *   to the others:    the new peer's id once per vector with the new eventfd
 *   on a departure:   the departed id with no fd, to every peer left
 * Peer ids are the lowest free ones, so a guest whose QEMU restarts gets its old id back while the
 * others stay connected. Exit codes: 0 on SIGINT/SIGTERM, 1 when it cannot run, 2 on a usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifdef OSCI_VERSION
#define SERVER_VERSION OSCI_VERSION
#else
#define SERVER_VERSION "0.1.0"
#endif

#define PROTOCOL_VERSION 0
#define MAX_VECTORS 64
#define MAX_PEERS 256
#define MAX_PEER_ID 0xffff             /* the doorbell register carries a 16-bit peer id */
#define DEFAULT_SOCKET "/tmp/ivshmem_socket"
#define DEFAULT_SIZE (4u << 20)

enum { EXIT_OK = 0, EXIT_RUN = 1, EXIT_USAGE = 2 };

struct peer {
    int sock;                          /* -1: slot free */
    unsigned int id;
    int evfd[MAX_VECTORS];
};

struct server {
    const char *path;
    uint64_t size;
    unsigned int vectors, max_peers;
    int verbose;
    int shm_fd, listen_fd, sig_fd;
    struct peer peers[MAX_PEERS];
};

static void say(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const char *level, const char *fmt, ...)
{
    struct timespec ts;
    struct tm tm;
    char stamp[32];
    va_list ap;

    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
    fprintf(stderr, "%s.%03ld osci-ivshmem-server: %s: ", stamp, ts.tv_nsec / 1000000, level);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: osci-ivshmem-server [-S path] [-l size] [-n vectors] [-M max-peers] [-v] [--version]\n"
            "  -S, --socket PATH    the UNIX socket QEMU's ivshmem-doorbell chardev connects to (%s)\n"
            "  -l, --size SIZE      shared memory size, a power of two from 4K to 1G; k/M/G suffixes (4M)\n"
            "  -n, --vectors N      interrupt vectors (eventfds) per peer, 1..%d (1)\n"
            "  -M, --max-peers N    peers at once, 1..%d (16)\n"
            "  -v, --verbose        log every message sent\n",
            DEFAULT_SOCKET, MAX_VECTORS, MAX_PEERS);
}

/* Decimal digits with at most one k/K, m/M or g/G (binary units). */
static int parse_size(const char *s, uint64_t *v_p)
{
    char *end;
    unsigned long long v;
    unsigned int shift = 0;

    if (*s < '0' || *s > '9')
        return -EINVAL;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno)
        return -EINVAL;
    switch (*end) {
    case 0: break;
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    default: return -EINVAL;
    }
    if (*end || v > (UINT64_MAX >> shift))
        return -EINVAL;
    *v_p = (uint64_t)v << shift;
    return 0;
}

static int parse_uint(const char *s, unsigned int lo, unsigned int hi, unsigned int *v_p)
{
    char *end;
    unsigned long v;

    if (*s < '0' || *s > '9')
        return -EINVAL;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return -EINVAL;
    *v_p = (unsigned int)v;
    return 0;
}

/* One protocol message: `value`, with `fd` attached unless it is -1. */
static int send_msg(struct server *s, struct peer *to, int64_t value, int fd)
{
    union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } control;
    struct iovec iov = { .iov_base = &value, .iov_len = sizeof(value) };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
    ssize_t n;

    if (fd >= 0) {
        struct cmsghdr *c;
        memset(&control, 0, sizeof(control));
        msg.msg_control = control.buf;
        msg.msg_controllen = sizeof(control.buf);
        c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    do
        n = sendmsg(to->sock, &msg, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof(value)) {
        say("warning", "peer %u: sending %" PRId64 " failed: %s", to->id, value, n < 0 ? strerror(errno) : "short write");
        return -EIO;
    }
    if (s->verbose)
        say("debug", "to peer %u: %" PRId64 "%s", to->id, value, fd >= 0 ? " + fd" : "");
    return 0;
}

static void peer_close(struct peer *p)
{
    for (unsigned int v = 0; v < MAX_VECTORS; v++)
        if (p->evfd[v] >= 0) {
            close(p->evfd[v]);
            p->evfd[v] = -1;
        }
    if (p->sock >= 0)
        close(p->sock);
    p->sock = -1;
}

static int peer_id_taken(const struct server *s, unsigned int id)
{
    for (unsigned int i = 0; i < s->max_peers; i++)
        if (s->peers[i].sock >= 0 && s->peers[i].id == id)
            return 1;
    return 0;
}

/* A peer's departure, told to every peer left. */
static void peer_leave(struct server *s, struct peer *p, const char *why)
{
    unsigned int id = p->id;

    peer_close(p);
    say("notice", "peer %u left (%s)", id, why);
    for (unsigned int i = 0; i < s->max_peers; i++) {
        struct peer *o = &s->peers[i];
        if (o->sock >= 0 && send_msg(s, o, id, -1))
            peer_leave(s, o, "could not be told of a departure");
    }
}

/* The eventfds of peer `of`, one message each, to peer `to`. */
static int send_vectors(struct server *s, struct peer *to, const struct peer *of)
{
    for (unsigned int v = 0; v < s->vectors; v++)
        if (send_msg(s, to, of->id, of->evfd[v]))
            return -EIO;
    return 0;
}

/* The whole greeting of a new peer, and its eventfds to every other peer. */
static int peer_greet(struct server *s, struct peer *p)
{
    if (send_msg(s, p, PROTOCOL_VERSION, -1) || send_msg(s, p, p->id, -1) || send_msg(s, p, -1, s->shm_fd))
        return -EIO;
    for (unsigned int i = 0; i < s->max_peers; i++) {
        struct peer *o = &s->peers[i];
        if (o != p && o->sock >= 0 && send_vectors(s, p, o))
            return -EIO;
    }
    for (unsigned int i = 0; i < s->max_peers; i++) {
        struct peer *o = &s->peers[i];
        if (o != p && o->sock >= 0 && send_vectors(s, o, p))
            peer_leave(s, o, "could not be told of a new peer");
    }
    return send_vectors(s, p, p);
}

static void peer_accept(struct server *s)
{
    struct peer *p = NULL;
    unsigned int id = 0;
    int sock = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);

    if (sock < 0) {
        if (errno != EINTR && errno != EAGAIN)
            say("warning", "accept: %s", strerror(errno));
        return;
    }
    for (unsigned int i = 0; i < s->max_peers && !p; i++)
        if (s->peers[i].sock < 0)
            p = &s->peers[i];
    if (!p) {
        say("warning", "a new peer refused: %u peers already connected (-M)", s->max_peers);
        close(sock);
        return;
    }
    while (peer_id_taken(s, id))
        id++;
    p->sock = sock;
    p->id = id;
    for (unsigned int v = 0; v < s->vectors; v++) {
        p->evfd[v] = eventfd(0, EFD_CLOEXEC);
        if (p->evfd[v] < 0) {
            say("warning", "a new peer refused: eventfd: %s", strerror(errno));
            peer_close(p);
            return;
        }
    }
    say("notice", "peer %u joined (%u vectors)", id, s->vectors);
    if (peer_greet(s, p))
        peer_leave(s, p, "the greeting could not be sent");
}

/* QEMU never sends anything: data from a peer is logged and dropped; end of file is a departure. */
static void peer_input(struct server *s, struct peer *p)
{
    char buf[256];
    ssize_t n = recv(p->sock, buf, sizeof(buf), MSG_DONTWAIT);

    if (n > 0) {
        say("warning", "peer %u sent %zd unexpected bytes: ignored", p->id, n);
        return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    peer_leave(s, p, n == 0 ? "its connection closed" : strerror(errno));
}

/* The socket path: refused when something other than a dead socket is there. */
static int listen_on(struct server *s)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    struct stat st;
    int fd;

    if (strlen(s->path) >= sizeof(a.sun_path)) {
        say("error", "socket path %s is longer than %zu bytes", s->path, sizeof(a.sun_path) - 1);
        return -ENAMETOOLONG;
    }
    strcpy(a.sun_path, s->path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (lstat(s->path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            say("error", "%s exists and is not a socket: refused", s->path);
            goto busy;
        }
        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 || errno != ECONNREFUSED) {
            say("error", "%s is in use by a running server", s->path);
            goto busy;
        }
        close(fd);
        unlink(s->path);            /* a dead server's socket */
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -errno;
    }
    mode_t old = umask(0177);
    int r = bind(fd, (struct sockaddr *)&a, sizeof(a));
    umask(old);
    if (r || listen(fd, 16)) {
        say("error", "listening on %s: %s", s->path, strerror(errno));
        close(fd);
        return -EADDRINUSE;
    }
    s->listen_fd = fd;
    return 0;
busy:
    close(fd);
    return -EADDRINUSE;
}

static int make_memory(struct server *s)
{
    s->shm_fd = memfd_create("osci-ivshmem", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (s->shm_fd < 0) {
        say("error", "memfd_create: %s", strerror(errno));
        return -errno;
    }
    if (ftruncate(s->shm_fd, (off_t)s->size) ||
        fcntl(s->shm_fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)) {
        say("error", "sizing the shared memory to %" PRIu64 " bytes: %s", s->size, strerror(errno));
        return -errno;
    }
    return 0;
}

static int serve(struct server *s)
{
    struct pollfd pfd[MAX_PEERS + 2];
    struct peer *who[MAX_PEERS + 2];

    for (;;) {
        unsigned int n = 0;
        pfd[n++] = (struct pollfd){ .fd = s->sig_fd, .events = POLLIN };
        pfd[n++] = (struct pollfd){ .fd = s->listen_fd, .events = POLLIN };
        for (unsigned int i = 0; i < s->max_peers; i++)
            if (s->peers[i].sock >= 0) {
                who[n] = &s->peers[i];
                pfd[n++] = (struct pollfd){ .fd = s->peers[i].sock, .events = POLLIN };
            }
        if (poll(pfd, n, -1) < 0) {
            if (errno == EINTR)
                continue;
            say("error", "poll: %s", strerror(errno));
            return EXIT_RUN;
        }
        if (pfd[0].revents) {
            struct signalfd_siginfo si;
            if (read(s->sig_fd, &si, sizeof(si)) == sizeof(si))
                say("notice", "signal %u: stopping", si.ssi_signo);
            return EXIT_OK;
        }
        for (unsigned int i = 2; i < n; i++)
            if (pfd[i].revents && who[i]->sock == pfd[i].fd)
                peer_input(s, who[i]);
        if (pfd[1].revents & POLLIN)
            peer_accept(s);
    }
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "socket", required_argument, NULL, 'S' }, { "size", required_argument, NULL, 'l' },
        { "vectors", required_argument, NULL, 'n' }, { "max-peers", required_argument, NULL, 'M' },
        { "verbose", no_argument, NULL, 'v' }, { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' }, { 0 } };
    struct server s = { .path = DEFAULT_SOCKET, .size = DEFAULT_SIZE, .vectors = 1, .max_peers = 16,
                        .shm_fd = -1, .listen_fd = -1, .sig_fd = -1 };
    sigset_t mask;
    int c, ret;

    while ((c = getopt_long(argc, argv, "S:l:n:M:vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'S':
            s.path = optarg;
            break;
        case 'l':
            if (parse_size(optarg, &s.size) || s.size < 4096 || s.size > (1ull << 30) || (s.size & (s.size - 1))) {
                fprintf(stderr, "osci-ivshmem-server: -l %s: not a power of two from 4K to 1G\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'n':
            if (parse_uint(optarg, 1, MAX_VECTORS, &s.vectors)) {
                fprintf(stderr, "osci-ivshmem-server: -n %s: not a vector count in 1..%d\n", optarg, MAX_VECTORS);
                return EXIT_USAGE;
            }
            break;
        case 'M':
            if (parse_uint(optarg, 1, MAX_PEERS, &s.max_peers)) {
                fprintf(stderr, "osci-ivshmem-server: -M %s: not a peer count in 1..%d\n", optarg, MAX_PEERS);
                return EXIT_USAGE;
            }
            break;
        case 'v':
            s.verbose = 1;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        case 'V':
            printf("osci-ivshmem-server %s (ivshmem protocol %d)\n", SERVER_VERSION, PROTOCOL_VERSION);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "osci-ivshmem-server: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return EXIT_USAGE;
    }
    for (unsigned int i = 0; i < MAX_PEERS; i++) {
        s.peers[i].sock = -1;
        for (unsigned int v = 0; v < MAX_VECTORS; v++)
            s.peers[i].evfd[v] = -1;
    }
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    s.sig_fd = signalfd(-1, &mask, SFD_CLOEXEC);
    if (s.sig_fd < 0 || make_memory(&s) || listen_on(&s))
        return EXIT_RUN;
    say("notice", "listening on %s: %" PRIu64 " bytes of shared memory, %u vectors per peer, at most %u peers",
        s.path, s.size, s.vectors, s.max_peers);
    ret = serve(&s);
    for (unsigned int i = 0; i < s.max_peers; i++)
        if (s.peers[i].sock >= 0)
            peer_close(&s.peers[i]);
    unlink(s.path);
    return ret;
}
