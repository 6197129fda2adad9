/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * osci-doca: a doca_mmap export on one node and its import on another (make demo; docs/doca.md).
 *   osci-doca export --desc FILE [--size BYTES] [--timeout S]
 *       exports a range filled with the exporter's pattern (export_pci on the first device that can),
 *       writes the descriptor to FILE, waits until an importer has written its pattern into the second
 *       half and set the done word, verifies it, stops (importers are invalidated) and exits 0.
 *   osci-doca import --desc FILE [--timeout S]
 *       opens the descriptor (create_from_export), checks the exporter's pattern in the first half,
 *       writes its own into the second half, sets the done word, and exits 0.
 * Exit: 0 ok, 1 failure (message on stderr), 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "doca_mmap.h"
#include "opensci/doca_osci.h"
#include "tool_time.h"

#define DONE_MAGIC 0x454e4f44414344ull   /* "DCADONE" */
#define DESC_MAX 1024

static uint8_t pat(size_t i, int importer) { return (uint8_t)(i * 7u + (importer ? 0x81u : 0x13u)); }

static int fail(const char *what, doca_error_t e)
{
    fprintf(stderr, "osci-doca: %s: %s (%s)\n", what, doca_error_get_name(e), doca_error_get_descr(e));
    return 1;
}

static int open_dev(struct doca_dev **dev, uint32_t *node)
{
    struct doca_devinfo **list;
    uint32_t n = 0;
    doca_error_t e = doca_devinfo_create_list(&list, &n);

    if (e != DOCA_SUCCESS)
        return fail("doca_devinfo_create_list", e);
    *dev = NULL;
    for (uint32_t i = 0; i < n && !*dev; i++) {
        uint8_t cap = 0;
        char pci[DOCA_DEVINFO_PCI_ADDR_SIZE];
        if (doca_mmap_cap_is_export_pci_supported(list[i], &cap) != DOCA_SUCCESS || !cap)
            continue;
        doca_devinfo_get_pci_addr_str(list[i], pci);
        doca_osci_devinfo_get_adapter(list[i], NULL, node);
        if ((e = doca_dev_open(list[i], dev)) != DOCA_SUCCESS) {
            doca_devinfo_destroy_list(list);
            return fail("doca_dev_open", e);
        }
        printf("device %s (export_pci), node %u\n", pci, *node);
    }
    doca_devinfo_destroy_list(list);
    if (!*dev) {
        fprintf(stderr, "osci-doca: no device exports over a window (doca_mmap_cap_is_export_pci_supported)\n");
        return 1;
    }
    return 0;
}

static int do_export(const char *path, size_t size, int timeout)
{
    struct doca_dev *dev;
    struct doca_mmap *m;
    const void *desc;
    size_t dlen;
    uint32_t node = 0;
    uint8_t *p;
    doca_error_t e;
    char tmp[4096];
    FILE *f;
    uint64_t end;
    int rc = 1;

    if (open_dev(&dev, &node))
        return 1;
    p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("osci-doca: mmap");
        return 1;
    }
    for (size_t i = 8; i < size; i++)
        p[i] = pat(i, 0);
    memset(p, 0, 8);
    if ((e = doca_mmap_create(&m)) != DOCA_SUCCESS)
        return fail("doca_mmap_create", e);
    if ((e = doca_mmap_add_dev(m, dev)) != DOCA_SUCCESS || (e = doca_mmap_set_permissions(m,
            DOCA_ACCESS_FLAG_LOCAL_READ_WRITE | DOCA_ACCESS_FLAG_PCI_READ_WRITE)) != DOCA_SUCCESS ||
        (e = doca_mmap_set_memrange(m, p, size)) != DOCA_SUCCESS || (e = doca_mmap_start(m)) != DOCA_SUCCESS ||
        (e = doca_mmap_export_pci(m, dev, &desc, &dlen)) != DOCA_SUCCESS) {
        fail("export", e);
        goto out;
    }
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if (!(f = fopen(tmp, "wb")) || fwrite(desc, 1, dlen, f) != dlen || fclose(f) || rename(tmp, path)) {
        fprintf(stderr, "osci-doca: writing %s: %s\n", path, strerror(errno));
        goto out;
    }
    printf("[A] node %u: exported %zu bytes at %p (export_pci), descriptor %zu bytes in %s\n", node, size,
           (void *)p, dlen, path);
    fflush(stdout);
    end = tool_now_ms() + timeout * 1000ull;
    while (__atomic_load_n((volatile uint64_t *)p, __ATOMIC_ACQUIRE) != DONE_MAGIC) {
        if (tool_now_ms() > end) {
            fprintf(stderr, "osci-doca: no importer finished within %d s\n", timeout);
            goto out;
        }
        usleep(2000);
    }
    for (size_t i = size / 2; i < size; i++) {
        if (p[i] != pat(i, 1)) {
            fprintf(stderr, "osci-doca: byte %zu is 0x%02x, the importer wrote 0x%02x\n", i, p[i], pat(i, 1));
            goto out;
        }
    }
    printf("[A] the importer's %zu bytes are in this node's own range: verified\n", size / 2);
    if ((e = doca_mmap_stop(m)) != DOCA_SUCCESS) {
        fail("doca_mmap_stop", e);
        goto out;
    }
    printf("[A] stopped: the descriptor is freed, the importer's mmap invalidated\n");
    rc = 0;
