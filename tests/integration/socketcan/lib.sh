# Shared by the host-side SocketCAN tests: the guest script runs through tools/vcan-vm/run with the
# data the programs read.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)

# run_guest WORK GUEST_SCRIPT [vcan-vm/run options, e.g. --bin PROGRAM]: a fresh WORK, the guest's
# outputs in WORK/out. 1 GiB of guest memory: the ASan binaries travel in the initramfs.
run_guest() {
  local work=$1 script=$2
  shift 2
  rm -rf "$work"
  mkdir -p "$work"
  "$ROOT/tools/vcan-vm/run" --timeout 240 --mem 1024 --out "$work/out" "$@" \
    --file "$ROOT/tests/data/scenarios:tests/data/scenarios" \
    --file "$ROOT/tests/data/packs:tests/data/packs" \
    --file "$ROOT/tests/data/profiles:tests/data/profiles" \
    --file "$ROOT/models:models" --file "$ROOT/profiles:profiles" \
    --file "$HERE/guest_lib.sh:guest_lib.sh" \
    -- "$HERE/$script"
}

# vm_run_checked CHECK WORK GUEST_SCRIPT [run_guest options]: one VM run and its checks (the shell
# function CHECK, run with errexit); if either fails, the whole VM run is repeated once and the test
# says so. Under TCG emulation a busy host can stall the guest for a second or more, which a
# real-time closed loop sees as lost frames; a real fault fails both runs. Timing figures belong
# to tools/rt-bench, not here. Call it as a plain command, never inside if/&&/||: bash ignores
# errexit in the whole call there, and CHECK would go on past a failing step.
vm_run_checked() {
  local check=$1 rc
  shift
  for attempt in 1 2; do
    set +e
    (set -e; run_guest "$@"; "$check")
    rc=$?
    set -e
    [ "$rc" -eq 0 ] && { [ "$attempt" -eq 1 ] || echo "vm test: passed on the retry"; return 0; }
    [ "$attempt" -eq 1 ] && echo "vm test: attempt 1 failed (exit $rc, above); retrying the whole VM run once" >&2
  done
  echo "vm test: failed twice" >&2
  return "$rc"
}
