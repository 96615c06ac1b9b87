#!/usr/bin/env bash
# Every shipped model, pack and scenario passes `packsim check`.
source "$(dirname "$0")/lib.sh"
shopt -s nullglob
files=(models/*.toml configs/*.toml scenarios/*.toml scenarios/library/*.toml scenarios/library/foxbms2/*.toml profiles/*/profile.toml)
[ ${#files[@]} -ge 3 ] || fail "expected shipped files, found ${#files[@]}"
"$PACKSIM" check "${files[@]}"
