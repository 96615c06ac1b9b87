#!/usr/bin/env bash
# Host side: CAN FD end to end over SocketCAN (guest_fd.sh), then checks the closed loop, the
# captured FD frames (decoded with packsim's own DBC tools from the kernel's capture) and the
# refusal on a classic interface.
# Usage: fd.sh PACKSIM PACKSIM_REFBMS WORKDIR
set -euo pipefail
PACKSIM=$1 REFBMS=$2 WORK=$3
source "$(dirname "$0")/lib.sh"
check() {
OUT="$WORK/out"
"$PACKSIM" dbc decode --profile packsim_fd --pack "$ROOT/tests/data/packs/kokam_12s2p.toml" --json \
  "$OUT/candump.log" >"$WORK/decoded.jsonl"
python3 - "$OUT" "$WORK/decoded.jsonl" <<'PY'
import csv, json, sys
out, decoded = sys.argv[1], sys.argv[2]
sim = json.load(open(out + "/sim/summary.json"))
bms = json.load(open(out + "/bms/refbms.json"))
can = sim["can"]
assert sim["status"] == "completed", sim["status"]
assert can["buses"][0]["fd"] is True, can["buses"]
assert can["frames_not_sent"] == 0 and can["simulator"]["rx_frames"] > 0, can
assert bms["decoder"]["e2e_bad_crc"] == 0 and bms["decoder"]["rx_malformed"] == 0, bms["decoder"]
assert bms["state"] == "normal" and bms["faults"] == "", (bms["state"], bms["faults"])
# The contactors closed and the pack carried its 0.5C load (2 x 27.76 A / 2) until the BMS process
# ended at 9 s (then the command timeout opens them, as it should).
rows = list(csv.DictReader(open(out + "/sim/signals.csv")))
closed = [(float(r["time_s"]), float(r["current_a"])) for r in rows if r["main_pos"] == "1"]
assert closed and closed[-1][0] - closed[0][0] >= 5.0, closed[:1] + closed[-1:]
assert all(abs(c - 27.76) < 0.05 for t, c in closed if closed[0][0] + 0.5 < t < 8.5), closed
# The kernel's capture: 64-byte FD frames of both modules, every cell voltage in range.
fd_frames, volts = 0, []
for line in open(decoded):
    d = json.loads(line)
    if d.get("message", "") and d["message"].startswith("AFE_ModuleFD"):
        assert d["len"] == 64, d
        fd_frames += 1
        volts += [v["value"] for k, v in d["signals"].items() if k.startswith("CellVoltage") and v["value"] > 0]
assert fd_frames >= 2 * 9 * 10, fd_frames  # two modules at 10 Hz for at least 9 s
assert volts and all(3.3 < v < 4.2 for v in volts), (min(volts), max(volts))
classic_rc = int(open(out + "/classic.rc").read())
err = open(out + "/classic.err").read()
assert classic_rc != 0 and "classic CAN only (MTU 16)" in err, (classic_rc, err)
# Link control from the run: --txqueuelen applied before the start, the controller read off the
# tick thread (a vcan has no controller: one reading says "unknown", and packsim stops asking).
assert open(out + "/txqueuelen").read().strip() == "700"
links = can["links"]
assert len(links) == 1 and links[0]["readings"] == 1, links
assert links[0]["state"] == "unknown" and links[0]["has_counters"] is False, links
bitrate_rc = int(open(out + "/bitrate.rc").read())
err = open(out + "/bitrate.err").read()
assert bitrate_rc == 1 and "setting the bitrate failed" in err, (bitrate_rc, err)
assert ",UP" in open(out + "/bitrate.link").read() or "<UP" in open(out + "/bitrate.link").read()
print("CAN FD over SocketCAN ok:", fd_frames, "module frames captured; classic interface refused;",
      "link control applied")
PY
}
vm_run_checked check "$WORK" guest_fd.sh --bin "$PACKSIM" --bin "$REFBMS"
