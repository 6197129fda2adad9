/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Attribute-list descriptors (docs/nvscibuf.md "Attribute-list descriptor") and their NvSciIpc export/import.
 * The bytes come from another process: every field and bound is checked before use. */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nvscibuf_internal.h"

#define WIRE_MAGIC 0x4c424e4fu      /* "ONBL" little-endian */
#define WIRE_VERSION 1u
#define WIRE_HDR 16u
#define WIRE_RECON_HDR 24u
#define WIRE_MAX (1u << 20)

uint32_t nb_fnv1a(const void *p, size_t len)
{
    const uint8_t *b = p;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= b[i];
        h *= 16777619u;
    }
    return h;
}

struct wbuf {
    uint8_t *p;
    size_t len, cap;
};

static int put(struct wbuf *w, const void *p, size_t n)
{
    if (w->len + n > w->cap) {
        size_t cap = (w->cap ? w->cap * 2 : 256) + n;
        uint8_t *np = realloc(w->p, cap);
        if (!np) return -ENOMEM;
        w->p = np;
        w->cap = cap;
    }
    memcpy(w->p + w->len, p, n);
    w->len += n;
    return 0;
}

static int put32(struct wbuf *w, uint32_t v)
{
    v = htole32(v);
    return put(w, &v, 4);
}

static int put64(struct wbuf *w, uint64_t v)
{
    v = htole64(v);
    return put(w, &v, 8);
}

int nb_wire_export(NvSciBufAttrList const *lists, size_t n, enum nb_kind kind, void **buf, size_t *len)
{
    struct wbuf w = { 0 };
    size_t nslots = 0;
    uint32_t sum;
    int rc = 0;
    for (size_t i = 0; i < n; i++) nslots += lists[i]->nslots;
    if (nslots == 0 || nslots > NB_MAX_SLOTS) return -EOVERFLOW;
    rc |= put32(&w, WIRE_MAGIC);
    rc |= put32(&w, WIRE_VERSION | (uint32_t)kind << 16);
    rc |= put32(&w, 0);              /* total length, filled in below */
    rc |= put32(&w, (uint32_t)nslots);
    if (kind == NB_RECON) {
        rc |= put64(&w, lists[0]->alloc_len);
        rc |= put32(&w, lists[0]->place);
        rc |= put32(&w, lists[0]->adapter);
        rc |= put32(&w, (uint32_t)lists[0]->late_pad);
        rc |= put32(&w, 0);
    }
    for (size_t i = 0; i < n; i++)
        for (size_t s = 0; s < lists[i]->nslots; s++) {
            const struct nb_slot *sl = &lists[i]->slots[s];
            uint32_t nk = 0;
            for (int k = 0; k < NB_NKEYS; k++) nk += sl->v[k].len != 0;
            rc |= put32(&w, nk);
            for (int k = 0; k < NB_NKEYS; k++) {
                if (!sl->v[k].len) continue;
                rc |= put32(&w, nb_keys[k].key);
                rc |= put32(&w, sl->v[k].len);
                rc |= put(&w, sl->v[k].p, sl->v[k].len);
            }
        }
    if (rc || w.len + 4 > WIRE_MAX) { free(w.p); return rc ? -ENOMEM : -EOVERFLOW; }
    {
        uint32_t total = htole32((uint32_t)w.len + 4);
        memcpy(w.p + 8, &total, 4);
    }
    sum = nb_fnv1a(w.p, w.len);
    if (put32(&w, sum)) { free(w.p); return -ENOMEM; }
    *buf = w.p;
    *len = w.len;
    return 0;
}

struct rbuf {
    const uint8_t *p;
    size_t len, at;
};

static int get32(struct rbuf *r, uint32_t *v)
{
    if (r->len - r->at < 4) return -EINVAL;
    memcpy(v, r->p + r->at, 4);
    *v = le32toh(*v);
    r->at += 4;
    return 0;
}

static int get64(struct rbuf *r, uint64_t *v)
{
    if (r->len - r->at < 8) return -EINVAL;
    memcpy(v, r->p + r->at, 8);
    *v = le64toh(*v);
    r->at += 8;
    return 0;
}

#define BAD(...) do { nb_err("descriptor: " __VA_ARGS__); rc = -EINVAL; goto fail; } while (0)

