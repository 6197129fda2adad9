/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* NvSciBuf between two forked processes over NvSciIpc, INTER_PROCESS and INTER_CHIP (node 1 and node 2 of a
 * private simntb fabric): attribute lists exported and imported, the object allocated by one side and
 * imported by the other with the permission granted (data checked both ways; a read-only import faults on a
 * store), a descriptor imports once, a tampered one is refused; late attach: the allocation made before the
 * peer exists (proxy list with PeerLocationInfo), the peer's lists refused when they do not fit and accepted
 * when they do, export refused before NvSciBufObjAttachPeer and working after. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "../ipc/ipc_util.h"
#include "nvscibuf.h"
#include "nvscibuf_internal.h"

#define WAIT_US 10000000
#define T_MS 30000
#define SIZE 5000u

struct role {
    int chip;                    /* INTER_CHIP between node 1 (allocator) and node 2 */
    int late;                    /* late attach */
    NvSciBufAttrValAccessPerm perm;   /* what the peer asks */
};

static char ep_a[NVSCIIPC_MAX_ENDPOINT_NAME], ep_b[NVSCIIPC_MAX_ENDPOINT_NAME];
static char cfg_path[128];
static int test_no;

/* ---- NvSciIpc messages: a frame with the length, then the bytes in frames ---- */
static int wait_ev(NvSciIpcEndpoint h, uint32_t want)
{
    for (;;) {
        uint32_t ev;
        int32_t fd;
        fd_set r;
        struct timeval tv = { WAIT_US / 1000000, 0 };
        if (NvSciIpcGetEventSafe(h, &ev) != NvSciError_Success) return -1;
        if (ev & want) return 0;
        if (NvSciIpcGetLinuxEventFd(h, &fd) != NvSciError_Success) return -1;
        FD_ZERO(&r);
        FD_SET(fd, &r);
        if (select(fd + 1, &r, NULL, NULL, &tv) <= 0) return -1;
    }
}

static int put_frame(NvSciIpcEndpoint h, const void *p, uint32_t n)
{
    for (;;) {
        uint32_t b;
        NvSciError e = NvSciIpcWriteSafe(h, p, n, &b);
        if (e == NvSciError_Success) return 0;
        if (e != NvSciError_InsufficientMemory || wait_ev(h, NV_SCI_IPC_EVENT_WRITE)) return -1;
    }
}

static int get_frame(NvSciIpcEndpoint h, void *p, uint32_t n)
{
    for (;;) {
        uint32_t b;
        NvSciError e = NvSciIpcReadSafe(h, p, n, &b);
        if (e == NvSciError_Success) return 0;
        if (e != NvSciError_InsufficientMemory || wait_ev(h, NV_SCI_IPC_EVENT_READ)) return -1;
    }
}

static int msg_send(NvSciIpcEndpoint h, const void *p, size_t len)
{
    NvSciIpcEndpointInfo info;
    uint32_t l = (uint32_t)len;
    if (NvSciIpcGetEndpointInfo(h, &info) != NvSciError_Success || put_frame(h, &l, 4)) return -1;
    for (size_t at = 0; at < len; at += info.frame_size) {
        uint32_t n = len - at < info.frame_size ? (uint32_t)(len - at) : info.frame_size;
        if (put_frame(h, (const uint8_t *)p + at, n)) return -1;
    }
    return 0;
}

/* A malloc'd message in *p. */
static int msg_recv(NvSciIpcEndpoint h, void **p, size_t *len)
{
    NvSciIpcEndpointInfo info;
    uint32_t l;
    uint8_t *b, *frame;
    if (NvSciIpcGetEndpointInfo(h, &info) != NvSciError_Success || get_frame(h, &l, 4) || l > (1u << 20)) return -1;
    b = malloc(l ? l : 1);
    frame = malloc(info.frame_size);
    for (size_t at = 0; at < l; at += info.frame_size) {
        uint32_t n = l - at < info.frame_size ? (uint32_t)(l - at) : info.frame_size;
        if (get_frame(h, frame, info.frame_size)) { free(b); free(frame); return -1; }
        memcpy(b + at, frame, n);
    }
    free(frame);
    *p = b;
    *len = l;
    return 0;
}

