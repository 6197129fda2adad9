/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* INTER_VM backend: a queue of opensci.conf's queue table ("intervm" lines) is an area of an
 * ivshmem-doorbell device's BAR2, shared by two machines. Each side owns one half: its header lines (magic,
 * version, geometry, epoch, handshake state, FIFO indices, arm counters) and the frames it writes; it only
 * loads the other half. libipc's FIFO runs over them: every store is a plain store into BAR2, a
 * notification rings the peer's MSI-X vector through the Doorbell register. The Linux event fd is an open
 * file of kernel/osci_ivshmem's /dev/osci_ivshmem-<slot> (its own view of the vectors); a process that dies
 * holding the endpoint has its epoch cleared by the module's "last words", which rings the peer.
 * Layout and rules: docs/nvsciipc.md "INTER_VM". */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <unistd.h>

#include "ipc_internal.h"
#include "ipc_vm.h"
#include "osci_conf.h"
#include "osci_log.h"
#include "osci_time.h"
#ifdef OSCI_HAVE_PCISHM
#include "osci_ivshmem.h"
#endif

#define VM_MAGIC 0x4d56494fu    /* "OIVM" */
#define VM_VERSION 1u
#define CL 64

/* One side's header lines, at the start of its half of the queue area; its frames follow. Every word is
 * written by that side only. */
struct vm_side {
    struct {
        _Atomic uint32_t magic, version, nframes, frame_size;
        _Atomic uint32_t epoch;      /* random, nonzero while an endpoint holds this side; 0: free */
        _Atomic uint32_t id;         /* the owner's ivshmem id */
    } info __attribute__((aligned(CL)));
    _Atomic uint64_t state __attribute__((aligned(CL)));     /* epoch << 32 | handshake state */
    _Atomic uint32_t tail __attribute__((aligned(CL)));      /* frames written into this side's frames */
    _Atomic uint32_t head __attribute__((aligned(CL)));      /* frames consumed of the other side's */
    _Atomic uint32_t armed[IPC_FIFO_ARM_N] __attribute__((aligned(CL)));   /* FIFO arm counters */
};
_Static_assert(sizeof(struct vm_side) == OSCI_IVM_SIDE_HDR, "the side header is documented as 320 bytes");

struct vm_ep {
    struct ipc_ep *ep;
    struct ipc_conn conn;
    struct osci_intervm_conf q;
    struct ipc_vm_dev *dev;
    int fd;                          /* the Linux event fd */
    unsigned side;
    uint32_t peer_id, epoch, peer_epoch;
    struct vm_side *me, *peer;
    int geometry_warned;
    struct ipc_fifo fifo;
};

/* ---- the device: the PCI function, or a test's fake ---- */
struct ipc_vm_dev *(*ipc__vm_dev_hook)(const char *slot);

#ifdef OSCI_HAVE_PCISHM
/* libpciaccess keeps one global state: one device per process, shared by its INTER_VM endpoints. */
struct pci_dev {
    struct ipc_vm_dev vd;
    struct osci_ivshmem pci;
    unsigned refs;
};
static pthread_mutex_t g_dev_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pci_dev g_dev;

static void pci_ring(struct ipc_vm_dev *d, uint32_t peer, unsigned vector)
{
    osci_ivshmem_ring(&((struct pci_dev *)d)->pci, peer, vector);
}

static int pci_irq_open(struct ipc_vm_dev *d)
{
    const struct osci_ivshmem *p = &((struct pci_dev *)d)->pci;
    int fd = osci_ivshmem_irq_open(p);
    if (fd < 0)
        osci_log(OSCI_LOG_ERROR, "ipc", "INTER_VM: /dev/osci_ivshmem-%s: %s", p->slot,
                 fd == -ENOENT ? "kernel/osci_ivshmem is not loaded" : strerror(-fd));
    return fd;
}

static void pci_irq_take(struct ipc_vm_dev *d, int fd)
{
    (void)d;
    osci_ivshmem_irq_take(fd);
}

static int pci_last_words(struct ipc_vm_dev *d, int fd, int set, uint32_t offset, uint32_t value, uint32_t peer,
                          unsigned vector)
{
    struct osci_ivshmem_last_words lw = { set ? OSCI_IVSHMEM_LW_SET : 0, offset, value, peer, vector };
    (void)d;
    return ioctl(fd, OSCI_IVSHMEM_IOC_LAST_WORDS, &lw) < 0 ? -errno : 0;
}

