#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Step: the conformance suites (tests/conformance/test_{drv,seg,ipc}, docs/testing.md) between the guests
# over the pcishm adapter (docs/pcishm.md): the same binaries `make check` runs on simntb, here with
# OSCI_CONF naming `adapter 0 pcishm` on the ivshmem-doorbell BAR and one side per guest (the server is
# side a, the client side b; they meet over TCP on port 18543 before every case). Cases the driver's
# capabilities rule out skip on both sides; tests/conformance/pcishm.exclude lists the rest, with
# reasons (none when it does not exist). Step 17-ivshmem-wake loads kernel/osci_ivshmem first.
# vmlab-timeout: 600
. "$VMLAB_LIB"
for s in drv seg ipc; do
    [ -x "$BUILD/tests/conformance/test_$s" ] || lab_fail "$BUILD/tests/conformance/test_$s not built (make O=<build> tests)"
done
dev=$(lab_ivshmem_dev doorbell) || lab_fail "no ivshmem-doorbell device"
echo "adapter 0 pcishm slot=$(basename "$dev") node_id=$NODE_ID" >opensci.conf
export OSCI_CONF=$PWD/opensci.conf
unset OSCI_NODE_ID OSCI_HOSTS
export OSCI_LOG=${OSCI_LOG:-warn}
export OSCI_CONFORM_ROLE OSCI_CONFORM_PEER=$PEER_ADDR OSCI_CONFORM_PORT=18543 OSCI_CONFORM_TIMEOUT_MS=60000
if [ "$ROLE" = server ]; then OSCI_CONFORM_ROLE=a; else OSCI_CONFORM_ROLE=b; fi
ex=$SRC/tests/conformance/pcishm.exclude
if [ -f "$ex" ]; then export OSCI_CONFORM_EXCLUDE=$ex; else unset OSCI_CONFORM_EXCLUDE; fi
failed=""
for s in drv seg ipc; do
    timeout -k 5 180 "$BUILD/tests/conformance/test_$s" >"test_$s.log" 2>&1
    rc=$?
    cat "test_$s.log"
    passed=$(grep -c '^\[       OK \]' "test_$s.log")
    skipped=$(grep '^\[  SKIPPED \] test_' "test_$s.log" | sort -u | wc -l)
    lab_result "{\"suite\":\"conformance/$s\",\"driver\":\"pcishm\",\"side\":\"$OSCI_CONFORM_ROLE\",\"rc\":$rc,\"passed\":$passed,\"skipped\":$skipped}"
    lab_log "conformance $s: rc $rc, $passed passed, $skipped skipped"
    [ "$rc" = 0 ] || failed="$failed $s"
done
[ -z "$failed" ] || lab_fail "conformance suites failed:$failed"
lab_log "passed"
