/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* NvSciBuf in one process: SetAttrs/GetAttrs rules, clone and append, every reconciliation rule of
 * docs/nvscibuf.md with a passing and a conflicting input (the conflict list names the key), validation,
 * local objects (CPU pointers, reduced permission really read-only, reference counts), bad handles. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <dirent.h>

#include "nvscibuf.h"
#include "nvscibuf_internal.h"
#include "../common/osci_test.h"

static NvSciBufModule mod;

static int setup(void **state)
{
    (void)state;
    return NvSciBufModuleOpen(&mod) == NvSciError_Success ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    NvSciBufModuleClose(mod);
    return 0;
}

#define KV(k, v) { (k), &(v), sizeof(v) }

/* A RawBuffer list of `size` bytes plus extra pairs. */
static NvSciBufAttrList raw_list(uint64_t size, NvSciBufAttrKeyValuePair *extra, size_t n)
{
    NvSciBufAttrList l;
    NvSciBufType t = NvSciBufType_RawBuffer;
    NvSciBufAttrKeyValuePair kv[2] = { KV(NvSciBufGeneralAttrKey_Types, t), KV(NvSciBufRawBufferAttrKey_Size, size) };
    assert_int_equal(NvSciBufAttrListCreate(mod, &l), NvSciError_Success);
    assert_int_equal(NvSciBufAttrListSetAttrs(l, kv, size ? 2 : 1), NvSciError_Success);
    if (n) assert_int_equal(NvSciBufAttrListSetAttrs(l, extra, n), NvSciError_Success);
    return l;
}

static const void *get(NvSciBufAttrList l, NvSciBufAttrKey k, size_t *len)
{
    NvSciBufAttrKeyValuePair kv = { k, NULL, 0 };
    assert_int_equal(NvSciBufAttrListGetAttrs(l, &kv, 1), NvSciError_Success);
    if (len) *len = kv.len;
    return kv.value;
}

static NvSciError reconcile2(NvSciBufAttrList a, NvSciBufAttrList b, NvSciBufAttrList *r, NvSciBufAttrList *c)
{
    NvSciBufAttrList in[2] = { a, b };
    return NvSciBufAttrListReconcile(in, b ? 2 : 1, r, c);
}

/* The conflict list names `key` (some slot holds it, and the dump prints its name). */
static void assert_conflict(NvSciBufAttrList c, NvSciBufAttrKey key, const char *name)
{
    void *dump;
    size_t len, found = 0;
    assert_non_null(c);
    for (size_t s = 0; s < NvSciBufAttrListGetSlotCount(c); s++) {
        NvSciBufAttrKeyValuePair kv = { key, NULL, 0 };
        assert_int_equal(NvSciBufAttrListSlotGetAttrs(c, s, &kv, 1), NvSciError_Success);
        found += kv.len != 0;
    }
    assert_true(found >= 1);
    assert_int_equal(NvSciBufAttrListDebugDump(c, &dump, &len), NvSciError_Success);
    assert_non_null(strstr(dump, name));
    NvSciBufAttrListFreeDesc(dump);
    NvSciBufAttrListFree(c);
}

/* Reconciling a with a RawBuffer list of 4096 bytes and the pair kv fails; the conflict list names kv's key. */
static void assert_conflicts_with(NvSciBufAttrList a, NvSciBufAttrKeyValuePair kv, const char *name)
{
    NvSciBufAttrList b = raw_list(4096, &kv, 1), r, c;
    assert_int_equal(reconcile2(a, b, &r, &c), NvSciError_ReconciliationFailed);
    assert_conflict(c, kv.key, name);
    NvSciBufAttrListFree(b);
}

