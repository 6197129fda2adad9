#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Step: reflective memory (SCI_FLAG_BROADCAST) and interrupts between the guests over the rdma adapter
# (tests/rdmalab/bcast_pair.c). Both guests join broadcast group 7 in Dolphin's flow; the broadcast
# remote segment is written through a transfer map (one put per member); each side checks the other's
# 200 values (two rounds) in its own local copy, the member events (CB_CONNECT when the peer joins,
# CB_DISCONNECT when the client leaves), 100 interrupts and 20 data interrupts of 200 bytes to
# interrupt numbers 40000/40001 (SCI_FLAG_FIXED_INTNO), then the client leaves, joins again with a new
# segment (a third round reaches it) and leaves for good. The programs sync through files in /lab/sync.
# vmlab-timeout: 200
. "$VMLAB_LIB"
lab_prog bcast_pair
lab_rdma_node 18523 mr_chunk=256K
export OSCI_LOG=${OSCI_LOG:-warn}
lab_run "$bin" --role "$ROLE" --peer-node "$PEER_NODE_ID" --self-node "$NODE_ID" --sync "$LAB_DIR/sync/$STEP.prog" \
    --values 200 --rounds 2
