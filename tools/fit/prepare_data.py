#!/usr/bin/env python3
"""One-time copy of the measured data the fitters and the validation need, from the shared
reference folder into data/measured/ (trimmed columns, documented decimation/resampling).

    /usr/bin/python3 tools/fit/prepare_data.py --shared /work/shared/data [panasonic a123 leaf]

The fitters never read the shared folder; they only read data/measured/.  Re-running this script
reproduces the copies byte for byte (deterministic)."""
from __future__ import annotations

import argparse
import csv
import os
import shutil

import numpy as np

from common import DATA, resample_bzoh, write_csv


def _decimate_rests(t, i, min_step: float = 5.0, keep_after: float = 60.0):
    """Keep every sample under current and during the first keep_after seconds after a current
    change; in the rest of a rest keep one sample every >= min_step seconds plus the last sample
    before the next change or gap.  Rest current is exactly zero in these files, so the
    backward-zero-order-hold charge is unchanged."""
    n = len(t)
    keep = np.zeros(n, bool)
    change = np.r_[True, np.abs(np.diff(i)) > 1e-6]
    last_change = -1e18
    last_kept = -1e18
    for k in range(n):
        if change[k]:
            last_change = t[k - 1] if k > 0 else t[k]
        nxt_change = k + 1 < n and (abs(i[k + 1] - i[k]) > 1e-6 or t[k + 1] - t[k] > 10.0)
        if (abs(i[k]) > 0.0 or t[k] - last_change <= keep_after or nxt_change or k in (0, n - 1)
                or t[k] - last_kept >= min_step - 1e-6):
            keep[k] = True
            last_kept = t[k]
    return keep


def panasonic(shared: str):
    src = os.path.join(shared, "panasonic_ncr18650pf")
    dst = os.path.join(DATA, "panasonic_ncr18650pf")
    os.makedirs(dst, exist_ok=True)
    rd = lambda f: np.genfromtxt(os.path.join(src, f), delimiter=",", names=True)

    # HPPC pulses (drop exact duplicate timestamps, decimate long rests to 5 s)
    h = rd("25degC_5Pulse_HPPC_Pan18650PF.csv")
    ok = np.r_[True, np.diff(h["time_s"]) > 1e-6]
    h = h[ok]
    keep = _decimate_rests(h["time_s"], h["current_A"], min_step=10.0)
    h = h[keep]
    cols = {k: h[k] for k in ("time_s", "voltage_V", "current_A", "Ah", "battery_temp_degC")}
    write_csv(os.path.join(dst, "hppc_pulses_25degC.csv"), cols,
              dict(time_s="%.3f", voltage_V="%.5f", current_A="%.5f", Ah="%.5f", battery_temp_degC="%.3f"),
              ["Kollmeyer 2018 Panasonic NCR18650PF, 25degC 5-pulse HPPC (pulses only), CC BY 4.0, see SOURCE.txt",
               "sign: current negative = discharge; duplicate timestamps dropped; rests decimated to >=10 s",
               "after the first 60 s (every sample under current kept)"])

    # inter-pulse discharges: only the part that belongs to this HPPC run (time < 100000 s)
    p = rd("25degC_HPPC_dis5_10p_between_pulses.csv")
    p = p[p["time_s"] < 100000.0]
    cols = {k: p[k] for k in ("time_s", "voltage_V", "current_A", "Ah", "battery_temp_degC")}
    write_csv(os.path.join(dst, "hppc_between_pulses_25degC.csv"), cols,
              dict(time_s="%.3f", voltage_V="%.5f", current_A="%.5f", Ah="%.5f", battery_temp_degC="%.3f"),
              ["Kollmeyer 2018, 25degC HPPC: the 0.3C discharges between pulse sets and their rests (60/300 s",
               "sampling), rows of the HPPC run only (upstream file time < 100000 s; the later rows belong to",
               "another test). Own clock: add 4980.17 s to align with hppc_pulses_25degC.csv (see fit_panasonic.py)."])

    c = rd("25degC_C20_OCV_Test.csv")
    cols = {k: c[k] for k in ("time_s", "voltage_V", "current_A", "Ah", "battery_temp_degC")}
    write_csv(os.path.join(dst, "c20_ocv_25degC.csv"), cols,
              dict(time_s="%.3f", voltage_V="%.5f", current_A="%.5f", Ah="%.5f", battery_temp_degC="%.3f"),
              ["Kollmeyer 2018, 25degC C/20 discharge then C/20 charge (60 s sampling). The current reads about",
               "6 mA high in magnitude (see docs/model-fits.md); the fitter maps it onto the HPPC Ah scale."])

    # US06 held out: uniform 0.1 s grid, charge-conserving
    u = rd("25degC_US06_Pan18650PF.csv")
    tg, ig, vg, tb, tc = resample_bzoh(u["time_s"], u["current_A"], 0.1,
                                       cols=(u["voltage_V"], u["battery_temp_degC"], u["chamber_temp_degC"]),
                                       t_start=0.0)
    write_csv(os.path.join(dst, "us06_25degC_0p1s.csv"),
              dict(time_s=tg, current_A=ig, voltage_V=vg, battery_temp_degC=tb, chamber_temp_degC=tc),
              dict(time_s="%.1f", current_A="%.5f", voltage_V="%.5f", battery_temp_degC="%.3f",
                   chamber_temp_degC="%.2f"),
              ["Kollmeyer 2018, 25degC US06 (HELD OUT: never used for fitting), CC BY 4.0, see SOURCE.txt",
               "resampled to a uniform 0.1 s grid: row n = tick (t-0.1, t]; current = charge-conserving average",
               "of the backward-zero-order-hold source current; voltage and temperatures linearly interpolated",
               "at t. sign: current negative = discharge (current_sign = -1)."])
    for f in ("README_upstream.txt", "CITATION_upstream.cff"):
        shutil.copyfile(os.path.join(src, f), os.path.join(dst, f))