static int dev_get(const char *slot, struct ipc_vm_dev **dev_p)
{
    int ret = 0;
    if (ipc__vm_dev_hook) {
        *dev_p = ipc__vm_dev_hook(slot);
        return *dev_p ? 0 : -ENODEV;
    }
    pthread_mutex_lock(&g_dev_lock);
    if (g_dev.refs == 0) {
        if ((ret = osci_ivshmem_open(slot, &g_dev.pci)) < 0) goto out;
        g_dev.vd = (struct ipc_vm_dev){ .mem = g_dev.pci.mem, .mem_size = g_dev.pci.mem_size,
                                        .id = g_dev.pci.peer_id, .ring = pci_ring, .irq_open = pci_irq_open,
                                        .irq_take = pci_irq_take, .last_words = pci_last_words };
        snprintf(g_dev.vd.slot, sizeof(g_dev.vd.slot), "%s", g_dev.pci.slot);
    } else if (*slot && strcmp(slot, g_dev.pci.slot)) {
        osci_log(OSCI_LOG_ERROR, "ipc", "INTER_VM: slot=%s, but this process uses the device at %s already (one "
                 "ivshmem device per process)", slot, g_dev.pci.slot);
        ret = -EBUSY;
        goto out;
    }
    g_dev.refs++;
    *dev_p = &g_dev.vd;
out:
    pthread_mutex_unlock(&g_dev_lock);
    return ret;
}

static void dev_put(struct ipc_vm_dev *d)
{
    if (d != &g_dev.vd) return;   /* a test's */
    pthread_mutex_lock(&g_dev_lock);
    if (g_dev.refs > 0 && --g_dev.refs == 0) osci_ivshmem_close(&g_dev.pci);
    pthread_mutex_unlock(&g_dev_lock);
}
#else
static int dev_get(const char *slot, struct ipc_vm_dev **dev_p)
{
    if (ipc__vm_dev_hook) {
        *dev_p = ipc__vm_dev_hook(slot);
        return *dev_p ? 0 : -ENODEV;
    }
    osci_log(OSCI_LOG_ERROR, "ipc", "INTER_VM: this build has no ivshmem device layer (built with PCISHM=no, "
             "without libpciaccess)");
    return -EOPNOTSUPP;
}

static void dev_put(struct ipc_vm_dev *d)
{
    (void)d;
}
#endif

static struct vm_ep *to_vm(struct ipc_ep *ep)
{
    return ep->be;
}

static void ring_peer(struct vm_ep *ve)
{
    ve->dev->ring(ve->dev, ve->peer_id, ve->q.vector);
}

/* ---- the FIFO's hooks: every word is mapped, only notify is needed ---- */
static void fifo_notify(void *ctx, enum ipc_fifo_whom whom)
{
    struct vm_ep *ve = ctx;
    if (whom == IPC_FIFO_SELF) ve->dev->ring(ve->dev, ve->dev->id, ve->q.vector);   /* our own vector */
    else ring_peer(ve);
}

static const struct ipc_fifo_backend vm_fifo_be = {
    .notify = fifo_notify,
};

/* ---- the handshake's hooks ---- */
static void conn_publish(void *ctx, uint32_t state)
{
    struct vm_ep *ve = ctx;
    atomic_store(&ve->me->state, ipc__conn_word(ve->epoch, state));
}

static void conn_clear(void *ctx)
{
    struct vm_ep *ve = ctx;
    atomic_store(&ve->me->tail, 0);
    atomic_store(&ve->me->head, 0);
    ipc__fifo_clear(&ve->fifo);
}

static void conn_notify(void *ctx)
{
    ring_peer(ctx);
}

/* The peer's state, when its half holds a live endpoint of the same geometry; DISC otherwise. A new
 * incarnation's arm counters count as answered. */
static uint32_t conn_peer_state(void *ctx)
{
    struct vm_ep *ve = ctx;
    struct vm_side *p = ve->peer;
    uint32_t e = atomic_load(&p->info.epoch);
    uint32_t st;
    if (e == 0 || atomic_load(&p->info.magic) != VM_MAGIC || atomic_load(&p->info.version) != VM_VERSION)
        return IPC_CS_DISC;
    if (atomic_load(&p->info.nframes) != ve->q.nframes || atomic_load(&p->info.frame_size) != ve->q.frame_size) {
        if (!ve->geometry_warned)
            osci_log(OSCI_LOG_ERROR, "ipc", "%s: the peer's half of INTER_VM queue %u has another geometry (%u frames "
                     "of %u bytes; the two machines' opensci.conf disagree)", ve->ep->cfg.name, ve->q.queue,
                     atomic_load(&p->info.nframes), atomic_load(&p->info.frame_size));
        ve->geometry_warned = 1;
        return IPC_CS_DISC;
    }
    st = ipc__conn_word_state(atomic_load(&p->state), e);
    if (st == IPC_CS_COUNT) return IPC_CS_DISC;
    if (e != ve->peer_epoch) {
        ve->peer_epoch = e;
        ipc__fifo_forget_arms(&ve->fifo);
    }
    return st;
}

