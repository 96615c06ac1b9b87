#!/bin/sh
# Guest side (runs in the vcan VM, or natively where vcan exists): packsim and packsim-refbms as two
# processes on $CAN_IFACE, and candump -l capturing the bus.
set -eu
cd "$WORK_DIR"
export PACKSIM_DATA_DIR="$WORK_DIR"
. ./guest_lib.sh
capture_start "$OUT_DIR/dump" "$CAN_IFACE"
sleep 0.5
run_closed_loop tests/data/scenarios/socketcan_closed_loop.toml "$CAN_IFACE" "24 s"
rc=$RC
sleep 0.2
capture_stop "$OUT_DIR/dump" "$OUT_DIR/candump.log"
# packsim's can.log replays with can-utils' canplayer: its first 1000 frames, captured again.
mkdir -p "$OUT_DIR/replay"
head -n 1000 "$OUT_DIR/sim/can.log" > "$OUT_DIR/replay/part.log"
capture_start "$OUT_DIR/replay" "$CAN_IFACE"
sleep 0.5
canplayer -g 1 -I "$OUT_DIR/replay/part.log" "$CAN_IFACE=$CAN_IFACE" || rc=$((rc + 1000))
sleep 0.5
capture_stop "$OUT_DIR/replay" "$OUT_DIR/replayed.log"
echo "packsim and packsim-refbms exited with $rc"
exit $rc
