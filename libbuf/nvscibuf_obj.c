/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* NvSciBuf objects: allocation (a 0600 POSIX shared-memory object, or a SISCI segment when a peer is on
 * another chip), handles with their own permission, and export/import over NvSciIpc endpoints with the
 * 256-byte descriptor of docs/nvscibuf.md. The memory starts with one control page (struct nb_ctl) that
 * holds the export slots: a descriptor names a slot and its 128-bit key, and imports once. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nvscibuf_internal.h"
#include "osci_proc.h"
#include "sisci_api.h"

#define CTL_MAGIC 0x4c43424eu        /* "NBCL" */
#define CTL_VERSION 1u
#define CTL_SLOTS 128u
enum { SLOT_FREE = 0, SLOT_BUSY, SLOT_EXPORTED, SLOT_IMPORTED };

struct nb_ctl_slot {
    _Atomic uint32_t state;
    uint32_t perm;
    uint8_t key[16];
};
struct nb_ctl {
    uint32_t magic, version;
    uint64_t data_len;
    struct nb_ctl_slot slot[CTL_SLOTS];
};
_Static_assert(sizeof(struct nb_ctl) <= NB_PAGE, "control page");

#define DESC_MAGIC 0x4f424e4fu       /* "ONBO" */
#define DESC_VERSION 1u
#define DESC_SHM 1u
#define DESC_SEG 2u
#define SHM_PREFIX "/osci-nvscibuf-"
#define SEG_ID_BASE 0x4e000000u

/* The descriptor (docs/nvscibuf.md "Object descriptor"), 256 bytes, little-endian. */
struct nb_desc {
    uint32_t magic;
    uint16_t version;
    uint8_t kind;
    uint8_t perm;
    uint64_t data_len;
    uint32_t slot;
    uint32_t reserved0;
    uint8_t key[16];
    union {
        char name[64];
        struct { uint32_t node, segid, adapter, reserved[13]; } seg;
    } u;
    uint8_t reserved1[148];
    uint32_t checksum;
};
_Static_assert(sizeof(struct nb_desc) == sizeof(NvSciBufObjIpcExportDescriptor), "descriptor size");

struct nb_mem {
    atomic_uint refs;
    pthread_mutex_t lock;
    enum nb_place place;
    int owner;
    uint64_t len;
    uint8_t *data;                   /* read-write view (NULL for a read-only import) */
    const uint8_t *rodata;           /* read-only view, made on demand */
    struct nb_ctl *ctl;              /* the owner's control page */
    /* shm */
    int fd;
    char name[64];
    void *map, *romap, *impmap;      /* the owner's whole object, a read-only view, an import's data */
    /* segment */
    sci_desc_t sd;
    sci_local_segment_t lseg;
    sci_remote_segment_t rseg;
    sci_map_t map_rw, map_ro;
    uint32_t node, segid, adapter;
    NvSciBufAttrList attrs;
};

struct NvSciBufObjRefRec {
    uint32_t magic;
    struct nb_mem *mem;
    uint32_t perm;
};

/* Opens mem->sd. libseg counts SCIInitialize calls, so each open descriptor holds one (mem_free's
 * SCITerminate gives it back). */
static int sci_open(struct nb_mem *mem)
{
    sci_error_t e;
    SCIInitialize(0, &e);
    if (e != SCI_ERR_OK) {
        nb_err("SCIInitialize: %s", SCIGetErrorString(e));
        return -ENODEV;
    }
    SCIOpen(&mem->sd, 0, &e);
    if (e != SCI_ERR_OK) {
        SCITerminate();
        mem->sd = 0;
        return -ENODEV;
    }
    return 0;
}

static int obj_ok(NvSciBufObj o)
{
    return nb_reg_has(o, NB_MAGIC_OBJ);
}

uint64_t nb_obj_alloc_len(NvSciBufObj o)
{
    return obj_ok(o) ? o->mem->len : 0;
}

static int new_handle(struct nb_mem *mem, uint32_t perm, NvSciBufObj *out)
{
    NvSciBufObj h = calloc(1, sizeof(*h));
    if (!h) return -ENOMEM;
    h->magic = NB_MAGIC_OBJ;
    h->mem = mem;
    h->perm = perm;
    if (nb_reg_add(h)) { free(h); return -ENOMEM; }
    atomic_fetch_add(&mem->refs, 1);
    *out = h;
    return 0;
}

