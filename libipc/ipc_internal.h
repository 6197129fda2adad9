/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* libnvsciipc internals: configuration, endpoints, backend ops table. Errors are 0 or a negative errno. */
#ifndef OSCI_IPC_INTERNAL_H
#define OSCI_IPC_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "event_native.h"
#include "ipc_fifo.h"
#include "nvsciipc.h"

/* ---- configuration (ipc_cfg.c) ---- */
enum ipc_backend { IPC_BE_THREAD = 0, IPC_BE_PROCESS = 1, IPC_BE_VM = 2, IPC_BE_CHIP = 3, IPC_BE_COUNT };

#define IPC_CFG_DEFAULT_PATH "/etc/nvsciipc.cfg"
#define IPC_CFG_MAX_NFRAMES 65536u
#define IPC_CFG_MAX_CHANNEL (256u << 20)          /* nframes * frame_size of one FIFO */
#define IPC_CHIP_DEFAULT_NFRAMES 64u
#define IPC_CHIP_DEFAULT_FRAME_SIZE 1536u
#define IPC_GID_NONE (-1LL)

struct ipc_cfg_ep {
    char name[NVSCIIPC_MAX_ENDPOINT_NAME];
    char peer_name[NVSCIIPC_MAX_ENDPOINT_NAME];  /* THREAD/PROCESS: the other end; "" otherwise */
    enum ipc_backend backend;
    uint32_t side;              /* THREAD/PROCESS: 0 = first name on the line, 1 = second */
    uint32_t nframes;
    uint32_t frame_size;
    int64_t gid;                /* IPC_GID_NONE when the line has no gid column */
    uint32_t backend_info;      /* VM: queue number; CHIP: the number as written */
    uint32_t xfer_role;         /* CHIP, new format: first two digits */
    uint32_t device_id;         /* CHIP: device (= OpenSCI adapter number) */
    uint32_t peer_node;         /* CHIP: peer=<node>, 0 = not on the line */
    uint32_t adapter;           /* CHIP: = device_id until ipc__chip_route */
    uint32_t chip_set;          /* CHIP: IPC_CHIP_SET_* fields given on the line */
    char info_text[12];         /* CHIP, VM: the backend info as written */
    uint32_t line;
};
#define IPC_CHIP_SET_NFRAMES 1u
#define IPC_CHIP_SET_FRAME_SIZE 2u

struct ipc_cfg {
    struct ipc_cfg_ep *eps;
    size_t n;
    int version;                /* 0: older plain format; 1: "#CFGVER:1" */
};

/* Parses `len` bytes of `text`; `path` only names the file in messages. On error, returns -EINVAL and
 * writes "path:line: reason" to err (when err_len > 0); cfg is then empty. */
int ipc__cfg_parse(const char *text, size_t len, const char *path, struct ipc_cfg *cfg, char *err,
                   size_t err_len);
/* Reads and parses a file: -ENOENT/-EACCES/... when unreadable, -EINVAL when malformed (message on stderr). */
int ipc__cfg_load(const char *path, struct ipc_cfg *cfg);
void ipc__cfg_free(struct ipc_cfg *cfg);
const struct ipc_cfg_ep *ipc__cfg_find(const struct ipc_cfg *cfg, const char *name);
const char *ipc__backend_name(enum ipc_backend be);
/* INTER_CHIP, at open: fills the adapter, peer node and geometry of `ep` from its line's peer=/nframes=/
 * frame_size= and, for what the line does not give, from opensci.conf's "interchip <device>" line.
 * -ENODEV (logged, naming the endpoint and device) when neither gives a peer; -EPROTO when opensci.conf
 * cannot be read or the combined geometry is too large. */
int ipc__chip_route(struct ipc_cfg_ep *ep);

/* ---- endpoints ---- */
struct ipc_ep;

/* A backend: open (which sets ep->fifo, whose conn is the handshake, and ep->native.fd, the event fd) and close,
 * and what it does before the handshake runs (ipc_conn.c). The API layer calls the FIFO (ipc_fifo.h) and the
 * handshake directly: reset and GetEvent are the same for every backend. */
struct ipc_backend_ops {
    size_t size;
    int (*open)(struct ipc_ep *ep);
    void (*close)(struct ipc_ep *ep);   /* frees the backend state; the API layer frees ep */
    /* GetEvent, first: consumes the wake-ups that made the event fd readable, notices a peer that left */
    void (*take_wakeups)(struct ipc_ep *ep);
    /* optional, before every handshake (reset and GetEvent): advances the backend's own link to the peer */
    void (*progress)(struct ipc_ep *ep);
};

