#!/usr/bin/env bash
# Host side: two interfaces, one of them downed, deleted and re-created during the run. Usage:
# link_survival.sh PACKSIM WORKDIR
set -euo pipefail
PACKSIM=$1 WORK=$2
source "$(dirname "$0")/lib.sh"
check() {
python3 - "$WORK/out" <<'PY'
import json, re, sys
out = sys.argv[1]
s = json.load(open(out + "/sim/summary.json"))
assert s["status"] == "completed" and s["ticks"] == 1400, (s["status"], s["ticks"])
buses = {b["logical"]: b for b in s["can"]["buses"]}
afe, sensor = buses["afe"], buses["sensor"]
assert afe["down_events"] == 0 and afe["tx_failed"] == 0, afe
assert sensor["down_events"] >= 2, sensor      # ENETDOWN, then ENODEV
assert sensor["reopens"] >= 1, sensor          # a new socket once the interface was back
assert sensor["state"] != "down", sensor
assert s["can"]["frames_not_sent"] > 0, s["can"]  # counted while the interface was away
# The AFE bus never missed a frame; the sensor bus carried frames again after the re-creation.
ids = {}
for line in open(out + "/after_recreate.log"):
    m = re.match(r"^\(\d+\.\d{6}\) \S+ ([0-9A-F]+)#", line)
    if m:
        ids[m.group(1)] = ids.get(m.group(1), 0) + 1
assert ids.get("521", 0) > 50, ids
print("survived: sensor bus", {k: sensor[k] for k in ("down_events", "reopens", "tx_failed", "state")},
      "; frames not sent", s["can"]["frames_not_sent"], "; 0x521 frames after re-creation", ids.get("521"))
PY
}
vm_run_checked check "$WORK" guest_link_survival.sh --bin "$PACKSIM"
