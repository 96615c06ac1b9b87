# Shared helpers for the CLI integration tests. Each test script gets the packsim binary as $1 and
# runs from the source directory.
set -euo pipefail
PACKSIM=${1:?usage: $0 PACKSIM_BINARY}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
# JSON queries with the system Python (standard library only).
json_get() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval("d"+sys.argv[2]))' "$1" "$2"; }