struct ipc_ep {
    NvSciIpcEndpoint handle;
    const struct ipc_backend_ops *ops;
    struct ipc_cfg_ep cfg;             /* a copy: the config may be reloaded after Deinit */
    NvSciNativeEvent native;           /* fd = the backend's event fd */
    NvSciEventNotifier *notifier;      /* only with OpenEndpointWithEventService */
    int notify_enabled;
    void *be;                          /* backend state */
    struct ipc_fifo *fifo;             /* the backend's FIFO: the data path */
};

extern const struct ipc_backend_ops ipc__shm_ops;   /* INTER_THREAD and INTER_PROCESS */
extern const struct ipc_backend_ops ipc__chip_ops;  /* INTER_CHIP (ipc_chip.c, over libseg) */
extern const struct ipc_backend_ops ipc__vm_ops;    /* INTER_VM (ipc_vm.c, over an ivshmem BAR) */

/* ---- connection handshake (ipc_conn.c), shared by the backends ---- */
enum ipc_conn_state { IPC_CS_DISC = 0, IPC_CS_SYNC, IPC_CS_ACK, IPC_CS_EST, IPC_CS_COUNT };
enum ipc_conn_event {
    IPC_CE_RESET = 0, IPC_CE_PEER_SYNC, IPC_CE_PEER_ACK, IPC_CE_PEER_EST, IPC_CE_PEER_GONE, IPC_CE_CLOSE, IPC_CE_COUNT
};

struct ipc_conn_ops {
    void (*publish)(void *ctx, uint32_t state);   /* makes our new state visible to the peer */
    void (*clear)(void *ctx);                     /* zeroes the FIFO indices this side writes */
    void (*notify)(void *ctx);                    /* wakes the peer */
    uint32_t (*peer_state)(void *ctx);            /* the peer's published state (DISC when it is gone) */
};

struct ipc_conn {
    const struct ipc_conn_ops *ops;
    void *ctx;
    const char *name;
    struct ipc_fifo *fifo;       /* the channel's FIFO: frames the peer wrote are read before CONN_RESET */
    uint32_t state;              /* enum ipc_conn_state: written only by ipc__conn_event */
    uint32_t pending;            /* CONN_EST / CONN_RESET not yet reported */
    int draining;                /* established, the peer left: its last frames are still read, writes are
                                    refused, CONN_RESET comes when they are all read */
};

/* INTER_CHIP and INTER_VM publish their state as one word, the writer's incarnation (session, epoch) << 32 | the
 * state, so that what an earlier incarnation of the peer left does not count. */
static inline uint64_t ipc__conn_word(uint32_t incarnation, uint32_t state)
{
    return (uint64_t)incarnation << 32 | state;
}
/* The state in word v, or IPC_CS_COUNT when `incarnation` did not write it (or it holds no state). */
static inline uint32_t ipc__conn_word_state(uint64_t v, uint32_t incarnation)
{
    return (uint32_t)(v >> 32) == incarnation && (uint32_t)v < IPC_CS_COUNT ? (uint32_t)v : IPC_CS_COUNT;
}

/* One transition (logged at debug level); -EPROTO for an illegal pair. */
int ipc__conn_event(struct ipc_conn *c, enum ipc_conn_event ev);
/* Feeds the peer's state into the machine until nothing changes. A peer that left (DISC) while we are
 * established and frames it wrote are unread is not acted on yet: c->draining is set instead. */
void ipc__conn_handshake(struct ipc_conn *c);
/* Closing an endpoint: tells the peer, unless the handshake never started. */
void ipc__conn_close(struct ipc_conn *c);
/* NvSciIpcResetEndpoint: drops the events not yet reported and starts the handshake. */
void ipc__conn_reset(struct ipc_conn *c);
/* GetEvent, after the backend took its wake-ups: the handshake, then the CONN_* events not yet reported and
 * the FIFO's levels. */
uint32_t ipc__conn_get_events(struct ipc_conn *c);

/* ---- peer-death watcher (ipc_watch.c) ---- */
/* Calls fn(arg) from the watcher thread, once, when the process that started at `start` as `pid` exits (its
 * pidfd polls readable: a zombie counts); 0 and a registration id in *id_p, -ESRCH when it is dead already. */
int ipc__watch_add(pid_t pid, uint64_t start, void (*fn)(void *arg), void *arg, uint64_t *id_p);
/* After this returns, fn of `id` is not running and will not run. */
void ipc__watch_del(uint64_t id);
void ipc__watch_stop(void);

/* ---- process identity and access (ipc_shm.c) ---- */
/* 1 when the caller is root or a member of group `gid`. */
int ipc__in_group(gid_t gid);

#endif
