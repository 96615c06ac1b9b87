"""Reference implementation of the packsim cell-model contract (docs/cell-model.md).

This module is the Python twin of the C++ cell model: it reads and writes the TOML parameter files
in models/ and replays a current profile tick by tick with exactly the discrete-time equations of
the contract.  The fitting scripts use it for every figure they report.

Conventions (from the contract):
  * current positive on discharge;
  * one tick = one row of a uniformly sampled profile; the row's current flows during the tick
    that ends at the row (backward zero-order hold); the reported voltage is the end-of-tick value;
  * parameters are looked up at the start-of-tick state (z, T); OCV at (z', T);
  * bilinear interpolation on uniform grids, clamped at the edges (clamps are counted);
  * a_j = exp(-dt/tau_j) is computed at the grid points for the run's dt and interpolated;
  * Plett ESC hysteresis; heat terms; lumped thermal node integrated with backward Euler.

Temperature input (documented in data/measured/validation.toml as well):
  * mode "measured": row k's temperature is the cell temperature used for tick k's lookups
    (T is overwritten by the measurement before the tick);
  * mode "thermal": T is a state; tick k uses the start-of-tick T for its lookups, then
    T' = (C/dt*T + q_k + hA*T_amb_k) / (C/dt + hA) with q_k the tick's heat and T_amb_k row k's
    ambient temperature.

Only numpy and the standard library are needed (Python >= 3.11 for tomllib).
"""
from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field

import numpy as np

T0K = 273.15

# ----------------------------------------------------------------------------------------------
# quantity strings
# ----------------------------------------------------------------------------------------------
# unit -> (dimension, factor to SI)
_UNITS = {
    "Ah": ("charge", 3600.0), "mAh": ("charge", 3.6), "As": ("charge", 1.0), "C": ("charge", 1.0),
    "V": ("voltage", 1.0), "mV": ("voltage", 1e-3),
    "g": ("mass", 1e-3), "kg": ("mass", 1.0),
    "J/kg/K": ("specific_heat", 1.0), "J/g/K": ("specific_heat", 1e3),
    "m2": ("area", 1.0), "cm2": ("area", 1e-4), "mm2": ("area", 1e-6),
    "W/m2/K": ("h_conv", 1.0),
    "ohm": ("resistance", 1.0), "mohm": ("resistance", 1e-3),
    "s": ("time", 1.0),
}
_QRE = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z/0-9]+)\s*$")


def parse_quantity(text: str, dimension: str) -> float:
    """Parse a quantity string such as "2.9 Ah" into SI; the unit must have the given dimension."""
    if not isinstance(text, str):
        raise ValueError(f"expected a quantity string with a unit, got {text!r}")
    m = _QRE.match(text)
    if not m:
        raise ValueError(f"malformed quantity {text!r}")
    unit = m.group(2)
    if unit not in _UNITS:
        raise ValueError(f"unknown unit {unit!r} in {text!r}")
    dim, fac = _UNITS[unit]
    if dim != dimension:
        raise ValueError(f"{text!r}: expected a {dimension}, got a {dim}")
    return float(m.group(1)) * fac


def fmt_quantity(value: float, unit: str, digits: int = 6) -> str:
    fac = _UNITS[unit][1]
    return f"{value / fac:.{digits}g} {unit}"


# ----------------------------------------------------------------------------------------------
# tables
# ----------------------------------------------------------------------------------------------
def _check_uniform(name: str, axis: np.ndarray) -> None:
    if axis.ndim != 1 or len(axis) < 1:
        raise ValueError(f"{name}: axis must be a non-empty 1-D array")
    if len(axis) > 1:
        d = np.diff(axis)
        if np.any(d <= 0):
            raise ValueError(f"{name}: axis must be strictly increasing")
        if np.max(np.abs(d - d[0])) > 1e-9 * max(1.0, abs(d[0])) + 1e-12:
            raise ValueError(f"{name}: axis must be uniform")


