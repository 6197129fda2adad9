#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Step: perftest ib_write_lat, 8-byte messages.
# vmlab-timeout: 90
. "$VMLAB_LIB"
. "$SRC/tests/vmlab/steps/perftest.inc"
perf_run ib_write_lat 8 100 lat
