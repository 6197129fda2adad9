/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* rdma driver: the parts that need no device (options, wire formats, splitting, admission). */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <stdatomic.h>

#include "osci_parse.h"
#include "rdma.h"

static void put_le16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put_le32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void put_le64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static uint16_t get_le16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t get_le32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}
static uint64_t get_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static int is_pow2(uint64_t v) { return v && !(v & (v - 1)); }

/* ---- options ---- */

static int opt_uint(const char *s, unsigned long min, unsigned long max, unsigned long *v_p)
{
    uint64_t v;
    if (osci_parse_size(s, max, &v) < 0 || strpbrk(s, "kKmMgG") || v < min)
        return -EINVAL;
    *v_p = (unsigned long)v;
    return 0;
}

static int opt_err(char *err, size_t errlen, const char *fmt, const char *a, const char *b)
{
    if (err && errlen)
        snprintf(err, errlen, fmt, a, b);
    return -EINVAL;
}

int rdma__opts_parse(const struct osci_adapter_conf *conf, struct rdma_opts *o, char *err, size_t errlen)
{
    struct rdma_opts t;
    unsigned long u;

    if (err && errlen)
        err[0] = '\0';
    if (!conf || !o)
        return -EINVAL;
    memset(&t, 0, sizeof(t));
    t.port = 1;
    t.gid_index = -1;
    t.listen = RDMA_DEFAULT_PORT;
    t.mr_chunk = RDMA_DEFAULT_CHUNK;
    t.bounce = RDMA_DEFAULT_BOUNCE;
    t.retry_ms = RDMA_DEFAULT_RETRY_MS;
    t.spin_us = RDMA_DEFAULT_SPIN_US;
    t.wait_ms = RDMA_DEFAULT_WAIT_MS;
    t.stall_ms = RDMA_DEFAULT_STALL_MS;
    for (unsigned int i = 0; i < conf->n_opts && i < sizeof(conf->opts) / sizeof(conf->opts[0]); i++) {
        const char *k = conf->opts[i].key, *v = conf->opts[i].value;
        if (!strcmp(k, "dev")) {
            if (!*v || strlen(v) >= sizeof(t.dev))
                return opt_err(err, errlen, "rdma option %s=\"%s\": device name must be 1..63 characters", k, v);
            strcpy(t.dev, v);
        } else if (!strcmp(k, "port")) {
            if (opt_uint(v, 1, 255, &u) < 0)
                return opt_err(err, errlen, "rdma option %s=\"%s\": expected a port number in 1..255", k, v);
            t.port = (unsigned int)u;
        } else if (!strcmp(k, "gid_index")) {
            if (opt_uint(v, 0, 65535, &u) < 0)
                return opt_err(err, errlen, "rdma option %s=\"%s\": expected a GID index in 0..65535", k, v);
            t.gid_index = (int)u;
        } else if (!strcmp(k, "ip")) {
            struct in_addr a4;
            struct in6_addr a6;
            if (strlen(v) >= sizeof(t.ip) || (inet_pton(AF_INET, v, &a4) != 1 && inet_pton(AF_INET6, v, &a6) != 1))
                return opt_err(err, errlen, "rdma option %s=\"%s\": expected a numeric IPv4 or IPv6 address", k, v);
            strcpy(t.ip, v);
        } else if (!strcmp(k, "listen")) {
            if (opt_uint(v, 1, 65535, &u) < 0)
                return opt_err(err, errlen, "rdma option %s=\"%s\": expected a TCP port in 1..65535", k, v);
            t.listen = (uint16_t)u;
        } else if (!strcmp(k, "mr_chunk")) {
            if (osci_parse_size(v, RDMA_MAX_CHUNK, &t.mr_chunk) < 0 || !is_pow2(t.mr_chunk) ||
                t.mr_chunk < RDMA_MIN_CHUNK)
                return opt_err(err, errlen, "rdma option %s=\"%s\": expected a power of two from 4K to 1G", k, v);
        } else if (!strcmp(k, "bounce")) {
            if (osci_parse_size(v, 64ull << 20, &t.bounce) < 0 || t.bounce < 4096)
                return opt_err(err, errlen, "rdma option %s=\"%s\": expected a size from 4K to 64M", k, v);
        } else if (!strcmp(k, "retry_ms")) {
            if (opt_uint(v, 50, 600000, &u) < 0)
                return opt_err(err, errlen, "rdma option %s=\"%s\": expected milliseconds in 50..600000", k, v);
            t.retry_ms = (unsigned int)u;
        } else if (!strcmp(k, "spin_us")) {
            if (opt_uint(v, 0, 100000, &u) < 0)
                return opt_err(err, errlen, "rdma option %s=\"%s\": expected microseconds in 0..100000", k, v);
            t.spin_us = (unsigned int)u;
        } else if (!strcmp(k, "wait_ms")) {
            if (opt_uint(v, 100, 600000, &u) < 0)
                return opt_err(err, errlen, "rdma option %s=\"%s\": expected milliseconds in 100..600000", k, v);
            t.wait_ms = (unsigned int)u;
        } else if (!strcmp(k, "stall_ms")) {
            if (opt_uint(v, 200, 600000, &u) < 0)
                return opt_err(err, errlen, "rdma option %s=\"%s\": expected milliseconds in 200..600000", k, v);
            t.stall_ms = (unsigned int)u;
        } else {
            return opt_err(err, errlen, "unknown rdma option \"%s\"%s (known: dev port gid_index ip listen "
                           "mr_chunk bounce retry_ms spin_us wait_ms stall_ms)", k, "");
        }
    }
    *o = t;
    return 0;
}

