#!/bin/sh
# Guest side of vm.file_roundtrip: $1 is the sha256 of the input file data/in.bin (shipped with
# --file). Checks it, echoes it to $OUT_DIR, and writes a 2 MiB file of its own plus its checksum,
# and a few awkward names, for the host to check.
set -eu
expected=$1
got=$(sha256sum data/in.bin | cut -d' ' -f1)
[ "$got" = "$expected" ] || { echo "input checksum mismatch: $got != $expected"; exit 1; }
echo "input ok: $(wc -c <data/in.bin) bytes"
cp data/in.bin "$OUT_DIR/echo.bin"
head -c 2097152 /dev/urandom >"$OUT_DIR/gen.bin"
sha256sum "$OUT_DIR/gen.bin" | cut -d' ' -f1 >"$OUT_DIR/gen.sha256"
mkdir -p "$OUT_DIR/nested/dir with space"
printf 'line 1\nline 2\n' >"$OUT_DIR/nested/dir with space/it's a file.txt"
: >"$OUT_DIR/nested/empty"
cp config/settings.toml "$OUT_DIR/nested/settings.toml"