static int send_u32(NvSciIpcEndpoint h, uint32_t v)
{
    return msg_send(h, &v, 4);
}

static int recv_u32(NvSciIpcEndpoint h, uint32_t *v)
{
    void *p;
    size_t l;
    if (msg_recv(h, &p, &l) || l != 4) return -1;
    memcpy(v, p, 4);
    free(p);
    return 0;
}

static int open_ep(const char *name, NvSciIpcEndpoint *h)
{
    if (NvSciIpcInit() != NvSciError_Success || NvSciIpcOpenEndpoint(name, h) != NvSciError_Success) return -1;
    if (NvSciIpcResetEndpointSafe(*h) != NvSciError_Success) return -1;
    return wait_ev(*h, NV_SCI_IPC_EVENT_CONN_EST);
}

static void close_ep(NvSciIpcEndpoint h)
{
    NvSciIpcCloseEndpointSafe(h, false);
    NvSciIpcDeinit();
}

/* ---- attribute lists ---- */
static NvSciBufAttrList list_of(NvSciBufModule m, uint64_t size, uint64_t align, NvSciBufAttrValAccessPerm perm,
                                const NvSciBufPeerLocationInfo *loc)
{
    NvSciBufAttrList l;
    NvSciBufType t = NvSciBufType_RawBuffer;
    bool cpu = true;
    NvSciBufAttrKeyValuePair kv[5] = {
        { NvSciBufGeneralAttrKey_Types, &t, sizeof(t) },
        { NvSciBufRawBufferAttrKey_Size, &size, sizeof(size) },
        { NvSciBufGeneralAttrKey_NeedCpuAccess, &cpu, sizeof(cpu) },
        { NvSciBufGeneralAttrKey_RequiredPerm, &perm, sizeof(perm) },
        { NvSciBufRawBufferAttrKey_Align, &align, sizeof(align) },
    };
    if (NvSciBufAttrListCreate(m, &l) != NvSciError_Success) return NULL;
    if (loc) {
        /* a proxy for late peers: where they are, nothing else */
        NvSciBufAttrKeyValuePair p[2] = { kv[0], { NvSciBufGeneralAttrKey_PeerLocationInfo, loc, sizeof(*loc) } };
        if (NvSciBufAttrListSetAttrs(l, p, 2) != NvSciError_Success) return NULL;
        return l;
    }
    if (NvSciBufAttrListSetAttrs(l, kv, align ? 5 : 4) != NvSciError_Success) return NULL;
    return l;
}

static int send_list(NvSciIpcEndpoint h, NvSciBufAttrList l)
{
    void *d;
    size_t n;
    int rc;
    if (NvSciBufAttrListIpcExportUnreconciled(&l, 1, h, &d, &n) != NvSciError_Success) return -1;
    rc = msg_send(h, d, n);
    NvSciBufAttrListFreeDesc(d);
    return rc;
}

static NvSciBufAttrList recv_list(NvSciBufModule m, NvSciIpcEndpoint h)
{
    void *d;
    size_t n;
    NvSciBufAttrList l = NULL;
    if (msg_recv(h, &d, &n)) return NULL;
    if (NvSciBufAttrListIpcImportUnreconciled(m, h, d, n, &l) != NvSciError_Success) l = NULL;
    free(d);
    return l;
}

static uint8_t pat(size_t i, uint8_t seed)
{
    return (uint8_t)(i * 131 + seed);
}

