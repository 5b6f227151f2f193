#!/usr/bin/env bash
# scaleout.sh: small-object PUT, GET and LIST with the embedded metadata
# store, with PostgreSQL and one instance, and with PostgreSQL and three
# instances behind nginx (deploy/nginx.conf), on this machine, with
# cmd/coffer-load. Prints a markdown table.
#
#   bench/scaleout.sh                       # from the repository root
#   DURATION=10s CONCURRENCY=16 bench/scaleout.sh
#
# Needs PostgreSQL on 127.0.0.1:5432 (trust auth) and nginx; every server
# and the load tool share the machine's cores, so three instances on one
# machine measure the cost of sharing the metadata, not added capacity.
set -euo pipefail

DURATION=${DURATION:-10s}
CONCURRENCY=${CONCURRENCY:-16}
ACCESS=benchaccess
SECRET=benchsecret12345
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/coffer-scaleout.XXXXXX)
db="coffer_bench_$$"
cleanup() {
	for f in "$work"/*.coffer.pid; do [[ -f $f ]] && kill "$(cat "$f")" 2>/dev/null || true; done
	[[ -f $work/nginx.pid ]] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
	psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" postgres >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/coffer" "$repo/cmd/coffer"
go build -o "$work/coffer-load" "$repo/cmd/coffer-load"
psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $db" postgres

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_coffer NAME DATA META -> echoes "s3port consoleport"; the pid goes
# to $work/NAME.coffer.pid (this runs in a subshell).
start_coffer() {
	local name=$1
	shift
	local s3 con
	s3=$(port)
	con=$(port)
	COFFER_DATA_DIR=$1 COFFER_META=$2 COFFER_S3_ADDR=127.0.0.1:$s3 COFFER_CONSOLE_ADDR=127.0.0.1:$con \
		COFFER_ROOT_USER=$ACCESS COFFER_ROOT_PASSWORD=$SECRET COFFER_LOG_LEVEL=warn \
		"$work/coffer" server >>"$work/server.log" 2>&1 &
	echo $! >"$work/$name.coffer.pid"
	for _ in $(seq 1 100); do
		curl -sf "http://127.0.0.1:$con/api/health" >/dev/null && break
		sleep 0.1
	done
	echo "$s3 $con"
}

load() { # endpoint op size objects
	"$work/coffer-load" -endpoint "$1" -access $ACCESS -secret $SECRET -op "$2" -size "$3" \
		-objects "$4" -duration "$DURATION" -concurrency "$CONCURRENCY" -bucket "bench-$RANDOM" -json
}

rate() { python3 -c 'import json,sys; r=json.load(sys.stdin); print("%.0f" % r["'"$1"'"])'; }

row() { # name endpoint
	local put get list
	put=$(load "$2" put 4KiB -1 | rate ops_per_sec)
	get=$(load "$2" get 4KiB 200 | rate ops_per_sec)
	list=$(load "$2" list 4KiB 1000 | rate keys_per_sec)
	printf '| %s | %s | %s | %s |\n' "$1" "$put" "$get" "$list"
}

echo "| setup | PUT 4 KiB (ops/s) | GET 4 KiB (ops/s) | LIST (keys/s, 1000-key pages) |"
echo "|---|---|---|---|"

stop_coffer() { kill "$(cat "$work/$1.coffer.pid")"; sleep 1; rm -f "$work/$1.coffer.pid"; }

read -r s3 _ < <(start_coffer embedded "$work/embedded" "")
row "1 instance, embedded" "http://127.0.0.1:$s3"
stop_coffer embedded

dsn="postgres://postgres@127.0.0.1:5432/$db?sslmode=disable"
read -r s3 _ < <(start_coffer pg1 "$work/shared" "$dsn")
row "1 instance, PostgreSQL" "http://127.0.0.1:$s3"
stop_coffer pg1

s3s="" cons=""
for i in 1 2 3; do
	read -r s3 con < <(start_coffer "node$i" "$work/shared" "$dsn")
	s3s+="        server 127.0.0.1:$s3;"$'\n'
	cons+="        server 127.0.0.1:$con;"$'\n'
done
listen=$(port)
clisten=$(port)
mkdir -p "$work"/{body,proxy,fastcgi,uwsgi,scgi}
python3 - "$repo/deploy/nginx.conf" "$work/nginx.conf" <<EOF
import sys
t = open(sys.argv[1]).read()
for k, v in {"@PIDFILE@": "$work/nginx.pid", "@ERRORLOG@": "$work/nginx.err", "@TEMP@": "$work",
             "@S3_SERVERS@": """$s3s""".rstrip(), "@CONSOLE_SERVERS@": """$cons""".rstrip(),
             "@LISTEN@": "127.0.0.1:$listen", "@CONSOLE_LISTEN@": "127.0.0.1:$clisten"}.items():
    t = t.replace(k, v)
open(sys.argv[2], "w").write(t)
EOF
nginx -p "$work" -c "$work/nginx.conf"
sleep 0.5
row "3 instances, PostgreSQL, nginx" "http://127.0.0.1:$listen"
