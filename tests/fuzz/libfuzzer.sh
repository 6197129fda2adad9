#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Builds every tests/fuzz/fuzz_*.c with clang's libFuzzer against coverage-instrumented libraries
# (make SAN=fuzz) and runs each for FUZZ_SECONDS (default 60), keeping its corpus in build-fuzz/.
set -euo pipefail
# RDMA=no (from make fuzz RDMA=no): the libraries have no rdma driver, so its fuzzers are left out.
rdma=${RDMA:-yes}
make -s SAN=fuzz RDMA="$rdma" build-fuzz/lib/libnvscibuf.a build-fuzz/lib/libopensci-buf.a build-fuzz/lib/libsisci.a build-fuzz/lib/libnvscievent.a build-fuzz/lib/libnvsciipc.a
out=build-fuzz
libs="-lrt -lm -pthread"
[ "$rdma" = no ] || libs="-libverbs -lrdmacm $libs"
for src in tests/fuzz/fuzz_*.c; do
    n=$(basename "$src" .c)
    case "$rdma:$n" in no:fuzz_rdma_*) continue ;; esac
    # shellcheck disable=SC2086
    clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iinclude -Icommon -Idriver/core -Idriver/simntb \
        -Idriver/rdma -Ilibseg -Ilibipc -Ilibbuf \
        "$src" "$out"/lib/libnvscibuf.a "$out"/lib/libopensci-buf.a "$out"/lib/libnvsciipc.a "$out"/lib/libnvscievent.a \
        "$out"/lib/libsisci.a $libs -o "$out/$n"
    mkdir -p "$out/corpus-$n"
    "$out/$n" -max_total_time="${FUZZ_SECONDS:-60}" -timeout="${FUZZ_TIMEOUT:-25}" "$out/corpus-$n" "tests/fuzz/corpus/${n#fuzz_}"
done
