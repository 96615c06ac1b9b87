#!/usr/bin/env bash
# Host side: garbage flood. The simulator must finish on time with every frame of every tick sent,
# and count what it rejected. Usage: garbage.sh PACKSIM WORKDIR
set -euo pipefail
PACKSIM=$1 WORK=$2
source "$(dirname "$0")/lib.sh"
check() {
python3 - "$WORK/out" <<'PY'
import json, re, sys
out = sys.argv[1]
s = json.load(open(out + "/sim/summary.json"))
assert s["status"] == "completed" and s["ticks"] == 1200, (s["status"], s["ticks"])
# The tick kept going: every tick ran and recorded, the typical tick (compute p50) stayed inside
# its period while the flood was read, and frames went out late only in a tick that overran. (The
# tail is not bounded here: under TCG emulation cangen, candump and packsim share the guest's
# CPUs and the host may be busy with other tests; latency figures belong to the benchmark.)
rt = s["realtime"]
assert rt["ticks"] == 1200 and rt["records_dropped"] == 0, rt
assert rt["compute_us"]["p50"] < rt["period_us"], rt["compute_us"]
assert rt["frames_late"] == 0 or rt["overruns"] > 0, rt
print("tick under the flood: compute p50", rt["compute_us"]["p50"], "us, p99",
      rt["compute_us"]["p99"], "us,", rt["overruns"], "overruns of", rt["ticks"])
sim = s["can"]["simulator"]
bus = s["can"]["buses"][0]
err_sent = int(open(out + "/error_frames_sent").read())
assert open(out + "/flood_inside_run").read().strip() == "1", "the garbage outlasted the 12 s run"
frames = [l for l in open(out + "/candump.log") if l.startswith("(")]
# Every frame on the bus is accounted for: what packsim's socket received or dropped is exactly what
# the capture saw besides packsim's own frames, plus the error frames (candump without -e leaves
# those out). cangen -i may skip frames on ENOBUFS, so the count comes from the capture, not -n.
assert bus["rx_frames"] + bus["error_frames"] + bus["rx_dropped"] == \
    len(frames) - sim["tx_frames"] + err_sent, (bus, len(frames), err_sent)
# ... and each received frame lands in exactly one count.
assert (sim["rx_frames"] + sim["rx_unknown"] + sim["rx_malformed"] + sim["e2e_bad_crc"] +
        sim["e2e_repeated"] + sim["e2e_lost"]) == bus["rx_frames"], (sim, bus)
lost = bus["rx_dropped"]                        # a socket overflow may eat some of the garbage
assert sim["rx_unknown"] > 30000, sim           # random ids
assert sim["rx_malformed"] >= 400 - lost, sim   # 200 x 680#01 and 200 x 690#FF
assert sim["e2e_bad_crc"] >= 200 - lost, sim    # 200 x 680 with a wrong CRC
assert sim["rx_error_frames"] == bus["error_frames"] and bus["error_frames"] >= err_sent - lost, bus
# Nothing garbage got accepted, except what the E2E check cannot tell from a real frame: a random
# frame with one of our ids, the right length and (1 in 256) a valid CRC-8. Count those in the
# capture and allow no more.
def crc8_j1850(data):
    reg = 0xFF
    for b in data:
        reg ^= b
        for _ in range(8):
            reg = ((reg << 1) ^ 0x1D) & 0xFF if reg & 0x80 else (reg << 1) & 0xFF
    return reg ^ 0xFF
data_ids = {"680": 0x0680, "690": 0x0690, "691": 0x0691}   # BMS_Command, BMS_Balancing (2 modules: data id + module)
valid = 0
for line in open(out + "/candump.log"):
    m = re.match(r"^\(\d+\.\d{6}\) \S+ ([0-9A-F]{3})#([0-9A-F]*)$", line.strip())
    if not m or m.group(1) not in data_ids or len(m.group(2)) != 16:
        continue
    b = bytes.fromhex(m.group(2))
    did = data_ids[m.group(1)]
    if crc8_j1850([did & 0xFF, did >> 8] + list(b[:7])) == b[7]:
        valid += 1
assert sim["rx_frames"] <= valid, (sim, "frames passing E2E in the capture:", valid)
print("frames passing E2E by chance in the capture:", valid, "accepted:", sim["rx_frames"])
assert s["can"]["frames_not_sent"] == 0 and bus["tx_queue_full"] == 0, bus
assert s["final"]["contactors"] == "open", s["final"]
# Every frame of every tick went out: exactly the profile's rate times the duration plus the 7
# frames due at t = 0 (closed_loop.sh says which), and on the bus at least that many (the random
# ids may hit ours too).
assert sim["tx_frames"] == round(s["can"]["frames_per_second"] * 12) + 7, (sim["tx_frames"], s["can"]["frames_per_second"])
count = {}
for line in open(out + "/candump.log"):
    m = re.match(r"^\(\d+\.\d{6}\) \S+ ([0-9A-F]+)#", line)
    if m:
        count[m.group(1)] = count.get(m.group(1), 0) + 1
assert count.get("600", 0) >= 12 * 10 * 2, count.get("600")
assert count.get("521", 0) >= 1200, count.get("521")
print("garbage counted:", {k: sim[k] for k in ("rx_unknown", "rx_malformed", "e2e_bad_crc")},
      "error frames:", bus["error_frames"], "(sent", err_sent, ")")
PY
}
vm_run_checked check "$WORK" guest_garbage.sh --bin "$PACKSIM"