/* ---- who keeps which connection ---- */

enum rdma_admit rdma__cm_admit(uint32_t self, uint32_t from, enum rdma_have have)
{
    switch (have) {
    case RDMA_HAVE_NONE:
        return RDMA_ADMIT_ACCEPT;
    case RDMA_HAVE_OWN_ATTEMPT:
        /* Both connected at once: the lower id's attempt wins on both sides (the higher id, seeing the
         * lower's request, drops its own attempt), so exactly one of the two survives. */
        return self < from ? RDMA_ADMIT_REFUSE : RDMA_ADMIT_REPLACE;
    case RDMA_HAVE_ACCEPTING:
    case RDMA_HAVE_UP:
    default:
        return RDMA_ADMIT_REPLACE;   /* the peer asks again: it gave up on what we hold */
    }
}

/* ---- CM private data ---- */

void rdma__cm_priv_pack(const struct rdma_cm_priv *p, uint8_t out[RDMA_CM_PRIV_LEN])
{
    memset(out, 0, RDMA_CM_PRIV_LEN);
    put_le32(out, RDMA_CM_MAGIC);
    put_le16(out + 4, RDMA_CM_VERSION);
    put_le16(out + 6, RDMA_CM_PRIV_LEN);
    put_le32(out + 8, p->node_id);
    put_le64(out + 16, p->epoch);
}

int rdma__cm_priv_unpack(const void *buf, size_t len, struct rdma_cm_priv *p)
{
    const uint8_t *b = buf;
    struct rdma_cm_priv t;

    if (!buf || len < RDMA_CM_PRIV_LEN)
        return -EPROTO;
    if (get_le32(b) != RDMA_CM_MAGIC || get_le16(b + 4) != RDMA_CM_VERSION || get_le16(b + 6) != RDMA_CM_PRIV_LEN ||
        get_le32(b + 12) != 0)
        return -EPROTO;
    t.node_id = get_le32(b + 8);
    t.epoch = get_le64(b + 16);
    if (t.node_id == 0 || t.node_id > 255 || t.epoch == 0)
        return -EPROTO;
    *p = t;
    return 0;
}

/* ---- control-message header ---- */

void rdma__msg_hdr_pack(const struct rdma_msg_hdr *h, uint8_t out[RDMA_MSG_HDR])
{
    put_le16(out, RDMA_MSG_MAGIC);
    out[2] = RDMA_MSG_VERSION;
    out[3] = (uint8_t)h->type;
    put_le16(out + 4, h->len);
    put_le16(out + 6, h->bit);
}

