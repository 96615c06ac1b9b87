#!/usr/bin/env bash
# Without the privilege, --priority and --mlock are reported clearly and the run goes on; an
# impossible CPU likewise. (As root, the test drops to nobody to lose CAP_SYS_NICE/CAP_IPC_LOCK.)
source "$(dirname "$0")/lib.sh"
# nobody must be able to read everything the run needs: a checkout under /root (mode 700 on Debian)
# is out of its reach, so the binary and the data it reads are copied into a world-readable folder.
chmod 755 "$TMP"
mkdir -p "$TMP/bin" "$TMP/data" "$TMP/unpriv" && chmod 777 "$TMP/unpriv"
cp "$PACKSIM" "$TMP/bin/packsim"
cp -r configs models profiles scenarios "$TMP/data/"
chmod -R a+rX "$TMP/bin" "$TMP/data"
run_unprivileged() {
  if [ "$(id -u)" = 0 ]; then
    setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all -- "$@"
  else
    "$@"
  fi
}
out="$TMP/unpriv"
cd "$TMP/unpriv"
run_unprivileged env PACKSIM_DATA_DIR="$TMP/data" "$TMP/bin/packsim" run "$TMP/data/scenarios/demo.toml" \
  --priority 50 --mlock --cpu 99 --duration "0.5 s" --out "$out" 2>"$TMP/err" \
  || { cat "$TMP/err" >&2; fail "the run did not go on"; }
grep -q "realtime: cannot set SCHED_FIFO priority 50: .*running with normal scheduling" "$TMP/err" \
  || { cat "$TMP/err" >&2; fail "no clear message about SCHED_FIFO"; }
grep -q "realtime: no CPU 99 (this machine has [0-9]*); running unpinned" "$TMP/err" \
  || { cat "$TMP/err" >&2; fail "no clear message about the CPU"; }
python3 - "$out" <<'PY'
import json, sys
s = json.load(open(sys.argv[1] + "/summary.json"))
assert s["status"] == "completed", s["status"]
setup = s["realtime"]["setup"]
assert any("cannot set SCHED_FIFO" in line for line in setup), setup
assert any("no CPU 99" in line for line in setup), setup
assert s["realtime"]["ticks"] == 500, s["realtime"]["ticks"]
print("set-up reported:", setup)
PY
