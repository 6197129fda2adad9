/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* INTER_VM over a fake ivshmem device (the host has no PCI one; the lab step 62-ipc-intervm runs the real
 * device): one memory area standing for BAR2, two "machines" (ivshmem ids 3 and 7) whose vectors are
 * eventfds, and last words kept and applied like kernel/osci_ivshmem does on release. Both endpoints live in
 * this process, each opened while the hook hands out its machine. Checked: both start orders, frames both
 * ways (copy and zero-copy, every byte), an idle waiter that is never woken, close -> CONN_RESET -> reopen ->
 * CONN_EST, a holder "killed" (its last words applied) -> CONN_RESET, Busy, and the queue table's errors. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <cmocka.h>

#include "../common/osci_test.h"
#include "ipc_vm.h"
#include "nvsciipc.h"
#include "osci_conf.h"

#define BAR_SIZE (1u << 20)
#define NFRAMES 16
#define FSIZE 1536
#define MAX_FDS 16

struct fake_fd { int fd, machine, lw_set; uint32_t off, val, peer; unsigned vec; };

static uint8_t *g_bar;
static struct ipc_vm_dev g_mach[2];
static struct fake_fd g_fds[MAX_FDS];
static int g_cur;            /* the machine the next open gets */
static unsigned g_rings[2];  /* rings received per machine */
static char g_dir[64];

static void fake_ring(struct ipc_vm_dev *d, uint32_t peer, unsigned vector)
{
    uint64_t one = 1;
    (void)d;
    (void)vector;
    for (int m = 0; m < 2; m++) {
        if (g_mach[m].id != peer) continue;
        g_rings[m]++;
        for (int i = 0; i < MAX_FDS; i++)   /* an fd the backend closed may fail: ignored */
            if (g_fds[i].fd >= 0 && g_fds[i].machine == m && write(g_fds[i].fd, &one, sizeof(one)) < 0) {}
    }
}

/* The backend closes its fds itself: an entry whose number comes back is an old one. */
static int fake_irq_open(struct ipc_vm_dev *d)
{
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) return -errno;
    for (int i = 0; i < MAX_FDS; i++)
        if (g_fds[i].fd == fd || (g_fds[i].fd >= 0 && fcntl(g_fds[i].fd, F_GETFD) < 0)) g_fds[i].fd = -1;
    for (int i = 0; i < MAX_FDS; i++)
        if (g_fds[i].fd < 0) {
            g_fds[i] = (struct fake_fd){ .fd = fd, .machine = (int)(d - g_mach) };
            return fd;
        }
    close(fd);
    return -EMFILE;
}

static void fake_irq_take(struct ipc_vm_dev *d, int fd)
{
    uint64_t v;
    (void)d;
    if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN) fail();
}

static struct fake_fd *find_fd(int fd)
{
    for (int i = 0; i < MAX_FDS; i++)
        if (g_fds[i].fd == fd) return &g_fds[i];
    return NULL;
}

static int fake_last_words(struct ipc_vm_dev *d, int fd, int set, uint32_t off, uint32_t val, uint32_t peer,
                           unsigned vec)
{
    struct fake_fd *f = find_fd(fd);
    (void)d;
    if (!f) return -EBADF;
    if (set && (off % 4 || off + 4 > BAR_SIZE)) return -EINVAL;
    f->lw_set = set;
    f->off = off;
    f->val = val;
    f->peer = peer;
    f->vec = vec;
    return 0;
}

/* What the module does when the file is released: the last words, then the fd is gone. */
static void fake_release(int fd)
{
    struct fake_fd *f = find_fd(fd);
    assert_non_null(f);
    if (f->lw_set) {
        memcpy(g_bar + f->off, &f->val, 4);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        fake_ring(&g_mach[f->machine], f->peer, f->vec);
    }
    f->lw_set = 0;
}

static struct ipc_vm_dev *hook(const char *slot)
{
    (void)slot;
    return &g_mach[g_cur];
}

static void write_file(const char *name, const char *fmt, ...)
{
    char path[128];
    va_list ap;
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s", g_dir, name);
    assert_non_null(f = fopen(path, "w"));
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fclose(f);
}