static void test_setattrs_rules(void **state)
{
    NvSciBufAttrList l, r;
    NvSciBufType t = NvSciBufType_RawBuffer, img = NvSciBufType_Image, bad = NvSciBufType_MaxValid;
    uint64_t size = 4096, zero = 0, align3 = 3;
    bool yes = true;
    uint8_t two = 2;
    NvSciBufAttrValAccessPerm rw = NvSciBufAccessPerm_ReadWrite, autop = NvSciBufAccessPerm_Auto;
    uint32_t layout = NvSciBufImage_PitchLinearType;
    (void)state;
    assert_int_equal(NvSciBufAttrListCreate(mod, &l), NvSciError_Success);
    /* a RawBuffer key needs Types first (or in the same call) */
    NvSciBufAttrKeyValuePair sz = KV(NvSciBufRawBufferAttrKey_Size, size);
    assert_int_equal(NvSciBufAttrListSetAttrs(l, &sz, 1), NvSciError_BadParameter);
    NvSciBufAttrKeyValuePair both[2] = { KV(NvSciBufRawBufferAttrKey_Size, size), KV(NvSciBufGeneralAttrKey_Types, t) };
    assert_int_equal(NvSciBufAttrListSetAttrs(l, both, 2), NvSciError_Success);
    /* set twice, twice in one call, output key, bad values, zero pairs */
    assert_int_equal(NvSciBufAttrListSetAttrs(l, &sz, 1), NvSciError_BadParameter);
    NvSciBufAttrKeyValuePair dup[2] = { KV(NvSciBufGeneralAttrKey_NeedCpuAccess, yes), KV(NvSciBufGeneralAttrKey_NeedCpuAccess, yes) };
    assert_int_equal(NvSciBufAttrListSetAttrs(l, dup, 2), NvSciError_BadParameter);
    NvSciBufAttrKeyValuePair out = KV(NvSciBufGeneralAttrKey_ActualPerm, rw);
    assert_int_equal(NvSciBufAttrListSetAttrs(l, &out, 1), NvSciError_BadParameter);
    NvSciBufAttrKeyValuePair badv[] = { KV(NvSciBufGeneralAttrKey_NeedCpuAccess, two), KV(NvSciBufGeneralAttrKey_RequiredPerm, autop),
                                        KV(NvSciBufRawBufferAttrKey_Align, align3) };
    for (size_t i = 0; i < 3; i++) assert_int_equal(NvSciBufAttrListSetAttrs(l, &badv[i], 1), NvSciError_BadParameter);
    NvSciBufAttrKeyValuePair shortv = { NvSciBufGeneralAttrKey_RequiredPerm, &rw, 2 };
    assert_int_equal(NvSciBufAttrListSetAttrs(l, &shortv, 1), NvSciError_BadParameter);
    assert_int_equal(NvSciBufAttrListSetAttrs(l, &sz, 0), NvSciError_BadParameter);
    /* nothing of a refused call was written */
    NvSciBufAttrKeyValuePair g = { NvSciBufGeneralAttrKey_NeedCpuAccess, NULL, 0 };
    assert_int_equal(NvSciBufAttrListGetAttrs(l, &g, 1), NvSciError_Success);
    assert_null(g.value);
    assert_int_equal(g.len, 0);
    /* output keys are not read from an unreconciled list; values are */
    g.key = NvSciBufGeneralAttrKey_ActualPerm;
    assert_int_equal(NvSciBufAttrListGetAttrs(l, &g, 1), NvSciError_BadParameter);
    assert_int_equal(*(const uint64_t *)get(l, NvSciBufRawBufferAttrKey_Size, NULL), 4096);
    NvSciBufAttrListFree(l);

    /* other types: Types accepts them, their keys are NotSupported */
    assert_int_equal(NvSciBufAttrListCreate(mod, &l), NvSciError_Success);
    NvSciBufAttrKeyValuePair ti = KV(NvSciBufGeneralAttrKey_Types, img), tb = KV(NvSciBufGeneralAttrKey_Types, bad);
    assert_int_equal(NvSciBufAttrListSetAttrs(l, &tb, 1), NvSciError_BadParameter);
    assert_int_equal(NvSciBufAttrListSetAttrs(l, &ti, 1), NvSciError_Success);
    NvSciBufAttrKeyValuePair lay = KV(NvSciBufImageAttrKey_Layout, layout);
    assert_int_equal(NvSciBufAttrListSetAttrs(l, &lay, 1), NvSciError_NotSupported);
    NvSciBufAttrKeyValuePair nokey = { (NvSciBufAttrKey)0x2ffff, &layout, 4 };
    assert_int_equal(NvSciBufAttrListSetAttrs(l, &nokey, 1), NvSciError_BadParameter);
    NvSciBufAttrListFree(l);

    /* zero size is refused; a reconciled list takes no SetAttrs */
    assert_int_equal(NvSciBufAttrListCreate(mod, &l), NvSciError_Success);
    NvSciBufAttrKeyValuePair z[2] = { KV(NvSciBufGeneralAttrKey_Types, t), KV(NvSciBufRawBufferAttrKey_Size, zero) };
    assert_int_equal(NvSciBufAttrListSetAttrs(l, z, 2), NvSciError_BadParameter);
    NvSciBufAttrListFree(l);
    l = raw_list(4096, NULL, 0);
    assert_int_equal(reconcile2(l, NULL, &r, NULL), NvSciError_Success);
    NvSciBufAttrKeyValuePair cpu = KV(NvSciBufGeneralAttrKey_NeedCpuAccess, yes);
    assert_int_equal(NvSciBufAttrListSetAttrs(r, &cpu, 1), NvSciError_BadParameter);
    NvSciBufAttrListFree(r);
    NvSciBufAttrListFree(l);
}

