#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# vmlab guest driver, run by init on each guest: bring up eth0 and soft-RoCE, meet the peer, then
# run every step listed in /lab/config.sh in lockstep with it, recording each step's exit status and
# output under /lab/results/<node>/<step>/. Node A is the server, node B the client.
set -u
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LC_ALL=C

NODE=${1:?node name}
LAB=/lab
# shellcheck source=/dev/null
. "$LAB/config.sh"

case "$NODE" in
    A) SELF_ADDR=10.77.0.1 PEER_ADDR=10.77.0.2 NODE_ID=4 PEER_NODE_ID=8 ROLE=server PEER=B ;;
    B) SELF_ADDR=10.77.0.2 PEER_ADDR=10.77.0.1 NODE_ID=8 PEER_NODE_ID=4 ROLE=client PEER=A ;;
    *) echo "vmlab-node: unknown node $NODE"; exit 2 ;;
esac
export SELF_ADDR PEER_ADDR NODE_ID PEER_NODE_ID ROLE
export SRC=$VMLAB_SRC BUILD=$VMLAB_BUILD LAB_DIR=$LAB VMLAB_LIB=$VMLAB_SRC/tests/vmlab/guest/lib.sh

log() { echo "vmlab-node $NODE [$(cut -d' ' -f1 /proc/uptime)]: $*"; }

exec > >(tee -a "$LAB/node-$NODE.log") 2>&1

# ---- network and soft-RoCE ----
setup_ok=1
run() { "$@" || { log "setup: '$*' failed"; setup_ok=0; }; }
run ip link set lo up
run ip link set eth0 mtu "$VMLAB_MTU"
run ip addr add "$SELF_ADDR/24" dev eth0
run ip link set eth0 up
run modprobe crc32_generic
run modprobe rdma_rxe
run modprobe ib_uverbs
run modprobe rdma_ucm
run rdma link add rxe0 type rxe netdev eth0
[ "$setup_ok" = 1 ] || : >"$LAB/setup-failed.$NODE"
log "setup done (ok=$setup_ok)"
echo "$(cut -d' ' -f1 /proc/uptime)" >"$LAB/ready.$NODE"

# ---- meet the peer ----
peer_lost=0
wait_file() { # path seconds
    local i=0 n=$(($2 * 5))
    while [ ! -e "$1" ]; do
        i=$((i + 1))
        [ "$i" -le "$n" ] || return 1
        sleep 0.2
    done
}
if ! wait_file "$LAB/ready.$PEER" "$VMLAB_BOOT_WAIT"; then
    log "peer $PEER not up after ${VMLAB_BOOT_WAIT}s"
    peer_lost=1
fi
if [ "$peer_lost" = 0 ]; then
    ok=0
    for _ in $(seq 1 30); do
        if ping -c 1 -W 1 "$PEER_ADDR" >/dev/null 2>&1; then ok=1; break; fi
    done
    [ "$ok" = 1 ] || { log "no ping reply from $PEER_ADDR"; peer_lost=1; }
fi
log "peer $PEER reachable: $((1 - peer_lost))"

# ---- steps ----
# barrier NAME SECONDS: both nodes reach the same point; fails when the peer does not arrive.
barrier() {
    : >"$LAB/sync/$1.$NODE"
    wait_file "$LAB/sync/$1.$PEER" "$2"
}
mkdir -p "$LAB/sync"
for step in $VMLAB_STEPS; do
    file=$VMLAB_SRC/tests/vmlab/steps/$step.sh
    out=$LAB/results/$NODE/$step
    mkdir -p "$out"
    if [ "$peer_lost" = 1 ]; then
        echo "not run: peer $PEER lost" >"$out/output.log"
        echo 125 >"$out/rc"
        continue
    fi
    if ! barrier "$step.begin" 120; then
        log "peer $PEER did not reach step $step"
        peer_lost=1
        echo "not run: peer $PEER did not reach this step" >"$out/output.log"
        echo 125 >"$out/rc"
        continue
    fi
    limit=$(sed -n 's/^# vmlab-timeout: *\([0-9][0-9]*\).*/\1/p' "$file" | head -1)
    limit=${limit:-$VMLAB_STEP_TIMEOUT}
    log "step $step ($ROLE, timeout ${limit}s)"
    t0=$(date +%s.%N)
    (cd "$out" && STEP=$step OUT=$out exec timeout -k 5 "$limit" bash "$file") >"$out/output.log" 2>&1 </dev/null
    rc=$?
    t1=$(date +%s.%N)
    [ "$rc" = 124 ] && echo "vmlab: step timed out after ${limit}s" >>"$out/output.log"
    echo "$rc" >"$out/rc"
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f\n", b - a }' >"$out/seconds"
    log "step $step rc=$rc ($(cat "$out/seconds") s)"
    if ! barrier "$step.end" $((limit + 30)); then
        log "peer $PEER did not finish step $step"
        peer_lost=1
    fi
done
log "all steps done"
: >"$LAB/done.$NODE"
sync
exit 0
