/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * SCI_FLAG_BROADCAST: Dolphin's reflective memory. Every member creates a local segment with the group
 * id and SCI_FLAG_BROADCAST and sets it available; a remote segment connected to node
 * DIS_BROADCAST_NODEID_GROUP_ALL with that id writes to every member's copy.
 *
 * Memory. On a driver with a multicast window (simntb), every member's local segment IS the group's one
 * shared memory, and the broadcast map maps it too: a store reaches every copy at once and in order.
 * Elsewhere (rdma) each member has its own memory and SCIMemCpy through a broadcast transfer map posts
 * one put per member (the self member by memcpy), in issue order per member.
 *
 * Membership (libseg, any driver): the BCAST message. A node whose broadcast segment becomes available
 * sends JOIN to every peer, one that connects a broadcast remote segment sends SCAN, and both are
 * answered by ACK (the answerer's membership); LEAVE when a member's segment goes. Peers coming up get
 * JOIN/SCAN too. Each member's local broadcast segment reports the others: CB_CONNECT (joined),
 * CB_DISCONNECT (left), CB_LOST (its node died), with the member's node id.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "seg_bcast.h"

#define BCAST_MAP_FLAGS (SCI_FLAG_READONLY_MAP | SCI_FLAG_SHARED_MAP | SCI_FLAG_IO_MAP_IOSPACE | \
                         SCI_FLAG_WRITE_BACK_CACHE_MAP | SCI_FLAG_NO_MEMORY_LOOPBACK_MAP | SCI_FLAG_BROADCAST | \
                         SCI_FLAG_OSCI_TRANSFER_MAP)

struct bcast_member {
    bool on;
    uint64_t size;
    uint32_t xport_len;
    uint8_t xport[OSCI_DRV_XPORT_MAX];
};

/* What this process knows of one group on one adapter; alive while a local or remote segment uses it. */
struct bcast_group {
    struct osci_list_node link;             /* in groups */
    unsigned int adapter;
    uint32_t id;
    unsigned int refs;
    struct bcast_member m[SEG_MAX_NODES];   /* remote members by node id */
    bool asked[SEG_MAX_NODES];              /* JOIN/SCAN sent, ACK not yet received */
};

struct seg_bcast_rs {
    struct bcast_group *g;
    bool mcast;                             /* the group memory is the driver's multicast window */
    struct osci_drv_mem_view view;          /* mcast: this remote segment's attach */
    pthread_mutex_t lock;                   /* fan-out: rmem[] and self against membership changes */
    struct osci_drv_rmem *rmem[SEG_MAX_NODES];
    uint8_t *self;                          /* own member copy (not mcast), NULL when not a member */
};

static struct osci_list_head groups = OSCI_LIST_HEAD_INIT(groups);
static struct osci_list_head brsegs = OSCI_LIST_HEAD_INIT(brsegs);   /* broadcast remote segments (not in segx.rsegs) */

static struct bcast_group *group_find(unsigned int adapter, uint32_t id)
{
    struct bcast_group *g;

    osci_list_for_each(g, &groups, link)
        if (g->adapter == adapter && g->id == id)
            return g;
    return NULL;
}

static struct bcast_group *group_get(unsigned int adapter, uint32_t id)
{
    struct bcast_group *g = group_find(adapter, id);
    if (!g) {
        g = calloc(1, sizeof(*g));
        if (!g)
            return NULL;
        g->adapter = adapter;
        g->id = id;
        osci_list_add(&groups, &g->link);
    }
    g->refs++;
    return g;
}

static void group_put(struct bcast_group *g)
{
    if (--g->refs)
        return;
    osci_list_del(&g->link);
    free(g);
}

/* This process's member segment of g, if any. */
static struct sci_local_segment *self_lseg(const struct bcast_group *g)
{
    struct sci_local_segment *ls;

    osci_list_for_each(ls, &segx.lsegs, link)
        if ((ls->flags & SCI_FLAG_BROADCAST) && ls->id == g->id && (ls->bcast_joined & (1u << g->adapter)))
            return ls;
    return NULL;
}

