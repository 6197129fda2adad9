/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* libnvscibuf internals: attribute lists and reconciliation (nvscibuf_attr.c), their wire format
 * (nvscibuf_wire.c), objects and their sharing (nvscibuf_obj.c). Errors inside are 0 or -errno; NvSciError
 * only at the API edge. */
#ifndef OSCI_NVSCIBUF_INTERNAL_H
#define OSCI_NVSCIBUF_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "nvscibuf.h"
#include "osci_log.h"

#define NB_LOG "nvscibuf"
#define nb_err(...) osci_log(OSCI_LOG_ERROR, NB_LOG, __VA_ARGS__)
#define nb_dbg(...) osci_log(OSCI_LOG_DEBUG, NB_LOG, __VA_ARGS__)

/* Keys with a value in OpenSCI: the 13 general keys and the 2 RawBuffer keys (index into every slot). */
enum { NB_K_TYPES, NB_K_NEEDCPU, NB_K_REQPERM, NB_K_CPUCACHE, NB_K_GPUID, NB_K_CPUSWCOH, NB_K_ACTPERM,
       NB_K_VIDMEM, NB_K_GPUCACHE, NB_K_GPUSWCOH, NB_K_GPUCOMP, NB_K_PEERLOC, NB_K_PEERENG, NB_K_SIZE,
       NB_K_ALIGN, NB_NKEYS };
#define NB_IO_IN 1u
#define NB_IO_OUT 2u
#define NB_IO_INOUT 3u
struct nb_key {
    uint32_t key;
    const char *name;
    uint16_t elem;       /* bytes of one element */
    uint16_t max;        /* elements at most (1 = a scalar) */
    uint8_t io;
    uint8_t type;        /* the NvSciBufType the key belongs to */
};
extern const struct nb_key nb_keys[NB_NKEYS];
/* The index of a supported key; -ENOTSUP for a public key of another type (Image, Tensor, Array, Pyramid),
 * -EINVAL for no public key. */
int nb_key_index(uint32_t key);
/* 0, or -EINVAL naming the problem in the log when `val` is no valid value of key index k. */
int nb_key_check(int k, const void *val, size_t len);

#define NB_MAX_SLOTS 64u
#define NB_PAGE 4096u
/* Late attach without PeerHwEngineArray: the allocation granule every reconcilable engine accepts. */
#define NB_LATE_GRANULE 65536u

struct nb_val {
    uint32_t len;                    /* 0 = unset */
    uint8_t *p;
};
/* Where a slot came from: ep 0 = made in this process, else the endpoint it was imported over. */
struct nb_origin {
    uint64_t ep;
    uint32_t backend;                /* libipc's numbering: 1 INTER_PROCESS, 3 INTER_CHIP */
    uint32_t adapter, peer_node;
};
struct nb_slot {
    struct nb_val v[NB_NKEYS];
    struct nb_origin o;
};

enum nb_kind { NB_UNRECON = 1, NB_RECON = 2, NB_CONFLICT = 3 };
enum nb_place { NB_PLACE_SHM = 1, NB_PLACE_SEG = 2 };
#define NB_MAX_ROUTES 32u

/* An endpoint the object may be exported to, and the highest RequiredPerm the peer behind it asked. */
struct nb_route {
    uint64_t ep;
    uint32_t backend, adapter, peer_node;
    uint32_t maxperm;
};

#define NB_MAGIC_MODULE 0x4e424d44u
#define NB_MAGIC_LIST 0x4e424c53u
#define NB_MAGIC_OBJ 0x4e424f42u

struct NvSciBufModuleRec {
    uint32_t magic;
    atomic_uint refs;                /* the module itself + every list and object of it */
    atomic_int closed;               /* NvSciBufModuleClose was called (once counts) */
};

struct NvSciBufAttrListRec {
    uint32_t magic;
    NvSciBufModule module;
    enum nb_kind kind;
    int frozen;                      /* SetAttrs refused: appended, imported, or a conflict list */
    int objowned;                    /* an object's own list: NvSciBufAttrListFree leaves it */
    size_t nslots;
    struct nb_slot *slots;
    /* reconciled lists */
    uint64_t alloc_len;              /* bytes the object gets (>= RawBuffer Size) */
    enum nb_place place;
    uint32_t adapter;                /* NB_PLACE_SEG: the adapter the segment lives on */
    int late_pad;                    /* reconciled with late peers and no PeerHwEngineArray */
    size_t nroutes;
    struct nb_route routes[NB_MAX_ROUTES];
};

/* Handle registry: a freed or forged handle is refused, never dereferenced. */
int nb_reg_add(void *h);
void nb_reg_del(void *h);
int nb_reg_has(const void *h, uint32_t magic);

void nb_module_get(NvSciBufModule m);
void nb_module_put(NvSciBufModule m);

/* Lists */
int nb_list_new(NvSciBufModule m, enum nb_kind kind, size_t nslots, NvSciBufAttrList *out);
void nb_list_free(NvSciBufAttrList l);
int nb_val_set(struct nb_val *v, const void *p, size_t len);
int nb_list_copy(NvSciBufAttrList src, NvSciBufAttrList *out);
int nb_list_ok(NvSciBufAttrList l);
/* Reconciles `n` slots into a new reconciled list; conflicts (may be NULL) gets the offending keys. 0,
 * -EBADMSG reconciliation failed, -EINVAL a mandatory key missing, -ENOTSUP a type OpenSCI cannot lay out. */
int nb_reconcile(NvSciBufModule m, const struct nb_slot *const *slots, size_t n, NvSciBufAttrList *out,
                 NvSciBufAttrList *conflicts);
/* 1 when the reconciled list satisfies every slot (the "validation fails if" column of the rules), 0 when
 * not (the first offending key named in the log). */
int nb_validate(NvSciBufAttrList rec, const struct nb_slot *const *slots, size_t n);
/* Adds every imported slot's endpoint to the list's routes: 0 or -ENOSPC. */
int nb_routes_add(NvSciBufAttrList rec, const struct nb_slot *const *slots, size_t n);
/* Gathers the slots of unreconciled lists (validated: same module, unreconciled, no duplicates):
 * 0 and a malloc'd array, or -EINVAL. */
int nb_gather(const NvSciBufAttrList *lists, size_t n, NvSciBufModule *mod_p, const struct nb_slot ***slots_p,
              size_t *nslots_p);
uint32_t nb_perm_of(const struct nb_slot *s);  /* RequiredPerm, Readonly when unset */

/* Wire format (docs/nvscibuf.md) */
uint32_t nb_fnv1a(const void *p, size_t len);
int nb_wire_export(NvSciBufAttrList const *lists, size_t n, enum nb_kind kind, void **buf, size_t *len);
/* Parses a descriptor into a new list of the expected kind; every slot's origin set to `o`. 0 or -EINVAL. */
int nb_wire_import(NvSciBufModule m, const void *buf, size_t len, enum nb_kind kind, const struct nb_origin *o,
                   NvSciBufAttrList *out);

NvSciError nb_nverr(int err);

/* libnvsciipc's OpenSCI-private query (libipc/ipc_api.c). */
NvSciError osci_ipc_endpoint_route(NvSciIpcEndpoint handle, uint32_t *backend, uint32_t *adapter,
                                   uint32_t *peer_node);
#define NB_BE_PROCESS 1u
#define NB_BE_CHIP 3u

/* For tests: the length of the memory behind an object. */
uint64_t nb_obj_alloc_len(NvSciBufObj o);

#endif
