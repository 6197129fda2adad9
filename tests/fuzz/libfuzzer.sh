#!/usr/bin/env bash
# Builds every tests/fuzz/fuzz_*.c with clang's libFuzzer and runs each for FUZZ_SECONDS (default 60).
set -euo pipefail
make -s SAN=asan libs
out=build-libfuzzer; mkdir -p "$out"
for src in tests/fuzz/fuzz_*.c; do
    n=$(basename "$src" .c)
    clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iinclude -Idriver -Ilibseg -Ilibipc -Ilibbuf \
        "$src" build-asan/lib/*.a -libverbs -lrdmacm -lrt -lm -pthread -o "$out/$n"
    mkdir -p "$out/corpus-$n"
    "$out/$n" -max_total_time="${FUZZ_SECONDS:-60}" "$out/corpus-$n" "tests/fuzz/corpus/${n#fuzz_}"
done
