/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
#include <errno.h>
#include <fcntl.h>
#include <pciaccess.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "osci_log.h"
#include "osci_ivshmem.h"

#define MOD "ivshmem"
#define IVSHMEM_VENDOR 0x1af4
#define IVSHMEM_DEVICE 0x1110
#define REG_IVPOSITION 2               /* 32-bit register index in BAR0 */
#define REG_DOORBELL 3
#define REGS_SIZE 256

/* libpciaccess's state is one global: initialised by the first open of the process, cleaned up by the
 * last close (a member and an observer, or two adapters, share it). */
static pthread_mutex_t sys_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned int sys_users;
/* Devices this process has mapped (libpciaccess maps a BAR once per process): under sys_lock. */
#define MAPPED_MAX 8
static struct pci_device *mapped[MAPPED_MAX];

/* Claims dev for this process: 0, or -EADDRINUSE when it is already open here, -ENOSPC. */
static int mapped_claim(struct pci_device *dev)
{
    int ret = -ENOSPC;
    unsigned int i;

    pthread_mutex_lock(&sys_lock);
    for (i = 0; i < MAPPED_MAX; i++)
        if (mapped[i] == dev) {
            ret = -EADDRINUSE;
            goto out;
        }
    for (i = 0; i < MAPPED_MAX; i++)
        if (!mapped[i]) {
            mapped[i] = dev;
            ret = 0;
            break;
        }
out:
    pthread_mutex_unlock(&sys_lock);
    return ret;
}

static void mapped_release(struct pci_device *dev)
{
    pthread_mutex_lock(&sys_lock);
    for (unsigned int i = 0; i < MAPPED_MAX; i++)
        if (mapped[i] == dev)
            mapped[i] = NULL;
    pthread_mutex_unlock(&sys_lock);
}

static int sys_get(void)
{
    int ret = 0;

    pthread_mutex_lock(&sys_lock);
    if (sys_users == 0)
        ret = pci_system_init();
    if (ret == 0)
        sys_users++;
    pthread_mutex_unlock(&sys_lock);
    return ret;
}

static void sys_put(void)
{
    pthread_mutex_lock(&sys_lock);
    if (sys_users && --sys_users == 0)
        pci_system_cleanup();
    pthread_mutex_unlock(&sys_lock);
}

/* "dddd:bb:ss.f" or "bb:ss.f" */
static int parse_slot(const char *s, struct pci_slot_match *m)
{
    unsigned int d = 0, b, sl, f;
    char tail;

    if (sscanf(s, "%x:%x:%x.%x%c", &d, &b, &sl, &f, &tail) != 4) {
        d = 0;
        if (sscanf(s, "%x:%x.%x%c", &b, &sl, &f, &tail) != 3)
            return -EINVAL;
    }
    if (d > 0xffff || b > 0xff || sl > 0x1f || f > 7)
        return -EINVAL;
    *m = (struct pci_slot_match){ .domain = d, .bus = b, .dev = sl, .func = f };
    return 0;
}

static int is_doorbell(struct pci_device *dev)
{
    return dev->vendor_id == IVSHMEM_VENDOR && dev->device_id == IVSHMEM_DEVICE && dev->regions[1].size &&
           dev->regions[0].size >= REGS_SIZE && dev->regions[2].size;
}

int osci_ivshmem_open(const char *slot, struct osci_ivshmem *p)
{
    struct pci_slot_match sm = { PCI_MATCH_ANY, PCI_MATCH_ANY, PCI_MATCH_ANY, PCI_MATCH_ANY, 0 };
    struct pci_device_iterator *it;
    struct pci_device *dev;
    int ret;

    memset(p, 0, sizeof(*p));
    if (slot && *slot && parse_slot(slot, &sm)) {
        osci_log(OSCI_LOG_ERROR, MOD, "slot=\"%s\" is not a PCI address (dddd:bb:ss.f)", slot);
        return -EINVAL;
    }
    ret = sys_get();
    if (ret) {
        osci_log(OSCI_LOG_ERROR, MOD, "libpciaccess: pci_system_init: %s", strerror(ret));
        return -ret;
    }
    it = pci_slot_match_iterator_create(&sm);
    while ((dev = it ? pci_device_next(it) : NULL)) {
        if (pci_device_probe(dev) == 0 && is_doorbell(dev))
            break;
    }
    pci_iterator_destroy(it);
    if (!dev) {
        osci_log(OSCI_LOG_ERROR, MOD, "no ivshmem-doorbell device (PCI 1af4:1110 with MSI-X)%s%s",
                 slot && *slot ? " at " : "", slot && *slot ? slot : "");
        ret = -ENODEV;
        goto err_sys;
    }
    snprintf(p->slot, sizeof(p->slot), "%04x:%02x:%02x.%x", dev->domain, dev->bus, dev->dev, dev->func);
    if ((ret = mapped_claim(dev)) < 0) {
        osci_log(OSCI_LOG_ERROR, MOD, "%s: %s", p->slot, ret == -EADDRINUSE ?
                 "already open in this process (one adapter per device)" : "too many devices open");
        goto err_sys;
    }
    p->dev = dev;
    ret = pci_device_map_range(dev, dev->regions[0].base_addr, REGS_SIZE, PCI_DEV_MAP_FLAG_WRITABLE,
                               (void **)&p->regs);
    if (!ret) {
        p->mem_size = dev->regions[2].size;
        ret = pci_device_map_range(dev, dev->regions[2].base_addr, p->mem_size, PCI_DEV_MAP_FLAG_WRITABLE, &p->mem);
        if (ret)
            pci_device_unmap_range(dev, (void *)p->regs, REGS_SIZE);
    }
    if (ret) {
        osci_log(OSCI_LOG_ERROR, MOD, "%s: mapping BAR0/BAR2: %s (root needed; no driver may claim them)",
                 p->slot, strerror(ret));
        ret = ret == EPERM ? -EACCES : -ret;
        mapped_release(dev);
        p->dev = NULL;
        goto err_sys;
    }
    p->peer_id = p->regs[REG_IVPOSITION];
    osci_log(OSCI_LOG_INFO, MOD, "%s: peer id %u, %zu bytes shared", p->slot, p->peer_id, p->mem_size);
    return 0;
err_sys:
    sys_put();
    return ret;
}

void osci_ivshmem_close(struct osci_ivshmem *p)
{
    if (!p->dev)
        return;
    pci_device_unmap_range(p->dev, p->mem, p->mem_size);
    pci_device_unmap_range(p->dev, (void *)p->regs, REGS_SIZE);
    mapped_release(p->dev);
    sys_put();
    p->dev = NULL;
}

void osci_ivshmem_ring(struct osci_ivshmem *p, uint32_t peer, unsigned int vector)
{
    p->regs[REG_DOORBELL] = (peer << 16) | (vector & 0xff);
}

int osci_ivshmem_irq_open(const struct osci_ivshmem *p)
{
    char path[64];
    int fd;

    snprintf(path, sizeof(path), "/dev/osci_ivshmem-%s", p->slot);
    fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

uint64_t osci_ivshmem_irq_take(int fd)
{
    uint64_t mask = 0;
    if (fd >= 0 && read(fd, &mask, sizeof(mask)) != sizeof(mask))
        mask = 0;
    return mask;
}