static void send_op(struct seg_adapter *a, uint32_t node, uint32_t id, enum seg_bcast_op op,
                    const struct sci_local_segment *ls)
{
    struct seg_msg m = { .type = SEG_MSG_BCAST };
    m.u.bcast.seg_id = id;
    m.u.bcast.op = op;
    if (ls && op != SEG_BCAST_LEAVE && op != SEG_BCAST_SCAN) {
        m.u.bcast.size = ls->size;
        m.u.bcast.xport_len = ls->xport_len[a->no];
        memcpy(m.u.bcast.xport, ls->xport[a->no], ls->xport_len[a->no]);
    }
    seg__send(a, node, &m);
}

/* JOIN, SCAN or LEAVE to every peer that is up; JOIN and SCAN wait for an ACK from each. */
static void send_all(struct bcast_group *g, enum seg_bcast_op op, const struct sci_local_segment *ls)
{
    struct seg_adapter *a = &seg.adapter[g->adapter];
    for (uint32_t n = 1; n < SEG_MAX_NODES; n++) {
        if (n == a->drv->node_id || !seg__peer_up(&a->peer[n]))
            continue;
        if (op != SEG_BCAST_LEAVE)
            g->asked[n] = true;
        send_op(a, n, g->id, op, ls);
    }
}

/* Points the fan-out of every remote segment of g at the own member copy (or at none). */
static void refresh_self(struct bcast_group *g)
{
    struct sci_local_segment *ls = self_lseg(g);
    struct sci_remote_segment *rs;

    osci_list_for_each(rs, &brsegs, link) {
        if (rs->bc->g != g || rs->bc->mcast)
            continue;
        pthread_mutex_lock(&rs->bc->lock);
        rs->bc->self = ls && ls->size >= rs->size ? ls->mem.view.addr : NULL;
        pthread_mutex_unlock(&rs->bc->lock);
    }
}

static void rs_import(struct sci_remote_segment *rs, uint32_t node)
{
    struct seg_bcast_rs *bc = rs->bc;
    struct bcast_member *mb = &bc->g->m[node];
    struct osci_drv *drv = seg.adapter[rs->adapter].drv;
    struct osci_drv_rmem *r = NULL;
    int rc;

    if (bc->mcast || bc->rmem[node])
        return;
    if (mb->size < rs->size) {
        osci_log(OSCI_LOG_WARN, "bcast", "group %u: member %u has %llu bytes, fewer than %llu: not written",
                 rs->seg_id, node, (unsigned long long)mb->size, (unsigned long long)rs->size);
        return;
    }
    rc = osci_drv_rmem_import(drv, node, mb->xport, mb->xport_len, &r);
    if (rc < 0) {
        osci_log(OSCI_LOG_WARN, "bcast", "group %u: member %u: import: %s", rs->seg_id, node, osci_strerror(rc));
        return;
    }
    pthread_mutex_lock(&bc->lock);
    bc->rmem[node] = r;
    pthread_mutex_unlock(&bc->lock);
}

static void rs_release(struct sci_remote_segment *rs, uint32_t node)
{
    struct seg_bcast_rs *bc = rs->bc;
    struct osci_drv *drv = seg.adapter[rs->adapter].drv;
    struct osci_drv_rmem *r;

    pthread_mutex_lock(&bc->lock);
    r = bc->rmem[node];
    bc->rmem[node] = NULL;
    pthread_mutex_unlock(&bc->lock);
    if (r && drv)
        osci_drv_rmem_release(drv, r);
}

static void member_event(struct bcast_group *g, sci_segment_cb_reason_t reason, uint32_t node)
{
    struct sci_local_segment *ls;

    osci_list_for_each(ls, &segx.lsegs, link)
        if ((ls->flags & SCI_FLAG_BROADCAST) && ls->id == g->id && (ls->bcast_joined & (1u << g->adapter)))
            seg__lseg_post(ls, reason, node, g->adapter);
}

