#!/usr/bin/env bash
# Host side of the vm tests: tests/vm/cases.sh CASE WORKDIR [PROGRAM]
# Each case runs a script from tests/vm/guest/ through tools/vcan-vm/run (VM or native, as the
# harness decides; PACKSIM_VCAN_MODE forces one) and checks its exit status and --out files.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RUN=$HERE/../../tools/vcan-vm/run
CASE=$1 WORK=$2
rm -rf "$WORK"
mkdir -p "$WORK"
OUT=$WORK/out

fail() { echo "FAIL [$CASE]: $*" >&2; exit 1; }
# expect_rc WANT CMD...: runs CMD, tees its output to $WORK/log, checks the exit status.
expect_rc() {
    local want=$1 rc=0
    shift
    "$@" 2>&1 | tee "$WORK/log" || rc=${PIPESTATUS[0]}
    [ "$rc" = "$want" ] || fail "exit status $rc, expected $want"
}
# has_line FILE LINE: FILE has LINE (whole line, fixed string).
has_line() { grep -qxF -- "$2" "$1" || fail "$(basename "$1") has no line '$2'"; }

case $CASE in
can_roundtrip)
    expect_rc 0 "$RUN" --out "$OUT" --timeout 120 -- "$HERE/guest/can_roundtrip.sh"
    log=$OUT/candump.log
    [ -s "$log" ] || fail "no candump.log in --out"
    # candump -L lines: "(seconds.micros) IFACE FRAME"; keep only FRAME.
    frames=$WORK/frames
    sed -E 's/^\([0-9]+\.[0-9]{6}\) [^ ]+ //' "$log" >"$frames"
    [ "$(grep -cvE '^[0-9A-F]{3,8}#' "$frames")" = 0 ] || fail "malformed lines in candump.log"
    has_line "$frames" "123#DEADBEEF"
    has_line "$frames" "12345678#0011223344556677"
    has_line "$frames" "100#R"
    has_line "$frames" "000#"
    has_line "$frames" "7FE#0E0F"
    mtu=$(cat "$OUT/mtu")
    if [ "$mtu" = 72 ]; then
        # CAN FD: "##" then the flags nibble (BRS = 1; kernels >= 6.0 also set FDF = 4).
        data=$(printf '%02X' $(seq 0 63))
        grep -qE "^1A0##[15]$data\$" "$frames" || fail "CAN FD frame 1A0 missing or wrong"
    else
        echo "note: MTU $mtu: no CAN FD on this interface"
    fi
    # cangen -D i: the 8-byte payload counts up from 0 as a little-endian integer.
    n=$(grep -c '^321#' "$frames")
    [ "$n" = 500 ] || fail "$n of 500 burst frames captured"
    has_line "$frames" "321#0000000000000000"
    has_line "$frames" "321#F301000000000000"
    echo "PASS [$CASE]: $(wc -l <"$frames") frames checked (mtu $mtu)"
    ;;
file_roundtrip)
    mkdir -p "$WORK/in/config"
    head -c 2097152 /dev/urandom >"$WORK/in/in.bin"
    sum=$(sha256sum "$WORK/in/in.bin" | cut -d' ' -f1)
    printf '[pack]\ncells = 96\n' >"$WORK/in/config/settings.toml"
    expect_rc 0 "$RUN" --out "$OUT" --timeout 120 \
        --file "$WORK/in/in.bin:data/in.bin" --file "$WORK/in/config" \
        -- "$HERE/guest/file_roundtrip.sh" "$sum"
    [ "$(sha256sum <"$OUT/echo.bin" | cut -d' ' -f1)" = "$sum" ] || fail "echo.bin differs from the input"
    [ "$(stat -c %s "$OUT/gen.bin")" = 2097152 ] || fail "gen.bin is not 2 MiB"
    [ "$(sha256sum <"$OUT/gen.bin" | cut -d' ' -f1)" = "$(cat "$OUT/gen.sha256")" ] ||
        fail "gen.bin does not match the checksum computed in the guest"
    has_line "$OUT/nested/dir with space/it's a file.txt" "line 2"
    [ -f "$OUT/nested/empty" ] && [ ! -s "$OUT/nested/empty" ] || fail "empty file missing"
    cmp -s "$OUT/nested/settings.toml" "$WORK/in/config/settings.toml" || fail "--file directory copy differs"
    echo "PASS [$CASE]: 2 MiB in, 4 MiB out, checksums match"
    ;;
