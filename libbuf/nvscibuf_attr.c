/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* NvSciBuf modules, attribute lists and reconciliation (the rules table of docs/nvscibuf.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nvscibuf_internal.h"

/* ---- handle registry: an open-addressing set of live handles (linear probing, tombstones) ---- */
#define REG_TOMB ((void *)1)
static pthread_mutex_t g_reg_lock = PTHREAD_MUTEX_INITIALIZER;
static void **g_reg;
static size_t g_reg_cap, g_reg_used, g_reg_live;   /* used: live + tombstones */

static size_t reg_hash(const void *h, size_t cap)
{
    uint64_t x = (uint64_t)(uintptr_t)h;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return (size_t)x & (cap - 1);
}

/* Rebuilds the table at `cap` slots without tombstones. */
static int reg_grow(size_t cap)
{
    void **n = calloc(cap, sizeof(*n));
    size_t used = 0;
    if (!n) return -ENOMEM;
    for (size_t i = 0; i < g_reg_cap; i++) {
        size_t at;
        if (!g_reg[i] || g_reg[i] == REG_TOMB) continue;
        for (at = reg_hash(g_reg[i], cap); n[at]; at = (at + 1) & (cap - 1)) {}
        n[at] = g_reg[i];
        used++;
    }
    free(g_reg);
    g_reg = n;
    g_reg_cap = cap;
    g_reg_used = used;
    return 0;
}

int nb_reg_add(void *h)
{
    int rc = 0;
    size_t at;
    pthread_mutex_lock(&g_reg_lock);
    /* at most half full; tombstones are dropped by rebuilding at the same size when few handles live */
    if ((g_reg_used + 1) * 2 > g_reg_cap &&
        (rc = reg_grow(!g_reg_cap ? 64 : (g_reg_live + 1) * 4 > g_reg_cap ? g_reg_cap * 2 : g_reg_cap)))
        goto out;
    for (at = reg_hash(h, g_reg_cap); g_reg[at] && g_reg[at] != REG_TOMB; at = (at + 1) & (g_reg_cap - 1)) {}
    if (!g_reg[at]) g_reg_used++;
    g_reg[at] = h;
    g_reg_live++;
out:
    pthread_mutex_unlock(&g_reg_lock);
    return rc;
}

/* The slot of h, or SIZE_MAX; under the lock. */
static size_t reg_find(const void *h)
{
    if (!g_reg_cap) return SIZE_MAX;
    for (size_t at = reg_hash(h, g_reg_cap), n = 0; g_reg[at] && n < g_reg_cap; at = (at + 1) & (g_reg_cap - 1), n++)
        if (g_reg[at] == h) return at;
    return SIZE_MAX;
}

void nb_reg_del(void *h)
{
    size_t at;
    pthread_mutex_lock(&g_reg_lock);
    if ((at = reg_find(h)) != SIZE_MAX) {
        g_reg[at] = REG_TOMB;
        g_reg_live--;
    }
    pthread_mutex_unlock(&g_reg_lock);
}

int nb_reg_has(const void *h, uint32_t magic)
{
    int found;
    if (!h || h == REG_TOMB) return 0;
    pthread_mutex_lock(&g_reg_lock);
    found = reg_find(h) != SIZE_MAX && *(const uint32_t *)h == magic;
    pthread_mutex_unlock(&g_reg_lock);
    return found;
}

NvSciError nb_nverr(int err)
{
    switch (err) {
    case 0: return NvSciError_Success;
    case -EINVAL: return NvSciError_BadParameter;
    case -ENOMEM: return NvSciError_InsufficientMemory;
    case -ENOTSUP: return NvSciError_NotSupported;
    case -EBADMSG: return NvSciError_ReconciliationFailed;
    case -EPERM: return NvSciError_NotPermitted;
    case -EACCES: return NvSciError_AccessDenied;
    case -EOVERFLOW: return NvSciError_Overflow;
    case -ENOSPC: return NvSciError_InsufficientResource;
    case -EALREADY: return NvSciError_AlreadyDone;
    case -ETIMEDOUT: return NvSciError_Timeout;
    case -EAGAIN: return NvSciError_TryItAgain;
    default: return NvSciError_ResourceError;
    }
}

/* ---- module ---- */
void nb_module_get(NvSciBufModule m)
{
    atomic_fetch_add(&m->refs, 1);
}

void nb_module_put(NvSciBufModule m)
{
    if (atomic_fetch_sub(&m->refs, 1) == 1) {
        nb_reg_del(m);
        m->magic = 0;
        free(m);
    }
}

NVSCI_EXPORT NvSciError NvSciBufModuleOpen(NvSciBufModule *newModule)
{
    NvSciBufModule m;
    if (!newModule) return NvSciError_BadParameter;
    if (!(m = calloc(1, sizeof(*m)))) return NvSciError_InsufficientMemory;
    m->magic = NB_MAGIC_MODULE;
    atomic_init(&m->refs, 1);
    atomic_init(&m->closed, 0);
    if (nb_reg_add(m)) { free(m); return NvSciError_InsufficientMemory; }
    *newModule = m;
    return NvSciError_Success;
}

/* The module goes when its last list and object are freed too. */
NVSCI_EXPORT void NvSciBufModuleClose(NvSciBufModule module)
{
    if (!nb_reg_has(module, NB_MAGIC_MODULE) || atomic_exchange(&module->closed, 1)) return;
    nb_module_put(module);
}

NVSCI_EXPORT NvSciError NvSciBufCheckVersionCompatibility(uint32_t majorVer, uint32_t minorVer, bool *isCompatible)
{
    if (!isCompatible) return NvSciError_BadParameter;
    *isCompatible = majorVer == NvSciBufMajorVersion && minorVer <= NvSciBufMinorVersion;
    return NvSciError_Success;
}

/* ---- keys ---- */
#define K(k, e, m, io, t) { k, #k, e, m, io, t }
const struct nb_key nb_keys[NB_NKEYS] = {
    [NB_K_TYPES] = K(NvSciBufGeneralAttrKey_Types, 4, NvSciBufType_MaxValid - 1, NB_IO_INOUT, 0),
    [NB_K_NEEDCPU] = K(NvSciBufGeneralAttrKey_NeedCpuAccess, 1, 1, NB_IO_INOUT, 0),
    [NB_K_REQPERM] = K(NvSciBufGeneralAttrKey_RequiredPerm, 4, 1, NB_IO_IN, 0),
    [NB_K_CPUCACHE] = K(NvSciBufGeneralAttrKey_EnableCpuCache, 1, 1, NB_IO_INOUT, 0),
    [NB_K_GPUID] = K(NvSciBufGeneralAttrKey_GpuId, sizeof(NvSciRmGpuId), NV_SCI_BUF_MAX_GPUS, NB_IO_INOUT, 0),
    [NB_K_CPUSWCOH] = K(NvSciBufGeneralAttrKey_CpuNeedSwCacheCoherency, 1, 1, NB_IO_OUT, 0),
    [NB_K_ACTPERM] = K(NvSciBufGeneralAttrKey_ActualPerm, 4, 1, NB_IO_OUT, 0),
    [NB_K_VIDMEM] = K(NvSciBufGeneralAttrKey_VidMem_GpuId, sizeof(NvSciRmGpuId), 1, NB_IO_INOUT, 0),
    [NB_K_GPUCACHE] = K(NvSciBufGeneralAttrKey_EnableGpuCache, sizeof(NvSciBufAttrValGpuCache), NV_SCI_BUF_MAX_GPUS,
                        NB_IO_INOUT, 0),
    [NB_K_GPUSWCOH] = K(NvSciBufGeneralAttrKey_GpuSwNeedCacheCoherency, sizeof(NvSciBufAttrValGpuCache),
                        NV_SCI_BUF_MAX_GPUS, NB_IO_OUT, 0),
    [NB_K_GPUCOMP] = K(NvSciBufGeneralAttrKey_EnableGpuCompression, sizeof(NvSciBufAttrValGpuCompression),
                       NV_SCI_BUF_MAX_GPUS, NB_IO_INOUT, 0),
    [NB_K_PEERLOC] = K(NvSciBufGeneralAttrKey_PeerLocationInfo, sizeof(NvSciBufPeerLocationInfo),
                       NV_SCI_BUF_PEER_INFO_MAX_NUMBER, NB_IO_INOUT, 0),
    [NB_K_PEERENG] = K(NvSciBufGeneralAttrKey_PeerHwEngineArray, sizeof(NvSciBufPeerHwEngine),
                       NV_SCI_BUF_PEER_HW_ENGINE_MAX_NUMBER, NB_IO_INOUT, 0),
    [NB_K_SIZE] = K(NvSciBufRawBufferAttrKey_Size, 8, 1, NB_IO_INOUT, NvSciBufType_RawBuffer),
    [NB_K_ALIGN] = K(NvSciBufRawBufferAttrKey_Align, 8, 1, NB_IO_INOUT, NvSciBufType_RawBuffer),
};
#undef K

/* The last public key of each other type (NVIDIA's enum). */
static const uint32_t other_last[] = {
    [NvSciBufType_Image] = NvSciBufImageAttrKey_SurfColorStd,
    [NvSciBufType_Tensor] = NvSciBufTensorAttrKey_Size,
    [NvSciBufType_Array] = NvSciBufArrayAttrKey_Alignment,
    [NvSciBufType_Pyramid] = NvSciBufPyramidAttrKey_Alignment,
};

int nb_key_index(uint32_t key)
{
    uint32_t type = key >> NV_SCI_BUF_ATTRKEY_BIT_COUNT;
    for (int k = 0; k < NB_NKEYS; k++)
        if (nb_keys[k].key == key) return k;
    if (type >= NvSciBufType_Image && type <= NvSciBufType_Pyramid && key <= other_last[type] &&
        key >= NV_SCI_BUF_TYPE_KEY_START_(type))
        return -ENOTSUP;
    return -EINVAL;
}

static int is_pow2(uint64_t v)
{
    return v && !(v & (v - 1));
}

static int valid_engine(uint32_t e)
{
    static const uint32_t ok[] = { 4, 11, 12, 30, 106, 107, 109, 117, 118, 121, 122, 123, 124, 125 };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (ok[i] == e) return 1;
    return 0;
}

int nb_key_check(int k, const void *val, size_t len)
{
    const struct nb_key *d = &nb_keys[k];
    const uint8_t *p = val;
    size_t n;
    if (!val || len == 0 || len % d->elem || len / d->elem > d->max) {
        nb_err("%s: value length %zu is not 1..%u elements of %u bytes", d->name, len, d->max, d->elem);
        return -EINVAL;
    }
    n = len / d->elem;
    for (size_t i = 0; i < n; i++, p += d->elem) {
        uint32_t u32;
        uint64_t u64;
        switch (k) {
        case NB_K_TYPES:
            memcpy(&u32, p, 4);
            if (u32 < NvSciBufType_RawBuffer || u32 >= NvSciBufType_MaxValid) goto bad;
            for (size_t j = 0; j < i; j++)
                if (!memcmp(p, (const uint8_t *)val + j * 4, 4)) goto bad;
            break;
        case NB_K_NEEDCPU: case NB_K_CPUCACHE: case NB_K_CPUSWCOH:
            if (p[0] > 1) goto bad;
            break;
        case NB_K_REQPERM: case NB_K_ACTPERM:
            memcpy(&u32, p, 4);
            if (u32 != NvSciBufAccessPerm_Readonly && u32 != NvSciBufAccessPerm_ReadWrite) goto bad;
            break;
        case NB_K_GPUCACHE: case NB_K_GPUSWCOH:
            if (p[sizeof(NvSciRmGpuId)] > 1) goto bad;
            break;
        case NB_K_GPUCOMP:
            memcpy(&u32, p + sizeof(NvSciRmGpuId), 4);
            if (u32 > NvSciBufCompressionType_GenericCompressible) goto bad;
            break;
        case NB_K_PEERLOC:
            memcpy(&u64, p + 8, 8);
            if (u64) goto bad;     /* reserved */
            break;
        case NB_K_PEERENG:
            memcpy(&u32, p, 4);
            if (!valid_engine(u32)) goto bad;
            memcpy(&u32, p + 4, 4);
            if (u32 == NvSciBufPlatformName_LowerBound || u32 >= NvSciBufPlatformName_UpperBound) goto bad;
            break;
        case NB_K_SIZE:
            memcpy(&u64, p, 8);
            if (!u64) goto bad;
            break;
        case NB_K_ALIGN:
            memcpy(&u64, p, 8);
            if (!is_pow2(u64)) goto bad;
            break;
        default:
            break;
        }
    }
    return 0;
bad:
    nb_err("%s: invalid value", d->name);
    return -EINVAL;
}

/* ---- lists ---- */
int nb_val_set(struct nb_val *v, const void *p, size_t len)
{
    uint8_t *n = NULL;
    if (len) {
        if (!(n = malloc(len))) return -ENOMEM;
        memcpy(n, p, len);
    }
    free(v->p);
    v->p = n;
    v->len = (uint32_t)len;
    return 0;
}

int nb_list_new(NvSciBufModule m, enum nb_kind kind, size_t nslots, NvSciBufAttrList *out)
{
    NvSciBufAttrList l = calloc(1, sizeof(*l));
    if (!l) return -ENOMEM;
    if (nslots && !(l->slots = calloc(nslots, sizeof(*l->slots)))) { free(l); return -ENOMEM; }
    l->magic = NB_MAGIC_LIST;
    l->module = m;
    l->kind = kind;
    l->nslots = nslots;
    if (nb_reg_add(l)) { free(l->slots); free(l); return -ENOMEM; }
    nb_module_get(m);
    *out = l;
    return 0;
}

void nb_list_free(NvSciBufAttrList l)
{
    if (!l) return;
    nb_reg_del(l);
    for (size_t i = 0; i < l->nslots; i++)
        for (int k = 0; k < NB_NKEYS; k++) free(l->slots[i].v[k].p);
    free(l->slots);
    l->magic = 0;
    nb_module_put(l->module);
    free(l);
}

int nb_list_ok(NvSciBufAttrList l)
{
    return nb_reg_has(l, NB_MAGIC_LIST);
}

static int slot_copy(struct nb_slot *d, const struct nb_slot *s)
{
    d->o = s->o;
    for (int k = 0; k < NB_NKEYS; k++)
        if (s->v[k].len && nb_val_set(&d->v[k], s->v[k].p, s->v[k].len)) return -ENOMEM;
    return 0;
}

int nb_list_copy(NvSciBufAttrList src, NvSciBufAttrList *out)
{
    NvSciBufAttrList l;
    int rc = nb_list_new(src->module, src->kind, src->nslots, &l);
    if (rc) return rc;
    for (size_t i = 0; i < src->nslots; i++)
        if ((rc = slot_copy(&l->slots[i], &src->slots[i]))) { nb_list_free(l); return rc; }
    l->frozen = src->frozen;
    l->alloc_len = src->alloc_len;
    l->place = src->place;
    l->adapter = src->adapter;
    l->late_pad = src->late_pad;
    l->nroutes = src->nroutes;
    memcpy(l->routes, src->routes, sizeof(l->routes));
    *out = l;
    return 0;
}

NVSCI_EXPORT NvSciError NvSciBufAttrListCreate(NvSciBufModule module, NvSciBufAttrList *newAttrList)
{
    if (!nb_reg_has(module, NB_MAGIC_MODULE) || !newAttrList || atomic_load(&module->closed)) return NvSciError_BadParameter;
    return nb_nverr(nb_list_new(module, NB_UNRECON, 1, newAttrList));
}

NVSCI_EXPORT void NvSciBufAttrListFree(NvSciBufAttrList attrList)
{
    if (!nb_list_ok(attrList)) return;
    if (attrList->objowned) {
        nb_err("AttrListFree: the list belongs to an object (NvSciBufObjGetAttrList); it goes with the object");
        return;
    }
    nb_list_free(attrList);
}

static int has_type(const struct nb_val *types, uint32_t t)
{
    for (uint32_t i = 0; i + 4 <= types->len; i += 4) {
        uint32_t v;
        memcpy(&v, types->p + i, 4);
        if (v == t) return 1;
    }
    return 0;
}

NVSCI_EXPORT NvSciError NvSciBufAttrListSetAttrs(NvSciBufAttrList attrList, NvSciBufAttrKeyValuePair *pairArray,
                                                 size_t pairCount)
{
    struct nb_slot *s;
    const struct nb_val *types;
    struct nb_val pending_types = { 0, NULL };
    if (!nb_list_ok(attrList) || !pairArray || pairCount == 0) return NvSciError_BadParameter;
    if (attrList->kind != NB_UNRECON || attrList->frozen || attrList->nslots != 1) {
        nb_err("SetAttrs: the list is reconciled, appended, imported or a conflict list");
        return NvSciError_BadParameter;
    }
    s = &attrList->slots[0];
    types = &s->v[NB_K_TYPES];
    /* Everything is checked before anything is written. */
    for (size_t i = 0; i < pairCount; i++) {
        int k = nb_key_index((uint32_t)pairArray[i].key);
        if (k == -ENOTSUP) {
            nb_err("SetAttrs: key %#x belongs to a type OpenSCI does not lay out (docs/nvscibuf.md)",
                   (unsigned)pairArray[i].key);
            return NvSciError_NotSupported;
        }
        if (k < 0) { nb_err("SetAttrs: %#x is no public key", (unsigned)pairArray[i].key); return NvSciError_BadParameter; }
        if (!(nb_keys[k].io & NB_IO_IN)) { nb_err("SetAttrs: %s is an output key", nb_keys[k].name); return NvSciError_BadParameter; }
        if (s->v[k].len) { nb_err("SetAttrs: %s is set already", nb_keys[k].name); return NvSciError_BadParameter; }
        for (size_t j = 0; j < i; j++)
            if (pairArray[j].key == pairArray[i].key) {
                nb_err("SetAttrs: %s appears twice", nb_keys[k].name);
                return NvSciError_BadParameter;
            }
        if (nb_key_check(k, pairArray[i].value, pairArray[i].len)) return NvSciError_BadParameter;
        if (k == NB_K_TYPES) { pending_types.len = (uint32_t)pairArray[i].len; pending_types.p = (uint8_t *)pairArray[i].value; }
    }
    for (size_t i = 0; i < pairCount; i++) {
        int k = nb_key_index((uint32_t)pairArray[i].key);
        uint32_t t = nb_keys[k].type;
        if (t != NvSciBufType_General && !has_type(types, t) && !has_type(&pending_types, t)) {
            nb_err("SetAttrs: %s needs NvSciBufGeneralAttrKey_Types to hold its type", nb_keys[k].name);
            return NvSciError_BadParameter;
        }
    }
    for (size_t i = 0; i < pairCount; i++) {
        int k = nb_key_index((uint32_t)pairArray[i].key);
        if (nb_val_set(&s->v[k], pairArray[i].value, pairArray[i].len)) return NvSciError_InsufficientMemory;
    }
    return NvSciError_Success;
}

NVSCI_EXPORT size_t NvSciBufAttrListGetSlotCount(NvSciBufAttrList attrList)
{
    return nb_list_ok(attrList) ? attrList->nslots : 0;
}

NVSCI_EXPORT NvSciError NvSciBufAttrListSlotGetAttrs(NvSciBufAttrList attrList, size_t slotIndex,
                                                     NvSciBufAttrKeyValuePair *pairArray, size_t pairCount)
{
    if (!nb_list_ok(attrList) || !pairArray || pairCount == 0 || slotIndex >= attrList->nslots)
        return NvSciError_BadParameter;
    for (size_t i = 0; i < pairCount; i++) {
        int k = nb_key_index((uint32_t)pairArray[i].key);
        if (k == -ENOTSUP) return NvSciError_NotSupported;
        if (k < 0) { nb_err("GetAttrs: %#x is no public key", (unsigned)pairArray[i].key); return NvSciError_BadParameter; }
        if (attrList->kind == NB_UNRECON && !(nb_keys[k].io & NB_IO_IN)) {
            nb_err("GetAttrs: %s is an output key: only a reconciled list has it", nb_keys[k].name);
            return NvSciError_BadParameter;
        }
    }
    for (size_t i = 0; i < pairCount; i++) {
        const struct nb_val *v = &attrList->slots[slotIndex].v[nb_key_index((uint32_t)pairArray[i].key)];
        pairArray[i].value = v->len ? v->p : NULL;
        pairArray[i].len = v->len;
    }
    return NvSciError_Success;
}

NVSCI_EXPORT NvSciError NvSciBufAttrListGetAttrs(NvSciBufAttrList attrList, NvSciBufAttrKeyValuePair *pairArray,
                                                 size_t pairCount)
{
    if (nb_list_ok(attrList) && attrList->nslots != 1) {
        nb_err("GetAttrs: the list has %zu slots (NvSciBufAttrListSlotGetAttrs reads one)", attrList->nslots);
        return NvSciError_BadParameter;
    }
    return NvSciBufAttrListSlotGetAttrs(attrList, 0, pairArray, pairCount);
}

NVSCI_EXPORT NvSciError NvSciBufAttrListClone(NvSciBufAttrList origAttrList, NvSciBufAttrList *newAttrList)
{
    if (!nb_list_ok(origAttrList) || !newAttrList) return NvSciError_BadParameter;
    return nb_nverr(nb_list_copy(origAttrList, newAttrList));
}

int nb_gather(const NvSciBufAttrList *lists, size_t n, NvSciBufModule *mod_p, const struct nb_slot ***slots_p,
              size_t *nslots_p)
{
    size_t total = 0, at = 0;
    const struct nb_slot **slots;
    if (!lists || n == 0) return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (!nb_list_ok(lists[i])) { nb_err("list %zu is no attribute list", i); return -EINVAL; }
        if (lists[i]->kind != NB_UNRECON) { nb_err("list %zu is not an unreconciled list", i); return -EINVAL; }
        if (lists[i]->module != lists[0]->module) { nb_err("list %zu belongs to another module", i); return -EINVAL; }
        for (size_t j = 0; j < i; j++)
            if (lists[j] == lists[i]) { nb_err("list %zu is given twice", i); return -EINVAL; }
        total += lists[i]->nslots;
    }
    if (total > NB_MAX_SLOTS * 4) return -EOVERFLOW;
    if (!(slots = malloc((total ? total : 1) * sizeof(*slots)))) return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < lists[i]->nslots; j++) slots[at++] = &lists[i]->slots[j];
    *mod_p = lists[0]->module;
    *slots_p = slots;
    *nslots_p = total;
    return 0;
}

