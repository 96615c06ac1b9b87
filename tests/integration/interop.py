#!/usr/bin/python3
"""packsim's CAN side against two independent implementations from Debian's archive.

canmatrix (python3-canmatrix) reads the DBC files, decodes and encodes; python-can (python3-can)
reads the candump logs packsim writes. Checked:
  1. every shipped, exported, test and generated DBC loads in canmatrix with the same messages;
  2. random payloads for every message decode to the same raw and physical values, and the same
     multiplexed signals, in canmatrix and in `packsim dbc decode`;
  3. random raw values encode to the same bytes in canmatrix and in `packsim dbc encode --raw`;
  4. the can.log of closed-loop runs (classic and CAN FD) reads in python-can frame for frame, and
     canmatrix decodes the cell voltages packsim put on the wire to the cell voltages the run
     recorded in signals.csv.
Run with the system interpreter: /usr/bin/python3 interop.py PACKSIM WORKDIR
"""
import csv
import json
import math
import os
import random
import subprocess
import sys
import zlib

import can
import canmatrix.formats

PACKSIM = os.path.abspath(sys.argv[1])
WORK = os.path.abspath(sys.argv[2])
os.makedirs(WORK, exist_ok=True)
FAILURES = []


def fail(msg):
    FAILURES.append(msg)
    if len(FAILURES) <= 30:
        print("FAIL:", msg)


def packsim(*args, stdin=None):
    r = subprocess.run([PACKSIM, *args], input=stdin, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"packsim {' '.join(args)} failed ({r.returncode}):\n{r.stderr}")
    return r.stdout


def load_canmatrix(path):
    db = canmatrix.formats.loadp_flat(path)
    if db is None:
        raise SystemExit(f"canmatrix cannot load {path}")
    return db


# ---- 1. DBC files ----------------------------------------------------------------------------