exit_code)
    expect_rc 7 "$RUN" --out "$OUT" --timeout 60 -- "$HERE/guest/exit_code.sh" 7 "two words"
    has_line "$WORK/log" "stdout before exit, args: 7 two words"
    has_line "$WORK/log" "stderr before exit"
    has_line "$OUT/partial.txt" "partial" # /out is delivered even when the script fails
    echo "PASS [$CASE]: exit status 7 propagated"
    ;;
timeout)
    expect_rc 124 "$RUN" --timeout 3 -- "$HERE/guest/timeout.sh"
    has_line "$WORK/log" "sleeping forever"
    grep -q "timed out after 3s" "$WORK/log" || fail "no timeout message"
    if grep -q "not reached" "$WORK/log"; then fail "script was not stopped"; fi
    echo "PASS [$CASE]: timeout reported as 124"
    ;;
shared_libs)
    prog=$3
    expect_rc 0 "$RUN" --bin "$prog" --out "$OUT" --timeout 120 --env ASAN_OPTIONS=detect_leaks=1 \
        -- "$HERE/guest/probe.sh"
    grep -q "^socketcan_probe: all checks passed$" "$WORK/log" || fail "probe did not pass"
    grep -qE '^iface=[^ ]+ mtu=(16|72) fd=[01] failures=0$' "$OUT/probe.txt" || fail "bad probe.txt"
    echo "PASS [$CASE]: $(basename "$prog") ran with its shared libraries"
    ;;
error_frames)
    # Error frames written by packsim's SocketCanBus (docs/faults.md): delivered to sockets that
    # subscribe with CAN_RAW_ERR_FILTER (candump IFACE,0:0,#FFFFFFFF logs them with CAN_ERR_FLAG in
    # the id), not to
    # the others.
    prog=$3
    expect_rc 0 "$RUN" --bin "$prog" --out "$OUT" --timeout 120 -- "$HERE/guest/error_frames.sh"
    grep -q "^vm_error_frames: all checks passed" "$WORK/log" || fail "error frames: checks failed"
    frames=$WORK/frames_e
    sed -E 's/^\([0-9]+\.[0-9]{6}\) [^ ]+ //' "$OUT/candump_e.log" >"$frames"
    cat "$frames"
    # CAN_ERR_FLAG (0x20000000) | class: controller (0x004, data[1] = rx|tx passive 0x30),
    # bus-off (0x040), restarted (0x100); then the data frame.
    has_line "$frames" "20000004#0030000000000000"
    has_line "$frames" "20000040#0000000000000000"
    has_line "$frames" "20000100#0000000000000000"
    has_line "$frames" "123#AB00"
    [ "$(wc -l <"$frames")" = 4 ] || fail "candump with the error filter saw other frames"
    sed -E 's/^\([0-9]+\.[0-9]{6}\) [^ ]+ //' "$OUT/candump.log" >"$WORK/frames"
    [ "$(cat "$WORK/frames")" = "123#AB00" ] || fail "candump without the error filter: $(cat "$WORK/frames")"
    echo "PASS [$CASE]: error frames reach only the sockets that subscribe to them"
    ;;
native_mode)
    # The harness's native mode, exercised inside the VM (the VM mode itself is forced here).
    root=$HERE/../..
    bins=()
    for t in bash ip realpath date mktemp cp od; do bins+=(--bin "$(command -v "$t")"); done
    expect_rc 0 env PACKSIM_VCAN_MODE=vm "$RUN" --out "$OUT" --timeout 120 "${bins[@]}" \
        --file "$root/tools/vcan-vm:vcan-vm" --file "$HERE/guest/native_inner.sh" \
        -- "$HERE/guest/native_mode.sh"
    grep -q "^native mode: all checks passed$" "$WORK/log" || fail "native mode checks did not pass"
    echo "PASS [$CASE]: native mode works where vcan can be created"
    ;;
*)
    fail "unknown case"
    ;;
esac