NVSCI_EXPORT NvSciError NvSciBufAttrListAppendUnreconciled(const NvSciBufAttrList inputUnreconciledAttrListArray[],
                                                           size_t inputUnreconciledAttrListCount,
                                                           NvSciBufAttrList *newUnreconciledAttrList)
{
    NvSciBufModule m;
    const struct nb_slot **slots;
    size_t n;
    NvSciBufAttrList l;
    int rc;
    if (!newUnreconciledAttrList) return NvSciError_BadParameter;
    if ((rc = nb_gather(inputUnreconciledAttrListArray, inputUnreconciledAttrListCount, &m, &slots, &n)))
        return nb_nverr(rc);
    if (n > NB_MAX_SLOTS) { free(slots); return NvSciError_Overflow; }
    if ((rc = nb_list_new(m, NB_UNRECON, n, &l))) { free(slots); return nb_nverr(rc); }
    for (size_t i = 0; i < n && !rc; i++) rc = slot_copy(&l->slots[i], slots[i]);
    free(slots);
    if (rc) { nb_list_free(l); return nb_nverr(rc); }
    l->frozen = 1;
    *newUnreconciledAttrList = l;
    return NvSciError_Success;
}

NVSCI_EXPORT NvSciError NvSciBufAttrListIsReconciled(NvSciBufAttrList attrList, bool *isReconciled)
{
    if (!nb_list_ok(attrList) || !isReconciled) return NvSciError_BadParameter;
    *isReconciled = attrList->kind == NB_RECON;
    return NvSciError_Success;
}

