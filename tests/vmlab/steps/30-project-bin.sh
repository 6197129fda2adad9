#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Step: the project's own binaries execute in the guest. Runs $BUILD/bin/osci-seginfo --version when
# the tools are built; otherwise the first project test binary (sorted) from $BUILD/tests, or the one
# named by VMLAB_SELFTEST (a path under $BUILD/tests, e.g. drv/test_conf), which must need no peer.
# vmlab-timeout: 240
. "$VMLAB_LIB"
[ -d "$BUILD" ] || lab_fail "build dir $BUILD is not visible in the guest"
if [ -x "$BUILD/bin/osci-seginfo" ]; then
    "$BUILD/bin/osci-seginfo" --version >seginfo.txt 2>&1
    rc=$?
    cat seginfo.txt
    [ "$rc" = 0 ] || lab_fail "osci-seginfo --version exited with $rc"
    [ -s seginfo.txt ] || lab_fail "osci-seginfo --version printed nothing"
    lab_log "osci-seginfo runs: $(head -1 seginfo.txt)"
    exit 0
fi
if [ -n "${VMLAB_SELFTEST:-}" ]; then
    bin=$BUILD/tests/$VMLAB_SELFTEST
else
    bin=$(find "$BUILD/tests" -mindepth 2 -maxdepth 2 -type f -name 'test_*' -perm -u+x 2>/dev/null | sort | head -1)
fi
[ -n "$bin" ] && [ -x "$bin" ] ||
    lab_fail "no project binary in $BUILD (neither bin/osci-seginfo nor tests/*/test_*): build it first"
lab_log "osci-seginfo not built; running $bin"
# The same isolation tests/run.sh gives: a private fabric name.
OSCI_FABRIC=vmlab-$NODE_ID-$$ "$bin" >selftest.txt 2>&1
rc=$?
cat selftest.txt
[ "$rc" = 0 ] || lab_fail "$bin exited with $rc"
lab_log "$bin passed in the guest"
