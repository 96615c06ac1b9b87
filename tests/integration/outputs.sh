#!/usr/bin/env bash
# Outputs that cannot swallow a disk: runs on a full or read-only file system (a 2 MiB tmpfs), past
# a file-size limit (ulimit -f), each ending as a failure (exit 1) that names the file and the
# cause, with a parseable summary.
# $2: packsim-refbms. Runs in its own mount namespace (unshare; as root, or as a user namespace's
# root otherwise), so its tmpfs mounts vanish with it.
if [ -z "${PACKSIM_OUTPUTS_NS:-}" ]; then
  if [ "$(id -u)" = 0 ]; then ns=(unshare -m --propagation private); else ns=(unshare -rm); fi
  "${ns[@]}" true || { echo "FAIL: cannot make a mount namespace with ${ns[*]}" >&2; exit 1; }
  PACKSIM_OUTPUTS_NS=1 exec "${ns[@]}" bash "$0" "$@"
fi
source "$(dirname "$0")/lib.sh"
REFBMS=${2:?usage: $0 PACKSIM PACKSIM_REFBMS}
trap 'umount -q "$TMP"/mnt-* 2>/dev/null || true; rm -rf "$TMP"' EXIT
expect_rc() { local want=$1; shift; set +e; "$@" >"$TMP/out" 2>"$TMP/err"; local rc=$?; set -e
  [ $rc -eq "$want" ] || { cat "$TMP/err" >&2; fail "'$*' exit code $rc, expected $want"; }; }
# mount_tmpfs NAME SIZE [OPTIONS]: a tmpfs of SIZE at $TMP/mnt-NAME.
mount_tmpfs() { mkdir -p "$TMP/mnt-$1"; mount -t tmpfs -o "size=$2${3:+,$3}" tmpfs "$TMP/mnt-$1"; }

# check_failed DIR FILE CAUSE: the run in DIR failed on FILE with CAUSE ("no space left on device
# (ENOSPC)"): the message on stderr, summary.json parseable and saying so, the CSV and the CAN log
# whole lines up to the state where the run stopped.
check_failed() {
  local dir=$1 file=$2 cause=$3
  grep -qF "run failed: $dir/$file: $cause after " "$TMP/err" || fail "$dir: message: $(cat "$TMP/err")"
  grep -qE "bytes; the run stopped at t = [0-9]+\.[0-9]{3} s" "$TMP/err" || fail "$dir: stop time"
  python3 - "$dir" "$file" "$cause" <<'PY'
import csv, json, re, sys
d, file, cause = sys.argv[1:]
s = json.load(open(f"{d}/summary.json"))
assert s["status"] == "failed" and not s["completed"], s["status"]
assert s["stop_reason"].startswith(f"{d}/{file}: {cause} after "), s["stop_reason"]
t = float(re.search(r"the run stopped at t = ([0-9.]+) s", s["stop_reason"]).group(1))
assert abs(t - s["simulated_s"]) < 5e-4, (t, s["simulated_s"])
raw = open(f"{d}/signals.csv").read()
assert raw.endswith("\n")
rows = list(csv.reader(raw.splitlines()))
assert all(len(r) == len(rows[0]) for r in rows[1:]), "a row cut short"
assert len(rows) - 1 == s["rows_recorded"] == s["outputs"]["signals_csv"]["rows"] > 0
c = s["outputs"]["can_log"]
if c["status"] != "none":
    log = open(f"{d}/can.log").read()
    assert log.endswith("\n") and log.count("\n") == c["frames"], c
    assert all(re.fullmatch(r"\(\d+\.\d{6}\) \w+ [0-9A-F]+#[0-9A-F]*", l) for l in log.splitlines())
print(d, ":", s["stop_reason"])
PY
}

# --- a full disk: can.log fills a 2 MiB tmpfs, the run stops, every output ends whole ---
mount_tmpfs full 2m
expect_rc 1 "$PACKSIM" run scenarios/demo.toml --duration "2 min" --out "$TMP/mnt-full/x" -q
check_failed "$TMP/mnt-full/x" can.log "no space left on device (ENOSPC)"
python3 - "$TMP/mnt-full/x" <<'PY'
import json, sys
s = json.load(open(sys.argv[1] + "/summary.json"))
o = s["outputs"]
assert o["disk_full"]["file"] == sys.argv[1] + "/can.log", o
assert o["disk_full"]["error"] == "no space left on device (ENOSPC)", o
# The space held back let signals.csv and can.log flush everything up to the stop.
assert o["signals_csv"]["status"] == "complete" and o["can_log"]["status"] == "complete", o
# The last row is the state where the run stopped (sampled every 100 ms, so written apart).
last = open(sys.argv[1] + "/signals.csv").read().splitlines()[-1]
assert abs(float(last.split(",")[0]) - s["simulated_s"]) < 1e-9, (last[:20], s["simulated_s"])
assert 20 < s["simulated_s"] < 60, s["simulated_s"]
PY
umount "$TMP/mnt-full"
# The same through the real-time writer thread (1 MiB, ten times real time).
mount_tmpfs rt 1m
expect_rc 1 "$PACKSIM" run scenarios/demo.toml --realtime --speed 10 --duration "2 min" \
  --out "$TMP/mnt-rt/x" -q --no-status