/* ---- reconciliation ---- */
static uint64_t get_u64(const struct nb_val *v, uint64_t dflt)
{
    uint64_t x;
    if (!v->len) return dflt;
    memcpy(&x, v->p, 8);
    return x;
}

static uint32_t get_u32(const struct nb_val *v, uint32_t dflt)
{
    uint32_t x;
    if (!v->len) return dflt;
    memcpy(&x, v->p, 4);
    return x;
}

static int get_bool(const struct nb_val *v)
{
    return v->len && v->p[0];
}

uint32_t nb_perm_of(const struct nb_slot *s)
{
    return get_u32(&s->v[NB_K_REQPERM], NvSciBufAccessPerm_Readonly);
}

/* A growing array of elements of one key. */
struct arr {
    uint8_t *p;
    uint32_t len, elem;
};

static int arr_has(const struct arr *a, const void *e, size_t cmp)
{
    for (uint32_t i = 0; i < a->len; i += a->elem)
        if (!memcmp(a->p + i, e, cmp)) return 1;
    return 0;
}

static int arr_add(struct arr *a, const void *e)
{
    uint8_t *n = realloc(a->p, a->len + a->elem);
    if (!n) return -ENOMEM;
    a->p = n;
    memcpy(a->p + a->len, e, a->elem);
    a->len += a->elem;
    return 0;
}

