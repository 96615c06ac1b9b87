#!/usr/bin/env bash
# The load kinds end to end on the pack alone (no BMS): a resistance draws V/R at the link, a power
# profile read from CSV delivers its power (step and linear interpolation), and a current profile
# in C-rate scales with the pack's capacity.
source "$(dirname "$0")/lib.sh"
cat >"$TMP/power.csv" <<'CSV'
# a power profile with comments, watts
time_s,power_w,unused
0,1000,x
10,3000,x
20,-500,x
30,0,x
CSV
cat >"$TMP/loads.toml" <<EOF
[scenario]
name = "loads"
pack = "$PWD/configs/lfp_16s1p.toml"
duration = "3 min"
tick = "10 ms"
stop_when_load_done = true
[initial]
soc = "60 %"
contactors = "closed"
[bms]
mode = "none"
[[load]]
label = "resistor"
kind = "resistance"
resistance = "2 ohm"
duration = "20 s"
[[load]]
label = "power, step"
kind = "profile"
file = "$TMP/power.csv"
quantity = "power"
[[load]]
label = "power, linear"
kind = "profile"
file = "$TMP/power.csv"
quantity = "power"
interpolate = "linear"
[[load]]
label = "current in C"
kind = "profile"
file = "$PWD/scenarios/profiles/us06_c_rate.csv"
quantity = "c_rate"
scale = 0.5
duration = "20 s"
[record]
every = "100 ms"
EOF
"$PACKSIM" run "$TMP/loads.toml" --out "$TMP/out" -q
python3 - "$TMP/out" "$PWD/scenarios/profiles/us06_c_rate.csv" <<'PY'
import csv, json, sys
out, us06 = sys.argv[1], sys.argv[2]
s = json.load(open(out + "/summary.json"))
assert s["status"] == "completed" and s["stop_reason"] == "load done", s["stop_reason"]
seg = {x["label"]: x for x in s["segments"]}
rows = list(csv.DictReader(open(out + "/signals.csv")))
def rows_in(label, skip=0.2):
    a = seg[label]["start_s"] + skip
    b = seg[label]["end_s"]
    return [r for r in rows if a < float(r["time_s"]) <= b]
# Resistance: I = V_link / R at every recorded row.
rr = rows_in("resistor")
assert len(rr) > 100
for r in rr:
    v, i = float(r["link_v"]), float(r["current_a"])
    assert abs(i - v / 2.0) < 1e-5 * max(1.0, i), (r["time_s"], v, i)
# Power: the delivered power is the profile's value (held, or interpolated) at each tick's start.
def step_power(t):
    return 1000.0 if t < 10 else 3000.0 if t < 20 else -500.0 if t < 30 else 0.0
def linear_power(t):
    pts = [(0, 1000.0), (10, 3000.0), (20, -500.0), (30, 0.0)]
    for (t0, p0), (t1, p1) in zip(pts, pts[1:]):
        if t < t1:
            return p0 + (p1 - p0) * (t - t0) / (t1 - t0)
    return 0.0
for label, f in (("power, step", step_power), ("power, linear", linear_power)):
    pr = rows_in(label)
    assert len(pr) > 250, (label, len(pr))
    t0 = seg[label]["start_s"]
    worst = 0.0
    for r in pr:
        t = float(r["time_s"]) - t0
        want = f(t - 0.01)  # the row is the end of a 10 ms tick whose power was set at its start
        got = float(r["link_v"]) * float(r["current_a"])
        worst = max(worst, abs(got - want))
    assert worst < 0.5, (label, worst)  # watts, of up to 3 kW
    # One play lasts until the last sample plus one sample interval: 40 s.
    assert abs(seg[label]["end_s"] - seg[label]["start_s"] - 40.0) < 0.011, seg[label]
# C-rate: current = value x scale x the pack's capacity.
cap_ah = s["pack"]["capacity_ah"]
us = {}
for line in open(us06):
    if line.startswith("#") or line.startswith("time_s"):
        continue
    t, c = line.strip().split(",")[:2]
    us[round(float(t))] = float(c)
cr = rows_in("current in C")
t0 = seg["current in C"]["start_s"]
assert len(cr) > 150
for r in cr:
    t = float(r["time_s"]) - t0 - 0.01
    want = us[int(t)] * 0.5 * cap_ah
    # The pack current is the load's plus the DC-link capacitor's (the link follows the cells'
    # voltage): within 0.2 % or 0.1 mA of the load's setpoint.
    assert abs(float(r["current_a"]) - want) < 1e-4 + 2e-3 * abs(want), (t, r["current_a"], want)
print("loads: resistance, power (step, linear) and C-rate profiles delivered as specified")
PY
