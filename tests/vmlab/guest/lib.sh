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

# lab_run CMD...: run CMD; the step fails unless it exits 0.
lab_run() {
    local rc
    "$@"
    rc=$?
    [ "$rc" = 0 ] || lab_fail "$ROLE exited with $rc"
    lab_log "$ROLE passed"
}

# lab_prog NAME: bin=$BUILD/tests/rdmalab/NAME, which must be built.
lab_prog() {
    bin=$BUILD/tests/rdmalab/$1
    [ -x "$bin" ] || lab_fail "$bin not built (make O=<build> tests)"
}

# lab_pcishm_node [DRIVER OPTIONS...]: make this guest an OpenSCI node on `adapter 0 pcishm` over the
# ivshmem-doorbell device (its sysfs directory in dev), node id NODE_ID (opensci.conf in the step's directory).
lab_pcishm_node() {
    dev=$(lab_ivshmem_dev doorbell) || lab_fail "no ivshmem-doorbell device"
    echo "adapter 0 pcishm slot=$(basename "$dev") node_id=$NODE_ID${*:+ $*}" >opensci.conf
    export OSCI_CONF=$PWD/opensci.conf
    unset OSCI_NODE_ID OSCI_HOSTS
}

# lab_ivshmem_load: load kernel/osci_ivshmem (built by tests/vmlab/setup.sh) unless loaded; dev is the
# ivshmem-doorbell device's sysfs directory, node its /dev/osci_ivshmem-<bdf>, which must appear.
lab_ivshmem_load() {
    local ko=$LAB_DIR/kmod/osci_ivshmem.ko
    [ -f "$ko" ] || lab_fail "$ko missing (kernel/build.sh runs from tests/vmlab/setup.sh)"
    dev=$(lab_ivshmem_dev doorbell) || lab_fail "no ivshmem-doorbell device"
    grep -q '^osci_ivshmem ' /proc/modules || insmod "$ko" || lab_fail "insmod $ko failed"
    node=/dev/osci_ivshmem-$(basename "$dev")
    for _ in $(seq 1 30); do [ -c "$node" ] && break; sleep 0.1; done
    [ -c "$node" ] || lab_fail "$node did not appear (dmesg: $(dmesg | grep -i osci_ivshmem | tail -2))"
}

# lab_ivshmem_ids: this guest's ivshmem id (register 2 of $dev) in id, the peer's in peer (exchanged through
# the lab's shared directory), and side: 0 on the server, 1 on the client.
lab_ivshmem_ids() {
    local other
    id=$(python3 -c 'import mmap, os, sys; fd = os.open(sys.argv[1], os.O_RDWR | os.O_SYNC); print(memoryview(mmap.mmap(fd, 256)).cast("i")[2])' "$dev/resource0")
    echo "$id" >"$LAB_DIR/sync/$STEP.id.$ROLE"
    lab_signal id
    lab_wait id 30 || lab_fail "the peer did not report its id"
    if [ "$ROLE" = server ]; then side=0 other=client; else side=1 other=server; fi
    peer=$(cat "$LAB_DIR/sync/$STEP.id.$other")
}

# lab_wait_file FILE PID SECONDS: until FILE exists; fails (returns 1) if PID exits first or time runs out.
lab_wait_file() {
    local i=0
    while [ ! -e "$1" ]; do
        kill -0 "$2" 2>/dev/null || return 1
        i=$((i + 1))
        [ "$i" -le $(($3 * 10)) ] || return 1
        sleep 0.1
    done
}

# lab_start_until FILE SECONDS LOG CMD...: run CMD in the background (output to LOG; its pid in pid) until
# it creates FILE. Fails the step, showing LOG, when CMD exits first or SECONDS pass.
lab_start_until() {
    local file=$1 secs=$2 log=$3 rc
    shift 3
    "$@" >"$log" 2>&1 &
    pid=$!
    lab_wait_file "$file" "$pid" "$secs" && return 0
    kill -9 "$pid" 2>/dev/null
    wait "$pid"
    rc=$?
    cat "$log" >&2
    lab_fail "$ROLE part not done within $secs s (exit $rc)"
}

