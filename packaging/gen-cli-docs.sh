#!/usr/bin/env bash
# Man pages and bash completion from the executables' own --help (CLI11), so neither can drift
# from the options the binaries really take. Walks every subcommand, nested ones included.
#   gen-cli-docs.sh OUT_DIR VERSION EXTRA_H2M BINARY...
# writes OUT_DIR/man1/<page>.1.gz (packsim.1, packsim-run.1, packsim-dbc-export.1, ...) and
# OUT_DIR/bash-completion/<binary>. Needs help2man, gzip, sed.
set -euo pipefail
out=${1:?usage: $0 OUT_DIR VERSION EXTRA_H2M BINARY...}
version=${2:?}
extra_h2m=${3:?}
shift 3
command -v help2man >/dev/null || { echo "gen-cli-docs: help2man not found" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/man1" "$tmp/bash-completion"

# help2man reads "-x, --long  text" with two spaces before the text. CLI11 writes "-h,--help",
# and a long option name that fills its column is followed by one space only.
normalise_help() {
  sed -e 's/^\(  -.\{25\}[^ ]\) \([^ ]\)/\1  \2/' -e 's/^\(  *-[A-Za-z0-9]\),--/\1, --/'
}

# Subcommand names from a help text's "Subcommands:" block.
subcommands_of() {
  awk '/^Subcommands:/ {on = 1; next} on && /^$/ {on = 0} on && /^  [a-z]/ {print $1}'
}

# Option names (-o --out), one line per option: "NAMES<TAB>TAKES_VALUE<TAB>CHOICES".
options_of() {
  awk '
    /^[A-Za-z].*:$/ {section = $0; next}
    section == "Options:" && /^  -/ {
      line = substr($0, 3)
      # the name column ends at two spaces (or the end of the line when the text wraps)
      i = index(line, "  "); spec = i ? substr(line, 1, i - 1) : line
      gsub(/, -/, ",-", spec)
      n = split(spec, words, " ")
      names = words[1]; gsub(",", " ", names)
      choices = ""
      if (match(spec, /:\{[^}]*\}/)) {
        choices = substr(spec, RSTART + 2, RLENGTH - 3); gsub(",", " ", choices)
      }
      printf "%s\t%d\t%s\n", names, (n > 1), choices
    }'
}

declare -a pages=()
declare -A page_bin=() page_prog=() page_words=()
completion_data=""

