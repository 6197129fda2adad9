/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The SISCI lab programs' shared part (seg_pair.c, bcast_pair.c), included after lab_report.h: the
 * descriptor, the node ids, error checks, callback reason names and opening the library on adapter 0.
 */
#ifndef LAB_SISCI_H
#define LAB_SISCI_H

#include "sisci_api.h"

#define CARD_RDMA 0x5103u               /* SCI_Q_ADAPTER_CARD_TYPE of an rdma adapter */

static unsigned int peer_node, self_node;
static sci_desc_t sd;

static bool check_err(sci_error_t err, sci_error_t want, const char *what)
{
    if (err == want)
        return check(true, "%s: %s", what, SCIGetErrorString(err));
    return check(false, "%s: %s (%#x), expected %s", what, SCIGetErrorString(err), (unsigned int)err,
                 SCIGetErrorString(want));
}

static const char *reason_str(sci_segment_cb_reason_t r)
{
    switch (r) {
    case SCI_CB_CONNECT: return "CB_CONNECT";
    case SCI_CB_DISCONNECT: return "CB_DISCONNECT";
    case SCI_CB_NOT_OPERATIONAL: return "CB_NOT_OPERATIONAL";
    case SCI_CB_OPERATIONAL: return "CB_OPERATIONAL";
    case SCI_CB_LOST: return "CB_LOST";
    }
    return "CB_?";
}

static unsigned int card_type(void)
{
    sci_query_adapter_t q = { .localAdapterNo = 0, .subcommand = SCI_Q_ADAPTER_CARD_TYPE };
    unsigned int type = 0;
    sci_error_t err;

    q.data = &type;
    SCIQuery(SCI_Q_ADAPTER, &q, 0, &err);
    if (err != SCI_ERR_OK)
        die("SCIQuery(adapter 0 card type): %s", SCIGetErrorString(err));
    return type;
}

/* SCIInitialize, SCIOpen; the local node id must be self_node when given (it is set otherwise). */
static void open_lib(void)
{
    unsigned int id = 0;
    sci_error_t err;

    SCIInitialize(0, &err);
    if (err != SCI_ERR_OK)
        die("SCIInitialize: %s", SCIGetErrorString(err));
    SCIOpen(&sd, 0, &err);
    if (err != SCI_ERR_OK)
        die("SCIOpen: %s", SCIGetErrorString(err));
    SCIGetLocalNodeId(0, &id, 0, &err);
    if (err != SCI_ERR_OK)
        die("SCIGetLocalNodeId: %s", SCIGetErrorString(err));
    if (self_node && id != self_node)
        die("local node id %u, expected %u", id, self_node);
    self_node = id;
    say("node %u on adapter 0 (card type %#x), peer node %u", id, card_type(), peer_node);
}

#endif