static void test_clone_append_slots(void **state)
{
    bool yes = true;
    NvSciBufAttrKeyValuePair cpu = KV(NvSciBufGeneralAttrKey_NeedCpuAccess, yes);
    NvSciBufAttrList a = raw_list(4096, &cpu, 1), b = raw_list(8192, NULL, 0), c, app, in[2];
    bool rec;
    (void)state;
    assert_int_equal(NvSciBufAttrListClone(a, &c), NvSciError_Success);
    assert_int_equal(*(const uint8_t *)get(c, NvSciBufGeneralAttrKey_NeedCpuAccess, NULL), 1);
    assert_int_equal(NvSciBufAttrListIsReconciled(c, &rec), NvSciError_Success);
    assert_false(rec);
    /* the clone can still be written, independently */
    uint64_t al = 64;
    NvSciBufAttrKeyValuePair aln = KV(NvSciBufRawBufferAttrKey_Align, al);
    assert_int_equal(NvSciBufAttrListSetAttrs(c, &aln, 1), NvSciError_Success);
    assert_null(get(a, NvSciBufRawBufferAttrKey_Align, NULL));
    in[0] = a;
    in[1] = b;
    assert_int_equal(NvSciBufAttrListAppendUnreconciled(in, 2, &app), NvSciError_Success);
    assert_int_equal(NvSciBufAttrListGetSlotCount(app), 2);
    NvSciBufAttrKeyValuePair s = { NvSciBufRawBufferAttrKey_Size, NULL, 0 };
    assert_int_equal(NvSciBufAttrListSlotGetAttrs(app, 1, &s, 1), NvSciError_Success);
    assert_int_equal(*(const uint64_t *)s.value, 8192);
    assert_int_equal(NvSciBufAttrListSlotGetAttrs(app, 2, &s, 1), NvSciError_BadParameter);
    assert_int_equal(NvSciBufAttrListGetAttrs(app, &s, 1), NvSciError_BadParameter);   /* two slots */
    assert_int_equal(NvSciBufAttrListSetAttrs(app, &aln, 1), NvSciError_BadParameter); /* appended */
    in[1] = a;
    assert_int_equal(NvSciBufAttrListAppendUnreconciled(in, 2, &c), NvSciError_BadParameter); /* duplicate */
    NvSciBufAttrListFree(app);
    NvSciBufAttrListFree(a);
    NvSciBufAttrListFree(b);
}

static void test_rule_types(void **state)
{
    NvSciBufType raw = NvSciBufType_RawBuffer, img = NvSciBufType_Image, ten = NvSciBufType_Tensor;
    NvSciBufAttrList a, b, r, c;
    uint64_t size = 4096;
    (void)state;
    /* equal: passes */
    a = raw_list(4096, NULL, 0);
    b = raw_list(4096, NULL, 0);
    assert_int_equal(reconcile2(a, b, &r, &c), NvSciError_Success);
    assert_null(c);
    size_t len;
    assert_int_equal(*(const uint32_t *)get(r, NvSciBufGeneralAttrKey_Types, &len), NvSciBufType_RawBuffer);
    assert_int_equal(len, 4);
    NvSciBufAttrListFree(r);
    NvSciBufAttrListFree(b);
    /* RawBuffer against Image: fails, the conflict names Types */
    assert_int_equal(NvSciBufAttrListCreate(mod, &b), NvSciError_Success);
    NvSciBufAttrKeyValuePair ti = KV(NvSciBufGeneralAttrKey_Types, img);
    assert_int_equal(NvSciBufAttrListSetAttrs(b, &ti, 1), NvSciError_Success);
    assert_int_equal(reconcile2(a, b, &r, &c), NvSciError_ReconciliationFailed);
    assert_conflict(c, NvSciBufGeneralAttrKey_Types, "NvSciBufGeneralAttrKey_Types");
    /* Image with Tensor passes the type rule; OpenSCI does not lay out images */
    NvSciBufAttrList t;
    assert_int_equal(NvSciBufAttrListCreate(mod, &t), NvSciError_Success);
    NvSciBufAttrKeyValuePair tt = KV(NvSciBufGeneralAttrKey_Types, ten);
    assert_int_equal(NvSciBufAttrListSetAttrs(t, &tt, 1), NvSciError_Success);
    assert_int_equal(reconcile2(b, t, &r, &c), NvSciError_NotSupported);
    assert_null(c);
    NvSciBufAttrListFree(t);
    NvSciBufAttrListFree(b);
    /* Types missing everywhere: mandatory */
    assert_int_equal(NvSciBufAttrListCreate(mod, &b), NvSciError_Success);
    bool yes = true;
    NvSciBufAttrKeyValuePair cpu = KV(NvSciBufGeneralAttrKey_NeedCpuAccess, yes);
    assert_int_equal(NvSciBufAttrListSetAttrs(b, &cpu, 1), NvSciError_Success);
    assert_int_equal(reconcile2(b, NULL, &r, &c), NvSciError_BadParameter);
    NvSciBufAttrListFree(b);
    (void)raw; (void)size;
    NvSciBufAttrListFree(a);
}

static void test_rule_size_align(void **state)
{
    NvSciBufAttrList a, b, r, c;
    uint64_t a64 = 64, a4k = 4096;
    NvSciBufAttrKeyValuePair x = KV(NvSciBufRawBufferAttrKey_Align, a64), y = KV(NvSciBufRawBufferAttrKey_Align, a4k);
    (void)state;
    a = raw_list(4096, &x, 1);
    b = raw_list(4096, &y, 1);
    assert_int_equal(reconcile2(a, b, &r, &c), NvSciError_Success);
    assert_int_equal(*(const uint64_t *)get(r, NvSciBufRawBufferAttrKey_Size, NULL), 4096);
    assert_int_equal(*(const uint64_t *)get(r, NvSciBufRawBufferAttrKey_Align, NULL), 4096);   /* max */
    NvSciBufAttrListFree(r);
    NvSciBufAttrListFree(b);
    /* Size differs: fails, each input's value is in the conflict list */
    b = raw_list(8192, NULL, 0);
    assert_int_equal(reconcile2(a, b, &r, &c), NvSciError_ReconciliationFailed);
    assert_int_equal(NvSciBufAttrListGetSlotCount(c), 2);
    NvSciBufAttrKeyValuePair s = { NvSciBufRawBufferAttrKey_Size, NULL, 0 };
    assert_int_equal(NvSciBufAttrListSlotGetAttrs(c, 1, &s, 1), NvSciError_Success);
    assert_int_equal(*(const uint64_t *)s.value, 8192);
    assert_conflict(c, NvSciBufRawBufferAttrKey_Size, "NvSciBufRawBufferAttrKey_Size");
    NvSciBufAttrListFree(b);
    /* Size missing: mandatory; Align default 1 */
    b = raw_list(0, NULL, 0);
    assert_int_equal(reconcile2(b, NULL, &r, &c), NvSciError_BadParameter);
    assert_int_equal(reconcile2(b, a, &r, &c), NvSciError_Success);
    NvSciBufAttrListFree(r);
    NvSciBufAttrListFree(a);
    a = raw_list(100, NULL, 0);
    assert_int_equal(reconcile2(a, b, &r, &c), NvSciError_Success);
    assert_int_equal(*(const uint64_t *)get(r, NvSciBufRawBufferAttrKey_Align, NULL), 1);
    assert_int_equal(r->alloc_len, 4096);
    NvSciBufAttrListFree(r);
    NvSciBufAttrListFree(a);
    NvSciBufAttrListFree(b);
}