# lab_sigkill PID: SIGKILL a background process of the step, which must still have been running.
lab_sigkill() {
    local rc
    kill -9 "$1"
    wait "$1"
    rc=$?
    [ "$rc" = 137 ] || lab_fail "$ROLE exited with $rc before the SIGKILL"
}

# lab_drv_pair BIN [HOOK]: the flow of the driver programs (rdma_pair, pcishm_pair): the server runs until the
# client's writes are verified ($OUT/verified), runs HOOK when given, is SIGKILLed and signals "killed"; the
# client must see the loss ($OUT/saw-loss); then the server restarts and the client must see the new one.
lab_drv_pair() {
    local bin=$1 hook=${2:-} pid rc n=0
    if [ "$ROLE" = server ]; then
        lab_start_until "$OUT/verified" 200 "$OUT/server.txt" "$bin" server "$NODE_ID" "$PEER_NODE_ID" "$OUT/verified"
        [ -z "$hook" ] || "$hook"
        lab_sigkill "$pid"
        cat "$OUT/server.txt"
        lab_log "server SIGKILLed after the client's writes were verified"
        lab_signal killed
        lab_wait client-saw-loss 120 || lab_fail "client did not report the server's loss"
        "$bin" restart "$NODE_ID" "$PEER_NODE_ID" || lab_fail "restarted server failed"
        lab_log "restarted server passed"
        return
    fi
    "$bin" client "$NODE_ID" "$PEER_NODE_ID" "$OUT/saw-loss" >"$OUT/client.txt" 2>&1 &
    pid=$!
    until lab_wait killed 2 >/dev/null; do
        kill -0 "$pid" 2>/dev/null || { wait "$pid"; rc=$?; cat "$OUT/client.txt" >&2; lab_fail "client exited with $rc before the server was killed"; }
        n=$((n + 1))
        [ "$n" -le 120 ] || { kill -9 "$pid" 2>/dev/null; wait "$pid"; lab_fail "server never got to the kill"; }
    done
    lab_wait_file "$OUT/saw-loss" "$pid" 120 || { kill -9 "$pid" 2>/dev/null; wait "$pid"; rc=$?; cat "$OUT/client.txt" >&2; lab_fail "client did not see the server's loss (exit $rc)"; }
    lab_signal client-saw-loss
    wait "$pid"
    rc=$?
    cat "$OUT/client.txt"
    [ "$rc" = 0 ] || lab_fail "client exited with $rc"
    lab_log "client passed"
}

# lab_seg_pair HOOK ARGS...: seg_pair's full mode with ARGS (steps 50, 75): the server runs until it wrote its
# counts to $OUT/ready-to-die, runs HOOK when not empty (the server's pid in pid), is SIGKILLed and signals
# "killed"; its counts must show no failure. The client must exit 0. Transcripts: $OUT/{server,client}.txt.
lab_seg_pair() {
    local hook=$1 bin=$BUILD/tests/rdmalab/seg_pair rc
    shift
    [ -x "$bin" ] || lab_fail "$bin not built (make O=<build> tests)"
    if [ "$ROLE" = server ]; then
        lab_start_until "$OUT/ready-to-die" 120 "$OUT/server.txt" "$bin" --role server "$@" --marker "$OUT/ready-to-die"
        [ -z "$hook" ] || "$hook"
        lab_sigkill "$pid"
        cat "$OUT/server.txt"
        lab_log "server SIGKILLed ($(cat "$OUT/ready-to-die"))"
        lab_signal killed
        grep -q ' failed 0$' "$OUT/ready-to-die" || lab_fail "server checks failed: $(cat "$OUT/ready-to-die")"
        return
    fi
    "$bin" --role client "$@" >"$OUT/client.txt" 2>&1
    rc=$?
    cat "$OUT/client.txt"
    [ "$rc" = 0 ] || lab_fail "client exited with $rc"
    lab_log "client passed: $(tail -1 "$OUT/client.txt")"
}
