/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* opensci.conf (adapters, NvSciIpc's interchip device mapping) and hosts.conf: the parsers libseg's driver
 * layer and libnvsciipc both use (common/osci_conf.c). */
#ifndef OSCI_CONF_H
#define OSCI_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "opensci/osci.h"

#define OSCI_MAX_ADAPTERS     8

/* Options of one configured adapter (opensci.conf, environment). */
struct osci_adapter_conf {
    unsigned int adapter_no;
    char driver[OSCI_NAME_MAX];
    uint32_t node_id;                  /* 0: driver picks a free one */
    int observe;                       /* 1: attach read-only, take no node id (tools) */
    unsigned int n_opts;
    struct { char key[32]; char value[128]; } opts[16];   /* driver options, key=value */
};

/* Configuration (common/osci_conf.c): OSCI_CONF or /etc/opensci/opensci.conf, OSCI_NODE_ID, OSCI_FABRIC. */
int osci_conf_load(struct osci_adapter_conf *out, unsigned int max, unsigned int *count_p);
/* The adapters of opensci.conf `path` as written, no environment applied: 0, or -errno (-ENOENT: no file,
 * not logged; anything else logged). */
int osci_conf_read(const char *path, struct osci_adapter_conf *out, unsigned int max, unsigned int *count_p);
int osci_conf_parse(const char *path, const char *text, size_t len, struct osci_adapter_conf *out,
                    unsigned int max, unsigned int *count_p, char *err, size_t errlen);
const char *osci_conf_opt(const struct osci_adapter_conf *conf, const char *key);
/* The environment variable that overrides option `key` of `conf` in osci_conf_load (OSCI_FABRIC: a simntb
 * adapter's fabric), or NULL. */
const char *osci_conf_opt_env(const struct osci_adapter_conf *conf, const char *key);

/* NvSciIpc INTER_CHIP device mapping, opensci.conf lines
 * "interchip <device> [adapter=<n>] peer=<node> [nframes=<n>] [frame_size=<bytes>]". */
#define OSCI_IC_MAX           128         /* interchip lines per file */
#define OSCI_IC_MAX_DEVICE    9999u       /* device = nvsciipc.cfg's INTER_CHIP backend info */
#define OSCI_IC_MAX_NFRAMES   65536u      /* the NvSciIpc config's limits */
#define OSCI_IC_MAX_CHANNEL   (256u << 20)
struct osci_interchip_conf {
    uint32_t device;
    unsigned int adapter_no;
    uint32_t peer_node;                /* 1..255 */
    uint32_t nframes, frame_size;      /* 0: not given */
    unsigned int line;                 /* where it is defined */
};
/* Parses the interchip lines of opensci.conf (and checks the whole file as osci_conf_parse does). */
int osci_conf_parse_interchip(const char *path, const char *text, size_t len, struct osci_interchip_conf *out,
                              unsigned int max, unsigned int *count_p, char *err, size_t errlen);
/* Looks `device` up in OSCI_CONF or /etc/opensci/opensci.conf: 0, -ENOENT when no line maps it (or there is
 * no default file), -EINVAL (logged) when the file is malformed or the file OSCI_CONF names is missing, other
 * errors (logged) when unreadable. The file's path is written into path (when path_len > 0). */
int osci_conf_interchip(uint32_t device, struct osci_interchip_conf *out, char *path, size_t path_len);

/* NvSciIpc INTER_VM queue table, opensci.conf lines "intervm <queue id> [slot=<pci address>] offset=<bytes>
 * peers=<id>,<id> nframes=<n> frame_size=<bytes> [vector=<n>]" (docs/nvsciipc.md "INTER_VM"). */
#define OSCI_IVM_MAX          64          /* intervm lines per file */
#define OSCI_IVM_MAX_NFRAMES  512u        /* the seed's limit */
#define OSCI_IVM_MAX_FRAME    (1u << 20)
#define OSCI_IVM_MAX_VECTOR   63u
#define OSCI_IVM_MAX_PEER     65535u      /* the Doorbell register's 16-bit peer id */
/* The queue area of `nframes` frames of `frame_size` bytes: two sides of OSCI_IVM_SIDE_HDR bytes of
 * header lines and nframes * frame_size bytes of frames each. */
#define OSCI_IVM_SIDE_HDR     320u
#define OSCI_IVM_AREA(nframes, frame_size) (2u * (OSCI_IVM_SIDE_HDR + (uint64_t)(nframes) * (frame_size)))
struct osci_intervm_conf {
    uint32_t queue;                    /* nvsciipc.cfg's INTER_VM queue id */
    char slot[16];                     /* "": the first ivshmem-doorbell device */
    uint64_t offset;                   /* of the queue area in BAR2, a multiple of 64 */
    uint32_t peers[2];                 /* ivshmem ids (IVPosition) of side 0 and side 1 */
    uint32_t nframes, frame_size;
    uint32_t vector;                   /* the MSI-X vector rung for this queue (default 0) */
    unsigned int line;
};
/* Parses the intervm lines of opensci.conf (and checks the whole file as osci_conf_parse does). */
int osci_conf_parse_intervm(const char *path, const char *text, size_t len, struct osci_intervm_conf *out,
                            unsigned int max, unsigned int *count_p, char *err, size_t errlen);
/* Looks queue `queue` up in OSCI_CONF or /etc/opensci/opensci.conf: 0, -ENOENT when no line has it (or there
 * is no default file), -EINVAL (logged) when the file is malformed or the file OSCI_CONF names is missing,
 * other errors (logged) when unreadable. The file's path is written into path (when path_len > 0). */
int osci_conf_intervm(uint32_t queue, struct osci_intervm_conf *out, char *path, size_t path_len);

/* hosts.conf (OSCI_HOSTS or /etc/opensci/hosts.conf): node id -> host address. */
struct osci_host { uint32_t node_id; char addr[64]; };
int osci_hosts_load(struct osci_host *out, unsigned int max, unsigned int *count_p);
int osci_hosts_parse(const char *path, const char *text, size_t len, struct osci_host *out, unsigned int max,
                     unsigned int *count_p, char *err, size_t errlen);

#endif
