#!/usr/bin/env bash
# find_package(packsim) from an installed prefix: a separate project (tests/integration/consumer)
# configured with only CMAKE_PREFIX_PATH pointing at the prefix builds against packsim::config and
# packsim::model, loads a shipped pack and steps it; a version the package does not promise
# (0.x: another minor) is refused.
#   install_find_package.sh PACKSIM BUILD_DIR CMAKE
source "$(dirname "$0")/lib.sh"
BUILD=$(realpath "${2:?build dir}")
CMAKE=${3:?cmake}
CONSUMER=$PWD/tests/integration/consumer
"$CMAKE" --install "$BUILD" --prefix "$TMP/prefix" >"$TMP/install.log"
version=$("$PACKSIM" --version | head -n 1 | cut -d' ' -f2)
generator=()
if command -v ninja >/dev/null; then generator=(-G Ninja); fi

"$CMAKE" -S "$CONSUMER" -B "$TMP/build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$TMP/prefix" -DPACKSIM_WANT="$version" >"$TMP/configure.log" 2>&1 ||
  { cat "$TMP/configure.log" >&2; fail "configure against the installed prefix"; }
"$CMAKE" --build "$TMP/build" >"$TMP/build.log" 2>&1 || { cat "$TMP/build.log" >&2; fail "build"; }
# It found the installed package, not this source or build tree.
grep -q "packsim_DIR:PATH=$TMP/prefix/" "$TMP/build/CMakeCache.txt" || fail "packsim_DIR not in the prefix"
if grep -rqF "$BUILD" "$TMP/prefix/lib/cmake/packsim"; then fail "the CMake package names the build tree"; fi

"$TMP/build/step_pack" >"$TMP/out" || fail "step_pack"
cat "$TMP/out"
python3 - "$TMP/out" <<'PY'
import sys
v = dict(line.split() for line in open(sys.argv[1]))
v = {k: float(x) for k, x in v.items()}
assert v["cells"] == 192, v                      # the shipped 96s2p pack, found via packsim_DATA_DIR
assert abs(v["current"] - v["one_c"]) < 1e-3, v  # the load drew what it was asked
assert 300 < v["v_load"] < v["v_rest"] < 420, v  # sagged under load, a sane 96s NMC voltage
# 1C for 2 s is 2/3600 of the charge; the cells' capacity spread moves the mean by a little.
assert abs(v["soc_drop"] / (2 / 3600) - 1) < 0.02, v
PY

# SameMinorVersion: 0.1 does not satisfy a request for the next minor version.
next_minor=$(echo "$version" | awk -F. '{print $1 "." $2 + 1}')
if "$CMAKE" -S "$CONSUMER" -B "$TMP/build2" "${generator[@]}" -DCMAKE_PREFIX_PATH="$TMP/prefix" \
  -DPACKSIM_WANT="$next_minor" >"$TMP/configure2.log" 2>&1; then
  fail "find_package(packsim $next_minor) accepted version $version"
fi
grep -q "packsimConfig.cmake, version: $version" "$TMP/configure2.log" || fail "the refusal does not name the installed version"
echo ok
