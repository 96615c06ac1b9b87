#!/bin/sh
# Guest side of vm.exit_code: output before a failing exit must stream out, and the exit status
# (the first argument) must come back as the harness's exit status.
echo "stdout before exit, args: $*"
echo "stderr before exit" >&2
echo partial >"$OUT_DIR/partial.txt"
exit "$1"
