#!/usr/bin/python3
"""Ground truth of a run with faults (tests/data/scenarios/runaway_events.toml: the shipped KULR
3s1p row, a stepped heater that sets off a propagating runaway, an ambient ramp, an insulation
fault, a welded, a stuck-open contactor and an open precharge resistor):

* events.csv: every fault start, step, ramp end and stop, and every model event (vent, runaway,
  cell opened, contactor stuck, precharge failed), each with its time, target and value, checked
  against the scenario's own numbers, the cell model's constants and the per-cell temperatures
  of signals.csv (recorded every tick);

Run with the system interpreter: /usr/bin/python3 runaway_outputs.py PACKSIM WORKDIR
"""
import csv
import json
import os
import subprocess
import sys

PACKSIM = os.path.abspath(sys.argv[1])
WORK = os.path.abspath(sys.argv[2])
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
SCENARIO = os.path.join(ROOT, "tests", "data", "scenarios", "runaway_events.toml")
problems = []

# The shipped model's constants (models/kulr_21700_k500.toml, [runaway]) the outputs must carry.
VENT_MASS_G = 2.0
VENT_C = 150.0
SHORT_S = 1.0
TICK = 0.1
EPS = 1e-9


def check(cond, what):
    if not cond:
        problems.append(what)


def run(scenario, name, *extra):
    out = os.path.join(WORK, name)
    # Every tick recorded, with the cells' temperatures: the rows the checks below compare with.
    r = subprocess.run([PACKSIM, "run", scenario, "--out", out, "-q", "--no-progress", "--cells",
                        "t", "--record-every", "100 ms", *extra], capture_output=True, text=True)
    if r.returncode != 0:
        print(r.stdout, r.stderr)
        sys.exit(f"FAIL: {name}: exit {r.returncode}")
    summary = json.load(open(os.path.join(out, "summary.json")))
    check(summary["status"] == "completed", f"{name}: status {summary['status']}")
    with open(os.path.join(out, "events.csv"), newline="") as f:
        events = list(csv.reader(f))
    with open(os.path.join(out, "signals.csv"), newline="") as f:
        signals = list(csv.DictReader(f))
    return summary, events, signals


summary, events, signals = run(SCENARIO, "events")

# --- events.csv ----------------------------------------------------------------------------
check(events[0] == ["time_s", "source", "kind", "target", "action", "value", "label"],
      f"events.csv header {events[0]}")
rows = [(float(r[0]), r[1], r[2], r[3], r[4], float(r[5]), r[6]) for r in events[1:]]
times = [r[0] for r in rows]
check(times == sorted(times), "events.csv rows are not in time order")
faults = [r for r in rows if r[1] == "fault"]
model = [r for r in rows if r[1] == "model"]
check(len(faults) + len(model) == len(rows), "a row that is neither fault nor model")

# The model's events per cell; the runaway of cell 0 ends the heater (until = runaway_cells >= 1,
# checked after the tick: the stop row is at the start of the next tick, the runaway's time).
cell_rows = {}
for r in model:
    if r[3].startswith("cell "):
        cell_rows.setdefault(int(r[3][5:]), {}).setdefault(r[2], []).append(r)
check(sorted(cell_rows) == [0, 1, 2], f"model events for cells {sorted(cell_rows)}")
t_run0 = cell_rows.get(0, {}).get("runaway", [(None,)])[0][0]

# Fault rows: times at tick starts, values in SI (W, K, ohm), labels copied.
want_faults = [
    (0.0, "fault", "heater", "cell 0", "start", 60.0, "heater on cell 0"),
    (1.0, "fault", "contactor_welded", "contactor main_neg", "start", 0.0, ""),
    (1.0, "fault", "contactor_stuck_open", "contactor main_pos", "start", 0.0, ""),
    (1.0, "fault", "precharge_open", "precharge", "start", 0.0, ""),
    (10.0, "fault", "ambient", "pack", "start", 298.15, ""),
    (20.0, "fault", "insulation", "cell 1", "start", 100e3, ""),
    (30.0, "fault", "ambient", "pack", "ramp_end", 303.15, ""),
    (60.0, "fault", "heater", "cell 0", "step", 120.0, "heater on cell 0"),
    (t_run0, "fault", "heater", "cell 0", "stop", 0.0, "heater on cell 0"),
]
check(faults == want_faults, "fault rows:\n  got  " + "\n       ".join(map(str, faults)) +
      "\n  want " + "\n       ".join(map(str, want_faults)))

