#!/usr/bin/env bash
# node-deps.sh — install the npm MCP peers of the e2e suite (e2e/node).
#
# Runs `npm ci` in e2e/node when node_modules is missing or was installed
# from another lockfile (a stamp in node_modules holds the hash of
# package.json, package-lock.json and the node version). Idempotent and safe
# to run concurrently (go test runs packages in parallel): installs are
# serialized with flock. Install scripts are not run (--ignore-scripts): no
# package here needs one, and nothing but the registry's tarballs is fetched.
#
# Exits 0 when node_modules is current, non-zero with a message otherwise.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dir="$(cd "$here/../node" && pwd)"

die() { echo "node-deps.sh: $*" >&2; exit 1; }

command -v node >/dev/null 2>&1 ||
	die "node is not on PATH; the e2e MCP peers need Node.js >= 20 and npm (Debian: apt-get install nodejs npm)"
command -v npm >/dev/null 2>&1 ||
	die "npm is not on PATH; the e2e MCP peers need Node.js >= 20 and npm (Debian: apt-get install npm)"
major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$major" -ge 20 ] 2>/dev/null || die "node $(node --version) is too old; the e2e MCP peers need Node.js >= 20"
[ -f "$dir/package-lock.json" ] || die "$dir/package-lock.json is missing"

stamp="$dir/node_modules/.agentguard-deps-stamp"
want="$(cat "$dir/package.json" "$dir/package-lock.json" | sha256sum | cut -d' ' -f1) node-$(node --version)"

current() { [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; }

if current; then
	exit 0
fi

lock() {
	if command -v flock >/dev/null 2>&1; then
		exec 9>"$dir/.deps-lock"
		flock -w 900 9 || die "timed out waiting for another node-deps.sh to finish"
	fi
}
lock
if current; then # another run installed them while we waited
	exit 0
fi

echo "node-deps.sh: installing e2e/node dependencies (npm ci)" >&2
start=$SECONDS
(cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) >&2 ||
	die "npm ci failed in $dir"
printf '%s\n' "$want" >"$stamp"
echo "node-deps.sh: installed in $((SECONDS - start))s" >&2
