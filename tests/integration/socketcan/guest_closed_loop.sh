#!/bin/sh
# Guest side (runs in the vcan VM, or natively where vcan exists): packsim and packsim-refbms as two
# processes on $CAN_IFACE, and candump -l capturing the bus.
set -eu
cd "$WORK_DIR"
export PACKSIM_DATA_DIR="$WORK_DIR"
scenario=tests/data/scenarios/socketcan_closed_loop.toml
mkdir -p "$OUT_DIR/sim" "$OUT_DIR/bms" "$OUT_DIR/dump"
(cd "$OUT_DIR/dump" && exec candump -l -r 4194304 "$CAN_IFACE") &
dump=$!
sleep 0.5
packsim run "$scenario" --can "$CAN_IFACE" --out "$OUT_DIR/sim" -q &
sim=$!
sleep 0.3
packsim-refbms "$scenario" --can "$CAN_IFACE" --out "$OUT_DIR/bms" --duration "24 s" -q &
bms=$!
rc=0
wait $sim || rc=$?
wait $bms || rc=$((rc + 100))
sleep 0.2
kill -INT $dump 2>/dev/null || true
wait $dump 2>/dev/null || true
mv "$OUT_DIR"/dump/candump-*.log "$OUT_DIR/candump.log"
# packsim's can.log replays with can-utils' canplayer: its first 1000 frames, captured again.
mkdir -p "$OUT_DIR/replay"
head -n 1000 "$OUT_DIR/sim/can.log" > "$OUT_DIR/replay/part.log"
(cd "$OUT_DIR/replay" && exec candump -l -r 4194304 "$CAN_IFACE") &
rp=$!
sleep 0.5
canplayer -g 1 -I "$OUT_DIR/replay/part.log" "$CAN_IFACE=$CAN_IFACE" || rc=$((rc + 1000))
sleep 0.5
kill -INT $rp 2>/dev/null || true
wait $rp 2>/dev/null || true
mv "$OUT_DIR"/replay/candump-*.log "$OUT_DIR/replayed.log"
echo "packsim and packsim-refbms exited with $rc"
exit $rc
