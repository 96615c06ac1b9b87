#!/usr/bin/env bash
# An installed tree finds its data wherever it is moved, and nothing else: install into a temp
# prefix, move the prefix, run from an unrelated directory a scenario written there that names
# the shipped pack, cell model, protocol profile and load profile; every shipped scenario runs;
# --version names the moved data directory; a missing file's message names every directory
# searched; a copied binary finds nothing (it never reaches back into the source tree).
#   install_moved.sh PACKSIM BUILD_DIR CMAKE
source "$(dirname "$0")/lib.sh"
# The system interpreter for the JSON checks (standard library only): a shim in PATH, such as
# pyenv's, can cost a second a call.
if [ -x /usr/bin/python3 ]; then python3() { /usr/bin/python3 "$@"; }; fi
BUILD=$(realpath "${2:?build dir}")
CMAKE=${3:?cmake}
SRC=$PWD
PACKSIM=$(realpath "$PACKSIM")
expect_rc() { local want=$1; shift; set +e; "$@" >"$TMP/out" 2>"$TMP/err"; local rc=$?; set -e
  [ $rc -eq "$want" ] || { cat "$TMP/err" >&2; fail "'$*' exit code $rc, expected $want"; }; }

"$CMAKE" --install "$BUILD" --prefix "$TMP/first" >"$TMP/install.log"
mv "$TMP/first" "$TMP/moved"
P=$TMP/moved
DATA=$P/share/packsim
mkdir -p "$TMP/work"
cd "$TMP/work"

expect_rc 0 "$P/bin/packsim" --version
grep -qx "data directory: $DATA (next to the executable); PACKSIM_DATA_DIR is not set" "$TMP/out" ||
  fail "--version: $(cat "$TMP/out")"
expect_rc 0 "$P/bin/packsim-refbms" --version
grep -q "data directory: $DATA (next to the executable)" "$TMP/out" || fail "refbms --version"

# Written here, naming shipped files by their data-directory paths: the pack, the packsim
# protocol profile and the US06 load profile; a pack of our own names a shipped cell model.
cat >closed_loop.toml <<'EOF'
[scenario]
name = "installed closed loop"
pack = "configs/ev_96s2p_nmc.toml"
duration = "20 s"
tick = "10 ms"
[bms]
mode = "reference"
profile = "packsim"
[[load]]
kind = "profile"
file = "scenarios/profiles/us06_c_rate.csv"
quantity = "c_rate"
time_column = "time_s"
value_column = "c_rate"
EOF
cat >module.toml <<'EOF'
[pack]
name = "own 4s1p module"
cell = "models/a123_anr26650.toml"
series = 4
parallel = 1
EOF
cat >pack_only.toml <<'EOF'
[scenario]
name = "own module"
pack = "module.toml"
duration = "30 s"
tick = "100 ms"
[bms]
mode = "none"
[[event]]
at = "0 s"
contactors = "closed"
[[load]]
kind = "current"
current = "1 C"
EOF
expect_rc 0 "$P/bin/packsim" run closed_loop.toml --out "$TMP/cl" -q
[ "$(json_get "$TMP/cl/summary.json" '["status"]')" = completed ] || fail "closed loop status"
[ "$(json_get "$TMP/cl/summary.json" '["bms"]["state"]')" = normal ] ||
  fail "closed loop: the reference BMS did not close the pack"
expect_rc 0 "$P/bin/packsim" run pack_only.toml --out "$TMP/po" -q
[ "$(json_get "$TMP/po/summary.json" '["status"]')" = completed ] || fail "pack-only status"
expect_rc 0 "$P/bin/packsim" info module.toml --json
[ "$(json_get "$TMP/out" '["cells"]')" = 4 ] || fail "info on our own module"

# validate finds its manifest and measurements in the data directory.
expect_rc 0 "$P/bin/packsim" validate --json
[ "$(json_get "$TMP/out" '[0]["within_bound"]')" = True ] || fail "validate: $(cat "$TMP/out")"
expect_rc 0 "$P/bin/packsim" bench --seconds 0.01 --pack configs/lfp_16s1p.toml

