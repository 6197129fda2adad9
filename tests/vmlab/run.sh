#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# The two-host lab: boots guests A (server) and B (client) under QEMU, linked by a socket network
# with soft-RoCE (rdma_rxe) on top, runs tests/vmlab/steps/*.sh on both in lockstep, and reports.
# Usage: bash tests/vmlab/run.sh [build-dir]      (default: build; `make vmcheck O=...` calls this)
# Environment: VMLAB_STEPS="10-devinfo 30" (a subset by name or number, default all), VMLAB_ACCEL (tcg),
# VMLAB_MEM (256M), VMLAB_LOGLEVEL (guest kernel console level, 4), VMLAB_BOOT_TIMEOUT (120 s), VMLAB_TIMEOUT (whole run, 540 s),
# VMLAB_STEP_TIMEOUT (default per step, 60 s; a step may set its own with "# vmlab-timeout: N"),
# VMLAB_IVSHMEM_SIZE (the ivshmem-plain window both guests share, 4M), VMLAB_DOORBELL_SIZE (the memory of
# the ivshmem-doorbell device that build/bin/osci-ivshmem-server serves to both guests, 16M: pcishm's
# region and two 5 MiB windows, docs/pcishm.md).
# Ends with "vmlab: N passed, N failed"; exits non-zero on any failure, including when the lab
# cannot run at all.
set -uo pipefail

T0=$(date +%s.%N)
LAB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$LAB/../.." && pwd)
WORK=${VMLAB_WORK:-$LAB/work}
ACCEL=${VMLAB_ACCEL:-tcg}
MEM=${VMLAB_MEM:-256M}
BOOT_TIMEOUT=${VMLAB_BOOT_TIMEOUT:-120}
TOTAL_TIMEOUT=${VMLAB_TIMEOUT:-540}
MTU=4200
IVSHMEM_SIZE=${VMLAB_IVSHMEM_SIZE:-4M}
DOORBELL_SIZE=${VMLAB_DOORBELL_SIZE:-16M}
DOORBELL_VECTORS=4

