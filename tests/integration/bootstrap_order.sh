#!/usr/bin/env bash
# The README's two commands in a fresh copy of the source tree, in the README's order (demo, then
# test) and then in the other order (test, then demo, then test again): each does what it says
# whatever ran before it. The test command's release stage must list the whole suite — as many
# tests as this build lists — and run what it lists (here filtered to one test: the full suite is
# what the outer run is doing). An earlier bootstrap configured build/ without tests for the demo
# and the test command then reused that cache: CTest found no tests and the command ended green.
# Usage: bootstrap_order.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
SRC=$1 BUILD=$2
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

copy="$TMP/packsim"
mkdir -p "$copy"
(cd "$SRC" && git ls-files -z --cached --others --exclude-standard |
  xargs -0 cp --parents -t "$copy")
want=$(cd "$BUILD" && ctest -N | sed -n 's/^Total Tests: //p')
[ "${want:-0}" -gt 100 ] || fail "this build lists only ${want:-0} tests"
cd "$copy"
export JOBS=2

demo() { # demo LOG: the demo builds the programs and writes complete outputs
  rm -rf out/demo
  tools/bootstrap demo >"$TMP/$1" 2>&1 || { tail -n 30 "$TMP/$1"; fail "bootstrap demo ($1) failed"; }
  python3 - out/demo/summary.json <<'PY' || fail "demo ($1): no complete summary"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["status"] == "completed", s["status"]
assert s["ticks"] > 0, s
PY
  grep -q "bootstrap: demo outputs in out/demo/" "$TMP/$1" || fail "demo ($1): no closing line"
}
test_cmd() { # test LOG: the release stage lists the whole suite and runs what it lists
  BOOTSTRAP_STAGES=release BOOTSTRAP_CTEST_ARGS='-R ^lint\.format$' tools/bootstrap test \
    >"$TMP/$1" 2>&1 || { tail -n 30 "$TMP/$1"; fail "bootstrap test ($1) failed"; }
  grep -q "^bootstrap: build-test lists the whole suite: $want tests$" "$TMP/$1" ||
    { grep "^bootstrap:" "$TMP/$1"; fail "test ($1): the release stage does not list the $want tests"; }
  grep -q "^bootstrap: build-test: all 1 tests passed$" "$TMP/$1" ||
    { grep "^bootstrap:" "$TMP/$1"; fail "test ($1): the release stage did not run what it listed"; }
}

demo demo-first.log
test_cmd test-after-demo.log
demo demo-after-test.log
test_cmd test-after-both.log
# The demo's folder holds programs only; the test's folder holds the suite.
[ -x build/src/cli/packsim ] && [ -x build/src/cli/packsim-refbms ] || fail "no programs in build/"
[ ! -e build/tests/unit/model/test_model ] || fail "the demo built the tests into build/"
[ -x build-test/tests/unit/model/test_model ] || fail "no test programs in build-test/"
# The README's install lines work on what the demo built: man pages and completion included
# (they are generated from --help by the default target; the demo once built only the programs
# and `cmake --install build` then failed on the missing man1/).
cmake --install build --prefix "$TMP/prefix" >"$TMP/install.log" 2>&1 ||
  { tail -n 20 "$TMP/install.log"; fail "cmake --install build failed after the demo"; }
[ -s "$TMP/prefix/share/man/man1/packsim-run.1.gz" ] || fail "no man page installed from build/"
[ -x "$TMP/prefix/bin/packsim" ] || fail "no packsim installed from build/"

# What the bootstrap relies on: CTest fails, rather than passing, in a folder configured without
# the tests (the state the old demo left build/ in).
cmake -S . -B build-notests -G Ninja -DPACKSIM_BUILD_TESTS=OFF >/dev/null
(cd build-notests && ctest --no-tests=error >/dev/null 2>&1) &&
  fail "ctest --no-tests=error passed with no tests"
echo "bootstrap: demo and test in either order, each with its own folder ($want tests listed)"