class Axis:
    """Uniform axis with clamped cell lookup (index, fraction, clamped?)."""

    def __init__(self, name: str, values):
        a = np.asarray(values, dtype=float)
        _check_uniform(name, a)
        self.name = name
        self.values = a
        self.x0 = float(a[0])
        self.n = len(a)
        self.step = float(a[1] - a[0]) if self.n > 1 else 1.0

    def locate(self, x: float):
        if self.n == 1:
            return 0, 0.0, (x != self.x0)
        u = (x - self.x0) / self.step
        clamped = False
        if u <= 0.0:
            clamped = u < 0.0
            return 0, 0.0, clamped
        if u >= self.n - 1:
            clamped = u > self.n - 1
            return self.n - 2, 1.0, clamped
        i = int(u)
        return i, u - i, False


class Grid2D:
    """A stack of fields on one uniform (soc, temp) grid, interpolated bilinearly with clamping.

    values: array [nfield, ntemp, nsoc]."""

    def __init__(self, soc, temp_degc, fields: dict):
        self.soc = Axis("soc", soc)
        self.temp = Axis("temp_degc", temp_degc)
        self.names = list(fields)
        arr = []
        for k in self.names:
            v = np.asarray(fields[k], dtype=float)
            if v.shape != (self.temp.n, self.soc.n):
                raise ValueError(f"{k}: shape {v.shape}, expected {(self.temp.n, self.soc.n)}")
            if not np.all(np.isfinite(v)):
                raise ValueError(f"{k}: non-finite entries")
            arr.append(v)
        self.values = np.array(arr)  # [nf, nT, nz]
        self.clamp_count = 0

    def weights(self, z: float, tc: float):
        iz, fz, cz = self.soc.locate(z)
        it, ft, ct = self.temp.locate(tc)
        if cz or ct:
            self.clamp_count += 1
        return iz, fz, it, ft

    def interp(self, z: float, tc: float) -> np.ndarray:
        iz, fz, it, ft = self.weights(z, tc)
        return self._at(iz, fz, it, ft)

    def _at(self, iz, fz, it, ft):
        V = self.values
        if self.soc.n == 1:
            a = V[:, :, 0]
            if self.temp.n == 1:
                return a[:, 0].copy()
            return a[:, it] * (1 - ft) + a[:, it + 1] * ft
        if self.temp.n == 1:
            r = V[:, 0]
            return r[:, iz] * (1 - fz) + r[:, iz + 1] * fz
        lo = V[:, it, iz] * (1 - fz) + V[:, it, iz + 1] * fz
        hi = V[:, it + 1, iz] * (1 - fz) + V[:, it + 1, iz + 1] * fz
        return lo * (1 - ft) + hi * ft

    def slope_temp(self, name: str, z: float, tc: float) -> float:
        """d field / d T of the bilinear interpolant (used for dOCV/dT without an entropic table).

        Outside the temperature grid the edge cell's slope is used (the interpolant itself is
        clamped there); on an interior grid line the cell above is used."""
        k = self.names.index(name)
        if self.temp.n == 1:
            return 0.0
        iz, fz, _ = self.soc.locate(z)
        u = (tc - self.temp.x0) / self.temp.step
        it = min(max(int(math.floor(u)), 0), self.temp.n - 2)
        V = self.values[k]
        if self.soc.n == 1:
            return (V[it + 1, 0] - V[it, 0]) / self.temp.step
        lo = V[it, iz] * (1 - fz) + V[it, iz + 1] * fz
        hi = V[it + 1, iz] * (1 - fz) + V[it + 1, iz + 1] * fz
        return (hi - lo) / self.temp.step


# ----------------------------------------------------------------------------------------------
# model
# ----------------------------------------------------------------------------------------------
_CELL_KEYS = {"name", "chemistry", "format", "capacity", "coulombic_efficiency", "v_min", "v_max",
              "nominal_voltage", "source"}
_THERMAL_KEYS = {"mass", "specific_heat", "surface_area", "h_conv"}
_OCV_KEYS = {"soc", "temp_degc", "ocv_v", "entropic_v_per_k"}
_DYN_KEYS = {"soc", "temp_degc", "r0_discharge_ohm", "r0_charge_ohm", "rc"}
_RC_KEYS = {"r_ohm", "tau_s"}
_HYS_KEYS = {"gamma", "m", "m0"}