elapsed() { awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
summary() { # passed failed
    echo "vmlab: time taken $(elapsed) s"
    echo "vmlab: $1 passed, $2 failed"
}
# The lab could not run: say why, and fail every step.
abort() {
    echo "vmlab: error: $*" >&2
    summary 0 "${NSTEPS:-1}"
    exit 1
}

# ---- arguments and steps ----
BUILD_ARG=${1:-build}
case "$BUILD_ARG" in /*) BUILD=$BUILD_ARG ;; *) BUILD=$PWD/$BUILD_ARG ;; esac
if [ -n "${VMLAB_STEPS:-}" ]; then
    STEPS=
    for s in $VMLAB_STEPS; do       # a step by name (70-conformance-rdma) or by number (70)
        if [[ $s =~ ^[0-9]+$ ]]; then
            m=$(cd "$LAB/steps" && ls -1 -- "$s"-*.sh 2>/dev/null)
            [ "$(wc -w <<<"$m")" -eq 1 ] || abort "step $s: no single file $LAB/steps/$s-*.sh"
            s=${m%.sh}
        fi
        STEPS+="$s "
    done
else
    STEPS=$(cd "$LAB/steps" && ls -1 -- *.sh 2>/dev/null | sed 's/\.sh$//' | sort | tr '\n' ' ')
fi
NSTEPS=$(wc -w <<<"$STEPS")
[ "$NSTEPS" -gt 0 ] || abort "no steps in $LAB/steps"
for s in $STEPS; do [ -f "$LAB/steps/$s.sh" ] || abort "step $s: no file $LAB/steps/$s.sh"; done
[ -d "$BUILD" ] || abort "build dir $BUILD does not exist (build first: make O=$BUILD_ARG)"
BUILD=$(cd "$BUILD" && pwd -P)
for p in "$SRC" "$BUILD" "$WORK"; do
    case "$p" in *[[:space:],]*) abort "path '$p' contains a space or comma, which QEMU's -virtfs cannot take" ;; esac
done

# ---- host preparation ----
bash "$LAB/setup.sh" || abort "tests/vmlab/setup.sh failed (see above)"
QEMU=$(command -v qemu-system-x86_64) || abort "qemu-system-x86_64 not found (Debian package qemu-system-x86)"
KERNEL=$WORK/vmlinuz
INITRD=$WORK/initramfs.img
[ -r "$KERNEL" ] && [ -r "$INITRD" ] || abort "guest kernel or initramfs missing under $WORK"

name=$(basename "$BUILD" | tr -c 'A-Za-z0-9_.\n-' '_')
RUN=$WORK/runs/$name
mkdir -p "$RUN"
exec 8>"$RUN/.lock"
flock -n 8 || abort "another vmlab run uses $RUN"
rm -rf "$RUN/lab" "$RUN"/*.console "$RUN"/*.qemu.log
mkdir -p "$RUN/lab/results" "$RUN/lab/sync"
mkdir -p "$RUN/lab/kmod"
cp "$WORK"/kmod/*.ko "$RUN/lab/kmod/" 2>/dev/null
# Both guests map this file as an ivshmem-plain BAR: a PCIe shared-memory window between them.
# It lives on disk beside the run, not in /dev/shm, where the unit tests look for leaks.
rm -f "$RUN/ivshmem.mem"
truncate -s "$IVSHMEM_SIZE" "$RUN/ivshmem.mem"
cat >"$RUN/lab/config.sh" <<EOF
VMLAB_SRC=$SRC
VMLAB_BUILD=$BUILD
VMLAB_STEPS="$STEPS"
VMLAB_MTU=$MTU
VMLAB_BOOT_WAIT=$BOOT_TIMEOUT
VMLAB_STEP_TIMEOUT=${VMLAB_STEP_TIMEOUT:-60}
EOF
[ -n "${VMLAB_SELFTEST:-}" ] && echo "export VMLAB_SELFTEST=$VMLAB_SELFTEST" >>"$RUN/lab/config.sh"

# ---- guests ----
declare -A PID=()
cleanup() {
    local n
    for n in "${!PID[@]}"; do kill "${PID[$n]}" 2>/dev/null; done
    for n in "${!PID[@]}"; do wait "${PID[$n]}" 2>/dev/null; done
    PID=()
}
stop_all() {
    cleanup
    [ -n "${IVPID:-}" ] && { kill "$IVPID" 2>/dev/null; wait "$IVPID" 2>/dev/null; IVPID=""; }
}
trap stop_all EXIT
trap 'echo "vmlab: interrupted" >&2; exit 130' INT TERM

# Both guests also get an ivshmem-doorbell device: memory and interrupts from our ivshmem server.
IVSERVER=$BUILD/bin/osci-ivshmem-server
[ -x "$IVSERVER" ] || abort "$IVSERVER not built (make all)"
IVSOCK=$RUN/ivshmem.sock
"$IVSERVER" -S "$IVSOCK" -l "$DOORBELL_SIZE" -n "$DOORBELL_VECTORS" >"$RUN/ivshmem-server.log" 2>&1 &
IVPID=$!
for _ in $(seq 1 50); do [ -S "$IVSOCK" ] && break; sleep 0.1; done
[ -S "$IVSOCK" ] || { cat "$RUN/ivshmem-server.log" >&2; abort "osci-ivshmem-server did not start"; }

append="console=ttyS0 loglevel=${VMLAB_LOGLEVEL:-4} panic=-1 vmlab.src=$SRC"
case "$BUILD/" in "$SRC"/*) ;; *) append="$append vmlab.build=$BUILD" ;; esac
start_guest() { # node mac netdev-option
    local node=$1 mac=$2 net=$3
    # shellcheck disable=SC2054  # the commas belong to QEMU's option syntax
    local args=(
        -accel "$ACCEL" -cpu max -smp 1 -m "$MEM" -nodefaults -no-user-config -no-reboot
        -display none -monitor none -serial "file:$RUN/$node.console"
        -kernel "$KERNEL" -initrd "$INITRD" -append "$append vmlab.node=$node"
        -netdev "socket,id=n0,$net" -device "virtio-net-pci,netdev=n0,mac=$mac,romfile="
        -object "memory-backend-file,id=shm0,size=$IVSHMEM_SIZE,share=on,mem-path=$RUN/ivshmem.mem"
        -device ivshmem-plain,memdev=shm0
        -chardev "socket,path=$IVSOCK,id=ivc" -device "ivshmem-doorbell,chardev=ivc,vectors=$DOORBELL_VECTORS"
        -virtfs "local,path=/usr,mount_tag=hostusr,security_model=none,readonly=on,multidevs=remap"
        -virtfs "local,path=$SRC,mount_tag=src,security_model=none,readonly=on,multidevs=remap"
        -virtfs "local,path=$RUN/lab,mount_tag=lab,security_model=none,multidevs=remap"
    )
    case "$BUILD/" in "$SRC"/*) ;; *)
        args+=(-virtfs "local,path=$BUILD,mount_tag=build,security_model=none,readonly=on,multidevs=remap") ;;
    esac
    "$QEMU" "${args[@]}" >"$RUN/$node.qemu.log" 2>&1 &
    PID[$node]=$!
}
show_logs() {
    local n
    [ -s "$RUN/ivshmem-server.log" ] && { echo "---- $RUN/ivshmem-server.log ----"; tail -n 50 "$RUN/ivshmem-server.log"; }
    for n in A B; do
        for f in "$RUN/$n.qemu.log" "$RUN/$n.console"; do
            [ -s "$f" ] || continue
            echo "---- $f (last 150 lines) ----"
            tail -n 150 "$f"
        done
    done
}
alive() { [ -n "${PID[$1]:-}" ] && kill -0 "${PID[$1]}" 2>/dev/null; }

infra=""
port=""
for _ in 1 2 3 4 5; do
    p=$((20000 + RANDOM % 20000))
    ss -Hltn "sport = :$p" | grep -q . && continue
    start_guest A 52:54:00:77:00:01 "listen=127.0.0.1:$p"
    for _ in $(seq 1 100); do
        alive A || break
        ss -Hltn "sport = :$p" | grep -q . && { port=$p; break; }
        sleep 0.1
    done
    [ -n "$port" ] && break
    cleanup
done
if [ -z "$port" ]; then
    infra="QEMU could not start guest A (accel $ACCEL)"
else
    start_guest B 52:54:00:77:00:02 "connect=127.0.0.1:$port"
    echo "vmlab: guests A and B starting ($ACCEL, $MEM each, socket link on 127.0.0.1:$port)"
fi

booted=0
G0=$(date +%s)
while [ -z "$infra" ]; do
    now=$(date +%s)
    t=$((now - G0))
    if [ "$booted" = 0 ] && [ -e "$RUN/lab/ready.A" ] && [ -e "$RUN/lab/ready.B" ]; then
        booted=1
        echo "vmlab: both guests up at $(elapsed) s (A at $(cat "$RUN/lab/ready.A") s, B at $(cat "$RUN/lab/ready.B") s guest uptime)"
    fi
    if ! alive A && ! alive B; then break; fi
    for n in A B; do
        if ! alive "$n" && [ ! -e "$RUN/lab/done.$n" ]; then
            infra="guest $n stopped before finishing its steps"
        fi
        # A vCPU that fails (KVM here cannot run an ordinary guest) leaves QEMU paused, not exited.
        if grep -q -e 'internal error' -e 'emulation failure' "$RUN/$n.qemu.log" 2>/dev/null; then
            infra="QEMU could not run guest $n with -accel $ACCEL (see its log below; VMLAB_ACCEL=tcg works everywhere)"
        fi
    done
    if [ "$booted" = 0 ] && [ "$t" -ge "$BOOT_TIMEOUT" ]; then
        for n in A B; do [ -e "$RUN/lab/ready.$n" ] || infra="${infra:+$infra; }guest $n did not boot within ${BOOT_TIMEOUT}s"; done
    fi
    [ "$t" -ge "$TOTAL_TIMEOUT" ] && infra="the lab did not finish within ${TOTAL_TIMEOUT}s"
    [ -n "$infra" ] && break
    sleep 0.5
done
cleanup
for n in A B; do [ -e "$RUN/lab/setup-failed.$n" ] && infra="${infra:+$infra; }network or rxe setup failed on guest $n"; done

# ---- report ----
pass=0
fail=0
echo
for s in $STEPS; do
    status=PASS detail=""
    for n in A B; do
        rc=$(cat "$RUN/lab/results/$n/$s/rc" 2>/dev/null || echo "none")
        sec=$(cat "$RUN/lab/results/$n/$s/seconds" 2>/dev/null || echo "-")
        detail="$detail $n:rc=$rc,${sec}s"
        [ "$rc" = 0 ] || status=FAIL
    done
    printf '%s %-20s%s\n' "$status" "$s" "$detail"
    if [ "$status" = PASS ]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        for n in A B; do
            f=$RUN/lab/results/$n/$s/output.log
            [ -f "$f" ] && { echo "  ---- $n output ----"; tail -n 40 "$f" | sed 's/^/  | /'; }
        done
    fi
done

# Figures from all steps, one JSON array.
{
    echo "["
    first=1
    for n in A B; do
        for s in $STEPS; do
            f=$RUN/lab/results/$n/$s/results.jsonl
            [ -f "$f" ] || continue
            while IFS= read -r line; do
                [ -n "$line" ] || continue
                [ "$first" = 1 ] || echo ","
                first=0
                printf '  {"node":"%s","step":"%s",%s' "$n" "$s" "${line#\{}"
            done <"$f"
        done
    done
    echo
    echo "]"
} >"$RUN/results.json"
mkdir -p "$BUILD/vmlab" 2>/dev/null && cp "$RUN/results.json" "$BUILD/vmlab/results.json" 2>/dev/null
if grep -q '"test"' "$RUN/results.json"; then
    echo
    echo "vmlab: figures (TCG emulation: compare only as ratios within one run)"
    grep '"test"' "$RUN/results.json" | sed 's/^ */  /; s/,$//'
    echo "vmlab: results in $RUN/results.json and $BUILD/vmlab/results.json"
fi

if [ -n "$infra" ]; then
    echo
    echo "vmlab: error: $infra" >&2
    show_logs
    [ "$fail" = 0 ] && fail=1
elif [ "$fail" -gt 0 ]; then
    echo
    show_logs
fi
summary "$pass" "$fail"
[ "$fail" = 0 ]
