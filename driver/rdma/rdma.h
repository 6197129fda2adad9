/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * rdma driver internals that need no RDMA device: options, wire formats (CM private data,
 * control-message header, packed transport bytes), transfer splitting and the hosts.conf
 * admission check. driver/rdma/rdma_wire.c implements them; the driver (rdma_int.h) uses them; the host
 * unit tests (tests/drv/test_rdma.c) exercise them. All multi-byte wire fields are little-endian.
 */
#ifndef OSCI_RDMA_H
#define OSCI_RDMA_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "osci_drv.h"

#define RDMA_DEFAULT_PORT      18515
#define RDMA_DEFAULT_CHUNK     (16ull << 20)
#define RDMA_MIN_CHUNK         (4ull << 10)
#define RDMA_MAX_CHUNK         (1ull << 30)
#define RDMA_DEFAULT_BOUNCE    (2ull << 20)
#define RDMA_DEFAULT_RETRY_MS  500
#define RDMA_DEFAULT_SPIN_US   20
#define RDMA_DEFAULT_WAIT_MS   30000
#define RDMA_DEFAULT_STALL_MS  3000

struct rdma_opts {
    char dev[64];            /* "": the first device */
    unsigned int port;       /* device port, 1.. */
    int gid_index;           /* -1: the first RoCE v2 IPv4 GID */
    char ip[64];             /* "": the address of the chosen GID */
    uint16_t listen;         /* rdma_cm TCP port space port */
    uint64_t mr_chunk;       /* registration chunk, power of two */
    uint64_t bounce;         /* bounce buffer for unregistered put/get buffers */
    unsigned int retry_ms;   /* reconnect period while a peer is down */
    unsigned int spin_us;    /* put/get: poll the send CQ this long before sleeping on its channel */
    unsigned int wait_ms;    /* put/get: longest wait for a completion, then -ETIMEDOUT */
    unsigned int stall_ms;   /* a send outstanding this long without any completion: the path is dead */
};

/* Fills *o from conf's options (defaults for absent keys). -EINVAL with a message in err on bad input. */
int rdma__opts_parse(const struct osci_adapter_conf *conf, struct rdma_opts *o, char *err, size_t errlen);

/* ---- CM private data (connect request and accept) ---- */
#define RDMA_CM_MAGIC    0x4d43534fu   /* "OSCM" */
#define RDMA_CM_VERSION  1
#define RDMA_CM_PRIV_LEN 24
struct rdma_cm_priv {
    uint32_t node_id;
    uint64_t epoch;
};
void rdma__cm_priv_pack(const struct rdma_cm_priv *p, uint8_t out[RDMA_CM_PRIV_LEN]);
/* len may exceed RDMA_CM_PRIV_LEN (the CM pads private data); -EPROTO for a bad magic/version/field. */
int rdma__cm_priv_unpack(const void *buf, size_t len, struct rdma_cm_priv *p);

/* ---- who keeps which connection ----
 * Either node may connect when it has no connection to the other. What a node holds for a peer when
 * that peer's connect request arrives decides the request's fate (rdma__cm_admit). */
enum rdma_have {
    RDMA_HAVE_NONE,          /* no connection, no attempt */
    RDMA_HAVE_OWN_ATTEMPT,   /* our own connect in flight, not yet established */
    RDMA_HAVE_ACCEPTING,     /* an earlier request of that peer, accepted, not yet established */
    RDMA_HAVE_UP,            /* an established connection (the peer asks again: it lost its side) */
};
enum rdma_admit {
    RDMA_ADMIT_ACCEPT,       /* accept it */
    RDMA_ADMIT_REPLACE,      /* end what we hold (LINK_DOWN when it was up), accept the request */
    RDMA_ADMIT_REFUSE,       /* crossed attempts: ours, made by the lower node id, wins */
};
enum rdma_admit rdma__cm_admit(uint32_t self, uint32_t from, enum rdma_have have);

/* ---- control-message header (every SEND) ---- */
#define RDMA_MSG_MAGIC   0x4f4du       /* "MO" */
#define RDMA_MSG_VERSION 1
#define RDMA_MSG_HDR     8
#define RDMA_MSG_BUF     (RDMA_MSG_HDR + OSCI_DRV_MSG_MAX)
enum rdma_msg_type { RDMA_MSG_DATA = 1, RDMA_MSG_DOORBELL = 2 };
struct rdma_msg_hdr {
    enum rdma_msg_type type;
    uint16_t len;            /* DATA: payload length */
    uint16_t bit;            /* DOORBELL: bit number */
};
void rdma__msg_hdr_pack(const struct rdma_msg_hdr *h, uint8_t out[RDMA_MSG_HDR]);
/* Validates a received buffer of byte_len bytes; -EPROTO names nothing, the caller logs. */
int rdma__msg_hdr_unpack(const void *buf, size_t byte_len, struct rdma_msg_hdr *h);

