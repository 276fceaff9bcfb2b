#!/usr/bin/env bash
# bench/e2e.sh: end-to-end requests/s and latency of a small checkout server
# (bench/cmd/e2e) on loopback over TLS 1.3, without ztkit (the handler alone)
# and with ztkit's middleware (a DPoP-bound token and a fresh DPoP proof per
# request), loaded by wrk. Not run in CI. See README.md, "End to end".
#
#   ./e2e.sh                                   # 10 s per mode, 1 wrk thread, 2 connections
#   E2E_DURATION=20s E2E_MODES="plain ztkit-warm" ./e2e.sh
#
# Needs wrk (Debian: apt-get install -y wrk). Keep E2E_DURATION well under 60 s:
# proofs are minted before the run and a proof is accepted for 60 s after it is made.
set -euo pipefail
cd "$(dirname "$0")"

duration=${E2E_DURATION:-10s}
threads=${E2E_THREADS:-1}
conns=${E2E_CONNECTIONS:-2}
proofs=${E2E_PROOFS:-200000}
modes=${E2E_MODES:-plain ztkit-warm ztkit-cold}

if ! command -v wrk >/dev/null 2>&1; then
	echo "e2e.sh: wrk not found (Debian: apt-get install -y wrk)" >&2
	exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/ztkit-e2e.XXXXXX")
server_pid=
stop_server() {
	if [ -n "$server_pid" ]; then
		kill -TERM "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
		server_pid=
	fi
}
cleanup() {
	stop_server
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

go build -o "$work/e2e" ./cmd/e2e

echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(go version), nproc $(nproc), $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2)"
echo "# wrk -t$threads -c$conns -d$duration --latency, $proofs proofs per mode"
for mode in $modes; do
	dir="$work/$mode"
	mkdir -p "$dir"
	# The server listens on a free loopback port (127.0.0.1:0) and writes the
	# address once the token and proofs are written.
	"$work/e2e" -mode "$mode" -dir "$dir" -proofs "$proofs" >"$dir/server.log" 2>&1 &
	server_pid=$!
	for _ in $(seq 1 1200); do
		[ -s "$dir/addr" ] && break
		if ! kill -0 "$server_pid" 2>/dev/null; then
			cat "$dir/server.log" >&2
			exit 1
		fi
		sleep 0.1
	done
	if [ ! -s "$dir/addr" ]; then
		echo "e2e.sh: the $mode server did not start" >&2
		exit 1
	fi
	echo
	echo "## $mode (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
	wrk -t"$threads" -c"$conns" -d"$duration" --latency -s e2e.lua "https://$(cat "$dir/addr")/orders" -- "$dir/requests.txt"
	stop_server
	cat "$dir/server.log"
done
