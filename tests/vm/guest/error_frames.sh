#!/bin/sh
# Guest side of vm.error_frames: vm_error_frames (packsim's SocketCanBus sending error frames) on
# $CAN_IFACE, with can-utils' candump capturing twice: with the error filter set to every class
# (IFACE,0:0,#FFFFFFFF: all data frames and all error frames; -e alone only changes how error
# frames are printed, it does not subscribe to them) and without one.
set -eu
mkdir -p "$OUT_DIR/err" "$OUT_DIR/plain"
(cd "$OUT_DIR/err" && exec candump -l "$CAN_IFACE,0:0,#FFFFFFFF") &
err_pid=$!
(cd "$OUT_DIR/plain" && exec candump -l "$CAN_IFACE") &
plain_pid=$!
sleep 0.5
rc=0
vm_error_frames "$CAN_IFACE" >"$OUT_DIR/report.txt" 2>&1 || rc=$?
cat "$OUT_DIR/report.txt"
sleep 0.3
kill -INT "$err_pid" "$plain_pid" 2>/dev/null || true
wait "$err_pid" 2>/dev/null || true
wait "$plain_pid" 2>/dev/null || true
mv "$OUT_DIR"/err/candump-*.log "$OUT_DIR/candump_e.log"
mv "$OUT_DIR"/plain/candump-*.log "$OUT_DIR/candump.log"
exit $rc