/* The union of a key's arrays over the slots (elements compared on their first `cmp` bytes). */
static int arr_union(struct arr *a, const struct nb_slot *const *slots, size_t n, int k, size_t cmp)
{
    a->p = NULL;
    a->len = 0;
    a->elem = nb_keys[k].elem;
    for (size_t i = 0; i < n; i++) {
        const struct nb_val *v = &slots[i]->v[k];
        for (uint32_t j = 0; j < v->len; j += a->elem)
            if (!arr_has(a, v->p + j, cmp) && arr_add(a, v->p + j)) return -ENOMEM;
    }
    if (a->len / a->elem > nb_keys[k].max) return -EOVERFLOW;
    return 0;
}

static int is_iso_engine(uint32_t e)
{
    return e == NvSciBufHwEngName_Display || e == NvSciBufHwEngName_Vi;
}

/* The conflict list: one slot per input slot that holds an offending value, with the offending keys only. */
struct conflicts {
    NvSciBufModule m;
    NvSciBufAttrList l;
    int any;
};

static void conflict(struct conflicts *c, const struct nb_slot *const *slots, size_t n, int k)
{
    nb_err("reconciliation failed on %s", nb_keys[k].name);
    c->any = 1;
    if (!c->l && nb_list_new(c->m, NB_CONFLICT, 0, &c->l)) return;
    for (size_t i = 0; i < n; i++) {
        struct nb_slot *s;
        if (!slots[i]->v[k].len) continue;
        if (c->l->nslots <= i) {
            struct nb_slot *ns = realloc(c->l->slots, n * sizeof(*ns));
            if (!ns) return;
            memset(ns + c->l->nslots, 0, (n - c->l->nslots) * sizeof(*ns));
            c->l->slots = ns;
            c->l->nslots = n;
        }
        s = &c->l->slots[i];
        s->o = slots[i]->o;
        nb_val_set(&s->v[k], slots[i]->v[k].p, slots[i]->v[k].len);
    }
}