def generated_dbc(path, seed, messages=40):
    """Random messages with non-overlapping Intel and Motorola signals of every length, signed and
    unsigned, scaled with negative, fractional and large factors, some multiplexed."""
    rng = random.Random(seed)
    lines = ['VERSION ""', "", "NS_ :", "", "BS_:", "", "BU_: Sim", ""]
    for m in range(messages):
        size = rng.choice([1, 2, 3, 4, 5, 6, 7, 8, 8, 8, 12, 16, 24, 32, 48, 64])
        nbits = size * 8
        used = [False] * nbits
        sigs = []
        muxed = size >= 2 and rng.random() < 0.3
        if muxed:  # the multiplexor at the start of byte 0, Intel
            mux_len = rng.randint(2, 8)
            for b in range(mux_len):
                used[b] = True
            sigs.append(f" SG_ Sel M : 0|{mux_len}@1+ (1,0) [0|0] \"\" Sim")
        for k in range(rng.randint(1, 12)):
            length = rng.choice([1, 2, 3, 7, 8, 9, 12, 15, 16, 17, 24, 31, 32, 33, 48, 63, 64])
            length = min(length, nbits)
            intel = rng.random() < 0.5
            for _attempt in range(20):
                if intel:
                    lsb = rng.randint(0, nbits - length)
                    bits = list(range(lsb, lsb + length))
                    start = lsb
                else:
                    # Motorola: contiguous in the big-endian sequential numbering
                    # (s = 8 * byte + 7 - bit), MSB first.
                    msb_seq = rng.randint(0, nbits - length)
                    bits = [8 * (s // 8) + 7 - s % 8 for s in range(msb_seq, msb_seq + length)]
                    start = bits[0]
                if not any(used[b] for b in bits):
                    break
            else:
                continue
            for b in bits:
                used[b] = True
            signed = rng.random() < 0.5 and length > 1
            factor = rng.choice(["1", "0.1", "0.001", "-0.5", "2.5", "1E-05", "0.0625", "3"])
            offset = rng.choice(["0", "0", "-40", "273.15", "0.5", "-1000"])
            mux = ""
            if muxed and rng.random() < 0.6:
                mux = f" m{rng.randint(0, 3)}"
            order = "1" if intel else "0"
            sign = "-" if signed else "+"
            sigs.append(f" SG_ S{k}{mux} : {start}|{length}@{order}{sign} ({factor},{offset}) "
                        f"[0|0] \"u{k}\" Sim")
        ident = 0x100 + m if rng.random() < 0.7 else (0x80000000 | rng.randint(0x800, 0x1FFFFFFF))
        lines.append(f"BO_ {ident} Gen{m}: {size} Sim")
        lines.extend(sigs)
        lines.append("")
    fd_ids = [l.split()[1] for l in lines if l.startswith("BO_ ") and int(l.split()[3]) > 8]
    lines.append('BA_DEF_ BO_ "VFrameFormat" ENUM "StandardCAN","ExtendedCAN","reserved","reserved",'
                 '"reserved","reserved","reserved","reserved","reserved","reserved","reserved",'
                 '"reserved","reserved","reserved","StandardCAN_FD","ExtendedCAN_FD";')
    lines.append('BA_DEF_DEF_ "VFrameFormat" "StandardCAN";')
    for ident in fd_ids:
        lines.append(f'BA_ "VFrameFormat" BO_ {ident} {15 if int(ident) & 0x80000000 else 14};')
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


dbcs = {
    "packsim": "profiles/packsim/packsim.dbc",
    "foxbms2": "profiles/foxbms2/foxbms2.dbc",
    "all_features": "tests/data/dbc/all_features.dbc",
    "foxbms_excerpt": "tests/data/dbc/foxbms_excerpt.dbc",
}
for name, profile, pack in [("export_packsim", "packsim", "configs/ev_96s2p_nmc.toml"),
                            ("export_packsim_fd", "packsim_fd", "configs/ev_96s2p_nmc.toml"),
                            ("export_foxbms2", "foxbms2", "configs/foxbms2_18s1p.toml")]:
    path = os.path.join(WORK, name + ".dbc")
    with open(path, "w") as f:
        f.write(packsim("dbc", "export", "--profile", profile, "--pack", pack))
    dbcs[name] = path
for seed in (1, 2, 3):
    path = os.path.join(WORK, f"generated_{seed}.dbc")
    generated_dbc(path, seed)
    dbcs[f"generated_{seed}"] = path

packsim("dbc", "check", *dbcs.values())  # packsim accepts every file

frames_checked = signals_checked = encodes_checked = 0
for name, path in dbcs.items():
    db = load_canmatrix(path)
    cm_frames = [f for f in db.frames if f.size > 0 and f.signals]
    # ---- 2. decode ---------------------------------------------------------------------------
    rng = random.Random(zlib.crc32(name.encode()))
    log_lines, payloads = [], []
    for fr in cm_frames:
        for n in range(60):
            if n == 0:
                data = bytes(fr.size)
            elif n == 1:
                data = bytes([0xFF] * fr.size)
            else:
                data = bytes(rng.getrandbits(8) for _ in range(fr.size))
            ident = fr.arbitration_id.id
            text = f"{ident:08X}" if fr.arbitration_id.extended else f"{ident:03X}"
            fd = fr.size > 8
            # FD lengths that are not a DLC step are padded by the frame; canmatrix wants the
            # message size, so it gets the unpadded bytes.
            log_lines.append(f"({len(log_lines)}.000000) vcan0 {text}#{'#1' if fd else ''}"
                             f"{data.hex().upper()}")
            payloads.append((fr, data))
    log = os.path.join(WORK, name + ".log")
    with open(log, "w") as f:
        f.write("\n".join(log_lines) + "\n")
    out = packsim("dbc", "decode", "--dbc", path, "--json", log).splitlines()
    if len(out) != len(payloads):
        fail(f"{name}: {len(payloads)} frames in, {len(out)} decoded")
        continue
    for line, (fr, data) in zip(out, payloads):
        got = json.loads(line)
        frames_checked += 1
        where = f"{name} {fr.name} {data.hex()}"
        if got.get("message") != fr.name:
            fail(f"{where}: packsim says message {got.get('message')}")
            continue
        complex_mux = fr.is_complex_multiplexed
        cm = fr.unpack(data) if complex_mux else fr.decode(data)
        mine = got["signals"]
        if not complex_mux and set(cm) != set(mine):
            fail(f"{where}: signals canmatrix {sorted(cm)} packsim {sorted(mine)}")
        for sig_name, val in mine.items():
            if sig_name not in cm:
                fail(f"{where}: packsim decodes {sig_name}, canmatrix does not")
                continue
            d = cm[sig_name]
            signals_checked += 1
            if d.signal.is_float:
                ref = float(d.raw_value) * float(d.signal.factor) + float(d.signal.offset)
            else:
                if val.get("raw") != int(d.raw_value):
                    fail(f"{where}: {sig_name} raw canmatrix {d.raw_value} packsim {val.get('raw')}")
                ref = float(d.phys_value)
            v = val["value"]
            if v is None or ref != ref or math.isinf(ref):
                if not (v is None and (ref != ref or math.isinf(ref))):
                    fail(f"{where}: {sig_name} value canmatrix {ref} packsim {v}")
            elif not math.isclose(v, ref, rel_tol=1e-12, abs_tol=1e-12 * abs(float(d.signal.factor))):
                fail(f"{where}: {sig_name} value canmatrix {ref!r} packsim {v!r}")
    # ---- 3. encode ---------------------------------------------------------------------------
    for fr in cm_frames:
        if fr.is_complex_multiplexed:
            continue
        mux_sig = next((s for s in fr.signals if s.is_multiplexer), None)
        for n in range(8):
            raw = {}
            mux_val = None
            if mux_sig is not None:
                vals = sorted({s.mux_val for s in fr.signals if s.mux_val is not None})
                mux_val = rng.choice(vals) if vals else 0
                raw[mux_sig.name] = mux_val
            for s in fr.signals:
                if s.is_float or s.is_multiplexer:
                    continue
                if s.mux_val is not None and s.mux_val != mux_val:
                    continue
                if rng.random() < 0.2:
                    continue  # left out: raw 0 in both
                lo = -(1 << (s.size - 1)) if s.is_signed else 0
                hi = (1 << (s.size - 1)) - 1 if s.is_signed else (1 << s.size) - 1
                hi = min(hi, (1 << 63) - 1)  # packsim's --raw takes 64-bit signed integers
                raw[s.name] = rng.choice([lo, hi, 0, rng.randint(lo, hi)])
            expected = bytes(fr.encode(raw))
            args = ["dbc", "encode", "--dbc", path, "--raw", fr.name] + \
                   [f"{k}={v}" for k, v in raw.items()]
            got = packsim(*args).strip()
            payload = got.split("#", 1)[1]
            if payload.startswith("#"):
                payload = payload[2:]
            got_bytes = bytes.fromhex(payload)[:fr.size]
            encodes_checked += 1
            if got_bytes != expected:
                fail(f"{name} {fr.name} encode {raw}: canmatrix {expected.hex()} packsim "
                     f"{got_bytes.hex()}")

print(f"decode: {frames_checked} frames, {signals_checked} signal values; "
      f"encode: {encodes_checked} frames; {len(dbcs)} DBC files")

# ---- 4. packsim's can.log in python-can; frames decoded by canmatrix match the simulation ---------

def run_and_check(label, scenario, profile, pack):
    out = os.path.join(WORK, label)
    packsim("run", scenario, "--out", out, "--duration", "3 s", "--record-every", "1 ms", "-q")
    log = os.path.join(out, "can.log")
    with open(log) as f:
        lines = [l.rstrip("\n") for l in f if l.strip()]
    msgs = list(can.CanutilsLogReader(log))
    if len(msgs) != len(lines):
        fail(f"{label}: python-can reads {len(msgs)} frames from {len(lines)} lines")
        return
    fd_frames = 0
    for line, m in zip(lines, msgs):
        ts, iface, frame = line.split()
        ident, _, rest = frame.partition("#")
        fd = rest.startswith("#")
        data = bytes.fromhex(rest[2:] if fd else rest)
        fd_frames += fd
        if (m.arbitration_id != int(ident, 16) or m.is_extended_id != (len(ident) == 8)
                or bytes(m.data) != data or m.is_fd != fd or m.channel != iface
                or abs(m.timestamp - float(ts[1:-1])) > 1e-6):
            fail(f"{label}: python-can reads {m} from '{line}'")
    # The cell voltages on the wire, decoded by canmatrix with the exported DBC, against the
    # simulation's own record of the same tick.
    dbc = os.path.join(WORK, f"{label}.dbc")
    with open(dbc, "w") as f:
        f.write(packsim("dbc", "export", "--profile", profile, "--pack", pack))
    db = load_canmatrix(dbc)
    rows = {}
    with open(os.path.join(out, "signals.csv")) as f:
        for r in csv.DictReader(f):
            rows[round(float(r["time_s"]) * 1000)] = r
    compared = 0
    for m in msgs:
        fr = db.frame_by_id(canmatrix.ArbitrationId(m.arbitration_id, extended=m.is_extended_id))
        if fr is None:
            continue
        dec = fr.decode(bytes(m.data)[:fr.size])
        # Cell voltage signals by name and unit (packsim: V, foxBMS 2: mV), not their flags;
        # 0 is a slot beyond the last cell of a module.
        scale = {"V": 1.0, "mV": 1e-3}
        volts = [float(d.phys_value) * scale[d.signal.unit] for k, d in dec.items()
                 if k.lower().startswith("cellvoltage") and d.signal.unit in scale
                 and float(d.phys_value) > 0]
        row = rows.get(round(m.timestamp * 1000))
        if not volts or row is None:
            continue
        lo, hi = float(row["cell_v_min"]), float(row["cell_v_max"])
        # The AFE model's gain/offset/noise error and 100 uV (packsim) or 1 mV (foxBMS) steps.
        tol = 0.005
        for v in volts:
            compared += 1
            if not lo - tol <= v <= hi + tol:
                fail(f"{label}: {fr.name} at {m.timestamp:.3f} s carries {v} V, the cells are "
                     f"{lo}..{hi} V")
    if compared < 100:
        fail(f"{label}: only {compared} cell voltages compared")
    print(f"{label}: {len(msgs)} frames ({fd_frames} CAN FD) read by python-can, "
          f"{compared} cell voltages decoded by canmatrix within the recorded range")


run_and_check("run_packsim", "scenarios/demo.toml", "packsim", "configs/ev_96s2p_nmc.toml")
run_and_check("run_packsim_fd", "tests/data/scenarios/interop_fd.toml", "packsim_fd",
              "configs/ev_96s2p_nmc.toml")
run_and_check("run_foxbms2", "scenarios/foxbms2_bench.toml", "foxbms2",
              "configs/foxbms2_18s1p.toml")

if FAILURES:
    print(f"{len(FAILURES)} failure(s)")
    sys.exit(1)
print("ok")
