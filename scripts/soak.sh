#!/usr/bin/env bash
# Hearth's soak test — NOT part of ./scripts/test.sh; run it on purpose:
#
#   ./scripts/soak.sh                      # the full soak: 10 minutes measured
#   SOAK_DURATION=60s ./scripts/soak.sh    # a short one
#
# It builds the server and hearth-bench, starts two private redis-servers
# on free loopback ports — a durable store (rooms, rosters; append-only
# file) and the live Redis (pub/sub, seq counters, session buffers; no
# persistence), as the README recommends — and two server nodes over them,
# then runs hearth-bench: SOAK_ROOMS rooms of SOAK_MEMBERS members and one
# facilitator each (150 × 14 = 2,100 connections by default), spread over
# both nodes, with steady traffic. A third of the way into the measurement
# it restarts node 2 (SIGTERM, then starts it again on its port: its
# members reconnect to node 1 and resume); two thirds in, it kills the live
# Redis and starts it again, empty. Then it prints hearth-bench's report:
# messages sent, deliveries expected, received, lost (must be 0: whatever
# could not be recovered must have been reported as a gap), duplicated
# (must be 0), latency, and the nodes' CPU time, peak RSS, RSS and threads
# before and after. The exit status is hearth-bench's: 0 when nothing was
# lost without a gap report and nothing duplicated.
#
# Settings (environment):
#   SOAK_DURATION  measured traffic (default 10m; 60s for a short run)
#   SOAK_WARMUP    traffic before the measurement (default 30s)
#   SOAK_ROOMS     rooms (default 150)
#   SOAK_MEMBERS   members per room, besides one facilitator (default 13)
#   SOAK_RATE      messages per second per room (default 1)
#   SOAK_SIZE      message size in bytes (default 200)
#   SOAK_RAMP      new connections per second while connecting (default 100)
#   SOAK_RESTART_NODE=0, SOAK_RESTART_REDIS=0   skip a restart
#   SOAK_DIR       where binaries, logs and the report go (default a new
#                  /tmp/hearth-soak.XXXXXX, kept afterwards)
#   SOAK_BUILD=0   run the binaries already in SOAK_DIR instead of building
#
# Needs go, redis-server and curl. Every process it starts listens on
# 127.0.0.1 only and is stopped when it ends. Ctrl-C stops everything at
# once (the nodes too); hearth-bench then prints a report marked
# interrupted, which is not judged.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

duration=${SOAK_DURATION:-10m}
warmup=${SOAK_WARMUP:-30s}
rooms=${SOAK_ROOMS:-150}
members=${SOAK_MEMBERS:-13}
rate=${SOAK_RATE:-1}
size=${SOAK_SIZE:-200}
ramp=${SOAK_RAMP:-100}
restart_node=${SOAK_RESTART_NODE:-1}
restart_redis=${SOAK_RESTART_REDIS:-1}
build=${SOAK_BUILD:-1}
dir=${SOAK_DIR:-$(mktemp -d /tmp/hearth-soak.XXXXXX)}
mkdir -p "$dir"

say() { echo "soak: $(date -u +%H:%M:%S) $*"; }
die() { echo "soak: $*" >&2; exit 2; }

# seconds converts a duration such as 90, 90s, 10m or 1h to whole seconds.
seconds() {
  local v=$1
  case "$v" in
    *h) echo $(( ${v%h} * 3600 )) ;;
    *m) echo $(( ${v%m} * 60 )) ;;
    *s) echo $(( ${v%s} )) ;;
    *) echo $(( v )) ;;
  esac
}
duration_s=$(seconds "$duration") || die "SOAK_DURATION=$duration is not a duration such as 60s, 10m or 1h"
[ "$duration_s" -gt 0 ] || die "SOAK_DURATION must be positive"

for cmd in go redis-server curl; do
  command -v "$cmd" >/dev/null 2>&1 || die "$cmd is not installed"
done

# File descriptors: hearth-bench holds one socket per connection, and after
# the node restart one node holds them all; leave room for Redis and logs.
conns=$(( rooms * (members + 1) ))
need=$(( conns + 1024 ))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$need" ]; then
  hard=$(ulimit -Hn)
  if [ "$hard" != unlimited ] && [ "$hard" -lt "$need" ]; then
    die "$conns connections need about $need file descriptors per process; the hard limit (ulimit -Hn) is $hard"
  fi
  ulimit -n "$need"
fi

