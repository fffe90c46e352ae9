#!/usr/bin/env bash
# check-modules.sh MODULE...: fail when the Go modules disagree or carry what
# they should not (run by `make lint` with the Makefile's MODULES):
#   - MODULES and go.work's `use` list name the same modules;
#   - every go.mod and go.work have the same `go` line;
#   - no two modules require different versions of the same dependency
#     (`go work sync` then `make tidy` fixes that);
#   - `go mod tidy -diff` is clean in every module;
#   - the modules without a database or NATS do not reach them (GUARDS).
# Each failure names the module(s), the dependency and the versions.
set -uo pipefail
cd "$(dirname "$0")/.."

# GUARDS: module, what is checked ("modules": its module graph, `go list -m
# all`; "packages": what its packages and tests import), and the module
# paths that must not appear there. The gateway uses no database and no NATS;
# access uses a database but embeds no NATS server; platform's root module
# holds what the gateway needs, so nothing in it may pull a database or NATS.
GUARDS=(
  "platform modules github.com/nats-io/nats-server/v2 github.com/pressly/goose/v3 modernc.org/sqlite github.com/jackc/pgx/v5"
  "gateway modules github.com/nats-io/nats-server/v2 github.com/pressly/goose/v3 modernc.org/sqlite github.com/jackc/pgx/v5"
  "services/access packages github.com/nats-io/nats-server/v2"
)

fail=0
problem() { echo "check-modules: $*" >&2; fail=1; }

[ $# -gt 0 ] || { echo "usage: $0 MODULE..." >&2; exit 2; }
modules=("$@")

# MODULES (the Makefile's list: what vet, test and tidy visit) == go.work.
work=$(awk '/^use \(/{b=1; next} b && /^\)/{b=0} b {sub(/^\.\//, "", $1); print $1} /^use [^(]/{sub(/^\.\//, "", $2); print $2}' go.work | sort)
listed=$(printf '%s\n' "${modules[@]}" | sort)
if [ "$work" != "$listed" ]; then
  problem "go.work and MODULES differ (< go.work, > MODULES):"
  diff <(echo "$work") <(echo "$listed") | grep '^[<>]' >&2
fi

# One go line.
want=$(awk '$1 == "go" {print $2}' go.work)
for m in "${modules[@]}"; do
  got=$(awk '$1 == "go" {print $2}' "$m/go.mod")
  [ "$got" = "$want" ] || problem "$m/go.mod has go $got, go.work has go $want"
done

# One version per dependency: every require line of every go.mod (the
# modules' own replaced paths aside), then any path seen with two versions.
requires() {
  awk '/^require \(/{b=1; next} b && /^\)/{b=0; next} b {print $1, $2} /^require [^(]/{print $2, $3}' "$1/go.mod" |
    grep -v '^github.com/guanxi-crm/guanxi/'
}
all=$(for m in "${modules[@]}"; do requires "$m" | sed "s|\$| $m|"; done)
for dep in $(echo "$all" | awk '{print $1, $2}' | sort -u | awk '{n[$1]++} END {for (d in n) if (n[d] > 1) print d}' | sort); do
  problem "$dep is required at different versions: $(echo "$all" | awk -v d="$dep" '$1 == d {printf "%s %s; ", $3, $2}')(go work sync, then make tidy)"
done

# Tidy.
for m in "${modules[@]}"; do
  if ! out=$(cd "$m" && GOWORK=off go mod tidy -diff 2>&1); then
    problem "$m: go mod tidy -diff is not clean (make tidy):"
    echo "$out" | head -n 40 >&2
  fi
done

# Guards.
for g in "${GUARDS[@]}"; do
  read -r m kind forbidden <<<"$g"
  case $kind in
  modules) have=$(cd "$m" && GOWORK=off go list -m all 2>&1 | awk '{print $1}') ;;
  packages) have=$(cd "$m" && GOWORK=off go list -deps -test ./... 2>&1) ;;
  esac || { problem "$m: go list failed: $have"; continue; }
  for f in $forbidden; do
    if echo "$have" | grep -q -e "^$f\$" -e "^$f/"; then
      why=$(cd "$m" && GOWORK=off go mod why -m "$f" 2>&1 | sed -n '2,$p' | tr '\n' ' ')
      problem "$m must not depend on $f ($kind), but does: $why"
    fi
  done
done

[ $fail -eq 0 ] && echo "check-modules: ${#modules[@]} modules agree (go $want), tidy, guards hold"
exit $fail
