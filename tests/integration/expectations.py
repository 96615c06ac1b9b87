#!/usr/bin/python3
"""Expectations end to end: exit codes, the verdict table, summary.json and junit.xml, the latter
read back by an independent JUnit reader (Debian's python3-junitparser) and checked against the
element and attribute rules Jenkins and GitLab document (testsuites > testsuite > testcase,
failure and error with a message attribute, counts and times as numbers).
  1. a scenario whose expectations all hold exits 0, junit.xml has no failures;
  2. the same with one expectation no BMS can meet exits 1, junit.xml names it with its message;
  3. a bad expectation exits 2 with file:line:col inside the included file;
  4. a run stopped by SIGINT leaves a complete junit.xml: what was undecided is an error;
and two equal runs write byte-identical junit.xml.
Run with the system interpreter: /usr/bin/python3 expectations.py PACKSIM WORKDIR
"""
import json
import os
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

from junitparser import Error, Failure, JUnitXml, Skipped

PACKSIM = os.path.abspath(sys.argv[1])
WORK = os.path.abspath(sys.argv[2])
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "scenarios")
os.makedirs(WORK, exist_ok=True)
FAILURES = []


def check(cond, msg):
    if not cond:
        FAILURES.append(msg)
        print("FAIL:", msg)


def run(scenario, out, *extra):
    return subprocess.run([PACKSIM, "run", scenario, "--out", out, "--no-progress", *extra],
                          capture_output=True, text=True)


def structure(path):
    """The JUnit rules, on the raw XML: which elements go where, which attributes they need."""
    root = ET.parse(path).getroot()
    check(root.tag == "testsuites", f"{path}: root is <{root.tag}>, not <testsuites>")
    for suite in root:
        check(suite.tag == "testsuite", f"{path}: <{suite.tag}> under <testsuites>")
        for attr in ("name", "tests", "failures", "errors", "skipped", "time"):
            check(attr in suite.attrib, f"{path}: testsuite without '{attr}'")
        for key in ("tests", "failures", "errors", "skipped"):
            check(suite.attrib.get(key, "x").isdigit(), f"{path}: testsuite {key} not a count")
        float(suite.attrib["time"])
        cases = [c for c in suite if c.tag == "testcase"]
        check(int(suite.attrib["tests"]) == len(cases), f"{path}: tests != number of testcases")
        check(int(suite.attrib["failures"]) ==
              sum(1 for c in cases for r in c if r.tag == "failure"), f"{path}: failures count")
        check(int(suite.attrib["errors"]) ==
              sum(1 for c in cases for r in c if r.tag == "error"), f"{path}: errors count")
        for child in suite:
            check(child.tag in ("properties", "testcase", "system-out", "system-err"),
                  f"{path}: <{child.tag}> in a testsuite")
        for case in cases:
            for attr in ("name", "classname", "time"):
                check(attr in case.attrib, f"{path}: testcase without '{attr}'")
            float(case.attrib["time"])
            results = [r for r in case if r.tag in ("failure", "error", "skipped")]
            check(len(results) <= 1, f"{path}: testcase {case.attrib['name']}: several results")
            for r in case:
                check(r.tag in ("failure", "error", "skipped", "system-out", "system-err"),
                      f"{path}: <{r.tag}> in a testcase")
                if r.tag in ("failure", "error"):
                    check(r.attrib.get("message"), f"{path}: <{r.tag}> without a message")
                    check(r.attrib.get("type"), f"{path}: <{r.tag}> without a type")


def read(path):
    """junit.xml through junitparser: {case name: (case, result or None)} and the one suite."""
    xml = JUnitXml.fromfile(path)
    suites = list(xml)
    check(len(suites) == 1, f"{path}: {len(suites)} suites, expected 1")
    suite = suites[0]
    cases = {}
    for case in suite:
        results = list(case.result)
        cases[case.name] = (case, results[0] if results else None)
    return suite, cases


def summary(out):
    with open(os.path.join(out, "summary.json")) as f:
        return json.load(f)


def outcome(scenario, name, want_rc):
    """Runs DATA/scenario into WORK/name, checks its exit code and junit.xml's structure; returns
    the run, the output directory and junit.xml read back."""
    out = os.path.join(WORK, name)
    r = run(os.path.join(DATA, scenario), out)
    check(r.returncode == want_rc, f"{scenario} exited {r.returncode}: {r.stdout}{r.stderr}")
    structure(os.path.join(out, "junit.xml"))
    return r, out, read(os.path.join(out, "junit.xml"))


NAMES = ["reaches normal", "opens on over-voltage", "trips before 4.35 V", "no current once open"]

# ---- 1. all hold ------------------------------------------------------------------------------
r, out, (suite, cases) = outcome("expect_ov_pass.toml", "pass", 0)
s = summary(out)
check(suite.name == "expectations: the BMS opens on over-voltage", f"suite name {suite.name!r}")
check((suite.tests, suite.failures, suite.errors, suite.skipped) == (4, 0, 0, 0),
      f"pass counts {suite.tests} {suite.failures} {suite.errors} {suite.skipped}")
check(abs(suite.time - 25.0) < 1e-9, f"suite time {suite.time} is not the simulated 25 s")
check(list(cases) == NAMES, f"case names {list(cases)}")
by_name = {x["name"]: x for x in s["expectations"]}
for name, (case, result) in cases.items():
    check(result is None, f"{name}: {result}")
    check(case.classname == "expect_ov_pass", f"{name}: classname {case.classname}")
    check(abs(case.time - round(by_name[name]["time_s"], 3)) < 1e-9,
          f"{name}: junit time {case.time} != summary {by_name[name]['time_s']}")
    check(by_name[name]["verdict"] == "pass", f"{name}: summary verdict {by_name[name]}")
    check(re.search(rf"^PASS +{re.escape(name)} ", r.stdout, re.M), f"no PASS line for {name}")
