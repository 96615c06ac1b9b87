#!/usr/bin/env bash
# Closed loop on the embedded default (loopback bus + in-process reference BMS): the BMS precharges
# and closes the contactors, the pack discharges, an over-voltage reading on one channel makes the
# BMS open them within its configured delay; every frame is in can.log.
source "$(dirname "$0")/lib.sh"
"$PACKSIM" run tests/data/scenarios/closed_loop_ov.toml --out "$TMP/ov" -q
python3 - "$TMP/ov" <<'PY'
import csv, json, sys
out = sys.argv[1]
s = json.load(open(out + "/summary.json"))
bms = s["bms"]
assert s["status"] == "completed", s["status"]
assert bms["first_fault"] == "over-voltage", bms
assert bms["first_fault_cell"] == 5, bms
onset, trip = bms["first_fault_onset_s"], bms["first_fault_s"]
# The offset appears at 20 s; the BMS sees it with the next voltage frame of module 0 (100 ms
# period) and trips after its 500 ms delay, rounded up to its 10 ms cycle.
assert 20.0 <= onset <= 20.11, onset
assert abs((trip - onset) - 0.5) <= 0.010 + 1e-9, (onset, trip)
assert s["final"]["contactors"] == "open", s["final"]
rows = list(csv.DictReader(open(out + "/signals.csv")))
t = [float(r["time_s"]) for r in rows]
cur = [float(r["current_a"]) for r in rows]
link = [float(r["link_v"]) for r in rows]
pack = [float(r["pack_v"]) for r in rows]
pos = [int(r["main_pos"]) for r in rows]
pre = [int(r["precharge"]) for r in rows]
# Precharge comes first, then main+ closes once the link is within 95 % of the pack voltage.
first_pre = next(i for i, p in enumerate(pre) if p)
first_pos = next(i for i, p in enumerate(pos) if p)
assert first_pre < first_pos, (first_pre, first_pos)
assert link[first_pos] >= 0.95 * pack[first_pos] - 0.5, (link[first_pos], pack[first_pos])
# The pack carried its 1C load (2 x 27.76 A) while closed, and nothing after the trip.
mid = [c for ti, c in zip(t, cur) if 5.0 < ti < 19.0]
assert all(abs(c - 55.52) < 0.01 for c in mid), (min(mid), max(mid))
after = [c for ti, c in zip(t, cur) if ti > trip + 0.02]
assert after and all(c == 0.0 for c in after), max(after)
# Every frame went through the log, and the protocol saw no rejects.
lines = sum(1 for _ in open(out + "/can.log"))
sim = s["can"]["simulator"]
assert lines == sim["tx_frames"] + sim["rx_frames"], (lines, sim)
assert sim["e2e_bad_crc"] == 0 and sim["rx_unknown"] == 0, sim
print("tripped at", trip, "s after onset", onset, "s;", lines, "frames logged")
PY

# An open wire on channel 5 (flagged in the AFE's status frames, classic profile; in the same
# frame as the voltage, CAN FD profile): the BMS must see the measurement as invalid at every
# frame, whatever order voltages and statuses arrive in, and trip on that, not on a low reading.
for profile in packsim packsim_fd; do
  sed -e 's/^afe_offset = .*/open_wire = 5/' -e "s/^profile = .*/profile = \"$profile\"/" \
    tests/data/scenarios/closed_loop_ov.toml >"$TMP/ow_$profile.toml"
  sed -i 's|"../packs/|"'"$PWD"'/tests/data/packs/|' "$TMP/ow_$profile.toml"
  "$PACKSIM" run "$TMP/ow_$profile.toml" --out "$TMP/ow_$profile" -q
  python3 - "$TMP/ow_$profile" "$profile" <<'PY'
import json, sys
s = json.load(open(sys.argv[1] + "/summary.json"))
bms = s["bms"]
assert bms["first_fault"] == "measurement invalid", (sys.argv[2], bms)
assert bms["first_fault_cell"] == 5, bms
# Status frames every 100 ms (FD: the module frame); the BMS's invalid-measurement delay is 500 ms.
assert 20.0 <= bms["first_fault_onset_s"] <= 20.11, bms
assert abs(bms["first_fault_s"] - bms["first_fault_onset_s"] - 0.5) <= 0.010 + 1e-9, bms
print(sys.argv[2], "open wire: measurement invalid at", bms["first_fault_s"], "s")
PY
done

# A profile with two buses (AFE frames on one, the current sensor on the other) closed loop with
# the in-process BMS: it must hear both, close the contactors and stay out of fault.
"$PACKSIM" run tests/data/scenarios/socketcan_two_buses.toml --bms reference --duration "5 s" \
  --out "$TMP/two" -q
python3 - "$TMP/two" <<'PY'
import json, sys
s = json.load(open(sys.argv[1] + "/summary.json"))
assert s["bms"]["state"] == "normal" and s["bms"]["faults"] == "", s["bms"]
assert s["final"]["contactors"] == "closed", s["final"]
buses = {b["logical"]: b for b in s["can"]["buses"]}
assert set(buses) == {"afe", "sensor"}, buses
assert buses["afe"]["rx_frames"] > 0 and buses["sensor"]["tx_frames"] > 0, buses
assert s["can"]["frames_not_sent"] == 0, s["can"]
print("two buses: BMS normal, contactors closed")
PY

# The BMS's times come from the scenario: a 200 ms over-voltage delay trips 200 ms after onset.
sed -e 's/^cell_ov = "4.2 V"/cell_ov = "4.2 V"\ncell_ov_delay = "200 ms"/' \
  -e 's|"../packs/|"'"$PWD"'/tests/data/packs/|' tests/data/scenarios/closed_loop_ov.toml \
  >"$TMP/ov200.toml"
"$PACKSIM" run "$TMP/ov200.toml" --out "$TMP/ov200" -q
python3 - "$TMP/ov200" <<'PY'
import json, sys
b = json.load(open(sys.argv[1] + "/summary.json"))["bms"]
assert b["first_fault"] == "over-voltage", b
assert abs(b["first_fault_s"] - b["first_fault_onset_s"] - 0.2) <= 0.010 + 1e-9, b
print("configured delay: tripped", round(b["first_fault_s"] - b["first_fault_onset_s"], 3), "s after onset")
PY
