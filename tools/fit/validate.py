#!/usr/bin/env python3
"""Replay every validation case of data/measured/validation.toml with the reference model (ecm.py).

    /usr/bin/python3 tools/fit/validate.py            # replay, print, compare with the manifest's figures
    /usr/bin/python3 tools/fit/validate.py --write    # regenerate the manifest (cases below + figures)

The case list lives here (CASES) so that the manifest and its figures always come from one place.
"""
from __future__ import annotations

import argparse
import os
import sys
import tomllib

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import ecm  # noqa: E402
from common import DATA, ROOT, read_csv  # noqa: E402

MANIFEST = os.path.join(DATA, "validation.toml")

PAN = "data/measured/panasonic_ncr18650pf/us06_25degC_0p1s.csv"
A123 = "data/measured/a123_anr26650_lfp/dyn_s1_25degC.csv"
LEAF = "data/measured/nissan_leaf_2013_pouch/validation_{}_1s.csv"

CASES = [
    dict(id="panasonic_us06", model="models/panasonic_ncr18650pf.toml", profile=PAN,
         note="Held-out US06 at 25 degC; primary figure (measured cell temperature as input).",
         time_column="time_s", current_column="current_A", current_sign=-1.0, voltage_column="voltage_V",
         dt_s=0.1, initial_soc=1.0, initial_h=0.0, initial_s=0,
         temperature=dict(mode="measured", column="battery_temp_degC"), score=dict(first_row=0)),
    dict(id="panasonic_us06_thermal", model="models/panasonic_ncr18650pf.toml", profile=PAN,
         note="Same run, temperature predicted by the lumped node; ambient = the rested cell's first reading.",
         time_column="time_s", current_column="current_A", current_sign=-1.0, voltage_column="voltage_V",
         dt_s=0.1, initial_soc=1.0, initial_h=0.0, initial_s=0,
         temperature=dict(mode="thermal", ambient_from_first_row_of="battery_temp_degC",
                          initial_from_first_row_of="battery_temp_degC", cell_temp_column="battery_temp_degC"),
         score=dict(first_row=0)),
    dict(id="a123_s1", model="models/a123_anr26650.toml", profile=A123,
         note=("Dynamic profile s1 at 25 degC. Rows with time_s < 10951 (the first 4050 rows: 1.15 A discharge, "
               "rests and UDDS block 1) were used for the fit and are not scored. The model has one temperature "
               "row, so the voltage does not depend on the thermal mode's temperature."),
         time_column="time_s", current_column="current_ahfit_A", current_sign=1.0, voltage_column="voltage_V",
         dt_s=1.0, initial_soc=1.0, initial_h=1.0, initial_s=-1,
         temperature=dict(mode="thermal", ambient_degc=25.0, initial_degc=25.0), score=dict(first_row=4050)),
]
for c in ("1c", "2c", "3c"):
    for mode in ("measured", "thermal"):
        temp = (dict(mode="measured", column="temp_cell_degC") if mode == "measured" else
                dict(mode="thermal", ambient_column="temp_ambient_degC", initial_from_first_row_of="temp_cell_degC",
                     cell_temp_column="temp_cell_degC"))
        CASES.append(dict(
            id=f"leaf_{c}" + ("" if mode == "measured" else "_thermal"), model="models/nissan_leaf_2013.toml",
            profile=LEAF.format(c),
            note=(f"{c.upper()} constant-current discharge + rest at 25 degC ambient (held out); "
                  + ("measured cell temperature (mean TC1-3) as input." if mode == "measured" else
                     "lumped thermal node from the TC4 ambient; temperature-rise figures against mean TC1-3.")),
            time_column="time_s", current_column="current_A", current_sign=-1.0, voltage_column="voltage_V",
            dt_s=1.0, initial_soc=1.0, initial_h=0.0, initial_s=0, temperature=temp,
            score=dict(first_row=0, mask_column="v_measured")))