int rdma__msg_hdr_unpack(const void *buf, size_t byte_len, struct rdma_msg_hdr *h)
{
    const uint8_t *b = buf;
    struct rdma_msg_hdr t;

    if (!buf || byte_len < RDMA_MSG_HDR || byte_len > RDMA_MSG_BUF)
        return -EPROTO;
    if (get_le16(b) != RDMA_MSG_MAGIC || b[2] != RDMA_MSG_VERSION)
        return -EPROTO;
    t.type = (enum rdma_msg_type)b[3];
    t.len = get_le16(b + 4);
    t.bit = get_le16(b + 6);
    switch (t.type) {
    case RDMA_MSG_DATA:
        if (t.len > OSCI_DRV_MSG_MAX || t.len != byte_len - RDMA_MSG_HDR || t.bit != 0)
            return -EPROTO;
        break;
    case RDMA_MSG_DOORBELL:
        if (t.len != 0 || byte_len != RDMA_MSG_HDR || t.bit >= OSCI_DRV_DB_COUNT)
            return -EPROTO;
        break;
    default:
        return -EPROTO;
    }
    *h = t;
    return 0;
}

/* ---- transport bytes ---- */

uint64_t rdma__n_chunks(uint64_t size, uint64_t chunk)
{
    if (!size || !is_pow2(chunk))
        return 0;
    return size / chunk + (size % chunk ? 1 : 0);
}

uint64_t rdma__piece(uint64_t off, uint64_t left, uint64_t chunk, uint64_t max)
{
    uint64_t n = left;
    uint64_t to_end = chunk - (off & (chunk - 1));
    if (n > to_end)
        n = to_end;
    if (max && n > max)
        n = max;
    return n;
}

int rdma__xport_pack(const struct rdma_xport *x, void *buf, size_t cap, size_t *len_p)
{
    uint8_t *b = buf;
    uint64_t n = rdma__n_chunks(x->size, x->chunk);
    size_t len;
    unsigned int shift = 0;

    if (!n || n != x->n_chunks || x->chunk < RDMA_MIN_CHUNK || x->chunk > RDMA_MAX_CHUNK ||
        x->addr + x->size < x->addr)
        return -EINVAL;
    if (n > RDMA_XPORT_MAX_CHUNKS)
        return -E2BIG;
    len = RDMA_XPORT_HDR + 4 * (size_t)n;
    if (cap < len)
        return -ENOSPC;
    while ((1ull << shift) != x->chunk)
        shift++;
    memset(b, 0, len);
    put_le32(b, RDMA_XPORT_MAGIC);
    b[4] = RDMA_XPORT_VERSION;
    b[5] = (uint8_t)n;
    b[6] = (uint8_t)shift;
    b[7] = (uint8_t)len;
    put_le64(b + 8, x->addr);
    put_le64(b + 16, x->size);
    for (uint64_t i = 0; i < n; i++)
        put_le32(b + RDMA_XPORT_HDR + 4 * i, x->rkey[i]);
    *len_p = len;
    return 0;
}

int rdma__xport_unpack(const void *buf, size_t len, struct rdma_xport *x)
{
    const uint8_t *b = buf;
    struct rdma_xport t;

    if (!buf || len < RDMA_XPORT_HDR || len > OSCI_DRV_XPORT_MAX)
        return -EINVAL;
    if (get_le32(b) != RDMA_XPORT_MAGIC || b[4] != RDMA_XPORT_VERSION)
        return -EPROTO;
    memset(&t, 0, sizeof(t));
    t.n_chunks = b[5];
    if (t.n_chunks == 0 || t.n_chunks > RDMA_XPORT_MAX_CHUNKS || b[7] != RDMA_XPORT_HDR + 4 * t.n_chunks ||
        len != b[7] || b[6] < 12 || b[6] > 30)
        return -EPROTO;
    t.chunk = 1ull << b[6];
    t.addr = get_le64(b + 8);
    t.size = get_le64(b + 16);
    if (t.size == 0 || t.addr + t.size < t.addr || rdma__n_chunks(t.size, t.chunk) != t.n_chunks)
        return -EPROTO;
    for (uint32_t i = 0; i < t.n_chunks; i++)
        t.rkey[i] = get_le32(b + RDMA_XPORT_HDR + 4 * i);
    *x = t;
    return 0;
}

/* ---- hosts.conf admission ---- */