static void member_add(struct bcast_group *g, uint32_t node, const struct seg_msg *m)
{
    struct bcast_member *mb = &g->m[node];
    struct sci_remote_segment *rs;
    bool was = mb->on;

    if (was && mb->size == m->u.bcast.size && mb->xport_len == m->u.bcast.xport_len &&
        !memcmp(mb->xport, m->u.bcast.xport, mb->xport_len))
        return;
    if (was)
        osci_list_for_each(rs, &brsegs, link)
            if (rs->bc->g == g)
                rs_release(rs, node);
    mb->on = true;
    mb->size = m->u.bcast.size;
    mb->xport_len = m->u.bcast.xport_len;
    memcpy(mb->xport, m->u.bcast.xport, mb->xport_len);
    osci_log(OSCI_LOG_DEBUG, "bcast", "group %u adapter %u: node %u joined", g->id, g->adapter, node);
    osci_list_for_each(rs, &brsegs, link)
        if (rs->bc->g == g)
            rs_import(rs, node);
    if (!was)
        member_event(g, SCI_CB_CONNECT, node);
}

static void member_del(struct bcast_group *g, uint32_t node, sci_segment_cb_reason_t reason)
{
    struct sci_remote_segment *rs;

    if (!g->m[node].on)
        return;
    g->m[node].on = false;
    osci_log(OSCI_LOG_DEBUG, "bcast", "group %u adapter %u: node %u %s", g->id, g->adapter, node,
             reason == SCI_CB_LOST ? "lost" : "left");
    osci_list_for_each(rs, &brsegs, link) {
        if (rs->bc->g != g)
            continue;
        rs_release(rs, node);
        if (reason == SCI_CB_LOST)      /* stores since the last check may have missed it */
            atomic_fetch_add(&rs->fault_cnt, 1);
    }
    member_event(g, reason, node);
}

/* ---------------------------------------------------------------- local segments */

int seg__bcast_create_check(unsigned int flags)
{
    if (flags & (SCI_FLAG_EMPTY | SCI_FLAG_PRIVATE | SCI_FLAG_AUTO_ID)) {
        osci_log(OSCI_LOG_INFO, "bcast", "BROADCAST with EMPTY, PRIVATE or AUTO_ID: the group id is the segment id");
        return -SEG_EFLAG;
    }
    return 0;
}

int seg__bcast_alloc(struct seg_lmem *mem, uint32_t id, size_t size)
{
    for (unsigned int i = 0; i < OSCI_MAX_ADAPTERS; i++) {
        struct seg_adapter *a = &seg.adapter[i];
        int rc;
        if (!a->drv)
            continue;
        rc = osci_drv_mcast_attach(a->drv, id, size, &mem->view);
        if (rc == -EOPNOTSUPP)
            continue;            /* this instance has no multicast window (simntb multicast=0) */
        if (rc < 0) {
            osci_log(OSCI_LOG_INFO, "bcast", "group %u: adapter %u: no group memory of %zu bytes: %s", id, i, size,
                     osci_strerror(rc));
            return rc;
        }
        mem->kind = SEG_MEM_MCAST;
        mem->drv_adapter = i;
        return 0;
    }
    return -EOPNOTSUPP;
}

int seg__bcast_prepare(struct sci_local_segment *ls, struct seg_adapter *a)
{
    if (a->no != ls->mem.drv_adapter) {
        osci_log(OSCI_LOG_INFO, "bcast", "group %u: its memory is adapter %u's multicast window, not adapter %u's",
                 ls->id, ls->mem.drv_adapter, a->no);
        return -EOPNOTSUPP;
    }
    return lseg_transition(ls, a->no, LSEG_EV_PREPARE);
}

void seg__bcast_lseg_changed(struct sci_local_segment *ls, unsigned int adapter)
{
    bool member = !ls->o.removed && ls->state[adapter] == LSEG_AVAILABLE;
    bool joined = (ls->bcast_joined & (1u << adapter)) != 0;
    struct bcast_group *g;

    if (member == joined || !seg.adapter[adapter].drv)
        return;
    if (member) {
        g = group_get(adapter, ls->id);
        if (!g)
            return;              /* out of memory: not announced; peers do not write to it */
        ls->bcast_joined |= 1u << adapter;
        send_all(g, SEG_BCAST_JOIN, ls);
        for (uint32_t n = 1; n < SEG_MAX_NODES; n++)   /* members known already (our remote segment's) */
            if (g->m[n].on)
                seg__lseg_post(ls, SCI_CB_CONNECT, n, adapter);
    } else {
        g = group_find(adapter, ls->id);
        ls->bcast_joined &= ~(1u << adapter);
        if (!g)
            return;
        send_all(g, SEG_BCAST_LEAVE, NULL);
    }
    refresh_self(g);
    if (!member)
        group_put(g);
}

