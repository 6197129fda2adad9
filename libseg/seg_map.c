/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Maps, sequences and PIO: SCIMapLocalSegment/SCIMapRemoteSegment/SCIUnmapSegment, sequences
 * (lock-free Start/Check on the remote segment's health word), barriers, SCIMemCpy, SCIMemWrite.
 * SCIMemCpy through a transfer map is the driver's put/get; a put may be posted (osci_drv.h), and
 * SCIFlush, SCIStoreBarrier, SCICheckSequence, ERROR_CHECK and unmapping flush it.
 * Offsets need no alignment: a map is rounded to the device alignment inside and the exact
 * address is returned. The data paths (MemCpy, MemWrite, Start/CheckSequence) take no lock.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "osci_seg_priv.h"
#include "seg_bcast.h"
#include "seg_obj.h"

#define MAP_FLAGS_OK (SCI_FLAG_READONLY_MAP | SCI_FLAG_SHARED_MAP | SCI_FLAG_IO_MAP_IOSPACE | \
                      SCI_FLAG_WRITE_BACK_CACHE_MAP | SCI_FLAG_NO_MEMORY_LOOPBACK_MAP)
/* Remote-map flags of SCI-era hardware with no PCIe/RDMA counterpart: remote atomics and interrupt
 * maps. Refused with NOT_SUPPORTED (accepting them would promise what no OpenSCI driver does). */
#define MAP_FLAGS_NOTSUP (SCI_FLAG_LOCK_OPERATION | SCI_FLAG_CONDITIONAL_INTERRUPT_MAP | \
                          SCI_FLAG_UNCONDITIONAL_DATA_INTERRUPT_MAP)

static bool map_valid(sci_map_t m) { return seg__handle_live(m, SEG_MAP_MAGIC); }
static bool seq_valid(sci_sequence_t s) { return seg__handle_live(s, SEG_SEQ_MAGIC); }
/* A sequence whose map was unmapped (a use of it is an error; -EPERM: ILLEGAL_OPERATION). */
static bool seq_dead(sci_sequence_t s) { return atomic_load_explicit(&s->orphan, memory_order_acquire); }

/* The entry check of Start/CheckSequence (lock-free), a dead sequence included. */
static int seq_enter(sci_sequence_t s, unsigned int flags, unsigned int allowed)
{
    int rc = seg__enter(s, SEG_SEQ_MAGIC, flags, allowed);

    return rc < 0 ? rc : seq_dead(s) ? -EPERM : 0;
}

static int map_args(size_t seg_size, size_t offset, size_t size, void *addr, unsigned int flags)
{
    if (flags & ~(MAP_FLAGS_OK | SCI_FLAG_FIXED_MAP_ADDR))
        return -SEG_EFLAG;
    if (flags & SCI_FLAG_FIXED_MAP_ADDR)
        return -EOPNOTSUPP;
    if (addr)
        return -EINVAL;     /* a placement hint needs FIXED_MAP_ADDR, which is not supported */
    if (size == 0)
        return -SEG_ESIZE;
    if (offset >= seg_size || size > seg_size - offset)
        return -ERANGE;
    return 0;
}

static struct sci_map *map_new(enum seg_map_kind kind, size_t offset, size_t size)
{
    struct sci_map *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->magic = SEG_MAP_MAGIC;
    m->kind = kind;
    m->offset = offset;
    m->size = size;
    if (seg__handle_add(m) < 0) {
        free(m);
        return NULL;
    }
    osci_list_add(&segx.maps, &m->link);
    return m;
}