check_failed "$TMP/mnt-rt/x" can.log "no space left on device (ENOSPC)"
umount "$TMP/mnt-rt"
# signals.csv fills it: per-cell columns every tick, no CAN.
mount_tmpfs csv 1m
expect_rc 1 "$PACKSIM" run scenarios/ev_1c_discharge.toml --bms none --cells all --tick "10 ms" \
  --record-every "10 ms" --duration "10 min" --out "$TMP/mnt-csv/x" -q
check_failed "$TMP/mnt-csv/x" signals.csv "no space left on device (ENOSPC)"
umount "$TMP/mnt-csv"
# Full before the run: nothing runs; no summary.json that could pass for a run's.
mount_tmpfs pre 1m
dd if=/dev/zero of="$TMP/mnt-pre/fill" bs=4k 2>/dev/null || true
expect_rc 1 "$PACKSIM" run scenarios/demo.toml --duration "1 s" --out "$TMP/mnt-pre/x" -q
grep -qF "run failed: $TMP/mnt-pre/x/summary.json: no space left on device (ENOSPC) reserving" \
  "$TMP/err" || fail "full before the run: $(cat "$TMP/err")"
[ ! -e "$TMP/mnt-pre/x/summary.json" ] || fail "a summary.json of a run that did not start"
# packsim-refbms: its refbms.json is claimed before the bus is touched.
expect_rc 1 "$REFBMS" scenarios/demo.toml --can vcan0 --out "$TMP/mnt-pre/r"
grep -qF "$TMP/mnt-pre/r/refbms.json: no space left on device (ENOSPC) reserving 262144 bytes; the BMS did not start" \
  "$TMP/err" || fail "refbms on a full disk: $(cat "$TMP/err")"
rm "$TMP/mnt-pre/fill"
# With room, a BMS that cannot open its interface still leaves a report that says so.
expect_rc 1 "$REFBMS" scenarios/demo.toml --can nosuchcan0 --out "$TMP/mnt-pre/r"
python3 - "$TMP/mnt-pre/r/refbms.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["status"] == "failed" and r["error"].startswith("cannot open nosuchcan0"), r
PY
umount "$TMP/mnt-pre"
# A read-only file system.
mount_tmpfs ro 1m ro
expect_rc 1 "$PACKSIM" run scenarios/demo.toml --duration "1 s" --out "$TMP/mnt-ro" -q
grep -qF "run failed: cannot create $TMP/mnt-ro/summary.json: read-only file system (EROFS)" \
  "$TMP/err" || fail "read-only: $(cat "$TMP/err")"
umount "$TMP/mnt-ro"

# --- a file-size limit (ulimit -f, in KiB): EFBIG, not SIGXFSZ killing the run ---
set +e
(ulimit -f 1024; exec "$PACKSIM" run scenarios/demo.toml --duration "2 min" --out "$TMP/efbig" -q) \
  >"$TMP/out" 2>"$TMP/err"
rc=$?
set -e
[ $rc -eq 1 ] || { cat "$TMP/err" >&2; fail "past the file-size limit: exit code $rc, expected 1"; }
check_failed "$TMP/efbig" can.log "file too large (EFBIG)"
size=$(stat -c %s "$TMP/efbig/can.log")
[ "$size" -le 1048576 ] && [ "$size" -gt 1048000 ] || fail "can.log past the limit: $size bytes"
grep -qF "can.log: file too large (EFBIG) after $size bytes" "$TMP/err" || fail "EFBIG byte count"
[ "$(json_get "$TMP/efbig/summary.json" '["outputs"]["can_log"]["status"]')" = failed ] ||
  fail "EFBIG: can_log status"
set +e
(ulimit -f 100; exec "$REFBMS" scenarios/demo.toml --can vcan0 --out "$TMP/refbms-efbig") \
  >"$TMP/out" 2>"$TMP/err"
rc=$?
set -e
[ $rc -eq 1 ] || fail "refbms past the file-size limit: exit code $rc, expected 1"
grep -qF "refbms.json: file too large (EFBIG) reserving" "$TMP/err" || fail "refbms EFBIG message"
echo "outputs: all checks passed"
