/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* The connection handshake every NvSciIpc backend runs: per side DISC, SYNC, ACK, EST; the backend
 * publishes our state, reports the peer's, clears the indices it owns and wakes the peer. */
#include <errno.h>

#include "ipc_internal.h"
#include "osci_log.h"

static const char *const cs_names[IPC_CS_COUNT] = { "DISC", "SYNC", "ACK", "EST" };
static const char *const ce_names[IPC_CE_COUNT] = { "reset", "peer_sync", "peer_ack", "peer_est", "peer_gone",
                                                    "close" };

static void lose_est(struct ipc_conn *c)
{
    c->pending = (c->pending & ~NV_SCI_IPC_EVENT_CONN_EST) | NV_SCI_IPC_EVENT_CONN_RESET;
}

/* The only writer of c->state. */
int ipc__conn_event(struct ipc_conn *c, enum ipc_conn_event ev)
{
    uint32_t old = c->state, next = old;
    int notify = 0;
    switch (old) {
    case IPC_CS_DISC:
        if (ev == IPC_CE_RESET) next = IPC_CS_SYNC, notify = 1;
        else if (ev == IPC_CE_CLOSE || ev == IPC_CE_PEER_GONE) next = IPC_CS_DISC;
        else goto illegal;
        break;
    case IPC_CS_SYNC:
        switch (ev) {
        case IPC_CE_RESET: notify = 1; break;
        case IPC_CE_PEER_SYNC: c->ops->clear(c->ctx); next = IPC_CS_ACK; notify = 1; break;
        case IPC_CE_PEER_ACK:
            c->ops->clear(c->ctx);
            next = IPC_CS_EST;
            notify = 1;
            c->pending |= NV_SCI_IPC_EVENT_CONN_EST;
            break;
        case IPC_CE_PEER_GONE: break;
        case IPC_CE_CLOSE: next = IPC_CS_DISC; notify = 1; break;
        default: goto illegal;
        }
        break;
    case IPC_CS_ACK:
        switch (ev) {
        case IPC_CE_RESET: next = IPC_CS_SYNC; notify = 1; break;
        case IPC_CE_PEER_SYNC: break;
        case IPC_CE_PEER_ACK: next = IPC_CS_EST; notify = 1; c->pending |= NV_SCI_IPC_EVENT_CONN_EST; break;
        case IPC_CE_PEER_EST:   /* the peer is established already: it needs no wake-up */
            next = IPC_CS_EST;
            c->pending |= NV_SCI_IPC_EVENT_CONN_EST;
            break;
        case IPC_CE_PEER_GONE: next = IPC_CS_SYNC; break;
        case IPC_CE_CLOSE: next = IPC_CS_DISC; notify = 1; break;
        default: goto illegal;
        }
        break;
    case IPC_CS_EST:
        switch (ev) {
        case IPC_CE_RESET: next = IPC_CS_SYNC; notify = 1; break;
        case IPC_CE_PEER_SYNC: c->ops->clear(c->ctx); next = IPC_CS_ACK; notify = 1; lose_est(c); break;
        case IPC_CE_PEER_GONE: next = IPC_CS_SYNC; lose_est(c); break;
        case IPC_CE_CLOSE: next = IPC_CS_DISC; notify = 1; break;
        default: goto illegal;
        }
        break;
    default:
        goto illegal;
    }
    if (next != old) {
        osci_log(OSCI_LOG_DEBUG, "ipc", "%s: %s --%s--> %s", c->name, cs_names[old], ce_names[ev], cs_names[next]);
        c->state = next;
        c->draining = 0;
        c->ops->publish(c->ctx, next);
    }
    if (notify) c->ops->notify(c->ctx);
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
