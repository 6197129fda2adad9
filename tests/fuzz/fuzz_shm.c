/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Fuzzes simntb with a hostile fabric file: two live nodes (A node 1 on port 0, B node 2 on port 1,
 * both in this process) exchange messages, doorbells, puts and info; the input is a list of patches
 * written into the shared region between rounds of those operations; then a third node joins and
 * everyone leaves. Asserted: no crash (ASan/UBSan under make fuzz), no hang (every run within
 * FZ_ALARM_S seconds), nothing out of range reaches the caller (event node ids, lengths, peers), and
 * every port declared faulty or fabric refused comes with its log line.
 *
 * Input: records {u8 target, u32 offset (LE), u8 n, n+1 bytes} (docs/simntb.md "Fuzzer"); target 7
 * runs a round of operations. The region holds no lock (the claim lock is an flock of the file,
 * test_simntb_hostile's test_lock_held), so every byte of the file may be patched.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "osci_drv.h"
#include "fuzz_util.h"
#include "simntb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FZ_ALARM_S 20
#define FZ_WINDOW "64K"
#define FZ_MC_HDR 536                 /* used bytes of the multicast header page (struct sn_mc_hdr) */

static char fabric[64];
static int log_fd = -1, real_stderr = -1;
static int under_libfuzzer;

/* Sanitizer reports go to the real stderr, not to the captured log (weak: absent without sanitizers). */
extern void __sanitizer_set_report_fd(void *fd) __attribute__((weak));

static void fz_alarm(int sig)
{
    static const char m[] = "fuzz_shm: a run took longer than its bound: hang\n";
    ssize_t w = write(real_stderr >= 0 ? real_stderr : STDOUT_FILENO, m, sizeof(m) - 1);
    (void)w;
    (void)sig;
    abort();
}

struct fz {
    struct osci_drv *n[3];            /* A, B, C */
    int closed[3];
    uint8_t *map;
    size_t map_len;
    struct osci_drv_mem_view bview, mc;
    struct osci_drv_mem *bmem;
    struct osci_drv_rmem *rm;
    void *rmap;
};

static void fz_fail(const char *what)
{
    char buf[4096];
    ssize_t n = log_fd >= 0 ? pread(log_fd, buf, sizeof(buf) - 1, 0) : 0;
    buf[n > 0 ? n : 0] = '\0';
    fprintf(stdout, "fuzz_shm: %s\n--- log of the run ---\n%s\n", what, buf);
    fflush(stdout);
    abort();
}

static int fz_open(struct osci_drv **d_p, uint32_t node)
{
    return fz_simntb_open(d_p, node, fabric, FZ_WINDOW, "50");
}

/* Everything this fabric left in /dev/shm (the file, windows, wake directories, group objects). */
static void fz_sweep(void)
{
    char prefix[80], path[400];
    struct dirent *e;
    DIR *dir = opendir("/dev/shm");
    snprintf(prefix, sizeof(prefix), "osci.%s", fabric);
    if (!dir)
        return;
    while ((e = readdir(dir))) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) || (e->d_name[strlen(prefix)] && e->d_name[strlen(prefix)] != '.'))
            continue;
        snprintf(path, sizeof(path), "/dev/shm/%s/w", e->d_name);
        unlink(path);
        snprintf(path, sizeof(path), "/dev/shm/%s", e->d_name);
        if (unlink(path) < 0)
            rmdir(path);
    }
    closedir(dir);
}

/* Drains up to 64 events of node i, checking each is in range. */
static void fz_progress(struct fz *f, int i)
{
    struct osci_drv_event ev[16];
    if (!f->n[i] || f->closed[i])
        return;
    for (int round = 0; round < 4; round++) {
        int n = osci_drv_progress(f->n[i], ev, 16);
        if (n < 0 || n > 16)
            fz_fail("progress returned out of range");
        for (int k = 0; k < n; k++) {
            if (ev[k].node == 0 || ev[k].node > 255)
                fz_fail("an event names a node id out of 1..255");
            if (ev[k].type == OSCI_DRV_EV_MSG && ev[k].len > OSCI_DRV_MSG_MAX)
                fz_fail("a message longer than a slot");
        }
        if (n < 16)
            break;
    }
}

