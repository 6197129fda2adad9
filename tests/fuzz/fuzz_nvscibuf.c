/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Fuzzes NvSciBuf's descriptor parsers: attribute-list descriptors (unreconciled and reconciled) and object
 * descriptors (docs/nvscibuf.md "Formats"). Each run patches a fresh valid descriptor (so the mutations
 * reach past the header and checksum) or feeds raw bytes. Asserted: no crash; malformed input gives
 * NvSciError_BadParameter (an object descriptor also NotPermitted / AlreadyDone / AccessDenied /
 * AttrListValidationFailed for a length other than the reconciled list's); an
 * accepted list exports and imports again and reconciles or is refused cleanly; an accepted object is the
 * exported memory.
 *
 * Input: u8 mode (0 unreconciled list, 1 reconciled list, 2 object descriptor: patched; 3 raw unreconciled
 * list, 4 raw reconciled list, 5 raw object descriptor), u8 flags (bit 0: fix the checksum after patching,
 * bit 1: fix the length field, bit 2: truncate at the last patched offset), then patches {u16 offset (LE),
 * u8 xor} (offset taken modulo the descriptor length).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nvscibuf.h"
#include "nvscibuf_internal.h"
#include "nvsciipc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static NvSciBufModule mod;
static NvSciIpcEndpoint ep_a, ep_b;
static NvSciBufAttrList own, peer_in, rec;
static void *unrec_desc, *rec_desc;
static size_t unrec_len, rec_len;
static NvSciBufObj obj;
static unsigned exports;
static char cfg[64];

static NvSciBufAttrList mk_list(uint64_t size, NvSciBufAttrValAccessPerm perm)
{
    NvSciBufAttrList l;
    NvSciBufType t = NvSciBufType_RawBuffer;
    bool cpu = true;
    NvSciBufPeerHwEngine e = { NvSciBufHwEngName_Gpu, NvSciBufPlatformName_Orin };
    NvSciRmGpuId g;
    memset(&g, 3, sizeof(g));
    NvSciBufAttrKeyValuePair kv[] = {
        { NvSciBufGeneralAttrKey_Types, &t, sizeof(t) }, { NvSciBufRawBufferAttrKey_Size, &size, sizeof(size) },
        { NvSciBufGeneralAttrKey_NeedCpuAccess, &cpu, sizeof(cpu) }, { NvSciBufGeneralAttrKey_RequiredPerm, &perm, sizeof(perm) },
        { NvSciBufGeneralAttrKey_PeerHwEngineArray, &e, sizeof(e) }, { NvSciBufGeneralAttrKey_GpuId, &g, sizeof(g) },
    };
    if (NvSciBufAttrListCreate(mod, &l) != NvSciError_Success ||
        NvSciBufAttrListSetAttrs(l, kv, sizeof(kv) / sizeof(kv[0])) != NvSciError_Success)
        abort();
    return l;
}

static void new_object(void)
{
    NvSciBufAttrList in[2] = { own, peer_in };
    uint8_t *p;
    if (obj) NvSciBufObjFree(obj);
    if (NvSciBufAttrListReconcileAndObjAlloc(in, 2, &obj, NULL) != NvSciError_Success) abort();
    if (NvSciBufObjGetCpuPtr(obj, (void **)&p) != NvSciError_Success) abort();
    memcpy(p, "nvscibuf-fuzz", 14);
    exports = 0;
}

static void cleanup(void)
{
    if (obj) NvSciBufObjFree(obj);
    NvSciBufAttrListFreeDesc(unrec_desc);
    NvSciBufAttrListFreeDesc(rec_desc);
    NvSciBufAttrListFree(rec);
    NvSciBufAttrListFree(peer_in);
    NvSciBufAttrListFree(own);
    NvSciBufModuleClose(mod);
    NvSciIpcCloseEndpointSafe(ep_a, false);
    NvSciIpcCloseEndpointSafe(ep_b, false);
    NvSciIpcDeinit();
    unlink(cfg);
}

/* One INTER_THREAD channel in this process; a peer list imported over it so objects export to it. */
static void init_once(void)
{
    static int done;
    FILE *f;
    int fd;
    NvSciBufAttrList pl;
    if (done) return;
    done = 1;
    snprintf(cfg, sizeof(cfg), "/tmp/osci-fuzz-nvscibuf-XXXXXX");
    if ((fd = mkstemp(cfg)) < 0 || !(f = fdopen(fd, "w"))) abort();
    fprintf(f, "#CFGVER:1\nINTER_THREAD fznb_%d_a fznb_%d_b 4 256\n", (int)getpid(), (int)getpid());
    fclose(f);
    setenv("NVSCIIPC_CFG", cfg, 1);
    char a[64], b[64];
    snprintf(a, sizeof(a), "fznb_%d_a", (int)getpid());
    snprintf(b, sizeof(b), "fznb_%d_b", (int)getpid());
    if (NvSciIpcInit() != NvSciError_Success || NvSciIpcOpenEndpoint(a, &ep_a) != NvSciError_Success ||
        NvSciIpcOpenEndpoint(b, &ep_b) != NvSciError_Success || NvSciBufModuleOpen(&mod) != NvSciError_Success)
        abort();
    own = mk_list(8192, NvSciBufAccessPerm_ReadWrite);
    pl = mk_list(8192, NvSciBufAccessPerm_Readonly);
    if (NvSciBufAttrListIpcExportUnreconciled(&pl, 1, ep_b, &unrec_desc, &unrec_len) != NvSciError_Success ||
        NvSciBufAttrListIpcImportUnreconciled(mod, ep_a, unrec_desc, unrec_len, &peer_in) != NvSciError_Success)
        abort();
    NvSciBufAttrListFree(pl);
    new_object();
    if (NvSciBufObjGetAttrList(obj, &pl) != NvSciError_Success ||
        NvSciBufAttrListIpcExportReconciled(pl, ep_a, &rec_desc, &rec_len) != NvSciError_Success ||
        NvSciBufAttrListIpcImportReconciled(mod, ep_b, rec_desc, rec_len, NULL, 0, &rec) != NvSciError_Success)
        abort();
    atexit(cleanup);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    init_once();
    return 0;
}

/* Applies the patches to buf (len bytes); returns the length to parse. */
static size_t patch(uint8_t *buf, size_t len, const uint8_t *data, size_t size, int flags, int is_list)
{
    size_t last = len;
    for (size_t i = 2; i + 3 <= size; i += 3) {
        size_t off = (size_t)(data[i] | data[i + 1] << 8) % len;
        buf[off] ^= data[i + 2];
        last = off;
    }
    if (flags & 4) len = last;
    if (is_list && len >= 12 && (flags & 2)) {
        uint32_t l = (uint32_t)len;
        memcpy(buf + 8, &l, 4);
    }
    if ((flags & 1) && len >= 8) {
        uint32_t sum = nb_fnv1a(buf, len - 4);
        memcpy(buf + len - 4, &sum, 4);
    }
    return len;
}

static void try_list(const uint8_t *buf, size_t len, int recon)
{
    NvSciBufAttrList l, l2;
    NvSciError e;
    void *d;
    size_t n;
    if (recon) e = NvSciBufAttrListIpcImportReconciled(mod, ep_b, buf, len, NULL, 0, &l);
    else e = NvSciBufAttrListIpcImportUnreconciled(mod, ep_a, buf, len, &l);
    if (e == NvSciError_BadParameter) return;
    if (e != NvSciError_Success) abort();
    /* accepted: it exports and imports again, and reconciles or is refused cleanly */
    if (recon) {
        if (l->alloc_len < *(const uint64_t *)l->slots[0].v[NB_K_SIZE].p) abort();
        if (NvSciBufAttrListIpcExportReconciled(l, ep_b, &d, &n) != NvSciError_Success) abort();
        if (NvSciBufAttrListIpcImportReconciled(mod, ep_a, d, n, NULL, 0, &l2) != NvSciError_Success) abort();
    } else {
        NvSciBufAttrList in[2] = { own, l }, r = NULL, c = NULL;
        if (NvSciBufAttrListIpcExportUnreconciled(&l, 1, ep_a, &d, &n) != NvSciError_Success) abort();
        if (NvSciBufAttrListIpcImportUnreconciled(mod, ep_b, d, n, &l2) != NvSciError_Success) abort();
        e = NvSciBufAttrListReconcile(in, 2, &r, &c);
        if (e == NvSciError_Success) NvSciBufAttrListFree(r);
        else if (e != NvSciError_ReconciliationFailed && e != NvSciError_BadParameter && e != NvSciError_NotSupported)
            abort();
        if (c) NvSciBufAttrListFree(c);
    }
    NvSciBufAttrListFreeDesc(d);
    NvSciBufAttrListFree(l2);
    NvSciBufAttrListFree(l);
}

static void try_obj(const uint8_t *buf, size_t len)
{
    NvSciBufObjIpcExportDescriptor d;
    NvSciBufObj o;
    NvSciError e;
    const char *p;
    if (len != sizeof(d)) return;
    memcpy(&d, buf, sizeof(d));
    e = NvSciBufObjIpcImport(ep_b, &d, rec, NvSciBufAccessPerm_Readonly, 0, &o);
    if (e == NvSciError_BadParameter || e == NvSciError_NotPermitted || e == NvSciError_AlreadyDone ||
        e == NvSciError_AccessDenied || e == NvSciError_AttrListValidationFailed)
        return;
    if (e != NvSciError_Success) abort();
    if (NvSciBufObjGetConstCpuPtr(o, (const void **)&p) != NvSciError_Success || strcmp(p, "nvscibuf-fuzz")) abort();
    NvSciBufObjFree(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t buf[1 << 16];
    int mode, flags;
    size_t len;
    init_once();
    if (size < 2) return 0;
    mode = data[0] % 6;
    flags = data[1];
    switch (mode) {
    case 0:
    case 1: {
        const void *src = mode ? rec_desc : unrec_desc;
        size_t sl = mode ? rec_len : unrec_len;
        memcpy(buf, src, sl);
        len = patch(buf, sl, data, size, flags, 1);
        try_list(buf, len, mode);
        break;
    }
    case 2: {
        NvSciBufObjIpcExportDescriptor d;
        if (++exports > 100) new_object();   /* each unimported export holds one of 128 slots */
        if (NvSciBufObjIpcExport(obj, NvSciBufAccessPerm_Readonly, ep_a, &d) != NvSciError_Success) abort();
        memcpy(buf, &d, sizeof(d));
        len = patch(buf, sizeof(d), data, size, flags, 0);
        try_obj(buf, len);
        break;
    }
    case 3:
    case 4:
        try_list(data + 2, size - 2, mode == 4);
        break;
    default:
        try_obj(data + 2, size - 2);
        break;
    }
    return 0;
}