static int setup(void **state)
{
    char path[128];
    (void)state;
    g_bar = calloc(1, BAR_SIZE);
    if (!g_bar || tdir_make(g_dir, sizeof(g_dir), "ivm")) return -1;
    for (int i = 0; i < MAX_FDS; i++) g_fds[i].fd = -1;
    for (int m = 0; m < 2; m++)
        g_mach[m] = (struct ipc_vm_dev){ .mem = g_bar, .mem_size = BAR_SIZE, .id = m ? 7 : 3, .slot = "fake",
                                         .ring = fake_ring, .irq_open = fake_irq_open, .irq_take = fake_irq_take,
                                         .last_words = fake_last_words };
    ipc__vm_dev_hook = hook;
    /* the seed's line unchanged on "machine A", a second name for "machine B" in this one process */
    write_file("nvsciipc.cfg", "#CFGVER:1\nINTER_VM ivm_test 255\nINTER_VM ivm_peer 255\nINTER_VM ivm_none 17\n"
               "INTER_VM ivm_stranger 20\nINTER_VM ivm_big 21\n");
    write_file("opensci.conf", "intervm 255 offset=4096 peers=3,7 nframes=%d frame_size=%d vector=1\n"
               "intervm 20 offset=0 peers=1,2 nframes=1 frame_size=64\n"
               "intervm 21 offset=65536 peers=3,7 nframes=512 frame_size=4096\n", NFRAMES, FSIZE);
    snprintf(path, sizeof(path), "%s/nvsciipc.cfg", g_dir);
    setenv("NVSCIIPC_CFG", path, 1);
    snprintf(path, sizeof(path), "%s/opensci.conf", g_dir);
    setenv("OSCI_CONF", path, 1);
    return NvSciIpcInit() == NvSciError_Success ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    NvSciIpcDeinit();
    ipc__vm_dev_hook = NULL;
    tdir_remove(g_dir);
    free(g_bar);
    return 0;
}

static NvSciIpcEndpoint open_on(int machine, const char *name)
{
    NvSciIpcEndpoint h = 0;
    g_cur = machine;
    assert_int_equal(NvSciIpcOpenEndpoint(name, &h), NvSciError_Success);
    return h;
}

static uint32_t events(NvSciIpcEndpoint h)
{
    uint32_t ev = 0;
    assert_int_equal(NvSciIpcGetEventSafe(h, &ev), NvSciError_Success);
    return ev;
}

/* Pumps both ends until `a` and `b` both reported `bit` (they are single-threaded: no waiting needed). */
static void until_both(NvSciIpcEndpoint a, NvSciIpcEndpoint b, uint32_t bit)
{
    int got_a = 0, got_b = 0;
    for (int i = 0; i < 20 && !(got_a && got_b); i++) {
        got_a |= !!(events(a) & bit);
        got_b |= !!(events(b) & bit);
    }
    assert_true(got_a && got_b);
}

static int readable(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    return poll(&p, 1, 0);
}

static void connect_pair(NvSciIpcEndpoint a, NvSciIpcEndpoint b, int b_first)
{
    if (b_first) {
        assert_int_equal(NvSciIpcResetEndpointSafe(b), NvSciError_Success);
        assert_int_equal(NvSciIpcResetEndpointSafe(a), NvSciError_Success);
    } else {
        assert_int_equal(NvSciIpcResetEndpointSafe(a), NvSciError_Success);
        assert_int_equal(NvSciIpcResetEndpointSafe(b), NvSciError_Success);
    }
    until_both(a, b, NV_SCI_IPC_EVENT_CONN_EST);
}

/* n frames from w to r, every byte checked; odd frames through the zero-copy calls. */
static void stream(NvSciIpcEndpoint w, NvSciIpcEndpoint r, int n)
{
    uint8_t buf[FSIZE];
    int sent = 0, got = 0;
    while (got < n) {
        while (sent < n) {
            uint32_t bytes = 0;
            NvSciError e;
            if (sent & 1) {
                volatile void *fr;
                e = NvSciIpcWriteGetNextFrame(w, &fr);
                if (e == NvSciError_Success) {
                    for (int i = 0; i < FSIZE; i++) ((volatile uint8_t *)fr)[i] = (uint8_t)(sent * 7 + i);
                    assert_int_equal(NvSciIpcWriteAdvance(w), NvSciError_Success);
                }
            } else {
                for (int i = 0; i < FSIZE; i++) buf[i] = (uint8_t)(sent * 7 + i);
                e = NvSciIpcWriteSafe(w, buf, FSIZE, &bytes);
            }
            if (e == NvSciError_InsufficientMemory) break;   /* full */
            assert_int_equal(e, NvSciError_Success);
            sent++;
        }
        for (;;) {
            uint32_t bytes = 0;
            NvSciError e;
            if (got & 1) {
                const volatile void *fr;
                e = NvSciIpcReadGetNextFrame(r, &fr);
                if (e == NvSciError_Success) {
                    memcpy(buf, (const void *)fr, FSIZE);
                    assert_int_equal(NvSciIpcReadAdvance(r), NvSciError_Success);
                }
            } else {
                e = NvSciIpcReadSafe(r, buf, FSIZE, &bytes);
            }
            if (e == NvSciError_InsufficientMemory) break;   /* empty */
            assert_int_equal(e, NvSciError_Success);
            for (int i = 0; i < FSIZE; i++)
                if (buf[i] != (uint8_t)(got * 7 + i)) fail_msg("frame %d byte %d: %u", got, i, buf[i]);
            got++;
        }
    }
    assert_int_equal(sent, n);
}

