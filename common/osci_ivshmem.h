/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * An ivshmem-doorbell PCI function (1af4:1110 with an MSI-X BAR) found and mapped with libpciaccess
 * (common/osci_ivshmem.c, built when PCISHM is on): BAR0 holds the registers (32-bit accesses only), BAR2
 * the memory shared with the other machines; kernel/osci_ivshmem turns the device's MSI-X vectors into a
 * pollable character device, /dev/osci_ivshmem-<slot> (docs/kernel.md). Used by the pcishm driver and by
 * NvSciIpc's INTER_VM.
 */
#ifndef OSCI_IVSHMEM_H
#define OSCI_IVSHMEM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>

struct osci_ivshmem {
    struct pci_device *dev;
    char slot[16];                  /* dddd:bb:ss.f */
    volatile uint32_t *regs;        /* BAR0 */
    void *mem;                      /* BAR2 */
    size_t mem_size;
    uint32_t peer_id;               /* IVPosition: this machine's id at the ivshmem server */
};

/* "Last words" (kernel/osci_ivshmem's ioctl, docs/kernel.md): when the open file is released (close, exit,
 * SIGKILL), the module stores `value` at BAR2 offset `offset` (32 bits) and rings `vector` of `peer`. */
struct osci_ivshmem_last_words {
    uint32_t flags;                 /* OSCI_IVSHMEM_LW_SET: register; 0: forget */
    uint32_t offset;                /* in BAR2, a multiple of 4 */
    uint32_t value;
    uint32_t peer;                  /* ivshmem id (IVPosition) of the machine to ring */
    uint32_t vector;
};
#define OSCI_IVSHMEM_LW_SET 1u
#define OSCI_IVSHMEM_IOC_LAST_WORDS _IOW('O', 0x61, struct osci_ivshmem_last_words)

/* Finds the device (the first ivshmem-doorbell, or the one at `slot` "dddd:bb:ss.f" / "bb:ss.f") and maps
 * its BARs: 0, -ENODEV (none, or not at slot; logged), -EINVAL (slot malformed), -EACCES (BARs not
 * mappable: root, or a driver claimed them), -EADDRINUSE (already open in this process), -EIO. libpciaccess's
 * one global state is set up by the first open and cleaned up by the last close. */
int osci_ivshmem_open(const char *slot, struct osci_ivshmem *p);
void osci_ivshmem_close(struct osci_ivshmem *p);
/* Raises `vector` on machine `peer` (may be this one): one 32-bit store into the Doorbell register. */
void osci_ivshmem_ring(struct osci_ivshmem *p, uint32_t peer, unsigned int vector);
/* A new open file of the device's interrupts (its own view: raises from now on), O_NONBLOCK and
 * O_CLOEXEC: an fd, or -errno, not logged (-ENOENT: kernel/osci_ivshmem is not loaded). */
int osci_ivshmem_irq_open(const struct osci_ivshmem *p);
/* The vectors raised since this fd's last take (0: none); never blocks. */
uint64_t osci_ivshmem_irq_take(int fd);

#endif
