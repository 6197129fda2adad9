/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* A doca_mmap program built against an installed OpenSCI through pkg-config opensci-buf: the first device
 * that exports over a window exports a range; the descriptor is decoded. Prints one line; exit 0 on success. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include <doca_mmap.h>
#include <opensci/doca_osci.h>

int main(void)
{
    struct doca_devinfo **list;
    struct doca_dev *dev = NULL;
    struct doca_mmap *m;
    struct doca_osci_desc_info di;
    const void *desc;
    size_t len, size = 1 << 16;
    uint32_t n = 0;
    uint8_t cap = 0;
    char pci[DOCA_DEVINFO_PCI_ADDR_SIZE];
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED || doca_devinfo_create_list(&list, &n) != DOCA_SUCCESS || n == 0)
        return 1;
    if (doca_mmap_cap_is_export_pci_supported(list[0], &cap) != DOCA_SUCCESS || !cap ||
        doca_devinfo_get_pci_addr_str(list[0], pci) != DOCA_SUCCESS || doca_dev_open(list[0], &dev) != DOCA_SUCCESS)
        return 2;
    doca_devinfo_destroy_list(list);
    if (doca_mmap_create(&m) != DOCA_SUCCESS || doca_mmap_add_dev(m, dev) != DOCA_SUCCESS ||
        doca_mmap_set_permissions(m, DOCA_ACCESS_FLAG_PCI_READ_ONLY) != DOCA_SUCCESS ||
        doca_mmap_set_memrange(m, p, size) != DOCA_SUCCESS || doca_mmap_start(m) != DOCA_SUCCESS ||
        doca_mmap_export_pci(m, dev, &desc, &len) != DOCA_SUCCESS)
        return 3;
    if (doca_osci_desc_decode(desc, len, &di) != DOCA_SUCCESS || di.size != size)
        return 4;
    printf("hello_doca: device %s exported %zu bytes as segment %u, descriptor %zu bytes\n", pci, size,
           di.segment_id, len);
    if (doca_mmap_destroy(m) != DOCA_SUCCESS || doca_dev_close(dev) != DOCA_SUCCESS)
        return 5;
    munmap(p, size);
    return 0;
}
