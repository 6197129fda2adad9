#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Step: reflective memory (SCI_FLAG_BROADCAST) and interrupts between the guests over the pcishm adapter:
# tests/rdmalab/bcast_pair.c as in step 52 (broadcast group 7, the other's 200 values in each local copy
# over two rounds, member events, 100 interrupts and 20 data interrupts to 40000/40001, leave and join
# again), with the adapter configured as in step 75 (the ivshmem-doorbell BAR, docs/pcishm.md).
# vmlab-timeout: 200
. "$VMLAB_LIB"
lab_prog bcast_pair
lab_pcishm_node
export OSCI_LOG=${OSCI_LOG:-warn}
lab_run "$bin" --role "$ROLE" --peer-node "$PEER_NODE_ID" --self-node "$NODE_ID" --sync "$LAB_DIR/sync/$STEP.prog" \
    --values 200 --rounds 2