static void mem_release(struct nb_mem *mem)
{
    sci_error_t e;
    if (mem->place == NB_PLACE_SHM) {
        if (mem->romap) munmap(mem->romap, mem->len);
        if (mem->impmap) munmap(mem->impmap, mem->len);
        if (mem->map) munmap(mem->map, NB_PAGE + mem->len);
        if (mem->fd >= 0) close(mem->fd);
        if (mem->owner && mem->name[0]) shm_unlink(mem->name);
    } else {
        if (mem->map_ro) SCIUnmapSegment(mem->map_ro, 0, &e);
        if (mem->map_rw) SCIUnmapSegment(mem->map_rw, 0, &e);
        if (mem->lseg) {
            SCISetSegmentUnavailable(mem->lseg, mem->adapter, SCI_FLAG_FORCE_DISCONNECT, &e);
            SCIRemoveSegment(mem->lseg, 0, &e);
        }
        if (mem->rseg) SCIDisconnectSegment(mem->rseg, 0, &e);
        if (mem->sd) { SCIClose(mem->sd, 0, &e); SCITerminate(); }
    }
    if (mem->attrs) nb_list_free(mem->attrs);
    pthread_mutex_destroy(&mem->lock);
    free(mem);
}

static struct nb_mem *mem_new(NvSciBufAttrList attrs, enum nb_place place, uint64_t len)
{
    struct nb_mem *mem = calloc(1, sizeof(*mem));
    if (!mem) return NULL;
    if (nb_list_copy(attrs, &mem->attrs)) { free(mem); return NULL; }
    mem->attrs->objowned = 1;
    mem->attrs->frozen = 1;
    atomic_init(&mem->refs, 0);
    pthread_mutex_init(&mem->lock, NULL);
    mem->place = place;
    mem->len = len;
    mem->fd = -1;
    return mem;
}

static void ctl_init(struct nb_ctl *c, uint64_t len)
{
    memset(c, 0, sizeof(*c));
    c->magic = CTL_MAGIC;
    c->version = CTL_VERSION;
    c->data_len = len;
}

/* Once per process (a forked child too): removes the shared-memory objects of allocators that died without freeing (the name
 * carries the owner's pid and start time, so a reused pid does not keep them). */
static void sweep_dead(void)
{
    DIR *d = opendir("/dev/shm");
    struct dirent *e;
    if (!d) return;
    while ((e = readdir(d))) {
        int pid;
        unsigned long long start;
        char path[300];
        if (strncmp(e->d_name, SHM_PREFIX + 1, strlen(SHM_PREFIX) - 1) ||
            sscanf(e->d_name + strlen(SHM_PREFIX) - 1, "%d-%llu-", &pid, &start) != 2 || pid <= 0 || pid == getpid())
            continue;
        if (osci_proc_alive(pid, start)) continue;
        snprintf(path, sizeof(path), "/%s", e->d_name);
        if (shm_unlink(path) == 0) nb_dbg("removed %s: its allocator (pid %d) is gone", path, pid);
    }
    closedir(d);
}

static int alloc_shm(struct nb_mem *mem)
{
    static atomic_int swept_by;
    uint64_t rnd, start;
    int rc;
    if (atomic_exchange(&swept_by, (int)getpid()) != (int)getpid()) sweep_dead();
    if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd)) return -EIO;
    if ((rc = osci_proc_start(getpid(), &start)) < 0) return rc;
    snprintf(mem->name, sizeof(mem->name), SHM_PREFIX "%d-%llu-%016llx", (int)getpid(), (unsigned long long)start,
             (unsigned long long)rnd);
    mem->fd = shm_open(mem->name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (mem->fd < 0) {
        int rc = -errno;
        mem->name[0] = 0;
        nb_err("shm_open: %s", strerror(-rc));
        return rc;
    }
    if (ftruncate(mem->fd, (off_t)(NB_PAGE + mem->len)) != 0) return -errno;
    mem->map = mmap(NULL, NB_PAGE + mem->len, PROT_READ | PROT_WRITE, MAP_SHARED, mem->fd, 0);
    if (mem->map == MAP_FAILED) { mem->map = NULL; return -errno; }
    mem->ctl = mem->map;
    ctl_init(mem->ctl, mem->len);
    mem->data = (uint8_t *)mem->map + NB_PAGE;
    return 0;
}

static int alloc_seg(struct nb_mem *mem, uint32_t adapter)
{
    sci_error_t e;
    void *p;
    unsigned node;
    if (sci_open(mem)) return -ENODEV;
    mem->adapter = adapter;
    for (int tries = 0; tries < 16; tries++) {
        uint32_t rnd;
        if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd)) return -EIO;
        mem->segid = SEG_ID_BASE | (rnd & 0x00ffffffu);
        SCICreateSegment(mem->sd, &mem->lseg, mem->segid, NB_PAGE + mem->len, NULL, NULL, 0, &e);
        if (e != SCI_ERR_SEGMENTID_USED) break;
    }
    if (e != SCI_ERR_OK) { mem->lseg = NULL; nb_err("SCICreateSegment: %s", SCIGetErrorString(e)); return -ENOSPC; }
    SCIPrepareSegment(mem->lseg, adapter, 0, &e);
    if (e != SCI_ERR_OK) { nb_err("SCIPrepareSegment (adapter %u): %s", adapter, SCIGetErrorString(e)); return -ENODEV; }
    p = SCIMapLocalSegment(mem->lseg, &mem->map_rw, 0, NB_PAGE + mem->len, NULL, 0, &e);
    if (e != SCI_ERR_OK) { mem->map_rw = NULL; return -ENOMEM; }
    mem->ctl = p;
    ctl_init(mem->ctl, mem->len);
    mem->data = (uint8_t *)p + NB_PAGE;
    SCIGetLocalNodeId(adapter, &node, 0, &e);
    if (e != SCI_ERR_OK) return -ENODEV;
    mem->node = node;
    SCISetSegmentAvailable(mem->lseg, adapter, 0, &e);
    if (e != SCI_ERR_OK) { nb_err("SCISetSegmentAvailable: %s", SCIGetErrorString(e)); return -ENODEV; }
    return 0;
}

