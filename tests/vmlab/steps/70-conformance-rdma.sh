#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Step: the conformance suites (tests/conformance/test_{drv,seg,ipc}, docs/testing.md) between the guests
# over the rdma adapter: the same binaries `make check` runs on simntb, here with OSCI_CONF naming
# `adapter 0 rdma dev=rxe0` and one side per guest (the server is side a, the client side b; they meet
# over TCP on port 18542 before every case). Cases the driver's capabilities rule out skip on both sides;
# tests/conformance/rdma.exclude lists the rest, with reasons. INTER_PROCESS cases run on each guest alone.
# vmlab-timeout: 600
. "$VMLAB_LIB"
lab_rdma_node 18541 mr_chunk=256K
lab_conformance rdma 18542
