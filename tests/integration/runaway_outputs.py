#!/usr/bin/python3
"""Ground truth of a run with faults (tests/data/scenarios/runaway_events.toml: the shipped KULR
3s1p row, a stepped heater that sets off a propagating runaway, an ambient ramp, an insulation
fault, a welded, a stuck-open contactor and an open precharge resistor):

* events.csv: every fault start, step, ramp end and stop, and every model event (vent, runaway,
  cell opened, contactor stuck, precharge failed), each with its time, target and value, checked
  against the scenario's own numbers, the cell model's constants and the per-cell temperatures
  of signals.csv (recorded every tick);
* summary.json: the faults' onsets and ends, the per-cell vent and runaway times (the same as
  events.csv's), the runaway heat books (body, ejecta, impinged, vent cooling, heater) against
  the databank calibration and the scenario; and, on the same scenario with the cell model's
  mass loss and the pack's cooling switched off, the energy books against the heat the cells'
  nodes stored (nothing else leaves an adiabatic row whose heat capacities stay constant);
* signals.csv (every tick): the fault columns' values, row by row: vented_cells and
  runaway_cells against the cells' event times, hottest_cell against the per-cell temperature
  columns, vent_gas_g_per_s against the vent's rate and the model's ejected mass, insulation_ohm
  against the fault's 100 kOhm in parallel with the pack's 10 MOhm, and the burnt cells' 0 V.

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

# --- summary.json ---------------------------------------------------------------------------
# The databank calibration of models/kulr_21700_k500.toml: total heat, body share, vent cooling.
TOTAL_KJ = 88.88
BODY = 0.3147
VENT_COOLING_KJ = 0.1
IMPINGEMENT = 0.10


def close(a, b, rel):
    return abs(a - b) <= rel * max(abs(a), abs(b))


want = [("heater", "cell 0", 0.0, t_run0), ("ambient", "pack", 10.0, None),
        ("insulation", "cell 1", 20.0, None), ("contactor_welded", "contactor main_neg", 1.0, None),
        ("contactor_stuck_open", "contactor main_pos", 1.0, None),
        ("precharge_open", "precharge", 1.0, None)]
got = [(f["kind"], f["target"], f["onset_s"], f["end_s"]) for f in summary["faults"]]
check(got == want, f"summary faults {got}")
cells = summary["cells"]
check(cells["vented"] == 3 and cells["runaway"] == 3, f"summary cells {cells}")
for e in cells["events"]:
    c = e["cell"]
    rows_c = cell_rows.get(c, {})
    check(c in cell_rows and e["vent_s"] == rows_c["vent"][0][0] and
          e["runaway_s"] == rows_c["runaway"][0][0],
          f"cell {c}: summary vent {e['vent_s']} s / runaway {e['runaway_s']} s, events.csv "
          f"{rows_c.get('vent')} / {rows_c.get('runaway')}")
check(sorted(e["cell"] for e in cells["events"]) == [0, 1, 2], f"summary events {cells['events']}")

energy = summary["energy"]
body = energy["heat_kj"]["runaway_body"]
ejecta = energy["runaway_ejecta_kj"]
print(f"runaway heat: body {body} kJ, ejecta {ejecta} kJ, impinged "
      f"{energy['runaway_impinged_kj']} kJ, heater {energy['heater_kj']} kJ")
# Every cell burnt completely (the burn releases what the chain had not): three databank totals,
# split as the databank's body share (exact per cell when its pre-vent heat is below that share,
# as here); 1e-9 is rounding over the run's sums.
check(close(body + ejecta, 3 * TOTAL_KJ, 1e-9), f"body + ejecta {body + ejecta} kJ, not 3 x 88.88")
check(close(body / (body + ejecta), BODY, 1e-9), f"body share {body / (body + ejecta)}")
check(close(energy["runaway_impinged_kj"], IMPINGEMENT * ejecta, 1e-9),
      f"impinged {energy['runaway_impinged_kj']} kJ, not 10 % of the ejecta")
check(close(energy["vent_cooling_kj"], 3 * VENT_COOLING_KJ, 1e-9),
      f"vent cooling {energy['vent_cooling_kj']} kJ")
# The heater: 60 W for the first minute, 120 W from then to its stop.
check(close(energy["heater_kj"], (60.0 * 60.0 + 120.0 * (t_run0 - 60.0)) / 1e3, 1e-9),
      f"heater {energy['heater_kj']} kJ for a stop at {t_run0} s")
# The runaway shorts' heat (1 mOhm for 1 s per cell) is booked with the internal shorts.
check(energy["heat_kj"]["internal_short"] > 0, "no runaway-short heat in the books")

# The heat balance, on the same scenario without mass loss or cooling: generated files in WORK.
model_src = open(os.path.join(ROOT, "models", "kulr_21700_k500.toml")).read()
for key in ("ejected_mass", "vent_mass"):
    line = next(x for x in model_src.splitlines() if x.startswith(key + " ="))
    model_src = model_src.replace(line, f'{key} = "0 g"')
open(os.path.join(WORK, "kulr_no_mass_loss.toml"), "w").write(model_src)
pack_src = open(os.path.join(ROOT, "configs", "kulr_3s1p_module.toml")).read()
pack_src = pack_src.replace('cell = "../models/kulr_21700_k500.toml"',
                            'cell = "kulr_no_mass_loss.toml"')
pack_src = pack_src.replace('[thermal]\n', '[thermal]\ncooling = "0 W/K"\n')
check('cooling = "0 W/K"' in pack_src and "kulr_no_mass_loss" in pack_src, "pack not rewritten")
open(os.path.join(WORK, "kulr_adiabatic.toml"), "w").write(pack_src)
sc_src = open(SCENARIO).read().replace('pack = "../../../configs/kulr_3s1p_module.toml"',
                                       'pack = "kulr_adiabatic.toml"')
adiabatic = os.path.join(WORK, "runaway_events_adiabatic.toml")
open(adiabatic, "w").write(sc_src)
sa, _, _ = run(adiabatic, "adiabatic")
ea = sa["energy"]
check(sa["cells"]["runaway"] == 3, f"adiabatic: {sa['cells']['runaway']} ran away")
# Stored: C (T - T0) summed over the three cells, C = 72.21 g x 1257 J/kg/K (the model's), from
# the final mean temperature; books: the cells' own heat (the runaway shorts' included), heater,
# runaway body heat and impinged ejecta, less the vent cooling, plus over-charge heat (none).
# Backward Euler conserves the sum of C T exactly when nothing leaves: 1e-6 is rounding (the
# thermal step is the tick, so no heat is pending at the end).
stored = 3 * 0.07221 * 1257.0 * (sa["final"]["temp_mean_degc"] - 25.0) / 1e3
books = (ea["heat_generated_kj"] + ea["heater_kj"] + ea["heat_kj"]["runaway_body"] +
         ea["runaway_impinged_kj"] - ea["vent_cooling_kj"] + ea["heat_kj"]["overcharge"])
print(f"adiabatic: stored {stored} kJ, books {books} kJ")
check(close(stored, books, 1e-6), f"adiabatic: the nodes stored {stored} kJ, the books say {books}")
check(close(ea["heat_kj"]["runaway_body"] + ea["runaway_ejecta_kj"], 3 * TOTAL_KJ, 1e-9),
      "adiabatic: runaway heat not three databank totals")

# --- signals.csv's fault columns ---------------------------------------------------------------
# A row at time t holds the state at the end of the tick [t - 0.1 s, t): a model event at t (its
# tick's end) is in it, a fault starting at t (its tick's start) only from the next row on.
EJECTED_G = 36.96      # models/kulr_21700_k500.toml ejected_mass, per cell
VENT_RATE_G_S = 2.0 / 5.0  # vent_mass over vent_duration
ISO_OHM = 1.0 / (1.0 / 10e6 + 1.0 / 100e3)  # the fault in parallel with [pack] insulation
vents = {e["cell"]: e["vent_s"] for e in cells["events"]}
runaways = {e["cell"]: e["runaway_s"] for e in cells["events"]}
all_open = max(runaways.values()) + SHORT_S if len(runaways) == 3 else None
gas_g = 0.0
bad = {}
ties = 0


def note(what, row):
    bad.setdefault(what, row["time_s"])  # the first row where it is wrong


for row in signals:
    t = float(row["time_s"])
    if int(row["vented_cells"]) != sum(1 for v in vents.values() if v <= t + EPS):
        note(f"vented_cells {row['vented_cells']}", row)
    if int(row["runaway_cells"]) != sum(1 for v in runaways.values() if v <= t + EPS):
        note(f"runaway_cells {row['runaway_cells']}", row)
    temps = [float(row[f"t_c{c}"]) for c in range(3)]
    hottest = max(temps)
    # The lowest index among equals; rows whose top two agree to the printed 1e-4 degC are skipped
    # (their order is not in the file).
    if sorted(temps)[-2] < hottest:
        if int(row["hottest_cell"]) != temps.index(hottest):
            note(f"hottest_cell {row['hottest_cell']} of {temps}", row)
    else:
        ties += 1
    gas = float(row["vent_gas_g_per_s"])
    gas_g += gas * TICK
    if not vents or t < min(vents.values()) - EPS:
        if gas != 0.0:
            note(f"vent gas {gas} g/s before any vent", row)
    # In a vent's 5 s its 2 g leave at 0.4 g/s (the vent tick itself has not yet released any).
    for c, v in vents.items():
        if v + EPS < t <= v + 5.0 + EPS and gas < VENT_RATE_G_S - 1e-6:
            note(f"vent gas {gas} g/s in cell {c}'s vent", row)
    want_iso = ISO_OHM if t > 20.0 + EPS else 10e6
    if abs(float(row["insulation_ohm"]) - want_iso) > 0.05:  # printed to 0.1 ohm
        note(f"insulation_ohm {row['insulation_ohm']}, expected {want_iso:.1f}", row)
    # The last cell opens in the thermal step at its tick's end, after that tick's electrical
    # step: every cell reads 0 V from the next row on.
    if all_open is not None and t >= all_open + TICK - EPS and float(row["cell_v_max"]) != 0.0:
        note(f"cell_v_max {row['cell_v_max']} V with every cell burnt out", row)
for what, t in bad.items():
    problems.append(f"signals.csv at {t} s: {what}")
# Every gram the cells lost went out as vent gas: the rate summed over the ticks is the ejected
# mass of three cells (110.88 g); 0.01 g covers the column's 1e-6 g/s rounding over 4,200 rows.
print(f"vent gas over the run: {gas_g} g; hottest_cell checked on {len(signals) - ties} of "
      f"{len(signals)} rows (the rest tied), hottest cells seen "
      f"{sorted(set(int(r['hottest_cell']) for r in signals))}")
check(abs(gas_g - 3 * EJECTED_G) < 0.01, f"vent gas over the run {gas_g} g, ejected 3 x 36.96 g")
check(int(signals[-1]["hottest_cell"]) in (0, 1, 2), "no hottest cell in the last row")

for p in problems:
    print("FAIL:", p)
sys.exit(1 if problems else 0)
