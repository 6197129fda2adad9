/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* INTER_VM's view of an ivshmem-doorbell device (libipc/ipc_vm.c): the PCI function through
 * common/osci_ivshmem.c, or, in the unit tests, a fake over plain memory (ipc__vm_dev_hook). */
#ifndef OSCI_IPC_VM_H
#define OSCI_IPC_VM_H

#include <stddef.h>
#include <stdint.h>

struct ipc_vm_dev {
    void *mem;                       /* BAR2 */
    size_t mem_size;
    uint32_t id;                     /* this machine's ivshmem id (IVPosition) */
    char slot[16];                   /* for messages */
    /* raises `vector` on machine `peer` (which may be this one) */
    void (*ring)(struct ipc_vm_dev *d, uint32_t peer, unsigned vector);
    /* a new pollable fd with its own view of this machine's vectors (O_NONBLOCK), or -errno */
    int (*irq_open)(struct ipc_vm_dev *d);
    /* consumes what made fd readable; never blocks */
    void (*irq_take)(struct ipc_vm_dev *d, int fd);
    /* set: when fd is released (close, exit, kill), store `value` at BAR2 `offset` and ring `vector` of
     * `peer`; !set: forget it. 0 or -errno. */
    int (*last_words)(struct ipc_vm_dev *d, int fd, int set, uint32_t offset, uint32_t value, uint32_t peer,
                      unsigned vector);
};

/* Tests: when set, INTER_VM endpoints take their device from it (called at each open, with the queue's
 * slot, "" for none) instead of the PCI bus. NULL: no device (-ENODEV). */
extern struct ipc_vm_dev *(*ipc__vm_dev_hook)(const char *slot);

#endif
