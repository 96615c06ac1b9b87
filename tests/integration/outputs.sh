#!/usr/bin/env bash
# Outputs that cannot swallow a disk: --can-log off|all|rx|tx, can.log rotation at a size limit,
# and runs on a full or read-only file system (a 2 MiB tmpfs), past a file-size limit (ulimit -f),
# each ending as a failure (exit 1) that names the file and the cause, with a parseable summary.
# $2: packsim-refbms. Runs in its own mount namespace (unshare; as root, or as a user namespace's
# root otherwise), so its tmpfs mounts vanish with it.
if [ -z "${PACKSIM_OUTPUTS_NS:-}" ]; then
  # Root without CAP_SYS_ADMIN (a container) may still have user namespaces.
  # In a chroot "/" is no mount point, so its propagation cannot be changed: there the test's
  # own folder is made a private mount inside the namespace instead (below).
  ns=(unshare -rm)
  if [ "$(id -u)" = 0 ] && unshare -m --propagation private true 2>/dev/null; then
    ns=(unshare -m --propagation private)
  elif [ "$(id -u)" = 0 ] && unshare -m --propagation unchanged true 2>/dev/null; then
    ns=(unshare -m --propagation unchanged)
  fi
  "${ns[@]}" true || { echo "FAIL: cannot make a mount namespace with ${ns[*]}" >&2; exit 1; }
  PACKSIM_OUTPUTS_NS=1 exec "${ns[@]}" bash "$0" "$@"
fi
source "$(dirname "$0")/lib.sh"
REFBMS=${2:?usage: $0 PACKSIM PACKSIM_REFBMS}
trap 'umount -q "$TMP"/mnt-* 2>/dev/null || true; umount -q "$TMP" 2>/dev/null || true; rm -rf "$TMP"' EXIT
# Mounts below here stay in this namespace whatever the propagation of the parent's "/".
mount --bind "$TMP" "$TMP" && mount --make-private "$TMP" || fail "cannot make $TMP a private mount"
expect_rc() { local want=$1; shift; set +e; "$@" >"$TMP/out" 2>"$TMP/err"; local rc=$?; set -e
  [ $rc -eq "$want" ] || { cat "$TMP/err" >&2; fail "'$*' exit code $rc, expected $want"; }; }
# mount_tmpfs NAME SIZE [OPTIONS]: a tmpfs of SIZE at $TMP/mnt-NAME.
mount_tmpfs() { mkdir -p "$TMP/mnt-$1"; mount -t tmpfs -o "size=$2${3:+,$3}" tmpfs "$TMP/mnt-$1"; }

# --- what can.log holds: all, rx, tx, off (the same deterministic run each time) ---
for mode in all rx tx off; do
  expect_rc 0 "$PACKSIM" run scenarios/demo.toml --duration "5 s" --can-log $mode --out "$TMP/$mode" -q
done
[ ! -e "$TMP/off/can.log" ] || fail "--can-log off wrote a can.log"
"$PACKSIM" dbc decode --profile packsim --json "$TMP/rx/can.log" >"$TMP/rx.jsonl"
"$PACKSIM" dbc decode --profile packsim --json "$TMP/tx/can.log" >"$TMP/tx.jsonl"
python3 - "$TMP" <<'PY'
import json, sys
tmp = sys.argv[1]
logs = {m: open(f"{tmp}/{m}/can.log").read().splitlines() for m in ("all", "rx", "tx")}
s = {m: json.load(open(f"{tmp}/{m}/summary.json")) for m in ("all", "rx", "tx", "off")}
sim = s["all"]["can"]["simulator"]
# The CAN statistics do not depend on what is logged.
for m in ("rx", "tx", "off"):
    assert s[m]["can"] == s["all"]["can"], m
assert len(logs["all"]) == sim["rx_frames"] + sim["tx_frames"]
assert len(logs["rx"]) == sim["rx_frames"] > 0 and len(logs["tx"]) == sim["tx_frames"] > 0
# The rx and tx logs are exactly the all log's received and sent lines, in its order: merged by
# one walk through it, every line is the next of one of them.
i = j = 0
for line in logs["all"]:
    if i < len(logs["rx"]) and line == logs["rx"][i]:
        i += 1
    elif j < len(logs["tx"]) and line == logs["tx"][j]:
        j += 1
    else:
        raise AssertionError(f"{line!r} is the next line of neither the rx nor the tx log")
assert i == len(logs["rx"]) and j == len(logs["tx"])
ids = {m: {l.split()[2].split("#")[0] for l in logs[m]} for m in ("rx", "tx")}
assert not ids["rx"] & ids["tx"], ids
# What the reference BMS sends is received, what the simulated AFEs send is sent.
names = {m: {json.loads(l).get("message") for l in open(f"{tmp}/{m}.jsonl")} for m in ("rx", "tx")}
assert "BMS_Command" in names["rx"] and "BMS_Command" not in names["tx"], names
c = {m: s[m]["outputs"]["can_log"] for m in s}
assert c["off"]["mode"] == "off" and c["off"]["status"] == "off", c["off"]
assert c["off"]["frames_not_logged"] == len(logs["all"]), c["off"]
assert c["rx"]["mode"] == "rx" and c["rx"]["frames"] == len(logs["rx"]), c["rx"]
assert c["rx"]["frames_not_logged"] == len(logs["tx"]), c["rx"]
assert c["all"]["frames_not_logged"] == 0 and c["all"]["max_bytes"] is None, c["all"]
print("can_log modes:", {m: len(logs[m]) for m in logs}, "frames")
PY
# The scenario's [record] can_log, and the command line over it.
sed -e "s|^pack = .*|pack = \"$PWD/configs/ev_96s2p_nmc.toml\"|" \
  -e "s|^file = \"profiles/|file = \"$PWD/scenarios/profiles/|" \
  -e 's|^every = "100 ms"|every = "100 ms"\ncan_log = "rx"|' scenarios/demo.toml >"$TMP/rx.toml"