int nb_wire_import(NvSciBufModule m, const void *buf, size_t len, enum nb_kind kind, const struct nb_origin *o,
                   NvSciBufAttrList *out)
{
    struct rbuf r = { buf, len, 0 };
    uint32_t magic = 0, ver = 0, total = 0, nslots = 0, sum;
    NvSciBufAttrList l = NULL;
    int rc;
    if (!buf || len < WIRE_HDR + 4 || len > WIRE_MAX) { nb_err("descriptor: length %zu out of range", len); return -EINVAL; }
    get32(&r, &magic);
    get32(&r, &ver);
    get32(&r, &total);
    get32(&r, &nslots);
    if (magic != WIRE_MAGIC) { nb_err("descriptor: bad magic"); return -EINVAL; }
    if ((ver & 0xffff) != WIRE_VERSION) { nb_err("descriptor: version %u unknown", ver & 0xffff); return -EINVAL; }
    if (ver >> 16 != (uint32_t)kind) { nb_err("descriptor: kind %u, expected %u", ver >> 16, (unsigned)kind); return -EINVAL; }
    if (total != len) { nb_err("descriptor: says %u bytes, has %zu", total, len); return -EINVAL; }
    memcpy(&sum, (const uint8_t *)buf + len - 4, 4);
    if (le32toh(sum) != nb_fnv1a(buf, len - 4)) { nb_err("descriptor: checksum mismatch"); return -EINVAL; }
    r.len = len - 4;
    if (nslots == 0 || nslots > NB_MAX_SLOTS || (kind == NB_RECON && nslots != 1)) {
        nb_err("descriptor: %u slots", nslots);
        return -EINVAL;
    }
    if ((rc = nb_list_new(m, kind, nslots, &l))) return rc;
    l->frozen = 1;
    if (kind == NB_RECON) {
        uint32_t place, adapter, pad, resv;
        if (get64(&r, &l->alloc_len) || get32(&r, &place) || get32(&r, &adapter) || get32(&r, &pad) ||
            get32(&r, &resv))
            BAD("truncated header");
        if ((place != NB_PLACE_SHM && place != NB_PLACE_SEG) || pad > 1 || resv) BAD("bad placement fields");
        l->place = place;
        l->adapter = adapter;
        l->late_pad = (int)pad;
    }
    for (uint32_t s = 0; s < nslots; s++) {
        struct nb_slot *sl = &l->slots[s];
        uint32_t nk;
        if (get32(&r, &nk) || nk > NB_NKEYS) BAD("slot %u: key count", s);
        sl->o = *o;
        for (uint32_t i = 0; i < nk; i++) {
            uint32_t key, vlen;
            int k;
            if (get32(&r, &key) || get32(&r, &vlen)) BAD("slot %u: truncated", s);
            if ((k = nb_key_index(key)) < 0) BAD("slot %u: key %#x not accepted", s, key);
            if (kind == NB_UNRECON && !(nb_keys[k].io & NB_IO_IN)) BAD("slot %u: output key %s", s, nb_keys[k].name);
            if (sl->v[k].len) BAD("slot %u: %s twice", s, nb_keys[k].name);
            if (vlen > r.len - r.at) BAD("slot %u: %s value truncated", s, nb_keys[k].name);
            if (nb_key_check(k, r.p + r.at, vlen)) BAD("slot %u: %s value invalid", s, nb_keys[k].name);
            if ((rc = nb_val_set(&sl->v[k], r.p + r.at, vlen))) goto fail;
            r.at += vlen;
        }
    }
    if (r.at != r.len) BAD("%zu trailing bytes", r.len - r.at);
    if (kind == NB_RECON) {
        struct nb_slot *sl = &l->slots[0];
        uint64_t size;
        if (!sl->v[NB_K_TYPES].len || !sl->v[NB_K_SIZE].len || !sl->v[NB_K_ACTPERM].len) BAD("reconciled list incomplete");
        memcpy(&size, sl->v[NB_K_SIZE].p, 8);
        if (l->alloc_len < size || l->alloc_len % NB_PAGE || l->alloc_len > (1ull << 40)) BAD("allocation length");
    }
    *out = l;
    return 0;
fail:
    nb_list_free(l);
    return rc;
}

/* The endpoint's route: 0, or -EINVAL for no open endpoint. */
static int route_of(NvSciIpcEndpoint ep, struct nb_origin *o)
{
    memset(o, 0, sizeof(*o));
    if (osci_ipc_endpoint_route(ep, &o->backend, &o->adapter, &o->peer_node) != NvSciError_Success) {
        nb_err("endpoint %#llx is not an open NvSciIpc endpoint", (unsigned long long)ep);
        return -EINVAL;
    }
    o->ep = ep;
    return 0;
}

