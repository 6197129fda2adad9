#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# SPDX licence lines (LICENSE). Usage: scripts/spdx.sh --check | --fix [file...]
#   --check  lists the files that should carry an SPDX-License-Identifier line in their first 3 lines and do
#            not; exits 1 when there is any.
#   --fix    adds the line, in the file's comment syntax, as line 1 (line 2 after a #! line).
# Files: the git tree's tracked and new files (or the ones named). Covered: C sources and headers, shell and
# Python scripts (by name or #! line), Makefiles, pkg-config templates, debian/rules, man pages, Markdown.
# Left out: data (test fixtures, fuzz corpora, example configurations, lists), the licence texts themselves and
# debian/ other than rules (debian/copyright states their licence).
# kernel/ is GPL-2.0-only (it links with Linux); everything else is GPL-2.0-only OR BSD-2-Clause.
set -euo pipefail
cd "$(dirname "$0")/.."

USER_ID='GPL-2.0-only OR BSD-2-Clause'
KERNEL_ID='GPL-2.0-only'

# Prints the comment style of a file: c, hash, roff, md; nothing when the file takes no SPDX line.
style() {
    local f=$1
    case $f in
        LICENSE|COPYING*|tests/fuzz/corpus/*|*.conf|*.cfg|*.list|*.json|*.csv|*.txt) return ;;
        debian/rules) echo hash; return ;;
        debian/*) return ;;
        *.c|*.h|*.ld|*.lds|*.map) echo c ;;
        *.sh|*.bash|*.py|*.inc|*.mk|Makefile|*/Makefile|Kbuild|*/Kbuild|*.pc.in|.ci/*) echo hash ;;
        *.[1-8]) echo roff ;;
        *.md) echo md ;;
        *) [ -f "$f" ] && head -c 2 "$f" 2>/dev/null | grep -q '^#!' && echo hash ;;
    esac
    return 0
}

licence_of() {
    case $1 in kernel/*) echo "$KERNEL_ID" ;; *) echo "$USER_ID" ;; esac
}

has_spdx() {
    head -n 3 "$1" | grep -q 'SPDX-License-Identifier:'
}

fix_one() {
    local f=$1 s=$2 id line tmp
    id=$(licence_of "$f")
    case $s in
        c) line="/* SPDX-License-Identifier: $id */" ;;
        hash) line="# SPDX-License-Identifier: $id" ;;
        roff) line=".\\\" SPDX-License-Identifier: $id" ;;
        md) line="<!-- SPDX-License-Identifier: $id -->" ;;
    esac
    tmp=$(mktemp "$f.spdx.XXXXXX")
    if head -n 1 "$f" | grep -q '^#!'; then
        { head -n 1 "$f"; printf '%s\n' "$line"; tail -n +2 "$f"; } >"$tmp"
    else
        { printf '%s\n' "$line"; cat "$f"; } >"$tmp"
    fi
    chmod --reference="$f" "$tmp"
    mv "$tmp" "$f"
}

mode=${1:-}
case $mode in
    --check|--fix) shift ;;
    *) echo "usage: scripts/spdx.sh --check|--fix [file...]" >&2; exit 2 ;;
esac

if [ $# -gt 0 ]; then
    files=("$@")
else
    mapfile -t files < <(git ls-files --cached --others --exclude-standard | sort -u)
fi

missing=0
for f in "${files[@]}"; do
    [ -f "$f" ] && [ ! -L "$f" ] || continue
    s=$(style "$f")
    [ -n "$s" ] || continue
    has_spdx "$f" && continue
    if [ "$mode" = --fix ]; then
        fix_one "$f" "$s"
        echo "spdx: added to $f"
    else
        echo "$f"
        missing=$((missing + 1))
    fi
done
if [ "$mode" = --check ] && [ $missing -gt 0 ]; then
    echo "spdx: $missing file(s) without an SPDX-License-Identifier line (scripts/spdx.sh --fix adds it)" >&2
    exit 1
fi
exit 0
