#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Step: doca_mmap export_rdma between the guests (libopensci-buf over adapter 0 = rdma; tests/rdmalab/doca_pair.c).
# The server exports a range and publishes the descriptor through the lab's shared dir; the client refuses a
# truncated and a forged descriptor, imports the real one, reads (RDMA READ) and writes (RDMA WRITE) it; the
# server checks the data in its own range and stops; the client then sees CONNECTION_RESET and a stale descriptor.
# vmlab-timeout: 150
. "$VMLAB_LIB"
lab_prog doca_pair
lab_rdma_node 18519
export OSCI_LOG=${OSCI_LOG:-warn}
lab_run "$bin" --role "$ROLE" --sync "$LAB_DIR/sync/$STEP.prog" --kind rdma