int nb_reconcile(NvSciBufModule m, const struct nb_slot *const *slots, size_t n, NvSciBufAttrList *out,
                 NvSciBufAttrList *conflicts_p)
{
    struct conflicts c = { m, NULL, 0 };
    struct arr types = { 0 }, gpus = { 0 }, locs = { 0 }, engs = { 0 };
    NvSciBufAttrList r = NULL;
    struct nb_slot *o;
    uint32_t perm = NvSciBufAccessPerm_Readonly, tmask = 0;
    uint64_t size = 0, align = 1;
    int needcpu = 0, cpucache = 0, any_types = 0, have_eng = 0, rc;
    const struct nb_val *vidmem = NULL;

    if ((rc = nb_list_new(m, NB_RECON, 1, &r))) return rc;
    o = &r->slots[0];
    /* Types: equal everywhere, or together exactly {Image, Tensor}. */
    for (size_t i = 0; i < n; i++) {
        const struct nb_val *v = &slots[i]->v[NB_K_TYPES];
        uint32_t mask = 0;
        if (!v->len) continue;
        for (uint32_t j = 0; j < v->len; j += 4) mask |= 1u << get_u32(&(struct nb_val){ 4, v->p + j }, 0);
        if (any_types && mask != tmask) tmask |= mask | 0x80000000u;
        else tmask |= mask;
        any_types = 1;
    }
    if (!any_types) { nb_err("reconciliation: no list sets NvSciBufGeneralAttrKey_Types"); rc = -EINVAL; goto fail; }
    if (tmask & 0x80000000u) {
        tmask &= ~0x80000000u;
        if (tmask != ((1u << NvSciBufType_Image) | (1u << NvSciBufType_Tensor))) conflict(&c, slots, n, NB_K_TYPES);
    }
    if ((rc = arr_union(&types, slots, n, NB_K_TYPES, 4))) goto fail;
    if (c.any) goto failed;
    if (tmask != (1u << NvSciBufType_RawBuffer)) {
        nb_err("reconciliation: only NvSciBufType_RawBuffer buffers are laid out (types mask %#x)", tmask);
        rc = -ENOTSUP;
        goto fail;
    }
    /* RawBuffer Size: all equal; Align: max. */
    for (size_t i = 0; i < n; i++) {
        const struct nb_val *v = &slots[i]->v[NB_K_SIZE];
        if (!v->len) continue;
        if (size && get_u64(v, 0) != size) { conflict(&c, slots, n, NB_K_SIZE); break; }
        size = get_u64(v, 0);
    }
    if (!c.any && !size) { nb_err("reconciliation: no list sets NvSciBufRawBufferAttrKey_Size"); rc = -EINVAL; goto fail; }
    for (size_t i = 0; i < n; i++) {
        uint64_t a = get_u64(&slots[i]->v[NB_K_ALIGN], 1);
        if (a > align) align = a;
        needcpu |= get_bool(&slots[i]->v[NB_K_NEEDCPU]);
        cpucache |= get_bool(&slots[i]->v[NB_K_CPUCACHE]);
        if (nb_perm_of(slots[i]) > perm) perm = nb_perm_of(slots[i]);
        if (slots[i]->v[NB_K_PEERENG].len) have_eng = 1;
    }
    /* VidMem_GpuId: equal where set. */
    for (size_t i = 0; i < n; i++) {
        const struct nb_val *v = &slots[i]->v[NB_K_VIDMEM];
        if (!v->len) continue;
        if (vidmem && memcmp(vidmem->p, v->p, v->len)) { conflict(&c, slots, n, NB_K_VIDMEM); break; }
        vidmem = v;
    }
    if ((rc = arr_union(&gpus, slots, n, NB_K_GPUID, sizeof(NvSciRmGpuId))) ||
        (rc = arr_union(&locs, slots, n, NB_K_PEERLOC, sizeof(NvSciBufPeerLocationInfo))) ||
        (rc = arr_union(&engs, slots, n, NB_K_PEERENG, sizeof(NvSciBufPeerHwEngine)))) {
        if (rc == -EOVERFLOW) { rc = -EBADMSG; nb_err("reconciliation: too many GPU ids, peers or engines"); }
        goto fail;
    }
    /* EnableGpuCache: each id in GpuId; AND per id; unset ids default to cached. */
    {
        struct arr out = { NULL, 0, sizeof(NvSciBufAttrValGpuCache) };
        struct arr swcoh = { NULL, 0, sizeof(NvSciBufAttrValGpuCache) };
        for (size_t i = 0; i < n && !c.any; i++) {
            const struct nb_val *v = &slots[i]->v[NB_K_GPUCACHE];
            for (uint32_t j = 0; j < v->len; j += out.elem)
                if (!arr_has(&gpus, v->p + j, sizeof(NvSciRmGpuId))) { conflict(&c, slots, n, NB_K_GPUCACHE); break; }
        }
        for (uint32_t g = 0; g < gpus.len && !c.any; g += gpus.elem) {
            NvSciBufAttrValGpuCache e;
            memset(&e, 0, sizeof(e));
            memcpy(&e.gpuId, gpus.p + g, sizeof(e.gpuId));
            e.cacheability = true;
            for (size_t i = 0; i < n; i++) {
                const struct nb_val *v = &slots[i]->v[NB_K_GPUCACHE];
                for (uint32_t j = 0; j < v->len; j += out.elem)
                    if (!memcmp(v->p + j, gpus.p + g, sizeof(NvSciRmGpuId)) && !v->p[j + sizeof(NvSciRmGpuId)])
                        e.cacheability = false;
            }
            if (arr_add(&out, &e)) { rc = -ENOMEM; goto fail; }
        }
        /* GpuSwNeedCacheCoherency, per GPU. */
        for (uint32_t g = 0; g < out.len && !c.any; g += out.elem) {
            NvSciBufAttrValGpuCache e;
            int cached = out.p[g + sizeof(NvSciRmGpuId)], other_uncached = 0;
            int on_vid = vidmem && !memcmp(vidmem->p, out.p + g, sizeof(NvSciRmGpuId));
            for (uint32_t h = 0; h < out.len; h += out.elem)
                if (h != g && !out.p[h + sizeof(NvSciRmGpuId)]) other_uncached = 1;
            memcpy(&e, out.p + g, sizeof(e));
            e.cacheability = on_vid ? engs.len != 0 : cached && (other_uncached || needcpu || engs.len != 0);
            if (arr_add(&swcoh, &e)) { rc = -ENOMEM; free(out.p); goto fail; }
        }
        if (out.len) nb_val_set(&o->v[NB_K_GPUCACHE], out.p, out.len);
        if (swcoh.len) nb_val_set(&o->v[NB_K_GPUSWCOH], swcoh.p, swcoh.len);
        free(out.p);
        free(swcoh.p);
    }
    /* EnableGpuCompression: ids in GpuId, one type per GPU; None when more than one GPU asks, a non-GPU
     * engine is present, or the CPU accesses the buffer. */
    {
        struct arr comp = { NULL, 0, sizeof(NvSciBufAttrValGpuCompression) };
        uint32_t asking = 0;
        int non_gpu = 0;
        for (uint32_t e = 0; e < engs.len; e += engs.elem)
            if (get_u32(&(struct nb_val){ 4, engs.p + e }, 0) != NvSciBufHwEngName_Gpu) non_gpu = 1;
        for (size_t i = 0; i < n && !c.any; i++) {
            const struct nb_val *v = &slots[i]->v[NB_K_GPUCOMP];
            for (uint32_t j = 0; j < v->len && !c.any; j += comp.elem) {
                if (!arr_has(&gpus, v->p + j, sizeof(NvSciRmGpuId))) { conflict(&c, slots, n, NB_K_GPUCOMP); break; }
                for (uint32_t h = 0; h < comp.len; h += comp.elem)
                    if (!memcmp(comp.p + h, v->p + j, sizeof(NvSciRmGpuId)) &&
                        memcmp(comp.p + h, v->p + j, comp.elem)) {
                        conflict(&c, slots, n, NB_K_GPUCOMP);
                        break;
                    }
                if (!c.any && !arr_has(&comp, v->p + j, sizeof(NvSciRmGpuId)) && arr_add(&comp, v->p + j)) {
                    rc = -ENOMEM;
                    goto fail;
                }
            }
        }
        for (uint32_t h = 0; h < comp.len; h += comp.elem)
            if (get_u32(&(struct nb_val){ 4, comp.p + h + sizeof(NvSciRmGpuId) }, 0)) asking++;
        if (asking > 1 || non_gpu || needcpu)
            for (uint32_t h = 0; h < comp.len; h += comp.elem)
                memset(comp.p + h + sizeof(NvSciRmGpuId), 0, 4);
        if (comp.len) nb_val_set(&o->v[NB_K_GPUCOMP], comp.p, comp.len);
        free(comp.p);
    }
    if (c.any) goto failed;

    /* Outputs. */
    {
        uint8_t b;
        int swcoh = 0;
        for (uint32_t e = 0; e < engs.len; e += engs.elem)
            if (is_iso_engine(get_u32(&(struct nb_val){ 4, engs.p + e }, 0))) swcoh = 1;
        nb_val_set(&o->v[NB_K_TYPES], types.p, types.len);
        b = (uint8_t)needcpu;
        nb_val_set(&o->v[NB_K_NEEDCPU], &b, 1);
        b = (uint8_t)cpucache;
        nb_val_set(&o->v[NB_K_CPUCACHE], &b, 1);
        b = (uint8_t)(cpucache && needcpu && swcoh);
        nb_val_set(&o->v[NB_K_CPUSWCOH], &b, 1);
        nb_val_set(&o->v[NB_K_ACTPERM], &perm, 4);
        if (gpus.len) nb_val_set(&o->v[NB_K_GPUID], gpus.p, gpus.len);
        if (vidmem) nb_val_set(&o->v[NB_K_VIDMEM], vidmem->p, vidmem->len);
        if (locs.len) nb_val_set(&o->v[NB_K_PEERLOC], locs.p, locs.len);
        if (engs.len) nb_val_set(&o->v[NB_K_PEERENG], engs.p, engs.len);
    }
    /* Placement and padding (docs/nvscibuf.md "Late attach"). */
    r->place = NB_PLACE_SHM;
    for (uint32_t i = 0; i < locs.len; i += locs.elem)
        if (get_u32(&(struct nb_val){ 4, locs.p + i }, 0) != NV_SCI_BUF_PEER_INFO_SELF_SOCID) r->place = NB_PLACE_SEG;
    for (size_t i = 0; i < n; i++)
        if (slots[i]->o.backend == NB_BE_CHIP) { r->place = NB_PLACE_SEG; r->adapter = slots[i]->o.adapter; }
    r->late_pad = locs.len && !have_eng;
    if (r->late_pad && align < NB_LATE_GRANULE) align = NB_LATE_GRANULE;
    {
        uint64_t gran = r->late_pad ? NB_LATE_GRANULE : NB_PAGE;
        if (size > UINT64_MAX - gran) { rc = -EOVERFLOW; goto fail; }
        r->alloc_len = (size + gran - 1) / gran * gran;
    }
    nb_val_set(&o->v[NB_K_SIZE], &size, 8);
    nb_val_set(&o->v[NB_K_ALIGN], &align, 8);
    for (int k = 0; k < NB_NKEYS; k++)
        if (o->v[k].len == 0 && k != NB_K_GPUID && k != NB_K_VIDMEM && k != NB_K_PEERLOC && k != NB_K_PEERENG &&
            k != NB_K_GPUCACHE && k != NB_K_GPUSWCOH && k != NB_K_GPUCOMP && k != NB_K_REQPERM) {
            rc = -ENOMEM;
            goto fail;
        }
    if ((rc = nb_routes_add(r, slots, n))) goto fail;
    free(types.p); free(gpus.p); free(locs.p); free(engs.p);
    *out = r;
    if (conflicts_p) *conflicts_p = NULL;
    return 0;
failed:
    rc = -EBADMSG;
fail:
    free(types.p); free(gpus.p); free(locs.p); free(engs.p);
    nb_list_free(r);
    if (rc == -EBADMSG && conflicts_p && c.l) {
        c.l->frozen = 1;
        *conflicts_p = c.l;
    } else {
        nb_list_free(c.l);
        if (conflicts_p) *conflicts_p = NULL;
    }
    return rc;
}

