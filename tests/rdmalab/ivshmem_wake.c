/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Two guests ring each other through the ivshmem-doorbell device (lab step 17): a ping-pong of sequence
 * numbers in the device's shared memory, each side writing only its own word. A side waits for the next
 * number either asleep in poll() on the osci_ivshmem module's character device (mode irq: the peer rings
 * our vector 0 through the Doorbell register) or spinning on the peer's word (mode spin: no doorbell).
 * Every number is checked: a wake-up must never find the peer more than one step ahead.
 *   ivshmem_wake DEVDIR SIDE PEER-ID irq|spin ROUNDS    (SIDE 0 starts each round, SIDE 1 answers)
 *   ivshmem_wake DEVDIR idle SECONDS                     (asleep with nobody ringing: 0 wake-ups)
 * Prints one line "ivshmem-wake mode=... rounds=... [rtt_us=... (side 0)] cpu_us=... (per round) wakeups=..."
 * and exits 0 on success.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "osci_time.h"

#define AREA_OFF(mode, side) ((strcmp((mode), "irq") ? 12288u : 8192u) + (side) * 64u)
#define ROUND_LIMIT_MS 10000

static volatile uint32_t *regs;      /* BAR0: 32-bit accesses only */
static volatile uint8_t *mem;        /* BAR2 */
static int irq_fd = -1;
static unsigned long wakeups;

static void die(const char *fmt, const char *arg)
{
    fprintf(stderr, "ivshmem_wake: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    exit(1);
}

static void *map_bar(const char *dir, int bar, size_t len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/resource%d", dir, bar);
    int fd = open(path, O_RDWR | O_SYNC);
    if (fd < 0)
        die("cannot open %s", path);
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        die("cannot map %s", path);
    return p;
}

static void open_irq(const char *dir)
{
    char path[512];
    const char *bdf = strrchr(dir, '/');
    snprintf(path, sizeof(path), "/dev/osci_ivshmem-%s", bdf ? bdf + 1 : dir);
    irq_fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (irq_fd < 0)
        die("cannot open %s (is osci_ivshmem.ko loaded?)", path);
}

/* Sleeps until a vector is raised or ms pass: 1 raised, 0 timed out. */
static int sleep_irq(int ms)
{
    struct pollfd p = { .fd = irq_fd, .events = POLLIN };
    uint64_t mask;
    int r = poll(&p, 1, ms);
    if (r < 0 && errno != EINTR)
        die("poll: %s", strerror(errno));
    if (r <= 0)
        return 0;
    if (read(irq_fd, &mask, sizeof(mask)) != sizeof(mask))
        return 0;
    wakeups++;
    return 1;
}

static uint32_t load(unsigned int off)
{
    return __atomic_load_n((volatile uint32_t *)(mem + off), __ATOMIC_ACQUIRE);
}

static void store(unsigned int off, uint32_t v)
{
    __atomic_store_n((volatile uint32_t *)(mem + off), v, __ATOMIC_RELEASE);
}

/* Waits until the peer's word reaches want; it must never pass it. */
static void wait_for(const char *mode, unsigned int peer_off, uint32_t want)
{
    uint64_t deadline = osci_now_ms() + ROUND_LIMIT_MS;
    for (;;) {
        uint32_t got = load(peer_off);
        if (got == want)
            return;
        if (got > want) {
            fprintf(stderr, "ivshmem_wake: the peer is at %u, ahead of %u\n", got, want);
            exit(1);
        }
        if (osci_now_ms() > deadline) {
            fprintf(stderr, "ivshmem_wake: waited %d ms for %u (the peer is at %u)\n", ROUND_LIMIT_MS, want, got);
            exit(1);
        }
        if (!strcmp(mode, "irq"))
            sleep_irq(100);
    }
}

static double cpu_us(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec * 1e6 + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1e6 + ru.ru_stime.tv_usec;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[2], "idle")) {
        int secs = atoi(argv[3]);
        open_irq(argv[1]);
        double c0 = cpu_us();
        uint64_t t0 = osci_now_ms();
        while (osci_now_ms() - t0 < (uint64_t)secs * 1000)
            sleep_irq(secs * 1000);
        printf("ivshmem-wake mode=idle seconds=%d wakeups=%lu cpu_us=%.0f\n", secs, wakeups, cpu_us() - c0);
        return wakeups ? 1 : 0;
    }
    if (argc != 6)
        die("%s", "usage: ivshmem_wake DEVDIR SIDE PEER-ID irq|spin ROUNDS | DEVDIR idle SECONDS");
    const char *dir = argv[1], *mode = argv[4];
    int side = atoi(argv[2]);
    uint32_t peer = (uint32_t)atoi(argv[3]), rounds = (uint32_t)atoi(argv[5]);
    if ((side != 0 && side != 1) || (strcmp(mode, "irq") && strcmp(mode, "spin")) || !rounds)
        die("%s", "bad arguments");
    regs = map_bar(dir, 0, 256);
    mem = map_bar(dir, 2, 65536);
    if (!strcmp(mode, "irq"))
        open_irq(dir);
    unsigned int mine = AREA_OFF(mode, side), theirs = AREA_OFF(mode, 1 - side);

    /* start together: side 1 says it is there (word +4), side 0 starts the clock when it sees that */
    if (side == 1)
        store(mine + 4, 1);
    else
        for (uint64_t t = osci_now_ms(); load(theirs + 4) != 1; usleep(1000))
            if (osci_now_ms() - t > ROUND_LIMIT_MS)
                die("%s", "side 1 never came");
    double c0 = cpu_us();
    uint64_t t0 = osci_now_ns();
    for (uint32_t r = 1; r <= rounds; r++) {
        if (side == 1)
            wait_for(mode, theirs, r);
        store(mine, r);
        if (!strcmp(mode, "irq"))
            regs[3] = peer << 16;   /* Doorbell: the peer's vector 0 */
        if (side == 0)
            wait_for(mode, theirs, r);
    }
    /* side 0 times whole round trips; side 1 reports its CPU time per round only */
    if (side == 0)
        printf("ivshmem-wake mode=%s rounds=%u rtt_us=%.1f cpu_us=%.1f wakeups=%lu\n", mode, rounds,
               (double)(osci_now_ns() - t0) / 1e3 / rounds, (cpu_us() - c0) / rounds, wakeups);
    else
        printf("ivshmem-wake mode=%s rounds=%u cpu_us=%.1f wakeups=%lu\n", mode, rounds, (cpu_us() - c0) / rounds,
               wakeups);
    return 0;
}