/* ---- the allocator (node 1) ---- */
static int allocator(int rd, int wr, void *arg)
{
    const struct role *ro = arg;
    NvSciIpcEndpoint h;
    NvSciBufModule m;
    NvSciBufAttrList own, peer, rec, in[2], conf;
    NvSciBufObj obj, other = NULL;
    NvSciBufObjIpcExportDescriptor od;
    uint8_t *p;
    void *d;
    size_t n;
    uint32_t res;
    (void)rd; (void)wr;
    if (ro->chip) CHECK(tnode_ipc_cfg(cfg_dir, 1, "#CFGVER:1\nINTER_CHIP %s 0000 36000 peer=2 nframes=16 frame_size=4096\n", ep_a) == 0);
    CHECK(open_ep(ep_a, &h) == 0);
    CHECK(NvSciBufModuleOpen(&m) == NvSciError_Success);
    CHECK((own = list_of(m, SIZE, 0, NvSciBufAccessPerm_ReadWrite, NULL)));
    if (ro->late) {
        NvSciBufPeerLocationInfo loc = { ro->chip ? 2 : NV_SCI_BUF_PEER_INFO_SELF_SOCID, NV_SCI_BUF_PEER_INFO_SELF_VMID, 0 };
        CHECK((in[1] = list_of(m, 0, 0, 0, &loc)));
        in[0] = own;
        CHECK(NvSciBufAttrListReconcileAndObjAlloc(in, 2, &obj, &conf) == NvSciError_Success);
        CHECK(nb_obj_alloc_len(obj) == NB_LATE_GRANULE);      /* padded: the engines are not known */
        NvSciBufAttrListFree(in[1]);
        if (ro->chip) {
            /* the same without the proxy: placed in this host's memory */
            CHECK(NvSciBufAttrListReconcileAndObjAlloc(&own, 1, &other, &conf) == NvSciError_Success);
        }
        CHECK(NvSciBufObjGetCpuPtr(obj, (void **)&p) == NvSciError_Success);
        for (size_t i = 0; i < SIZE; i++) p[i] = pat(i, 1);
        CHECK(send_u32(h, 1) == 0);                         /* allocated: the late peer may come */
        /* a peer that does not fit (alignment above what was allocated) */
        CHECK((peer = recv_list(m, h)));
        CHECK(NvSciBufObjAttachPeer(obj, &peer, 1) == NvSciError_ReconciliationFailed);
        CHECK(NvSciBufObjIpcExport(obj, NvSciBufAccessPerm_Auto, h, &od) == NvSciError_NotPermitted);
        NvSciBufAttrListFree(peer);
        CHECK((peer = recv_list(m, h)));
        if (other) CHECK(NvSciBufObjAttachPeer(other, &peer, 1) == NvSciError_ReconciliationFailed);
        CHECK(NvSciBufObjAttachPeer(obj, &peer, 1) == NvSciError_Success);
        CHECK(NvSciBufObjGetAttrList(obj, &rec) == NvSciError_Success);
        CHECK(NvSciBufAttrListIpcExportReconciled(rec, h, &d, &n) == NvSciError_Success);
    } else {
        CHECK((peer = recv_list(m, h)));
        in[0] = own;
        in[1] = peer;
        CHECK(NvSciBufAttrListReconcile(in, 2, &rec, &conf) == NvSciError_Success);
        CHECK(NvSciBufObjAlloc(rec, &obj) == NvSciError_Success);
        CHECK(NvSciBufObjGetCpuPtr(obj, (void **)&p) == NvSciError_Success);
        for (size_t i = 0; i < SIZE; i++) p[i] = pat(i, 1);
        CHECK(NvSciBufAttrListIpcExportReconciled(rec, h, &d, &n) == NvSciError_Success);
        NvSciBufAttrListFree(rec);
    }
    CHECK(msg_send(h, d, n) == 0);
    NvSciBufAttrListFreeDesc(d);
    {   /* an INTER_CHIP peer gets a segment, a local one shared memory */
        NvSciBufAttrList ol;
        CHECK(NvSciBufObjGetAttrList(obj, &ol) == NvSciError_Success);
        CHECK(ol->place == (ro->chip ? NB_PLACE_SEG : NB_PLACE_SHM));
    }
    {
        NvSciBufAttrValAccessPerm mp;
        CHECK(NvSciBufObjGetMaxPerm(obj, h, &mp) == NvSciError_Success && mp == ro->perm);
        CHECK(NvSciBufObjGetMaxPerm(obj, h + 1, &mp) == NvSciError_NotPermitted);
    }
    /* more than the peer's handle allows: refused; Auto: what the peer asked */
    if (ro->perm == NvSciBufAccessPerm_ReadWrite)
        CHECK(NvSciBufObjIpcExport(obj, NvSciBufAccessPerm_Readonly, h, &od) == NvSciError_InvalidOperation);
    CHECK(NvSciBufObjIpcExport(obj, NvSciBufAccessPerm_Auto, h, &od) == NvSciError_Success);
    CHECK(msg_send(h, &od, sizeof(od)) == 0);
    CHECK(recv_u32(h, &res) == 0);
    CHECK(res == 0);
    for (size_t i = 0; i < SIZE; i++)
        CHECK(p[i] == pat(i, ro->perm == NvSciBufAccessPerm_ReadWrite ? 2 : 1));
    if (!ro->late) {
        /* the list and the object in one descriptor */
        CHECK(NvSciBufIpcExportAttrListAndObj(obj, NvSciBufAccessPerm_Auto, h, &d, &n) == NvSciError_Success);
        CHECK(msg_send(h, d, n) == 0);
        NvSciBufAttrListAndObjFreeDesc(d);
    }
    CHECK(send_u32(h, 0) == 0);                             /* done: the peer frees first */
    CHECK(recv_u32(h, &res) == 0);
    NvSciBufObjFree(obj);
    if (other) NvSciBufObjFree(other);
    NvSciBufAttrListFree(peer);
    NvSciBufAttrListFree(own);
    NvSciBufModuleClose(m);
    close_ep(h);
    return 0;
}

