#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Step: NvSciIpc INTER_CHIP channels between the guests over the rdma adapter (tests/rdmalab/ipc_chip_pair.c;
# libipc/ipc_chip.c on libseg, which takes transfer maps and SCIMemCpy there). Both guests name the same two
# endpoints in their NVSCIIPC_CFG (peer= the other node) on adapter 0 = rdma; both open, reset and wait for
# CONN_EST with select() on the Linux event fd; the client writes 500 frames of 64 B (WriteSafe) and 100 of
# 1536 B (zero-copy), each with its sequence number and a checksum; the server counts lost, duplicated,
# reordered and corrupted frames and writes a summary frame back, which the client checks. The client closes
# first; the server must see CONN_RESET, then closes. A side that gives up writes an abort file the other sees.
# vmlab-timeout: 60
. "$VMLAB_LIB"
small_frames=500   # 64 B each; about 20 ms per frame under TCG (docs/rdma-lab.md)
big_frames=100     # 1536 B each
lab_prog ipc_chip_pair
lab_rdma_node 18521 mr_chunk=256K
cat >nvsciipc.cfg <<EOF
#CFGVER:1
# <endpoint> <xfer role, device = adapter 0> peer=<the other node> geometry (the same on both nodes)
INTER_CHIP ipc_rdma_small 0000 peer=$PEER_NODE_ID nframes=64 frame_size=64
INTER_CHIP ipc_rdma_big   0000 peer=$PEER_NODE_ID nframes=16 frame_size=1536
EOF
export NVSCIIPC_CFG=$PWD/nvsciipc.cfg
export OSCI_LOG=${OSCI_LOG:-info}
unset OSCI_IPC_CHIP_TRANSFER
# 0x5103: SCIQuery's card type of an rdma adapter (the program checks it before NvSciIpcInit).
lab_run timeout -k 2 50 "$bin" --role "$ROLE" --card-type 0x5103 --sync "$LAB_DIR/sync/$STEP.prog" --timeout-ms 15000 \
    --channel ipc_rdma_small,64,64,$small_frames --channel ipc_rdma_big,16,1536,$big_frames
