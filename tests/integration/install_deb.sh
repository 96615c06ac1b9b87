#!/usr/bin/env bash
# The .deb: cpack from this build (staging and package in a temp directory, so the build tree's
# own _CPack_Packages is never touched); its contents (binaries, data, man pages, completion,
# the bench unit, the CMake package) and control fields (Depends from dpkg-shlibdeps); installed
# into a throw-away root it runs the demo from an unrelated directory; apt can resolve its
# dependencies on this system (apt-get install -s).
#   install_deb.sh PACKSIM BUILD_DIR CPACK
source "$(dirname "$0")/lib.sh"
if [ -x /usr/bin/python3 ]; then python3() { /usr/bin/python3 "$@"; }; fi
BUILD=$(realpath "${2:?build dir}")
CPACK=${3:?cpack}
command -v dpkg-deb >/dev/null || fail "dpkg-deb not found (dpkg)"
command -v dpkg-shlibdeps >/dev/null || fail "dpkg-shlibdeps not found (apt-get install dpkg-dev)"

mkdir -p "$TMP/pkg"
(cd "$TMP/pkg" && "$CPACK" -G DEB --config "$BUILD/CPackConfig.cmake" -B "$TMP/pkg") \
  >"$TMP/cpack.log" 2>&1 || { cat "$TMP/cpack.log" >&2; fail "cpack -G DEB"; }
debs=("$TMP"/pkg/packsim_*.deb)
[ ${#debs[@]} -eq 1 ] && [ -f "${debs[0]}" ] || fail "expected one packsim_*.deb, got: ${debs[*]}"
DEB=${debs[0]}
version=$("$PACKSIM" --version | head -n 1 | cut -d' ' -f2)
[ "$(basename "$DEB")" = "packsim_${version}_$(dpkg --print-architecture).deb" ] ||
  fail "package file name $(basename "$DEB")"
echo "$(basename "$DEB"): $(stat -c %s "$DEB") bytes"

dpkg-deb -c "$DEB" | awk '{print $6}' | sed 's|^\./|/|' >"$TMP/files"
for f in /usr/bin/packsim /usr/bin/packsim-refbms \
  /usr/share/packsim/scenarios/demo.toml /usr/share/packsim/scenarios/profiles/us06_c_rate.csv \
  /usr/share/packsim/configs/ev_96s2p_nmc.toml /usr/share/packsim/models/kokam_slpb78216216h_nmc.toml \
  /usr/share/packsim/profiles/packsim/profile.toml /usr/share/packsim/profiles/packsim/packsim.dbc \
  /usr/share/packsim/data/measured/validation.toml \
  /usr/share/packsim/data/measured/panasonic_ncr18650pf/LICENSE.txt \
  /usr/share/man/man1/packsim.1.gz /usr/share/man/man1/packsim-run.1.gz \
  /usr/share/man/man1/packsim-refbms.1.gz /usr/share/man/man1/packsim-dbc-export.1.gz \
  /usr/share/bash-completion/completions/packsim /usr/share/doc/packsim/README.md \
  /usr/share/doc/packsim/bench.md /usr/lib/systemd/system/packsim-bench@.service \
  /etc/packsim/bench/example.env /usr/lib/cmake/packsim/packsimConfig.cmake \
  /usr/lib/cmake/packsim/packsimConfigVersion.cmake /usr/include/packsim/model/pack.hpp; do
  grep -qxF "$f" "$TMP/files" || fail "the package lacks $f"
done
# Nothing else at the top level, nothing of the build or the test data.
if grep -v -e '^/usr/' -e '^/etc/packsim/' -e '^/etc/$' -e '^/$' -e '^/usr/$' "$TMP/files" | grep -q .; then
  fail "files outside /usr and /etc/packsim: $(grep -v -e '^/usr/' -e '^/etc/' "$TMP/files" | head)"
fi
if grep -q -e '/tests/' -e 'CMakeFiles' -e '_deps' -e '/fitting/' "$TMP/files"; then fail "build or test files packaged"; fi

# Control fields: Depends comes from the shared libraries (versioned by dpkg-shlibdeps).
dpkg-deb -f "$DEB" Package Version Maintainer Description Depends >"$TMP/control"
grep -qx "Package: packsim" "$TMP/control" || fail "Package field"
grep -qx "Version: $version" "$TMP/control" || fail "Version field"
grep -q '^Maintainer: .*<.*@.*>' "$TMP/control" || fail "Maintainer field"
grep -q '^Description: hardware-in-the-loop battery-pack simulator$' "$TMP/control" || fail "Description"
depends=$(sed -n 's/^Depends: //p' "$TMP/control")
for lib in 'libc6 (>= ' 'libstdc++6 (>= ' 'libsocketcan2' 'libspdlog' 'libfmt' 'libtomlplusplus'; do
  [[ $depends == *"$lib"* ]] || fail "Depends lacks $lib: $depends"
done
dpkg-deb --ctrl-tarfile "$DEB" | tar -xO ./conffiles | grep -qx /etc/packsim/bench/example.env ||
  fail "example.env is not a conffile"

# Installed into a throw-away root (dependencies are the host's: --force-depends), then run from
# a directory that has nothing to do with it.
R=$TMP/root
if [ "$(id -u)" -eq 0 ]; then
  mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates"
  touch "$R/var/lib/dpkg/status"
  # chrootless: the root has no /bin/sh for the maintainer scripts (they skip a DPKG_ROOT).
  dpkg --root="$R" --force-depends --force-script-chrootless -i "$DEB" >"$TMP/dpkg.log" 2>&1 ||
    { cat "$TMP/dpkg.log" >&2; fail "dpkg --root -i"; }
  dpkg --root="$R" -s packsim | grep -qx 'Status: install ok installed' || fail "dpkg status"
else
  dpkg-deb -x "$DEB" "$R"  # dpkg --root needs root to own what it unpacks
fi
mkdir -p "$TMP/elsewhere"
cd "$TMP/elsewhere"
"$R/usr/bin/packsim" --version >"$TMP/version"
grep -qxF "data directory: $R/usr/share/packsim (next to the executable); PACKSIM_DATA_DIR is not set" \
  "$TMP/version" || fail "installed --version: $(cat "$TMP/version")"
"$R/usr/bin/packsim" run "$R/usr/share/packsim/scenarios/demo.toml" --duration "10 s" --out "$TMP/x" -q ||
  fail "the installed demo"
[ "$(json_get "$TMP/x/summary.json" '["status"]')" = completed ] || fail "demo status"
[ "$(json_get "$TMP/x/summary.json" '["bms"]["state"]')" = normal ] || fail "demo: BMS state"
[ "$(json_get "$TMP/x/summary.json" '["final"]["contactors"]')" = closed ] || fail "demo: contactors"
"$R/usr/bin/packsim" validate >/dev/null || fail "installed validate"
"$R/usr/bin/packsim-refbms" --version >/dev/null || fail "installed packsim-refbms"

# apt resolves the package's dependencies here (simulated: nothing is installed).
if command -v apt-get >/dev/null; then
  (cd "$TMP/pkg" && apt-get install -s "./$(basename "$DEB")") >"$TMP/apt.log" 2>&1 ||
    { cat "$TMP/apt.log" >&2; fail "apt-get install -s"; }
  grep -q '^Inst packsim ' "$TMP/apt.log" || { cat "$TMP/apt.log" >&2; fail "apt would not install packsim"; }
fi
echo ok