SISCI_API_EXPORT void *SCIMapLocalSegment(sci_local_segment_t ls, sci_map_t *map, size_t offset, size_t size,
                                          void *addr, unsigned int flags, sci_error_t *error)
{
    struct sci_map *m;
    void *ret = NULL;
    int rc;

    pthread_mutex_lock(&seg.lock);
    if ((rc = seg__enter(ls, SEG_LSEG_MAGIC, 0, 0)) < 0)   /* flags: map_args */
        goto out;
    if (!map) {
        rc = -EINVAL;
        goto out;
    }
    if ((rc = map_args(ls->size, offset, size, addr, flags)) < 0)
        goto out;
    if (ls->mem.kind == SEG_MEM_NONE) {
        rc = -EPERM;
        goto out;
    }
    m = map_new(SEG_MAP_LOCAL, offset, size);
    if (!m) {
        rc = -ENOMEM;
        goto out;
    }
    m->ls = ls;
    if (flags & SCI_FLAG_READONLY_MAP) {
        size_t pg = (size_t)sysconf(_SC_PAGESIZE);
        size_t start = offset & ~(pg - 1);
        void *p;
        if (ls->mem.view.fd < 0) {
            rc = -EOPNOTSUPP;     /* user memory has no second view to map read-only */
            goto err_map;
        }
        m->base_len = ((offset + size + pg - 1) & ~(pg - 1)) - start;
        p = mmap(NULL, m->base_len, PROT_READ, MAP_SHARED, ls->mem.view.fd, ls->mem.view.fd_offset + (off_t)start);
        if (p == MAP_FAILED) {
            rc = -errno;
            goto err_map;
        }
        m->base = p;
        m->readonly = true;
        m->addr = (uint8_t *)p + (offset - start);
    } else {
        m->addr = (uint8_t *)ls->mem.view.addr + offset;
    }
    ls->n_maps++;
    ls->sd->n_objs++;
    ret = m->addr;
    *map = m;
    goto out;

err_map:
    osci_list_del(&m->link);
    seg__handle_del(m);
    free(m);
out:
    pthread_mutex_unlock(&seg.lock);
    seg__set_error(error, rc);
    return ret;
}

SISCI_API_EXPORT volatile void *SCIMapRemoteSegment(sci_remote_segment_t rs, sci_map_t *map, size_t offset,
                                                    size_t size, void *addr, unsigned int flags, sci_error_t *error)
{
    struct sci_map *m;
    struct seg_adapter *a;
    void *p = NULL, *ret = NULL;
    size_t al, start = 0, len = 0;
    bool transfer = (flags & SCI_FLAG_OSCI_TRANSFER_MAP) != 0;
    int rc;

    pthread_mutex_lock(&seg.lock);
    if ((rc = seg__enter(rs, SEG_RSEG_MAGIC, 0, 0)) < 0)   /* flags: map_args */
        goto out;
    if (!rs->sd || !map) {
        rc = -EINVAL;
        goto out;
    }
    if (flags & MAP_FLAGS_NOTSUP) {
        rc = -EOPNOTSUPP;
        goto out;
    }
    if (rs->bc) {
        ret = seg__bcast_map(rs, map, offset, size, addr, flags, &rc);
        goto out;
    }
    if ((rc = map_args(rs->size, offset, size, addr, flags & ~SCI_FLAG_OSCI_TRANSFER_MAP)) < 0)
        goto out;
    if (rs->revoked || rs->state == RSEG_LOST || rs->state == RSEG_DISCONNECTING_OPERATIONAL ||
        rs->state == RSEG_DISCONNECTING_NOT_OPERATIONAL) {
        rc = -ESTALE;
        goto out;
    }
    if (rs->state != RSEG_OPERATIONAL) {
        rc = -ENOLINK;
        goto out;
    }
    a = &seg.adapter[rs->adapter];
    if (!transfer) {
        al = a->info.mem_align ? a->info.mem_align : (size_t)sysconf(_SC_PAGESIZE);
        start = offset - offset % al;
        len = offset + size - start;
        if (len % al)
            len += al - len % al;
        if (start + len > rs->size) {
            /* the exported range is whole aligned units; the tail beyond size belongs to the segment */
            len = (size_t)rs->size - start;
        }
        rc = osci_drv_rmem_map(a->drv, rs->rmem, start, len, (flags & SCI_FLAG_READONLY_MAP) != 0, &p);
        if (rc < 0)
            goto out;
    }
    m = map_new(SEG_MAP_REMOTE, offset, size);
    if (!m) {
        if (!transfer)
            osci_drv_rmem_unmap(a->drv, rs->rmem, p, len);
        rc = -ENOMEM;
        goto out;
    }
    m->rs = rs;
    m->readonly = (flags & SCI_FLAG_READONLY_MAP) != 0;
    if (transfer) {            /* MemCpy through the driver's put/get; no address */
        m->drv = a->drv;
        m->rmem = rs->rmem;
    } else {
        m->base = p;
        m->base_len = len;
        m->addr = (uint8_t *)p + (offset - start);
        ret = m->addr;
    }
    rs->n_maps++;
    rs->sd->n_objs++;
    *map = m;
out:
    pthread_mutex_unlock(&seg.lock);
    seg__set_error(error, rc);
    return ret;
}