/* 1 when a store through p kills a child with SIGSEGV or SIGBUS. */
static int store_faults(const uint8_t *p)
{
    int st;
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGSEGV, SIG_DFL);
        signal(SIGBUS, SIG_DFL);
        *(volatile uint8_t *)p = 7;
        _exit(0);
    }
    if (pid < 0 || waitpid(pid, &st, 0) != pid) return 0;
    return WIFSIGNALED(st) && (WTERMSIG(st) == SIGSEGV || WTERMSIG(st) == SIGBUS);
}

/* ---- the peer (node 2) ---- */
static int peer(int rd, int wr, void *arg)
{
    const struct role *ro = arg;
    NvSciIpcEndpoint h;
    NvSciBufModule m;
    NvSciBufAttrList own, rec;
    NvSciBufObj obj, again;
    NvSciBufObjIpcExportDescriptor od, bad;
    const uint8_t *cp;
    void *d;
    size_t n;
    uint32_t v;
    (void)rd; (void)wr;
    if (ro->chip) CHECK(tnode_ipc_cfg(cfg_dir, 2, "#CFGVER:1\nINTER_CHIP %s 0000 36000 peer=1 nframes=16 frame_size=4096\n", ep_a) == 0);
    CHECK(open_ep(ro->chip ? ep_a : ep_b, &h) == 0);
    CHECK(NvSciBufModuleOpen(&m) == NvSciError_Success);
    CHECK((own = list_of(m, SIZE, 0, ro->perm, NULL)));
    if (ro->late) {
        NvSciBufAttrList big;
        CHECK(recv_u32(h, &v) == 0);
        CHECK((big = list_of(m, SIZE, 2 * NB_LATE_GRANULE, ro->perm, NULL)));
        CHECK(send_list(h, big) == 0);
        NvSciBufAttrListFree(big);
    }
    CHECK(send_list(h, own) == 0);
    CHECK(msg_recv(h, &d, &n) == 0);
    {   /* a reconciled list that does not satisfy the lists given is refused */
        NvSciBufAttrList odd = list_of(m, 2 * SIZE, 0, ro->perm, NULL);
        CHECK(odd && NvSciBufAttrListIpcImportReconciled(m, h, d, n, &odd, 1, &rec) == NvSciError_AttrListValidationFailed);
        NvSciBufAttrListFree(odd);
    }
    CHECK(NvSciBufAttrListIpcImportReconciled(m, h, d, n, &own, 1, &rec) == NvSciError_Success);
    free(d);
    CHECK(msg_recv(h, &d, &n) == 0 && n == sizeof(od));
    memcpy(&od, d, sizeof(od));
    free(d);
    /* a tampered descriptor is refused and does not use up the real one */
    bad = od;
    ((uint8_t *)&bad)[40] ^= 1;
    CHECK(NvSciBufObjIpcImport(h, &bad, rec, NvSciBufAccessPerm_Readonly, 1000000, &obj) == NvSciError_BadParameter);
    if (ro->perm == NvSciBufAccessPerm_Readonly)
        CHECK(NvSciBufObjIpcImport(h, &od, rec, NvSciBufAccessPerm_ReadWrite, 1000000, &obj) == NvSciError_AccessDenied);
    CHECK(NvSciBufObjIpcImport(h, &od, rec, ro->perm, 1000000, &obj) == NvSciError_Success);
    CHECK(NvSciBufObjIpcImport(h, &od, rec, ro->perm, 1000000, &again) == NvSciError_AlreadyDone);
    CHECK(NvSciBufObjGetConstCpuPtr(obj, (const void **)&cp) == NvSciError_Success);
    for (size_t i = 0; i < SIZE; i++) CHECK(cp[i] == pat(i, 1));
    if (ro->perm == NvSciBufAccessPerm_ReadWrite) {
        uint8_t *p;
        CHECK(NvSciBufObjGetCpuPtr(obj, (void **)&p) == NvSciError_Success);
        for (size_t i = 0; i < SIZE; i++) p[i] = pat(i, 2);
        CHECK(NvSciBufObjFlushCpuCacheRange(obj, 0, SIZE) == NvSciError_Success);
        {   /* a read-only duplicate of the import has a read-only view of the same memory */
            NvSciBufObj rdup;
            const uint8_t *rp;
            CHECK(NvSciBufObjDupWithReducePerm(obj, NvSciBufAccessPerm_Readonly, &rdup) == NvSciError_Success);
            CHECK(NvSciBufObjGetConstCpuPtr(rdup, (const void **)&rp) == NvSciError_Success);
            CHECK(rp != (const uint8_t *)p && rp[SIZE - 1] == pat(SIZE - 1, 2));
            CHECK(store_faults(rp));
            NvSciBufObjFree(rdup);
        }
    } else {
        void *p;
        CHECK(NvSciBufObjGetCpuPtr(obj, &p) == NvSciError_BadParameter);
        CHECK(store_faults(cp));
        CHECK(cp[0] == pat(0, 1));
    }
    CHECK(send_u32(h, 0) == 0);
    if (!ro->late) {
        NvSciBufObj both;
        const uint8_t *bp;
        CHECK(msg_recv(h, &d, &n) == 0);
        CHECK(NvSciBufIpcImportAttrListAndObj(m, h, d, n, &own, 1, ro->perm, 1000000, &both) == NvSciError_Success);
        CHECK(NvSciBufIpcImportAttrListAndObj(m, h, d, n, &own, 1, ro->perm, 1000000, &again) == NvSciError_AlreadyDone);
        free(d);
        CHECK(NvSciBufObjGetConstCpuPtr(both, (const void **)&bp) == NvSciError_Success);
        CHECK(bp[SIZE - 1] == cp[SIZE - 1] && bp[0] == cp[0]);
        NvSciBufObjFree(both);
    }
    CHECK(recv_u32(h, &v) == 0);
    NvSciBufObjFree(obj);
    NvSciBufAttrListFree(rec);
    NvSciBufAttrListFree(own);
    NvSciBufModuleClose(m);
    CHECK(send_u32(h, 0) == 0);
    close_ep(h);
    return 0;
}