def _check_keys(section: str, d: dict, allowed: set):
    bad = set(d) - allowed
    if bad:
        raise ValueError(f"[{section}]: unknown keys {sorted(bad)}")


@dataclass
class Model:
    name: str
    capacity_as: float
    eta: float
    v_min: float
    v_max: float
    # thermal (SI)
    mass: float | None = None
    cp: float | None = None
    area: float | None = None
    h_conv: float | None = None
    # tables
    ocv_soc: np.ndarray = None
    ocv_temp: np.ndarray = None
    ocv_v: np.ndarray = None            # [nT, nz]
    entropic: np.ndarray | None = None  # [nz] on the OCV soc grid
    dyn_soc: np.ndarray = None
    dyn_temp: np.ndarray = None
    r0_dis: np.ndarray = None
    r0_chg: np.ndarray | None = None
    rc_r: list = field(default_factory=list)
    rc_tau: list = field(default_factory=list)
    gamma: float = 0.0
    m_hys: float = 0.0
    m0_hys: float = 0.0
    meta: dict = field(default_factory=dict)

    # ---- loading ------------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str) -> "Model":
        with open(path, "rb") as f:
            d = tomllib.load(f)
        _check_keys("top level", d, {"cell", "thermal", "ocv", "dynamic", "hysteresis"})
        c = d["cell"]
        _check_keys("cell", c, _CELL_KEYS)
        m = cls(name=c["name"], capacity_as=parse_quantity(c["capacity"], "charge"),
                eta=float(c.get("coulombic_efficiency", 1.0)),
                v_min=parse_quantity(c["v_min"], "voltage"), v_max=parse_quantity(c["v_max"], "voltage"))
        if not (0.0 < m.eta <= 1.0):
            raise ValueError("coulombic_efficiency must be in (0, 1]")
        m.meta = {k: c[k] for k in c}
        if "thermal" in d:
            t = d["thermal"]
            _check_keys("thermal", t, _THERMAL_KEYS)
            m.mass = parse_quantity(t["mass"], "mass")
            m.cp = parse_quantity(t["specific_heat"], "specific_heat")
            m.area = parse_quantity(t["surface_area"], "area")
            m.h_conv = parse_quantity(t["h_conv"], "h_conv")
        o = d["ocv"]
        _check_keys("ocv", o, _OCV_KEYS)
        m.ocv_soc = np.asarray(o["soc"], float)
        m.ocv_temp = np.asarray(o["temp_degc"], float)
        m.ocv_v = np.asarray(o["ocv_v"], float)
        if "entropic_v_per_k" in o:
            m.entropic = np.asarray(o["entropic_v_per_k"], float)
            if m.entropic.shape != m.ocv_soc.shape:
                raise ValueError("entropic_v_per_k must have one value per ocv soc point")
        dy = d["dynamic"]
        _check_keys("dynamic", dy, _DYN_KEYS)
        m.dyn_soc = np.asarray(dy["soc"], float)
        m.dyn_temp = np.asarray(dy["temp_degc"], float)
        m.r0_dis = np.asarray(dy["r0_discharge_ohm"], float)
        if "r0_charge_ohm" in dy:
            m.r0_chg = np.asarray(dy["r0_charge_ohm"], float)
        rcs = dy.get("rc", [])
        if not (1 <= len(rcs) <= 3):
            raise ValueError("one to three RC pairs")
        for p in rcs:
            _check_keys("dynamic.rc", p, _RC_KEYS)
            m.rc_r.append(np.asarray(p["r_ohm"], float))
            m.rc_tau.append(np.asarray(p["tau_s"], float))
        if "hysteresis" in d:
            hy = d["hysteresis"]
            _check_keys("hysteresis", hy, _HYS_KEYS)
            m.gamma = float(hy.get("gamma", 0.0))
            m.m_hys = parse_quantity(hy["m"], "voltage") if "m" in hy else 0.0
            m.m0_hys = parse_quantity(hy["m0"], "voltage") if "m0" in hy else 0.0
        m.validate()
        return m

    def validate(self):
        Grid2D(self.ocv_soc, self.ocv_temp, {"ocv": self.ocv_v})
        f = {"r0d": self.r0_dis}
        if self.r0_chg is not None:
            f["r0c"] = self.r0_chg
        for j, (r, tau) in enumerate(zip(self.rc_r, self.rc_tau)):
            f[f"r{j}"] = r
            f[f"tau{j}"] = tau
            if np.any(np.asarray(tau) <= 0) or np.any(np.asarray(r) < 0):
                raise ValueError("tau must be > 0 and R >= 0")
        Grid2D(self.dyn_soc, self.dyn_temp, f)
        if np.any(self.r0_dis < 0):
            raise ValueError("R0 must be >= 0")

    @property
    def heat_capacity(self) -> float:
        return self.mass * self.cp

    @property
    def ha(self) -> float:
        return self.h_conv * self.area

    # ---- runtime tables -----------------------------------------------------------------------
    def prepare(self, dt: float) -> "Prepared":
        return Prepared(self, dt)