# free_port prints a loopback TCP port nobody listens on.
free_port() {
  local p
  for _ in $(seq 100); do
    p=$(( 20000 + RANDOM % 30000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
  die "no free port found"
}

# redis_up waits until the Redis on port $1 answers PING.
redis_up() {
  for _ in $(seq 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1" && printf 'PING\r\n' >&3 && read -r -t 1 line <&3 && [[ $line == +PONG* ]]) 2>/dev/null; then
      return 0
    fi
    sleep 0.05
  done
  die "redis-server on port $1 did not answer"
}

store_port=$(free_port)
live_port=$(free_port)
node1_port=$(free_port)
node2_port=$(free_port)

start_redis() { # name port extra-args…
  local name=$1 port=$2
  shift 2
  mkdir -p "$dir/$name"
  redis-server --port "$port" --bind 127.0.0.1 --dir "$dir/$name" --logfile "$dir/$name/redis.log" "$@" &
  echo $! >"$dir/$name.pid"
  redis_up "$port"
}

start_node() { # n port
  local n=$1 port=$2
  HEARTH_JWT_SECRET=$secret HEARTH_REDIS_URL="redis://127.0.0.1:$live_port/0" HEARTH_STORE_URL="redis://127.0.0.1:$store_port/0" \
    HEARTH_JWT_ISSUER='' HEARTH_JWT_AUDIENCE='' \
    "$dir/hearth-server" -addr "127.0.0.1:$port" -data "$dir/node$n-data" >>"$dir/node$n.log" 2>&1 &
  echo $! >"$dir/node$n.pid"
  for _ in $(seq 600); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  die "node $n did not become ready on port $port (see $dir/node$n.log)"
}

bench_pid=
# cleanup stops what this script started and is still running: its own
# background jobs, by PID (hearth-bench first, so that it reports).
cleanup() {
  if [ -n "$bench_pid" ] && kill -0 "$bench_pid" 2>/dev/null; then
    kill -INT "$bench_pid" 2>/dev/null || true
    wait "$bench_pid" 2>/dev/null || true
    [ -s "$dir/report.txt" ] && cat "$dir/report.txt"
  fi
  for p in $(jobs -p); do
    kill "$p" 2>/dev/null || true
  done
  for p in $(jobs -p); do
    wait "$p" 2>/dev/null || true
  done
  say "logs, report and binaries are in $dir"
}
trap cleanup EXIT

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(git rev-parse HEAD 2>/dev/null || echo unknown)"
  if [ -n "$(git status --porcelain 2>/dev/null)" ]; then
    echo "working tree: uncommitted changes in $(git status --porcelain | wc -l) files; git diff HEAD sha256 $(git diff HEAD | sha256sum | cut -c1-16)"
  fi
  echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo) memory, $(uname -sr)"
  echo "go: $(go version | cut -d' ' -f3-)"
  echo "redis: $(redis-server --version | cut -d' ' -f3-4)"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "settings: SOAK_BUILD=$build SOAK_DURATION=$duration SOAK_WARMUP=$warmup SOAK_ROOMS=$rooms SOAK_MEMBERS=$members SOAK_RATE=$rate SOAK_SIZE=$size SOAK_RAMP=$ramp SOAK_RESTART_NODE=$restart_node SOAK_RESTART_REDIS=$restart_redis; $conns connections; ulimit -n $(ulimit -n)"
} | tee "$dir/machine.txt" | sed 's/^/soak: /'

if [ "$build" = 1 ]; then
  say "building the server and hearth-bench into $dir"
  go build -o "$dir/hearth-server" ./server
  go build -o "$dir/hearth-bench" ./client/cmd/hearth-bench
else
  [ -x "$dir/hearth-server" ] && [ -x "$dir/hearth-bench" ] || die "SOAK_BUILD=0 needs hearth-server and hearth-bench in SOAK_DIR ($dir)"
  say "using the binaries already in $dir (SOAK_BUILD=0)"
fi

secret=$(head -c 48 /dev/urandom | base64 | tr -d '\n')
say "starting the store Redis (:$store_port, append-only) and the live Redis (:$live_port, no persistence)"
start_redis store "$store_port" --save '' --appendonly yes
start_redis live "$live_port" --save '' --appendonly no
say "starting node 1 (:$node1_port) and node 2 (:$node2_port)"
start_node 1 "$node1_port"
start_node 2 "$node2_port"

say "running hearth-bench: $rooms rooms × ($members members + 1 facilitator) = $conns connections, $rate msg/s per room, $size B, $warmup warmup + $duration measured"
HEARTH_JWT_SECRET=$secret HEARTH_JWT_ISSUER='' HEARTH_JWT_AUDIENCE='' "$dir/hearth-bench" \
  -url "ws://127.0.0.1:$node1_port/ws,ws://127.0.0.1:$node2_port/ws" \
  -rooms "$rooms" -members "$members" -rate "$rate" -size "$size" -ramp "$ramp" \
  -warmup "$warmup" -duration "$duration" -drain 30s -progress 30s \
  -pidfile "$dir/node1.pid,$dir/node2.pid" -out "$dir/report.json" >"$dir/report.txt" 2>"$dir/bench.log" &
bench_pid=$!

# Wait for the measurement to start.
until grep -q 'hearth-bench: measuring for ' "$dir/bench.log" 2>/dev/null; do
  if ! kill -0 "$bench_pid" 2>/dev/null; then
    cat "$dir/bench.log" >&2
    die "hearth-bench ended before measuring"
  fi
  sleep 1
done
measure_start=$(date +%s)
say "measuring"

# sleep_until_third n: sleeps until n thirds of the measurement have passed.
sleep_until_third() {
  local t=$(( measure_start + duration_s * $1 / 3 - $(date +%s) ))
  if [ "$t" -gt 0 ]; then sleep "$t"; fi
}

if [ "$restart_node" = 1 ]; then
  sleep_until_third 1
  old=$(cat "$dir/node2.pid")
  say "restarting node 2: SIGTERM to pid $old"
  kill -TERM "$old"
  wait "$old" 2>/dev/null || true
  start_node 2 "$node2_port"
  say "node 2 is back as pid $(cat "$dir/node2.pid")"
fi

if [ "$restart_redis" = 1 ]; then
  sleep_until_third 2
  old=$(cat "$dir/live.pid")
  say "restarting the live Redis: SIGKILL to pid $old, then starting it again, empty"
  kill -KILL "$old"
  wait "$old" 2>/dev/null || true
  start_redis live "$live_port" --save '' --appendonly no
  say "the live Redis is back as pid $(cat "$dir/live.pid")"
fi

status=0
wait "$bench_pid" || status=$?
bench_pid=
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$dir/machine.txt" | sed "s/^/soak: /"
say "hearth-bench exited with status $status; its progress log:"
sed 's/^/  /' "$dir/bench.log"
echo
cat "$dir/report.txt"
echo
if [ "$status" = 0 ]; then
  say "PASS: nothing lost without a gap report, nothing duplicated"
else
  say "FAIL (hearth-bench status $status): see the report above and $dir"
fi
exit "$status"