# walk BINARY PROGRAM SUBCOMMAND...: one man page and one completion entry per (sub)command.
walk() {
  local bin=$1 prog=$2
  shift 2
  local help
  help=$( (exec -a "$prog" "$bin" "$@" --help) | normalise_help)
  local key="$*"
  local page=$prog${key:+-${key// /-}}
  pages+=("$page")
  page_bin[$page]=$bin
  page_prog[$page]=$prog
  page_words[$page]="$*"
  local subs
  subs=$(subcommands_of <<<"$help" | tr '\n' ' ')
  # Keys are "@" and the subcommand path ("@", "@dbc export"): bash refuses an empty key.
  completion_data+="  _subs[\"@$key\"]=\"${subs% }\""$'\n'
  local names="" takes="" opt_line
  while IFS=$'\t' read -r n v c; do
    [ -n "$n" ] || continue
    names+="$n "
    if [ "$v" = 1 ]; then
      for o in $n; do
        takes+="$o "
        [ -z "$c" ] || completion_data+="  _choices[\"@$key $o\"]=\"$c\""$'\n'
      done
    fi
  done < <(options_of <<<"$help")
  completion_data+="  _opts[\"@$key\"]=\"${names% }\""$'\n'
  completion_data+="  _takes[\"@$key\"]=\" ${takes}\""$'\n'
  printf '%s\n' "$help" >"$tmp/$page.help"
  for s in $subs; do walk "$bin" "$prog" "$@" "$s"; done
}

# man_page PAGE: help2man runs "PROGRAM SUBCOMMAND... --help" through a wrapper that names
# itself PROGRAM (the synopsis shows "packsim run", not a build path).
man_page() {
  local page=$1
  local bin=${page_bin[$page]} prog=${page_prog[$page]} words=${page_words[$page]}
  mkdir -p "$tmp/bin"
  cat >"$tmp/bin/$prog" <<EOF
#!/usr/bin/env bash
$(declare -f normalise_help)
(exec -a "$prog" "$bin" "\$@") | normalise_help
EOF
  chmod +x "$tmp/bin/$prog"
  # NAME: the command's own one-line description, lower-cased as man pages write it.
  local name
  name=$(head -n 1 "$tmp/$page.help")
  [[ $name =~ ^[A-Z][a-z] ]] && name=${name,}
  name=${name#"$prog - "}
  # SEE ALSO: the top page lists every other page; the others point back to it.
  local see="" p
  if [ "$page" = packsim ]; then
    for p in "${pages[@]}"; do [ "$p" = packsim ] || see+="${see:+,\n}.BR $p (1)"; done
  else
    see=".BR packsim (1)"
    for p in "${pages[@]}"; do
      [[ $p == "$page"-* ]] && see+=",\n.BR $p (1)"
    done
  fi
  {
    [ "$page" != packsim ] || cat "$extra_h2m"
    printf '[SEE ALSO]\n%b\n' "$see"
  } >"$tmp/$page.h2m"
  PATH="$tmp/bin:$PATH" help2man --no-info --no-discard-stderr --section=1 \
    --version-string="$page $version" --help-option="$words --help" --name="$name" \
    --source="packsim $version" --manual="packsim manual" --include="$tmp/$page.h2m" \
    --output="$tmp/$page.1" "$prog"
  gzip -9n -c "$tmp/$page.1" >"$tmp/man1/$page.1.gz"
}

for bin in "$@"; do
  prog=$(basename "$bin")
  completion_data=""
  walk "$bin" "$prog"
  fn=_${prog//-/_}
  cat >"$tmp/bash-completion/$prog" <<EOF
# bash completion for $prog $version, generated from its --help by packaging/gen-cli-docs.sh
$fn() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]}
  local -A _subs _opts _takes _choices
$completion_data
  # The subcommand path so far; an option's value is not a subcommand.
  local path="" i w skip=0 positional=0
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=\${COMP_WORDS[i]}
    if ((skip)); then skip=0; continue; fi
    if [[ \$w == -* ]]; then
      [[ \${_takes["@\$path"]} == *" \$w "* ]] && skip=1
    elif ((!positional)) && [[ " \${_subs["@\$path"]} " == *" \$w "* ]]; then
      path=\${path:+\$path }\$w
    else
      positional=1
    fi
  done
  if [[ \${_takes["@\$path"]} == *" \$prev "* ]]; then
    if [ -n "\${_choices["@\$path \$prev"]:-}" ]; then
      mapfile -t COMPREPLY < <(compgen -W "\${_choices["@\$path \$prev"]}" -- "\$cur")
    else
      compopt -o filenames 2>/dev/null
      mapfile -t COMPREPLY < <(compgen -f -- "\$cur")
    fi
  elif [[ \$cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "\${_opts["@\$path"]}" -- "\$cur")
  elif [ -n "\${_subs["@\$path"]}" ] && ((!positional)); then
    mapfile -t COMPREPLY < <(compgen -W "\${_subs["@\$path"]}" -- "\$cur")
  else
    compopt -o filenames 2>/dev/null
    mapfile -t COMPREPLY < <(compgen -f -- "\$cur")
  fi
}
complete -F $fn $prog
EOF
done
# The binaries relink on every change to the code; their help rarely changes. help2man (a few
# seconds) only runs when the help texts, this script or the extra sections did.
hash=$(cat "$tmp"/*.help "$0" "$extra_h2m" "$tmp"/bash-completion/* | sha256sum | cut -d' ' -f1)
if [ -f "$out/help.sha256" ] && [ "$(cat "$out/help.sha256")" = "$hash" ] && [ -d "$out/man1" ]; then
  exit 0
fi
for page in "${pages[@]}"; do man_page "$page"; done
rm -rf "$out/man1" "$out/bash-completion"
mkdir -p "$out"
mv "$tmp/man1" "$tmp/bash-completion" "$out/"
echo "$hash" >"$out/help.sha256"
