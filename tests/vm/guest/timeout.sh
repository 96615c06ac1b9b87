#!/bin/sh
# Guest side of vm.timeout: never finishes on its own; the harness must stop it.
echo "sleeping forever"
candump "$CAN_IFACE" >/dev/null &
sleep 3600
echo "not reached"
