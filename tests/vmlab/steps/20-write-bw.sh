#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Step: perftest ib_write_bw, 64 KiB messages, A serves, B measures.
# vmlab-timeout: 90
. "$VMLAB_LIB"
. "$SRC/tests/vmlab/steps/perftest.inc"
perf_run ib_write_bw 65536 200 bw
