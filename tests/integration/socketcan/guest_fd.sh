#!/bin/sh
# Guest side: packsim and packsim-refbms with the CAN FD profile on an FD-capable vcan (MTU 72),
# candump capturing; then packsim on a classic vcan (MTU 16), which it must refuse.
set -eu
cd "$WORK_DIR"
export PACKSIM_DATA_DIR="$WORK_DIR"
. ./guest_lib.sh
scenario=tests/data/scenarios/socketcan_fd.toml
FD="${CAN_IFACE}fd"
ip link add dev "$FD" type vcan
ip link set "$FD" mtu 72
echo 1000 > "/sys/class/net/$FD/tx_queue_len"
ip link set "$FD" up
capture_start "$OUT_DIR/dump" "$FD"
sleep 0.5
run_closed_loop "$scenario" "$FD" "9 s" --txqueuelen 700
rc=$RC
sleep 0.2
capture_stop "$OUT_DIR/dump" "$OUT_DIR/candump.log"
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