static const struct nb_val *rval(NvSciBufAttrList l, int k)
{
    return &l->slots[0].v[k];
}

NVSCI_EXPORT NvSciError NvSciBufObjAlloc(NvSciBufAttrList reconciledAttrList, NvSciBufObj *bufObj)
{
    struct nb_mem *mem;
    const struct nb_val *vid;
    uint32_t rw = NvSciBufAccessPerm_ReadWrite;
    int rc;
    if (!nb_list_ok(reconciledAttrList) || reconciledAttrList->kind != NB_RECON || !bufObj) {
        nb_err("ObjAlloc: needs a reconciled attribute list");
        return NvSciError_BadParameter;
    }
    vid = rval(reconciledAttrList, NB_K_VIDMEM);
    for (uint32_t i = 0; i < vid->len; i++)
        if (vid->p[i]) { nb_err("ObjAlloc: GPU video memory is not available"); return NvSciError_NotSupported; }
    if (!(mem = mem_new(reconciledAttrList, reconciledAttrList->place, reconciledAttrList->alloc_len)))
        return NvSciError_InsufficientMemory;
    mem->owner = 1;
    mem->attrs->nroutes = reconciledAttrList->nroutes;
    rc = mem->place == NB_PLACE_SEG ? alloc_seg(mem, reconciledAttrList->adapter) : alloc_shm(mem);
    if (!rc) rc = nb_val_set(&mem->attrs->slots[0].v[NB_K_ACTPERM], &rw, 4);
    if (!rc) rc = new_handle(mem, NvSciBufAccessPerm_ReadWrite, bufObj);
    if (rc) { mem_release(mem); return rc == -ENODEV ? NvSciError_ResourceError : nb_nverr(rc); }
    nb_module_get(mem->attrs->module);
    return NvSciError_Success;
}

NVSCI_EXPORT NvSciError NvSciBufAttrListReconcileAndObjAlloc(const NvSciBufAttrList attrListArray[],
                                                             size_t attrListCount, NvSciBufObj *bufObj,
                                                             NvSciBufAttrList *newConflictList)
{
    NvSciBufAttrList rec;
    NvSciError err;
    if (!bufObj) return NvSciError_BadParameter;
    err = NvSciBufAttrListReconcile(attrListArray, attrListCount, &rec, newConflictList);
    if (err != NvSciError_Success) return err;
    err = NvSciBufObjAlloc(rec, bufObj);
    nb_list_free(rec);
    return err;
}

NVSCI_EXPORT void NvSciBufObjFree(NvSciBufObj bufObj)
{
    struct nb_mem *mem;
    NvSciBufModule m;
    if (!obj_ok(bufObj)) return;
    nb_reg_del(bufObj);
    mem = bufObj->mem;
    bufObj->magic = 0;
    free(bufObj);
    if (atomic_fetch_sub(&mem->refs, 1) == 1) {
        m = mem->attrs->module;
        mem_release(mem);
        nb_module_put(m);
    }
}

NVSCI_EXPORT NvSciError NvSciBufObjValidate(NvSciBufObj bufObj)
{
    return obj_ok(bufObj) ? NvSciError_Success : NvSciError_BadParameter;
}

NVSCI_EXPORT NvSciError NvSciBufObjDup(NvSciBufObj bufObj, NvSciBufObj *dupObj)
{
    if (!obj_ok(bufObj) || !dupObj) return NvSciError_BadParameter;
    return nb_nverr(new_handle(bufObj->mem, bufObj->perm, dupObj));
}