static void run(int chip, int late, NvSciBufAttrValAccessPerm perm)
{
    struct role r = { chip, late, perm };
    struct tproc a, b;
    test_no++;
    snprintf(ep_a, sizeof(ep_a), "nb%d_%d_a", (int)getpid(), test_no);
    snprintf(ep_b, sizeof(ep_b), "nb%d_%d_b", (int)getpid(), test_no);
    if (!chip) {
        FILE *f;
        snprintf(cfg_path, sizeof(cfg_path), "%s/proc.cfg", cfg_dir);
        f = fopen(cfg_path, "w");
        assert_non_null(f);
        fprintf(f, "#CFGVER:1\nINTER_PROCESS %s %s 16 4096\n", ep_a, ep_b);
        fclose(f);
        setenv("NVSCIIPC_CFG", cfg_path, 1);
    }
    assert_int_equal(tproc_start(&a, allocator, &r), 0);
    assert_int_equal(tproc_start(&b, peer, &r), 0);
    assert_int_equal(tproc_wait(&b, T_MS), 0);
    assert_int_equal(tproc_wait(&a, T_MS), 0);
}

static void test_process_rw(void **state) { (void)state; run(0, 0, NvSciBufAccessPerm_ReadWrite); }
static void test_process_ro(void **state) { (void)state; run(0, 0, NvSciBufAccessPerm_Readonly); }
static void test_process_late(void **state) { (void)state; run(0, 1, NvSciBufAccessPerm_ReadWrite); }
static void test_chip_rw(void **state) { (void)state; run(1, 0, NvSciBufAccessPerm_ReadWrite); }
static void test_chip_ro(void **state) { (void)state; run(1, 0, NvSciBufAccessPerm_Readonly); }
static void test_chip_late(void **state) { (void)state; run(1, 1, NvSciBufAccessPerm_ReadWrite); }