# Contactor and precharge rows, at the tick of the command that met the fault: the close command
# at 4 s meets the stuck-open main+ (value 0), the same tick ends the precharge window (main+
# commanded, precharge open) with the link at 0 V (the resistor is open: it never charged), and
# the open command at 6 s meets the welded main- (value 1).
want_power = [(4.0, "model", "contactor_stuck", "contactor main_pos", "event", 0.0, ""),
              (4.0, "model", "precharge_failed", "precharge", "event", 0.0, ""),
              (6.0, "model", "contactor_stuck", "contactor main_neg", "event", 1.0, "")]
power = [r for r in model if not r[3].startswith("cell ")]
check(power == want_power, f"contactor rows {power}")
# The pack itself was at 12.5 V: a precharge_failed value of 0 is the link, not a default.
check(float(signals[40]["pack_v"]) > 12.0, f"pack voltage {signals[40]['pack_v']} V at 4 s")


def temp_before(cell, t):
    """The cell's temperature (degC) on the signals row one tick before t (rows every tick)."""
    k = round(t / TICK) - 1
    check(abs(float(signals[k]["time_s"]) - (t - TICK)) < EPS, f"no signals row at {t - TICK} s")
    return float(signals[k][f"t_c{cell}"])


for c, kinds in sorted(cell_rows.items()):
    check(sorted(kinds) == ["cell_opened", "runaway", "vent"] and
          all(len(v) == 1 for v in kinds.values()), f"cell {c}: events {kinds}")
    if sorted(kinds) != ["cell_opened", "runaway", "vent"]:
        continue
    vent, runaway, opened = kinds["vent"][0], kinds["runaway"][0], kinds["cell_opened"][0]
    # Vent: value the model's vent mass (g). It opens at the first thermal step that starts at or
    # above the vent temperature (the check precedes the step's solve), or at the runaway.
    check(vent[5] == VENT_MASS_G, f"cell {c}: vent value {vent[5]}, the model's {VENT_MASS_G} g")
    crossed = next((float(s["time_s"]) + TICK for s in signals
                    if float(s[f"t_c{c}"]) >= VENT_C), None)
    want_vent = min(crossed, runaway[0]) if crossed is not None else runaway[0]
    check(abs(vent[0] - want_vent) < EPS,
          f"cell {c}: vent at {vent[0]} s, the row after {VENT_C} degC is at {want_vent} s")
    # Runaway: value the cell's temperature (K) when its self-heating reached 1 K/s, within the
    # thermal step that ended at the row's time: from the step's starting temperature (the row
    # before) up by at most what 1 K/s adds in a step (0.1 K); 1e-4 K is signals.csv's rounding.
    t0 = temp_before(c, runaway[0])
    check(t0 - 1e-4 <= runaway[5] - 273.15 <= t0 + 0.1 + 1e-4,
          f"cell {c}: runaway value {runaway[5]} K, the cell was at {t0} degC")
    check(vent[0] <= runaway[0], f"cell {c}: vent {vent[0]} s after the runaway {runaway[0]} s")
    # Cell opened: the runaway short's duration later, value 0.
    check(abs(opened[0] - (runaway[0] + SHORT_S)) < EPS and opened[5] == 0.0,
          f"cell {c}: opened at {opened[0]} s (runaway {runaway[0]} s), value {opened[5]}")
    print(f"cell {c}: vent {vent[0]} s, runaway {runaway[0]} s at {runaway[5]} K, "
          f"opened {opened[0]} s")

check(len(rows) == 9 + 3 + 9, f"{len(rows)} rows in events.csv, 21 expected")
check(summary["outputs"]["events_csv"]["rows"] == len(rows),
      f"summary says {summary['outputs']['events_csv']['rows']} events.csv rows")
check(summary["cells"]["model_events"] == len(model) and
      summary["cells"]["model_events_dropped"] == 0, f"summary cells {summary['cells']}")

for p in problems:
    print("FAIL:", p)
sys.exit(1 if problems else 0)