def a123(shared: str):
    src = os.path.join(shared, "a123_anr26650_lfp")
    dst = os.path.join(DATA, "a123_anr26650_lfp")
    os.makedirs(dst, exist_ok=True)
    # OCV tests (Arbin export): keep time, step, current, voltage and the Ah counters
    for n in (1, 2, 3, 4):
        with open(os.path.join(src, "ocv_data", f"A123_OCV_P25_S{n}.csv")) as f:
            rows = list(csv.reader(f))
        hdr = rows[0]
        col = {k: hdr.index(k) for k in ("Test_Time(s)", "Step_Index", "Current(A)", "Voltage(V)",
                                         "Charge_Capacity(Ah)", "Discharge_Capacity(Ah)")}
        a = np.array([[float(r[col[k]]) for k in col] for r in rows[1:]])
        # keep: every row of the rest (step 1), every 3rd row of the C/30 step (~30 s), every 10th row
        # of the dither steps, and the first/last row of every step (the Ah counters are cumulative)
        st = a[:, 1]
        first_last = np.r_[True, st[1:] != st[:-1]] | np.r_[st[1:] != st[:-1], True]
        k = np.arange(len(st))
        keep = first_last | (st == 1) | ((st == 2) & (k % 3 == 0)) | ((st > 2) & (k % 10 == 0))
        a = a[keep]
        write_csv(os.path.join(dst, f"ocv_S{n}_25degC.csv"),
                  dict(time_s=a[:, 0], step=a[:, 1], current_A=a[:, 2], voltage_V=a[:, 3],
                       chg_Ah=a[:, 4], dis_Ah=a[:, 5]),
                  dict(time_s="%.3f", step="%d", current_A="%.6f", voltage_V="%.6f", chg_Ah="%.6f",
                       dis_Ah="%.6f"),
                  [f"Plett ESCtoolbox A123 OCV test script {n} at 25 degC (Arbin export, columns trimmed), MIT via",
                   "batterysim/esctoolbox-python, see SOURCE.txt. sign: current NEGATIVE = discharge (Arbin).",
                   "Decimated: rest rows all, C/30 step every 3rd row (~30 s), dither steps every 10th row, first and",
                   "last row of every step kept (cumulative Ah counters unchanged)."])
    for s in (1, 3):     # s2 (discharge to 2.0 V + dither) is not used by the fitter
        d = np.genfromtxt(os.path.join(src, "dyn_data", f"A123_DYN_50_P25_s{s}.csv"), delimiter=",", names=True)
        if s == 3:   # keep the CC charge and CV steps whole, the dither every 10th row + step ends
            st = d["step"]
            fl = np.r_[True, st[1:] != st[:-1]] | np.r_[st[1:] != st[:-1], True]
            d = d[fl | (st <= 12) | (np.arange(len(st)) % 10 == 0)]
        cols = dict(time_s=d["time"], step=d["step"], current_A=d["current"], voltage_V=d["voltage"],
                    chg_Ah=d["chgAh"], dis_Ah=d["disAh"])
        fmt = dict(time_s="%.4f", step="%d", current_A="%.4f", voltage_V="%.4f", chg_Ah="%.4f", dis_Ah="%.4f")
        com = [f"Plett ESCtoolbox A123 dynamic test script {s} (DYN_50_P25), 1 s sampling, MIT via",
               "batterysim/esctoolbox-python, see SOURCE.txt. sign: current POSITIVE = discharge."]
        if s == 3:
            com.append("Steps 11-12 (0.77 A charge, CV) whole; dither steps every 10th row and step ends (Ah counters unchanged).")
        if s == 1:
            # the 1 s current log integrates to less charge than the cycler's own Ah counters; the
            # validation copy carries a second current column scaled per direction to the counters
            i = d["current"]
            dt = np.r_[1.0, np.diff(d["time"])]
            kd = d["disAh"][-1] / (np.sum(np.clip(i, 0, None) * dt) / 3600.0)
            kc = d["chgAh"][-1] / (np.sum(np.clip(-i, 0, None) * dt) / 3600.0)
            cols["current_ahfit_A"] = np.where(i > 0, i * kd, i * kc)
            fmt["current_ahfit_A"] = "%.5f"
            com += ["HELD OUT: never used for fitting beyond t < 10951 s (see docs/model-fits.md); the validation profile.",
                    f"current_ahfit_A = current_A x {kd:.5f} on discharge, x {kc:.5f} on charge, so that its",
                    "backward-zero-order-hold integral equals the cycler's dis_Ah/chg_Ah counters over the run",
                    "(the 1 s log integrates to 0.54 % less discharge and 0.15 % less charge than the counters)."]
        write_csv(os.path.join(dst, f"dyn_s{s}_25degC.csv"), cols, fmt, com)
    shutil.copyfile(os.path.join(src, "A123_derived_OCV_25degC.csv"), os.path.join(dst, "derived_ocv_25degC.csv"))
    shutil.copyfile(os.path.join(src, "LICENSE"), os.path.join(dst, "LICENSE"))


