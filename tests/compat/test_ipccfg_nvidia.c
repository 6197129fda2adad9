/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* NVIDIA's shipped DRIVE OS 6.0.8.1 x86 nvsciipc.cfg, unchanged (tests/ipc/nvidia_x86_6081.cfg), on simntb:
 * each node's opensci.conf maps the file's INTER_CHIP device numbers to a peer node ("interchip" lines), and
 * forked processes, one per node, follow NVIDIA's documented flow (event service: CreateSafe, Init,
 * OpenEndpointWithEventService, GetEventNotifier, GetEndpointInfo, ResetEndpointSafe, GetEventSafe +
 * WaitForEvent until CONN_EST, I/O, Delete, Close, Deinit; or select() on the Linux event fd) in both start
 * orders, counting every frame. Also: an unmapped device is NoSuchDevice, the gid column admits only its
 * members. The parent never initialises a library: it only forks, steers over pipes and reaps. */
#include <errno.h>
#include <grp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "../ipc/ipc_frame.h"
#include "../ipc/ipc_util.h"

#define NV_CFG "tests/ipc/nvidia_x86_6081.cfg"
#define EP_C2C "nvscic2c_pcie_s0_c5_1"     /* device 0000, gid 36000 */
#define EP_EGL "egl_nvscic2c_5_prod"       /* device 0105, gid 36022 */
#define WAIT_US 5000000
#define T_MS 15000
#define ROUNDS 100                         /* runs per start order */
#define NFRAMES 100                        /* frames per run: more than the 16-frame FIFO holds */

enum { MSG_OPEN = 1, MSG_DONE };

/* Each node's opensci.conf: node 1 reaches node 2 through device 0000 and node 3 through device 0105. */
static const char *const node_conf[4] = {
    NULL,
    "node_id = 1\nadapter 0 simntb\n"
    "interchip 0000 adapter=0 peer=2 nframes=16 frame_size=256\n"
    "interchip 0105 peer=3\n",
    "node_id = 2\nadapter 0 simntb\ninterchip 0000 peer=1 nframes=16 frame_size=256\n",
    "node_id = 3\nadapter 0 simntb\ninterchip 0105 adapter=0 peer=1\n",
};

/* In the child, before any library call: the node's opensci.conf, NVIDIA's nvsciipc.cfg. */
static int child_env(unsigned node)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/node%u.conf", cfg_dir, node);
    unsetenv("OSCI_NODE_ID");
    setenv("OSCI_CONF", path, 1);
    setenv("NVSCIIPC_CFG", NV_CFG, 1);
    return 0;
}

/* ---- NVIDIA's flow ---- */
struct ep {
    struct ipc_waiter w;          /* svc NULL: select() on the Linux event fd */
    NvSciIpcEndpointInfo info;
};

static int ep_open(struct ep *e, const char *name, NvSciEventLoopService *svc)
{
    memset(e, 0, sizeof(*e));
    e->w.svc = svc;
    if (svc) {
        if (NvSciIpcOpenEndpointWithEventService(name, &e->w.h, &svc->EventService) != NvSciError_Success) return -1;
        if (NvSciIpcGetEventNotifier(e->w.h, &e->w.note) != NvSciError_Success) return -1;
    } else if (NvSciIpcOpenEndpoint(name, &e->w.h) != NvSciError_Success ||
               NvSciIpcGetLinuxEventFd(e->w.h, &e->w.fd) != NvSciError_Success) {
        return -1;
    }
    if (NvSciIpcGetEndpointInfo(e->w.h, &e->info) != NvSciError_Success) return -1;
    return NvSciIpcResetEndpointSafe(e->w.h) == NvSciError_Success ? 0 : -1;
}

/* The samples' step: 1 when GetEventSafe reports one of want, else 0 after a wake-up; -1 on an error or
 * when the wait timed out. */
