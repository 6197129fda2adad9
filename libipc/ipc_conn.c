/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* The connection handshake every NvSciIpc backend runs: per side DISC, SYNC, ACK, EST; the backend
 * publishes our state, reports the peer's, clears the indices it owns and wakes the peer. */
#include <errno.h>

#include "ipc_internal.h"
#include "osci_log.h"

static const char *const cs_names[IPC_CS_COUNT] = { "DISC", "SYNC", "ACK", "EST" };
static const char *const ce_names[IPC_CE_COUNT] = { "reset", "peer_sync", "peer_ack", "peer_est", "peer_gone",
                                                    "close" };

/* The machine, one row per state: the legal events, each with the next state and what goes with it. */
enum { TR_LEGAL = 1, TR_CLEAR = 2, TR_NOTIFY = 4, TR_GAIN_EST = 8, TR_LOSE_EST = 16 };
struct conn_tr {
    uint8_t next;    /* enum ipc_conn_state */
    uint8_t flags;   /* TR_CLEAR: zero our FIFO indices; TR_NOTIFY: wake the peer; TR_GAIN_EST / TR_LOSE_EST:
                        report CONN_EST / CONN_RESET (which cancels an unreported CONN_EST) */
};
#define TR(state, flags) { IPC_CS_##state, TR_LEGAL | (flags) }
static const struct conn_tr g_tr[IPC_CS_COUNT][IPC_CE_COUNT] = {
    [IPC_CS_DISC] = {
        [IPC_CE_RESET] = TR(SYNC, TR_NOTIFY),
        [IPC_CE_PEER_GONE] = TR(DISC, 0),
        [IPC_CE_CLOSE] = TR(DISC, 0),
    },
    [IPC_CS_SYNC] = {
        [IPC_CE_RESET] = TR(SYNC, TR_NOTIFY),
        [IPC_CE_PEER_SYNC] = TR(ACK, TR_CLEAR | TR_NOTIFY),
        [IPC_CE_PEER_ACK] = TR(EST, TR_CLEAR | TR_NOTIFY | TR_GAIN_EST),
        [IPC_CE_PEER_GONE] = TR(SYNC, 0),
        [IPC_CE_CLOSE] = TR(DISC, TR_NOTIFY),
    },
    [IPC_CS_ACK] = {
        [IPC_CE_RESET] = TR(SYNC, TR_NOTIFY),
        [IPC_CE_PEER_SYNC] = TR(ACK, 0),
        [IPC_CE_PEER_ACK] = TR(EST, TR_NOTIFY | TR_GAIN_EST),
        [IPC_CE_PEER_EST] = TR(EST, TR_GAIN_EST),   /* the peer is established already: it needs no wake-up */
        [IPC_CE_PEER_GONE] = TR(SYNC, 0),
        [IPC_CE_CLOSE] = TR(DISC, TR_NOTIFY),
    },
    [IPC_CS_EST] = {
        [IPC_CE_RESET] = TR(SYNC, TR_NOTIFY),
        [IPC_CE_PEER_SYNC] = TR(ACK, TR_CLEAR | TR_NOTIFY | TR_LOSE_EST),
        [IPC_CE_PEER_GONE] = TR(SYNC, TR_LOSE_EST),
        [IPC_CE_CLOSE] = TR(DISC, TR_NOTIFY),
    },
};
#undef TR

/* The only writer of c->state. */
int ipc__conn_event(struct ipc_conn *c, enum ipc_conn_event ev)
{
    uint32_t old = c->state, next;
    struct conn_tr tr;
    if (old >= IPC_CS_COUNT || (unsigned)ev >= IPC_CE_COUNT || !((tr = g_tr[old][ev]).flags & TR_LEGAL)) goto illegal;
    next = tr.next;
    if (tr.flags & TR_CLEAR) c->ops->clear(c->ctx);
    if (tr.flags & TR_GAIN_EST) c->pending |= NV_SCI_IPC_EVENT_CONN_EST;
    if (tr.flags & TR_LOSE_EST)
        c->pending = (c->pending & ~NV_SCI_IPC_EVENT_CONN_EST) | NV_SCI_IPC_EVENT_CONN_RESET;
    if (next != old) {
        osci_log(OSCI_LOG_DEBUG, "ipc", "%s: %s --%s--> %s", c->name, cs_names[old], ce_names[ev], cs_names[next]);
        c->state = next;
        c->draining = 0;
        c->ops->publish(c->ctx, next);
    }
    if (tr.flags & TR_NOTIFY) c->ops->notify(c->ctx);
    return 0;
illegal:
    osci_log(OSCI_LOG_DEBUG, "ipc", "%s: %s --%s--> refused", c->name, old < IPC_CS_COUNT ? cs_names[old] : "?",
             (unsigned)ev < IPC_CE_COUNT ? ce_names[ev] : "?");
    return -EPROTO;
}

/* Feeds the peer's published state into the machine until nothing changes. Frames written before the peer
 * closed (or died) are delivered before its CONN_RESET. */
void ipc__conn_handshake(struct ipc_conn *c)
{
    int i;
    c->draining = 0;
    for (i = 0; i < 4; i++) {
        uint32_t me = c->state, peer = c->ops->peer_state(c->ctx);
        if (me == IPC_CS_DISC) return;   /* no reset yet: stay out of the handshake */
        if (peer == IPC_CS_SYNC && me != IPC_CS_ACK) ipc__conn_event(c, IPC_CE_PEER_SYNC);
        else if (peer == IPC_CS_ACK && (me == IPC_CS_SYNC || me == IPC_CS_ACK)) ipc__conn_event(c, IPC_CE_PEER_ACK);
        else if (peer == IPC_CS_EST && me == IPC_CS_ACK) ipc__conn_event(c, IPC_CE_PEER_EST);
        else if (peer == IPC_CS_DISC && me == IPC_CS_EST && ipc__fifo_rx_pending(c->fifo)) c->draining = 1;
        else if (peer == IPC_CS_DISC && me != IPC_CS_SYNC) ipc__conn_event(c, IPC_CE_PEER_GONE);
        else return;
        if (c->draining) return;
    }
}

void ipc__conn_close(struct ipc_conn *c)
{
    if (c->state != IPC_CS_DISC) ipc__conn_event(c, IPC_CE_CLOSE);
}

void ipc__conn_reset(struct ipc_conn *c)
{
    c->pending = 0;
    ipc__conn_event(c, IPC_CE_RESET);
    ipc__conn_handshake(c);
}

uint32_t ipc__conn_get_events(struct ipc_conn *c)
{
    uint32_t ev;
    ipc__conn_handshake(c);
    ev = c->pending;
    c->pending = 0;
    ipc__fifo_events(c->fifo, &ev);
    return ev;
}
