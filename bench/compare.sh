#!/usr/bin/env bash
# compare.sh: measure Coffer, MinIO and VersityGW side by side on this
# machine with cmd/coffer-load, one server at a time, and print a markdown
# table of the results.
#
#   bench/compare.sh                       # from the repository root
#   REPEATS=2 DURATION=10s bench/compare.sh
#
# Settings (environment):
#   PEERS_DIR    where the minio and versitygw binaries are (built there with
#                `go install` when missing; MinIO takes ~10 minutes)   [/tmp/peers]
#   BENCH_TMP    parent of the temporary data directories; keep it on the
#                same filesystem for all servers                         [/tmp]
#   RESULTS_DIR  where the raw JSON and server logs are kept  [mktemp under BENCH_TMP]
#   REPEATS      runs of each workload per server                           [2]
#   DURATION     time bound of each timed run                             [10s]
#   SERVERS      which servers, in order             [coffer minio versitygw]
#
# Each server is started alone (so it has both cores to itself besides the
# load tool), probed until it answers, driven through the workloads,
# stopped and its data deleted. Before every timed run the server's peak
# RSS counter is reset (clear_refs 5) and its CPU time read from
# /proc/PID/stat; both are read again afterwards. A `sync` before each run
# keeps one run's dirty pages from being written back during the next.
set -euo pipefail

PEERS_DIR=${PEERS_DIR:-/tmp/peers}
BENCH_TMP=${BENCH_TMP:-/tmp}
REPEATS=${REPEATS:-2}
DURATION=${DURATION:-10s}
SERVERS=${SERVERS:-coffer minio versitygw}
ACCESS=benchaccess
SECRET=benchsecret12345
MINIO_REF=github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c
VERSITY_REF=github.com/versity/versitygw/cmd/versitygw@v1.8.0

repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "$BENCH_TMP/coffer-compare.XXXXXX")
RESULTS_DIR=${RESULTS_DIR:-$work/results}
mkdir -p "$RESULTS_DIR"
server_pid=""
clk_tck=$(getconf CLK_TCK)

log() { printf '[compare %s] %s\n' "$(date +%T)" "$*" >&2; }

stop_server() {
	if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
		kill -TERM "$server_pid" 2>/dev/null || true
		for _ in $(seq 1 100); do
			kill -0 "$server_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	server_pid=""
}

cleanup() {
	stop_server
	# Keep the results, drop the servers' data.
	find "$work" -mindepth 1 -maxdepth 1 -name 'data-*' -exec rm -rf {} +
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 20000))
		if ! ss -Hltn "sport = :$p" | grep -q .; then
			echo "$p"
			return
		fi
	done
}

build() {
	log "building coffer and coffer-load"
	(cd "$repo" && go build -o "$work/coffer" ./cmd/coffer && go build -o "$work/coffer-load" ./cmd/coffer-load)
	if [[ ! -x $PEERS_DIR/minio ]]; then
		log "building minio into $PEERS_DIR (slow)"
		GOBIN=$PEERS_DIR go install "$MINIO_REF"
	fi
	if [[ ! -x $PEERS_DIR/versitygw ]]; then
		log "building versitygw into $PEERS_DIR"
		GOBIN=$PEERS_DIR go install "$VERSITY_REF"
	fi
}

# start_server NAME starts one server on a fresh data directory and sets
# server_pid and endpoint.
start_server() {
	local name=$1 port port2 data
	port=$(free_port)
	port2=$(free_port)
	data=$work/data-$name
	rm -rf "$data"
	mkdir -p "$data"
	endpoint=http://127.0.0.1:$port
	case $name in
	coffer)
		COFFER_DATA_DIR=$data COFFER_S3_ADDR=127.0.0.1:$port COFFER_CONSOLE_ADDR=127.0.0.1:0 \
			COFFER_ROOT_USER=$ACCESS COFFER_ROOT_PASSWORD=$SECRET COFFER_LOG_LEVEL=warn \
			"$work/coffer" server >"$RESULTS_DIR/$name.log" 2>&1 &
		;;
	minio)
		MINIO_ROOT_USER=$ACCESS MINIO_ROOT_PASSWORD=$SECRET MINIO_BROWSER=off \
			"$PEERS_DIR/minio" server --quiet --address "127.0.0.1:$port" \
			--console-address "127.0.0.1:$port2" "$data" >"$RESULTS_DIR/$name.log" 2>&1 &
		;;
	versitygw)
		"$PEERS_DIR/versitygw" --access "$ACCESS" --secret "$SECRET" --port "127.0.0.1:$port" \
			--keep-alive --quiet posix "$data" >"$RESULTS_DIR/$name.log" 2>&1 &
		;;
	*)
		echo "unknown server $name" >&2
		return 1
		;;
	esac
	server_pid=$!
	# Ready means an S3 answer to an anonymous ListBuckets (403 or 200),
	# not 503 "initializing".
	local code
	for _ in $(seq 1 300); do
		if ! kill -0 "$server_pid" 2>/dev/null; then
			echo "$name exited during start-up; see $RESULTS_DIR/$name.log" >&2
			return 1
		fi
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$endpoint/" || true)
		if [[ $code =~ ^[234] ]]; then
			log "$name is up on $endpoint (pid $server_pid)"
			return 0
		fi
		sleep 0.2
	done
	echo "$name did not answer within 60s" >&2
	return 1
}