/* ---------------------------------------------------------------- protocol */

void seg__bcast_on_msg(struct seg_adapter *a, const struct seg_msg *m)
{
    uint32_t node = m->src_node;
    struct bcast_group *g = group_find(a->no, m->u.bcast.seg_id);

    switch (m->u.bcast.op) {
    case SEG_BCAST_JOIN:
        if (g && m->u.bcast.size)
            member_add(g, node, m);
        /* fall through */
    case SEG_BCAST_SCAN:
        send_op(a, node, m->u.bcast.seg_id, SEG_BCAST_ACK, g ? self_lseg(g) : NULL);
        break;
    case SEG_BCAST_ACK:
        if (!g)
            break;
        g->asked[node] = false;
        if (m->u.bcast.size)
            member_add(g, node, m);
        else
            member_del(g, node, SCI_CB_DISCONNECT);
        pthread_cond_broadcast(&seg.cond);
        break;
    case SEG_BCAST_LEAVE:
        if (g)
            member_del(g, node, SCI_CB_DISCONNECT);
        break;
    default:
        break;
    }
}

void seg__bcast_peer_up(struct seg_adapter *a, uint32_t node)
{
    struct bcast_group *g;

    osci_list_for_each(g, &groups, link) {
        struct sci_local_segment *ls;
        if (g->adapter != a->no)
            continue;
        ls = self_lseg(g);
        g->asked[node] = true;
        send_op(a, node, g->id, ls ? SEG_BCAST_JOIN : SEG_BCAST_SCAN, ls);
    }
}

void seg__bcast_peer_lost(struct seg_adapter *a, uint32_t node)
{
    struct bcast_group *g;

    osci_list_for_each(g, &groups, link) {
        if (g->adapter != a->no)
            continue;
        g->asked[node] = false;
        member_del(g, node, SCI_CB_LOST);
    }
    pthread_cond_broadcast(&seg.cond);
}

/* ---------------------------------------------------------------- remote segment */

/* An answer is still due from a peer that is up (one whose link went down answers when it is back). */
static bool asked_any(const struct bcast_group *g)
{
    for (uint32_t n = 1; n < SEG_MAX_NODES; n++)
        if (g->asked[n] && seg__peer_up(&seg.adapter[g->adapter].peer[n]))
            return true;
    return false;
}

static void rs_free(struct sci_remote_segment *rs)
{
    struct seg_bcast_rs *bc = rs->bc;
    struct osci_drv *drv = seg.adapter[rs->adapter].drv;

    if (bc) {
        for (uint32_t n = 1; n < SEG_MAX_NODES; n++)
            rs_release(rs, n);
        if (bc->mcast && drv)
            osci_drv_mcast_detach(drv, &bc->view);
        if (bc->g)
            group_put(bc->g);
        pthread_mutex_destroy(&bc->lock);
        free(bc);
        rs->bc = NULL;
    }
    seg__evq_clear(&rs->evq);
    seg__handle_del(rs);
    rs->o.magic = 0;
    seg__obj_put(&rs->o);                 /* the handle's reference: freed here or by its last run */
}