static void test_pair(void **state)
{
    (void)state;
    for (int order = 0; order < 2; order++) {
        NvSciIpcEndpoint a = open_on(0, "ivm_test"), b = open_on(1, "ivm_peer");
        int fd_a, fd_b;
        assert_int_equal(NvSciIpcGetLinuxEventFd(a, &fd_a), NvSciError_Success);
        assert_int_equal(NvSciIpcGetLinuxEventFd(b, &fd_b), NvSciError_Success);
        connect_pair(a, b, order);
        stream(a, b, 2000);
        stream(b, a, 2000);
        /* quiet: both ends drained and armed, nothing rings */
        events(a);
        events(b);
        unsigned rings0 = g_rings[0], rings1 = g_rings[1];
        assert_int_equal(readable(fd_a), 0);
        assert_int_equal(readable(fd_b), 0);
        events(a);
        events(b);
        assert_int_equal(g_rings[0], rings0);
        assert_int_equal(g_rings[1], rings1);
        assert_int_equal(readable(fd_a), 0);
        /* one frame wakes the armed reader */
        uint32_t bytes;
        uint8_t one[64] = { 42 };
        assert_int_equal(NvSciIpcWriteSafe(b, one, 64, &bytes), NvSciError_Success);
        assert_int_equal(readable(fd_a), 1);
        assert_true(events(a) & NV_SCI_IPC_EVENT_READ);
        assert_int_equal(NvSciIpcReadSafe(a, one, 64, &bytes), NvSciError_Success);
        assert_int_equal(one[0], 42);
        /* close: the survivor wakes and sees CONN_RESET; a reopen establishes again */
        NvSciIpcCloseEndpointSafe(b, false);
        assert_int_equal(readable(fd_a), 1);
        assert_true(events(a) & NV_SCI_IPC_EVENT_CONN_RESET);
        assert_int_equal(NvSciIpcWriteSafe(a, one, 64, &bytes), NvSciError_ConnectionReset);
        b = open_on(1, "ivm_peer");
        connect_pair(a, b, !order);
        stream(a, b, 100);
        NvSciIpcCloseEndpointSafe(a, false);
        NvSciIpcCloseEndpointSafe(b, false);
    }
}

/* A holder whose process dies: only its last words run (the module on release). */
static void test_killed_peer(void **state)
{
    (void)state;
    NvSciIpcEndpoint a = open_on(0, "ivm_test"), b = open_on(1, "ivm_peer");
    int fd_a, fd_b;
    uint32_t bytes;
    uint8_t fr[64] = { 0 };
    assert_int_equal(NvSciIpcGetLinuxEventFd(a, &fd_a), NvSciError_Success);
    assert_int_equal(NvSciIpcGetLinuxEventFd(b, &fd_b), NvSciError_Success);
    connect_pair(a, b, 0);
    events(a);
    /* B wrote one frame, then "died": its epoch is zeroed and A is rung */
    assert_int_equal(NvSciIpcWriteSafe(b, fr, 64, &bytes), NvSciError_Success);
    events(a);
    fake_release(fd_b);
    assert_int_equal(readable(fd_a), 1);
    /* the frame B wrote before it died is read first, then CONN_RESET */
    assert_int_equal(NvSciIpcReadSafe(a, fr, 64, &bytes), NvSciError_Success);
    assert_true(events(a) & NV_SCI_IPC_EVENT_CONN_RESET);
    /* B's endpoint is freed in this process (the real one would be gone with its process); its side is free */
    NvSciIpcCloseEndpointSafe(b, false);
    b = open_on(1, "ivm_peer");
    connect_pair(a, b, 1);
    stream(b, a, 50);
    NvSciIpcCloseEndpointSafe(a, false);
    NvSciIpcCloseEndpointSafe(b, false);
}

static void test_errors(void **state)
{
    NvSciIpcEndpoint a, h;
    (void)state;
    g_cur = 0;
    /* an INTER_VM line without a queue table entry: ignored, the endpoint cannot be opened */
    assert_int_equal(NvSciIpcOpenEndpoint("ivm_none", &h), NvSciError_NoSuchEntry);
    /* this machine (id 3) is not one of the queue's peers */
    assert_int_equal(NvSciIpcOpenEndpoint("ivm_stranger", &h), NvSciError_InvalidState);
    /* the area does not fit the BAR */
    assert_int_equal(NvSciIpcOpenEndpoint("ivm_big", &h), NvSciError_InvalidState);
    /* one side, one holder */
    a = open_on(0, "ivm_test");
    g_cur = 0;
    assert_int_equal(NvSciIpcOpenEndpoint("ivm_peer", &h), NvSciError_Busy);
    NvSciIpcCloseEndpointSafe(a, false);
    /* opensci.conf malformed */
    write_file("opensci.conf", "intervm 255 offset=4096 peers=3,7 nframes=513 frame_size=64\n");
    assert_int_equal(NvSciIpcOpenEndpoint("ivm_test", &h), NvSciError_InvalidState);
}

