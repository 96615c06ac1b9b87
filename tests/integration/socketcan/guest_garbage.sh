#!/bin/sh
# Guest side: packsim on $CAN_IFACE while cangen floods random ids, lengths and data, frames with
# packsim's own ids but the wrong length or a bad CRC, and error frames.
set -eu
cd "$WORK_DIR"
export PACKSIM_DATA_DIR="$WORK_DIR"
. ./guest_lib.sh
mkdir -p "$OUT_DIR/sim"
# A 64 MiB receive buffer holds the whole flood, so the capture misses nothing while candump
# catches up.
capture_start "$OUT_DIR/dump" "$CAN_IFACE" 67108864
sleep 0.5
packsim run tests/data/scenarios/socketcan_garbage.toml --can "$CAN_IFACE" --out "$OUT_DIR/sim" -q &
sim=$!
# The garbage starts once packsim's frames show in the capture: its socket is open by then, so
# every garbage frame meets it (the test accounts for each one).
i=0
until grep -q " 521#" "$OUT_DIR"/dump/candump-*.log 2>/dev/null; do
  i=$((i + 1))
  [ $i -lt 300 ] || { echo "packsim sent nothing within 30 s"; exit 1; }
  sleep 0.1
done
start=$(date +%s)
# Random standard and extended ids, random lengths, as fast as the bus takes them.
cangen "$CAN_IFACE" -g 0 -I r -L r -D r -n 20000 -i &
gen1=$!
cangen "$CAN_IFACE" -g 0 -e -I r -L r -D r -n 20000 -i &
gen2=$!
# The targeted garbage goes out through one canplayer at 1 frame/ms, well inside the run whatever
# the VM's speed (a cansend per frame took longer than the run under emulation).
i=0
while [ $i -lt 200 ]; do
  printf '(0.000000) %s 680#01\n' "$CAN_IFACE"                  # a known id, one byte: malformed
  printf '(0.000000) %s 680#0001000000000000\n' "$CAN_IFACE"    # a known id, wrong CRC
  printf '(0.000000) %s 690#FF\n' "$CAN_IFACE"                  # malformed
  printf '(0.000000) %s 20000080#0000000000000000\n' "$CAN_IFACE"  # an error frame (controller problem)
  i=$((i + 1))
done > "$OUT_DIR/garbage.log"
sent_err=0
if canplayer -t -g 1 -I "$OUT_DIR/garbage.log"; then sent_err=200; fi
echo "$sent_err" > "$OUT_DIR/error_frames_sent"
wait $gen1 || true
wait $gen2 || true
# ... and ends while packsim still runs, or the accounting would not add up.
if kill -0 $sim 2>/dev/null; then inside=1; else inside=0; fi
echo "$inside" > "$OUT_DIR/flood_inside_run"
echo "garbage sent in $(($(date +%s) - start)) s (inside the run: $inside)"
rc=0
wait $sim || rc=$?
capture_stop "$OUT_DIR/dump" "$OUT_DIR/candump.log"
echo "packsim exited with $rc; error frames accepted by the kernel: $sent_err"
exit $rc
