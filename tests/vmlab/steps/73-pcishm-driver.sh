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
bin=$BUILD/tests/rdmalab/pcishm_pair
[ -x "$bin" ] || lab_fail "$bin not built (make O=<build> tests)"
dev=$(lab_ivshmem_dev doorbell) || lab_fail "no ivshmem-doorbell device"
echo "adapter 0 pcishm slot=$(basename "$dev") node_id=$NODE_ID" >opensci.conf
export OSCI_CONF=$PWD/opensci.conf OSCI_LOG=${OSCI_LOG:-warn}
unset OSCI_NODE_ID OSCI_HOSTS

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
    "$bin" server "$NODE_ID" "$PEER_NODE_ID" "$OUT/verified" >"$OUT/server.txt" 2>&1 &
    pid=$!
    if ! wait_for "$OUT/verified" "$pid" 200; then
        kill -9 "$pid" 2>/dev/null
        wait "$pid"
        rc=$?
        cat "$OUT/server.txt" >&2
        lab_fail "server part did not complete (exit $rc)"
    fi
    # a second process on this machine is refused while the server holds the port (flock)
    out=$(timeout 20 "$bin" restart "$NODE_ID" "$PEER_NODE_ID" 2>&1) && lab_fail "a second process opened the adapter: $out"
    grep -q "in use by another pcishm adapter" <<<"$out" || lab_fail "second process: $out"
    lab_log "a second process on this machine is refused: $(grep -o 'ivshmem peer id.*' <<<"$out" | head -1)"
    kill -9 "$pid"
    wait "$pid"
    rc=$?
    [ "$rc" = 137 ] || lab_fail "server exited with $rc before the SIGKILL"
    cat "$OUT/server.txt"
    lab_log "server SIGKILLed after the client's writes were verified"
    lab_signal killed
    lab_wait client-saw-loss 120 || lab_fail "client did not report the server's loss"
    "$bin" restart "$NODE_ID" "$PEER_NODE_ID" || lab_fail "restarted server failed"
    lab_log "restarted server passed"
else
    "$bin" client "$NODE_ID" "$PEER_NODE_ID" "$OUT/saw-loss" >"$OUT/client.txt" 2>&1 &
    pid=$!
    n=0
    until lab_wait killed 2 >/dev/null; do
        kill -0 "$pid" 2>/dev/null || { wait "$pid"; rc=$?; cat "$OUT/client.txt" >&2; lab_fail "client exited with $rc before the server was killed"; }
        n=$((n + 1))
        [ "$n" -le 120 ] || { kill -9 "$pid" 2>/dev/null; wait "$pid"; lab_fail "server never got to the kill"; }
    done
    wait_for "$OUT/saw-loss" "$pid" 120 || { kill -9 "$pid" 2>/dev/null; wait "$pid"; rc=$?; cat "$OUT/client.txt" >&2; lab_fail "client did not see the server's loss (exit $rc)"; }
    lab_signal client-saw-loss
    wait "$pid"
    rc=$?
    cat "$OUT/client.txt"
    [ "$rc" = 0 ] || lab_fail "client exited with $rc"
    lab_log "client passed"
fi
