#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Builds OpenSCI's Debian packages (debian/) from a copy of this tree, so the tree and its parent folder
# stay clean, and runs lintian on them.
# Usage: scripts/build-debs.sh OUTDIR      (the .deb, .changes and .buildinfo files land in OUTDIR)
# DEB_BUILD_OPTIONS is passed on (e.g. nocheck, parallel=2; default parallel=2).
# Build dependencies: scripts/deps.sh pkg.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: build-debs.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d /tmp/opensci-debs.XXXXXX)
trap 'rm -rf "$work"' EXIT

src=$work/opensci
mkdir -p "$src"
# The tree's files: git's tracked and new ones, else everything but build output.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files -z --cached --others --exclude-standard | tar --null -cf - -T - | tar -xf - -C "$src"
else
    tar --exclude='./build*' --exclude='./tests/vmlab/work' --exclude='./debian/tmp' -cf - . | tar -xf - -C "$src"
fi

export DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS:-parallel=2}
echo "build-debs: dpkg-buildpackage -us -uc -b (DEB_BUILD_OPTIONS=$DEB_BUILD_OPTIONS)"
(cd "$src" && dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1 || {
    tail -60 "$work/build.log" >&2
    echo "build-debs: dpkg-buildpackage failed" >&2
    exit 1
}
grep -E '^dpkg-deb: building|^check-installed:|warning' "$work/build.log" || true
changes=$(ls "$work"/*.changes)
mv "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo "$out"/
changes=$out/$(basename "$changes")

if command -v lintian >/dev/null; then
    echo "build-debs: lintian $(basename "$changes")"
    # Errors fail the build; warnings are shown.
    lintian --fail-on error "$changes"
else
    echo "build-debs: lintian is not installed (scripts/deps.sh pkg); not checked"
fi
ls "$out"/*.deb
