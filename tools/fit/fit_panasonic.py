#!/usr/bin/env python3
"""Fit the Panasonic NCR18650PF cell model (models/panasonic_ncr18650pf.toml).

Data (all 25 degC, copied under data/measured/panasonic_ncr18650pf/):
  * HPPC pulses (0.5/1/2/4/6C, 10 s each, 1200 s rests) at 14 SOC marks, with the cell temperature;
  * the 0.3C discharges between the pulse sets and their rests (separate file, own clock);
  * the C/20 discharge (shape of the OCV curve between the HPPC marks).
US06 is held out and only replayed at the end (`validate`).

Method (details and reasons in docs/model-fits.md):
  1. merge the two HPPC files on one clock; SOC from the tester's Ah counter, z = 1 + Ah/Q;
  2. OCV(z) = C/20 discharge voltage (mapped onto the HPPC Ah scale) + a smooth correction fitted to
     the HPPC rest-end voltages minus the residual relaxation the dynamic model predicts there;
  3. dynamics: R0 + n RC pairs; windows = one pulse set + the following 0.3C discharge + rest;
     time constants shared by all windows (global), resistances per window (non-negative least
     squares), all resistances and time constants scaled by exp(Ea/R (1/T - 1/T_ref)) with the
     measured cell temperature T (constant capacitances); Ea from a profile scan on the HPPC fit;
  4. tables: dynamic SOC grid 0..1 step 0.05, temperature axis 15..45 degC step 5 (Arrhenius).

    /usr/bin/python3 tools/fit/fit_panasonic.py fit        # writes models/panasonic_ncr18650pf.toml
    /usr/bin/python3 tools/fit/fit_panasonic.py scan-ea    # the Ea profile (slow, ~10 min)
    /usr/bin/python3 tools/fit/fit_panasonic.py validate   # US06 replay with the contract model
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
from scipy.optimize import minimize, nnls

sys.path.insert(0, os.path.dirname(__file__))
import ecm  # noqa: E402
from common import (DATA, MODELS, arrhenius, hat_basis, rc_unit, read_csv, rel, segments,  # noqa: E402
                    smooth_fit)

D = os.path.join(DATA, "panasonic_ncr18650pf")
OUT = os.path.join(MODELS, "panasonic_ncr18650pf.toml")
CLOCK_OFFSET = 4980.17     # between_pulses clock + offset = pulses clock (checked in load_hppc)
T_REF = 25.0
NODES = np.linspace(0.0, 1.0, 21)   # OCV-correction nodes
W_SPARSE = 10.0            # weight of 60/300 s samples (0.3C discharges and their rests)

# Final choices (see docs/model-fits.md): 3 RC pairs with global time constants, Ea from the scan.
N_RC = 3
EA = 30000.0               # J/mol, minimum of the HPPC profile scan (scan-ea)
TAU_INIT = (0.15, 8.0, 80.0)


# ------------------------------------------------------------------------------------------------
# data
# ------------------------------------------------------------------------------------------------
def load_hppc():
    h = read_csv(os.path.join(D, "hppc_pulses_25degC.csv"))
    p = read_csv(os.path.join(D, "hppc_between_pulses_25degC.csv"))
    t = np.r_[h["time_s"], p["time_s"] + CLOCK_OFFSET]
    src = np.r_[np.zeros(len(h["time_s"])), np.ones(len(p["time_s"]))]
    o = np.argsort(t, kind="stable")
    cat = lambda k: np.r_[h[k], p[k]][o]
    t, src = t[o], src[o]
    v, cur, ah, temp = cat("voltage_V"), cat("current_A"), cat("Ah"), cat("battery_temp_degC")
    # junction check: at the 13 hand-overs the two logs hold a row for the same instant (same Ah
    # counter and voltage); the clock offset is right only if they coincide
    j = np.where((np.diff(t) < 0.05) & (src[1:] != src[:-1]))[0]
    assert len(j) >= 13, "clock offset no longer aligns the two HPPC files"
    assert np.max(np.abs(ah[j] - ah[j + 1])) < 1e-4 and np.max(np.abs(v[j] - v[j + 1])) < 1e-3
    keep = np.r_[True, np.diff(t) >= 0.05]
    t, v, cur, ah, temp = t[keep], v[keep], cur[keep], ah[keep], temp[keep]
    return dict(t=t, v=v, i=-cur, ah=ah, T=temp)   # i: discharge positive


def c20_mapping(H, c20):
    """Map the C/20 discharge onto the HPPC Ah scale.  The C/20 test's current reads high, so its own
    Ah counter cannot be used; Ah_hppc(t) = off + I_true (t - t0) / 3600 is fitted so that the
    HPPC rest-end voltages minus the C/20 voltage are as smooth as possible (cubic in Ah).
    Returns (off, I_true, t0, times, voltages) of the discharge branch."""
    ci, ct, cv = c20["current_A"], c20["time_s"], c20["voltage_V"]
    d = np.where(ci < -0.01)[0]
    t0 = ct[d[0] - 1]                        # backward ZOH: the discharge starts after this row
    td, vd = ct[d] - t0, cv[d]
    idx = rest_ends(H)
    ahr, vr = -H["ah"][idx], H["v"][idx]
    best = None
    for off in np.linspace(-0.06, 0.06, 61):
        for it in np.linspace(0.136, 0.148, 61):
            ahc = off + it * td / 3600.0
            m = (ahr > ahc[0]) & (ahr < 2.79)
            r = vr[m] - np.interp(ahr[m], ahc, vd)
            A = np.vander(ahr[m], 4)
            e = r - A @ np.linalg.lstsq(A, r, rcond=None)[0]
            s = float(np.sqrt(np.mean(e * e)))
            if best is None or s < best[0] - 1e-12:
                best = (s, off, it)
    return dict(off=best[1], i_true=best[2], t0=t0, td=td, vd=vd, rms=best[0],
                i_meas=float(np.mean(-ci[d])))


def rest_ends(H, min_rest=600.0):
    """Index of the last sample of every rest longer than min_rest seconds."""
    on = np.abs(H["i"]) > 0.01
    out = []
    for a, b in segments(~on):
        if H["t"][b - 1] - H["t"][max(a - 1, 0)] > min_rest:
            out.append(b - 1)
    return np.array(out)


class Problem:
    def __init__(self, H, c20map, n_rc=N_RC):
        self.H = H
        self.cm = c20map
        self.Q = c20map["off"] + c20map["i_true"] * c20map["td"][-1] / 3600.0   # z = 0 at C/20 end
        self.z = 1.0 + H["ah"] / self.Q
        self.vc20 = self.ocv_c20(self.z)
        t = H["t"]
        self.dt = np.r_[1.0, np.diff(t)]
        self.w = np.where(self.dt > 30.0, W_SPARSE, 1.0)
        self.on = np.abs(H["i"]) > 0.05
        starts = []
        for a, b in segments(self.on):
            prev = np.where(self.on[:a])[0]
            if len(prev) == 0 or t[a - 1] - t[prev[-1]] > 1500.0:
                starts.append(a)
        self.starts = np.array(starts)
        self.ends = np.r_[self.starts[1:], len(t)]
        self.rest_end = rest_ends(H)
        self.n_rc = n_rc

    def ocv_c20(self, z):
        ahc = self.cm["off"] + self.cm["i_true"] * self.cm["td"] / 3600.0
        return np.interp((1.0 - np.asarray(z)) * self.Q, ahc, self.cm["vd"])

    def win(self, k):
        return np.arange(self.starts[k] - 1 if k > 0 else 0, self.ends[k])

    def design(self, k, taus, ea):
        idx = self.win(k)
        f = arrhenius(ea, self.H["T"][idx], T_REF)
        u = f * self.H["i"][idx]
        dd = self.dt[idx].copy()
        dd[0] = 1.0
        dd = dd / f                           # tau(T) = tau_ref * f(T)
        A = np.array([-u] + [-rc_unit(dd, u, tau) for tau in taus]).T
        return idx, A

    def fit_windows(self, taus, corr_nodes, ea):
        corr = hat_basis(self.z, NODES) @ corr_nodes
        out = []
        for k in range(len(self.starts)):
            idx, A = self.design(k, taus, ea)
            y = self.H["v"][idx] - self.vc20[idx] - corr[idx]
            sw = np.sqrt(self.w[idx])
            r, _ = nnls(A * sw[:, None], y * sw)
            zc = float(np.mean(self.z[idx][self.on[idx]][:500]))
            out.append(dict(R=r, e=A @ r - y, idx=idx, zc=zc))
        return out

    def wsse(self, out, zmin=0.12):
        s = n = 0.0
        for F in out:
            m = self.z[F["idx"]] > zmin
            w = self.w[F["idx"]][m]
            s += float(np.sum(w * F["e"][m] ** 2))
            n += float(np.sum(w))
        return s, n

    def run(self, ea, iters=3, tau_init=TAU_INIT, verbose=True):
        cn = np.zeros(len(NODES))
        lt = np.log(np.asarray(tau_init[: self.n_rc], float))
        for it in range(iters):
            def obj(l):
                if np.any(np.diff(l) < 0.5) or l[0] < np.log(0.05) or l[-1] > np.log(5000.0):
                    return 1e9
                return self.wsse(self.fit_windows(np.exp(l), cn, ea))[0]
            res = minimize(obj, lt, method="Nelder-Mead",
                           options=dict(xatol=2e-3, fatol=1e-12, maxiter=300))
            lt = res.x
            out = self.fit_windows(np.exp(lt), cn, ea)
            resid = np.zeros(len(self.z))
            for F in out:
                resid[F["idx"]] = F["e"]
            zr = self.z[self.rest_end]
            er = resid[self.rest_end]
            # model - measured at rest ends = e; move the OCV correction by -e there
            corr_r = hat_basis(zr, NODES) @ cn
            cn = smooth_fit(zr, corr_r - er, NODES, lam=1e-2)
            s, n = self.wsse(out)
            if verbose:
                print(f"  iter {it}: taus={np.round(np.exp(lt), 3)} s  weighted rms (z>0.12) "
                      f"{np.sqrt(s / n) * 1e3:.3f} mV  rest-end rms {np.sqrt(np.mean(er ** 2)) * 1e3:.2f} mV",
                      flush=True)
        out = self.fit_windows(np.exp(lt), cn, ea)
        return dict(taus=np.exp(lt), corr=cn, windows=out, wrms=float(np.sqrt(np.divide(*self.wsse(out)))))

    def lowo(self, fit, ea):
        """Leave-one-window-out: predict each interior window from its neighbours' resistances
        (linear in z), the SOC-interpolation error the tables will make (HPPC-internal check)."""
        W = sorted(fit["windows"], key=lambda F: F["zc"])
        corr = hat_basis(self.z, NODES) @ fit["corr"]
        res = []
        for a, F, b in zip(W[:-2], W[1:-1], W[2:]):
            if F["zc"] < 0.12:
                continue
            g = (F["zc"] - a["zc"]) / (b["zc"] - a["zc"])
            R = a["R"] * (1 - g) + b["R"] * g
            k = [j for j in range(len(self.starts)) if self.win(j)[0] == F["idx"][0]][0]
            idx, A = self.design(k, fit["taus"], ea)
            e = A @ R - (self.H["v"][idx] - self.vc20[idx] - corr[idx])
            res.append(float(np.sqrt(np.sum(self.w[idx] * e * e) / np.sum(self.w[idx]))))
        return np.array(res)


# ------------------------------------------------------------------------------------------------
# thermal parameters from the HPPC temperature record
# ------------------------------------------------------------------------------------------------
def fit_thermal(P, model_path):
    """Fit m*cp and hA of the lumped node to the HPPC cell temperature, with the heat the fitted
    model produces (contract heat terms) and the chamber at 25 degC.  The record is replayed on a
    uniform 1 s grid (charge-conserving)."""
    from common import resample_bzoh
    H = P.H
    tg, ig, Tg = resample_bzoh(H["t"], H["i"], 1.0, cols=(H["T"],))
    m = ecm.Model.load(model_path)
    r = ecm.simulate(m, ig, 1.0, z0=1.0, temp_degc=Tg)
    q = r["q"]

    def sim(C, hA, Ta, T0):
        T = np.empty(len(q))
        x = T0
        for k in range(len(q)):
            x = (C * x + q[k] + hA * Ta) / (C + hA)
            T[k] = x
        return T

    def obj(p):
        C, hA = np.exp(p[:2])
        return float(np.mean((sim(C, hA, p[2], Tg[0]) - Tg) ** 2))
    # ambient: the thermocouple reads ~0.6 K above the chamber sensor at rest, so the ambient seen by
    # the thermocouple is fitted too
    res = minimize(obj, np.r_[np.log([50.0, 0.05]), 25.6], method="Nelder-Mead",
                   options=dict(xatol=1e-4, fatol=1e-10, maxiter=2000))
    C, hA = np.exp(res.x[:2])
    return dict(C=C, hA=hA, t_amb=float(res.x[2]), rms_k=float(np.sqrt(res.fun)))


# ------------------------------------------------------------------------------------------------
# model file
# ------------------------------------------------------------------------------------------------
MASS = 0.0475              # kg, published (Panasonic datasheet ~47.5 g)
AREA = np.pi * 0.0185 * 0.0653 + 2 * np.pi * 0.00925 ** 2   # 18650: 18.5 mm x 65.3 mm, ends included


def write(P, fit, ea, thermal, path=OUT):
    zs = np.linspace(0.0, 1.0, 21)
    temps = np.arange(15.0, 45.0 + 1e-9, 5.0)
    f = arrhenius(ea, temps, T_REF)[:, None]
    W = sorted(fit["windows"], key=lambda F: F["zc"])
    zc = np.array([F["zc"] for F in W])
    R = np.array([F["R"] for F in W])
    row = lambda vals: np.interp(zs, zc, vals)[None, :]
    r0 = row(R[:, 0]) * f
    rc = [dict(r_ohm=row(R[:, j + 1]) * f, tau_s=np.ones((1, len(zs))) * fit["taus"][j] * f)
          for j in range(len(fit["taus"]))]
    zo = np.round(np.linspace(0.0, 1.0, 201), 6)
    ocv = P.ocv_c20(zo) + hat_basis(zo, NODES) @ fit["corr"]
    cp = thermal["C"] / MASS
    h = thermal["hA"] / AREA
    header = [
        "Panasonic NCR18650PF (NCA/graphite, 18650, 2.9 Ah nominal) -- packsim cell model",
        "Data: P. Kollmeyer, 'Panasonic 18650PF Li-ion Battery Data', Mendeley Data V1 (2018),",
        "      doi:10.17632/wykht8y7tg.1, licence CC BY 4.0 (attribution: Kollmeyer, University of",
        "      Wisconsin-Madison). Copies used: data/measured/panasonic_ncr18650pf/ (see SOURCE.txt).",
        "Fitted from the 25 degC 5-pulse HPPC (+ its 0.3C inter-pulse discharges) and the C/20 discharge;",
        "US06 held out. Method and error figures: docs/model-fits.md.",
        "Produced by: /usr/bin/python3 tools/fit/fit_panasonic.py fit",
        f"SOC scale: the HPPC's Ah counter, capacity = the C/20 discharge to 2.5 V on that scale.",
        f"R0 and R_j, tau_j scale as exp(Ea/R (1/T - 1/298.15 K)) with Ea = {ea / 1000:.0f} kJ/mol (fitted on the",
        "HPPC cell temperature, 25.4-27.9 degC; the 15-45 degC rows are that law, extrapolated).",
        "No charge-direction data: r0_charge defaults to the discharge table. No hysteresis (all HPPC",
        "rests are approached in discharge; the OCV is the discharge-relaxed OCV). No entropic data.",
        f"Thermal: m = 47.5 g (published), area = 18650 can incl. ends; m*cp = {thermal['C']:.1f} J/K and",
        f"hA = {thermal['hA'] * 1e3:.1f} mW/K fitted to the HPPC cell temperature (effective values: surface",
        "thermocouple, chamber air flow; the chamber sensor reads ~0.6 K below the cell thermocouple at rest).",
    ]
    cell = dict(name="Panasonic NCR18650PF", chemistry="NCA/graphite", format="18650",
                capacity=f"{P.Q:.4f} Ah", coulombic_efficiency=1.0, v_min="2.5 V", v_max="4.2 V",
                nominal_voltage="3.6 V",
                source="Kollmeyer 2018, doi:10.17632/wykht8y7tg.1, CC BY 4.0")
    thermal_s = {"mass": "47.5 g", "specific_heat": f"{cp:.0f} J/kg/K", "surface_area": f"{AREA:.5f} m2",
                 "h_conv": f"{h:.2f} W/m2/K"}
    ecm.write_model(path, header=header, cell=cell, thermal=thermal_s,
                    ocv=dict(soc=zo, temp_degc=[25.0], ocv_v=[ocv]),
                    dynamic=dict(soc=zs, temp_degc=temps, r0_discharge_ohm=r0), rc=rc, hysteresis=None)


# ------------------------------------------------------------------------------------------------
# validation (held-out US06)
# ------------------------------------------------------------------------------------------------
def us06(path=OUT, thermal=False):
    u = read_csv(os.path.join(D, "us06_25degC_0p1s.csv"))
    m = ecm.Model.load(path)
    i = -u["current_A"]
    if thermal:
        # ambient = the rested cell's own reading at the start (the chamber sensor reads ~0.6 K below
        # the cell thermocouple at rest; the HPPC thermal fit finds the same offset)
        t0 = float(u["battery_temp_degC"][0])
        r = ecm.simulate(m, i, 0.1, z0=1.0, ambient_degc=t0, t0_degc=t0)
    else:
        r = ecm.simulate(m, i, 0.1, z0=1.0, temp_degc=u["battery_temp_degC"])
    s = ecm.error_stats(r["v"], u["voltage_V"])
    if thermal:
        dT = r["temp_degc"] - u["battery_temp_degC"]
        s.update(temp_rms_k=float(np.sqrt(np.mean(dT ** 2))), temp_maxabs_k=float(np.max(np.abs(dT))),
                 temp_final_meas=float(u["battery_temp_degC"][-1]), temp_final_model=float(r["temp_degc"][-1]))
    s["clamps"] = int(r["clamps"])
    return s, r, u


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cmd", choices=["fit", "scan-ea", "validate", "compare"])
    ap.add_argument("--out", default=OUT)
    ap.add_argument("--ea", type=float, default=EA)
    ap.add_argument("--n-rc", type=int, default=N_RC)
    a = ap.parse_args()
    H = load_hppc()
    c20 = read_csv(os.path.join(D, "c20_ocv_25degC.csv"))
    if a.cmd == "validate":
        for th in (False, True):
            s, _, _ = us06(a.out, th)
            print(("US06 thermal-model temperature: " if th else "US06 measured temperature: ")
                  + json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in s.items()}))
        return
    cm = c20_mapping(H, c20)
    P = Problem(H, cm, a.n_rc)
    print(f"C/20 mapping: offset {cm['off'] * 1e3:.1f} mAh, true current {cm['i_true'] * 1e3:.1f} mA "
          f"(reads {cm['i_meas'] * 1e3:.1f} mA), Q = {P.Q:.4f} Ah; shape residual {cm['rms'] * 1e3:.2f} mV")
    if a.cmd == "scan-ea":
        for ea in (0.0, 10000.0, 20000.0, 25000.0, 30000.0, 35000.0, 40000.0, 50000.0):
            fit = P.run(ea, verbose=False)
            L = P.lowo(fit, ea)
            print(f"Ea {ea / 1000:4.0f} kJ/mol: HPPC weighted rms (z>0.12) {fit['wrms'] * 1e3:.3f} mV, "
                  f"LOWO {np.mean(L) * 1e3:.3f} mV, taus {np.round(fit['taus'], 2)}", flush=True)
        return
    if a.cmd == "compare":
        for n_rc in (2, 3):
            P.n_rc = n_rc
            fit = P.run(a.ea, verbose=False, tau_init=(0.15, 8.0, 80.0) if n_rc == 3 else (4.0, 75.0))
            L = P.lowo(fit, a.ea)
            print(f"{n_rc} RC: HPPC wrms {fit['wrms'] * 1e3:.3f} mV, LOWO mean {np.mean(L) * 1e3:.3f} mV "
                  f"{np.round(L * 1e3, 2)}", flush=True)
        return
    fit = P.run(a.ea)
    L = P.lowo(fit, a.ea)
    print(f"LOWO (HPPC-internal SOC-interpolation check): mean {np.mean(L) * 1e3:.2f} mV")
    for F in sorted(fit["windows"], key=lambda F: -F["zc"]):
        print(f"  window z={F['zc']:.3f}: R0={F['R'][0] * 1e3:6.2f} mOhm, R_j={np.round(F['R'][1:] * 1e3, 2)} mOhm, "
              f"rms {np.sqrt(np.mean(F['e'] ** 2)) * 1e3:.2f} mV")
    # thermal: write once with placeholder thermal values to get the heat, then fit m*cp and hA
    write(P, fit, a.ea, dict(C=MASS * 1000.0, hA=10.0 * AREA), a.out)
    th = fit_thermal(P, a.out)
    print(f"thermal fit on HPPC temperature: m*cp = {th['C']:.1f} J/K (cp = {th['C'] / MASS:.0f} J/kg/K), "
          f"hA = {th['hA'] * 1e3:.2f} mW/K (h = {th['hA'] / AREA:.2f} W/m2/K), ambient seen by the "
          f"thermocouple {th['t_amb']:.2f} degC (chamber sensor 25.0), rms {th['rms_k']:.3f} K")
    write(P, fit, a.ea, th, a.out)
    print("wrote", rel(a.out))
    for thm in (False, True):
        s, r, u = us06(a.out, thm)
        print(("US06 (held out), thermal model: " if thm else "US06 (held out), measured T: ")
              + json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in s.items()}))
        if not thm:
            e = (r["v"] - u["voltage_V"]) * 1e3
            print("  US06 error by model SOC band (rms / mean mV):", end="")
            for hi in np.arange(1.0, 0.15, -0.1):
                q = (r["z"] <= hi) & (r["z"] > hi - 0.1)
                print(f"  {hi - 0.1:.1f}-{hi:.1f}: {np.sqrt(np.mean(e[q] ** 2)):.1f}/{np.mean(e[q]):+.1f}", end="")
            q = r["z"] <= 0.1
            print(f"  <0.1: {np.sqrt(np.mean(e[q] ** 2)):.1f}/{np.mean(e[q]):+.1f}")


if __name__ == "__main__":
    main()
