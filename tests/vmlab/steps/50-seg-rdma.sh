#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Step: libseg (the SISCI API) between the guests over the rdma adapter (tests/rdmalab/seg_pair.c).
# Both are OpenSCI nodes on `adapter 0 rdma dev=rxe0`; the server exports a segment, an interrupt
# and a data interrupt; the client connects, checks that SCIMapRemoteSegment is not supported,
# SCIMemCpy both ways, a DMA queue both ways, interrupts and data interrupts, then the server sets
# the segment unavailable with NOTIFY, the client reconnects, and this script SIGKILLs the server:
# the client must see CB_LOST and exit 0. (The link cut is step 51-seg-rdma-cut.) The programs sync through files in the lab's shared dir.
# vmlab-timeout: 150
. "$VMLAB_LIB"
lab_rdma_node 18517 mr_chunk=256K
export OSCI_LOG=${OSCI_LOG:-warn}
lab_seg_pair "" --peer-node "$PEER_NODE_ID" --self-node "$NODE_ID" --sync "$LAB_DIR/sync/$STEP.prog" --iters 20
