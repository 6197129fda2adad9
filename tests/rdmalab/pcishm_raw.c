/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The raw figure beside osci-bench over pcishm (lab step 77-pcishm-bench): memcpy from local memory
 * into the ivshmem-doorbell device's BAR2, mapped straight from sysfs, at the same offset and in the
 * same chunk size as SCIMemCpy's bandwidth test, with no OpenSCI in between. Run it only while no
 * pcishm adapter is open (it writes into a window's area). Every chunk is read back and checked once at
 * the end.
 *   pcishm_raw DEVDIR OFFSET SIZE ITERS
 * Prints "pcishm-raw memcpy size=... iters=... bw_MBps=..." and exits 0 on success.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "osci_parse.h"
#include "osci_time.h"

int main(int argc, char **argv)
{
    uint64_t off, size, iters;
    char path[512];
    struct stat st;
    uint8_t *bar, *src;
    int fd;

    if (argc != 5 || osci_parse_size(argv[2], 1ull << 40, &off) < 0 || osci_parse_size(argv[3], 1ull << 30, &size) < 0 ||
        osci_parse_size(argv[4], 1ull << 30, &iters) < 0 || !size || !iters) {
        fprintf(stderr, "usage: pcishm_raw DEVDIR OFFSET SIZE ITERS\n");
        return 2;
    }
    snprintf(path, sizeof(path), "%s/resource2", argv[1]);
    fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0) {
        perror(path);
        return 1;
    }
    if (off + size > (uint64_t)st.st_size) {
        fprintf(stderr, "pcishm_raw: %s has %lld bytes: no room for %llu at %llu\n", path, (long long)st.st_size,
                (unsigned long long)size, (unsigned long long)off);
        return 1;
    }
    bar = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    src = malloc((size_t)size);
    if (bar == MAP_FAILED || !src) {
        perror("pcishm_raw: mmap");
        return 1;
    }
    for (uint64_t i = 0; i < size; i++)
        src[i] = (uint8_t)(i * 7 + 1);
    memcpy(bar + off, src, (size_t)size);           /* warm-up */
    uint64_t t0 = osci_now_ns();
    for (uint64_t i = 0; i < iters; i++) {
        src[0] = (uint8_t)i;
        memcpy(bar + off, src, (size_t)size);
    }
    uint64_t ns = osci_now_ns() - t0;
    if (memcmp(bar + off, src, (size_t)size)) {
        fprintf(stderr, "pcishm_raw: the BAR does not hold what was copied\n");
        return 1;
    }
    memset(bar + off, 0, (size_t)size);
    printf("pcishm-raw memcpy size=%llu iters=%llu bw_MBps=%.1f\n", (unsigned long long)size,
           (unsigned long long)iters, ns ? (double)size * (double)iters * 1e3 / (double)ns : 0.0);
    return 0;
}
