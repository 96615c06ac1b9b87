#!/bin/sh
# Run by tools/vcan-vm/run --mode native inside the VM (vm.native_mode): the native environment.
set -eu
echo "inner: mode=$VCANVM_MODE iface=$CAN_IFACE args=$*"
[ "$VCANVM_MODE" = native ]
[ "$(pwd)" = "$WORK_DIR" ]
[ "$(cat "/sys/class/net/$CAN_IFACE/tx_queue_len")" = 1000 ]
[ "$(cat "/sys/class/net/$CAN_IFACE/operstate")" != down ]
[ "$(cat data/hello.txt)" = hello ]
[ "$MY_VAR" = "a b'c" ]
candump -n 1 "$CAN_IFACE" >"$OUT_DIR/frame.txt" &
sleep 0.5
cansend "$CAN_IFACE" 321#CAFE
wait
echo "$CAN_IFACE" >"$OUT_DIR/iface"
exit "$1"