int nb_routes_add(NvSciBufAttrList rec, const struct nb_slot *const *slots, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct nb_origin *o = &slots[i]->o;
        size_t j;
        if (!o->ep) continue;
        for (j = 0; j < rec->nroutes; j++)
            if (rec->routes[j].ep == o->ep) break;
        if (j == rec->nroutes) {
            if (j == NB_MAX_ROUTES) return -ENOSPC;
            rec->routes[j] = (struct nb_route){ o->ep, o->backend, o->adapter, o->peer_node,
                                                NvSciBufAccessPerm_Readonly };
            rec->nroutes++;
        }
        if (nb_perm_of(slots[i]) > rec->routes[j].maxperm) rec->routes[j].maxperm = nb_perm_of(slots[i]);
    }
    return 0;
}

/* The "validation fails if" column, slot by slot. */
int nb_validate(NvSciBufAttrList rec, const struct nb_slot *const *slots, size_t n)
{
    const struct nb_slot *r = &rec->slots[0];
    for (size_t i = 0; i < n; i++) {
        const struct nb_slot *s = slots[i];
        const struct nb_val *v;
        int bad = -1;
        v = &s->v[NB_K_TYPES];
        for (uint32_t j = 0; j < v->len && bad < 0; j += 4)
            if (!has_type(&r->v[NB_K_TYPES], get_u32(&(struct nb_val){ 4, v->p + j }, 0))) bad = NB_K_TYPES;
        if (bad < 0 && get_bool(&s->v[NB_K_NEEDCPU]) && !get_bool(&r->v[NB_K_NEEDCPU])) bad = NB_K_NEEDCPU;
        if (bad < 0 && get_bool(&s->v[NB_K_CPUCACHE]) && !get_bool(&r->v[NB_K_CPUCACHE])) bad = NB_K_CPUCACHE;
        if (bad < 0 && nb_perm_of(s) > get_u32(&r->v[NB_K_ACTPERM], NvSciBufAccessPerm_Readonly)) bad = NB_K_ACTPERM;
        for (int k = NB_K_GPUID; bad < 0 && k <= NB_K_PEERENG; k++) {
            struct arr have = { r->v[k].p, r->v[k].len, nb_keys[k].elem };
            if (k != NB_K_GPUID && k != NB_K_PEERLOC && k != NB_K_PEERENG) continue;
            v = &s->v[k];
            for (uint32_t j = 0; j < v->len && bad < 0; j += have.elem)
                if (!arr_has(&have, v->p + j, have.elem)) bad = k;
        }
        if (bad < 0 && s->v[NB_K_SIZE].len && get_u64(&s->v[NB_K_SIZE], 0) != get_u64(&r->v[NB_K_SIZE], 0))
            bad = NB_K_SIZE;
        if (bad < 0 && get_u64(&s->v[NB_K_ALIGN], 1) > get_u64(&r->v[NB_K_ALIGN], 1)) bad = NB_K_ALIGN;
        if (bad >= 0) {
            nb_dbg("validation: input %zu does not fit on %s", i, nb_keys[bad].name);
            return 0;
        }
    }
    return 1;
}

