#!/bin/sh
# Guest side of vm.can_roundtrip (runs in the VM or natively, through tools/vcan-vm/run):
# candump captures $CAN_IFACE into $OUT_DIR/candump.log while cansend and cangen send classic,
# extended, remote, empty, CAN FD (if the MTU allows it) frames and a 500-frame burst. The host
# side (tests/vm/cases.sh) checks the captured frames.
set -eu
log=$OUT_DIR/candump.log
mtu=$(cat "/sys/class/net/$CAN_IFACE/mtu")
echo "$mtu" >"$OUT_DIR/mtu"
echo "interface $CAN_IFACE, mtu $mtu, txqueuelen $(cat "/sys/class/net/$CAN_IFACE/tx_queue_len")"

# -r: a 2 MiB receive buffer; the default (212 KB, ~280 frames) overflows during the burst below
# when the VM is slow (another VM running beside it), and the kernel then drops frames.
candump -r 2097152 -L "$CAN_IFACE" >"$log" &
dump=$!
trap 'kill $dump 2>/dev/null || true' EXIT

# candump is ready once it has seen a sync frame: no fixed sleep that a slow VM could outrun.
i=0
until grep -q ' 7FF#$' "$log"; do
    i=$((i + 1))
    [ "$i" -le 300 ] || { echo "candump never saw the sync frame"; exit 1; }
    cansend "$CAN_IFACE" 7FF#
    sleep 0.1
done

cansend "$CAN_IFACE" 123#DEADBEEF
cansend "$CAN_IFACE" 12345678#0011223344556677
cansend "$CAN_IFACE" 100#R
cansend "$CAN_IFACE" 000#
if [ "$mtu" = 72 ]; then
    # 64 bytes 00..3F, bit rate switch
    cansend "$CAN_IFACE" 1A0##1000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F202122232425262728292A2B2C2D2E2F303132333435363738393A3B3C3D3E3F
fi
# 500 frames back to back: fits the txqueuelen of 1000 the harness sets (the default 10 would not).
cangen "$CAN_IFACE" -g 0 -n 500 -I 321 -L 8 -D i
cansend "$CAN_IFACE" 7FE#0E0F

i=0
until grep -q ' 7FE#0E0F$' "$log"; do
    i=$((i + 1))
    [ "$i" -le 300 ] || { echo "end frame never arrived"; exit 1; }
    sleep 0.1
done
echo "captured $(wc -l <"$log") frames"