def run_case(c):
    u = read_csv(os.path.join(ROOT, c["profile"]))
    m = ecm.Model.load(os.path.join(ROOT, c["model"]))
    i = c["current_sign"] * u[c["current_column"]]
    tp = c["temperature"]
    kw = dict(z0=c["initial_soc"], h0=c["initial_h"], s0=c["initial_s"])
    if tp["mode"] == "measured":
        r = ecm.simulate(m, i, c["dt_s"], temp_degc=u[tp["column"]], **kw)
    else:
        if "ambient_column" in tp:
            amb = u[tp["ambient_column"]]
        elif "ambient_from_first_row_of" in tp:
            amb = float(u[tp["ambient_from_first_row_of"]][0])
        else:
            amb = tp["ambient_degc"]
        t0 = float(u[tp["initial_from_first_row_of"]][0]) if "initial_from_first_row_of" in tp else tp["initial_degc"]
        r = ecm.simulate(m, i, c["dt_s"], ambient_degc=amb, t0_degc=t0, **kw)
    mask = np.zeros(len(i), bool)
    mask[c["score"]["first_row"]:] = True
    if "mask_column" in c["score"]:
        mask &= u[c["score"]["mask_column"]] != 0
    s = ecm.error_stats(r["v"], u[c["voltage_column"]], mask)
    res = dict(rms_mv=s["rms_mv"], p999_mv=s["p999_mv"], mean_mv=s["mean_mv"], rows_scored=s["n"])
    if tp["mode"] == "thermal" and "cell_temp_column" in tp:
        tm = u[tp["cell_temp_column"]]
        rise_m = tm - tm[0]
        rise_p = r["temp_degc"] - tm[0]
        de = rise_p - rise_m
        res.update(rise_error_maxabs_k=float(np.max(np.abs(de))), rise_error_rms_k=float(np.sqrt(np.mean(de ** 2))),
                   rise_peak_measured_k=float(np.max(rise_m)), rise_peak_model_k=float(np.max(rise_p)),
                   rise_final_measured_k=float(rise_m[-1]), rise_final_model_k=float(rise_p[-1]))
    res["table_clamps"] = int(r["clamps"])
    return res


HEADER = '''# packsim validation manifest: held-out replays of the fitted cell models.
# Generated by /usr/bin/python3 tools/fit/validate.py --write (edit CASES there, not here).
#
# One [[case]] per replay. Paths are relative to the repository root.
#   model, profile          parameter file and profile CSV (comment lines start with '#'; first
#                           non-comment line = column names)
#   time_column             informative only: every profile row is one tick of dt_s (uniform grid);
#                           row n's current flows during the tick that ends at row n (backward
#                           zero-order hold) and row n's voltage is compared with the end-of-tick
#                           model voltage. Profiles with irregular logging were resampled when copied
#                           (see the profile's header comment: charge-conserving current average,
#                           linear interpolation of voltage/temperature).
#   current_column, current_sign   current = current_sign * column, then positive = discharge
#   voltage_column          measured terminal voltage [V]
#   dt_s                    the tick [s] (a_j = exp(-dt/tau_j) at the table grid points)
#   initial_soc, initial_h, initial_s   state before the first tick (z, hysteresis h, sign memory s);
#                           RC voltages start at 0 (every profile starts from a rest)
#   temperature.mode = "measured": temperature.column is the cell temperature [degC] used for the
#                           tick's look-ups (row n's value for tick n)
#   temperature.mode = "thermal": lumped node of the model's [thermal] section, backward Euler;
#                           ambient = ambient_column (row n's value for tick n) or ambient_degc or the
#                           first row of ambient_from_first_row_of; initial cell temperature =
#                           initial_degc or the first row of initial_from_first_row_of;
#                           cell_temp_column (if given) = measured cell temperature for the rise figures
#   score.first_row         0-based first data row that is scored (earlier rows are simulated only)
#   score.mask_column       if given, only rows where this column is non-zero are scored
#   [case.python]           figures of the Python reference replay (tools/fit/ecm.py) on the scored rows:
#     rms_mv                root mean square of (model - measured) voltage
#     p999_mv               99.9th percentile of |model - measured|, numpy.percentile default
#                           (linear interpolation between order statistics, Hyndman-Fan type 7)
#     mean_mv               mean of (model - measured)
#     rows_scored           number of scored rows
#     rise_*_k              thermal cases: temperature rise = T - T(first row of cell_temp_column);
#                           error = model rise - measured rise over ALL rows: max |error|, rms error;
#                           peak and final rise, measured and model
#     table_clamps          informational: look-ups ecm.py clamped (it counts the voltage, heat and
#                           dynamic look-ups of a tick separately; a single-point temperature axis counts
#                           every look-up at another temperature). Not a pass/fail figure.
#   [case.bound]            what packsim promises: `packsim validate` (the C++ replay) must stay at or
#                           under these (rms_mv, p999_mv, rise_rms_k); the README reports the figures
# Maximum errors are not reported: single current and voltage samples are out of step in these logs.
'''