class Prepared:
    """Tables ready for a run with tick dt (a_j pre-computed at the grid points)."""

    def __init__(self, m: Model, dt: float):
        self.m = m
        self.dt = float(dt)
        self.ocv = Grid2D(m.ocv_soc, m.ocv_temp, {"ocv": m.ocv_v})
        self.single_row = len(m.ocv_temp) == 1
        self.entropic_axis = Axis("soc", m.ocv_soc) if m.entropic is not None else None
        f = {"r0d": m.r0_dis, "r0c": m.r0_chg if m.r0_chg is not None else m.r0_dis}
        self.nrc = len(m.rc_r)
        for j in range(self.nrc):
            f[f"r{j}"] = m.rc_r[j]
            tau = np.asarray(m.rc_tau[j], float)
            a = np.exp(-self.dt / tau)
            f[f"a{j}"] = a
            # The tick's energy integral, also at the grid points (see the contract's heat terms).
            f[f"t1_{j}"] = tau * (1.0 - a)
        self.dyn = Grid2D(m.dyn_soc, m.dyn_temp, f)
        self.entropic_clamps = 0

    def entropic_at(self, z: float) -> float:
        ax = self.entropic_axis
        iz, fz, c = ax.locate(z)
        if c:
            self.entropic_clamps += 1
        e = self.m.entropic
        if ax.n == 1:
            return float(e[0])
        return float(e[iz] * (1 - fz) + e[iz + 1] * fz)

    def ocv_at(self, z: float, tc: float) -> float:
        if self.single_row:
            v = self.ocv.interp(z, self.m.ocv_temp[0])[0]
            if self.m.entropic is not None:
                v += (tc - self.m.ocv_temp[0]) * self.entropic_at(z)
            return float(v)
        return float(self.ocv.interp(z, tc)[0])

    def docv_dt(self, z: float, tc: float) -> float:
        if self.m.entropic is not None:
            return self.entropic_at(z)
        if self.single_row:
            return 0.0
        return self.ocv.slope_temp("ocv", z, tc)

    @property
    def clamp_count(self) -> int:
        return self.ocv.clamp_count + self.dyn.clamp_count + self.entropic_clamps