/* first: a round before any patch (publishes the info areas once, so a patched info_len stays) */
static void fz_round(struct fz *f, int first)
{
    struct osci_peer_info pi[WD_PORTS];
    unsigned int np;
    uint64_t bits;
    char buf[64];
    size_t len;

    for (int i = 0; i < 2; i++) {
        struct osci_drv *d = f->n[i];
        uint32_t peer = i == 0 ? 2 : 1;
        fz_progress(f, i);
        osci_drv_msg_send(d, peer, i == 0 ? "from A" : "from B", 6);
        osci_drv_db_ring(d, peer, 1);
        osci_drv_db_ring(d, d->node_id, 2);
        osci_drv_db_poll(d, 0x6, &bits);
        osci_drv_db_wait(d, 0x6, 0, &bits);
        if (first)
            osci_drv_info_publish(d, "fuzz", 4);
        osci_drv_info_read(d, peer, buf, sizeof(buf), &len);
        osci_drv_probe(d, peer);
        if (osci_drv_peers(d, pi, WD_PORTS, &np) < 0 || np > WD_PORTS)
            fz_fail("peers failed");
        for (unsigned int k = 0; k < np; k++)
            if (pi[k].node_id == 0 || pi[k].node_id > 255)
                fz_fail("peers() lists a node id out of 1..255");
        osci_drv_arm(d);
        fz_progress(f, i);
    }
    if (f->rm) {
        uint64_t v = 0x1122334455667788ull;
        osci_drv_put(f->n[0], f->rm, 8, &v, sizeof(v));
        osci_drv_get(f->n[0], f->rm, 8, &v, sizeof(v));
    }
}

