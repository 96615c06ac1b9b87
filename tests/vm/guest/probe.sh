#!/bin/sh
# Guest side of vm.shared_libs: runs the C++ vm_socketcan_probe (shipped with --bin, with its shared
# libraries) on $CAN_IFACE.
set -eu
command -v vm_socketcan_probe
vm_socketcan_probe "$CAN_IFACE"