/* ---- packed transport bytes of an export ---- */
#define RDMA_XPORT_MAGIC      0x58524f4fu   /* "OORX" */
#define RDMA_XPORT_VERSION    1
#define RDMA_XPORT_HDR        24
#define RDMA_XPORT_MAX_CHUNKS ((OSCI_DRV_XPORT_MAX - RDMA_XPORT_HDR) / 4)   /* 10 */
struct rdma_xport {
    uint64_t addr;           /* remote virtual address of byte 0 */
    uint64_t size;
    uint64_t chunk;          /* power of two; chunk i covers [i*chunk, (i+1)*chunk) of the export */
    uint32_t n_chunks;
    uint32_t rkey[RDMA_XPORT_MAX_CHUNKS];
};
/* -E2BIG when it needs more than RDMA_XPORT_MAX_CHUNKS chunks, -ENOSPC when cap is too small. */
int rdma__xport_pack(const struct rdma_xport *x, void *buf, size_t cap, size_t *len_p);
/* Exact length, magic, version, n_chunks == ceil(size/chunk), no address overflow; else -EPROTO/-EINVAL. */
int rdma__xport_unpack(const void *buf, size_t len, struct rdma_xport *x);
/* Number of chunks of `size` bytes, 0 when size is 0 or chunk is not a power of two. */
uint64_t rdma__n_chunks(uint64_t size, uint64_t chunk);
/* 1: fd is a dma-buf (mem_export registers it with ibv_reg_dmabuf_mr), 0: another file, -EBADF: none. */
int rdma__fd_is_dmabuf(int fd);
/* Length of the next piece at offset off (of `left` bytes): stops at the end of the chunk and at max. */
uint64_t rdma__piece(uint64_t off, uint64_t left, uint64_t chunk, uint64_t max);

/* ---- hosts.conf admission ---- */
struct rdma_host {
    uint32_t node_id;
    struct sockaddr_storage sa;   /* port 0 */
    socklen_t salen;
};
/* Numeric or resolvable addresses; -EINVAL with err naming the entry. */
int rdma__hosts_resolve(const struct osci_host *in, unsigned int n, struct rdma_host *out, char *err,
                        size_t errlen);
/* 1 when both carry the same IP address (ports ignored; v4-mapped IPv6 equals IPv4). */
int rdma__addr_equal(const struct sockaddr *a, const struct sockaddr *b);
/* The node listed for address a, or 0. */
uint32_t rdma__hosts_node_of(const struct rdma_host *h, unsigned int n, const struct sockaddr *a);
/* The entry of node, or NULL. */
const struct rdma_host *rdma__hosts_find(const struct rdma_host *h, unsigned int n, uint32_t node);
/* Admission of a connection request: 0, or -EACCES when `claimed` is self, not in hosts.conf, or
 * listed with an address other than src. */
int rdma__peer_check(const struct rdma_host *h, unsigned int n, uint32_t self, const struct sockaddr *src,
                     uint32_t claimed);

/* ---- publish file: what a running node shows to observers (osci-seginfo) on the same host ----
 * /dev/shm/<rdma__pub_name()>, 0600, created O_EXCL|O_NOFOLLOW by the node that opened the adapter,
 * removed on close. A seqlock word guards the peer table and the info blob; host byte order (one host).
 * Layout: hdr (RDMA_PUB_HDR bytes), RDMA_PUB_PEERS peer entries, then the info blob (RDMA_PUB_INFO_MAX).
 */
#define RDMA_PUB_MAGIC     0x5052534fu   /* "OSRP" */
#define RDMA_PUB_VERSION   1
#define RDMA_PUB_HDR       64
#define RDMA_PUB_PEERS     255
#define RDMA_PUB_PEER_SIZE 24
#define RDMA_PUB_INFO_MAX  16384
#define RDMA_PUB_SIZE      (RDMA_PUB_HDR + RDMA_PUB_PEERS * RDMA_PUB_PEER_SIZE + RDMA_PUB_INFO_MAX)
struct rdma_pub_peer {
    uint32_t node_id;
    uint32_t link_up;
    uint64_t epoch;
    uint64_t last_rx_ms;     /* CLOCK_MONOTONIC milliseconds, 0: never */
};
struct rdma_pub_state {      /* a consistent snapshot */
    int32_t pid;
    uint32_t node_id;
    uint64_t epoch;
    unsigned int n_peers;
    struct rdma_pub_peer peer[RDMA_PUB_PEERS];
    size_t info_len;
};
/* The shm name ("/osci-rdma.<dev>.<port>.<listen>", unsafe characters of dev as '_'); -ENAMETOOLONG. */
int rdma__pub_name(const char *dev, unsigned int port, unsigned int listen, char *buf, size_t len);
/* Header of a fresh file (the memory is RDMA_PUB_SIZE bytes, zeroed). */
void rdma__pub_init(void *map, int32_t pid, uint32_t node_id, uint64_t epoch);
/* Writers (one at a time, the caller serialises): the peer table, the info blob (-EMSGSIZE). */
void rdma__pub_set_peers(void *map, const struct rdma_pub_peer *p, unsigned int n);
int rdma__pub_set_info(void *map, const void *buf, size_t len);
/* A consistent copy of what map_len bytes at map hold; the blob into info (cap bytes, -EMSGSIZE when
 * it does not fit; info may be NULL with cap 0). -EBADMSG for a malformed file, -EAGAIN when a writer
 * kept it changing. */
int rdma__pub_read(const volatile void *map, size_t map_len, struct rdma_pub_state *st, void *info, size_t cap);
/* Creates the file (replacing one left by a process that no longer runs) and maps it read-write.
 * -EADDRINUSE when a live process owns it (err names it). */
int rdma__pub_create(const char *name, int32_t pid, uint32_t node_id, uint64_t epoch, void **map_p, char *err,
                     size_t errlen);
/* Opens and maps an existing file read-only after checking it (regular, ours, 0600, RDMA_PUB_SIZE bytes);
 * -ENOENT when there is none, -EPERM/-EBADMSG when it fails the checks. Unmap with munmap(RDMA_PUB_SIZE). */
int rdma__pub_open(const char *name, const void **map_p);
/* 1 when process pid runs (kill(pid, 0) does not say ESRCH). */
int rdma__pid_alive(int32_t pid);

#endif