int rdma__hosts_resolve(const struct osci_host *in, unsigned int n, struct rdma_host *out, char *err,
                        size_t errlen)
{
    for (unsigned int i = 0; i < n; i++) {
        struct addrinfo hints, *res = NULL;
        int r;

        memset(&hints, 0, sizeof(hints));
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        r = getaddrinfo(in[i].addr, NULL, &hints, &res);
        if (r != 0 || !res || res->ai_addrlen > sizeof(out[i].sa)) {
            if (err && errlen)
                snprintf(err, errlen, "hosts.conf: node %u: cannot resolve \"%s\": %s", in[i].node_id, in[i].addr,
                         r ? gai_strerror(r) : "no address");
            if (res)
                freeaddrinfo(res);
            return -EINVAL;
        }
        memset(&out[i], 0, sizeof(out[i]));
        out[i].node_id = in[i].node_id;
        memcpy(&out[i].sa, res->ai_addr, res->ai_addrlen);
        out[i].salen = res->ai_addrlen;
        freeaddrinfo(res);
    }
    return 0;
}

/* The IPv4 address of a (also from a v4-mapped IPv6 address): 1, or 0 when it has none. */
static int addr_v4(const struct sockaddr *a, struct in_addr *v4)
{
    if (a->sa_family == AF_INET) {
        *v4 = ((const struct sockaddr_in *)a)->sin_addr;
        return 1;
    }
    if (a->sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)a)->sin6_addr)) {
        memcpy(v4, &((const struct sockaddr_in6 *)a)->sin6_addr.s6_addr[12], 4);
        return 1;
    }
    return 0;
}

int rdma__addr_equal(const struct sockaddr *a, const struct sockaddr *b)
{
    struct in_addr a4, b4;

    if (!a || !b)
        return 0;
    if (addr_v4(a, &a4) && addr_v4(b, &b4))
        return a4.s_addr == b4.s_addr;
    if (a->sa_family == AF_INET6 && b->sa_family == AF_INET6)
        return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr, &((const struct sockaddr_in6 *)b)->sin6_addr,
                       sizeof(struct in6_addr));
    return 0;
}

uint32_t rdma__hosts_node_of(const struct rdma_host *h, unsigned int n, const struct sockaddr *a)
{
    for (unsigned int i = 0; i < n; i++)
        if (rdma__addr_equal((const struct sockaddr *)&h[i].sa, a))
            return h[i].node_id;
    return 0;
}

const struct rdma_host *rdma__hosts_find(const struct rdma_host *h, unsigned int n, uint32_t node)
{
    for (unsigned int i = 0; i < n; i++)
        if (h[i].node_id == node)
            return &h[i];
    return NULL;
}

int rdma__peer_check(const struct rdma_host *h, unsigned int n, uint32_t self, const struct sockaddr *src,
                     uint32_t claimed)
{
    const struct rdma_host *e;

    if (claimed == 0 || claimed == self)
        return -EACCES;
    e = rdma__hosts_find(h, n, claimed);
    if (!e || !rdma__addr_equal((const struct sockaddr *)&e->sa, src))
        return -EACCES;
    return 0;
}

/* ---- publish file ---- */

/* Header offsets. */
#define PUB_MAGIC    0
#define PUB_VERSION  4
#define PUB_SEQ      8
#define PUB_PID      12
#define PUB_NODE     16
#define PUB_NPEERS   20
#define PUB_EPOCH    24
#define PUB_INFOLEN  32
#define PUB_SIZE     36
#define PUB_PEERS    RDMA_PUB_HDR
#define PUB_INFO     (RDMA_PUB_HDR + RDMA_PUB_PEERS * RDMA_PUB_PEER_SIZE)

static _Atomic uint32_t *pub_seq(const volatile void *map)
{
    return (_Atomic uint32_t *)((uintptr_t)map + PUB_SEQ);
}