int seg__bcast_connect(sci_desc_t sd, sci_remote_segment_t *segment, unsigned int node, unsigned int id,
                       unsigned int adapter, sci_cb_remote_segment_t cb, void *cb_arg, unsigned int timeout,
                       unsigned int flags)
{
    struct sci_remote_segment *rs;
    struct sci_local_segment *ls;
    struct seg_bcast_rs *bc;
    struct seg_adapter *a;
    struct bcast_group *g;
    uint64_t deadline, size = 0;
    int rc;

    if (flags & ~(SCI_FLAG_BROADCAST | SCI_FLAG_USE_CALLBACK))
        return -SEG_EFLAG;
    if (node != DIS_BROADCAST_NODEID_GROUP_ALL) {
        osci_log(OSCI_LOG_INFO, "bcast", "BROADCAST connect to node %u: the node id must be "
                 "DIS_BROADCAST_NODEID_GROUP_ALL (%u)", node, DIS_BROADCAST_NODEID_GROUP_ALL);
        return -EADDRNOTAVAIL;
    }
    if ((rc = seg__adapter_check(adapter, &a)) < 0)
        return rc;
    if (seg__on_event_thread())
        return -EPERM;
    rs = seg__obj_new(sizeof(*rs), SEG_RSEG_MAGIC, &seg__rseg_ops, flags, (void (*)(void))cb, cb_arg);
    bc = calloc(1, sizeof(*bc));
    if (!rs || !bc) {
        free(rs);
        free(bc);
        return -ENOMEM;
    }
    pthread_mutex_init(&bc->lock, NULL);
    bc->view.fd = -1;
    rs->node = node;
    rs->seg_id = id;
    rs->adapter = a->no;
    rs->state = RSEG_CONNECTING;
    seg__evq_init(&rs->evq, rs->evbuf, SEG_RSEG_EVQ_LEN, true);
    rs->bc = bc;
    atomic_init(&rs->fault_cnt, 0);
    atomic_init(&rs->health, SEG_HEALTH_NOTOP);
    if ((rc = seg__handle_add(rs)) < 0) {
        pthread_mutex_destroy(&bc->lock);
        free(bc);
        free(rs);
        return rc;
    }
    g = bc->g = group_get(a->no, id);
    if (!g) {
        rc = -ENOMEM;
        goto err;
    }
    /* Ask every peer; wait for the answers (a peer that dies answers by being lost). */
    ls = self_lseg(g);
    send_all(g, ls ? SEG_BCAST_JOIN : SEG_BCAST_SCAN, ls);
    deadline = osci_now_ms() + (timeout == SCI_INFINITE_TIMEOUT ? SEG_DEFAULT_CONNECT_MS : timeout);
    while (asked_any(g) && seg__cond_wait(deadline) == 0)
        ;
    if ((ls = self_lseg(g)))
        size = ls->size;
    for (uint32_t n = 1; n < SEG_MAX_NODES && !size; n++)
        if (g->m[n].on)
            size = g->m[n].size;
    if (!size) {
        rc = -ENOENT;            /* no member yet: SISCI programs retry on NO_SUCH_SEGMENT */
        goto err;
    }
    rs->size = size;
    rc = osci_drv_mcast_attach(a->drv, id, size, &bc->view);
    if (rc < 0 && rc != -EOPNOTSUPP)
        goto err;
    bc->mcast = rc == 0;
    osci_list_add(&brsegs, &rs->link);
    for (uint32_t n = 1; n < SEG_MAX_NODES; n++)
        if (g->m[n].on)
            rs_import(rs, n);
    refresh_self(g);
    rseg_transition(rs, SCI_CB_OPERATIONAL);
    atomic_store(&rs->health, SEG_HEALTH_OK);
    rs->sd = sd;
    sd->n_objs++;
    seg__rseg_post(rs, SCI_CB_CONNECT);
    osci_log(OSCI_LOG_DEBUG, "bcast", "group %u adapter %u: connected (%llu bytes%s)", id, a->no,
             (unsigned long long)size, bc->mcast ? ", multicast window" : ", one put per member");
    *segment = rs;
    return 0;

err:
    rs_free(rs);
    return rc;
}

static void rs_unlink(struct sci_remote_segment *rs)
{
    osci_list_del(&rs->link);
}

int seg__bcast_disconnect(struct sci_remote_segment *rs)
{
    if (rs->n_maps)
        return -EBUSY;
    rs_unlink(rs);
    seg__rseg_retire(rs);
    rs_free(rs);
    return 0;
}

void seg__bcast_free_all(void)
{
    struct sci_remote_segment *rs;

    while ((rs = seg__rseg_pop_removed(&brsegs)))
        rs_free(rs);
}

/* ---------------------------------------------------------------- maps and transfers */