NVSCI_EXPORT NvSciError NvSciBufAttrListReconcile(const NvSciBufAttrList inputArray[], size_t inputCount,
                                                  NvSciBufAttrList *newReconciledAttrList,
                                                  NvSciBufAttrList *newConflictList)
{
    NvSciBufModule m;
    const struct nb_slot **slots;
    size_t n;
    int rc;
    if (newConflictList) *newConflictList = NULL;
    if (!newReconciledAttrList) return NvSciError_BadParameter;
    if ((rc = nb_gather(inputArray, inputCount, &m, &slots, &n))) return nb_nverr(rc);
    rc = nb_reconcile(m, slots, n, newReconciledAttrList, newConflictList);
    free(slots);
    return nb_nverr(rc);
}

NVSCI_EXPORT NvSciError NvSciBufAttrListValidateReconciled(NvSciBufAttrList reconciledAttrList,
                                                           const NvSciBufAttrList unreconciledAttrListArray[],
                                                           size_t unreconciledAttrListCount,
                                                           bool *isReconcileListValid)
{
    NvSciBufModule m;
    const struct nb_slot **slots;
    size_t n;
    int rc;
    if (!nb_list_ok(reconciledAttrList) || reconciledAttrList->kind != NB_RECON || !isReconcileListValid)
        return NvSciError_BadParameter;
    if ((rc = nb_gather(unreconciledAttrListArray, unreconciledAttrListCount, &m, &slots, &n))) return nb_nverr(rc);
    if (m != reconciledAttrList->module) { free(slots); return NvSciError_BadParameter; }
    *isReconcileListValid = nb_validate(reconciledAttrList, slots, n) == 1;
    free(slots);
    return NvSciError_Success;
}

