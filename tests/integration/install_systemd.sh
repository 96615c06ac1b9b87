#!/usr/bin/env bash
# The bench unit as the .deb installs it (prefix /usr, into a throw-away root with DESTDIR):
# systemd-analyze verify accepts it without a warning (tools/bootstrap installs systemd); its
# ExecStartPre and ExecStart, with the instance and an environment file substituted as systemd
# does, run a short real-time scenario and keep the previous run's outputs; SIGTERM (systemctl
# stop) ends a run with an exit status the unit counts as success, outputs complete.
#   install_systemd.sh PACKSIM BUILD_DIR CMAKE
source "$(dirname "$0")/lib.sh"
# The system interpreter for the JSON checks (standard library only): a shim in PATH, such as
# pyenv's, can cost a second a call.
if [ -x /usr/bin/python3 ]; then python3() { /usr/bin/python3 "$@"; }; fi
BUILD=$(realpath "${2:?build dir}")
CMAKE=${3:?cmake}
R=$TMP/root
DESTDIR=$R "$CMAKE" --install "$BUILD" --prefix /usr >"$TMP/install.log"
UNIT=$R/usr/lib/systemd/system/packsim-bench@.service
[ -f "$UNIT" ] || fail "no unit at /usr/lib/systemd/system"
[ -f "$R/etc/packsim/bench/example.env" ] || fail "no example environment file in /etc/packsim/bench"
for d in "DynamicUser=yes" "StateDirectory=packsim" "LimitRTPRIO=99" "LimitMEMLOCK=infinity" \
  "AmbientCapabilities=CAP_SYS_NICE CAP_IPC_LOCK CAP_NET_ADMIN" "Restart=on-failure" \
  "EnvironmentFile=/etc/packsim/bench/%i.env" "RestartPreventExitStatus=2"; do
  grep -qxF "$d" "$UNIT" || fail "the unit lacks $d"
done
grep -q '^ExecStart=/usr/bin/packsim run ' "$UNIT" || fail "ExecStart does not run /usr/bin/packsim"

# The shipped example names a scenario that exists and checks.
scenario=$(sed -n 's/^SCENARIO=//p' "$R/etc/packsim/bench/example.env")
"$R/usr/bin/packsim" check "$R$scenario" >/dev/null || fail "example.env's scenario $scenario"

command -v systemd-analyze >/dev/null || fail "systemd-analyze not found (tools/bootstrap installs systemd)"
{
  # The root needs what verify resolves: /bin/sh for ExecStartPre and the targets the unit
  # orders itself against by default.
  mkdir -p "$R/bin"
  cp /bin/sh "$R/bin/sh"
  for t in sysinit basic shutdown multi-user network local-fs sockets timers paths slices; do
    for d in /usr/lib/systemd/system /lib/systemd/system; do
      [ ! -e "$d/$t.target" ] || { cp "$d/$t.target" "$R/usr/lib/systemd/system/"; break; }
    done
  done
  cp "$R/etc/packsim/bench/example.env" "$R/etc/packsim/bench/verify.env"
  set +e
  systemd-analyze verify --man=no --root="$R" packsim-bench@verify.service >"$TMP/verify" 2>&1
  rc=$?
  set -e
  [ $rc -eq 0 ] && [ ! -s "$TMP/verify" ] || { cat "$TMP/verify" >&2; fail "systemd-analyze verify: $rc"; }
  echo "systemd-analyze verify: clean"
}

# argv of a unit's Exec line as systemd builds it: specifiers (%i, %%), then words (quotes),
# then variables: "$VAR" alone is split at whitespace, "${VAR}" is one word (empty included),
# "$$" is a "$". Paths under /usr, /etc/packsim and /var/lib/packsim land in the test's root.
exec_argv() { # exec_argv KEY INSTANCE
  python3 - "$UNIT" "$1" "$2" "$R" <<'PY'
import re, shlex, sys
unit, key, instance, root = sys.argv[1:5]
text = open(unit).read()
def spec(s):
    return re.sub(r"%([i%])", lambda m: instance if m.group(1) == "i" else "%", s)
def rooted(w):
    for p in ("/usr/", "/etc/packsim/", "/var/lib/packsim"):
        if w.startswith(p):
            return root + w
    return w
envfile = rooted(spec(re.search(r"^EnvironmentFile=(.*)$", text, re.M).group(1)))
env = {}
for line in open(envfile):
    line = line.strip()
    if line and line[0] not in "#;":
        k, v = line.split("=", 1)
        v = v.strip()
        if len(v) >= 2 and v[0] == v[-1] and v[0] in "'\"":
            v = v[1:-1]
        env[k.strip()] = v
line = re.search(rf"^{key}=(.*)$", text, re.M).group(1)
argv = []
for w in shlex.split(spec(line)):
    m = re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", w)
    if m:
        argv += [rooted(x) for x in env.get(m.group(1), "").split()]
        continue
    w = re.sub(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)",
               lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1) or m.group(2), ""), w)
    argv.append(rooted(w))