def _val(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace('"', '\\"') + '"'
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(round(v, 4))
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_val(x)}" for k, x in v.items()) + " }"
    raise TypeError(v)


# What packsim promises per case: the C++ replay (`packsim validate`) must stay at or under these,
# which are the figures reported in the README rounded up to the next 0.5 mV (0.05 K). A test holds
# them (tests/unit/config/test_validation.cpp).
BOUNDS = {
    "panasonic_us06": {"rms_mv": 23.5, "p999_mv": 135.0},
    "panasonic_us06_thermal": {"rms_mv": 21.5, "rise_rms_k": 0.7},
    "a123_s1": {"rms_mv": 47.0, "p999_mv": 365.5},
    "leaf_1c": {"rms_mv": 12.0},
    "leaf_1c_thermal": {"rms_mv": 14.0, "rise_rms_k": 0.7},
    "leaf_2c": {"rms_mv": 23.5},
    "leaf_2c_thermal": {"rms_mv": 17.5, "rise_rms_k": 0.8},
    "leaf_3c": {"rms_mv": 114.5},
    "leaf_3c_thermal": {"rms_mv": 101.0, "rise_rms_k": 1.4},
}


def write_manifest(results):
    L = [HEADER.rstrip(), "", "schema = 1", ""]
    for c, r in zip(CASES, results):
        L.append("[[case]]")
        for k in ("id", "note", "model", "profile", "time_column", "current_column", "current_sign",
                  "voltage_column", "dt_s", "initial_soc", "initial_h", "initial_s", "temperature", "score"):
            L.append(f"{k} = {_val(c[k])}")
        L.append("[case.python]")
        for k, v in r.items():
            L.append(f"{k} = {_val(v)}")
        if c["id"] in BOUNDS:
            L.append("[case.bound]")
            for k, v in BOUNDS[c["id"]].items():
                L.append(f"{k} = {_val(v)}")
        L.append("")
    txt = "\n".join(L)
    tomllib.loads(txt)
    with open(MANIFEST, "w") as f:
        f.write(txt)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write", action="store_true")
    a = ap.parse_args()
    results = []
    for c in CASES:
        r = run_case(c)
        results.append(r)
        extra = ""
        if "rise_error_maxabs_k" in r:
            extra = (f"  rise err max {r['rise_error_maxabs_k']:.2f} K rms {r['rise_error_rms_k']:.2f} K, "
                     f"final {r['rise_final_measured_k']:.2f}/{r['rise_final_model_k']:.2f} K, "
                     f"peak {r['rise_peak_measured_k']:.2f}/{r['rise_peak_model_k']:.2f} K (meas/model)")
        print(f"{c['id']:24s} rms {r['rms_mv']:7.2f} mV  p99.9 {r['p999_mv']:7.2f} mV  mean {r['mean_mv']:7.2f} mV  "
              f"n {r['rows_scored']}{extra}", flush=True)
    if a.write:
        write_manifest(results)
        print("wrote", os.path.relpath(MANIFEST, ROOT))
        return
    if os.path.exists(MANIFEST):
        with open(MANIFEST, "rb") as f:
            man = tomllib.load(f)
        bad = 0
        for c, r in zip(man["case"], results):
            for k in ("rms_mv", "p999_mv"):
                if abs(c["python"][k] - r[k]) > 1e-3:
                    print(f"MISMATCH {c['id']} {k}: manifest {c['python'][k]} replay {r[k]:.4f}")
                    bad += 1
        print("manifest figures reproduced" if not bad else f"{bad} mismatches")


if __name__ == "__main__":
    main()
