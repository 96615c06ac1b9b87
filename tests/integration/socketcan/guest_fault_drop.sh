#!/bin/sh
# Guest side of socketcan.fault_drop: packsim and packsim-refbms as two processes on $CAN_IFACE,
# candump -l capturing the bus; packsim stops sending module 1's cell voltages at 6 s.
set -eu
cd "$WORK_DIR"
export PACKSIM_DATA_DIR="$WORK_DIR"
. ./guest_lib.sh
capture_start "$OUT_DIR/dump" "$CAN_IFACE"
sleep 0.5
run_closed_loop tests/data/scenarios/socketcan_fault_drop.toml "$CAN_IFACE" "9 s"
rc=$RC
sleep 0.2
capture_stop "$OUT_DIR/dump" "$OUT_DIR/candump.log"
echo "packsim and packsim-refbms exited with $rc"
exit $rc
