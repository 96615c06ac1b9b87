#!/usr/bin/env bash
# Host side: two scenarios of the library over real SocketCAN in the VM, the reference BMS in its
# own process (packsim --bms external): each must exit 0 with every expectation passed, in
# junit.xml as in summary.json, the BMS's side (bms_state, its reports) decoded from its frames.
# Usage: library.sh PACKSIM PACKSIM_REFBMS WORKDIR
set -euo pipefail
PACKSIM=$1 REFBMS=$2 WORK=$3
source "$(dirname "$0")/lib.sh"
check() {
/usr/bin/python3 - "$WORK/out" <<'PY'
import json, sys
from junitparser import Error, Failure, JUnitXml
out = sys.argv[1]
for name in ("afe_offset", "can_corrupt_crc"):
    sim = json.load(open(f"{out}/{name}/sim/summary.json"))
    assert sim["status"] == "completed", (name, sim["status"])
    assert sim["can"]["transport"] == "socketcan" and sim["can"]["bms_mode"] == "external", sim["can"]
    verdicts = {e["name"]: (e["verdict"], e["message"]) for e in sim["expectations"]}
    assert len(verdicts) >= 4 and all(v == "pass" for v, _ in verdicts.values()), (name, verdicts)
    # The BMS's side came over the bus: its state went to fault, its SOC estimate is near the truth.
    bms = sim["bms"]
    assert bms["state"] == "fault", (name, bms["state"])
    assert abs(sim["scores"]["soc_error"]["rms"]) < 0.02, sim["scores"]
    assert sim["scores"]["detected"] and sim["scores"]["false_alarms"] == 0, sim["scores"]
    cases = list(list(JUnitXml.fromfile(f"{out}/{name}/sim/junit.xml"))[0])
    assert {c.name for c in cases} == set(verdicts), (name, [c.name for c in cases])
    assert not [r for c in cases for r in c.result if isinstance(r, (Failure, Error))], name
    print(f"{name} over SocketCAN: {len(cases)} expectations passed, detected after",
          sim["scores"]["detection_latency_s"], "s")
PY
}
vm_run_checked check "$WORK" guest_library.sh --bin "$PACKSIM" --bin "$REFBMS" \
  --file "$ROOT/configs:configs" --file "$ROOT/scenarios/library:scenarios/library"