/* The read-only view: a second mapping with PROT_READ only. */
static int ro_view(struct nb_mem *mem)
{
    int rc = 0;
    pthread_mutex_lock(&mem->lock);
    if (mem->rodata) goto out;
    if (mem->place == NB_PLACE_SHM) {
        void *p = mmap(NULL, mem->len, PROT_READ, MAP_SHARED, mem->fd, NB_PAGE);
        if (p == MAP_FAILED) { rc = -errno; goto out; }
        mem->romap = p;
        mem->rodata = p;
    } else if (mem->lseg) {
        sci_error_t e;
        const void *p = SCIMapLocalSegment(mem->lseg, &mem->map_ro, NB_PAGE, mem->len, NULL, SCI_FLAG_READONLY_MAP, &e);
        if (e != SCI_ERR_OK) { mem->map_ro = NULL; rc = -ENOMEM; goto out; }
        mem->rodata = p;
    } else {
        sci_error_t e;
        const void *p = (const void *)(uintptr_t)SCIMapRemoteSegment(mem->rseg, &mem->map_ro, NB_PAGE, mem->len, NULL,
                                                                     SCI_FLAG_READONLY_MAP, &e);
        if (e != SCI_ERR_OK) { mem->map_ro = NULL; rc = -ENOMEM; goto out; }
        mem->rodata = p;
    }
out:
    pthread_mutex_unlock(&mem->lock);
    return rc;
}

NVSCI_EXPORT NvSciError NvSciBufObjDupWithReducePerm(NvSciBufObj bufObj, NvSciBufAttrValAccessPerm reducedPerm,
                                                     NvSciBufObj *newBufObj)
{
    uint32_t perm;
    int rc;
    if (!obj_ok(bufObj) || !newBufObj ||
        (reducedPerm != NvSciBufAccessPerm_Readonly && reducedPerm != NvSciBufAccessPerm_ReadWrite))
        return NvSciError_BadParameter;
    perm = (uint32_t)reducedPerm < bufObj->perm ? (uint32_t)reducedPerm : bufObj->perm;
    if (perm == NvSciBufAccessPerm_Readonly && (rc = ro_view(bufObj->mem))) return nb_nverr(rc);
    return nb_nverr(new_handle(bufObj->mem, perm, newBufObj));
}

NVSCI_EXPORT NvSciError NvSciBufObjGetAttrList(NvSciBufObj bufObj, NvSciBufAttrList *bufAttrList)
{
    if (!obj_ok(bufObj) || !bufAttrList) return NvSciError_BadParameter;
    *bufAttrList = bufObj->mem->attrs;
    return NvSciError_Success;
}

static int need_cpu(NvSciBufObj o)
{
    const struct nb_val *v = rval(o->mem->attrs, NB_K_NEEDCPU);
    if (v->len && v->p[0]) return 1;
    nb_err("CPU access: NvSciBufGeneralAttrKey_NeedCpuAccess was not requested");
    return 0;
}

NVSCI_EXPORT NvSciError NvSciBufObjGetCpuPtr(NvSciBufObj bufObj, void **ptr)
{
    if (!obj_ok(bufObj) || !ptr || !need_cpu(bufObj)) return NvSciError_BadParameter;
    if (bufObj->perm != NvSciBufAccessPerm_ReadWrite || !bufObj->mem->data) {
        nb_err("GetCpuPtr: the handle is read-only (NvSciBufObjGetConstCpuPtr)");
        return NvSciError_BadParameter;
    }
    *ptr = bufObj->mem->data;
    return NvSciError_Success;
}

NVSCI_EXPORT NvSciError NvSciBufObjGetConstCpuPtr(NvSciBufObj bufObj, const void **ptr)
{
    int rc;
    if (!obj_ok(bufObj) || !ptr || !need_cpu(bufObj)) return NvSciError_BadParameter;
    if (bufObj->perm == NvSciBufAccessPerm_ReadWrite && bufObj->mem->data) {
        *ptr = bufObj->mem->data;
        return NvSciError_Success;
    }
    if ((rc = ro_view(bufObj->mem))) return nb_nverr(rc);
    *ptr = bufObj->mem->rodata;
    return NvSciError_Success;
}

/* The memory is coherent (shared memory or a mapped segment): a flush orders the CPU's stores. */
NVSCI_EXPORT NvSciError NvSciBufObjFlushCpuCacheRange(NvSciBufObj bufObj, uint64_t offset, uint64_t len)
{
    if (!obj_ok(bufObj) || !need_cpu(bufObj)) return NvSciError_BadParameter;
    if (len == 0 || offset > bufObj->mem->len || len > bufObj->mem->len - offset) {
        nb_err("FlushCpuCacheRange: [%llu, +%llu) is outside the %llu-byte buffer", (unsigned long long)offset,
               (unsigned long long)len, (unsigned long long)bufObj->mem->len);
        return NvSciError_BadParameter;
    }
    atomic_thread_fence(memory_order_seq_cst);
    return NvSciError_Success;
}

NVSCI_EXPORT NvSciError NvSciBufObjGetPixels(NvSciBufObj bufObj, const NvSciBufRect *rect, void **dstPtrs,
                                             const uint32_t *dstPtrSizes, const uint32_t *dstPitches)
{
    return obj_ok(bufObj) ? NvSciError_NotSupported : NvSciError_BadParameter;
}

