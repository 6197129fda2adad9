#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Step: NvSciIpc INTER_VM between the guests over the ivshmem-doorbell device (libipc/ipc_vm.c;
# tests/rdmalab/ipc_vm_pair.c). Both guests load kernel/osci_ivshmem (as step 17 does), read their ivshmem
# ids, and write the seed's config line `INTER_VM ivm_test 255` unchanged into nvsciipc.cfg and the queue
# table's entry for queue 255 into opensci.conf. Then:
#   1. the server's endpoint opens first: 2000 frames of 1536 B each way (every other one zero-copy), every
#      frame counted and checked, then an idle waiter that must wake 0 times; the client closes, the server
#      sees CONN_RESET;
#   2. the same with the client's endpoint open first;
#   3. the client's process holds the endpoint and is SIGKILLed: the server gets CONN_RESET (the module's
#      last words), the client's new process opens again, CONN_EST, 500 frames each way.
# vmlab-timeout: 300
. "$VMLAB_LIB"
lab_prog ipc_vm_pair
lab_ivshmem_load

lab_ivshmem_ids
if [ "$ROLE" = server ]; then ids=$id,$peer; else ids=$peer,$id; fi

cat >nvsciipc.cfg <<CFG
#CFGVER:1
INTER_VM ivm_test 255
CFG
cat >opensci.conf <<CFG
# NvSciIpc INTER_VM queue table: queue 255 at the start of BAR2, side 0 = the server's guest
intervm 255 offset=0 peers=$ids nframes=64 frame_size=1536 vector=1
CFG
export NVSCIIPC_CFG=$PWD/nvsciipc.cfg OSCI_CONF=$PWD/opensci.conf IPC_VM_SYNC=$LAB_DIR/sync/$STEP.prog
export OSCI_LOG=${OSCI_LOG:-info}
lab_log "ivshmem ids $ids (side 0, side 1); $node"

# run_first NAME ARGS...: start the program in the background, wait until its endpoint is open, tell the peer
run_first() {
    local tag=$1 ready=$PWD/ready.$1 pid
    shift
    rm -f "$ready"
    "$bin" ivm_test "$@" "$ready" >"$tag.log" 2>&1 &
    pid=$!
    for _ in $(seq 1 300); do [ -e "$ready" ] || ! kill -0 $pid 2>/dev/null && break; sleep 0.1; done
    [ -e "$ready" ] || { cat "$tag.log"; lab_fail "$tag: the endpoint did not open"; }
    lab_signal "$tag-open"
    lab_wait_pid $pid
    rc=$?
    cat "$tag.log"
    [ $rc = 0 ] || lab_fail "$tag: exited with $rc"
}
run_second() {
    local tag=$1
    shift
    lab_wait "$tag-open" 60 || lab_fail "$tag: the peer's endpoint did not open"
    "$bin" ivm_test "$@" >"$tag.log" 2>&1
    rc=$?
    cat "$tag.log"
    [ $rc = 0 ] || lab_fail "$tag: exited with $rc"
}

# 1 and 2: both start orders
if [ "$ROLE" = server ]; then run_first s1 stream server 2000; else run_second s1 stream client 2000; fi
lab_signal s1-done
lab_wait s1-done 120 || lab_fail "the peer failed order 1"
if [ "$ROLE" = client ]; then run_first s2 stream client 2000; else run_second s2 stream server 2000; fi
lab_signal s2-done
lab_wait s2-done 120 || lab_fail "the peer failed order 2"

# 3: the client's process killed while it holds the endpoint, then a new one
if [ "$ROLE" = server ]; then
    run_first s3 survive 100 500
else
    lab_wait s3-open 60 || lab_fail "s3: the survivor did not open"
    rm -f held
    "$bin" ivm_test hold 100 "$PWD/held" >s3-hold.log 2>&1 &
    pid=$!
    for _ in $(seq 1 600); do [ -e held ] || ! kill -0 $pid 2>/dev/null && break; sleep 0.1; done
    [ -e held ] || { cat s3-hold.log; lab_fail "s3: the holder did not write its frames"; }
    kill -9 $pid
    wait $pid 2>/dev/null
    cat s3-hold.log
    lab_log "holder (pid $pid) SIGKILLed"
    "$bin" ivm_test rejoin 500 >s3-rejoin.log 2>&1
    rc=$?
    cat s3-rejoin.log
    [ $rc = 0 ] || lab_fail "s3 rejoin: exited with $rc"
fi
lab_signal s3-done
lab_wait s3-done 120 || lab_fail "the peer failed the kill test"
grep -h "idle waiter" s1.log s2.log | sed "s/^/[$STEP $ROLE] /"
lab_log "passed"
