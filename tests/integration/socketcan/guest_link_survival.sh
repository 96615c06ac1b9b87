#!/bin/sh
# Guest side: packsim on two interfaces (AFE frames on $CAN_IFACE, the current sensor on a second
# one); the second goes down (ENETDOWN), comes back, is deleted (ENODEV) and re-created. packsim must
# tick through all of it and resume sending on the re-created interface by itself.
set -eu
cd "$WORK_DIR"
export PACKSIM_DATA_DIR="$WORK_DIR"
. ./guest_lib.sh
B="${CAN_IFACE}b"
add_b() {
  ip link add dev "$B" type vcan
  echo 1000 > "/sys/class/net/$B/tx_queue_len"
  ip link set "$B" up
}
add_b
mkdir -p "$OUT_DIR/sim" "$OUT_DIR/dump"
packsim run tests/data/scenarios/socketcan_two_buses.toml --can "afe=$CAN_IFACE,sensor=$B" \
  --out "$OUT_DIR/sim" -q &
sim=$!
sleep 3
ip link set "$B" down
sleep 2
ip link set "$B" up
sleep 1.5
ip link del dev "$B"
sleep 2
add_b
# A capture on the re-created interface: packsim's current-sensor frames must come back.
capture_start "$OUT_DIR/dump" "$B"
rc=0
wait $sim || rc=$?
capture_stop "$OUT_DIR/dump" "$OUT_DIR/after_recreate.log"
ip link del dev "$B" 2>/dev/null || true
echo "packsim exited with $rc"
exit $rc