NVSCI_EXPORT NvSciError NvSciBufAttrListValidateReconciledAgainstAttrs(const NvSciBufAttrList reconciledAttrList,
                                                                       const NvSciBufAttrKeyValuePair *pairArray,
                                                                       const size_t pairCount)
{
    struct nb_slot s;
    const struct nb_slot *sp = &s;
    int ok;
    if (!nb_list_ok(reconciledAttrList) || reconciledAttrList->kind != NB_RECON || !pairArray || pairCount == 0)
        return NvSciError_BadParameter;
    memset(&s, 0, sizeof(s));
    for (size_t i = 0; i < pairCount; i++) {
        int k = nb_key_index((uint32_t)pairArray[i].key);
        if (k == -ENOTSUP) return NvSciError_NotSupported;
        if (k < 0 || !(nb_keys[k].io & NB_IO_IN) || s.v[k].len ||
            nb_key_check(k, pairArray[i].value, pairArray[i].len))
            return NvSciError_BadParameter;
        s.v[k].p = (uint8_t *)pairArray[i].value;     /* borrowed: not freed below */
        s.v[k].len = (uint32_t)pairArray[i].len;
    }
    ok = nb_validate(reconciledAttrList, &sp, 1);
    return ok ? NvSciError_Success : NvSciError_ReconciliationFailed;
}

/* One line per set key of every slot: "slot <i> <key name> <hex bytes>". */
NVSCI_EXPORT NvSciError NvSciBufAttrListDebugDump(NvSciBufAttrList attrList, void **buf, size_t *len)
{
    char *out = NULL;
    size_t size = 0;
    FILE *f;
    if (!nb_list_ok(attrList) || !buf || !len) return NvSciError_BadParameter;
    if (!(f = open_memstream(&out, &size))) return NvSciError_InsufficientMemory;
    fprintf(f, "%s list, %zu slot(s)\n",
            attrList->kind == NB_RECON ? "reconciled" : attrList->kind == NB_CONFLICT ? "conflict" : "unreconciled",
            attrList->nslots);
    for (size_t i = 0; i < attrList->nslots; i++)
        for (int k = 0; k < NB_NKEYS; k++) {
            const struct nb_val *v = &attrList->slots[i].v[k];
            if (!v->len) continue;
            fprintf(f, "slot %zu %s ", i, nb_keys[k].name);
            for (uint32_t j = 0; j < v->len; j++) fprintf(f, "%02x", v->p[j]);
            fputc('\n', f);
        }
    if (fclose(f)) { free(out); return NvSciError_InsufficientMemory; }
    *buf = out;
    *len = size;
    return NvSciError_Success;
}
