# Shared by the guest scripts (sourced from $WORK_DIR, where run_guest puts it): a candump capture
# around a run, and packsim with packsim-refbms as two processes on one interface.

# capture_start DIR IFACE [RCVBUF]: candump -l of IFACE into DIR, in the background (CAPTURE_PID).
# The 4 MiB default receive buffer keeps a burst while candump writes.
capture_start() {
  mkdir -p "$1"
  (cd "$1" && exec candump -l -r "${3:-4194304}" "$2") &
  CAPTURE_PID=$!
}

# capture_stop DIR DEST: stops the capture started into DIR and moves its log to DEST.
capture_stop() {
  kill -INT "$CAPTURE_PID" 2>/dev/null || true
  wait "$CAPTURE_PID" 2>/dev/null || true
  mv "$1"/candump-*.log "$2"
}

# run_closed_loop SCENARIO IFACE BMS_DURATION [packsim run options...]: packsim and
# packsim-refbms on IFACE, outputs in $OUT_DIR/sim and $OUT_DIR/bms. RC: packsim's exit code, plus
# 100 if the BMS failed.
run_closed_loop() {
  scenario=$1 iface=$2 bms_duration=$3
  shift 3
  mkdir -p "$OUT_DIR/sim" "$OUT_DIR/bms"
  packsim run "$scenario" --can "$iface" "$@" --out "$OUT_DIR/sim" -q &
  sim_pid=$!
  sleep 0.3
  packsim-refbms "$scenario" --can "$iface" --out "$OUT_DIR/bms" --duration "$bms_duration" -q &
  bms_pid=$!
  RC=0
  wait $sim_pid || RC=$?
  wait $bms_pid || RC=$((RC + 100))
}