static void map_destroy(struct sci_map *m)
{
    if (m->kind == SEG_MAP_LOCAL) {
        if (m->base)
            munmap(m->base, m->base_len);
        m->ls->n_maps--;
        m->ls->sd->n_objs--;
    } else {
        struct seg_adapter *a = &seg.adapter[m->rs->adapter];
        if (m->rs->bc) {
            seg__bcast_unmap(m);
        } else if (a->drv && !m->drv) {
            int rc = osci_drv_rmem_unmap(a->drv, m->rs->rmem, m->base, m->base_len);
            if (rc < 0)
                osci_log(OSCI_LOG_WARN, "map", "unmap: %s", osci_strerror(rc));
        }
        m->rs->n_maps--;
        m->rs->sd->n_objs--;
    }
    osci_list_del(&m->link);
    seg__handle_del(m);
    m->magic = 0;
    free(m);
}

void seg__map_free_all(void)
{
    struct sci_sequence *s, *stmp;
    struct sci_map *m;

    osci_list_for_each_safe(s, stmp, &segx.seqs, link) {
        osci_list_del(&s->link);
        seg__handle_del(s);
        free(s);
    }
    while ((m = osci_list_first(&segx.maps, struct sci_map, link)))
        map_destroy(m);
}

/*
 * Unmapping a map with sequences succeeds, as in Dolphin's library: its sequences stay valid handles
 * for SCIRemoveSequence, and every use of them reports an error (seq_dead). Lock held.
 */
static void seq_orphan(struct sci_map *map)
{
    struct sci_sequence *s;

    osci_list_for_each(s, &segx.seqs, link) {
        if (s->map != map)
            continue;
        atomic_store_explicit(&s->orphan, true, memory_order_release);
        s->map = NULL;
        s->fault_cnt = NULL;
        s->health = NULL;
    }
    map->n_seq = 0;
}

SISCI_API_EXPORT void SCIUnmapSegment(sci_map_t map, unsigned int flags, sci_error_t *error)
{
    int rc;

    /* Posted puts of a transfer map land first; without seg.lock, which the driver's progress needs. */
    if (map_valid(map) && map->drv && !flags && (rc = osci_drv_flush(map->drv, map->rmem)) < 0)
        osci_log(OSCI_LOG_WARN, "map", "unmap: earlier SCIMemCpy writes did not all land: %s", osci_strerror(rc));
    pthread_mutex_lock(&seg.lock);
    if ((rc = seg__enter(map, SEG_MAP_MAGIC, flags, 0)) < 0)
        goto out;
    if (map->n_seq)
        seq_orphan(map);
    map_destroy(map);
out:
    pthread_mutex_unlock(&seg.lock);
    seg__set_error(error, rc);
}

SISCI_API_EXPORT volatile void *SCIGetMapPointer(sci_map_t map)
{
    return map_valid(map) ? map->addr : NULL;
}

/* No physical or I/O address is exposed to user space on any OpenSCI driver (docs/sisci-compat.md). */
SISCI_API_EXPORT sci_ioaddr_t SCIGetMapPhysAddr(sci_map_t map)
{
    (void)map;
    return 0;
}

/* ---------------------------------------------------------------- sequences */