void *seg__bcast_map(struct sci_remote_segment *rs, sci_map_t *map, size_t offset, size_t size, void *addr,
                     unsigned int flags, int *rc_p)
{
    struct seg_bcast_rs *bc = rs->bc;
    struct sci_map *m;
    size_t pg = (size_t)sysconf(_SC_PAGESIZE), start = offset & ~(pg - 1), len = 0;
    bool ro = (flags & SCI_FLAG_READONLY_MAP) != 0;
    void *p = NULL;

    *rc_p = 0;
    if (flags & ~(BCAST_MAP_FLAGS | SCI_FLAG_FIXED_MAP_ADDR))
        *rc_p = -SEG_EFLAG;
    else if (flags & SCI_FLAG_FIXED_MAP_ADDR)
        *rc_p = -EOPNOTSUPP;
    else if (addr)
        *rc_p = -EINVAL;
    else if (size == 0)
        *rc_p = -SEG_ESIZE;
    else if (offset >= rs->size || size > rs->size - offset)
        *rc_p = -ERANGE;
    else if (!bc->mcast && !(flags & SCI_FLAG_OSCI_TRANSFER_MAP))
        *rc_p = -EOPNOTSUPP;     /* one put per member: no CPU pointer reaches them all */
    if (*rc_p < 0)
        return NULL;
    if (!(flags & SCI_FLAG_OSCI_TRANSFER_MAP)) {
        len = ((offset + size + pg - 1) & ~(pg - 1)) - start;
        p = mmap(NULL, len, ro ? PROT_READ : PROT_READ | PROT_WRITE, MAP_SHARED, bc->view.fd,
                 bc->view.fd_offset + (off_t)start);
        if (p == MAP_FAILED) {
            *rc_p = -errno;
            return NULL;
        }
    }
    m = calloc(1, sizeof(*m));
    if (!m || seg__handle_add(m) < 0) {
        free(m);
        if (p)
            munmap(p, len);
        *rc_p = -ENOMEM;
        return NULL;
    }
    m->magic = SEG_MAP_MAGIC;
    m->kind = SEG_MAP_REMOTE;
    osci_list_add(&segx.maps, &m->link);
    m->rs = rs;
    m->offset = offset;
    m->size = size;
    m->readonly = ro;
    if (p) {
        m->base = p;
        m->base_len = len;
        m->addr = (uint8_t *)p + (offset - start);
    } else {
        m->drv = seg.adapter[rs->adapter].drv;   /* transfer map: SCIMemCpy goes to seg__bcast_xfer */
    }
    rs->n_maps++;
    rs->sd->n_objs++;
    *map = m;
    return m->addr;
}

void seg__bcast_unmap(struct sci_map *m)
{
    if (m->base)
        munmap(m->base, m->base_len);
}

int seg__bcast_xfer(struct sci_map *m, size_t off, void *buf, size_t len, bool rd)
{
    struct seg_bcast_rs *bc = m->rs->bc;
    struct osci_drv *drv = m->drv;
    int rc = 0;

    off += m->offset;
    if (bc->mcast) {             /* a transfer map of the multicast window: the window is the group */
        uint8_t *w = (uint8_t *)bc->view.addr + off;
        if (rd)
            memcpy(buf, w, len);
        else
            memcpy(w, buf, len);
        return 0;
    }
    pthread_mutex_lock(&bc->lock);
    if (rd) {
        rc = -ENOTCONN;
        if (bc->self) {
            memcpy(buf, bc->self + off, len);
            rc = 0;
        }
        for (uint32_t n = 1; n < SEG_MAX_NODES && rc < 0; n++)
            if (bc->rmem[n])
                rc = osci_drv_get(drv, bc->rmem[n], off, buf, len);
    } else {
        for (uint32_t n = 1; n < SEG_MAX_NODES; n++) {
            int r;
            if (!bc->rmem[n])
                continue;
            r = osci_drv_put(drv, bc->rmem[n], off, buf, len);
            if (r < 0 && !rc)
                rc = r;
        }
        if (bc->self)
            memcpy(bc->self + off, buf, len);
    }
    pthread_mutex_unlock(&bc->lock);
    return rc;
}