def simulate(model: Model, current, dt: float, *, z0: float, h0: float = 0.0, s0: int = 0,
             temp_degc=None, ambient_degc=None, t0_degc: float | None = None, v_rc0=None,
             want_heat_parts: bool = False) -> dict:
    """Replay a current profile (A, discharge positive), one row per tick of length dt.

    Exactly one of temp_degc (measured cell temperature per row, mode "measured") or ambient_degc
    (ambient per row or scalar, mode "thermal"; needs the [thermal] section) must be given.
    Returns arrays (one value per row, end of tick): v, z, h, s, temp_degc (the temperature used for
    the tick in measured mode; the end-of-tick temperature in thermal mode), q (heat, W), ocv.
    """
    i_arr = np.asarray(current, dtype=float)
    n = len(i_arr)
    P = model.prepare(dt)
    nrc = P.nrc
    Q = model.capacity_as
    eta_c = model.eta
    gamma, M, M0 = model.gamma, model.m_hys, model.m0_hys
    measured = temp_degc is not None
    if measured == (ambient_degc is not None):
        raise ValueError("give exactly one of temp_degc (measured) or ambient_degc (thermal)")
    if measured:
        tmeas = np.asarray(temp_degc, dtype=float)
        if len(tmeas) != n:
            raise ValueError("temperature series length")
    else:
        amb = np.broadcast_to(np.asarray(ambient_degc, dtype=float), (n,))
        C = model.heat_capacity
        hA = model.ha
        T = float(amb[0] if t0_degc is None else t0_degc)
    z, h, s = float(z0), float(h0), int(s0)
    vrc = np.zeros(nrc) if v_rc0 is None else np.array(v_rc0, dtype=float)
    out_v = np.empty(n); out_z = np.empty(n); out_h = np.empty(n); out_T = np.empty(n)
    out_q = np.empty(n); out_ocv = np.empty(n)
    parts = np.zeros((n, 5)) if want_heat_parts else None
    names = P.dyn.names
    ir0d, ir0c = names.index("r0d"), names.index("r0c")
    ir = [names.index(f"r{j}") for j in range(nrc)]
    ia = [names.index(f"a{j}") for j in range(nrc)]
    it1 = [names.index(f"t1_{j}") for j in range(nrc)]
    for k in range(n):
        i = float(i_arr[k])
        if measured:
            T = float(tmeas[k])
        TK = T + T0K
        par = P.dyn.interp(z, T)  # start-of-tick lookup
        # 1. efficiency
        eta = 1.0 if i >= 0 else eta_c
        # 2. RC pairs
        q_rc = 0.0
        vrc_new = np.empty(nrc)
        for j in range(nrc):
            R = par[ir[j]]; a = par[ia[j]]
            vn = a * vrc[j] + R * (1.0 - a) * i
            d = vrc[j] - R * i
            t1 = par[it1[j]]
            t2 = t1 * (1.0 + a) / (2.0 * R) if R > 0.0 else 0.0
            q_rc += (R * i * i * dt + 2.0 * i * d * t1 + d * d * t2) / dt
            vrc_new[j] = vn
        # 3. coulomb counting
        zn = z - eta * i * dt / Q
        # 4. hysteresis
        sg = (i > 0) - (i < 0)
        AH = math.exp(-abs(eta * i * gamma * dt / Q))
        hn = AH * h - (1.0 - AH) * sg
        sn = sg if i != 0.0 else s
        # 5. terminal voltage
        R0 = par[ir0c] if i < 0 else par[ir0d]
        ocv_new = P.ocv_at(zn, T)
        v = ocv_new + M0 * sn + M * hn - float(np.sum(vrc_new)) - R0 * i
        # 6. heat
        q_ohm = i * i * R0
        ocv_start = P.ocv_at(z, T)
        q_rev = -i * TK * P.docv_dt(z, T)
        q_hys = -i * (M0 * sn + M * hn)
        q_eff = (1.0 - eta) * abs(i) * ocv_start if i < 0 else 0.0
        q = q_ohm + q_rc + q_rev + q_hys + q_eff
        if parts is not None:
            parts[k] = (q_ohm, q_rc, q_rev, q_hys, q_eff)
        # 7. thermal
        if not measured:
            T = (C / dt * T + q + hA * float(amb[k])) / (C / dt + hA)
        z, h, s, vrc = zn, hn, sn, vrc_new
        out_v[k] = v; out_z[k] = z; out_h[k] = h; out_T[k] = T; out_q[k] = q; out_ocv[k] = ocv_new
    res = dict(v=out_v, z=out_z, h=out_h, temp_degc=out_T, q=out_q, ocv=out_ocv,
               clamps=P.clamp_count, v_rc_end=vrc, s_end=s)
    if parts is not None:
        res["heat_parts"] = parts
    return res


