#!/bin/sh
# Guest side of vm.native_mode: CI's kernel has no vcan, so the harness's native mode is tested
# here, inside the VM, where it can create vcan interfaces: tools/vcan-vm/run (shipped with --file
# as vcan-vm/run, with bash, iproute2's ip and GNU tools via --bin) must run native_inner.sh on a
# fresh interface, pass the exit status, deliver OUT_DIR, report timeouts, and delete the interface.
set -u
fail() { echo "FAIL: $*"; exit 1; }
echo hello >/tmp/hello.txt

bash vcan-vm/run --mode native --file /tmp/hello.txt:data/hello.txt --env "MY_VAR=a b'c" \
    --out /tmp/o1 -- native_inner.sh 5
rc=$?
[ "$rc" = 5 ] || fail "exit status $rc, expected 5"
iface=$(cat /tmp/o1/iface) || fail "no OUT_DIR delivery"
grep -q '321#CAFE\|321   \[2\]  CA FE' /tmp/o1/frame.txt || fail "frame not captured: $(cat /tmp/o1/frame.txt)"
[ ! -e "/sys/class/net/$iface" ] || fail "interface $iface was not deleted"

printf 'sleep 60\n' >/tmp/sleep.sh
bash vcan-vm/run --mode native --timeout 2 -- /tmp/sleep.sh
rc=$?
[ "$rc" = 124 ] || fail "timeout: exit status $rc, expected 124"

# auto picks native here; no leftover interfaces (only lo and vcan0 remain).
printf 'echo "auto: $VCANVM_MODE"; [ "$VCANVM_MODE" = native ]\n' >/tmp/auto.sh
bash vcan-vm/run -- /tmp/auto.sh || fail "auto mode did not run natively"
left=""
for n in /sys/class/net/*; do
    case ${n##*/} in lo | vcan0) ;; *) left="$left ${n##*/}" ;; esac
done
[ -z "$left" ] || fail "interfaces left behind: $left"
cp /tmp/o1/frame.txt "$OUT_DIR/"
echo "native mode: all checks passed"