static void test_rule_cpu_perm(void **state)
{
    bool yes = true, no = false;
    NvSciBufAttrValAccessPerm ro = NvSciBufAccessPerm_Readonly, rw = NvSciBufAccessPerm_ReadWrite;
    NvSciBufPeerHwEngine disp = { NvSciBufHwEngName_Display, NvSciBufPlatformName_Orin };
    NvSciBufAttrKeyValuePair pa[] = { KV(NvSciBufGeneralAttrKey_NeedCpuAccess, yes), KV(NvSciBufGeneralAttrKey_RequiredPerm, ro),
                                      KV(NvSciBufGeneralAttrKey_EnableCpuCache, no) };
    NvSciBufAttrKeyValuePair pb[] = { KV(NvSciBufGeneralAttrKey_NeedCpuAccess, no), KV(NvSciBufGeneralAttrKey_RequiredPerm, rw),
                                      KV(NvSciBufGeneralAttrKey_EnableCpuCache, yes),
                                      KV(NvSciBufGeneralAttrKey_PeerHwEngineArray, disp) };
    NvSciBufAttrList a = raw_list(4096, pa, 3), b = raw_list(4096, pb, 3), r, c;
    (void)state;
    assert_int_equal(reconcile2(a, b, &r, &c), NvSciError_Success);
    assert_int_equal(*(const uint8_t *)get(r, NvSciBufGeneralAttrKey_NeedCpuAccess, NULL), 1);  /* OR */
    assert_int_equal(*(const uint8_t *)get(r, NvSciBufGeneralAttrKey_EnableCpuCache, NULL), 1); /* OR */
    assert_int_equal(*(const uint32_t *)get(r, NvSciBufGeneralAttrKey_ActualPerm, NULL), rw);  /* max */
    assert_int_equal(*(const uint8_t *)get(r, NvSciBufGeneralAttrKey_CpuNeedSwCacheCoherency, NULL), 0); /* no ISO engine */
    NvSciBufAttrListFree(r);
    NvSciBufAttrListFree(b);
    /* with the display (an ISO engine): the CPU must keep coherency itself */
    b = raw_list(4096, pb, 4);
    assert_int_equal(reconcile2(a, b, &r, &c), NvSciError_Success);
    assert_int_equal(*(const uint8_t *)get(r, NvSciBufGeneralAttrKey_CpuNeedSwCacheCoherency, NULL), 1);
    NvSciBufAttrListFree(r);
    NvSciBufAttrListFree(b);
    /* ActualPerm default: Readonly */
    b = raw_list(4096, NULL, 0);
    assert_int_equal(reconcile2(b, NULL, &r, &c), NvSciError_Success);
    assert_int_equal(*(const uint32_t *)get(r, NvSciBufGeneralAttrKey_ActualPerm, NULL), ro);
    assert_int_equal(*(const uint8_t *)get(r, NvSciBufGeneralAttrKey_NeedCpuAccess, NULL), 0);
    NvSciBufAttrListFree(r);
    NvSciBufAttrListFree(b);
    NvSciBufAttrListFree(a);
}

static NvSciRmGpuId gpu(uint8_t n)
{
    NvSciRmGpuId g;
    memset(&g, n, sizeof(g));
    return g;
}

