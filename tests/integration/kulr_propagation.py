#!/usr/bin/python3
"""The shipped KULR 21700-K500 propagation scenarios run headless to their end, and summary.json
says what the model did (docs/faults.md, "Thermal runaway", figures):

* scenarios/kulr_module_propagation.toml (a row of three cells, 1 W/K between them, a 120 W heater
  on cell 0 until it runs away): cell 0 runs away, then its neighbours, outwards (measured: cells
  0, 1, 2 at 326.3, 329.4 and 340.4 s);
* scenarios/kulr_module_propagation_barrier.toml (the same with a 0.02 W/K barrier that blocks the
  ejecta between cells 0 and 1): only cell 0 runs away (measured: 141.8 s, earlier than without
  the barrier, which no longer carries its heat away) and no other cell vents within the 15 min;
* a rerun of the first writes byte-identical signals.csv and events.csv.

Each run takes about 0.1 s of CPU (9,000 ticks of three cells); the test stays far below a minute
on a loaded machine.
Run with the system interpreter: /usr/bin/python3 kulr_propagation.py PACKSIM WORKDIR
"""
import csv
import filecmp
import json
import os
import subprocess
import sys

PACKSIM = os.path.abspath(sys.argv[1])
WORK = os.path.abspath(sys.argv[2])
SCENARIOS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scenarios")
problems = []


def check(cond, what):
    if not cond:
        problems.append(what)


def run(stem, out_name):
    out = os.path.join(WORK, out_name)
    # --cells t: the per-cell temperatures, once a second, for the neighbours' peaks.
    r = subprocess.run([PACKSIM, "run", os.path.join(SCENARIOS, stem + ".toml"), "--out", out,
                        "-q", "--no-progress", "--cells", "t"], capture_output=True, text=True)
    if r.returncode != 0:
        problems.append(f"{stem}: exit {r.returncode}\n{r.stdout}\n{r.stderr}")
        return None
    s = json.load(open(os.path.join(out, "summary.json")))
    check(s["status"] == "completed", f"{stem}: status {s['status']}")
    check(s["simulated_s"] == 900, f"{stem}: simulated {s['simulated_s']} s, not the 15 min")
    return out, s


def runaway_times(s):
    """cell -> (vent_s, runaway_s) from summary.json's cells section."""
    return {e["cell"]: (e["vent_s"], e["runaway_s"]) for e in s["cells"]["events"]}


# The doc's figures, to a tenth of a second (the runs are deterministic: these are the exact
# times; 0.05 s is half a 100 ms tick, so only a different tick can move them).
TOL = 0.05
res = run("kulr_module_propagation", "open")
if res:
    out_open, s = res
    t = runaway_times(s)
    print("without barrier:", t)
    check(s["cells"]["runaway"] == 3 and s["cells"]["vented"] == 3,
          f"without barrier: {s['cells']['runaway']} ran away, {s['cells']['vented']} vented")
    check(set(t) == {0, 1, 2}, f"without barrier: cells with events {sorted(t)}")
    if set(t) == {0, 1, 2}:
        r0, r1, r2 = (t[c][1] for c in (0, 1, 2))
        # At least one neighbour runs away, after the heated cell; the fire spreads outwards.
        check(r0 is not None and r1 is not None and r0 < r1, f"cell 1 not after cell 0: {t}")
        check(r2 is not None and r1 < r2, f"cell 2 not after cell 1: {t}")
        for c, want in ((0, 326.3), (1, 329.4), (2, 340.4)):
            check(t[c][1] is not None and abs(t[c][1] - want) <= TOL,
                  f"cell {c} ran away at {t[c][1]} s, documented {want} s")
            check(t[c][0] is not None and t[c][0] <= t[c][1], f"cell {c}: vent after runaway")
        # The heater stopped at the tick after cell 0 ran away (until = "runaway_cells >= 1").
        f = s["faults"][0]
        check(f["kind"] == "heater" and f["onset_s"] == 0 and f["end_s"] == r0,
              f"heater fault {f}, cell 0 ran away at {r0} s")

res = run("kulr_module_propagation_barrier", "barrier")
if res:
    out_bar, s = res
    t = runaway_times(s)
    print("with barrier:", t)
    check(s["cells"]["runaway"] == 1 and s["cells"]["vented"] == 1,
          f"with barrier: {s['cells']['runaway']} ran away, {s['cells']['vented']} vented")
    check(set(t) == {0}, f"with barrier: cells with events {sorted(t)} (only cell 0 expected)")
    if 0 in t:
        check(t[0][1] is not None and abs(t[0][1] - 141.8) <= TOL,
              f"with barrier: cell 0 ran away at {t[0][1]} s, documented 141.8 s")
    # Cells 1 and 2 stay far below their vent temperature (150 degC), below even the chain's
    # activity threshold (60 degC): their chain never starts (measured peaks 33.7, 31.9 degC).
    rows = list(csv.DictReader(open(os.path.join(out_bar, "signals.csv"))))
    for c in (1, 2):
        peak = max(float(r[f"t_c{c}"]) for r in rows)
        print(f"with barrier: cell {c} peaks at {peak} degC")
        check(peak < 60.0, f"with barrier: cell {c} reached {peak} degC")

# Determinism: the same inputs, the same bytes.
res = run("kulr_module_propagation", "open_again")
if res and os.path.isdir(os.path.join(WORK, "open")):
    for name in ("signals.csv", "events.csv"):
        a = os.path.join(WORK, "open", name)
        b = os.path.join(WORK, "open_again", name)
        check(filecmp.cmp(a, b, shallow=False), f"{name} differs between identical runs")

for p in problems:
    print("FAIL:", p)
sys.exit(1 if problems else 0)
