"""Helpers shared by the fitting scripts (not part of the model contract)."""
from __future__ import annotations

import os

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DATA = os.path.join(ROOT, "data", "measured")
MODELS = os.path.join(ROOT, "models")
R_GAS = 8.314462618


def rel(path: str) -> str:
    return os.path.relpath(path, ROOT)


def read_csv(path: str) -> dict:
    """Read a numeric CSV with a header line (comment lines starting with # are skipped)."""
    with open(path) as f:
        lines = [ln for ln in f if not ln.startswith("#") and ln.strip()]
    names = [c.strip() for c in lines[0].split(",")]
    a = np.loadtxt(lines[1:], delimiter=",", ndmin=2)
    return {k: a[:, j].copy() for j, k in enumerate(names)}


def write_csv(path: str, columns: dict, fmt: dict, comments: list[str] | None = None) -> None:
    keys = list(columns)
    n = len(columns[keys[0]])
    with open(path, "w") as f:
        for c in comments or []:
            f.write("# " + c + "\n")
        f.write(",".join(keys) + "\n")
        cols = [np.asarray(columns[k]) for k in keys]
        fm = [fmt[k] for k in keys]
        for r in range(n):
            f.write(",".join(fm[j] % cols[j][r] for j in range(len(keys))) + "\n")


def rc_unit(dt, u, tau: float, x0: float = 0.0, block: float = 40.0) -> np.ndarray:
    """Exact zero-order-hold RC response with unit resistance and irregular steps:
    x_k = a_k x_{k-1} + (1 - a_k) u_k, a_k = exp(-dt_k / tau).  Vectorised in blocks of
    `block` time constants (so the exponentials stay finite)."""
    dt = np.asarray(dt, float)
    u = np.asarray(u, float)
    n = len(u)
    out = np.empty(n)
    e = np.cumsum(dt) / tau
    om = -np.expm1(-dt / tau)
    x = float(x0)
    p = 0
    base = 0.0
    while p < n:
        if e[p] - base > block:
            out[p] = np.exp(-(e[p] - base)) * x + om[p] * u[p]
            x = out[p]
            base = e[p]
            p += 1
            continue
        q = int(np.searchsorted(e, base + block, side="right"))
        ee = e[p:q] - base
        s = np.cumsum(om[p:q] * u[p:q] * np.exp(ee))
        out[p:q] = np.exp(-ee) * (x + s)
        x = out[q - 1]
        base = e[q - 1]
        p = q
    return out


def resample_bzoh(t, i, dt: float, cols=(), t_start=None, t_end=None):
    """Resample a backward-zero-order-hold record onto a uniform grid.

    Source: sample k's current i_k flowed during (t_{k-1}, t_k].  Grid: t_n = t_start + n*dt,
    n = 1..N; row n's tick is (t_{n-1}, t_n].  Current of row n = charge-conserving average of the
    source current over the tick; other columns are linearly interpolated at t_n.
    Returns [t_n, i_n, *cols_n]."""
    t = np.asarray(t, float)
    i = np.asarray(i, float)
    t_start = t[0] if t_start is None else t_start
    t_end = t[-1] if t_end is None else t_end
    n = int(np.floor((t_end - t_start) / dt + 1e-9))
    tg = t_start + dt * np.arange(0, n + 1)
    qk = np.r_[0.0, np.cumsum(i[1:] * np.diff(t))]
    qg = np.interp(tg, t, qk)  # exact: the cumulative charge is piecewise linear
    ig = np.diff(qg) / dt
    return [tg[1:], ig] + [np.interp(tg[1:], t, np.asarray(c, float)) for c in cols]


def arrhenius(ea: float, temp_degc, t_ref_degc: float = 25.0):
    """exp(Ea/R (1/T - 1/T_ref)): the factor a resistance at T carries relative to T_ref."""
    tk = np.asarray(temp_degc, float) + 273.15
    return np.exp(ea / R_GAS * (1.0 / tk - 1.0 / (t_ref_degc + 273.15)))


def hat_basis(z, nodes) -> np.ndarray:
    """Piecewise-linear (hat) basis on uniform nodes, evaluated at z (clamped)."""
    z = np.clip(np.asarray(z, float), nodes[0], nodes[-1])
    h = nodes[1] - nodes[0]
    return np.clip(1.0 - np.abs(z[:, None] - nodes[None, :]) / h, 0.0, None)


def smooth_fit(x, y, nodes, lam: float, w=None) -> np.ndarray:
    """Penalised least-squares piecewise-linear fit (second-difference penalty) -> node values."""
    H = hat_basis(x, nodes)
    w = np.ones(len(x)) if w is None else np.asarray(w, float)
    D = np.diff(np.eye(len(nodes)), 2, axis=0)
    A = H.T @ (H * w[:, None]) + lam * D.T @ D
    return np.linalg.solve(A, H.T @ (w * y))


def segments(mask) -> list[tuple[int, int]]:
    """Runs of True in a boolean array as (start, end) index pairs (end exclusive)."""
    m = np.asarray(mask, bool).astype(int)
    d = np.diff(np.r_[0, m, 0])
    return list(zip(np.where(d == 1)[0], np.where(d == -1)[0]))


def git_describe() -> str:
    try:
        import subprocess
        return subprocess.check_output(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                                       text=True, stderr=subprocess.DEVNULL).strip()
    except Exception:
        return "unknown"