static void test_rule_gpu(void **state)
{
    NvSciRmGpuId g1 = gpu(1), g2 = gpu(2), g3 = gpu(3);
    NvSciRmGpuId ids12[2] = { g1, g2 };
    NvSciBufAttrValGpuCache c1off = { g1, false }, c3 = { g3, true };
    NvSciBufAttrValGpuCompression z1 = { g1, NvSciBufCompressionType_GenericCompressible },
                                  z1n = { g1, NvSciBufCompressionType_None }, z3 = { g3, NvSciBufCompressionType_GenericCompressible };
    bool yes = true;
    NvSciBufAttrList a, b, r, c;
    size_t len;
    (void)state;
    /* GpuId: union */
    NvSciBufAttrKeyValuePair pa[] = { KV(NvSciBufGeneralAttrKey_GpuId, g1), KV(NvSciBufGeneralAttrKey_EnableGpuCache, c1off),
                                      KV(NvSciBufGeneralAttrKey_EnableGpuCompression, z1) };
    NvSciBufAttrKeyValuePair pb[] = { KV(NvSciBufGeneralAttrKey_GpuId, ids12) };
    a = raw_list(4096, pa, 3);
    b = raw_list(4096, pb, 1);
    assert_int_equal(reconcile2(a, b, &r, &c), NvSciError_Success);
    assert_non_null(get(r, NvSciBufGeneralAttrKey_GpuId, &len));
    assert_int_equal(len, 2 * sizeof(NvSciRmGpuId));
    /* EnableGpuCache: AND per GPU (g1 off), default on (g2) */
    const NvSciBufAttrValGpuCache *gc = get(r, NvSciBufGeneralAttrKey_EnableGpuCache, &len);
    assert_int_equal(len, 2 * sizeof(*gc));
    assert_false(gc[0].cacheability);
    assert_true(gc[1].cacheability);
    /* GpuSwNeedCacheCoherency: g2 is cached while g1 is not */
    const NvSciBufAttrValGpuCache *sw = get(r, NvSciBufGeneralAttrKey_GpuSwNeedCacheCoherency, &len);
    assert_int_equal(len, 2 * sizeof(*sw));
    assert_false(sw[0].cacheability);
    assert_true(sw[1].cacheability);
    /* one GPU asks for compression, no CPU access, no other engine: kept */
    const NvSciBufAttrValGpuCompression *gz = get(r, NvSciBufGeneralAttrKey_EnableGpuCompression, &len);
    assert_int_equal(len, sizeof(*gz));
    assert_int_equal(gz->compressionType, NvSciBufCompressionType_GenericCompressible);
    NvSciBufAttrListFree(r);
    NvSciBufAttrListFree(b);
    /* with CPU access: compression forced to None */
    NvSciBufAttrKeyValuePair pc[] = { KV(NvSciBufGeneralAttrKey_NeedCpuAccess, yes) };
    b = raw_list(4096, pc, 1);
    assert_int_equal(reconcile2(a, b, &r, &c), NvSciError_Success);
    gz = get(r, NvSciBufGeneralAttrKey_EnableGpuCompression, &len);
    assert_int_equal(gz->compressionType, NvSciBufCompressionType_None);
    NvSciBufAttrListFree(r);
    NvSciBufAttrListFree(b);
    /* conflicts: cache entry for a GPU not in GpuId; two compression types for one GPU; compression for
     * a GPU not in GpuId */
    assert_conflicts_with(a, (NvSciBufAttrKeyValuePair)KV(NvSciBufGeneralAttrKey_EnableGpuCache, c3), "EnableGpuCache");
    assert_conflicts_with(a, (NvSciBufAttrKeyValuePair)KV(NvSciBufGeneralAttrKey_EnableGpuCompression, z1n),
                          "EnableGpuCompression");
    assert_conflicts_with(a, (NvSciBufAttrKeyValuePair)KV(NvSciBufGeneralAttrKey_EnableGpuCompression, z3),
                          "EnableGpuCompression");
    NvSciBufAttrListFree(a);
    /* VidMem_GpuId: equal passes (and no video memory is allocated), different fails */
    NvSciBufAttrKeyValuePair v1 = KV(NvSciBufGeneralAttrKey_VidMem_GpuId, g1), v2 = KV(NvSciBufGeneralAttrKey_VidMem_GpuId, g2);
    a = raw_list(4096, &v1, 1);
    b = raw_list(4096, &v1, 1);
    assert_int_equal(reconcile2(a, b, &r, &c), NvSciError_Success);
    assert_memory_equal(get(r, NvSciBufGeneralAttrKey_VidMem_GpuId, NULL), &g1, sizeof(g1));
    NvSciBufObj o;
    assert_int_equal(NvSciBufObjAlloc(r, &o), NvSciError_NotSupported);
    NvSciBufAttrListFree(r);
    NvSciBufAttrListFree(b);
    assert_conflicts_with(a, v2, "VidMem_GpuId");
    NvSciBufAttrListFree(a);
}