static const struct ipc_conn_ops vm_conn_ops = {
    .publish = conn_publish,
    .clear = conn_clear,
    .notify = conn_notify,
    .peer_state = conn_peer_state,
};

/* ---- open / close ---- */
static void vm_free(struct vm_ep *ve)
{
    if (ve->fd >= 0) {
        if (ve->me) ve->dev->last_words(ve->dev, ve->fd, 0, 0, 0, 0, 0);
        close(ve->fd);
    }
    if (ve->dev) dev_put(ve->dev);
    free(ve);
}

/* The queue table's entry of `ep`: 0, -ENOENT (no line: the endpoint cannot be opened), -EPROTO. */
static int lookup_queue(const struct ipc_cfg_ep *cfg, struct osci_intervm_conf *q)
{
    char path[256];
    int ret = osci_conf_intervm(cfg->backend_info, q, path, sizeof(path));
    if (ret == -ENOENT) {
        osci_log(OSCI_LOG_ERROR, "ipc", "%s: INTER_VM queue %u has no \"intervm %u ...\" line in %s: the endpoint "
                 "cannot be opened", cfg->name, cfg->backend_info, cfg->backend_info, path);
        return -ENOENT;
    }
    if (ret < 0) {
        osci_log(OSCI_LOG_ERROR, "ipc", "%s: INTER_VM queue %u: %s cannot be used (%s)", cfg->name, cfg->backend_info,
                 path, strerror(-ret));
        return -EPROTO;
    }
    return 0;
}

