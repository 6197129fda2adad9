#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Helpers for vmlab step scripts: `. "$VMLAB_LIB"` at the top of a step.
# A step runs with ROLE (server|client), SELF_ADDR, PEER_ADDR, NODE_ID, PEER_NODE_ID, OUT (its
# result directory, also its working directory), STEP, SRC (project checkout), BUILD (build dir)
# and LAB_DIR (the read-write share). Exit status 0 is a pass on this node.
set -u

lab_log() { echo "[$STEP $ROLE] $*"; }
_lab_peer() { if [ "$ROLE" = server ]; then echo B; else echo A; fi; }
_lab_self() { if [ "$ROLE" = server ]; then echo A; else echo B; fi; }

# lab_signal NAME: tell the peer that NAME happened in this step.
lab_signal() { : >"$LAB_DIR/sync/$STEP.sig.$1.$(_lab_self)"; }

# lab_fail MESSAGE: fail this step on this node; a peer blocked in lab_wait stops waiting.
lab_fail() {
    echo "[$STEP $ROLE] FAIL: $*"
    lab_signal failed
    exit 1
}

# lab_wait NAME [SECONDS]: wait for the peer's lab_signal NAME (default 60 s). Fails on timeout
# and as soon as the peer has failed this step.
lab_wait() {
    local peer f i=0 n=$((${2:-60} * 10))
    peer=$(_lab_peer)
    f=$LAB_DIR/sync/$STEP.sig.$1.$peer
    while [ ! -e "$f" ]; do
        [ ! -e "$LAB_DIR/sync/$STEP.sig.failed.$peer" ] || { lab_log "peer failed before signalling $1"; return 1; }
        i=$((i + 1))
        [ "$i" -le "$n" ] || { lab_log "peer never signalled $1"; return 1; }
        sleep 0.1
    done
}

# lab_wait_pid PID: wait for a background process of this step and return its exit status; when
# the peer fails the step first, kill the process (SIGKILL) and return 1.
lab_wait_pid() {
    local failed
    failed=$LAB_DIR/sync/$STEP.sig.failed.$(_lab_peer)
    while kill -0 "$1" 2>/dev/null; do
        if [ -e "$failed" ]; then
            lab_log "peer failed; stopping process $1"
            kill -9 "$1" 2>/dev/null
            wait "$1" 2>/dev/null
            return 1
        fi
        sleep 0.1
    done
    wait "$1"
}

# lab_wait_listen PORT [SECONDS]: wait until a local TCP socket listens on PORT.
lab_wait_listen() {
    local i=0 n=$((${2:-30} * 10))
    until ss -Hltn "sport = :$1" | grep -q .; do
        i=$((i + 1))
        [ "$i" -le "$n" ] || { lab_log "nothing listens on port $1"; return 1; }
        sleep 0.1
    done
}

# lab_result JSON-OBJECT: append one result record (one JSON object per line) to this step's results.
lab_result() { echo "$1" >>"$OUT/results.jsonl"; }

# lab_ivshmem_dev [doorbell]: print the sysfs directory of the ivshmem-plain device (PCI 1af4:1110, no
# MSI-X BAR) both guests share, or with "doorbell" of the ivshmem-doorbell device (BAR1 is its MSI-X
# table) that osci-ivshmem-server serves; resource2 is the shared window (mmap it), resource0 the registers.
lab_ivshmem_dev() {
    local d
    for d in /sys/bus/pci/devices/*; do
        [ "$(cat "$d/vendor")" = 0x1af4 ] && [ "$(cat "$d/device")" = 0x1110 ] || continue
        if [ -e "$d/resource1" ] && [ "$(stat -c %s "$d/resource1")" != 0 ]; then
            [ "${1:-}" = doorbell ] || continue
        else
            [ "${1:-}" != doorbell ] || continue
        fi
        echo "$d"
        return 0
    done
    return 1
}

# lab_rdma_node LISTEN [DRIVER OPTIONS...]: make this guest an OpenSCI node on `adapter 0 rdma dev=rxe0`
# (opensci.conf and hosts.conf in the step's directory; each side finds its node id by its address).
lab_rdma_node() {
    local listen=$1
    shift
    echo "adapter 0 rdma dev=rxe0 listen=$listen${*:+ $*}" >opensci.conf
    printf '%s %s\n%s %s\n' "$NODE_ID" "$SELF_ADDR" "$PEER_NODE_ID" "$PEER_ADDR" >hosts.conf
    rdma link show rxe0/1 >/dev/null 2>&1 || lab_fail "no rxe0 in this guest (node.sh adds it)"
    export OSCI_CONF=$PWD/opensci.conf OSCI_HOSTS=$PWD/hosts.conf
    unset OSCI_NODE_ID
}

# lab_conformance DRIVER PORT: run tests/conformance/test_{drv,seg,ipc} against the peer (this node is side
# a on the server, b on the client; they meet on TCP PORT), with tests/conformance/DRIVER.exclude when there
# is one; OSCI_CONF must already name the adapter. Records one result per suite; fails the step when any fails.
lab_conformance() {
    local driver=$1 s rc passed skipped failed="" ex=$SRC/tests/conformance/$1.exclude
    for s in drv seg ipc; do
        [ -x "$BUILD/tests/conformance/test_$s" ] || lab_fail "$BUILD/tests/conformance/test_$s not built (make O=<build> tests)"
    done
    export OSCI_LOG=${OSCI_LOG:-warn}
    export OSCI_CONFORM_ROLE OSCI_CONFORM_PEER=$PEER_ADDR OSCI_CONFORM_PORT=$2 OSCI_CONFORM_TIMEOUT_MS=60000
    if [ "$ROLE" = server ]; then OSCI_CONFORM_ROLE=a; else OSCI_CONFORM_ROLE=b; fi
    if [ -f "$ex" ]; then export OSCI_CONFORM_EXCLUDE=$ex; else unset OSCI_CONFORM_EXCLUDE; fi
    for s in drv seg ipc; do
        timeout -k 5 180 "$BUILD/tests/conformance/test_$s" >"test_$s.log" 2>&1
        rc=$?
        cat "test_$s.log"
        passed=$(grep -c '^\[       OK \]' "test_$s.log")
        skipped=$(grep '^\[  SKIPPED \] test_' "test_$s.log" | sort -u | wc -l)
        lab_result "{\"suite\":\"conformance/$s\",\"driver\":\"$driver\",\"side\":\"$OSCI_CONFORM_ROLE\",\"rc\":$rc,\"passed\":$passed,\"skipped\":$skipped}"
        lab_log "conformance $s: rc $rc, $passed passed, $skipped skipped"
        [ "$rc" = 0 ] || failed="$failed $s"
    done
    [ -z "$failed" ] || lab_fail "conformance suites failed:$failed"
    lab_log "passed"
}