# The trip: the group jumps past 4.2 V at 20 s, the BMS sees it in the next AFE frame (100 ms
# period), trips after its 500 ms delay and the contactors open within one BMS cycle (10 ms).
opens = cases["opens on over-voltage"][0]
trip = s["bms"]["first_fault_s"]
check(abs(s["bms"]["first_fault_onset_s"] - 20.101) < 1e-9, f"onset {s['bms']}")
check(abs(trip - 20.601) < 1e-9, f"trip at {trip}")
check(trip < opens.time <= trip + 0.010, f"opened at {opens.time} s, tripped at {trip} s")
check("answered: 1" in (opens.system_out or ""), f"system-out {opens.system_out!r}")
check(s["expectations"][1]["form"] == "after", "summary form")

# ---- 2. one fails -----------------------------------------------------------------------------
r, out, (suite, cases) = outcome("expect_ov_fail.toml", "fail", 1)
junit = os.path.join(out, "junit.xml")
check((suite.tests, suite.failures, suite.errors) == (5, 1, 0),
      f"fail counts {suite.tests} {suite.failures} {suite.errors}")
case, result = cases["never above 4.2 V"]
check(isinstance(result, Failure), f"the failing case's result is {result!r}")
m = re.fullmatch(r"expected never: v_max > 4\.2 V; true at (\d+\.\d{3}) s \(v_max = (4\.\d+) V\)",
                 result.message or "")
check(m, f"failure message {result.message!r}")
if m:
    check(abs(float(m.group(1)) - case.time) < 1e-9, f"message time {m.group(1)} != {case.time}")
    check(float(m.group(2)) > 4.2, f"quoted v_max {m.group(2)}")
    check(20.0 < case.time < 21.0, f"crossed 4.2 V at {case.time}")
check(result.type == "never", f"failure type {result.type}")
check(result.text == result.message, "failure text is the message")
for name in NAMES:
    check(cases[name][1] is None, f"{name} should still pass: {cases[name][1]}")
check(re.search(r"^FAIL +never above 4\.2 V +\d+\.\d{3} s  expected never", r.stdout, re.M),
      f"no FAIL line: {r.stdout}")
v = {x["name"]: x for x in summary(out)["expectations"]}["never above 4.2 V"]
check(v["verdict"] == "fail" and v["message"] == result.message, f"summary {v}")
check(summary(out)["status"] == "completed", "a failed expectation is not a failed run")

# Same inputs and seed, same file: times are simulated, nothing from the wall clock.
again = os.path.join(WORK, "fail-again")
run(os.path.join(DATA, "expect_ov_fail.toml"), again)
with open(junit, "rb") as f1, open(os.path.join(again, "junit.xml"), "rb") as f2:
    check(f1.read() == f2.read(), "junit.xml differs between two equal runs")

# ---- 3. bad input -----------------------------------------------------------------------------
bad_dir = os.path.join(WORK, "bad")
os.makedirs(bad_dir, exist_ok=True)
with open(os.path.join(DATA, "expect_ov_pass.toml")) as f:
    text = f.read().replace('"../packs/', '"' + os.path.join(DATA, "..", "packs") + "/")
text = text.replace('expectations = ["expect_ov.expect.toml"]', 'expectations = ["bad.toml"]')
with open(os.path.join(bad_dir, "bad_expect.toml"), "w") as f:
    f.write(text)
with open(os.path.join(bad_dir, "bad.toml"), "w") as f:
    f.write('[[expect]]\nname = "opens"\nafter = "v_max > 4.2 V"\nwithin = "600 ms"\n'
            'expect = "not contactor_main_poss"\n')
r = run(os.path.join(bad_dir, "bad_expect.toml"), os.path.join(WORK, "bad-out"))
check(r.returncode == 2, f"bad expectation exited {r.returncode}")
# line 5, the quote at column 10, the name at column 5 inside the string
check(re.search(r"bad\.toml:5:15: .*condition \"not contactor_main_poss\": unknown quantity "
                r"'contactor_main_poss' \(did you mean 'contactor_main_pos'\?\)", r.stderr),
      f"bad expectation message: {r.stderr}")

# ---- 4. interrupted ---------------------------------------------------------------------------
out = os.path.join(WORK, "interrupted")
p = subprocess.Popen([PACKSIM, "run", os.path.join(DATA, "expect_ov_pass.toml"), "--out", out,
                      "--no-progress", "--duration", "100000 s"],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
time.sleep(2.0)
p.send_signal(signal.SIGINT)
stdout, stderr = p.communicate(timeout=120)
check(p.returncode == 128 + signal.SIGINT, f"interrupted run exited {p.returncode}: {stderr}")
junit = os.path.join(out, "junit.xml")
structure(junit)
suite, cases = read(junit)
check(summary(out)["status"] == "interrupted", "summary status")
check(cases["reaches normal"][1] is None, "reaches normal was decided before the stop")
for name in NAMES[1:]:
    result = cases[name][1]
    check(isinstance(result, Error), f"{name}: {result!r}")
    check(result is not None and result.message.startswith("not decided: the run stopped at ")
          and "(SIGINT)" in result.message, f"{name}: {result and result.message}")
check(suite.errors == 3 and suite.failures == 0, f"interrupted counts {suite.errors}")
check(not any(isinstance(c[1], Skipped) for c in cases.values()), "nothing is skipped")

if FAILURES:
    sys.exit(f"{len(FAILURES)} check(s) failed")
print("expectations: all checks passed")
