#!/bin/sh
# Guest side: packsim on $CAN_IFACE while cangen floods random ids, lengths and data, frames with
# packsim's own ids but the wrong length or a bad CRC, and error frames.
set -eu
cd "$WORK_DIR"
export PACKSIM_DATA_DIR="$WORK_DIR"
mkdir -p "$OUT_DIR/sim" "$OUT_DIR/dump"
(cd "$OUT_DIR/dump" && exec candump -l -r 4194304 "$CAN_IFACE") &
dump=$!
sleep 0.5
packsim run tests/data/scenarios/socketcan_garbage.toml --can "$CAN_IFACE" --out "$OUT_DIR/sim" -q &
sim=$!
sleep 1
# Random standard and extended ids, random lengths, as fast as the bus takes them, for 8 s.
cangen "$CAN_IFACE" -g 0 -I r -L r -D r -n 20000 -i &
gen1=$!
cangen "$CAN_IFACE" -g 0 -e -I r -L r -D r -n 20000 -i &
gen2=$!
sent_err=0
i=0
while [ $i -lt 200 ]; do
  cansend "$CAN_IFACE" 680#01 || true                    # a known id, one byte: malformed
  cansend "$CAN_IFACE" 680#0001000000000000 || true      # a known id, wrong CRC
  cansend "$CAN_IFACE" 690#FF || true
  if cansend "$CAN_IFACE" 20000080#0000000000000000 2>/dev/null; then sent_err=$((sent_err + 1)); fi
  i=$((i + 1))
done
echo "$sent_err" > "$OUT_DIR/error_frames_sent"
wait $gen1 || true
wait $gen2 || true
rc=0
wait $sim || rc=$?
kill -INT $dump 2>/dev/null || true
wait $dump 2>/dev/null || true
mv "$OUT_DIR"/dump/candump-*.log "$OUT_DIR/candump.log"
echo "packsim exited with $rc; error frames accepted by the kernel: $sent_err"
exit $rc
