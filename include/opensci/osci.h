/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* OpenSCI extensions beside the SISCI API: fault injection for tests, fabric introspection for tools. */
#ifndef OPENSCI_OSCI_H
#define OPENSCI_OSCI_H

#include <stddef.h>
#include <stdint.h>

#include "osci_visibility.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Faults a test can inject into an adapter's driver (compiled in, off until used). */
enum osci_fault {
    OSCI_FAULT_LINK_DOWN = 1,        /* take the link to `node` down (both ends see it) */
    OSCI_FAULT_LINK_UP = 2,          /* bring it back (same epochs) */
    OSCI_FAULT_DROP_DOORBELL = 3,    /* drop the next `count` doorbells rung towards `node` */
    OSCI_FAULT_LIVENESS_LOST = 4,    /* this node stops heartbeating and its pid is hidden: peers see it die */
    OSCI_FAULT_CORRUPT_MSG = 5,      /* corrupt the next `count` non-empty control messages sent to `node`
                                      * (every payload byte XOR 0xa5) */
};
/* DROP_DOORBELL and CORRUPT_MSG mean the same on every driver: `count` replaces what is left of an earlier
 * one (0 disarms); `node` is 1..255. */

/* 0 or a negative errno. Works once SCIInitialize has run; `adapter` is a local adapter number. */
OSCI_EXPORT int osci_fault_inject(unsigned int adapter, enum osci_fault fault, unsigned int node,
                                  unsigned int count);

/* What local adapter `adapter` can do, as its driver states it (libipc decides from these, not from card
 * types). 0 with *caps_p, -ENODEV (not configured), or another negative errno; after SCIInitialize. */
#define OSCI_ADAPTER_FULL_VIEW  0x1   /* every node of the fabric sees every other one from the moment it joins */
OSCI_EXPORT int osci_adapter_caps(unsigned int adapter, uint32_t *caps_p);

/* ---- Introspection (osci-seginfo) ---- */
#define OSCI_NAME_MAX 32

struct osci_adapter_info {
    unsigned int adapter_no;
    char driver[OSCI_NAME_MAX];       /* "simntb", "rdma", ... */
    char name[64];                    /* fabric name, device name */
    uint32_t node_id;                 /* this process's node id on the adapter (0 when observing) */
    uint32_t max_nodes;
    uint64_t max_segment_size;
    uint32_t n_doorbells;
    uint32_t can_map_remote;          /* 1: remote segments can be mapped for load/store */
};

struct osci_peer_info {
    uint32_t node_id;
    uint32_t link_up;                 /* 1 up, 0 down */
    uint64_t epoch;                   /* changes whenever the peer restarts */
    int64_t pid;                      /* -1 when not known (other host) */
    uint64_t heartbeat_age_ms;        /* time since the peer's last heartbeat */
};

enum osci_seg_kind { OSCI_SEG_LOCAL = 1, OSCI_SEG_REMOTE = 2 };
#define OSCI_SEG_INFO_MAX_CONN 8

/* One segment as published by the node that holds it. */
struct osci_seg_info {
    uint32_t kind;                    /* enum osci_seg_kind */
    uint32_t segment_id;
    uint32_t node_id;                 /* owner node (remote segments), this node (local) */
    uint32_t adapter_no;
    uint64_t size;
    char state[32];                   /* state-machine name, e.g. "AVAILABLE", "OPERATIONAL" */
    uint32_t n_conn;                  /* local: connected remote nodes */
    uint32_t conn_node[OSCI_SEG_INFO_MAX_CONN];
};

/* Observe the fabric of local adapter `adapter` without joining it (no node id taken). */
OSCI_EXPORT int osci_info_adapters(struct osci_adapter_info *out, unsigned int max, unsigned int *count_p);
OSCI_EXPORT int osci_info_peers(unsigned int adapter, struct osci_peer_info *out, unsigned int max,
                                unsigned int *count_p);
/* The segments that `node` published on adapter `adapter`. */
OSCI_EXPORT int osci_info_segments(unsigned int adapter, uint32_t node, struct osci_seg_info *out,
                                   unsigned int max, unsigned int *count_p);

/* ---- Effective configuration (osci-seginfo --config) ---- */
struct osci_config_opt {
    char key[32];
    char value[128];
    char source[160];                 /* "environment OSCI_FABRIC", "/etc/opensci/opensci.conf", "default" */
};

#define OSCI_CONFIG_MAX_OPTS 18
struct osci_adapter_config {
    unsigned int adapter_no;
    char driver[OSCI_NAME_MAX];
    unsigned int n_opts;              /* "driver" and "node_id" first, then the driver's options */
    struct osci_config_opt opts[OSCI_CONFIG_MAX_OPTS];
};

/* The adapters as this process would configure them now (opensci.conf and the OSCI_* environment), each
 * value with where it came from. path: the configuration file read or looked for; file_found: whether it
 * exists (0: the built-in default, one simntb adapter). 0 or a negative errno (a malformed file: -EINVAL). */
OSCI_EXPORT int osci_info_config(struct osci_adapter_config *out, unsigned int max, unsigned int *count_p,
                                 char *path, size_t path_len, int *file_found);

OSCI_EXPORT const char *osci_strerror(int err);

#ifdef __cplusplus
}
#endif
#endif