# Every shipped scenario, from here, for half a simulated second: its pack, cell, profile and
# load-profile paths resolve in the installed layout. foxbms2_bench waits for a board on a real
# bus: the pack alone (its profile is loaded by check).
expect_rc 0 "$P/bin/packsim" check "$DATA"/scenarios/*.toml "$DATA"/configs/*.toml "$DATA"/profiles/*/profile.toml
n=0
for f in "$DATA"/scenarios/*.toml; do
  name=$(basename "$f" .toml)
  extra=()
  [ "$name" != foxbms2_bench ] || extra=(--bms none)
  expect_rc 0 "$P/bin/packsim" run "$f" --duration "0.5 s" --out "$TMP/shipped/$name" -q "${extra[@]}"
  [ "$(json_get "$TMP/shipped/$name/summary.json" '["status"]')" = completed ] || fail "$name status"
  n=$((n + 1))
done
[ $n -ge 8 ] || fail "only $n shipped scenarios installed"

# A file that is nowhere: the message names this directory and the data directory.
sed 's|configs/ev_96s2p_nmc.toml|configs/no_such_pack.toml|' closed_loop.toml >missing.toml
expect_rc 2 "$P/bin/packsim" check missing.toml
grep -qF "pack file 'configs/no_such_pack.toml' not found (looked in ., $DATA)" "$TMP/err" ||
  fail "missing-file message: $(cat "$TMP/err")"
sed 's|profile = "packsim"|profile = "no_such_profile"|' closed_loop.toml >noprofile.toml
expect_rc 2 "$P/bin/packsim" check noprofile.toml
grep -qF "profile 'no_such_profile' not found (looked for profiles/no_such_profile/profile.toml in ., $DATA)" "$TMP/err" ||
  fail "missing-profile message: $(cat "$TMP/err")"
# $PACKSIM_DATA_DIR comes first, and a missing one is named as such.
mkdir -p "$TMP/mine/configs"
expect_rc 2 env PACKSIM_DATA_DIR="$TMP/mine" "$P/bin/packsim" check missing.toml
grep -qF "(looked in ., $TMP/mine, $DATA)" "$TMP/err" || fail "env dir first: $(cat "$TMP/err")"
expect_rc 0 env PACKSIM_DATA_DIR="$TMP/nowhere" "$P/bin/packsim" --version
grep -qF "missing: $TMP/nowhere (\$PACKSIM_DATA_DIR)" "$TMP/out" || fail "missing env dir: $(cat "$TMP/out")"
# ... and it wins: a pack of that name there is used instead of the shipped one.
sed 's/^name = .*/name = "mine"/' "$DATA/configs/ev_96s2p_nmc.toml" |
  sed 's|^cell = .*|cell = "models/kokam_slpb78216216h_nmc.toml"|' >"$TMP/mine/configs/ev_96s2p_nmc.toml"
expect_rc 0 env PACKSIM_DATA_DIR="$TMP/mine" "$P/bin/packsim" info closed_loop.toml --json
[ "$(json_get "$TMP/out" '["name"]')" = mine ] || fail "PACKSIM_DATA_DIR did not take precedence"

# A binary copied out of the tree finds no data, says where it looked, and does not fall back
# on the source tree it was built from.
mkdir -p "$TMP/lone"
cp "$P/bin/packsim" "$TMP/lone/packsim"
expect_rc 0 "$TMP/lone/packsim" --version
grep -qF "data directory: none found (searched: $TMP/share/packsim (next to the executable))" "$TMP/out" ||
  fail "copied binary --version: $(cat "$TMP/out")"
expect_rc 2 "$TMP/lone/packsim" check closed_loop.toml
grep -qF "(looked in ., $TMP/share/packsim (missing))" "$TMP/err" || fail "copied binary: $(cat "$TMP/err")"
if grep -qF "$SRC" "$TMP/err"; then fail "the copied binary looked in the source tree"; fi
cp "$PACKSIM" "$TMP/lone/from-build"
expect_rc 0 "$TMP/lone/from-build" --version
if grep -qF "$SRC" "$TMP/out"; then fail "a binary copied from the build tree uses the source tree"; fi
# ... while the build tree's own binary keeps using it.
expect_rc 0 "$PACKSIM" --version
grep -qF "data directory: $SRC (source tree)" "$TMP/out" || fail "build-tree binary: $(cat "$TMP/out")"

# A man page for every command the binary lists, and bash completion that knows them.
for sub in $("$P/bin/packsim" --help | awk '/^Subcommands:/ {on = 1; next} on && /^  [a-z]/ {print $1}'); do
  [ -s "$P/share/man/man1/packsim-$sub.1.gz" ] || fail "no man page for packsim $sub"
done
for page in packsim packsim-refbms packsim-dbc-export; do
  [ -s "$P/share/man/man1/$page.1.gz" ] || fail "no man page $page"
done
zcat "$P/share/man/man1/packsim-run.1.gz" | grep -q -- 'realtime' || fail "packsim-run.1 lacks --realtime"
complete_words() { # complete_words WORD... : what TAB offers for the last word
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _packsim; echo "${COMPREPLY[*]}"' \
    _ "$P/share/bash-completion/completions/packsim" "$@"
}
[ "$(complete_words packsim ru)" = run ] || fail "completion: subcommand"
[ "$(complete_words packsim run x.toml --pri)" = --priority ] || fail "completion: option"
[ "$(complete_words packsim run x.toml --bms r)" = reference ] || fail "completion: choice"
[ "$(complete_words packsim dbc e)" = "export encode" ] || fail "completion: nested subcommand"
[ "$(complete_words packsim dbc export --pr)" = --profile ] || fail "completion: nested option"
echo ok