cpu_ticks() { # utime+stime of the server, in clock ticks
	# Fields after the ")" that ends comm: utime and stime are the 12th and 13th.
	# A server that died reads as 0; its run then shows its errors.
	{ sed 's/^.*) //' "/proc/$server_pid/stat" 2>/dev/null || echo "0 0 0 0 0 0 0 0 0 0 0 0 0"; } |
		awk '{print $12 + $13}'
}

hwm_kib() { awk '/^VmHWM:/ {print $2; f = 1} END {if (!f) print 0}' "/proc/$server_pid/status" 2>/dev/null || echo 0; }

load() { # load ARGS...: one coffer-load invocation against the current server
	"$work/coffer-load" -endpoint "$endpoint" -access "$ACCESS" -secret "$SECRET" \
		-bucket bench "$@"
}

# measure SERVER WORKLOAD RUN ARGS...: one timed run, recorded as
# $RESULTS_DIR/SERVER.WORKLOAD.RUN.json with server CPU and peak RSS added.
measure() {
	local name=$1 wl=$2 run=$3
	shift 3
	local out=$RESULTS_DIR/$name.$wl.$run.json raw rc=0 c0 c1
	if ! kill -0 "$server_pid" 2>/dev/null; then
		jq -n '{ops: 0, errors: 1, error_samples: ["server is not running (crashed earlier?)"]}' >"$out"
		log "$name $wl run $run: server is not running"
		return 0
	fi
	sync
	echo 5 >"/proc/$server_pid/clear_refs" 2>/dev/null || true
	c0=$(cpu_ticks)
	raw=$(load -json "$@" 2>"$RESULTS_DIR/$name.$wl.$run.stderr") || rc=$?
	c1=$(cpu_ticks)
	local hwm
	hwm=$(hwm_kib)
	if [[ -z $raw ]]; then
		raw='{"ops":0,"errors":1,"error_samples":["coffer-load produced no result; see its stderr"]}'
	fi
	jq --argjson cpu "$(awk -v a="$c0" -v b="$c1" -v t="$clk_tck" 'BEGIN {printf "%.2f", (b - a) / t}')" \
		--argjson hwm "$hwm" --argjson rc "$rc" \
		'. + {server_cpu_sec: $cpu, server_peak_rss_kib: $hwm, exit_code: $rc}' <<<"$raw" >"$out"
	jq -r --arg n "$name" --arg w "$wl" --arg r "$run" \
		'"\($n) \($w) run \($r): ops \(.ops) errors \(.errors) ops/s \(.ops_per_sec // 0 | floor) MiB/s \(.mib_per_sec // 0 | floor) keys/s \(.keys_per_sec // 0 | floor) p50 \(.latency.p50_ms // 0)ms p99 \(.latency.p99_ms // 0)ms cpu \(.server_cpu_sec)s rss \(.server_peak_rss_kib / 1024 | floor)MiB"' "$out" >&2
}

# prepare SERVER WORKLOAD ARGS...: create the objects a workload reads, untimed.
prepare() {
	local name=$1 wl=$2
	shift 2
	load "$@" -count 1 -duration 0 >"$RESULTS_DIR/$name.$wl.prepare.txt" 2>&1 ||
		log "$name: preparing $wl failed (see $RESULTS_DIR/$name.$wl.prepare.txt)"
}

workloads() {
	local name=$1 r
	local put4k=(-op put -size 4KiB -concurrency 16 -duration "$DURATION")
	local get4k=(-op get -size 4KiB -concurrency 16 -objects 100 -duration "$DURATION")
	local put64m=(-op put -size 64MiB -concurrency 4 -count 64 -duration "$DURATION")
	local get64m=(-op get -size 64MiB -concurrency 4 -objects 8 -duration "$DURATION")
	# One lister, so the server CPU per listing is unambiguous; the run
	# also includes one untimed full listing of its own (the tool checks
	# what exists before the timed phase), counted in cpu_per_listing.
	local list=(-op list -objects 20000 -concurrency 1 -count 5 -duration 60s)
	for r in $(seq 1 "$REPEATS"); do measure "$name" put4k "$r" "${put4k[@]}"; done
	prepare "$name" get4k "${get4k[@]}"
	for r in $(seq 1 "$REPEATS"); do measure "$name" get4k "$r" "${get4k[@]}"; done
	for r in $(seq 1 "$REPEATS"); do measure "$name" put64m "$r" "${put64m[@]}"; done
	prepare "$name" get64m "${get64m[@]}"
	for r in $(seq 1 "$REPEATS"); do measure "$name" get64m "$r" "${get64m[@]}"; done
	prepare "$name" list "${list[@]}"
	for r in $(seq 1 "$REPEATS"); do measure "$name" list "$r" "${list[@]}"; done
}

