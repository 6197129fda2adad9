#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Step: rxe0 exists and its port 1 is PORT_ACTIVE on this guest.
# vmlab-timeout: 30
. "$VMLAB_LIB"
for _ in $(seq 1 50); do
    if ibv_devinfo -d rxe0 -i 1 >devinfo.txt 2>&1 && grep -q 'state:.*PORT_ACTIVE' devinfo.txt; then
        cat devinfo.txt
        rdma link show
        lab_log "rxe0 port 1 is PORT_ACTIVE"
        exit 0
    fi
    sleep 0.2
done
cat devinfo.txt
rdma link show
lab_fail "rxe0 port 1 is not PORT_ACTIVE"