static int ep_ready(struct ep *e, uint32_t want)
{
    uint32_t ev;
    if (NvSciIpcGetEventSafe(e->w.h, &ev) != NvSciError_Success) return -1;
    if (ev & want) return 1;
    return ipc_wait(&e->w, WAIT_US) == 1 ? 0 : -1;
}

static int ep_establish(struct ep *e)
{
    int rc;
    while ((rc = ep_ready(e, NV_SCI_IPC_EVENT_CONN_EST_ALL)) == 0) continue;
    return rc > 0 ? 0 : -1;
}

/* The samples' loops: write (or read) while GetEventSafe reports WRITE (READ), else wait; n frames, every
 * frame whole, read in order and intact (a frame just written checks true). */
static int ep_xfer_n(struct ep *e, uint64_t n, int writer)
{
    uint64_t seq = 0;
    while (seq < n) {
        uint32_t bytes;
        uint64_t buf[8];
        NvSciError err;
        int rc = ep_ready(e, writer ? NV_SCI_IPC_EVENT_WRITE : NV_SCI_IPC_EVENT_READ);
        if (rc <= 0) {
            if (rc < 0) return -1;
            continue;
        }
        fill(buf, seq);
        err = writer ? NvSciIpcWriteSafe(e->w.h, buf, sizeof(buf), &bytes)
                     : NvSciIpcReadSafe(e->w.h, buf, sizeof(buf), &bytes);
        if (err == NvSciError_InsufficientMemory) continue;
        if (err != NvSciError_Success || bytes != sizeof(buf) || !check(buf, seq)) {
            fprintf(stderr, "child %d: frame %llu lost or corrupt (err %#x)\n", (int)getpid(),
                    (unsigned long long)seq, (unsigned)err);
            return -1;
        }
        seq++;
    }
    return 0;
}

static void ep_close(struct ep *e)
{
    if (e->w.note) e->w.note->Delete(e->w.note);
    NvSciIpcCloseEndpointSafe(e->w.h, false);
}

/* NVIDIA's file gives the endpoints gids 36000 and 36022, which are enforced: the runner must be root or a
 * member of both to open them. */
static int may_open(void)
{
    gid_t g[256];
    int n = getgroups(256, g), have = 0;
    if (geteuid() == 0) return 1;
    for (int i = 0; i < n; i++) have |= (g[i] == 36000) | (g[i] == 36022) << 1;
    return have == 3;
}

/* ---- one channel over device 0000: writer on node 1 (event service), reader on node 2 (select) ---- */
struct role {
    unsigned node;
    int writer;
};

static int pair_main(int rd, int wr, void *arg)
{
    const struct role *r = arg;
    NvSciEventLoopService *svc = NULL;
    struct ep e;
    uint32_t m;
    CHECK(child_env(r->node) == 0);
    if (r->writer) CHECK(NvSciEventLoopServiceCreateSafe(1, NULL, &svc) == NvSciError_Success);
    CHECK(NvSciIpcInit() == NvSciError_Success);
    CHECK(ep_open(&e, EP_C2C, svc) == 0);
    CHECK(e.info.nframes == 16 && e.info.frame_size == 256);   /* the geometry of the interchip line */
    CHECK(tproc_send_u32(wr, MSG_OPEN) == 0);
    CHECK(ep_establish(&e) == 0);
    CHECK(ep_xfer_n(&e, NFRAMES, r->writer) == 0);
    CHECK(tproc_send_u32(wr, MSG_DONE) == 0);
    CHECK(tproc_recv_u32(rd, &m, T_MS) == 0);   /* both are done: no close while the other still reads */
    ep_close(&e);
    NvSciIpcDeinit();
    if (svc) svc->EventService.Delete(&svc->EventService);
    return 0;
}

