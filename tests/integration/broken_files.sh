#!/usr/bin/env bash
# Each broken file fails `packsim check` with exit code 2 and the located messages its
# `# expect:` lines give, and none its `# never:` lines give; all errors of a file are reported
# at once.
source "$(dirname "$0")/lib.sh"
n=0
for f in tests/data/broken/*.toml; do
  n=$((n + 1))
  set +e
  "$PACKSIM" check "$f" >"$TMP/out" 2>"$TMP/err"
  rc=$?
  set -e
  [ $rc -eq 2 ] || fail "$f: exit code $rc, expected 2"
  grep -q '^# expect:' "$f" || fail "$f has no '# expect:' line"
  while IFS= read -r line; do
    want=${line#\# expect: }
    grep -qF -- "tests/data/broken/$want" "$TMP/err" || {
      cat "$TMP/err" >&2
      fail "$f: missing message: $want"
    }
  done < <(grep '^# expect:' "$f")
  # `# never:` lines: messages that would be wrong here (a second, misleading complaint).
  while IFS= read -r line; do
    unwanted=${line#\# never: }
    if grep -qF -- "$unwanted" "$TMP/err"; then
      cat "$TMP/err" >&2
      fail "$f: unwanted message: $unwanted"
    fi
  done < <(grep '^# never:' "$f")
  # No message without a file:line prefix.
  if grep -v 'file(s) have errors' "$TMP/err" | grep -qv '^tests/data/broken/[^:]*:[0-9]'; then
    cat "$TMP/err" >&2
    fail "$f: a message without file:line"
  fi
done
[ $n -ge 10 ] || fail "expected at least 10 broken files, found $n"
echo "$n broken files rejected as expected"