int rdma__pub_name(const char *dev, unsigned int port, unsigned int listen, char *buf, size_t len)
{
    char d[64];
    size_t i;
    int n;

    for (i = 0; dev[i] && i < sizeof(d) - 1; i++) {
        char ch = dev[i];
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
                 ch == '-';
        d[i] = ok ? ch : '_';
    }
    d[i] = 0;
    n = snprintf(buf, len, "/osci-rdma.%s.%u.%u", d, port, listen);
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

void rdma__pub_init(void *map, int32_t pid, uint32_t node_id, uint64_t epoch)
{
    uint8_t *b = map;
    uint32_t magic = RDMA_PUB_MAGIC, size = RDMA_PUB_SIZE;
    uint16_t ver = RDMA_PUB_VERSION;

    memcpy(b + PUB_VERSION, &ver, 2);
    memcpy(b + PUB_PID, &pid, 4);
    memcpy(b + PUB_NODE, &node_id, 4);
    memcpy(b + PUB_EPOCH, &epoch, 8);
    memcpy(b + PUB_SIZE, &size, 4);
    osci_fence_release();
    memcpy(b + PUB_MAGIC, &magic, 4);       /* last: a reader sees a whole header or no magic */
}

static void pub_write_begin(void *map)
{
    atomic_fetch_add_explicit(pub_seq(map), 1, memory_order_relaxed);
    osci_fence_release();
}

static void pub_write_end(void *map)
{
    atomic_fetch_add_explicit(pub_seq(map), 1, memory_order_release);
}

void rdma__pub_set_peers(void *map, const struct rdma_pub_peer *p, unsigned int n)
{
    uint8_t *b = map;
    uint32_t cnt = n < RDMA_PUB_PEERS ? n : RDMA_PUB_PEERS;

    pub_write_begin(map);
    for (uint32_t i = 0; i < cnt; i++) {
        uint8_t *e = b + PUB_PEERS + (size_t)i * RDMA_PUB_PEER_SIZE;
        memcpy(e, &p[i].node_id, 4);
        memcpy(e + 4, &p[i].link_up, 4);
        memcpy(e + 8, &p[i].epoch, 8);
        memcpy(e + 16, &p[i].last_rx_ms, 8);
    }
    memcpy(b + PUB_NPEERS, &cnt, 4);
    pub_write_end(map);
}

int rdma__pub_set_info(void *map, const void *buf, size_t len)
{
    uint8_t *b = map;
    uint32_t l = (uint32_t)len;

    if (len > RDMA_PUB_INFO_MAX)
        return -EMSGSIZE;
    if (!buf && len)
        return -EINVAL;
    pub_write_begin(map);
    if (len)
        memcpy(b + PUB_INFO, buf, len);
    memcpy(b + PUB_INFOLEN, &l, 4);
    pub_write_end(map);
    return 0;
}

int rdma__pub_read(const volatile void *map, size_t map_len, struct rdma_pub_state *st, void *info, size_t cap)
{
    const uint8_t *b = (const uint8_t *)(uintptr_t)map;
    uint32_t magic, size, npeers, infolen;
    uint16_t ver;

    if (!map || !st || (!info && cap))
        return -EINVAL;
    if (map_len < RDMA_PUB_SIZE)
        return -EBADMSG;
    memcpy(&magic, b + PUB_MAGIC, 4);
    osci_fence_acquire();
    memcpy(&ver, b + PUB_VERSION, 2);
    memcpy(&size, b + PUB_SIZE, 4);
    if (magic != RDMA_PUB_MAGIC || ver != RDMA_PUB_VERSION || size != RDMA_PUB_SIZE)
        return -EBADMSG;
    for (int tries = 0; tries < 1000; tries++) {
        uint32_t s1 = atomic_load_explicit(pub_seq(map), memory_order_acquire);
        if (s1 & 1) {
            struct timespec ts = { 0, 100000 };
            nanosleep(&ts, NULL);
            continue;
        }
        memcpy(&st->pid, b + PUB_PID, 4);
        memcpy(&st->node_id, b + PUB_NODE, 4);
        memcpy(&st->epoch, b + PUB_EPOCH, 8);
        memcpy(&npeers, b + PUB_NPEERS, 4);
        memcpy(&infolen, b + PUB_INFOLEN, 4);
        if (npeers > RDMA_PUB_PEERS || infolen > RDMA_PUB_INFO_MAX)
            goto changed;         /* torn, or malformed: decided once the sequence is stable */
        for (uint32_t i = 0; i < npeers; i++) {
            const uint8_t *e = b + PUB_PEERS + (size_t)i * RDMA_PUB_PEER_SIZE;
            memcpy(&st->peer[i].node_id, e, 4);
            memcpy(&st->peer[i].link_up, e + 4, 4);
            memcpy(&st->peer[i].epoch, e + 8, 8);
            memcpy(&st->peer[i].last_rx_ms, e + 16, 8);
        }
        if (cap && infolen <= cap)
            memcpy(info, b + PUB_INFO, infolen);
    changed:
        osci_fence_acquire();
        if (atomic_load_explicit(pub_seq(map), memory_order_relaxed) != s1)
            continue;
        if (npeers > RDMA_PUB_PEERS || infolen > RDMA_PUB_INFO_MAX)
            return -EBADMSG;
        st->n_peers = npeers;
        st->info_len = infolen;
        return info && infolen > cap ? -EMSGSIZE : 0;
    }
    return -EAGAIN;
}

int rdma__pid_alive(int32_t pid)
{
    return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno != ESRCH);
}

