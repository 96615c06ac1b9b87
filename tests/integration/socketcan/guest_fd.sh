#!/bin/sh
# Guest side: packsim and packsim-refbms with the CAN FD profile on an FD-capable vcan (MTU 72),
# candump capturing; then packsim on a classic vcan (MTU 16), which it must refuse.
set -eu
cd "$WORK_DIR"
export PACKSIM_DATA_DIR="$WORK_DIR"
scenario=tests/data/scenarios/socketcan_fd.toml
FD="${CAN_IFACE}fd"
ip link add dev "$FD" type vcan
ip link set "$FD" mtu 72
echo 1000 > "/sys/class/net/$FD/tx_queue_len"
ip link set "$FD" up
mkdir -p "$OUT_DIR/sim" "$OUT_DIR/bms" "$OUT_DIR/dump"
(cd "$OUT_DIR/dump" && exec candump -l -r 4194304 "$FD") &
dump=$!
sleep 0.5
packsim run "$scenario" --can "$FD" --txqueuelen 700 --out "$OUT_DIR/sim" -q &
sim=$!
sleep 0.3
packsim-refbms "$scenario" --can "$FD" --out "$OUT_DIR/bms" --duration "9 s" -q &
bms=$!
rc=0
wait $sim || rc=$?
wait $bms || rc=$((rc + 100))
sleep 0.2
kill -INT $dump 2>/dev/null || true
wait $dump 2>/dev/null || true
mv "$OUT_DIR"/dump/candump-*.log "$OUT_DIR/candump.log"
cat "/sys/class/net/$FD/tx_queue_len" >"$OUT_DIR/txqueuelen"
# A classic interface (MTU 16; vcan defaults to 72) cannot carry the profile's 64-byte frames:
# packsim says so and stops.
C="${CAN_IFACE}c"
ip link add dev "$C" type vcan
ip link set "$C" mtu 16
ip link set "$C" up
set +e
packsim run "$scenario" --can "$C" --duration "1 s" --out "$OUT_DIR/classic" -q \
  2>"$OUT_DIR/classic.err"
echo $? >"$OUT_DIR/classic.rc"
# A bitrate on a vcan (no bit timing) is refused, and the interface is left up.
packsim run "$scenario" --can "$C" --bitrate 500000 --duration "1 s" --out "$OUT_DIR/bitrate" -q \
  2>"$OUT_DIR/bitrate.err"
echo $? >"$OUT_DIR/bitrate.rc"
ip link show "$C" >"$OUT_DIR/bitrate.link"
set -e
echo "packsim and packsim-refbms exited with $rc"
exit $rc