# ----------------------------------------------------------------------------------------------
# writing parameter files
# ----------------------------------------------------------------------------------------------
def _fmt_num(x: float, sig: int) -> str:
    if x == 0:
        return "0.0"
    s = f"{x:.{sig}g}"
    if "e" in s:
        mant, ex = s.split("e")
        if "." not in mant:
            mant += ".0"
        return f"{mant}e{int(ex)}"
    if "." not in s:
        s += ".0"
    return s


def _fmt_list(vals, sig: int, per_line: int = 10, indent: str = "  ") -> str:
    vals = [_fmt_num(float(v), sig) for v in vals]
    if len(vals) <= per_line:
        return "[" + ", ".join(vals) + "]"
    lines = [indent + ", ".join(vals[i:i + per_line]) for i in range(0, len(vals), per_line)]
    return "[\n" + ",\n".join(lines) + ",\n]"


def _fmt_matrix(mat, sig: int, per_line: int = 10) -> str:
    rows = [_fmt_list(r, sig, per_line, indent="    ") for r in np.atleast_2d(mat)]
    rows = [r.replace("\n]", "\n  ]") for r in rows]
    return "[\n" + "".join("  " + r + ",\n" for r in rows) + "]"


def write_model(path: str, *, header: list[str], cell: dict, thermal: dict | None, ocv: dict,
                dynamic: dict, rc: list[dict], hysteresis: dict | None, sig: int = 6) -> None:
    """Write a parameter file.  cell/thermal/hysteresis values are written verbatim (strings are
    quoted); table arrays are numbers."""

    def val(v):
        if isinstance(v, str):
            return '"' + v.replace('"', '\\"') + '"'
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int):
            return str(v)
        return _fmt_num(float(v), 8)

    L = [("# " + h).rstrip() for h in header]
    L.append("")
    L.append("[cell]")
    for k, v in cell.items():
        L.append(f"{k} = {val(v)}")
    if thermal:
        L.append("")
        L.append("[thermal]")
        for k, v in thermal.items():
            L.append(f"{k} = {val(v)}")
    L.append("")
    L.append("[ocv]")
    L.append(f"soc = {_fmt_list(ocv['soc'], 6)}")
    L.append(f"temp_degc = {_fmt_list(ocv['temp_degc'], 6)}")
    L.append(f"ocv_v = {_fmt_matrix(ocv['ocv_v'], 6)}")
    if ocv.get("entropic_v_per_k") is not None:
        L.append(f"entropic_v_per_k = {_fmt_list(ocv['entropic_v_per_k'], 4)}")
    L.append("")
    L.append("[dynamic]")
    L.append(f"soc = {_fmt_list(dynamic['soc'], 6)}")
    L.append(f"temp_degc = {_fmt_list(dynamic['temp_degc'], 6)}")
    L.append(f"r0_discharge_ohm = {_fmt_matrix(dynamic['r0_discharge_ohm'], sig)}")
    if dynamic.get("r0_charge_ohm") is not None:
        L.append(f"r0_charge_ohm = {_fmt_matrix(dynamic['r0_charge_ohm'], sig)}")
    for p in rc:
        L.append("")
        L.append("[[dynamic.rc]]")
        L.append(f"r_ohm = {_fmt_matrix(p['r_ohm'], sig)}")
        L.append(f"tau_s = {_fmt_matrix(p['tau_s'], sig)}")
    if hysteresis:
        L.append("")
        L.append("[hysteresis]")
        for k, v in hysteresis.items():
            L.append(f"{k} = {val(v)}")
    txt = "\n".join(L) + "\n"
    tomllib.loads(txt)  # must parse
    with open(path, "w") as f:
        f.write(txt)


# ----------------------------------------------------------------------------------------------
# error metrics
# ----------------------------------------------------------------------------------------------
def error_stats(v_model, v_meas, mask=None) -> dict:
    e = np.asarray(v_model, float) - np.asarray(v_meas, float)
    if mask is not None:
        e = e[np.asarray(mask, bool)]
    a = np.abs(e)
    return dict(rms_mv=float(np.sqrt(np.mean(e * e)) * 1e3), p999_mv=float(np.percentile(a, 99.9) * 1e3),
                mean_mv=float(np.mean(e) * 1e3), n=int(len(e)))