SISCI_API_EXPORT void SCICreateMapSequence(sci_map_t map, sci_sequence_t *sequence, unsigned int flags,
                                           sci_error_t *error)
{
    struct sci_sequence *s;
    int rc;

    pthread_mutex_lock(&seg.lock);
    if ((rc = seg__enter(map, SEG_MAP_MAGIC, flags, SCI_FLAG_FAST_BARRIER)) < 0)
        goto out;
    if (!sequence) {
        rc = -EINVAL;
        goto out;
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
        rc = -ENOMEM;
        goto out;
    }
    s->magic = SEG_SEQ_MAGIC;
    s->map = map;
    if (map->kind == SEG_MAP_REMOTE) {
        s->fault_cnt = &map->rs->fault_cnt;
        s->health = &map->rs->health;
        s->snap = atomic_load(s->fault_cnt);
    }
    if ((rc = seg__handle_add(s)) < 0) {
        free(s);
        goto out;
    }
    osci_list_add(&segx.seqs, &s->link);
    map->n_seq++;
    *sequence = s;
out:
    pthread_mutex_unlock(&seg.lock);
    seg__set_error(error, rc);
}

SISCI_API_EXPORT void SCIRemoveSequence(sci_sequence_t seq, unsigned int flags, sci_error_t *error)
{
    int rc;

    pthread_mutex_lock(&seg.lock);
    if ((rc = seg__enter(seq, SEG_SEQ_MAGIC, flags, 0)) < 0)
        goto out;
    osci_list_del(&seq->link);
    if (seq->map)
        seq->map->n_seq--;
    seg__handle_del(seq);
    seq->magic = 0;
    free(seq);
out:
    pthread_mutex_unlock(&seg.lock);
    seg__set_error(error, rc);
}

/*
 * Makes the posted puts of the sequence's transfer map (seq NULL: of every transfer map) reach remote
 * memory. A failure counts as a fault of the remote segment, so that SCICheckSequence reports it
 * (SCIFlush and SCIStoreBarrier have no error to return). Takes no lock unless a flush failed.
 */
static int seq_flush(sci_sequence_t seq)
{
    int rc = 0;

    if (seq) {
        if (!seq_valid(seq) || seq_dead(seq) || !seq->map->drv)
            return 0;
        rc = osci_drv_flush(seq->map->drv, seq->map->rmem);
        if (rc < 0)
            atomic_fetch_add_explicit(&seq->map->rs->fault_cnt, 1, memory_order_release);
        return rc;
    }
    for (unsigned int i = 0; i < OSCI_MAX_ADAPTERS; i++) {
        struct osci_drv *drv = seg.adapter[i].drv;
        struct sci_map *m;
        int r;

        if (!drv || (r = osci_drv_flush(drv, NULL)) == 0)
            continue;
        if (!rc)
            rc = r;
        pthread_mutex_lock(&seg.lock);
        osci_list_for_each(m, &segx.maps, link)
            if (m->kind == SEG_MAP_REMOTE && m->drv == drv)
                atomic_fetch_add_explicit(&m->rs->fault_cnt, 1, memory_order_release);
        pthread_mutex_unlock(&seg.lock);
    }
    return rc;
}

static sci_sequence_status_t seq_status(const struct sci_sequence *s, uint32_t snap)
{
    uint32_t h;
    if (!s->health)
        return SCI_SEQ_OK;
    h = atomic_load_explicit(s->health, memory_order_acquire);
    if (h == SEG_HEALTH_DEAD)
        return SCI_SEQ_NOT_RETRIABLE;
    if (h == SEG_HEALTH_NOTOP || atomic_load_explicit(s->fault_cnt, memory_order_acquire) != snap)
        return SCI_SEQ_RETRIABLE;
    return SCI_SEQ_OK;
}

SISCI_API_EXPORT sci_sequence_status_t SCIStartSequence(sci_sequence_t seq, unsigned int flags, sci_error_t *error)
{
    sci_sequence_status_t st;
    int rc = seq_enter(seq, flags, 0);

    if (rc < 0) {
        seg__set_error(error, rc);
        return SCI_SEQ_NOT_RETRIABLE;
    }
    if (seq->fault_cnt)
        seq->snap = atomic_load_explicit(seq->fault_cnt, memory_order_acquire);
    st = seq_status(seq, seq->snap);
    seg__set_error(error, 0);
    return st;
}

