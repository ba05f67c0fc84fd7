#!/bin/sh
# bench-report.sh [FLAGS...] is make bench-report: it builds the server of
# the working tree into build/bin/bench/qrlogin-server and the load tool
# into build/bin/bench/qrlogin-load, and runs
#
#   qrlogin-load report -server-bin build/bin/bench/qrlogin-server FLAGS...
#
# With OLD=<git rev> in the environment it first builds that revision's
# server, from a `git worktree add` of it in a temporary folder (removed
# once built), into build/bin/bench/qrlogin-server-old, and measures both,
# the old one first (the table's last column is then new / old).
# FLAGS go to the report: -short, -o report.md, -json runs.json, -only ...,
# -postgres URL (qrlogin-load report -h).
set -eu
cd "$(dirname "$0")/.."
root=$PWD
GO=${GO:-go}
out=build/bin/bench
mkdir -p "$out"
$GO build -o "$out/qrlogin-server" ./server/cmd/qrlogin-server
$GO -C server/cmd/qrlogin-load build -o "$root/$out/qrlogin-load" .
bins=$out/qrlogin-server labels=current
if [ -n "${OLD:-}" ]; then
	rev=$(git rev-parse --verify --short "$OLD^{commit}")
	tmp=$(mktemp -d)
	trap 'git worktree remove --force "$tmp/src" 2>/dev/null; rm -rf "$tmp"; git worktree prune' EXIT
	git worktree add --quiet --detach "$tmp/src" "$rev"
	(cd "$tmp/src" && $GO build -o "$root/$out/qrlogin-server-old" ./server/cmd/qrlogin-server)
	git worktree remove --force "$tmp/src"
	rm -rf "$tmp"
	trap - EXIT
	bins=$out/qrlogin-server-old,$bins labels=$rev,current
fi
exec "$out/qrlogin-load" report -server-bin "$bins" -label "$labels" "$@"