expect_rc 0 "$PACKSIM" run "$TMP/rx.toml" --duration "5 s" --out "$TMP/key" -q
cmp -s "$TMP/key/can.log" "$TMP/rx/can.log" || fail "[record] can_log = \"rx\" is not the rx log"
expect_rc 0 "$PACKSIM" run "$TMP/rx.toml" --duration "5 s" --can-log tx --out "$TMP/key" -q
cmp -s "$TMP/key/can.log" "$TMP/tx/can.log" || fail "--can-log tx does not override the scenario"
expect_rc 2 "$PACKSIM" run scenarios/demo.toml --can-log both --out "$TMP/x"
expect_rc 2 "$PACKSIM" run scenarios/demo.toml --can-log-max "1 kB" --out "$TMP/x"
grep -q -- "--can-log-max: 1000 bytes is too small; expected at least 4096 bytes" "$TMP/err" ||
  fail "--can-log-max minimum: $(cat "$TMP/err")"
expect_rc 2 "$PACKSIM" run scenarios/demo.toml --can-log-max "10 mb" --out "$TMP/x"
grep -q -- "--can-log-max: unknown unit 'mb'" "$TMP/err" || fail "--can-log-max unit message"
expect_rc 2 "$PACKSIM" run scenarios/demo.toml --can-log-keep 2 --out "$TMP/x"
grep -q -- "--can-log-keep does nothing without --can-log-max" "$TMP/err" || fail "keep alone"
expect_rc 2 "$PACKSIM" run scenarios/demo.toml --can-log off --can-log-max "1 MB" --out "$TMP/x"

# --- rotation: bounded files, each a candump log, together the unrotated log or its tail ---
# 5 s of the demo is 212 kB of can.log: 20 kB files, 3 kept, lose the oldest; 50 kB files, 5 kept,
# lose nothing.
expect_rc 0 "$PACKSIM" run scenarios/demo.toml --duration "5 s" --can-log-max "20 kB" \
  --can-log-keep 3 --out "$TMP/rot" -q
expect_rc 0 "$PACKSIM" run scenarios/demo.toml --duration "5 s" --can-log-max "50 kB" \
  --can-log-keep 5 --out "$TMP/rot-whole" -q
for d in rot rot-whole; do
  for f in "$TMP/$d"/can.log*; do
    "$PACKSIM" dbc decode --profile packsim "$f" >/dev/null || fail "$f is not a candump log"
  done
done
python3 - "$TMP" <<'PY'
import json, os, sys
tmp = sys.argv[1]
full = open(f"{tmp}/all/can.log", "rb").read()
for d, limit, keep, whole in (("rot", 20000, 3, False), ("rot-whole", 50000, 5, True)):
    s = json.load(open(f"{tmp}/{d}/summary.json"))
    c = s["outputs"]["can_log"]
    assert c["max_bytes"] == limit and c["keep"] == keep and c["status"] == "complete", c
    names = [f["file"] for f in c["files"]]
    on_disk = sorted(n for n in os.listdir(f"{tmp}/{d}") if n.startswith("can.log"))
    assert sorted(names) == on_disk, (names, on_disk)
    assert len(names) <= keep + 1 and names[-1] == "can.log", names
    assert names[:-1] == [f"can.log.{k}" for k in range(len(names) - 1, 0, -1)], names
    parts = []
    for f in c["files"]:
        data = open(f"{tmp}/{d}/{f['file']}", "rb").read()
        assert len(data) == f["bytes"] <= limit and data.endswith(b"\n"), (f, len(data))
        assert data.count(b"\n") == f["frames"], f
        parts.append(data)
    joined = b"".join(parts)
    assert sum(len(p) for p in parts) <= (keep + 1) * limit
    assert c["bytes"] == len(joined) and c["frames"] == joined.count(b"\n"), c
    assert c["frames"] + c["deleted_frames"] == full.count(b"\n"), c
    assert c["bytes"] + c["deleted_bytes"] == len(full), c
    if whole:
        assert c["deleted_files"] == 0 and joined == full, c
    else:
        assert c["deleted_files"] > 0 and full.endswith(joined), c
    print(d, ":", len(names), "files,", c["rotations"], "rotations,", c["deleted_files"], "deleted")
PY
# A rerun into the same folder without rotation leaves no rotated file of the earlier run.
expect_rc 0 "$PACKSIM" run scenarios/demo.toml --duration "1 s" --out "$TMP/rot" -q
[ -z "$(ls "$TMP/rot" | grep '^can\.log\.')" ] || fail "rotated logs of an earlier run survived"

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
if c["status"] not in ("none", "off"):
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