SISCI_API_EXPORT sci_sequence_status_t SCICheckSequence(sci_sequence_t seq, unsigned int flags, sci_error_t *error)
{
    int rc = seq_enter(seq, flags, SCI_FLAG_NO_FLUSH | SCI_FLAG_NO_STORE_BARRIER);

    if (rc < 0) {
        seg__set_error(error, rc);
        return SCI_SEQ_NOT_RETRIABLE;
    }
    if (!(flags & SCI_FLAG_NO_STORE_BARRIER))
        atomic_thread_fence(memory_order_seq_cst);
    if (!(flags & SCI_FLAG_NO_FLUSH))
        (void)seq_flush(seq);       /* a failure shows in seq_status() */
    seg__set_error(error, 0);
    return seq_status(seq, seq->snap);
}

SISCI_API_EXPORT void SCIStoreBarrier(sci_sequence_t seq, unsigned int flags)
{
    (void)flags;
    atomic_thread_fence(memory_order_seq_cst);
    (void)seq_flush(seq);
}

SISCI_API_EXPORT void SCIFlush(sci_sequence_t seq, unsigned int flags)
{
    atomic_thread_fence(memory_order_seq_cst);
    if (!(flags & SCI_FLAG_FLUSH_CPU_BUFFERS_ONLY))
        (void)seq_flush(seq);
}

SISCI_API_EXPORT void SCICacheSync(sci_map_t map, void *addr, size_t length, unsigned int flags, sci_error_t *error)
{
    int rc = seg__enter(NULL, 0, flags, SCI_FLAG_CACHE_FLUSH | SCI_FLAG_CACHE_INVALIDATE);

    if (rc < 0) {
        seg__set_error(error, rc);
        return;
    }
    if (length && !addr) {
        seg__set_error(error, -EFAULT);
        return;
    }
    if (map) {
        if (!map_valid(map)) {
            seg__set_error(error, -EINVAL);
            return;
        }
        if (length && ((uint8_t *)addr < map->addr || length > map->size ||
                       (uint8_t *)addr - map->addr > (ptrdiff_t)(map->size - length))) {
            seg__set_error(error, -ERANGE);
            return;
        }
    }
    /* The CPU caches are coherent with every OpenSCI window: a full fence orders the accesses. */
    atomic_thread_fence(memory_order_seq_cst);
    seg__set_error(error, 0);
}

/* ---------------------------------------------------------------- PIO */

