#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Runs the built tests of build dir $1: mode "all" (every test and fuzzer) or "tsan" (tests/tsan.list).
# The conformance suites (tests/conformance/) run once per driver of OSCI_CONFORM_DRIVERS (default simntb).
# Each test runs alone with a timeout, on a fabric of its own; anything it leaves in /dev/shm or
# /dev/mqueue fails it. Where unshare works (root), each test gets its own IPC and mount namespace with
# a private /dev/shm and /dev/mqueue, so only the test's own objects count; elsewhere the check compares
# snapshots and other processes' objects can fail it. Ends with the line "N passed, N failed".
set -u
O=${1:?build dir}; mode=${2:-all}
TIMEOUT=${OSCI_TEST_TIMEOUT:-300}
if [ ! -d /dev/mqueue ] && [ "$(id -u)" = 0 ]; then mkdir -p /dev/mqueue && mount -t mqueue none /dev/mqueue 2>/dev/null; fi
pass=0; fail=0; failed=()
# The drivers the conformance suites run on here: simntb needs nothing; rdma needs two hosts (the lab,
# tests/vmlab/steps/70-conformance-rdma.sh), so it is not listed by default.
CONFORM_DRIVERS=${OSCI_CONFORM_DRIVERS:-simntb}
snapshot() { ls -1 /dev/shm 2>/dev/null; ls -1 /dev/mqueue 2>/dev/null | sed 's|^|mq:|'; }
# In a private namespace: fresh /dev/shm and /dev/mqueue, the test, then what it left on fd 3.
ISOLATED='mount -t tmpfs -o mode=1777 osci-shm /dev/shm && mount -t mqueue osci-mq /dev/mqueue || exit 125
"$@"; rc=$?; sleep 0.05
{ ls -1 /dev/shm; ls -1 /dev/mqueue | sed "s|^|mq:|"; } >&3; exit $rc'
isolate=0
unshare --ipc --mount --propagation private -- sh -c "$ISOLATED" sh true 3>/dev/null 2>/dev/null && isolate=1

run_one() {  # name, command...
    local name=$1; shift
    local before after leaked t0 t1 rc log
    log=$(mktemp)
    t0=$(date +%s.%N)
    if [ $isolate = 1 ]; then
        leaked=$(OSCI_FABRIC="t$$-$(basename "$name")" timeout -k 5 "$TIMEOUT" \
                 unshare --ipc --mount --propagation private -- sh -c "$ISOLATED" sh "$@" 3>&1 >"$log" 2>&1)
        rc=$?
    else
        before=$(snapshot)
        OSCI_FABRIC="t$$-$(basename "$name")" timeout -k 5 "$TIMEOUT" "$@" >"$log" 2>&1
        rc=$?
        sleep 0.05
        leaked=$(comm -13 <(echo "$before" | sort) <(snapshot | sort) | grep -v '^$' || true)
    fi
    t1=$(date +%s.%N)
    if [ $rc -eq 0 ] && [ -z "$leaked" ]; then
        pass=$((pass + 1)); printf 'PASS %-44s %6.2fs\n' "$name" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')"
    else
        fail=$((fail + 1)); failed+=("$name")
        printf 'FAIL %-44s rc=%d\n' "$name" "$rc"
        [ -n "$leaked" ] && echo "  left behind: $leaked"
        sed 's/^/  | /' "$log" | tail -60
        # Without namespaces on a fresh CI machine nothing else runs: remove what the test left.
        if [ $isolate = 0 ] && [ -n "${CI:-}" ]; then
            for l in $leaked; do case $l in mq:*) rm -f "/dev/mqueue/${l#mq:}";; *) rm -f "/dev/shm/$l";; esac; done
        fi
    fi
    rm -f "$log"
}

if [ "$mode" = tsan ]; then
    list=$(grep -v '^#' tests/tsan.list 2>/dev/null | sed '/^$/d')
    for t in $list; do
        [ -x "$O/tests/$t" ] || { fail=$((fail + 1)); failed+=("$t (not built)"); echo "FAIL $t not built"; continue; }
        TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" run_one "tsan:$t" "$O/tests/$t"
    done
else
    for t in $(cd "$O/tests" 2>/dev/null && find . -type f -name 'test_*' -perm -u+x | sed 's|^\./||' | sort); do
        case $t in
        conformance/*)
            # once per driver this host has (docs/testing.md): an opensci.conf naming it, its exclude list
            for drv in $CONFORM_DRIVERS; do
                conf=$(mktemp /tmp/osci-conform-XXXXXX)
                echo "adapter 0 $drv" >"$conf"
                ex=$PWD/tests/conformance/$drv.exclude
                [ -f "$ex" ] || ex=
                OSCI_CONF=$conf OSCI_CONFORM_EXCLUDE=$ex run_one "$t-$drv" "$O/tests/$t"
                rm -f "$conf"
            done;;
        *) run_one "$t" "$O/tests/$t";;
        esac
    done
    for f in $(cd "$O/fuzz" 2>/dev/null && ls fuzz_* 2>/dev/null); do
        corpus="tests/fuzz/corpus/${f#fuzz_}"
        runs=${OSCI_FUZZ_RUNS:-20000}
        # a fuzz_shm run opens and closes three simntb nodes: fewer runs keep it to seconds
        [ "$f" = fuzz_shm ] && runs=${OSCI_FUZZ_SHM_RUNS:-8000}
        run_one "fuzz/$f" "$O/fuzz/$f" -runs="$runs" "$corpus"
    done
fi
echo
[ $isolate = 1 ] || echo "note: no private namespaces here (not root?): objects made by other processes during a test fail it"
[ ${#failed[@]} -gt 0 ] && printf 'failed: %s\n' "${failed[@]}"
echo "$(basename "$O"): $pass passed, $fail failed"
echo "$pass $fail" > "$O/check-result.$mode"
[ $fail -eq 0 ]
