#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Step: the pcishm driver between the guests, through its ops only (tests/rdmalab/pcishm_pair.c). Both
# open adapter 0 (pcishm on the ivshmem-doorbell BAR); messages, doorbells (event, db_poll, a blocking
# db_wait), and the server's 1 MiB: get, put and stores through a load/store map, every byte checked on
# the server. Then the server is SIGKILLed: the client must see it dead (heartbeat) and its memory
# refused; the server restarts on the same port and the client must see its new epoch, talk to it and
# see its close. A second process on the server's machine is refused while the first holds the port.
# Step 17-ivshmem-wake loads kernel/osci_ivshmem first (else the driver polls).
# vmlab-timeout: 300
. "$VMLAB_LIB"
lab_prog pcishm_pair
lab_pcishm_node
export OSCI_LOG=${OSCI_LOG:-warn}

# a second process on this machine is refused while the server holds the port (flock)
second_refused() {
    local out
    out=$(timeout 20 "$bin" restart "$NODE_ID" "$PEER_NODE_ID" 2>&1) && lab_fail "a second process opened the adapter: $out"
    grep -q "in use by another pcishm adapter" <<<"$out" || lab_fail "second process: $out"
    lab_log "a second process on this machine is refused: $(grep -o 'ivshmem peer id.*' <<<"$out" | head -1)"
}
lab_drv_pair "$bin" second_refused