static void fz_patch(struct fz *f, unsigned int target, uint32_t off, const uint8_t *b, size_t n)
{
    uint8_t *base = NULL;
    size_t span = 0;
    unsigned int sel = off >> 16;     /* targets 1..3: which port or ring; the low 16 bits: where in it */

    switch (target) {
    case 0:                           /* header */
        base = f->map;
        span = sizeof(struct wd_hdr);
        break;
    case 1:                           /* registers of port 0, 1 or 2 */
        base = f->map + WD_PORTS_OFF + (size_t)(sel % 3) * WD_PORT_SIZE;
        span = sizeof(struct wd_port);
        off &= 0xffff;
        break;
    case 2: {                         /* a ring between ports 0..2 */
        unsigned int pair = sel % 9;
        base = f->map + WD_RINGS_OFF + ((size_t)(pair / 3) * WD_PORTS + pair % 3) * sizeof(struct wd_ring);
        span = sizeof(struct wd_ring);
        off &= 0xffff;
        break;
    }
    case 3:                           /* info area of port 0..2 */
        base = f->map + WD_INFO_OFF + (size_t)(sel % 3) * WD_INFO_SIZE;
        span = 64;
        off &= 0xffff;
        break;
    case 4:                           /* the multicast group's header page */
        if (f->mc.addr) {
            base = (uint8_t *)f->mc.addr - WD_PAGE;
            span = FZ_MC_HDR;
        }
        break;
    case 5:                           /* B's window, through A's map */
        if (f->rmap) {
            base = f->rmap;
            span = 4096;
        }
        break;
    case 6:                           /* anywhere in the fabric file */
        base = f->map;
        span = f->map_len;
        break;
    default:
        return;
    }
    if (!base || !span)
        return;
    off %= span;
    if (n > span - off)
        n = span - off;
    memcpy(base + off, b, n);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    under_libfuzzer = 1;              /* libFuzzer has its own -timeout; no alarm() then */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz f;
    size_t i = 0;
    int rc;

    if (!fabric[0]) {
        fz_fabric_name(fabric, sizeof(fabric), "fz");
        osci_log_init();
        if (!under_libfuzzer) {
            /* The driver logs to stderr: captured per run, to check the lines. libFuzzer reports on
             * stderr too, so under it the log is left alone (and not checked). */
            real_stderr = dup(STDERR_FILENO);
            log_fd = memfd_create("fuzz_shm_log", MFD_CLOEXEC);
            if (real_stderr < 0 || log_fd < 0 || dup2(log_fd, STDERR_FILENO) < 0)
                abort();
            if (__sanitizer_set_report_fd)
                __sanitizer_set_report_fd((void *)(intptr_t)real_stderr);
            signal(SIGALRM, fz_alarm);
            osci_log_level = OSCI_LOG_INFO;
        }
    }
    if (log_fd >= 0 && (ftruncate(log_fd, 0) < 0 || lseek(STDERR_FILENO, 0, SEEK_SET) < 0))
        abort();
    if (!under_libfuzzer)
        alarm(FZ_ALARM_S);
    memset(&f, 0, sizeof(f));
    fz_sweep();
    if (fz_open(&f.n[0], 1) || fz_open(&f.n[1], 2))
        fz_fail("cannot open the two nodes of a clean fabric");
    for (int k = 0; k < 2; k++)
        osci_drv_db_set_event_mask(f.n[k], 0x6);
    fz_round(&f, 1);
    /* exported memory, an import, a map of it, a multicast group */
    if (osci_drv_mem_alloc(f.n[1], 4096, &f.bview) == 0) {
        uint8_t pk[WD_XPORT_LEN];
        size_t pl = sizeof(pk);
        if (osci_drv_mem_export(f.n[1], &f.bview, &f.bmem) == 0 &&
            osci_drv_mem_pack(f.n[1], f.bmem, pk, &pl) == 0 &&
            osci_drv_rmem_import(f.n[0], 2, pk, pl, &f.rm) == 0 &&
            osci_drv_rmem_map(f.n[0], f.rm, 0, 4096, 0, &f.rmap) != 0)
            f.rmap = NULL;
    }
    if (osci_drv_mcast_attach(f.n[0], 1, 4096, &f.mc) != 0)
        memset(&f.mc, 0, sizeof(f.mc));
    {
        char name[96];
        struct stat st;
        int fd;
        snprintf(name, sizeof(name), "/osci.%s", fabric);
        fd = shm_open(name, O_RDWR, 0);
        if (fd < 0 || fstat(fd, &st) < 0)
            fz_fail("cannot open the fabric file");
        f.map_len = (size_t)st.st_size;
        f.map = mmap(NULL, f.map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        close(fd);
        if (f.map == MAP_FAILED)
            fz_fail("cannot map the fabric file");
    }

    while (i + 6 <= size) {
        unsigned int target = data[i] & 7;
        uint32_t off = (uint32_t)data[i + 1] | (uint32_t)data[i + 2] << 8 | (uint32_t)data[i + 3] << 16 |
                       (uint32_t)data[i + 4] << 24;
        size_t n = 1 + data[i + 5] % 16;
        i += 6;
        if (target == 7) {
            fz_round(&f, 0);
            continue;
        }
        if (n > size - i)
            n = size - i;
        fz_patch(&f, target, off, data + i, n);
        i += n;
    }
    fz_round(&f, 0);
    fz_round(&f, 0);

    /* a third node joins, talks and leaves */
    rc = fz_open(&f.n[2], 3);
    if (rc == 0) {
        fz_progress(&f, 2);
        osci_drv_msg_send(f.n[2], 1, "from C", 6);
        fz_progress(&f, 0);
        fz_progress(&f, 2);
        osci_drv_close(f.n[2]);
    }

    /* the log explains every refusal and every faulty port */
    if (log_fd >= 0) {
        static char log[1 << 16];
        ssize_t n = pread(log_fd, log, sizeof(log) - 1, 0);
        log[n > 0 ? n : 0] = '\0';
        if (rc == -EPROTO && !strstr(log, "refused") && !strstr(log, "bad magic") && !strstr(log, "version") &&
            !strstr(log, "size"))
            fz_fail("a joiner was refused with -EPROTO without a line saying why");
        if (strstr(log, "dead: faulty") && !strstr(log, "is faulty: "))
            fz_fail("a port was reported dead as faulty without the faulty line");
        if (getenv("OSCI_FUZZ_SHM_LOG"))          /* to see what a seed does */
            printf("--- run of %zu bytes, third node: %d\n%s", size, rc, log);
    }

    munmap(f.map, f.map_len);
    if (f.mc.addr)
        osci_drv_mcast_detach(f.n[0], &f.mc);
    if (f.rm) {
        if (f.rmap)
            osci_drv_rmem_unmap(f.n[0], f.rm, f.rmap, 4096);
        osci_drv_rmem_release(f.n[0], f.rm);
    }
    if (f.bmem)
        osci_drv_mem_unexport(f.n[1], f.bmem);
    osci_drv_close(f.n[1]);
    osci_drv_close(f.n[0]);
    fz_sweep();
    if (!under_libfuzzer)
        alarm(0);
    return 0;
}
