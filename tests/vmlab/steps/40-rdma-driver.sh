#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Step: the rdma driver between the guests (tests/rdmalab/rdma_pair.c). Both open adapter 0 from an
# opensci.conf written here (node ids found by matching the local address in hosts.conf), exchange
# messages and doorbells; the server exports 1 MiB, the client imports it and puts/gets with data
# checked on both sides. Then the server is SIGKILLed: the client must see the link go down without
# aborting; the server restarts and the client must see PEER_DEAD of the old epoch and LINK_UP of the new.
# vmlab-timeout: 300
. "$VMLAB_LIB"
lab_prog rdma_pair
lab_rdma_node 18515 mr_chunk=256K
export OSCI_LOG=${OSCI_LOG:-info}
lab_drv_pair "$bin"