static void run_pair(int writer_first)
{
    struct role wr = { 1, 1 }, rd = { 2, 0 };
    struct tproc first, second;
    assert_int_equal(tproc_start(&first, pair_main, writer_first ? &wr : &rd), 0);
    IPC_EXPECT(first.rd, MSG_OPEN, T_MS);
    assert_int_equal(tproc_start(&second, pair_main, writer_first ? &rd : &wr), 0);
    IPC_EXPECT(second.rd, MSG_OPEN, T_MS);
    ipc_end_pair(&first, &second, MSG_DONE, MSG_DONE, T_MS);
}

static void test_pair_writer_first(void **state)
{
    (void)state;
    if (!may_open()) skip();
    for (int i = 0; i < ROUNDS; i++) run_pair(1);
}

static void test_pair_reader_first(void **state)
{
    (void)state;
    if (!may_open()) skip();
    for (int i = 0; i < ROUNDS; i++) run_pair(0);
}

/* ---- two devices, two peer nodes: node 1 writes to node 2 over 0000 and to node 3 over 0105 at once ---- */
static int hub_main(int rd, int wr, void *arg)
{
    NvSciEventLoopService *svc;
    struct ep c2c, egl;
    uint32_t m;
    (void)arg;
    CHECK(child_env(1) == 0);
    CHECK(NvSciEventLoopServiceCreateSafe(1, NULL, &svc) == NvSciError_Success);
    CHECK(NvSciIpcInit() == NvSciError_Success);
    CHECK(ep_open(&c2c, EP_C2C, svc) == 0);
    CHECK(ep_open(&egl, EP_EGL, NULL) == 0);
    CHECK(egl.info.nframes == 64 && egl.info.frame_size == 1536);   /* 0105 gives no geometry: defaults */
    CHECK(tproc_send_u32(wr, MSG_OPEN) == 0);
    CHECK(ep_establish(&c2c) == 0);
    CHECK(ep_establish(&egl) == 0);
    CHECK(ep_xfer_n(&c2c, NFRAMES, 1) == 0);
    CHECK(ep_xfer_n(&egl, NFRAMES, 1) == 0);
    CHECK(tproc_send_u32(wr, MSG_DONE) == 0);
    CHECK(tproc_recv_u32(rd, &m, T_MS) == 0);
    ep_close(&egl);
    ep_close(&c2c);
    NvSciIpcDeinit();
    svc->EventService.Delete(&svc->EventService);
    return 0;
}

static int leaf_main(int rd, int wr, void *arg)
{
    unsigned node = (unsigned)(uintptr_t)arg;
    struct ep e;
    uint32_t m;
    CHECK(child_env(node) == 0);
    CHECK(NvSciIpcInit() == NvSciError_Success);
    CHECK(ep_open(&e, node == 2 ? EP_C2C : EP_EGL, NULL) == 0);
    CHECK(tproc_send_u32(wr, MSG_OPEN) == 0);
    CHECK(ep_establish(&e) == 0);
    CHECK(ep_xfer_n(&e, NFRAMES, 0) == 0);
    CHECK(tproc_send_u32(wr, MSG_DONE) == 0);
    CHECK(tproc_recv_u32(rd, &m, T_MS) == 0);
    ep_close(&e);
    NvSciIpcDeinit();
    return 0;
}

static void run_star(int hub_first)
{
    struct tproc p[3];   /* hub, node 2, node 3 */
    int i, order[3] = { 0, 1, 2 };
    if (!hub_first) order[0] = 1, order[1] = 2, order[2] = 0;
    for (i = 0; i < 3; i++) {
        int k = order[i];
        assert_int_equal(tproc_start(&p[k], k == 0 ? hub_main : leaf_main, (void *)(uintptr_t)(k + 1)), 0);
        IPC_EXPECT(p[k].rd, MSG_OPEN, T_MS);
    }
    for (i = 0; i < 3; i++) {
        IPC_EXPECT(p[i].rd, MSG_DONE, T_MS);
    }
    for (i = 0; i < 3; i++) assert_int_equal(tproc_send_u32(p[i].wr, MSG_DONE), 0);
    for (i = 0; i < 3; i++) assert_int_equal(tproc_wait(&p[i], T_MS), 0);
}