def _bitrode(path):
    with open(path) as f:
        rows = list(csv.reader(f))[1:]
    g = lambda j: np.array([float(r[j]) for r in rows])
    return dict(t=g(1), step=g(6), i=g(8), v=g(9))


# validation windows of the constant-current discharge tests: (first discharge row time, end of window)
LEAF_CASES = {"1c": (10086.0, 15454.0), "2c": (11847.5, 15410.0), "3c": (1.0, 3948.0)}


def leaf(shared: str):
    src = os.path.join(shared, "nissan_leaf_2013_pouch")
    dst = os.path.join(DATA, "nissan_leaf_2013_pouch")
    os.makedirs(dst, exist_ok=True)
    com = ["ORNL tests of a 2013 Nissan Leaf cell, via github.com/batterysim/equiv-circ-model (MIT), see SOURCE.txt.",
           "Bitrode export, columns trimmed. sign: current POSITIVE = CHARGE (current_sign = -1)."]
    for T, f in ((10, "cell-low-current-hppc-10c.csv"), (25, "cell-low-current-hppc-25c-2.csv"),
                 (40, "cell-low-current-hppc-40c-1.csv")):
        d = _bitrode(os.path.join(src, f))
        write_csv(os.path.join(dst, f"hppc_{T}degC.csv"), dict(time_s=d["t"], step=d["step"], current_A=d["i"], voltage_V=d["v"]),
                  dict(time_s="%.1f", step="%d", current_A="%.2f", voltage_V="%.3f"),
                  [f"HPPC ('low current') at {T} degC ambient ({f})."] + com)
    for c in ("1c", "2c", "3c"):
        d = _bitrode(os.path.join(src, f"cell-discharge-bitrode-{c}.csv"))
        write_csv(os.path.join(dst, f"discharge_{c}.csv"), dict(time_s=d["t"], step=d["step"], current_A=d["i"], voltage_V=d["v"]),
                  dict(time_s="%.1f", step="%d", current_A="%.2f", voltage_V="%.3f"),
                  [f"{c.upper()} constant-current discharge / 15.3 A charge cycles at 25 degC ambient (cell-discharge-bitrode-{c}.csv)."] + com)
        a = np.loadtxt(os.path.join(src, f"cell-discharge-temperature-{c}.lvm"))
        tl = np.arange(len(a)) * 3.0
        # thermal-fit copy (1C/2C only, from the third discharge on): every second 3 s sample (6 s)
        sel = (np.arange(len(a)) % 2 == 0) & (tl >= {"1c": 37000.0, "2c": 35000.0, "3c": np.inf}[c])
        if sel.any():
            write_csv(os.path.join(dst, f"temperature_{c}_6s.csv"),
                      dict(time_s=tl[sel], tc1_degC=a[sel, 0], tc2_degC=a[sel, 1], tc3_degC=a[sel, 2], tc4_degC=a[sel, 3]),
                      dict(time_s="%.0f", tc1_degC="%.2f", tc2_degC="%.2f", tc3_degC="%.2f", tc4_degC="%.2f"),
                      [f"cell-discharge-temperature-{c}.lvm (LabVIEW, 3 s sampling, no time stamps): rows from the third",
                       "discharge on (the thermal-fit cycles), every second sample kept.",
                       "time_s = 3 s x row index, which lines the log up with discharge_" + c + ".csv (both start at the",
                       "test start; checked on the temperature rise at the discharge steps). TC1-TC3 on the cell, TC4 ~ ambient.",
                       "ORNL via github.com/batterysim/equiv-circ-model (MIT), see SOURCE.txt."])
        # validation profile: 1 s uniform grid over one discharge + rest
        t0, t1 = LEAF_CASES[c]
        k0 = int(np.searchsorted(d["t"], t0 - 1e-6))
        tstart = d["t"][k0 - 1] if k0 > 0 else d["t"][k0] - 1.0
        m = (d["t"] >= tstart - 1e-9) & (d["t"] <= t1 + 1e-9)
        tt, ii, vv = d["t"][m], d["i"][m], d["v"][m]
        if k0 == 0:   # discharge already running at the first row (3C): its tick starts 1 s earlier
            tt, ii, vv = np.r_[tstart, tt], np.r_[0.0, ii], np.r_[vv[0], vv]
        tavg = a[:, :3].mean(axis=1)
        tg, ig, vg, Tc, Ta = resample_bzoh(tt, ii, 1.0, cols=(vv, np.interp(tt, tl, tavg), np.interp(tt, tl, a[:, 3])),
                                           t_start=tstart, t_end=min(t1, tl[-1]))
        Tc = np.interp(tg, tl, tavg)
        Ta = np.interp(tg, tl, a[:, 3])
        meas = np.zeros(len(tg), int)
        vout = vg.copy()
        for tk, vk in zip(tt[1:], vv[1:]):     # snap every logged voltage to the nearest 1 s row
            j = int(round(tk - tstart)) - 1
            if 0 <= j < len(tg) and abs(tg[j] - tk) <= 0.5:
                meas[j] = 1
                vout[j] = vk
        write_csv(os.path.join(dst, f"validation_{c}_1s.csv"),
                  dict(time_s=tg - tstart, current_A=ig, voltage_V=vout, v_measured=meas, temp_cell_degC=Tc,
                       temp_ambient_degC=Ta),
                  dict(time_s="%.0f", current_A="%.2f", voltage_V="%.4f", v_measured="%d", temp_cell_degC="%.3f",
                       temp_ambient_degC="%.3f"),
                  [f"HELD OUT: {c.upper()} discharge + rest from discharge_{c}.csv (source time {tstart:.1f}-{min(t1, tl[-1]):.0f} s),",
                   "uniform 1 s grid: row n = tick (t-1, t]; current = charge-conserving average of the backward-",
                   "zero-order-hold source current (sign: positive = charge, current_sign = -1). voltage_V: the",
                   "logged value snapped to its nearest row where v_measured = 1 (logged every 1 s for the first",
                   "60 s of a step, then every 60 s), linear interpolation elsewhere (not scored).",
                   "temp_cell_degC = mean of TC1-TC3, temp_ambient_degC = TC4, linearly interpolated from the 3 s log.",
                   "ORNL via github.com/batterysim/equiv-circ-model (MIT), see SOURCE.txt."])
    for f in ("LICENSE", "README_upstream.md"):
        shutil.copyfile(os.path.join(src, f), os.path.join(dst, f))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", required=True, help="the shared reference data folder")
    ap.add_argument("which", nargs="*", default=["panasonic", "a123", "leaf"])
    a = ap.parse_args()
    for w in a.which:
        globals()[w](a.shared)
        print("copied", w)


if __name__ == "__main__":
    main()
