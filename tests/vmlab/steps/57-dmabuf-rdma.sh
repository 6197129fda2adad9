#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Step: a udmabuf-backed doca_mmap exported with export_rdma between the guests (tests/rdmalab/dmabuf_pair.c).
# The server's range is [1 page, +1 MiB) of a udmabuf (set_dmabuf_memrange, 4 registrations of 256 KiB); the
# client reads it (RDMA READ) and writes half (RDMA WRITE), the server checks in its dma-buf and its memfd,
# rewrites a quarter, the client reads again. The step log says how the rdma driver registered the dma-buf
# (its info line: ibv_reg_dmabuf_mr; or, where the device has none (rxe), why not and ibv_reg_mr of the
# memfd's mapping that the program gives after the library's own mapping of the udmabuf was refused).
# vmlab-timeout: 150
. "$VMLAB_LIB"
lab_prog dmabuf_pair
[ -e /dev/udmabuf ] || lab_fail "no /dev/udmabuf in this guest (the 6.12 kernel has CONFIG_UDMABUF=y)"
lab_rdma_node 18521 mr_chunk=256K
log=$PWD/dmabuf_pair.$ROLE.log
OSCI_LOG=info "$bin" --role "$ROLE" --sync "$LAB_DIR/sync/$STEP.prog" 2>"$log"
rc=$?
cat "$log" >&2
if [ "$ROLE" = server ]; then
    reg=$(grep -m1 "rdma: export of .* from fd" "$log")
    warn=$(grep -m1 "rdma: .*: ibv_reg_dmabuf_mr: " "$log")
    pfn=$(grep -m1 "mapping cannot be registered" "$log")
    [ -n "$reg" ] || lab_fail "no registration line from the rdma driver"
    case $reg in
    *"a dma-buf"*ibv_reg_dmabuf_mr*) lab_log "ibv_reg_dmabuf_mr used: ${reg#*rdma: }" ;;
    *"a dma-buf"*)
        lab_log "ibv_reg_dmabuf_mr NOT used: ${warn#*rdma: }"
        [ -z "$pfn" ] || lab_log "the library's mapping of the udmabuf: ${pfn#*rdma: }"
        lab_log "registered instead: ${reg#*rdma: }" ;;
    *) lab_fail "the driver did not take the udmabuf for a dma-buf: $reg" ;;
    esac
fi
[ "$rc" = 0 ] || lab_fail "$ROLE exited with $rc"
lab_log "$ROLE passed"