/* Endpoint-level errors in one process: a closed endpoint, bad descriptors. */
static void test_bad_endpoint_desc(void **state)
{
    NvSciBufModule m;
    NvSciBufAttrList l, r;
    NvSciBufObjIpcExportDescriptor od;
    NvSciBufObj o;
    void *d;
    size_t n;
    uint8_t junk[64];
    (void)state;
    assert_int_equal(NvSciBufModuleOpen(&m), NvSciError_Success);
    l = list_of(m, 4096, 0, NvSciBufAccessPerm_ReadWrite, NULL);
    assert_non_null(l);
    assert_int_equal(NvSciBufAttrListIpcExportUnreconciled(&l, 1, 12345, &d, &n), NvSciError_BadParameter);
    memset(junk, 0, sizeof(junk));
    assert_int_equal(NvSciBufAttrListIpcImportUnreconciled(m, 12345, junk, sizeof(junk), &r), NvSciError_BadParameter);
    assert_int_equal(NvSciBufAttrListReconcile(&l, 1, &r, NULL), NvSciError_Success);
    memset(&od, 0, sizeof(od));
    assert_int_equal(NvSciBufObjIpcImport(12345, &od, r, NvSciBufAccessPerm_Readonly, 0, &o), NvSciError_BadParameter);
    NvSciBufAttrListFree(r);
    NvSciBufAttrListFree(l);
    NvSciBufModuleClose(m);
}

OSCI_TEST_MAIN("nvscibuf", ipc_dir_setup, ipc_dir_teardown,
               cmocka_unit_test_teardown(test_process_rw, tproc_teardown),
               cmocka_unit_test_teardown(test_process_ro, tproc_teardown),
               cmocka_unit_test_teardown(test_process_late, tproc_teardown),
               cmocka_unit_test_teardown(test_chip_rw, tproc_teardown),
               cmocka_unit_test_teardown(test_chip_ro, tproc_teardown),
               cmocka_unit_test_teardown(test_chip_late, tproc_teardown),
               cmocka_unit_test(test_bad_endpoint_desc))