NVSCI_EXPORT NvSciError NvSciBufAttrListIpcExportUnreconciled(const NvSciBufAttrList unreconciledAttrListArray[],
                                                              size_t unreconciledAttrListCount,
                                                              NvSciIpcEndpoint ipcEndpoint, void **descBuf,
                                                              size_t *descLen)
{
    NvSciBufModule m;
    const struct nb_slot **slots;
    size_t n;
    struct nb_origin o;
    int rc;
    if (!descBuf || !descLen) return NvSciError_BadParameter;
    if ((rc = nb_gather(unreconciledAttrListArray, unreconciledAttrListCount, &m, &slots, &n))) return nb_nverr(rc);
    free(slots);
    if ((rc = route_of(ipcEndpoint, &o))) return nb_nverr(rc);
    return nb_nverr(nb_wire_export(unreconciledAttrListArray, unreconciledAttrListCount, NB_UNRECON, descBuf, descLen));
}

NVSCI_EXPORT NvSciError NvSciBufAttrListIpcExportReconciled(NvSciBufAttrList reconciledAttrList,
                                                            NvSciIpcEndpoint ipcEndpoint, void **descBuf,
                                                            size_t *descLen)
{
    struct nb_origin o;
    int rc;
    if (!nb_list_ok(reconciledAttrList) || reconciledAttrList->kind != NB_RECON || !descBuf || !descLen)
        return NvSciError_BadParameter;
    if ((rc = route_of(ipcEndpoint, &o))) return nb_nverr(rc);
    return nb_nverr(nb_wire_export(&reconciledAttrList, 1, NB_RECON, descBuf, descLen));
}

NVSCI_EXPORT NvSciError NvSciBufAttrListIpcImportUnreconciled(NvSciBufModule module, NvSciIpcEndpoint ipcEndpoint,
                                                              const void *descBuf, size_t descLen,
                                                              NvSciBufAttrList *importedUnreconciledAttrList)
{
    struct nb_origin o;
    int rc;
    if (!nb_reg_has(module, NB_MAGIC_MODULE) || !importedUnreconciledAttrList) return NvSciError_BadParameter;
    if ((rc = route_of(ipcEndpoint, &o))) return nb_nverr(rc);
    return nb_nverr(nb_wire_import(module, descBuf, descLen, NB_UNRECON, &o, importedUnreconciledAttrList));
}

NVSCI_EXPORT NvSciError NvSciBufAttrListIpcImportReconciled(NvSciBufModule module, NvSciIpcEndpoint ipcEndpoint,
                                                            const void *descBuf, size_t descLen,
                                                            const NvSciBufAttrList inputUnreconciledAttrListArray[],
                                                            size_t inputUnreconciledAttrListCount,
                                                            NvSciBufAttrList *importedReconciledAttrList)
{
    struct nb_origin o;
    NvSciBufAttrList l;
    int rc;
    if (!nb_reg_has(module, NB_MAGIC_MODULE) || !importedReconciledAttrList) return NvSciError_BadParameter;
    if (inputUnreconciledAttrListCount && !inputUnreconciledAttrListArray) return NvSciError_BadParameter;
    if ((rc = route_of(ipcEndpoint, &o))) return nb_nverr(rc);
    if ((rc = nb_wire_import(module, descBuf, descLen, NB_RECON, &o, &l))) return nb_nverr(rc);
    l->slots[0].o = (struct nb_origin){ 0 };
    if (inputUnreconciledAttrListCount) {
        NvSciBufModule m;
        const struct nb_slot **slots;
        size_t n;
        uint32_t perm = NvSciBufAccessPerm_Readonly;
        uint8_t need = 0;
        if ((rc = nb_gather(inputUnreconciledAttrListArray, inputUnreconciledAttrListCount, &m, &slots, &n)) ||
            (m != module && (rc = -EINVAL))) {
            nb_list_free(l);
            return nb_nverr(rc);
        }
        if (!nb_validate(l, slots, n)) {
            nb_err("ImportReconciled: the reconciled list does not satisfy the given unreconciled lists");
            free(slots);
            nb_list_free(l);
            return NvSciError_AttrListValidationFailed;
        }
        /* This peer's view: NeedCpuAccess and ActualPerm from its own lists. */
        for (size_t i = 0; i < n; i++) {
            if (nb_perm_of(slots[i]) > perm) perm = nb_perm_of(slots[i]);
            if (slots[i]->v[NB_K_NEEDCPU].len && slots[i]->v[NB_K_NEEDCPU].p[0]) need = 1;
        }
        free(slots);
        if (nb_val_set(&l->slots[0].v[NB_K_ACTPERM], &perm, 4) || nb_val_set(&l->slots[0].v[NB_K_NEEDCPU], &need, 1)) {
            nb_list_free(l);
            return NvSciError_InsufficientMemory;
        }
    }
    l->frozen = 0;
    *importedReconciledAttrList = l;
    return NvSciError_Success;
}

NVSCI_EXPORT void NvSciBufAttrListFreeDesc(void *descBuf)
{
    free(descBuf);
}
