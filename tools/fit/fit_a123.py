#!/usr/bin/env python3
"""Fit the A123 ANR26650 LFP cell model (models/a123_anr26650.toml), with Plett ESC hysteresis.

Data (25 degC, copied under data/measured/a123_anr26650_lfp/, from Plett's ESC toolbox):
  * OCV test scripts S1-S4: C/30 discharge (S1) and charge (S3) between the 2.0 V / 3.6 V dither
    end points (S2, S4) -> capacity Q, coulombic efficiency, OCV(z) and the branch gap;
  * dynamic scripts s2 (0.77 A discharge to 2.0 V + dither) and s3 (0.77 A charge 0 -> 3.6 V, CV, dither);
  * dynamic script s1 (UDDS-like blocks) is HELD OUT -- the validation profile.

Method (docs/model-fits.md):
  1. Q and eta by Plett's charge accounting over S1-S4; z scales of the two C/30 branches as in
     Plett's processOCV; OCV(z) = mean of the C/30 charge and discharge branches (the hysteresis-free
     centre); near the ends the branch that reaches the end, offset by the median half-gap;
  2. the model capacity is the charge s3 puts in from the 2.0 V-pinned empty state to the 3.6 V
     CV end (the dynamic-test session; 0.9 % below the OCV-test capacity);
  3. steady hysteresis M - M0 = median C/30 half-gap minus the C/30 IR share (imposed);
     steady-state resistance shape R_ss(z) from s3 (0.77 A) against S3 (C/30) at equal z;
  4. R0, two RC pairs, gamma and the M0/M split by output-error least squares of the ESC equations
     (linear in R0, R_j, M0 for fixed tau_j, gamma; those by Nelder-Mead) on the s3 constant-current
     charge and on s1 up to the end of the rest after its first UDDS block (t < 10951 s, 11 % of
     s1).  The records without s1 cannot identify the dynamic split or gamma (see `compare`), so
     this part of s1 is used; s1 is scored only from t = 10951 s on.

    /usr/bin/python3 tools/fit/fit_a123.py fit        # writes models/a123_anr26650.toml
    /usr/bin/python3 tools/fit/fit_a123.py validate   # replays s1 with the contract model
    /usr/bin/python3 tools/fit/fit_a123.py compare    # what a fit without any s1 data gives
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
from scipy.optimize import lsq_linear, minimize

sys.path.insert(0, os.path.dirname(__file__))
import ecm  # noqa: E402
from common import DATA, MODELS, rc_unit, read_csv, rel  # noqa: E402

D = os.path.join(DATA, "a123_anr26650_lfp")
OUT = os.path.join(MODELS, "a123_anr26650.toml")
ZGRID = np.round(np.linspace(0.0, 1.0, 201), 6)     # OCV grid, 0.5 %
DGRID = np.round(np.linspace(0.0, 1.0, 21), 6)      # dynamic grid, 5 %
S1_SCORE_FROM = 10951.0      # s1 time where block 2 starts (block 1 + its rest end at 10950 s)


# ------------------------------------------------------------------------------------------------
# OCV tests
# ------------------------------------------------------------------------------------------------
def ocv_tests():
    S = [read_csv(os.path.join(D, f"ocv_S{n}_25degC.csv")) for n in (1, 2, 3, 4)]
    tot_dis = sum(s["dis_Ah"][-1] for s in S)
    tot_chg = sum(s["chg_Ah"][-1] for s in S)
    eta = tot_dis / tot_chg
    Q = S[0]["dis_Ah"][-1] + S[1]["dis_Ah"][-1] - eta * S[0]["chg_Ah"][-1] - eta * S[1]["chg_Ah"][-1]
    iD = np.where(S[0]["step"] == 2)[0]
    iC = np.where(S[2]["step"] == 2)[0]
    zd = 1.0 - S[0]["dis_Ah"][iD] / Q
    zd = zd + (1.0 - zd[0])
    zc = S[2]["chg_Ah"][iC] * eta / Q
    zc = zc - zc[0]
    vd, vc = S[0]["voltage_V"][iD], S[2]["voltage_V"][iC]
    vdz = np.interp(ZGRID, zd[::-1], vd[::-1], left=np.nan, right=np.nan)
    vcz = np.interp(ZGRID, zc, vc, left=np.nan, right=np.nan)
    ocv_mid = 0.5 * (vdz + vcz)
    half = 0.5 * (vcz - vdz)
    H = float(np.nanmedian(half[(ZGRID >= 0.2) & (ZGRID <= 0.9)]))
    # near the ends the two branches are misaligned on the steep OCV and one of them stops: use the
    # branch that reaches the end (discharge at the top, charge at the bottom) offset by the median
    # mid-SOC half-gap H, blended linearly into the branch mean over 0.05-0.10 and 0.90-0.95
    top = np.where(np.isfinite(vdz), vdz + H, np.nan)
    bot = np.where(np.isfinite(vcz), vcz - H, np.nan)
    wt = np.clip((ZGRID - 0.90) / 0.05, 0.0, 1.0)
    wb = np.clip((0.10 - ZGRID) / 0.05, 0.0, 1.0)
    ocv = ocv_mid.copy()
    ocv = np.where(wt > 0, (1 - wt) * np.nan_to_num(ocv_mid, nan=0.0) + wt * top, ocv)
    ocv = np.where(wb > 0, (1 - wb) * np.nan_to_num(ocv_mid, nan=0.0) + wb * bot, ocv)
    # S1's discharge stops at z = 0.006 (2.0 V) and S3's charge at z = 0.99 (3.6 V): extend flat
    good = np.isfinite(ocv)
    ocv = np.interp(ZGRID, ZGRID[good], ocv[good])
    s3 = read_csv(os.path.join(D, "dyn_s3_25degC.csv"))
    qdyn = eta * s3["chg_Ah"][-1] - s3["dis_Ah"][-1]   # s3: full charge from the 2.0 V-pinned empty state
    return dict(S=S, Q=Q, Qdyn=qdyn, eta=eta, ocv=ocv, half=half, H=H, zd=zd, vd=vd, zc=zc, vc=vc,
                i_c30=float(np.mean(np.abs(S[0]["current_A"][iD]))))


def rss_profile(O):
    """Steady-state charge resistance: s3 at 0.77 A minus S3 at C/30, at equal z."""
    s3 = read_csv(os.path.join(D, "dyn_s3_25degC.csv"))
    m = s3["step"] == 11
    z3 = O["eta"] * s3["chg_Ah"][m] / O["Q"]
    i3 = float(np.mean(-s3["current_A"][m]))
    zz = np.arange(0.10, 0.801, 0.05)
    r = (np.interp(zz, z3, s3["voltage_V"][m]) - np.interp(zz, O["zc"], O["vc"])) / (i3 - O["i_c30"])
    return zz, r


# ------------------------------------------------------------------------------------------------
# fast ESC simulation with constant dynamic parameters (for the fit only; validation uses ecm.py)
# ------------------------------------------------------------------------------------------------
class Record:
    """One experiment: current (discharge +), voltage, irregular time, its initial state, and which
    samples enter the fit."""

    def __init__(self, name, t, i, v, z0, h0, s0, fitmask, Q=None):
        self.name, self.t, self.i, self.v, self.Q = name, t, i, v, Q
        self.dt = np.r_[t[1] - t[0] if len(t) > 1 else 1.0, np.diff(t)]
        self.z0, self.h0, self.s0 = z0, h0, s0
        self.mask = fitmask

    def states(self, Q, eta):
        Q = self.Q if self.Q is not None else Q
        self.Qs = Q
        i = self.i
        e = np.where(i >= 0, 1.0, eta)
        z = self.z0 - np.cumsum(e * i * self.dt) / (Q * 3600.0)
        sg = np.sign(i)
        s = sg.copy()
        last = self.s0
        nz = sg != 0
        idx = np.where(nz, np.arange(len(i)), -1)
        idx = np.maximum.accumulate(idx)
        s = np.where(idx >= 0, sg[np.maximum(idx, 0)], last)
        self.z, self.s, self.e = z, s, e
        return z


def columns(rec, Q, taus, gamma, ocv_grid, rscale, hss=None):
    """Design columns: v - OCV(z) = -R0 i f(z) - sum R_j x_j + M0 s + M h (f = R_ss shape).
    With hss given, M = hss + M0 is imposed: v - OCV - hss h = ... + M0 (s + h)."""
    z = rec.z
    f = rscale(z)
    u = rec.i * f
    h = rc_unit(np.abs(rec.e * rec.i) * rec.dt * gamma / (rec.Qs * 3600.0), -np.sign(rec.i), 1.0, rec.h0)
    y = rec.v - np.interp(z, ZGRID, ocv_grid)
    if hss is None:
        cols = [-u] + [-rc_unit(rec.dt, u, tau) for tau in taus] + [rec.s, h]
    else:
        cols = [-u] + [-rc_unit(rec.dt, u, tau) for tau in taus] + [rec.s + h]
        y = y - hss * h
    return np.array(cols).T, y


def fit_dyn(records, O, rscale, init=(3.0, 60.0, 40.0), verbose=True, hss=None):
    Q, eta = O["Qdyn"], O["eta"]
    for r in records:
        r.states(Q, eta)
    n_rc = len(init) - 1
    if hss is None:
        lb = np.r_[np.zeros(1 + n_rc), -0.05, 0.0]
        ub = np.r_[np.full(1 + n_rc, 1.0), 0.0, 0.1]       # M0 <= 0 (dissipative), M >= 0
    else:
        lb = np.r_[np.zeros(1 + n_rc), -hss]
        ub = np.r_[np.full(1 + n_rc, 1.0), 0.0]

    def solve(p):
        taus, gamma = np.exp(p[:n_rc]), np.exp(p[n_rc])
        A, Y, W = [], [], []
        for r in records:
            a, y = columns(r, Q, taus, gamma, O["ocv"], rscale, hss)
            A.append(a[r.mask]); Y.append(y[r.mask])
            W.append(np.full(r.mask.sum(), 1.0 / np.sqrt(r.mask.sum())))  # each record weighs the same
        A, Y, W = np.vstack(A), np.concatenate(Y), np.concatenate(W)
        sol = lsq_linear(A * W[:, None], Y * W, bounds=(lb, ub), method="bvls")
        return sol.x, float(np.sum((W * (A @ sol.x - Y)) ** 2))

    def obj(p):
        if np.any(np.diff(p[:n_rc]) < 0.3) or p[0] < np.log(0.3) or p[n_rc - 1] > np.log(1000.0) or p[n_rc] > np.log(2000.0):
            return 1e9
        return solve(p)[1]
    best = None
    for g0 in (init[-1], 150.0):
        p0 = np.r_[np.log(init[:n_rc]), np.log(g0)]
        res = minimize(obj, p0, method="Nelder-Mead", options=dict(xatol=2e-3, fatol=1e-14, maxiter=600))
        if best is None or res.fun < best.fun:
            best = res
    x, _ = solve(best.x)
    M0 = x[1 + n_rc]
    M = x[2 + n_rc] if hss is None else hss + M0
    par = dict(taus=np.exp(best.x[:n_rc]), gamma=float(np.exp(best.x[n_rc])), R0=x[0], R=x[1:1 + n_rc],
               M0=M0, M=M)
    if verbose:
        for r in records:
            a, y = columns(r, Q, par["taus"], par["gamma"], O["ocv"], rscale, hss)
            e = a @ x - y
            print(f"    {r.name:28s} rms {np.sqrt(np.mean(e[r.mask] ** 2)) * 1e3:6.2f} mV over {r.mask.sum()} samples")
    return par


def records_no_s1(O):
    """S1 and S3 (C/30) and the s3 0.77 A charge, each restricted to z in [0.05, 0.95]: they pin the
    steady hysteresis gap M - M0 and the steady resistance, but hardly the dynamic split."""
    Q, eta = O["Q"], O["eta"]
    S1, S2, S3, S4 = O["S"]
    recs = []
    Qd = O["Qdyn"]
    for nm, S, z0, h0, s0 in (("OCV S1 (C/30 discharge)", S1, 1.0, 1.0, -1),
                              ("OCV S3 (C/30 charge)", S3, 0.0, -1.0, 1)):
        m = S["step"] <= 2
        r = Record(nm, S["time_s"][m], -S["current_A"][m], S["voltage_V"][m], z0, h0, s0, None, Q=Q)
        z = r.states(Q, eta)
        r.mask = (z > 0.05) & (z < 0.95)
        recs.append(r)
    s3 = read_csv(os.path.join(D, "dyn_s3_25degC.csv"))
    m = s3["step"] == 11
    r = Record("dyn s3 (0.77 A charge)", s3["time_s"][m], s3["current_A"][m], s3["voltage_V"][m],
               0.0, -1.0, 1, None, Q=Qd)
    z = r.states(Qd, eta)
    r.mask = (z > 0.05) & (z < 0.95)
    recs.append(r)
    return recs


def s1_record(O):
    s1 = read_csv(os.path.join(D, "dyn_s1_25degC.csv"))
    return s1


def records_s1_block1(O):
    """Alternative (not shipped): s1 up to the end of the rest after UDDS block 1."""
    s1 = s1_record(O)
    m = s1["time_s"] < S1_SCORE_FROM
    r = Record("dyn s1 block 1", s1["time_s"][m], s1["current_A"][m], s1["voltage_V"][m], 1.0, 1.0, -1, None)
    r.Q = O["Qdyn"]
    z = r.states(O["Qdyn"], O["eta"])
    r.mask = z < 0.95
    return [r]


# ------------------------------------------------------------------------------------------------
# model file and validation
# ------------------------------------------------------------------------------------------------
MASS = 0.076          # kg (A123 ANR26650M1: ~76 g)
AREA = np.pi * 0.026 * 0.065 + 2 * np.pi * 0.013 ** 2   # 26650 can incl. ends
# Perez et al., IEEE TVT 66(9) 2017, Table 1 (A123 26650, two-state model, via batterysim/equiv-circ-model
# and the shared thermal table): Cc = 62.7 J/K, Cs = 4.5 J/K, Ru = 3.08 K/W (surface to air).
# Lumped node: C = Cc + Cs, hA = 1/Ru.
CP = (62.7 + 4.5) / MASS
H_CONV = 1.0 / (3.08 * AREA)


def write(O, par, rscale, path, note):
    f = rscale(DGRID)[None, :]
    r0 = par["R0"] * f
    rc = [dict(r_ohm=par["R"][j] * f, tau_s=np.full((1, len(DGRID)), par["taus"][j]))
          for j in range(len(par["taus"]))]
    header = [
        "A123 ANR26650 (LFP/graphite, 26650, ~2.3 Ah nominal; 2.07 Ah on this test's 2.0-3.6 V scale) -- packsim model",
        "Data: G. Plett, ESC toolbox (companion to 'Battery Management Systems', Artech House), A123 cell at",
        "      25 degC, redistributed under the MIT licence by github.com/batterysim/esctoolbox-python",
        "      (copies: data/measured/a123_anr26650_lfp/, LICENSE and SOURCE.txt beside them).",
        "Fitted from the C/30 OCV tests S1-S4, the dynamic script s3 and the first 11 % of the dynamic",
        "profile s1 (t < 10951 s: 1.15 A discharge, rests, UDDS block 1); the rest of s1 is the",
        "validation. Method and error figures: docs/model-fits.md.",
        "Produced by: /usr/bin/python3 tools/fit/fit_a123.py fit",
        "Single temperature (25 degC): no temperature dependence, no entropic coefficient.",
        "OCV = centre of the C/30 charge/discharge branches; M, M0, gamma = Plett ESC hysteresis.",
        note,
        "Thermal: 26650 can (26 x 65 mm, ends included), 76 g; lumped from Perez et al., IEEE TVT 66(9) 2017,",
        "Table 1 (A123 26650): C = Cc + Cs = 67.2 J/K -> cp, hA = 1/Ru = 1/3.08 K/W -> h (their fan-cooled",
        "set-up). Not checked against these data (no cell temperature logged).",
    ]
    cell = dict(name="A123 ANR26650", chemistry="LFP/graphite", format="26650", capacity=f"{O['Qdyn']:.4f} Ah",
                coulombic_efficiency=round(float(O["eta"]), 5), v_min="2.0 V", v_max="3.6 V",
                nominal_voltage="3.3 V",
                source="Plett ESC toolbox A123 data via batterysim/esctoolbox-python (MIT)")
    thermal = {"mass": "76 g", "specific_heat": f"{CP:.0f} J/kg/K", "surface_area": f"{AREA:.5f} m2",
               "h_conv": f"{H_CONV:.1f} W/m2/K"}
    hyst = {"gamma": round(par["gamma"], 3), "m": f"{par['M'] * 1e3:.3f} mV", "m0": f"{par['M0'] * 1e3:.3f} mV"}
    ecm.write_model(path, header=header, cell=cell, thermal=thermal,
                    ocv=dict(soc=ZGRID, temp_degc=[25.0], ocv_v=[O["ocv"]]),
                    dynamic=dict(soc=DGRID, temp_degc=[25.0], r0_discharge_ohm=r0), rc=rc, hysteresis=hyst)


def validate_s1(path, score_from=None, col="current_ahfit_A"):
    s1 = read_csv(os.path.join(D, "dyn_s1_25degC.csv"))
    m = ecm.Model.load(path)
    r = ecm.simulate(m, s1[col], 1.0, z0=1.0, h0=1.0, s0=-1, ambient_degc=25.0)
    mask = np.ones(len(s1["time_s"]), bool) if score_from is None else s1["time_s"] >= score_from
    s = ecm.error_stats(r["v"], s1["voltage_V"], mask)
    s["clamps"] = int(r["clamps"])
    return s, r, s1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cmd", choices=["fit", "validate", "compare"])
    ap.add_argument("--out", default=OUT)
    a = ap.parse_args()
    if a.cmd == "validate":
        for sf in (None, S1_SCORE_FROM):
            s, _, _ = validate_s1(a.out, sf)
            print(("s1 all rows: " if sf is None else "s1 from block 2: ") + json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in s.items()}))
        return
    O = ocv_tests()
    print(f"Q (OCV tests) = {O['Q']:.4f} Ah, Q (s3, the dynamic-test session) = {O['Qdyn']:.4f} Ah, "
          f"eta = {O['eta']:.5f}; C/30 current {O['i_c30'] * 1e3:.1f} mA")
    mid = (ZGRID >= 0.2) & (ZGRID <= 0.9)
    print(f"C/30 half-gap over z 0.2-0.9: median {np.nanmedian(O['half'][mid]) * 1e3:.1f} mV, "
          f"range {np.nanmin(O['half'][mid]) * 1e3:.1f}-{np.nanmax(O['half'][mid]) * 1e3:.1f} mV")
    zz, rss = rss_profile(O)
    print("R_ss(z) charge [mOhm]:", dict(zip(np.round(zz, 2), np.round(rss * 1e3, 1))))
    rs_node = np.interp(DGRID, zz, rss) / np.median(rss)
    rscale = lambda z: np.interp(z, DGRID, rs_node)
    hss = O["H"] - O["i_c30"] * float(np.median(rss))
    print(f"steady hysteresis M - M0 = median half-gap - I_C30 R_ss = {hss * 1e3:.2f} mV (imposed)")
    recs_s1 = records_s1_block1(O)
    if a.cmd == "compare":
        print("fit WITHOUT s1 (S1, S3, s3 only; for comparison, not shipped):")
        par = fit_dyn(records_no_s1(O), O, rscale, hss=hss)
        print(f"  R0 {par['R0'] * 1e3:.2f} mOhm, R {np.round(par['R'] * 1e3, 2)} mOhm, tau {np.round(par['taus'], 2)} s, "
              f"M {par['M'] * 1e3:.2f} mV, M0 {par['M0'] * 1e3:.2f} mV, gamma {par['gamma']:.1f}")
        tmp = "/tmp/a123_no_s1.toml"
        write(O, par, rscale, tmp, "COMPARISON ONLY: fitted without any s1 data")
        for sf in (None, S1_SCORE_FROM):
            s, _, _ = validate_s1(tmp, sf)
            print(("  s1 all rows: " if sf is None else "  s1 from block 2: ") + json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in s.items()}))
        return
    print("fit (s3 constant-current charge + s1 block 1):")
    par = fit_dyn(records_no_s1(O)[2:] + recs_s1, O, rscale, hss=hss)
    print(f"  R0 {par['R0'] * 1e3:.2f} mOhm, R {np.round(par['R'] * 1e3, 2)} mOhm, tau {np.round(par['taus'], 2)} s, "
          f"M {par['M'] * 1e3:.2f} mV, M0 {par['M0'] * 1e3:.2f} mV, gamma {par['gamma']:.1f}")
    write(O, par, rscale, a.out, f"Dynamics/hysteresis: s3 + s1 t < {S1_SCORE_FROM:.0f} s (block 1); s1 scored from there on.")
    print("wrote", rel(a.out))
    der = read_csv(os.path.join(D, "derived_ocv_25degC.csv"))
    k = (ZGRID >= 0.05) & (ZGRID <= 0.95)
    dd = (O["ocv"] - np.interp(ZGRID, der["soc"], der["ocv_V"]))[k]
    print(f"cross-check against the derived OCV (Plett dV50 blend), z 0.05-0.95: max |diff| {np.max(np.abs(dd)) * 1e3:.1f} mV, "
          f"mean {np.mean(dd) * 1e3:+.1f} mV")
    s, r, s1 = validate_s1(a.out, S1_SCORE_FROM)
    e = (r["v"] - s1["voltage_V"]) * 1e3
    sc = s1["time_s"] >= S1_SCORE_FROM
    print("s1 scored rows by model SOC (rms / mean mV):", end="")
    for lo, hi in ((0.7, 0.9), (0.5, 0.7), (0.3, 0.5), (0.15, 0.3), (0.08, 0.15), (0.0, 0.08)):
        q = sc & (r["z"] >= lo) & (r["z"] < hi)
        print(f"  z {lo}-{hi}: {np.sqrt(np.mean(e[q] ** 2)):.1f}/{np.mean(e[q]):+.1f}", end="")
    q = sc & (r["z"] >= 0.1)
    print(f"\n  z >= 0.1: rms {np.sqrt(np.mean(e[q] ** 2)):.1f} mV, p99.9 {np.percentile(np.abs(e[q]), 99.9):.1f} mV, "
          f"mean {np.mean(e[q]):+.1f} mV, rows {q.sum()}")
    for sf, col in ((S1_SCORE_FROM, "current_ahfit_A"), (None, "current_ahfit_A"), (S1_SCORE_FROM, "current_A")):
        s, _, _ = validate_s1(a.out, sf, col)
        print(("s1 (held out part, t >= %.0f s)" % sf if sf else "s1 all rows (incl. the fitted block 1)")
              + f" [{col}]: " + json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in s.items()}))

if __name__ == "__main__":
    main()