/* The queue table's lines, good and bad. */
static void test_conf(void **state)
{
    static const struct { const char *text, *err; } bad[] = {
        { "intervm\n", "expected" },
        { "intervm x offset=0 peers=0,1 nframes=1 frame_size=64\n", "not a decimal" },
        { "intervm 1 offset=0 peers=0,1 nframes=1\n", "needs offset" },
        { "intervm 1 offset=32 peers=0,1 nframes=1 frame_size=64\n", "multiple of 64" },
        { "intervm 1 offset=0 peers=0 nframes=1 frame_size=64\n", "two ivshmem ids" },
        { "intervm 1 offset=0 peers=1,1 nframes=1 frame_size=64\n", "twice" },
        { "intervm 1 offset=0 peers=0,70000 nframes=1 frame_size=64\n", "0..65535" },
        { "intervm 1 offset=0 peers=0,1 nframes=513 frame_size=64\n", "1..512" },
        { "intervm 1 offset=0 peers=0,1 nframes=0 frame_size=64\n", "1..512" },
        { "intervm 1 offset=0 peers=0,1 nframes=1 frame_size=100\n", "multiple of 64" },
        { "intervm 1 offset=0 peers=0,1 nframes=1 frame_size=64 vector=64\n", "0..63" },
        { "intervm 1 offset=0 peers=0,1 nframes=1 frame_size=64 slot=zz\n", "PCI address" },
        { "intervm 1 offset=0 peers=0,1 nframes=1 frame_size=64 color=red\n", "unknown intervm key" },
        { "intervm 1 offset=0 offset=64 peers=0,1 nframes=1 frame_size=64\n", "given twice" },
        { "intervm 1 offset=0 peers=0,1 nframes=1 frame_size=64\nintervm 1 offset=4096 peers=0,1 nframes=1 "
          "frame_size=64\n", "already defined on line 1" },
        { "intervm 1 offset=0 peers=0,1 nframes=2 frame_size=64\nintervm 2 offset=704 peers=0,1 nframes=1 "
          "frame_size=64\n", "overlaps queue 1" },
    };
    struct osci_intervm_conf q[4];
    unsigned n = 0;
    char err[256];
    (void)state;
    /* two queues back to back (2 * (320 + 2 * 64) = 896 bytes), one on another device, defaults */
    assert_int_equal(osci_conf_parse_intervm("t.conf", "# table\nintervm 255 offset=0 peers=0,1 nframes=2 "
                                             "frame_size=64\nintervm 7 offset=896 peers=1,0 nframes=512 "
                                             "frame_size=1536 vector=3\nintervm 8 slot=00:05.0 offset=0 peers=4,5 "
                                             "nframes=1 frame_size=64\nadapter 0 simntb\n",
                                             strlen("# table\nintervm 255 offset=0 peers=0,1 nframes=2 "
                                             "frame_size=64\nintervm 7 offset=896 peers=1,0 nframes=512 "
                                             "frame_size=1536 vector=3\nintervm 8 slot=00:05.0 offset=0 peers=4,5 "
                                             "nframes=1 frame_size=64\nadapter 0 simntb\n"),
                                             q, 4, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 3);
    assert_int_equal(q[0].queue, 255);
    assert_int_equal(q[0].vector, 0);
    assert_string_equal(q[0].slot, "");
    assert_int_equal(q[1].offset, 896);
    assert_int_equal(q[1].peers[0], 1);
    assert_int_equal(q[1].peers[1], 0);
    assert_int_equal(q[1].vector, 3);
    assert_string_equal(q[2].slot, "0000:00:05.0");
    assert_int_equal(q[2].line, 4);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_int_equal(osci_conf_parse_intervm("t.conf", bad[i].text, strlen(bad[i].text), q, 4, &n, err,
                                                 sizeof(err)), -EINVAL);
        if (!strstr(err, bad[i].err) || strncmp(err, "t.conf:", 7)) fail_msg("case %zu: \"%s\"", i, err);
    }
}

OSCI_TEST_MAIN(NULL, setup, teardown,
               cmocka_unit_test(test_conf),
               cmocka_unit_test(test_pair),
               cmocka_unit_test(test_killed_peer),
               cmocka_unit_test(test_errors))
