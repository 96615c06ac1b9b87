#!/usr/bin/env bash
# SIGINT and SIGTERM stop a run cleanly: exit code 128+signal, signals.csv with only complete rows
# (the last one being the state at the stop) and a parseable summary.json saying so.
source "$(dirname "$0")/lib.sh"

# run_and_stop SIG FILE SECONDS COMMAND...: runs COMMAND, waits until it has written FILE, lets it
# run SECONDS more, sends SIG and checks the exit code is 128 + the signal's number.
run_and_stop() {
  local sig=$1 file=$2 after=$3
  shift 3
  "$@" &
  local pid=$!
  for _ in $(seq 100); do [ -s "$file" ] && break; sleep 0.05; done
  sleep "$after"
  kill -s "$sig" $pid
  set +e
  wait $pid
  local rc=$?
  set -e
  local expected=$([ "$sig" = INT ] && echo 130 || echo 143)
  [ $rc -eq "$expected" ] || fail "$* (SIG$sig): exit code $rc, expected $expected"
}

for sig in INT TERM; do
  out="$TMP/$sig"
  run_and_stop "$sig" "$out/signals.csv" 1 \
    "$PACKSIM" run scenarios/ev_1c_discharge.toml --tick "1 ms" --record-every "10 ms" --out "$out" -q
  python3 - "$out" "SIG$sig" <<'PY'
import csv, json, sys
out, sig = sys.argv[1], sys.argv[2]
s = json.load(open(out + "/summary.json"))
assert s["status"] == "interrupted", s["status"]
assert s["stop_reason"] == sig, s["stop_reason"]
assert not s["completed"]
raw = open(out + "/signals.csv").read()
assert raw.endswith("\n"), "last row incomplete"
rows = list(csv.reader(raw.splitlines()))
header, body = rows[0], rows[1:]
assert len(body) > 10, len(body)
assert all(len(r) == len(header) for r in body), "a row with the wrong number of columns"
last_t = float(body[-1][0])
assert abs(last_t - s["simulated_s"]) < 1e-9, (last_t, s["simulated_s"])
print(sig, "stopped at", last_t, "s with", len(body), "rows")
PY
done

# The same during a real-time run (tick thread, writer thread, signalfd): complete files, and the
# real-time statistics of the ticks that ran.
for sig in INT TERM; do
  out="$TMP/rt-$sig"
  run_and_stop "$sig" "$out/can.log" 1.5 \
    "$PACKSIM" run scenarios/demo.toml --realtime --record-every "10 ms" --out "$out" -q
  python3 - "$out" "SIG$sig" <<'PY'
import csv, json, sys
out, sig = sys.argv[1], sys.argv[2]
s = json.load(open(out + "/summary.json"))
assert s["status"] == "interrupted" and s["stop_reason"] == sig, (s["status"], s["stop_reason"])
rt = s["realtime"]
assert rt["ticks"] == s["ticks"] and rt["ticks"] > 500, (rt["ticks"], s["ticks"])
for key in ("wake_latency_us", "compute_us"):
    d = rt[key]
    assert 0 <= d["min"] <= d["p50"] <= d["p99"] <= d["p999"] <= d["max"], (key, d)
assert rt["period_us"] == 1000 and rt["records_dropped"] == 0, rt
raw = open(out + "/signals.csv").read()
assert raw.endswith("\n")
rows = list(csv.reader(raw.splitlines()))
assert all(len(r) == len(rows[0]) for r in rows[1:])
assert abs(float(rows[-1][0]) - s["simulated_s"]) < 1e-9, (rows[-1][0], s["simulated_s"])
log = open(out + "/can.log").read()
assert log.endswith("\n") and log.count("\n") == s["can"]["simulator"]["tx_frames"] + s["can"]["simulator"]["rx_frames"]
print("real time", sig, ": stopped after", rt["ticks"], "ticks; wake p99", rt["wake_latency_us"]["p99"], "us")
PY
done

# A long wall period (1 s ticks at 0.1x: 10 s between ticks) still stops promptly on SIGINT: the
# tick thread's sleep is cut short, not waited out.
out="$TMP/rt-long"
"$PACKSIM" run scenarios/ev_1c_discharge.toml --realtime --tick "1 s" --speed 0.1 --bms none \
  --out "$out" -q --no-status &
pid=$!
sleep 1
start=$(date +%s.%N)
kill -INT $pid
set +e
wait $pid
rc=$?
set -e
[ $rc -eq 130 ] || fail "long period: exit code $rc, expected 130"
python3 - "$out" "$start" "$(date +%s.%N)" <<'PY'
import json, sys
s = json.load(open(sys.argv[1] + "/summary.json"))
assert s["status"] == "interrupted", s["status"]
took = float(sys.argv[3]) - float(sys.argv[2])
# Without the cut-short sleep the run would go on to its next deadline, up to 10 s away.
assert took < 3.0, took
print("long period: stopped", round(took, 2), "s after SIGINT")
PY
