#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Adds up the per-build results that tests/run.sh wrote; a missing result counts as one failure.
pass=0; fail=0
for f in "$@"; do
    if [ -r "$f" ]; then read -r p q < "$f"; pass=$((pass + p)); fail=$((fail + q))
    else echo "check: no result in $f"; fail=$((fail + 1)); fi
done
echo
echo "check: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
