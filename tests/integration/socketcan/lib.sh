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
