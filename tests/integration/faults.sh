# Faults triggered by time and by state (tests/data/scenarios/faults_when.toml): events.csv lists
# every start, step, ramp end and stop at its tick; summary.json has each fault's onset and end;
# a rerun is byte-identical.
source "$(dirname "$0")/lib.sh"
SC=tests/data/scenarios/faults_when.toml
"$PACKSIM" run "$SC" --out "$TMP/a" -q
"$PACKSIM" run "$SC" --out "$TMP/b" -q
for f in events.csv signals.csv; do
  cmp "$TMP/a/$f" "$TMP/b/$f" || fail "$f differs between identical runs"
done
# The reference BMS reaches normal at 0.28 s: precharge from 0.08 s, 200 ms of precharge and
# overlap. Its init ends once every source has delivered; with the frames due at t = 0 sent, the
# last to come is the temperature row at its 50 ms phase (before, the voltage rows at 100 ms, one
# period late: precharge from 0.12 s, normal at 0.32 s). The short starts 2 s later and steps at
# +5 s and +10 s; the ambient ramp ends 10 s after 5 s; the offset's `when` and `until` hold on the
# SOC the 1C discharge reaches; the CAN drop lasts 500 ms. All at tick starts (10 ms ticks).
cat >"$TMP/want.csv" <<'CSV'
time_s,source,kind,target,action,value,label
2.280,fault,internal_short,cell 7,start,1000,soft short hardens
5.000,fault,ambient,pack,start,298.15,
7.280,fault,internal_short,cell 7,step,10,soft short hardens
12.280,fault,internal_short,cell 7,step,1,soft short hardens
15.000,fault,ambient,pack,ramp_end,308.15,
18.200,fault,afe_offset,channel 3,start,0.03,
19.990,fault,afe_offset,channel 3,stop,0,
20.010,fault,can_drop,message IVT_Msg_Result_I,start,0,
20.510,fault,can_drop,message IVT_Msg_Result_I,stop,0,
22.280,fault,internal_short,cell 7,stop,0,soft short hardens
CSV
diff -u "$TMP/want.csv" "$TMP/a/events.csv" || fail "events.csv is not as expected"
python3 - "$TMP/a/summary.json" <<'PY' || fail "summary.json faults section"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["status"] == "completed", d["status"]
got = [(f["kind"], f["target"], f["onset_s"], f["end_s"]) for f in d["faults"]]
want = [("internal_short", "cell 7", 2.28, 22.28), ("ambient", "pack", 5.0, None),
        ("afe_offset", "channel 3", 18.2, 19.99),
        ("can_drop", "message IVT_Msg_Result_I", 20.01, 20.51), ("heater", "cell 0", None, None)]
assert got == want, got
assert d["faults"][0]["label"] == "soft short hardens"
assert d["cells"] == {"vented": 0, "runaway": 0, "events": [], "model_events": 0,
                      "model_events_dropped": 0}, d["cells"]
assert d["outputs"]["events_csv"]["rows"] == 10, d["outputs"]["events_csv"]
# The short's heat is in the books.
assert d["energy"]["heat_kj"]["internal_short"] > 0
assert d["can"]["simulator"]["tx_faulted"] > 0
PY
head -1 "$TMP/a/signals.csv" | grep -q ',segment,vented_cells,runaway_cells,hottest_cell,vent_gas_g_per_s,insulation_ohm,segment_label,' ||
  fail "signals.csv lacks the fault columns"
# An external BMS's state comes from the packsim profile's bms_state binding: accepted.
sed 's/^period = "10 ms"$/mode = "external"/' "$SC" >"$TMP/ext.toml"
sed -i 's|"\.\./packs/|"'"$PWD"'/tests/data/packs/|' "$TMP/ext.toml"
"$PACKSIM" check "$TMP/ext.toml" >/dev/null 2>"$TMP/err" ||
  { cat "$TMP/err"; fail "bms_state with an external BMS on the packsim profile refused"; }
# Without a BMS there is no state to watch: refused at load time, at the condition.
sed 's/^period = "10 ms"$/mode = "none"/' "$SC" >"$TMP/none.toml"
sed -i 's|"\.\./packs/|"'"$PWD"'/tests/data/packs/|' "$TMP/none.toml"
if "$PACKSIM" check "$TMP/none.toml" 2>"$TMP/err"; then fail "bms_state without a BMS accepted"; fi
grep -q 'none.toml:25:8: a condition uses bms_state, but \[bms\] mode is "none"' "$TMP/err" ||
  { cat "$TMP/err"; fail "no located error for bms_state without a BMS"; }
echo "faults: events.csv and summary.json as expected"