NVSCI_EXPORT NvSciError NvSciBufObjPutPixels(NvSciBufObj bufObj, const NvSciBufRect *rect, const void **srcPtrs,
                                             const uint32_t *srcPtrSizes, const uint32_t *srcPitches)
{
    return obj_ok(bufObj) ? NvSciError_NotSupported : NvSciError_BadParameter;
}

/* ---- export / import ---- */
static struct nb_route *route_find(NvSciBufAttrList l, NvSciIpcEndpoint ep)
{
    for (size_t i = 0; i < l->nroutes; i++)
        if (l->routes[i].ep == ep) return &l->routes[i];
    return NULL;
}

NVSCI_EXPORT NvSciError NvSciBufObjGetMaxPerm(const NvSciBufObj bufObj, const NvSciIpcEndpoint ipcEndpoint,
                                              NvSciBufAttrValAccessPerm *accPerm)
{
    struct nb_route *r;
    if (!obj_ok(bufObj) || !accPerm) return NvSciError_BadParameter;
    pthread_mutex_lock(&bufObj->mem->lock);
    r = route_find(bufObj->mem->attrs, ipcEndpoint);
    if (r) *accPerm = (NvSciBufAttrValAccessPerm)r->maxperm;
    pthread_mutex_unlock(&bufObj->mem->lock);
    return r ? NvSciError_Success : NvSciError_NotPermitted;
}

NVSCI_EXPORT NvSciError NvSciBufObjIpcExport(NvSciBufObj bufObj, NvSciBufAttrValAccessPerm accPerm,
                                             NvSciIpcEndpoint ipcEndpoint, NvSciBufObjIpcExportDescriptor *exportData)
{
    struct nb_mem *mem;
    struct nb_route rt, *r;
    struct nb_desc d;
    uint32_t perm, be, ad, pn;
    struct nb_ctl_slot *s = NULL;
    if (!obj_ok(bufObj) || !exportData) return NvSciError_BadParameter;
    if (accPerm != NvSciBufAccessPerm_Readonly && accPerm != NvSciBufAccessPerm_ReadWrite &&
        accPerm != NvSciBufAccessPerm_Auto)
        return NvSciError_BadParameter;
    if (osci_ipc_endpoint_route(ipcEndpoint, &be, &ad, &pn) != NvSciError_Success) {
        nb_err("ObjIpcExport: no open endpoint %#llx", (unsigned long long)ipcEndpoint);
        return NvSciError_BadParameter;
    }
    mem = bufObj->mem;
    if (!mem->owner) { nb_err("ObjIpcExport: an imported object is not exported again"); return NvSciError_NotPermitted; }
    pthread_mutex_lock(&mem->lock);
    r = route_find(mem->attrs, ipcEndpoint);
    if (r) rt = *r;
    pthread_mutex_unlock(&mem->lock);
    if (!r) {
        nb_err("ObjIpcExport: no attribute list of this object came over endpoint %#llx (a late peer needs "
               "NvSciBufObjAttachPeer)", (unsigned long long)ipcEndpoint);
        return NvSciError_NotPermitted;
    }
    if (be == NB_BE_CHIP && mem->place != NB_PLACE_SEG) {
        nb_err("ObjIpcExport: the object is in this host's memory; an INTER_CHIP peer cannot reach it");
        return NvSciError_NotPermitted;
    }
    perm = accPerm == NvSciBufAccessPerm_Auto ? rt.maxperm : (uint32_t)accPerm;
    if (perm > bufObj->perm || perm < rt.maxperm) {
        nb_err("ObjIpcExport: permission %u is above this handle's (%u) or below what the peer asked (%u)", perm,
               bufObj->perm, rt.maxperm);
        return NvSciError_InvalidOperation;
    }
    for (uint32_t i = 0; i < CTL_SLOTS; i++) {
        uint32_t f = SLOT_FREE;
        if (atomic_compare_exchange_strong(&mem->ctl->slot[i].state, &f, SLOT_BUSY)) { s = &mem->ctl->slot[i]; break; }
    }
    if (!s) { nb_err("ObjIpcExport: %u exports are pending import", CTL_SLOTS); return NvSciError_InsufficientResource; }
    memset(&d, 0, sizeof(d));
    if (getrandom(s->key, sizeof(s->key), 0) != sizeof(s->key)) {
        atomic_store(&s->state, SLOT_FREE);
        return NvSciError_ResourceError;
    }
    s->perm = perm;
    atomic_store(&s->state, SLOT_EXPORTED);
    d.magic = DESC_MAGIC;
    d.version = DESC_VERSION;
    d.kind = mem->place == NB_PLACE_SEG ? DESC_SEG : DESC_SHM;
    d.perm = (uint8_t)perm;
    d.data_len = mem->len;
    d.slot = (uint32_t)(s - mem->ctl->slot);
    memcpy(d.key, s->key, sizeof(d.key));
    if (d.kind == DESC_SHM) {
        memcpy(d.u.name, mem->name, sizeof(d.u.name));
    } else {
        d.u.seg.node = mem->node;
        d.u.seg.segid = mem->segid;
        d.u.seg.adapter = mem->adapter;
    }
    d.checksum = nb_fnv1a(&d, offsetof(struct nb_desc, checksum));
    memcpy(exportData, &d, sizeof(d));
    return NvSciError_Success;
}

