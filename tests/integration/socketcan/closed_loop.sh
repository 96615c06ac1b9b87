#!/usr/bin/env bash
# Host side: runs the guest script through tools/vcan-vm/run with the two programs and the data
# they read, then checks the closed-loop behaviour and the captured frames.
# Usage: closed_loop.sh PACKSIM PACKSIM_REFBMS WORKDIR
set -euo pipefail
PACKSIM=$1 REFBMS=$2 WORK=$3
source "$(dirname "$0")/lib.sh"
check() {
python3 - "$WORK/out" <<'PY'
import csv, json, re, sys
out = sys.argv[1]
sim = json.load(open(out + "/sim/summary.json"))
bms = json.load(open(out + "/bms/refbms.json"))
assert sim["status"] == "completed", sim["status"]
can = sim["can"]
assert can["transport"] == "socketcan" and can["bms_mode"] == "external", can
assert can["simulator"]["rx_frames"] > 0, "the simulator never heard the BMS"
assert can["simulator"]["e2e_bad_crc"] == 0 and can["simulator"]["rx_malformed"] == 0, can["simulator"]
assert can["frames_not_sent"] == 0, can
# Real time at 100 Hz (the default on SocketCAN): every tick ran, every frame of every tick went out
# (exactly the profile's rate over the run), and the statistics are there. The VM's clock is too
# slow for latency targets: those belong to the benchmark.
rt = sim["realtime"]
assert rt["ticks"] == 2500 and rt["period_us"] == 10000, rt
# Frames go out at every t = phase + k * period in [0, 25 s]: the rate times 25 s, plus one for
# each frame due at t = 0 itself. At the 10 ms tick the packsim profile's phases round to 0 for
# the voltage rows (2 modules x 2 rows of 3 cells) and for IVT I, U1 and U2 (0, 2, 4 ms): 7.
assert can["simulator"]["tx_frames"] == round(can["frames_per_second"] * 25) + 7, (can["simulator"]["tx_frames"], can["frames_per_second"])
for key in ("wake_latency_us", "compute_us"):
    d = rt[key]
    assert 0 <= d["min"] <= d["p50"] <= d["p99"] <= d["p999"] <= d["max"], (key, d)
assert rt["records_dropped"] == 0, rt
# Late frames come only from ticks that overran (a tick that ends after the next deadline). How
# many ticks overrun is the host's business, not packsim's: under TCG emulation a busy host stalls
# the guest (seen: 29 % of the ticks beside four builds on 2 cores), and the sanitizer build's
# ticks are slower. Real-time figures belong to tools/rt-bench; here, what must hold however late
# the ticks: every tick ran and sent its frames (above), and the closed loop did its job (below).
assert rt["frames_late"] == 0 or rt["overruns"] > 0, rt
assert rt["overruns"] <= rt["ticks"], rt
print("real time in the VM: wake latency p99", rt["wake_latency_us"]["p99"], "us, compute p99",
      rt["compute_us"]["p99"], "us,", rt["overruns"], "overruns,", rt["frames_late"], "frames late")
# The BMS went through precharge to normal, then tripped on channel 5's over-voltage.
states = [t["state"] for t in bms["transitions"]]
assert "precharge" in states and "normal" in states and states.index("normal") < len(states) - 1, (
    states, bms["transitions"][:4], bms.get("first_fault"), bms.get("first_fault_module"),
    bms.get("first_fault_onset_s"), bms.get("first_fault_s"))
assert bms["first_fault"] == "over-voltage" and bms["first_fault_cell"] == 5, bms
assert abs((bms["first_fault_s"] - bms["first_fault_onset_s"]) - 0.5) <= 0.0101, bms
assert bms["decoder"]["e2e_bad_crc"] == 0, bms["decoder"]
rows = list(csv.DictReader(open(out + "/sim/signals.csv")))
t = [float(r["time_s"]) for r in rows]
cur = [float(r["current_a"]) for r in rows]
closed = [ti for ti, r in zip(t, rows) if r["main_pos"] == "1"]
assert closed and closed[0] < 12.0, "contactors never closed before the fault"
loaded = [c for ti, c in zip(t, cur) if closed[0] + 0.5 < ti < 11.9]
assert loaded and all(abs(c - 55.52) < 0.05 for c in loaded), (min(loaded), max(loaded))
assert sim["final"]["contactors"] == "open", sim["final"]
assert all(c == 0.0 for ti, c in zip(t, cur) if ti > 13.5), "current after the trip"
# candump saw both directions with valid log lines.
ids = {}
for line in open(out + "/candump.log"):
    m = re.match(r"^\(\d+\.\d{6}\) \S+ ([0-9A-F]{3})#[0-9A-F]*$", line.strip())
    assert m, "bad candump line: " + line
    ids[m.group(1)] = ids.get(m.group(1), 0) + 1
for want in ("600", "601", "620", "640", "521", "680", "690"):
    assert ids.get(want, 0) > 0, ("no frames with id", want, ids)
assert ids["600"] >= 15 * 20, ids["600"]  # 2 rows x 10 Hz for at least 15 s
# canplayer read packsim's can.log: the replayed frames are the logged ones, in order.
strip = lambda l: l.split(" ", 2)[2].strip()
logged = [strip(l) for l in open(out + "/replay/part.log")]
replayed = [strip(l) for l in open(out + "/replayed.log")]
assert replayed == logged, (len(replayed), len(logged))
print("closed loop over SocketCAN ok:", bms["first_fault"], "after",
      round(bms["first_fault_s"] - bms["first_fault_onset_s"], 3), "s;", sum(ids.values()), "frames captured")
PY
}
vm_run_checked check "$WORK" guest_closed_loop.sh --bin "$PACKSIM" --bin "$REFBMS"
