#!/usr/bin/env bash
# Closed loop on the embedded default (loopback bus + in-process reference BMS): the BMS precharges
# and closes the contactors, the pack discharges, an over-voltage reading on one channel makes the
# BMS open them within its configured delay, and so does a true over-voltage of a cell group set
# by a scenario override; every frame is in can.log.
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

# A true over-voltage, injected through a scenario override: group 5's two cells are set to 99 %
# SOC while the pack charges at C/2. The cells' own voltage crosses 4.2 V (no measurement offset),
# the BMS reads it from the voltage frames and opens within its 500 ms delay.
"$PACKSIM" run tests/data/scenarios/closed_loop_true_ov.toml --out "$TMP/true_ov" -q
python3 - "$TMP/true_ov" <<'PY'
import csv, json, sys
out = sys.argv[1]
s = json.load(open(out + "/summary.json"))
bms = s["bms"]
assert bms["first_fault"] == "over-voltage" and bms["first_fault_cell"] == 5, bms
onset, trip = bms["first_fault_onset_s"], bms["first_fault_s"]
assert 20.0 <= onset <= 20.11 and abs((trip - onset) - 0.5) <= 0.010 + 1e-9, (onset, trip)
assert s["final"]["contactors"] == "open", s["final"]
rows = list(csv.DictReader(open(out + "/signals.csv")))
at = lambda t: min(rows, key=lambda r: abs(float(r["time_s"]) - t))
# The simulated cells themselves: group 5 (cells 10, 11) over 4.2 V when the BMS saw it, every
# other cell well below, all run long.
assert float(at(onset)["v_c10"]) > 4.2 and float(at(onset)["v_c11"]) > 4.2, at(onset)
others = [float(r[f"v_c{c}"]) for r in rows for c in range(24) if c not in (10, 11)]
assert max(others) < 4.1, max(others)
before = [float(r["v_c10"]) for r in rows if float(r["time_s"]) < 19.9]
assert max(before) < 4.1, max(before)
# Charging until the trip, nothing after it.
assert all(float(r["current_a"]) < -27 for r in rows if 5 < float(r["time_s"]) < onset), "charge"
assert all(float(r["current_a"]) == 0.0 for r in rows if float(r["time_s"]) > trip + 0.02)
print("true over-voltage: onset", onset, "s, trip", trip, "s")
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
