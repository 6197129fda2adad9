/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * pcishm's PCI device: an ivshmem-doorbell function (1af4:1110 with an MSI-X BAR) found and mapped with
 * libpciaccess. BAR0 holds the registers (32-bit accesses only), BAR2 the memory shared with the other
 * machines; kernel/osci_ivshmem turns the device's MSI-X vectors into a pollable character device.
 */
#ifndef PCISHM_PCI_H
#define PCISHM_PCI_H

#include <stddef.h>
#include <stdint.h>

struct pcishm_pci {
    struct pci_device *dev;
    char slot[16];                  /* dddd:bb:ss.f */
    volatile uint32_t *regs;        /* BAR0 */
    void *mem;                      /* BAR2 */
    size_t mem_size;
    uint32_t peer_id;               /* IVPosition: this machine's id at the ivshmem server */
    int irq_fd;                     /* /dev/osci_ivshmem-<slot>, -1: not loaded (polling only) */
};

/* Finds the device (the first ivshmem-doorbell, or the one at `slot` "dddd:bb:ss.f" / "bb:ss.f"), maps
 * its BARs and opens its interrupt device: 0, -ENODEV (none, or not at slot; logged), -EINVAL (slot
 * malformed), -EACCES (BARs not mappable: root, or a driver claimed them), -EIO. */
int pcishm_pci_open(const char *slot, struct pcishm_pci *p);
void pcishm_pci_close(struct pcishm_pci *p);
/* Raises `vector` on machine `peer`: one 32-bit store into the Doorbell register. */
void pcishm_pci_ring(struct pcishm_pci *p, uint32_t peer, unsigned int vector);
/* The vectors raised since the last call (0: none); never blocks. */
uint64_t pcishm_pci_take(struct pcishm_pci *p);

#endif
