#!/usr/bin/env bash
# Injected CAN and sensor faults, end to end on the embedded default: each reaches the reference
# BMS the way it would on a real bus, and the BMS trips on it within its configured times.
source "$(dirname "$0")/lib.sh"
# variant NAME EVENT: the closed-loop scenario with its 20 s event replaced by EVENT.
variant() {
  sed -e "s/^afe_offset = .*/$2/" -e 's|"../packs/|"'"$PWD"'/tests/data/packs/|' \
    tests/data/scenarios/closed_loop_ov.toml >"$TMP/$1.toml"
  "$PACKSIM" run "$TMP/$1.toml" --out "$TMP/$1" -q
}
variant drop 'can_fault = { message = "AFE_CellVoltages", module = 1, mode = "drop", duration = "3 s" }'
variant crc 'can_fault = { message = "AFE_CellVoltages", mode = "corrupt_crc", duration = "3 s" }'
variant stale 'can_fault = { message = "AFE_CellVoltages", module = 1, mode = "repeat_counter", duration = "3 s" }'
variant ivt 'can_fault = { message = "IVT_Msg_Result_I", mode = "drop" }'
variant short 'can_fault = { message = "AFE_Status", mode = "short_frame", duration = "1 s" }'
variant ntc 'ntc_offset = { sensor = 3, offset = "50 K" }'
python3 - "$TMP" <<'PY'
import json, sys
out = sys.argv[1]
def get(name):
    s = json.load(open(f"{out}/{name}/summary.json"))
    return s, s["bms"], s["bms"]["decoder"], s["can"]["simulator"]
problems = []
def check(name, cond, what):
    if not cond:
        problems.append(f"{name}: {what}")

# Module 1's voltage frames lost for 3 s: the BMS reports that module one timeout after its last
# frame (rounded up to its 10 ms cycle); when they come back, E2E sees the counter jump over the
# frames that never arrived (here further than max_delta: the first frame back is rejected as a
# wrong sequence, and the BMS resynchronises on it).
s, b, dec, sim = get("drop")
check("drop", b["first_fault"] == "AFE data lost" and b["first_fault_module"] == 1, b)
check("drop", sim["tx_faulted"] > 0 and dec["e2e_lost"] >= 1, (sim, dec))
check("drop", 0.5 <= b["first_fault_s"] - b["first_fault_onset_s"] <= 0.61, b)
check("drop", 20.0 <= b["first_fault_s"] <= 20.7, b)
# Every voltage frame with a wrong CRC: rejected and counted; more than 5 in 1 s trips.
s, b, dec, sim = get("crc")
check("crc", b["first_fault"] == "AFE data corrupt", b)
check("crc", dec["e2e_bad_crc"] >= 6 and 20.0 <= b["first_fault_s"] <= 20.2, (dec, b))
# A counter that stops: the BMS sees repeated counters (stale data).
s, b, dec, sim = get("stale")
check("stale", b["first_fault"] == "AFE data corrupt", b)
check("stale", dec["e2e_repeated"] >= 6 and dec["e2e_bad_crc"] == 0, dec)
# The current sensor silent from 20 s: lost after 500 ms.
s, b, dec, sim = get("ivt")
check("ivt", b["first_fault"] == "current sensor lost", b)
check("ivt", abs(b["first_fault_s"] - 20.5) <= 0.011, b)
# Status frames one byte short: malformed, rejected, counted (not decoded as garbage).
s, b, dec, sim = get("short")
check("short", dec["rx_malformed"] == sim["tx_faulted"] and dec["rx_malformed"] > 0, (dec, sim))
# A temperature sensor reading 50 K high: over-temperature on that sensor after its 1 s delay.
s, b, dec, sim = get("ntc")
check("ntc", b["first_fault"] == "over-temperature" and b["first_fault_sensor"] == 3, b)
check("ntc", abs(b["first_fault_s"] - b["first_fault_onset_s"] - 1.0) <= 0.011, b)
for p in problems:
    print("FAIL:", p)
sys.exit(1 if problems else 0)
PY

# The current sensor's error bits reach the wire: foxBMS 2's IVT-S frames decoded from can.log.
sed -e 's|^pack = "../configs/|pack = "'"$PWD"'/configs/|' scenarios/foxbms2_bench.toml >"$TMP/fox.toml"
cat >>"$TMP/fox.toml" <<'EOF2'

[[event]]
at = "1 s"
sensor_error = 1
EOF2
"$PACKSIM" run "$TMP/fox.toml" --duration "2 s" --out "$TMP/fox" -q 2>/dev/null
"$PACKSIM" dbc decode --profile foxbms2 --json "$TMP/fox/can.log" >"$TMP/fox.jsonl"
python3 - "$TMP/fox.jsonl" <<'PY'
import json, sys
before = after = 0
for line in open(sys.argv[1]):
    d = json.loads(line)
    if d["id"] != 0x521:  # the IVT-S current result
        continue
    flag = d["signals"]["IVT_Result_I_System_Error"]["raw"]
    if d["t"] < 1.0:
        assert flag == 0, d
        before += 1
    elif d["t"] > 1.0:
        assert flag == 1, d
        after += 1
assert before > 50 and after > 50, (before, after)
print("sensor error bit: clear in", before, "frames before 1 s, set in", after, "after")
PY

# Faults that cannot apply are config errors, located.
sed -e 's/^afe_offset = .*/can_fault = { message = "IVT_Msg_Result_I", mode = "corrupt_crc" }/' \
  -e 's|"../packs/|"'"$PWD"'/tests/data/packs/|' tests/data/scenarios/closed_loop_ov.toml >"$TMP/bad.toml"
set +e
"$PACKSIM" check "$TMP/bad.toml" 2>"$TMP/err"
rc=$?
set -e
[ $rc -eq 2 ] || fail "bad can_fault: exit code $rc"
grep -q "bad.toml:[0-9]*:[0-9]*: can_fault: IVT_Msg_Result_I carries no CRC to corrupt" "$TMP/err" ||
  fail "bad can_fault message: $(cat "$TMP/err")"
echo ok