sys.stdout.write("\0".join(argv) + "\0")
PY
}
run_unit() { # run_unit KEY INSTANCE: runs the line, returns its exit status
  local argv
  mapfile -d '' argv < <(exec_argv "$1" "$2")
  [ ${#argv[@]} -gt 0 ] || fail "$1: no command"
  "${argv[@]}"
}

# A dry run on the loopback (CAN empty, the in-process reference BMS), in real time at 10x with
# the priority and memory locking a bench asks for; packsim reports any it cannot have.
cat >"$R/etc/packsim/bench/t1.env" <<'EOF'
# test bench
SCENARIO=/usr/share/packsim/scenarios/demo.toml
CAN=
OPTIONS=--bms reference --duration 2s --realtime --speed 10 --priority 80 --mlock -q
EOF
OUT=$R/var/lib/packsim/t1
for k in 1 2; do
  run_unit ExecStartPre t1 || fail "ExecStartPre $k"
  run_unit ExecStart t1 2>"$TMP/err$k" || { cat "$TMP/err$k" >&2; fail "ExecStart run $k"; }
  [ "$(json_get "$OUT/latest/summary.json" '["status"]')" = completed ] || fail "run $k status"
  [ "$(json_get "$OUT/latest/summary.json" '["realtime"]["ticks"]')" = 2000 ] || fail "run $k not in real time"
  [ "$(json_get "$OUT/latest/summary.json" '["bms"]["state"]')" = normal ] || fail "run $k BMS state"
  [ -s "$OUT/latest/signals.csv" ] && [ -s "$OUT/latest/can.log" ] || fail "run $k outputs"
  cp "$OUT/latest/summary.json" "$TMP/summary$k.json"
done
# The second start kept the first run's outputs.
cmp -s "$OUT/previous/summary.json" "$TMP/summary1.json" || fail "previous run's outputs not kept"

# The unit runs as a dynamic user with only its ambient capabilities: as nobody with exactly
# those (and no others in the bounding set), the tick thread still gets its SCHED_FIFO priority
# and the memory lock (CAP_SYS_NICE, CAP_IPC_LOCK bypass RLIMIT_RTPRIO and RLIMIT_MEMLOCK).
caps=$(sed -n 's/^AmbientCapabilities=//p' "$UNIT" | tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g')
[ "$caps" = "+sys_nice,+ipc_lock,+net_admin" ] || fail "unexpected ambient capabilities: $caps"
command -v setpriv >/dev/null || fail "setpriv not found (util-linux)"
U=$TMP/unprivileged
mkdir -p "$U"
chmod a+rx "$TMP"  # mktemp's folder is the owner's only; nobody reads the installed tree in it
chown 65534:65534 "$U"
setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps="-all,$caps" \
  --ambient-caps="$caps" --bounding-set="-all,$caps" -- \
  "$R/usr/bin/packsim" run "$R/usr/share/packsim/scenarios/demo.toml" --bms reference \
  --duration 1s --realtime --speed 10 --priority 80 --mlock -q --out "$U/out" \
  2>"$TMP/unpriv.err" || { cat "$TMP/unpriv.err" >&2; fail "the run as nobody with the unit's capabilities"; }
setup=$(python3 -c 'import json,sys; print("|".join(json.load(open(sys.argv[1]))["realtime"]["setup"]))' \
  "$U/out/summary.json")
case "$setup" in *"SCHED_FIFO priority 80"*) ;; *) fail "as nobody: no SCHED_FIFO ($setup)" ;; esac
case "$setup" in *"memory locked"*) ;; *) fail "as nobody: memory not locked ($setup)" ;; esac
# And without them the same run says what it could not have (the check above can fail).
setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all -- \
  "$R/usr/bin/packsim" run "$R/usr/share/packsim/scenarios/demo.toml" --bms reference \
  --duration 1s --realtime --speed 10 --priority 80 --mlock -q --out "$U/out2" \
  2>"$TMP/unpriv2.err" || true
grep -q "cannot set SCHED_FIFO priority 80" "$TMP/unpriv2.err" "$U/out2/summary.json" 2>/dev/null ||
  { cat "$TMP/unpriv2.err" >&2; fail "without capabilities: no word of the missing SCHED_FIFO"; }

# systemctl stop sends SIGTERM: packsim stops within a tick, writes complete outputs and exits
# 128+15, which the unit lists as success (no restart, no "failed" state).
cat >"$R/etc/packsim/bench/t2.env" <<'EOF'
SCENARIO=/usr/share/packsim/scenarios/demo.toml
CAN=
OPTIONS=--bms reference --duration 1h --realtime -q
EOF
run_unit ExecStartPre t2
mapfile -d '' argv < <(exec_argv ExecStart t2)
set +e
"${argv[@]}" &
pid=$!
sleep 1
kill -TERM "$pid"
wait "$pid"
rc=$?
set -e
[ $rc -eq 143 ] || fail "SIGTERM: exit $rc, expected 143"
grep -q '^SuccessExitStatus=.*\b143\b' "$UNIT" || fail "143 is not a success exit status of the unit"
[ "$(json_get "$R/var/lib/packsim/t2/latest/summary.json" '["status"]')" = interrupted ] ||
  fail "stopped run's summary"
echo ok