static int name_ok(const char *n)
{
    size_t l = strnlen(n, 64);
    if (l == 64 || strncmp(n, SHM_PREFIX, strlen(SHM_PREFIX))) return 0;
    for (size_t i = strlen(SHM_PREFIX); i < l; i++)
        if (!((n[i] >= '0' && n[i] <= '9') || (n[i] >= 'a' && n[i] <= 'f') || n[i] == '-')) return 0;
    for (size_t i = l; i < 64; i++)
        if (n[i]) return 0;
    return 1;
}

/* Checks every field of a descriptor: 0 or -EINVAL naming the problem. */
static int desc_check(const struct nb_desc *d)
{
    static const uint8_t zero[148];
    const char *why = NULL;
    if (d->magic != DESC_MAGIC) why = "bad magic";
    else if (d->version != DESC_VERSION) why = "unknown version";
    else if (d->checksum != nb_fnv1a(d, offsetof(struct nb_desc, checksum))) why = "checksum mismatch";
    else if (d->kind != DESC_SHM && d->kind != DESC_SEG) why = "unknown kind";
    else if (d->perm != NvSciBufAccessPerm_Readonly && d->perm != NvSciBufAccessPerm_ReadWrite) why = "bad permission";
    else if (d->data_len == 0 || d->data_len % NB_PAGE || d->data_len > (1ull << 40)) why = "bad length";
    else if (d->slot >= CTL_SLOTS) why = "bad slot";
    else if (d->reserved0 || memcmp(d->reserved1, zero, sizeof(zero))) why = "reserved bytes set";
    else if (d->kind == DESC_SHM && !name_ok(d->u.name)) why = "bad object name";
    else if (d->kind == DESC_SEG) {
        for (int i = 0; i < 13; i++)
            if (d->u.seg.reserved[i]) why = "reserved bytes set";
        if ((d->u.seg.segid & 0xff000000u) != SEG_ID_BASE) why = "bad segment id";
    }
    if (why) { nb_err("ObjIpcImport: malformed descriptor: %s", why); return -EINVAL; }
    return 0;
}

/* Claims the descriptor's export slot: 0, -EPERM (forged key), -EALREADY (imported before), -EINVAL. */
static int claim(struct nb_ctl *c, const struct nb_desc *d)
{
    struct nb_ctl_slot *s;
    uint32_t want = SLOT_EXPORTED;
    uint8_t diff = 0;
    if (c->magic != CTL_MAGIC || c->version != CTL_VERSION || c->data_len != d->data_len) {
        nb_err("ObjIpcImport: the memory named by the descriptor is no NvSciBuf object of that size");
        return -EINVAL;
    }
    s = &c->slot[d->slot];
    for (int i = 0; i < 16; i++) diff |= s->key[i] ^ d->key[i];
    if (diff || s->perm != d->perm) {
        nb_err("ObjIpcImport: descriptor key or permission does not match the export");
        return -EPERM;
    }
    if (!atomic_compare_exchange_strong(&s->state, &want, SLOT_IMPORTED)) {
        nb_err("ObjIpcImport: the descriptor was imported already (a descriptor imports once)");
        return want == SLOT_IMPORTED ? -EALREADY : -EPERM;
    }
    return 0;
}