static int vm_open(struct ipc_ep *ep)
{
    const struct ipc_cfg_ep *cfg = &ep->cfg;
    struct vm_ep *ve;
    uint64_t area, half;
    uint8_t *base;
    unsigned i;
    int ret;

    if (cfg->gid != IPC_GID_NONE && !ipc__in_group((gid_t)cfg->gid)) return -EACCES;
    if (!(ve = calloc(1, sizeof(*ve)))) return -ENOMEM;
    ve->ep = ep;
    ve->fd = -1;
    if ((ret = lookup_queue(cfg, &ve->q)) < 0) goto err;
    if ((ret = dev_get(ve->q.slot, &ve->dev)) < 0) {
        if (ret != -EOPNOTSUPP && ret != -EBUSY) ret = -ENODEV;
        goto err;
    }
    area = OSCI_IVM_AREA(ve->q.nframes, ve->q.frame_size);
    if (ve->q.offset + area > ve->dev->mem_size) {
        osci_log(OSCI_LOG_ERROR, "ipc", "%s: INTER_VM queue %u (line %u): bytes %llu..%llu do not fit the %zu bytes "
                 "of %s's BAR2", cfg->name, ve->q.queue, ve->q.line, (unsigned long long)ve->q.offset,
                 (unsigned long long)(ve->q.offset + area - 1), ve->dev->mem_size, ve->dev->slot);
        ret = -EPROTO;
        goto err;
    }
    if (ve->dev->id == ve->q.peers[0]) ve->side = 0;
    else if (ve->dev->id == ve->q.peers[1]) ve->side = 1;
    else {
        osci_log(OSCI_LOG_ERROR, "ipc", "%s: INTER_VM queue %u is between ivshmem ids %u and %u; this machine is %u",
                 cfg->name, ve->q.queue, ve->q.peers[0], ve->q.peers[1], ve->dev->id);
        ret = -EPROTO;
        goto err;
    }
    ve->peer_id = ve->q.peers[!ve->side];
    ep->cfg.nframes = ve->q.nframes;   /* the queue table's geometry (GetEndpointInfo, the size checks) */
    ep->cfg.frame_size = ve->q.frame_size;
    half = area / 2;
    base = (uint8_t *)ve->dev->mem + ve->q.offset;
    ve->me = (struct vm_side *)(base + ve->side * half);
    ve->peer = (struct vm_side *)(base + (!ve->side) * half);
    if (atomic_load(&ve->me->info.epoch) != 0 && atomic_load(&ve->me->info.magic) == VM_MAGIC) {
        ve->me = NULL;   /* not ours: its last words stay */
        ret = -EBUSY;    /* another process of this machine holds this side */
        goto err;
    }
    ve->conn = (struct ipc_conn){ .ops = &vm_conn_ops, .ctx = ve, .name = ep->cfg.name, .fifo = &ve->fifo };
    while (ve->epoch == 0)
        if (getrandom(&ve->epoch, sizeof(ve->epoch), 0) != sizeof(ve->epoch)) ve->epoch = (uint32_t)osci_now_ns();
    ve->fifo = (struct ipc_fifo){ .be = &vm_fifo_be, .ctx = ve, .conn = &ve->conn,
                                  .notify_enabled = &ep->notify_enabled, .nframes = ve->q.nframes,
                                  .fsize = ve->q.frame_size, .in_tail = &ve->peer->tail, .in_head = &ve->peer->head,
                                  /* a new epoch's counters differ from what the peer answered before */
                                  .arm_mine = { ve->epoch, ve->epoch * 3u, ve->epoch * 5u } };
    ve->fifo.out[IPC_FW_TAIL] = &ve->me->tail;
    ve->fifo.out[IPC_FW_HEAD] = &ve->me->head;
    for (i = 0; i < IPC_FIFO_ARM_N; i++) {
        ve->fifo.in_arm[i] = &ve->peer->armed[i];
        ve->fifo.out[IPC_FW_ARM_READ + i] = &ve->me->armed[i];
    }
    ve->fifo.tx_frames = (uint8_t *)ve->me + OSCI_IVM_SIDE_HDR;
    ve->fifo.rx_frames = (const uint8_t *)ve->peer + OSCI_IVM_SIDE_HDR;
    if ((ret = ve->dev->irq_open(ve->dev)) < 0) {
        ve->me = NULL;
        goto err;
    }
    ve->fd = ret;
    /* killed holding the endpoint: the module zeroes our epoch and rings the peer */
    ret = ve->dev->last_words(ve->dev, ve->fd, 1,
                              (uint32_t)(ve->q.offset + ve->side * half + offsetof(struct vm_side, info.epoch)), 0,
                              ve->peer_id, ve->q.vector);
    if (ret < 0) {
        osci_log(OSCI_LOG_ERROR, "ipc", "%s: registering the endpoint's last words with kernel/osci_ivshmem: %s (a "
                 "module without OSCI_IVSHMEM_IOC_LAST_WORDS?)", cfg->name, strerror(-ret));
        ve->me = NULL;
        goto err;
    }
    /* our half: geometry, then a DISC state under the new epoch, indices and counters, then the epoch */
    atomic_store(&ve->me->info.version, VM_VERSION);
    atomic_store(&ve->me->info.nframes, ve->q.nframes);
    atomic_store(&ve->me->info.frame_size, ve->q.frame_size);
    atomic_store(&ve->me->info.id, ve->dev->id);
    atomic_store(&ve->me->state, ipc__conn_word(ve->epoch, IPC_CS_DISC));
    atomic_store(&ve->me->tail, 0);
    atomic_store(&ve->me->head, 0);
    for (i = 0; i < IPC_FIFO_ARM_N; i++) atomic_store(&ve->me->armed[i], ve->fifo.arm_mine[i]);
    atomic_store(&ve->me->info.magic, VM_MAGIC);
    atomic_store(&ve->me->info.epoch, ve->epoch);
    ipc__fifo_forget_arms(&ve->fifo);
    ve->peer_epoch = atomic_load(&ve->peer->info.epoch);
    osci_log(OSCI_LOG_DEBUG, "ipc", "%s: INTER_VM queue %u, side %u of ivshmem ids %u,%u, %s BAR2 +%llu, vector %u",
             cfg->name, ve->q.queue, ve->side, ve->q.peers[0], ve->q.peers[1], ve->dev->slot,
             (unsigned long long)ve->q.offset, ve->q.vector);
    ep->be = ve;
    ep->fifo = &ve->fifo;
    ep->native.fd = ve->fd;
    return 0;
err:
    vm_free(ve);
    return ret;
}

static void vm_close(struct ipc_ep *ep)
{
    struct vm_ep *ve = to_vm(ep);
    ipc__conn_close(&ve->conn);
    atomic_store(&ve->me->info.epoch, 0);   /* the side is free */
    ring_peer(ve);
    vm_free(ve);
}

static void vm_take_wakeups(struct ipc_ep *ep)
{
    struct vm_ep *ve = to_vm(ep);
    ve->dev->irq_take(ve->dev, ve->fd);   /* any vector: a wake-up for another queue finds nothing here */
}

const struct ipc_backend_ops ipc__vm_ops = {
    .size = sizeof(struct ipc_backend_ops),
    .close = vm_close,
    .open = vm_open,
    .take_wakeups = vm_take_wakeups,
};
