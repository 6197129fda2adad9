#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Step: a cut and restored peer under libseg over the pcishm adapter (tests/rdmalab/seg_pair.c --mode
# cut). A BAR shared by two machines has no link to take down; what a peer can do is go silent: the
# client's cut command has the server's step SIGSTOP the server's process (its heartbeats stop), its heal
# command SIGCONT it 3 s later. The client must see the cut (CB_NOT_OPERATIONAL or CB_LOST), a DMA write
# into the cut must end, and after the heal the segment must be usable again (OPERATIONAL, or LOST and
# reconnected). The driver's heartbeat timeout is raised (hb_timeout=10000) above the cut, so the
# silent incarnation is not declared dead by the driver: libseg's own heartbeats see the cut. Two
# rounds, as step 51: the default grace period (1 s: the segment is lost, the client reconnects), then
# OSCI_GRACE_MS=8000 (NOT_OPERATIONAL, then OPERATIONAL).
# vmlab-timeout: 180
. "$VMLAB_LIB"
lab_prog seg_pair
lab_pcishm_node hb_timeout=10000
# libseg's heartbeat timeout 1000 ms (default 1500): the silence starts when the server's step sees the cut
# file (shared-directory and polling delay), and seg_pair wants it seen within 1500 ms of the cut command.
export OSCI_LOG=${OSCI_LOG:-warn} OSCI_HEARTBEAT_TIMEOUT_MS=1000
failed=""
for grace in 1000 8000; do
    lab_log "round with OSCI_GRACE_MS=$grace"
    pre=$LAB_DIR/sync/$STEP.g$grace
    args=(--mode cut --peer-node "$PEER_NODE_ID" --self-node "$NODE_ID" --sync "$pre.prog")
    if [ "$ROLE" = server ]; then
        OSCI_GRACE_MS=$grace "$bin" --role server "${args[@]}" >"server.$grace.txt" 2>&1 &
        pid=$!
        stopped=0
        while kill -0 "$pid" 2>/dev/null; do
            if [ $stopped = 0 ] && [ -e "$pre.cut" ]; then
                kill -STOP "$pid" && stopped=1 && lab_log "server process stopped (the cut)"
            elif [ $stopped = 1 ] && [ -e "$pre.heal" ]; then
                kill -CONT "$pid" && stopped=2 && lab_log "server process continued (the heal)"
            fi
            sleep 0.05
        done
        wait "$pid"
        rc=$?
        cat "server.$grace.txt"
    else
        OSCI_GRACE_MS=$grace "$bin" --role client "${args[@]}" --cut-cmd "touch $pre.cut" \
            --heal-cmd "touch $pre.heal" >"client.$grace.txt" 2>&1
        rc=$?
        cat "client.$grace.txt"
    fi
    if [ "$rc" != 0 ]; then
        lab_log "round with OSCI_GRACE_MS=$grace: $ROLE exited with $rc"
        failed="$failed $grace"
    fi
done
[ -z "$failed" ] || lab_fail "$ROLE failed the round(s) with OSCI_GRACE_MS=${failed# }"
lab_log "passed"