/* Checks an open publish file: regular, owned by us, no group/other access, the right size. */
static int pub_check(int fd)
{
    struct stat sb;
    if (fstat(fd, &sb) < 0)
        return -errno;
    if (!S_ISREG(sb.st_mode) || sb.st_uid != geteuid() || (sb.st_mode & 077))
        return -EPERM;
    return sb.st_size == RDMA_PUB_SIZE ? 0 : -EBADMSG;
}

/* The pid in an existing file; 0 when the file is not (yet) a whole publish file, -errno. */
static int pub_owner(const char *name, int32_t *pid_p)
{
    const void *map;
    struct rdma_pub_state *st;
    int ret = rdma__pub_open(name, &map);

    *pid_p = 0;
    if (ret == -EBADMSG)
        return 0;
    if (ret < 0)
        return ret;
    st = malloc(sizeof(*st));
    if (!st) {
        munmap((void *)(uintptr_t)map, RDMA_PUB_SIZE);
        return -ENOMEM;
    }
    ret = rdma__pub_read(map, RDMA_PUB_SIZE, st, NULL, 0);
    if (ret == 0)
        *pid_p = st->pid;
    free(st);
    munmap((void *)(uintptr_t)map, RDMA_PUB_SIZE);
    return ret == -EBADMSG || ret == -EAGAIN ? 0 : ret;
}

int rdma__pub_create(const char *name, int32_t pid, uint32_t node_id, uint64_t epoch, void **map_p, char *err,
                     size_t errlen)
{
    int fd = -1, ret;
    void *map;

    if (err && errlen)
        err[0] = 0;
    for (int attempt = 0;; attempt++) {
        int32_t owner;
        fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0)
            break;
        if (errno != EEXIST || attempt == 2) {
            ret = -errno;
            if (err && errlen)
                snprintf(err, errlen, "/dev/shm%s: %s", name, strerror(-ret));
            return ret;
        }
        ret = pub_owner(name, &owner);
        if (ret == -ENOENT)
            continue;                 /* its owner just removed it */
        if (ret < 0) {
            if (err && errlen)
                snprintf(err, errlen, "/dev/shm%s exists and is not this user's publish file (%s)", name,
                         strerror(-ret));
            return ret == -EPERM ? -EPERM : -EEXIST;
        }
        if (owner && rdma__pid_alive(owner)) {
            if (err && errlen)
                snprintf(err, errlen, "/dev/shm%s belongs to process %d, which runs this adapter", name,
                         (int)owner);
            return -EADDRINUSE;
        }
        if (!owner && attempt == 0) {
            /* being created right now, or left half-made: look again shortly */
            struct timespec ts = { 0, 200000000 };
            nanosleep(&ts, NULL);
            continue;
        }
        if (shm_unlink(name) < 0 && errno != ENOENT) {
            ret = -errno;
            if (err && errlen)
                snprintf(err, errlen, "cannot remove the stale /dev/shm%s: %s", name, strerror(-ret));
            return ret;
        }
    }
    if (ftruncate(fd, RDMA_PUB_SIZE) < 0) {
        ret = -errno;
        goto err_unlink;
    }
    map = mmap(NULL, RDMA_PUB_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        ret = -errno;
        goto err_unlink;
    }
    close(fd);
    rdma__pub_init(map, pid, node_id, epoch);
    *map_p = map;
    return 0;

err_unlink:
    if (err && errlen)
        snprintf(err, errlen, "/dev/shm%s: %s", name, strerror(-ret));
    close(fd);
    shm_unlink(name);
    return ret;
}

int rdma__pub_open(const char *name, const void **map_p)
{
    void *map;
    int fd, ret;

    fd = shm_open(name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    ret = pub_check(fd);
    if (ret < 0) {
        close(fd);
        return ret;
    }
    map = mmap(NULL, RDMA_PUB_SIZE, PROT_READ, MAP_SHARED, fd, 0);
    ret = map == MAP_FAILED ? -errno : 0;
    close(fd);
    if (ret == 0)
        *map_p = map;
    return ret;
}
