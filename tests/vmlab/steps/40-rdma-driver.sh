#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Step: the rdma driver between the guests (tests/rdmalab/rdma_pair.c). Both open adapter 0 from an
# opensci.conf written here (node ids found by matching the local address in hosts.conf), exchange
# messages and doorbells; the server exports 1 MiB, the client imports it and puts/gets with data
# checked on both sides. Then the server is SIGKILLed: the client must see the link go down without
# aborting; the server restarts and the client must see PEER_DEAD of the old epoch and LINK_UP of the new.
# vmlab-timeout: 300
. "$VMLAB_LIB"
bin=$BUILD/tests/rdmalab/rdma_pair
[ -x "$bin" ] || lab_fail "$bin not built (see docs/rdma.md, section Testing)"
lab_rdma_node 18515 mr_chunk=256K
export OSCI_LOG=${OSCI_LOG:-info}

# wait_for FILE PID SECONDS: until FILE exists; fails if PID exits first or time runs out.
wait_for() {
    local i=0
    while [ ! -e "$1" ]; do
        kill -0 "$2" 2>/dev/null || return 1
        i=$((i + 1))
        [ "$i" -le $(($3 * 10)) ] || return 1
        sleep 0.1
    done
}

if [ "$ROLE" = server ]; then
    "$bin" server "$NODE_ID" "$PEER_NODE_ID" "$OUT/verified" &
    pid=$!
    if ! wait_for "$OUT/verified" "$pid" 200; then
        kill -9 "$pid" 2>/dev/null
        wait "$pid"
        lab_fail "server part did not complete (exit $?)"
    fi
    kill -9 "$pid"
    wait "$pid"
    rc=$?
    [ "$rc" = 137 ] || lab_fail "server exited with $rc before the SIGKILL"
    lab_log "server SIGKILLed after the client's puts were verified"
    lab_signal killed
    lab_wait client-saw-loss 120 || lab_fail "client did not report the server's loss"
    "$bin" restart "$NODE_ID" "$PEER_NODE_ID" || lab_fail "restarted server failed"
    lab_log "restarted server passed"
else
    "$bin" client "$NODE_ID" "$PEER_NODE_ID" "$OUT/saw-loss" &
    pid=$!
    n=0
    until lab_wait killed 2 >/dev/null; do
        kill -0 "$pid" 2>/dev/null || { wait "$pid"; lab_fail "client exited with $? before the server was killed"; }
        n=$((n + 1))
        [ "$n" -le 120 ] || { kill -9 "$pid" 2>/dev/null; wait "$pid"; lab_fail "server never got to the kill"; }
    done
    wait_for "$OUT/saw-loss" "$pid" 120 || { kill -9 "$pid" 2>/dev/null; wait "$pid"; lab_fail "client did not see the server's loss (exit $?)"; }
    lab_signal client-saw-loss
    wait "$pid"
    rc=$?
    [ "$rc" = 0 ] || lab_fail "client exited with $rc"
    lab_log "client passed"
fi
