#!/usr/bin/env bash
# Host side: garbage flood. The simulator must finish on time with every frame of every tick sent,
# and count what it rejected. Usage: garbage.sh PACKSIM WORKDIR
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
PACKSIM=$1 WORK=$2
rm -rf "$WORK"
mkdir -p "$WORK"
"$ROOT/tools/vcan-vm/run" --timeout 240 --mem 1024 --out "$WORK/out" --bin "$PACKSIM" \
  --file "$ROOT/tests/data/scenarios:tests/data/scenarios" --file "$ROOT/tests/data/packs:tests/data/packs" \
  --file "$ROOT/models:models" --file "$ROOT/profiles:profiles" \
  -- "$(dirname "$0")/guest_garbage.sh"
python3 - "$WORK/out" <<'PY'
import json, re, sys
out = sys.argv[1]
s = json.load(open(out + "/sim/summary.json"))
assert s["status"] == "completed" and s["ticks"] == 1200, (s["status"], s["ticks"])
sim = s["can"]["simulator"]
assert sim["rx_unknown"] > 1000, sim            # random ids
assert sim["rx_malformed"] >= 200, sim          # 680#01 and 690#FF
assert sim["e2e_bad_crc"] >= 100, sim           # 680 with a wrong CRC
assert sim["rx_frames"] == 0, sim               # nothing garbage got accepted
err_sent = int(open(out + "/error_frames_sent").read())
bus = s["can"]["buses"][0]
if err_sent:
    assert bus["error_frames"] > 0, bus
assert s["can"]["frames_not_sent"] == 0 and bus["tx_queue_full"] == 0, bus
assert s["final"]["contactors"] == "open", s["final"]
# Every frame of every tick went out: exactly the profile's rate times the duration, and on the
# bus at least that many (the random ids may hit ours too).
assert sim["tx_frames"] == round(s["can"]["frames_per_second"] * 12), (sim["tx_frames"], s["can"]["frames_per_second"])
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