static int import_shm(struct nb_mem *mem, const struct nb_desc *d)
{
    int fd, rc;
    void *c;
    fd = shm_open(d->u.name, O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0);
    if (fd < 0) { nb_err("ObjIpcImport: %s: %s (exporter gone?)", d->u.name, strerror(errno)); return -EINVAL; }
    c = mmap(NULL, NB_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (c == MAP_FAILED) return -EINVAL;
    rc = claim(c, d);
    munmap(c, NB_PAGE);
    if (rc) return rc;
    /* The data view from a descriptor of the granted mode: a read-only grant cannot be made writable. */
    fd = shm_open(d->u.name, (d->perm == NvSciBufAccessPerm_ReadWrite ? O_RDWR : O_RDONLY) | O_NOFOLLOW | O_CLOEXEC, 0);
    if (fd < 0) return -EINVAL;
    mem->fd = fd;         /* kept: a read-only duplicate maps it again PROT_READ */
    c = mmap(NULL, mem->len, d->perm == NvSciBufAccessPerm_ReadWrite ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED,
             fd, NB_PAGE);
    if (c == MAP_FAILED) return -ENOMEM;
    mem->impmap = c;
    if (d->perm == NvSciBufAccessPerm_ReadWrite) mem->data = c;
    else mem->rodata = c;
    return 0;
}

static int import_seg(struct nb_mem *mem, const struct nb_desc *d, uint32_t adapter, int64_t timeout_us)
{
    sci_error_t e;
    sci_map_t cm;
    volatile void *c;
    const void *p;
    unsigned tmo = timeout_us < 0 ? SCI_INFINITE_TIMEOUT : (unsigned)(timeout_us / 1000 > 0 ? timeout_us / 1000 : 1);
    int rc;
    if (sci_open(mem)) return -ENODEV;
    mem->adapter = adapter;
    SCIConnectSegment(mem->sd, &mem->rseg, d->u.seg.node, d->u.seg.segid, adapter, NULL, NULL, tmo, 0, &e);
    if (e != SCI_ERR_OK) {
        mem->rseg = NULL;
        nb_err("ObjIpcImport: segment %#x on node %u: %s", d->u.seg.segid, d->u.seg.node, SCIGetErrorString(e));
        return e == SCI_ERR_TIMEOUT ? -ETIMEDOUT : -EINVAL;
    }
    if (SCIGetRemoteSegmentSize(mem->rseg) != NB_PAGE + d->data_len) {
        nb_err("ObjIpcImport: segment size does not match the descriptor");
        return -EINVAL;
    }
    c = SCIMapRemoteSegment(mem->rseg, &cm, 0, NB_PAGE, NULL, 0, &e);
    if (e != SCI_ERR_OK) return -ENOMEM;
    rc = claim((struct nb_ctl *)(uintptr_t)c, d);
    SCIUnmapSegment(cm, 0, &e);
    if (rc) return rc;
    p = (const void *)(uintptr_t)SCIMapRemoteSegment(mem->rseg, &mem->map_rw, NB_PAGE, mem->len, NULL,
                                                     d->perm == NvSciBufAccessPerm_ReadWrite ? 0 : SCI_FLAG_READONLY_MAP, &e);
    if (e != SCI_ERR_OK) { mem->map_rw = NULL; return -ENOMEM; }
    if (d->perm == NvSciBufAccessPerm_ReadWrite) mem->data = (uint8_t *)(uintptr_t)p;
    else mem->rodata = p;
    return 0;
}

NVSCI_EXPORT NvSciError NvSciBufObjIpcImport(NvSciIpcEndpoint ipcEndpoint, const NvSciBufObjIpcExportDescriptor *desc,
                                             NvSciBufAttrList reconciledAttrList,
                                             NvSciBufAttrValAccessPerm minPermissions, int64_t timeoutUs,
                                             NvSciBufObj *bufObj)
{
    struct nb_desc d;
    struct nb_mem *mem;
    uint32_t be, ad, pn, perm;
    int rc;
    if (!desc || !bufObj || !nb_list_ok(reconciledAttrList) || reconciledAttrList->kind != NB_RECON)
        return NvSciError_BadParameter;
    if (minPermissions != NvSciBufAccessPerm_Readonly && minPermissions != NvSciBufAccessPerm_ReadWrite &&
        minPermissions != NvSciBufAccessPerm_Auto)
        return NvSciError_BadParameter;
    if (osci_ipc_endpoint_route(ipcEndpoint, &be, &ad, &pn) != NvSciError_Success) return NvSciError_BadParameter;
    memcpy(&d, desc, sizeof(d));
    if (desc_check(&d)) return NvSciError_BadParameter;
    if (d.data_len != reconciledAttrList->alloc_len) {
        nb_err("ObjIpcImport: the descriptor's %llu bytes do not match the reconciled list's %llu",
               (unsigned long long)d.data_len, (unsigned long long)reconciledAttrList->alloc_len);
        return NvSciError_AttrListValidationFailed;
    }
    if (minPermissions != NvSciBufAccessPerm_Auto && (uint32_t)minPermissions > d.perm) {
        nb_err("ObjIpcImport: granted permission %u is below the minimum %u", d.perm, (unsigned)minPermissions);
        return NvSciError_AccessDenied;
    }
    if (!(mem = mem_new(reconciledAttrList, d.kind == DESC_SEG ? NB_PLACE_SEG : NB_PLACE_SHM, d.data_len)))
        return NvSciError_InsufficientMemory;
    mem->attrs->nroutes = 0;
    perm = d.perm;
    rc = d.kind == DESC_SEG ? import_seg(mem, &d, be == NB_BE_CHIP ? ad : 0, timeoutUs) : import_shm(mem, &d);
    if (!rc) rc = nb_val_set(&mem->attrs->slots[0].v[NB_K_ACTPERM], &perm, 4);
    if (!rc) rc = new_handle(mem, perm, bufObj);
    if (rc) { mem_release(mem); return rc == -ENODEV ? NvSciError_ResourceError : nb_nverr(rc); }
    nb_module_get(mem->attrs->module);
    return NvSciError_Success;
}

/* ---- late attach ---- */
NVSCI_EXPORT NvSciError NvSciBufObjAttachPeer(NvSciBufObj bufObj, const NvSciBufAttrList inputArray[],
                                              size_t inputCount)
{
    NvSciBufModule m;
    const struct nb_slot **slots;
    struct nb_mem *mem;
    size_t n;
    int rc, types = 0;
    if (!obj_ok(bufObj)) return NvSciError_BadParameter;
    mem = bufObj->mem;
    if ((rc = nb_gather(inputArray, inputCount, &m, &slots, &n))) return nb_nverr(rc);
    if (m != mem->attrs->module) { free(slots); nb_err("AttachPeer: lists of another module"); return NvSciError_BadParameter; }
    for (size_t i = 0; i < n; i++) types |= slots[i]->v[NB_K_TYPES].len != 0;
    if (!types) { free(slots); nb_err("AttachPeer: no list sets NvSciBufGeneralAttrKey_Types"); return NvSciError_BadParameter; }
    if (!mem->owner) { free(slots); nb_err("AttachPeer: the object was imported"); return NvSciError_NotPermitted; }
    pthread_mutex_lock(&mem->lock);
    rc = -EBADMSG;
    if (!nb_validate(mem->attrs, slots, n)) {
        nb_err("AttachPeer: the late peer's lists do not fit the allocated object");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        if (slots[i]->o.backend == NB_BE_CHIP && mem->place != NB_PLACE_SEG) {
            nb_err("AttachPeer: the late peer is on another chip and the object was not placed for one "
                   "(declare it with NvSciBufGeneralAttrKey_PeerLocationInfo)");
            goto out;
        }
    rc = nb_routes_add(mem->attrs, slots, n);
out:
    pthread_mutex_unlock(&mem->lock);
    free(slots);
    return nb_nverr(rc);
}

/* ---- attribute list and object together: [u32 list length][list descriptor][object descriptor] ---- */
NVSCI_EXPORT NvSciError NvSciBufIpcExportAttrListAndObj(NvSciBufObj bufObj, NvSciBufAttrValAccessPerm permissions,
                                                        NvSciIpcEndpoint ipcEndpoint, void **attrListAndObjDesc,
                                                        size_t *attrListAndObjDescSize)
{
    void *ld;
    size_t ll;
    uint8_t *out;
    uint32_t l32;
    NvSciBufObjIpcExportDescriptor od;
    NvSciError err;
    if (!obj_ok(bufObj) || !attrListAndObjDesc || !attrListAndObjDescSize) return NvSciError_BadParameter;
    err = NvSciBufAttrListIpcExportReconciled(bufObj->mem->attrs, ipcEndpoint, &ld, &ll);
    if (err != NvSciError_Success) return err;
    err = NvSciBufObjIpcExport(bufObj, permissions, ipcEndpoint, &od);
    if (err != NvSciError_Success) { free(ld); return err; }
    if (!(out = malloc(4 + ll + sizeof(od)))) { free(ld); return NvSciError_InsufficientMemory; }
    l32 = (uint32_t)ll;
    memcpy(out, &l32, 4);
    memcpy(out + 4, ld, ll);
    memcpy(out + 4 + ll, &od, sizeof(od));
    free(ld);
    *attrListAndObjDesc = out;
    *attrListAndObjDescSize = 4 + ll + sizeof(od);
    return NvSciError_Success;
}

NVSCI_EXPORT NvSciError NvSciBufIpcImportAttrListAndObj(NvSciBufModule module, NvSciIpcEndpoint ipcEndpoint,
                                                        const void *attrListAndObjDesc,
                                                        size_t attrListAndObjDescSize,
                                                        const NvSciBufAttrList attrList[], size_t count,
                                                        NvSciBufAttrValAccessPerm minPermissions,
                                                        int64_t timeoutUs, NvSciBufObj *bufObj)
{
    const uint8_t *p = attrListAndObjDesc;
    uint32_t ll;
    NvSciBufAttrList rec;
    NvSciBufObjIpcExportDescriptor od;
    NvSciError err;
    if (!p || !bufObj || attrListAndObjDescSize < 4 + sizeof(od)) return NvSciError_BadParameter;
    memcpy(&ll, p, 4);
    if (ll != attrListAndObjDescSize - 4 - sizeof(od)) return NvSciError_BadParameter;
    err = NvSciBufAttrListIpcImportReconciled(module, ipcEndpoint, p + 4, ll, attrList, count, &rec);
    if (err != NvSciError_Success) return err;
    memcpy(&od, p + 4 + ll, sizeof(od));
    err = NvSciBufObjIpcImport(ipcEndpoint, &od, rec, minPermissions, timeoutUs, bufObj);
    nb_list_free(rec);
    return err;
}

NVSCI_EXPORT void NvSciBufAttrListAndObjFreeDesc(void *attrListAndObjDescBuf)
{
    free(attrListAndObjDescBuf);
}