static void test_rule_peers_late_pad(void **state)
{
    NvSciBufPeerLocationInfo l1 = { NV_SCI_BUF_PEER_INFO_SELF_SOCID, 7, 0 }, l2 = { NV_SCI_BUF_PEER_INFO_SELF_SOCID, 8, 0 };
    NvSciBufPeerHwEngine e1 = { NvSciBufHwEngName_Gpu, NvSciBufPlatformName_Orin }, e2 = { NvSciBufHwEngName_PCIe, NvSciBufPlatformName_Orin };
    NvSciBufAttrKeyValuePair pa[] = { KV(NvSciBufGeneralAttrKey_PeerLocationInfo, l1) };
    NvSciBufAttrKeyValuePair pb[] = { KV(NvSciBufGeneralAttrKey_PeerLocationInfo, l2) };
    NvSciBufAttrList a = raw_list(4096, pa, 1), b = raw_list(4096, pb, 1), r, c;
    size_t len;
    (void)state;
    /* PeerLocationInfo: union; no PeerHwEngineArray: padded to the late-attach granule */
    assert_int_equal(reconcile2(a, b, &r, &c), NvSciError_Success);
    get(r, NvSciBufGeneralAttrKey_PeerLocationInfo, &len);
    assert_int_equal(len, 2 * sizeof(NvSciBufPeerLocationInfo));
    assert_int_equal(*(const uint64_t *)get(r, NvSciBufRawBufferAttrKey_Align, NULL), NB_LATE_GRANULE);
    assert_int_equal(r->alloc_len, NB_LATE_GRANULE);
    assert_int_equal(r->place, NB_PLACE_SHM);             /* both late peers are on this SoC */
    NvSciBufAttrListFree(r);
    NvSciBufAttrListFree(b);
    /* with engines: union, no padding */
    NvSciBufAttrKeyValuePair pc[] = { KV(NvSciBufGeneralAttrKey_PeerHwEngineArray, e1) };
    NvSciBufAttrKeyValuePair pd[] = { KV(NvSciBufGeneralAttrKey_PeerHwEngineArray, e2) };
    b = raw_list(4096, pc, 1);
    NvSciBufAttrList d = raw_list(4096, pd, 1), in[3] = { a, b, d };
    assert_int_equal(NvSciBufAttrListReconcile(in, 3, &r, &c), NvSciError_Success);
    get(r, NvSciBufGeneralAttrKey_PeerHwEngineArray, &len);
    assert_int_equal(len, 2 * sizeof(NvSciBufPeerHwEngine));
    assert_int_equal(*(const uint64_t *)get(r, NvSciBufRawBufferAttrKey_Align, NULL), 1);
    assert_int_equal(r->alloc_len, 4096);
    /* validation: an input entry missing from the result fails */
    NvSciBufPeerHwEngine e3 = { NvSciBufHwEngName_DLA, NvSciBufPlatformName_Orin };
    NvSciBufAttrKeyValuePair pe[] = { KV(NvSciBufGeneralAttrKey_PeerHwEngineArray, e3) };
    NvSciBufAttrList e = raw_list(4096, pe, 1);
    bool ok;
    assert_int_equal(NvSciBufAttrListValidateReconciled(r, in, 3, &ok), NvSciError_Success);
    assert_true(ok);
    assert_int_equal(NvSciBufAttrListValidateReconciled(r, &e, 1, &ok), NvSciError_Success);
    assert_false(ok);
    NvSciBufAttrListFree(e);
    NvSciBufAttrListFree(r);
    /* a late peer on another SoC: the memory goes where it can be reached (a segment) */
    NvSciBufPeerLocationInfo far = { 2, 0, 0 };
    NvSciBufAttrKeyValuePair pf[] = { KV(NvSciBufGeneralAttrKey_PeerLocationInfo, far) };
    e = raw_list(4096, pf, 1);
    assert_int_equal(reconcile2(e, NULL, &r, &c), NvSciError_Success);
    assert_int_equal(r->place, NB_PLACE_SEG);
    NvSciBufAttrListFree(r);
    NvSciBufAttrListFree(e);
    NvSciBufAttrListFree(d);
    NvSciBufAttrListFree(b);
    NvSciBufAttrListFree(a);
}

static void test_validate(void **state)
{
    bool yes = true, ok;
    uint64_t big = 1 << 20;
    NvSciBufAttrValAccessPerm rw = NvSciBufAccessPerm_ReadWrite;
    NvSciBufAttrKeyValuePair cpu = KV(NvSciBufGeneralAttrKey_NeedCpuAccess, yes);
    NvSciBufAttrList a = raw_list(4096, NULL, 0), b = raw_list(4096, &cpu, 1), r, c;
    (void)state;
    assert_int_equal(reconcile2(a, NULL, &r, &c), NvSciError_Success);
    assert_int_equal(NvSciBufAttrListIsReconciled(r, &ok), NvSciError_Success);
    assert_true(ok);
    assert_int_equal(NvSciBufAttrListValidateReconciled(r, &a, 1, &ok), NvSciError_Success);
    assert_true(ok);
    assert_int_equal(NvSciBufAttrListValidateReconciled(r, &b, 1, &ok), NvSciError_Success);
    assert_false(ok);   /* NeedCpuAccess true in the input, false in the result */
    assert_int_equal(NvSciBufAttrListValidateReconciled(a, &b, 1, &ok), NvSciError_BadParameter);
    assert_int_equal(NvSciBufAttrListValidateReconciled(r, &b, 1, NULL), NvSciError_BadParameter);
    uint64_t four = 4096;
    NvSciBufAttrKeyValuePair ok1[] = { KV(NvSciBufRawBufferAttrKey_Size, four) };
    NvSciBufAttrKeyValuePair bad1[] = { KV(NvSciBufRawBufferAttrKey_Size, big) };
    NvSciBufAttrKeyValuePair bad2[] = { KV(NvSciBufGeneralAttrKey_RequiredPerm, rw) };
    assert_int_equal(NvSciBufAttrListValidateReconciledAgainstAttrs(r, ok1, 1), NvSciError_Success);
    assert_int_equal(NvSciBufAttrListValidateReconciledAgainstAttrs(r, bad1, 1), NvSciError_ReconciliationFailed);
    assert_int_equal(NvSciBufAttrListValidateReconciledAgainstAttrs(r, bad2, 1), NvSciError_ReconciliationFailed);
    NvSciBufAttrListFree(r);
    NvSciBufAttrListFree(a);
    NvSciBufAttrListFree(b);
}