SISCI_API_EXPORT void SCIMemCpy(sci_sequence_t seq, void *memAddr, sci_map_t map, size_t remoteOffset, size_t size,
                                unsigned int flags, sci_error_t *error)
{
    bool rd = (flags & SCI_FLAG_BLOCK_READ) != 0;
    _Atomic uint32_t *health = NULL;
    int rc = seg__enter(map, SEG_MAP_MAGIC, flags, SCI_FLAG_BLOCK_READ | SCI_FLAG_ERROR_CHECK);

    if (rc < 0 || (seq && !seq_valid(seq))) {
        seg__set_error(error, rc < 0 ? rc : -EINVAL);
        return;
    }
    if (seq && seq_dead(seq)) {
        seg__set_error(error, -EPERM);
        return;
    }
    if (!memAddr && size) {
        seg__set_error(error, -EFAULT);
        return;
    }
    if (remoteOffset > map->size || size > map->size - remoteOffset) {
        seg__set_error(error, -ERANGE);
        return;
    }
    if (!rd && map->readonly) {
        seg__set_error(error, -EACCES);
        return;
    }
    if (map->kind == SEG_MAP_REMOTE) {
        health = &map->rs->health;
        if (atomic_load_explicit(health, memory_order_acquire) == SEG_HEALTH_DEAD) {
            seg__set_error(error, -EIO);         /* the mapping no longer reaches the segment */
            return;
        }
    }
    if (map->drv) {
        rc = map->rs->bc ? seg__bcast_xfer(map, remoteOffset, memAddr, size, rd)
               : rd ? osci_drv_get(map->drv, map->rmem, map->offset + remoteOffset, memAddr, size)
                    : osci_drv_put(map->drv, map->rmem, map->offset + remoteOffset, memAddr, size);
        if (rc == 0 && !rd && (flags & SCI_FLAG_ERROR_CHECK))
            rc = osci_drv_flush(map->drv, map->rmem);     /* the check covers where the data landed */
        if (rc < 0) {
            seg__set_error(error, rc == -ENOTCONN || rc == -ECONNRESET ? -EIO : rc);
            return;
        }
    } else if (rd) {
        memcpy(memAddr, map->addr + remoteOffset, size);
    } else {
        memcpy(map->addr + remoteOffset, memAddr, size);
    }
    /* The copy is ordered before the caller's later loads and stores of other memory (acq_rel: no
     * instruction on x86); a full fence (a locked RMW, which waits for the whole copy to leave the store
     * buffer: a fifth of a 4 KiB call) only where the error check must come after the stores. SCIFlush and
     * SCIStoreBarrier are the full fences, as in SISCI. */
    if (flags & SCI_FLAG_ERROR_CHECK)
        atomic_thread_fence(memory_order_seq_cst);
    else
        atomic_thread_fence(memory_order_acq_rel);
    if ((flags & SCI_FLAG_ERROR_CHECK) && health) {
        uint32_t h = atomic_load_explicit(health, memory_order_acquire);
        bool failed = h != SEG_HEALTH_OK;
        if (seq && seq->fault_cnt && atomic_load_explicit(seq->fault_cnt, memory_order_acquire) != seq->snap)
            failed = true;
        if (failed) {
            seg__set_error(error, -EIO);
            return;
        }
    }
    seg__set_error(error, 0);
}

/* common/osci_seg_priv.h: libnvsciipc's FIFO frame + index + fence, one call instead of two SCIMemCpy and a
 * SCIFlush (three handle checks, two fences). */
OSCI_EXPORT int osci__map_put_word(sci_map_t map, size_t off, const void *src, size_t len, size_t word_off,
                                   uint32_t word)
{
    int rc = 0;

    if (!map_valid(map) || (word_off & 3))
        return -EINVAL;
    if (off > map->size || len > map->size - off || word_off > map->size || map->size - word_off < sizeof(word))
        return -ERANGE;
    if (len && !src)
        return -EFAULT;
    if (map->readonly)
        return -EACCES;
    if (map->kind == SEG_MAP_REMOTE && atomic_load_explicit(&map->rs->health, memory_order_acquire) == SEG_HEALTH_DEAD)
        return -EIO;
    if (map->drv) {
        if (map->rs->bc)
            return -EOPNOTSUPP;   /* a broadcast group has no FIFO */
        if (len)
            rc = osci_drv_put(map->drv, map->rmem, map->offset + off, src, len);
        if (rc == 0)
            rc = osci_drv_put(map->drv, map->rmem, map->offset + word_off, &word, sizeof(word));
        if (rc == 0)
            rc = osci_drv_flush(map->drv, map->rmem);
        if (rc < 0) {
            atomic_fetch_add_explicit(&map->rs->fault_cnt, 1, memory_order_release);
            return -EIO;
        }
        atomic_thread_fence(memory_order_seq_cst);
    } else {
        memcpy(map->addr + off, src, len);
        atomic_store((_Atomic uint32_t *)(void *)(map->addr + word_off), word);   /* seq_cst */
    }
    return 0;
}

SISCI_API_EXPORT void SCIMemWrite(void *memAddr, volatile void *remoteAddr, size_t size, unsigned int flags,
                                  sci_error_t *error)
{
    int rc = seg__enter(NULL, 0, flags, SCI_FLAG_ERROR_CHECK);

    if (rc < 0) {
        seg__set_error(error, rc);
        return;
    }
    if (size && (!memAddr || !remoteAddr)) {
        seg__set_error(error, -EFAULT);
        return;
    }
    memcpy((void *)remoteAddr, memAddr, size);
    atomic_thread_fence(memory_order_seq_cst);
    seg__set_error(error, 0);
}