# cell SERVER WORKLOAD: "best (other runs) / p50 / p99 / cpu / rss" for the
# table; the best run is the one with the highest rate. A run with errors
# is reported as a failure with its first error.
cell() {
	local name=$1 wl=$2
	local files=("$RESULTS_DIR/$name.$wl".*.json)
	[[ -e ${files[0]} ]] || { echo "not run"; return; }
	jq -rs --arg wl "$wl" '
		def rate: if $wl == "list" then .keys_per_sec // 0
			elif ($wl | test("64m")) then .mib_per_sec // 0
			else .ops_per_sec // 0 end;
		def unit: if $wl == "list" then " keys/s" elif ($wl | test("64m")) then " MiB/s" else " ops/s" end;
		def cpu: if $wl == "list" then "\(.server_cpu_sec / ((.ops // 0) + 1) * 100 | round / 100) s/listing"
			else "\(.server_cpu_sec / ((.ops // 0) | if . == 0 then 1 else . end) * 1e5 | round / 100) ms/op" end;
		(map(select(.errors == 0 and .ops > 0))) as $ok
		| if ($ok | length) == 0 then
			"FAILED: \(.[0].error_samples[0] // "no result" | gsub("\\|"; "/"))"
		  else ($ok | max_by(rate)) as $b
			| "**\($b | rate | round)**\(unit) (runs: \(map(if .errors == 0 and .ops > 0 then (rate | round | tostring) else "failed" end) | join(", "))) | \($b.latency.p50_ms * 10 | round / 10) / \($b.latency.p99_ms * 10 | round / 10) ms | \($b | cpu) | \($b.server_peak_rss_kib / 1024 | round) MiB"
		  end' "${files[@]}"
}

# best SERVER WORKLOAD: the best error-free rate, or nothing.
best() {
	local files=("$RESULTS_DIR/$1.$2".*.json)
	[[ -e ${files[0]} ]] || return 0
	jq -rs --arg wl "$2" '
		map(select(.errors == 0 and .ops > 0)
			| if $wl == "list" then .keys_per_sec elif ($wl | test("64m")) then .mib_per_sec else .ops_per_sec end)
		| max // empty | round' "${files[@]}"
}

ratios() {
	local wl name b peer bestpeer bestname
	echo "| Workload | $(echo $SERVERS | sed 's/ / | /g') | Coffer / better peer |"
	echo "|---|$(for _ in $SERVERS; do printf -- '---|'; done)---|"
	for wl in put4k get4k put64m get64m list; do
		local row="| $wl |"
		bestpeer=0
		bestname=""
		for name in $SERVERS; do
			b=$(best "$name" "$wl")
			row+=" ${b:-failed} |"
			if [[ $name != coffer && -n $b ]] && ((b > bestpeer)); then
				bestpeer=$b
				bestname=$name
			fi
		done
		b=$(best coffer "$wl")
		if [[ -n $b && $bestpeer -gt 0 ]]; then
			row+=" $(awk -v a="$b" -v p="$bestpeer" 'BEGIN {printf "%.2f", a / p}') (vs $bestname) |"
		else
			row+=" n/a |"
		fi
		echo "$row"
	done
}

table() {
	local wl name
	local -A label=([put4k]="PUT 4 KiB x16" [get4k]="GET 4 KiB x16" [put64m]="PUT 64 MiB x4"
		[get64m]="GET 64 MiB x4" [list]="LIST 20,000 keys x1")
	echo "| Workload | Server | Best rate (all runs) | p50 / p99 | Server CPU | Server peak RSS |"
	echo "|---|---|---|---|---|---|"
	for wl in put4k get4k put64m get64m list; do
		for name in $SERVERS; do
			echo "| ${label[$wl]} | $name | $(cell "$name" "$wl") |"
		done
	done
}

main() {
	log "results in $RESULTS_DIR"
	log "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "before: $(cat /proc/loadavg)" >"$RESULTS_DIR/loadavg.txt"
	build
	local name
	for name in $SERVERS; do
		start_server "$name"
		workloads "$name"
		stop_server
		rm -rf "$work/data-$name"
		sync
	done
	echo "after: $(cat /proc/loadavg)" >>"$RESULTS_DIR/loadavg.txt"
	log "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
	{
		table
		echo
		ratios
	} | tee "$RESULTS_DIR/table.md"
}

main