static void test_objects_local(void **state)
{
    bool yes = true;
    NvSciBufAttrKeyValuePair cpu = KV(NvSciBufGeneralAttrKey_NeedCpuAccess, yes);
    NvSciBufAttrList a = raw_list(10000, &cpu, 1), ol, c;
    NvSciBufObj o, d, ro, ro2;
    void *p;
    const void *cp;
    (void)state;
    assert_int_equal(NvSciBufAttrListReconcileAndObjAlloc(&a, 1, &o, &c), NvSciError_Success);
    assert_int_equal(nb_obj_alloc_len(o), 12288);
    assert_int_equal(NvSciBufObjGetAttrList(o, &ol), NvSciError_Success);
    assert_int_equal(*(const uint32_t *)get(ol, NvSciBufGeneralAttrKey_ActualPerm, NULL), NvSciBufAccessPerm_ReadWrite);
    NvSciBufAttrListFree(ol);   /* refused: the object owns it */
    assert_int_equal(NvSciBufObjGetCpuPtr(o, &p), NvSciError_Success);
    memset(p, 0x5a, 10000);
    assert_int_equal(NvSciBufObjFlushCpuCacheRange(o, 0, 10000), NvSciError_Success);
    assert_int_equal(NvSciBufObjFlushCpuCacheRange(o, 12288, 1), NvSciError_BadParameter);
    assert_int_equal(NvSciBufObjFlushCpuCacheRange(o, 4096, 0), NvSciError_BadParameter);
    /* reduced permission: no writable pointer, and the read-only pointer really is read-only */
    assert_int_equal(NvSciBufObjDupWithReducePerm(o, NvSciBufAccessPerm_Readonly, &ro), NvSciError_Success);
    assert_int_equal(NvSciBufObjGetCpuPtr(ro, &p), NvSciError_BadParameter);
    assert_int_equal(NvSciBufObjGetConstCpuPtr(ro, &cp), NvSciError_Success);
    assert_int_equal(((const uint8_t *)cp)[9999], 0x5a);
    assert_int_equal(NvSciBufObjDupWithReducePerm(ro, NvSciBufAccessPerm_ReadWrite, &ro2), NvSciError_Success);
    assert_int_equal(NvSciBufObjGetCpuPtr(ro2, &p), NvSciError_BadParameter);   /* never raised */
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGSEGV, SIG_DFL);    /* cmocka's handler would catch it */
        *(volatile uint8_t *)cp = 1;
        _exit(0);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);
    /* references: the memory lives while any handle does */
    assert_int_equal(NvSciBufObjDup(o, &d), NvSciError_Success);
    NvSciBufObjFree(o);
    assert_int_equal(NvSciBufObjValidate(o), NvSciError_BadParameter);
    assert_int_equal(NvSciBufObjGetCpuPtr(o, &p), NvSciError_BadParameter);
    assert_int_equal(NvSciBufObjGetCpuPtr(d, &p), NvSciError_Success);
    ((uint8_t *)p)[1] = 0x11;
    assert_int_equal(((const uint8_t *)cp)[1], 0x11);
    NvSciBufObjFree(d);
    NvSciBufObjFree(ro2);
    NvSciBufObjFree(ro);
    /* pixels are Image-only */
    NvSciBufAttrListFree(a);
    /* no CPU access requested: no pointer */
    a = raw_list(4096, NULL, 0);
    assert_int_equal(NvSciBufAttrListReconcileAndObjAlloc(&a, 1, &o, &c), NvSciError_Success);
    assert_int_equal(NvSciBufObjGetCpuPtr(o, &p), NvSciError_BadParameter);
    assert_int_equal(NvSciBufObjGetPixels(o, NULL, NULL, NULL, NULL), NvSciError_NotSupported);
    NvSciBufObjFree(o);
    NvSciBufAttrListFree(a);
}