out:
    doca_mmap_destroy(m);
    doca_dev_close(dev);
    unlink(path);
    munmap(p, size);
    return rc;
}

static int do_import(const char *path, int timeout)
{
    struct doca_dev *dev;
    struct doca_mmap *r;
    unsigned char desc[DESC_MAX];
    uint8_t *buf = NULL;
    uint32_t node = 0;
    uint64_t done = DONE_MAGIC;
    size_t dlen = 0, len;
    void *addr;
    doca_error_t e;
    uint64_t end = tool_now_ms() + timeout * 1000ull;
    FILE *f;
    int rc = 1;

    while (!(f = fopen(path, "rb"))) {
        if (tool_now_ms() > end) {
            fprintf(stderr, "osci-doca: %s: %s\n", path, strerror(errno));
            return 1;
        }
        usleep(20000);
    }
    dlen = fread(desc, 1, sizeof(desc), f);
    fclose(f);
    if (open_dev(&dev, &node))
        return 1;
    if ((e = doca_mmap_create_from_export(NULL, desc, dlen, dev, &r)) != DOCA_SUCCESS) {
        fail("doca_mmap_create_from_export", e);
        goto out_dev;
    }
    doca_mmap_get_memrange(r, &addr, &len);
    printf("[B] node %u: imported %zu bytes (from-export mmap, mapped at %p)\n", node, len, addr);
    if (!(buf = malloc(len))) {
        fprintf(stderr, "osci-doca: no memory\n");
        goto out;
    }
    if ((e = doca_osci_mmap_copy_from(r, 0, buf, len / 2)) != DOCA_SUCCESS) {
        fail("doca_osci_mmap_copy_from", e);
        goto out;
    }
    for (size_t i = 8; i < len / 2; i++) {
        if (buf[i] != pat(i, 0)) {
            fprintf(stderr, "osci-doca: byte %zu is 0x%02x, the exporter wrote 0x%02x\n", i, buf[i], pat(i, 0));
            goto out;
        }
    }
    printf("[B] the exporter's pattern read and verified\n");
    for (size_t i = len / 2; i < len; i++)
        buf[i] = pat(i, 1);
    if ((e = doca_osci_mmap_copy_to(r, len / 2, buf + len / 2, len - len / 2)) != DOCA_SUCCESS ||
        (e = doca_osci_mmap_copy_to(r, 0, &done, sizeof(done))) != DOCA_SUCCESS) {
        fail("doca_osci_mmap_copy_to", e);
        goto out;
    }
    printf("[B] wrote %zu bytes into the exporter's range\n", len - len / 2);
    rc = 0;
out:
    free(buf);
    doca_mmap_destroy(r);
out_dev:
    doca_dev_close(dev);
    return rc;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: osci-doca export --desc FILE [--size BYTES] [--timeout S]\n"
               "       osci-doca import --desc FILE [--timeout S]\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "desc", required_argument, NULL, 'd' }, { "size", required_argument, NULL, 's' },
        { "timeout", required_argument, NULL, 't' }, { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
    };
    const char *desc = NULL;
    long size = 1 << 20, timeout = 30;
    char *end;
    int ch, exp;

    if (argc < 2 || (strcmp(argv[1], "export") && strcmp(argv[1], "import"))) {
        usage(argc >= 2 && !strcmp(argv[1], "-h") ? stdout : stderr);
        return argc >= 2 && !strcmp(argv[1], "-h") ? 0 : 2;
    }
    exp = !strcmp(argv[1], "export");
    optind = 2;
    while ((ch = getopt_long(argc, argv, "d:s:t:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'd': desc = optarg; break;
        case 's':
            size = strtol(optarg, &end, 0);
            if (*end || size < 8192 || size % 4096 || size > (1L << 30)) {
                fprintf(stderr, "osci-doca: --size must be a page multiple from 8192 to 1 GiB, not '%s'\n", optarg);
                return 2;
            }
            break;
        case 't':
            timeout = strtol(optarg, &end, 10);
            if (*end || timeout <= 0 || timeout > 3600) {
                fprintf(stderr, "osci-doca: --timeout needs seconds 1..3600, not '%s'\n", optarg);
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!desc || optind < argc) {
        usage(stderr);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    return exp ? do_export(desc, (size_t)size, (int)timeout) : do_import(desc, (int)timeout);
}