static void test_two_devices_two_nodes(void **state)
{
    (void)state;
    if (!may_open()) skip();
    for (int i = 0; i < ROUNDS / 2; i++) {
        run_star(1);
        run_star(0);
    }
}

/* ---- unmapped devices and the gid column ---- */
static int unmapped_main(int rd, int wr, void *arg)
{
    NvSciIpcEndpoint h;
    (void)rd;
    (void)wr;
    (void)arg;
    CHECK(child_env(2) == 0);   /* node 2 maps only 0000 */
    CHECK(NvSciIpcInit() == NvSciError_Success);
    CHECK(NvSciIpcOpenEndpoint(EP_EGL, &h) == NvSciError_NoSuchDevice);
    CHECK(NvSciIpcOpenEndpoint("egl_nvscic2c_5_cons", &h) == NvSciError_NoSuchDevice);
    CHECK(NvSciIpcOpenEndpoint("egl_nvscic2c_9_cons", &h) == NvSciError_NoSuchDevice);
    NvSciIpcDeinit();
    return 0;
}

static void test_unmapped(void **state)
{
    (void)state;
    IPC_RUN_CHILD(unmapped_main, NULL, T_MS);
}

/* As user nobody: without group 36000 the mapped endpoint is NotPermitted; with it, it opens. */
static int gid_main(int rd, int wr, void *arg)
{
    int member = (int)(uintptr_t)arg;
    gid_t g = 36000;
    char fabric[96];
    NvSciIpcEndpoint h;
    (void)rd;
    (void)wr;
    CHECK(child_env(1) == 0);
    /* a fabric of its own: the others' files belong to root */
    snprintf(fabric, sizeof(fabric), "%s-gid%d", getenv("OSCI_FABRIC"), member);
    setenv("OSCI_FABRIC", fabric, 1);
    CHECK(setgroups(member ? 1 : 0, &g) == 0);
    CHECK(setgid(65534) == 0 && setuid(65534) == 0);
    CHECK(NvSciIpcInit() == NvSciError_Success);
    if (member) {
        CHECK(NvSciIpcOpenEndpoint(EP_C2C, &h) == NvSciError_Success);
        CHECK(NvSciIpcCloseEndpointSafe(h, false) == NvSciError_Success);
    } else {
        CHECK(NvSciIpcOpenEndpoint(EP_C2C, &h) == NvSciError_NotPermitted);
    }
    NvSciIpcDeinit();
    return 0;
}

static void test_gid(void **state)
{
    (void)state;
    if (geteuid() != 0) skip();   /* needs to become another user */
    IPC_RUN_CHILD(gid_main, (void *)0, T_MS);
    IPC_RUN_CHILD(gid_main, (void *)1, T_MS);
}

static int setup_group(void **state)
{
    if (access(NV_CFG, R_OK) != 0) return -1;
    if (ipc_dir_setup(state) || chmod(cfg_dir, 0755) != 0) return -1;
    for (unsigned n = 1; n <= 3; n++) {
        char path[128];
        FILE *f;
        snprintf(path, sizeof(path), "%s/node%u.conf", cfg_dir, n);
        if (!(f = fopen(path, "w"))) return -1;
        fputs(node_conf[n], f);
        fclose(f);
        if (chmod(path, 0644) != 0) return -1;
    }
    return 0;
}

OSCI_TEST_MAIN("ipccfg", setup_group, ipc_dir_teardown,
               cmocka_unit_test_teardown(test_unmapped, tproc_teardown),
               cmocka_unit_test_teardown(test_pair_writer_first, tproc_teardown),
               cmocka_unit_test_teardown(test_pair_reader_first, tproc_teardown),
               cmocka_unit_test_teardown(test_two_devices_two_nodes, tproc_teardown),
               cmocka_unit_test_teardown(test_gid, tproc_teardown))