static void test_bad_handles(void **state)
{
    NvSciBufAttrList l, r;
    NvSciBufObj o;
    bool b;
    uint64_t junk[8] = { 0 };
    (void)state;
    assert_int_equal(NvSciBufModuleOpen(NULL), NvSciError_BadParameter);
    assert_int_equal(NvSciBufAttrListCreate(NULL, &l), NvSciError_BadParameter);
    assert_int_equal(NvSciBufAttrListCreate((NvSciBufModule)junk, &l), NvSciError_BadParameter);
    l = raw_list(4096, NULL, 0);
    NvSciBufAttrListFree(l);
    assert_int_equal(NvSciBufAttrListIsReconciled(l, &b), NvSciError_BadParameter);   /* freed */
    assert_int_equal(NvSciBufAttrListGetSlotCount(l), 0);
    assert_int_equal(NvSciBufAttrListReconcile(&l, 1, &r, NULL), NvSciError_BadParameter);
    assert_int_equal(NvSciBufAttrListReconcile(NULL, 1, &r, NULL), NvSciError_BadParameter);
    assert_int_equal(NvSciBufObjAlloc((NvSciBufAttrList)junk, &o), NvSciError_BadParameter);
    NvSciBufObjFree((NvSciBufObj)junk);          /* ignored */
    NvSciBufAttrListFree((NvSciBufAttrList)junk); /* ignored */
    l = raw_list(4096, NULL, 0);
    assert_int_equal(NvSciBufObjAlloc(l, &o), NvSciError_BadParameter);   /* unreconciled */
    /* lists of another module do not reconcile together */
    NvSciBufModule m2;
    NvSciBufAttrList l2, in[2];
    assert_int_equal(NvSciBufModuleOpen(&m2), NvSciError_Success);
    assert_int_equal(NvSciBufAttrListCreate(m2, &l2), NvSciError_Success);
    in[0] = l;
    in[1] = l2;
    assert_int_equal(NvSciBufAttrListReconcile(in, 2, &r, NULL), NvSciError_BadParameter);
    NvSciBufModuleClose(m2);                     /* the module stays until its last list goes */
    NvSciBufModuleClose(m2);                     /* a second close counts for nothing */
    assert_int_equal(NvSciBufAttrListCreate(m2, &r), NvSciError_BadParameter);
    assert_int_equal(NvSciBufAttrListGetSlotCount(l2), 1);
    NvSciBufAttrListFree(l2);
    NvSciBufAttrListFree(l);
    /* many handles: the live ones stay valid, the freed ones are refused */
    {
        enum { N = 3000 };
        NvSciBufAttrList *many = calloc(N, sizeof(*many));
        assert_non_null(many);
        for (int round = 0; round < 3; round++) {
            for (int i = 0; i < N; i++)
                if (!many[i]) assert_int_equal(NvSciBufAttrListCreate(mod, &many[i]), NvSciError_Success);
            for (int i = round % 2; i < N; i += 2) {
                NvSciBufAttrListFree(many[i]);
                assert_int_equal(NvSciBufAttrListIsReconciled(many[i], &b), NvSciError_BadParameter);
                many[i] = NULL;
            }
            for (int i = 0; i < N; i++)
                if (many[i]) assert_int_equal(NvSciBufAttrListIsReconciled(many[i], &b), NvSciError_Success);
        }
        for (int i = 0; i < N; i++) NvSciBufAttrListFree(many[i]);
        free(many);
    }
    bool comp;
    assert_int_equal(NvSciBufCheckVersionCompatibility(2, 11, &comp), NvSciError_Success);
    assert_true(comp);
    assert_int_equal(NvSciBufCheckVersionCompatibility(3, 0, &comp), NvSciError_Success);
    assert_false(comp);
}

/* Objects of this name prefix in /dev/shm left by pid. */
static int shm_of(pid_t pid)
{
    char pre[64];
    int n = 0;
    DIR *d = opendir("/dev/shm");
    struct dirent *e;
    snprintf(pre, sizeof(pre), "osci-nvscibuf-%d-", (int)pid);
    while (d && (e = readdir(d))) n += !strncmp(e->d_name, pre, strlen(pre));
    if (d) closedir(d);
    return n;
}

/* In a fresh process: allocate (and free when `tidy`), then exit. */
static pid_t alloc_in_child(int tidy)
{
    pid_t pid = fork();
    if (pid == 0) {
        NvSciBufModule m;
        NvSciBufAttrList l;
        NvSciBufObj o;
        NvSciBufType t = NvSciBufType_RawBuffer;
        uint64_t size = 4096;
        NvSciBufAttrKeyValuePair kv[2] = { KV(NvSciBufGeneralAttrKey_Types, t), KV(NvSciBufRawBufferAttrKey_Size, size) };
        if (NvSciBufModuleOpen(&m) || NvSciBufAttrListCreate(m, &l) || NvSciBufAttrListSetAttrs(l, kv, 2) ||
            NvSciBufAttrListReconcileAndObjAlloc(&l, 1, &o, NULL))
            _exit(1);
        if (tidy) {
            NvSciBufObjFree(o);
            NvSciBufAttrListFree(l);
            NvSciBufModuleClose(m);
        }
        _exit(0);
    }
    return pid;
}

/* An allocator that died without freeing leaves its object; the next process that allocates removes it. */
static void test_dead_owner_swept(void **state)
{
    int st;
    pid_t dead, tidy;
    (void)state;
    dead = alloc_in_child(0);
    assert_int_equal(waitpid(dead, &st, 0), dead);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_int_equal(shm_of(dead), 1);
    tidy = alloc_in_child(1);
    assert_int_equal(waitpid(tidy, &st, 0), tidy);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_int_equal(shm_of(dead), 0);
    assert_int_equal(shm_of(tidy), 0);
}

OSCI_TEST_MAIN(NULL, setup, teardown,
               cmocka_unit_test(test_setattrs_rules),
               cmocka_unit_test(test_clone_append_slots),
               cmocka_unit_test(test_rule_types),
               cmocka_unit_test(test_rule_size_align),
               cmocka_unit_test(test_rule_cpu_perm),
               cmocka_unit_test(test_rule_gpu),
               cmocka_unit_test(test_rule_peers_late_pad),
               cmocka_unit_test(test_validate),
               cmocka_unit_test(test_objects_local),
               cmocka_unit_test(test_bad_handles),
               cmocka_unit_test(test_dead_owner_swept))
