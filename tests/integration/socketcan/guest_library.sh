#!/bin/sh
# Guest side: two scenarios of the library (scenarios/library/) over vcan, packsim with an external
# BMS and packsim-refbms as its own process; each run's outputs in $OUT_DIR/<name>.
set -eu
cd "$WORK_DIR"
export PACKSIM_DATA_DIR="$WORK_DIR"
. ./guest_lib.sh
total=0
for name in afe_offset can_corrupt_crc; do
  base=$OUT_DIR
  OUT_DIR=$base/$name
  run_closed_loop "scenarios/library/$name.toml" "$CAN_IFACE" "21 s" --bms external
  OUT_DIR=$base
  echo "$name: packsim and packsim-refbms exited with $RC"
  total=$((total + RC))
done
exit $total
