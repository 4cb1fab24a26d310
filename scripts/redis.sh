#!/usr/bin/env bash
# Ensures a redis-server binary exists, for the pkg/limits tests that start
# their own instance. Installs Debian's redis-server when run as root; the
# tests do not need the system service, so it is stopped and disabled.
set -euo pipefail

find_redis() {
	command -v redis-server 2>/dev/null || { [ -x /usr/bin/redis-server ] && echo /usr/bin/redis-server; } || true
}

bin="$(find_redis)"
if [ -n "$bin" ]; then
	echo "redis-server: $bin ($("$bin" --version | head -n1))"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "redis.sh: redis-server is not installed and this is not root; run 'sudo apt-get install -y redis-server' (or put redis-server on PATH)" >&2
	exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "redis.sh: redis-server is not installed and apt-get is missing; install redis-server by other means" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# A fresh machine's package lists may be empty or stale: update when the
# candidate is unknown, then install.
if ! apt-cache policy redis-server 2>/dev/null | grep -q 'Candidate: [0-9]'; then
	apt-get update -qq
fi
if ! apt-get install -y -qq --no-install-recommends redis-server >/dev/null; then
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends redis-server >/dev/null
fi
# The package may start a system instance on 6379; the tests run their own.
if command -v service >/dev/null 2>&1; then
	service redis-server stop >/dev/null 2>&1 || true
fi

bin="$(find_redis)"
if [ -z "$bin" ]; then
	echo "redis.sh: installed redis-server but cannot find the binary" >&2
	exit 1
fi
echo "redis-server: $bin ($("$bin" --version | head -n1))"
