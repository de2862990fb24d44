#!/usr/bin/env bash
# CPU profiles of raftkv under load: a 3-member cluster on 127.0.0.1 (each member its own
# process, durable WAL), every member run with `node --cpu-prof`. After a warm-up (WARM_TOTAL
# puts at 16 clients: V8 optimises a server's code during its first thousands of requests),
# etcd's benchmark tool (built by bench/kv-vs-etcd.sh's own build step) puts TOTAL values of
# 256 B to the leader at CLIENTS clients. The members are then stopped with SIGTERM, which
# raftkv serve handles by closing and exiting 0, so V8 writes each profile. bench/flame.ts
# draws the leader's and one follower's profile, cut to the measured window, as flame graphs
# and prints their self time by category and the top functions.
#
# Usage: bash bench/profile-kv.sh      (or: npm run bench -- profile [--clients N] [--out DIR])
# Env:   CLIENTS=16  TOTAL=30000  WARM_TOTAL=20000
#        OUT=/tmp/raftkv-profile   flame-{leader,follower}-c$CLIENTS.svg, self-*-c$CLIENTS.md,
#                                  and under c$CLIENTS/ the profiles, member logs, tool output
#        PORT=27379   client ports PORT, +100, +200; peer ports one above each
#        TOOLS        where the benchmark tool is kept (bench/kv-vs-etcd.sh's default)
#        RAFTKV_ARGS  extra flags for every `raftkv serve` (default as bench/kv-vs-etcd.sh:
#                     --snapshot-interval 100000)
# Only 127.0.0.1; every process started is stopped by its PID.
set -euo pipefail
CLIENTS=${CLIENTS:-16}
TOTAL=${TOTAL:-30000}
WARM_TOTAL=${WARM_TOTAL:-20000}
OUT=${OUT:-/tmp/raftkv-profile}
PORT=${PORT:-27379}
HERE=$(cd "$(dirname "$0")/.." && pwd)
KVE="$HERE/bench/kv-vs-etcd.sh"
TOOLS=${TOOLS:-$(sed -n 's/^TOOLS=\${TOOLS:-\(.*\)}$/\1/p' "$KVE")}
RAFTKV_ARGS=${RAFTKV_ARGS---snapshot-interval 100000}
BENCH="$TOOLS/etcd-benchmark"
export DEBIAN_FRONTEND=noninteractive GRPC_GO_LOG_SEVERITY_LEVEL=error
for v in $(env | awk -F= '/^ETCD/ {print $1}'); do unset "$v"; done

# The tools: kv-vs-etcd.sh's package check and build step, run as they stand there.
if [ ! -x "$BENCH" ] || ! command -v etcdctl >/dev/null; then
  mkdir -p "$TOOLS"
  TOOLS="$TOOLS" bash -euo pipefail -c "$(sed -n '/^need=()/,/^# ---- the clusters/p' "$KVE")"
fi
[ -x "$BENCH" ] || { echo "no benchmark tool at $BENCH" >&2; exit 1; }

PROF="$OUT/c$CLIENTS"
rm -rf "$PROF"
mkdir -p "$PROF"
BASE=$(mktemp -d -t raftkv-profile-data.XXXXXX)
C=(0 "$PORT" $((PORT + 100)) $((PORT + 200))) P=(0 $((PORT + 1)) $((PORT + 101)) $((PORT + 201)))
EPS="127.0.0.1:${C[1]},127.0.0.1:${C[2]},127.0.0.1:${C[3]}"
PIDS=()
stop_all() { # SIGTERM, then up to 60 s for each member to write its profile and exit
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 600); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null && echo "member $p killed: no profile" >&2
    wait "$p" 2>/dev/null || true
  done
  PIDS=()
}
trap 'stop_all; rm -rf "$BASE"' EXIT

leader() { # leader -> member number of the leader
  local i
  for _ in $(seq 300); do
    for i in 1 2 3; do
      if etcdctl --endpoints="127.0.0.1:${C[$i]}" endpoint status -w table 2>/dev/null | grep -q '| *true *|'; then
        echo "$i"; return 0
      fi
    done
    sleep 0.2
  done
  echo "no leader on $EPS" >&2; return 1
}
mono_us() { node -e 'process.stdout.write(String(process.hrtime.bigint() / 1000n))'; }

peers="1=127.0.0.1:${P[1]},2=127.0.0.1:${P[2]},3=127.0.0.1:${P[3]}"
for i in 1 2 3; do
  # shellcheck disable=SC2086
  node --cpu-prof --cpu-prof-dir="$PROF/m$i" "$HERE/bin/raftkv.js" serve --id "$i" --peers "$peers" \
    --client-addr "127.0.0.1:${C[$i]}" --data-dir "$BASE/m$i" --cluster-token "kvprofile" \
    --log-level warn ${RAFTKV_ARGS:-} >"$PROF/m$i.log" 2>&1 &
  PIDS+=($!)
done
L=$(leader)
put=(put --key-size=8 --sequential-keys --key-space-size=100000000 --val-size=256)
"$BENCH" --endpoints="$EPS" --target-leader --conns=16 --clients=16 "${put[@]}" --total="$WARM_TOTAL" \
  >"$PROF/warm.out" 2>&1
load0=$(cut -d' ' -f1-3 /proc/loadavg)
FROM=$(mono_us)
"$BENCH" --endpoints="$EPS" --target-leader --conns="$CLIENTS" --clients="$CLIENTS" "${put[@]}" \
  --total="$TOTAL" >"$PROF/bench.out" 2>&1
TO=$(mono_us)
load1=$(cut -d' ' -f1-3 /proc/loadavg)
L1=$(leader)
stop_all

F=1
while [ "$F" = "$L" ]; do F=$((F + 1)); done
rps=$(awk '/Requests\/sec:/ {printf "%.0f", $2}' "$PROF/bench.out")
p99=$(awk '/^  99% in/ {print $3 * 1000}' "$PROF/bench.out")
head="# $(date -u +%FT%TZ) nproc=$(nproc) node=$(node --version) clients=$CLIENTS total=$TOTAL"
head+=" req/s=$rps p99_ms=$p99 leader=m$L follower=m$F load=$load0..$load1 RAFTKV_ARGS=${RAFTKV_ARGS:-}"
[ "$L1" = "$L" ] || head+=" LEADER CHANGED to m$L1 during the run"
grep -q 'Error distribution' "$PROF/bench.out" && head+=" ERRORS (see $PROF/bench.out)"
for role in leader follower; do
  if [ "$role" = leader ]; then m=$L; else m=$F; fi
  # CPU.<date>.<time>.<pid>.<thread>.<seq>: thread 0 is the main thread (1 is tsx's loader)
  prof=$(find "$PROF/m$m" -regex '.*\.0\.[0-9]+\.cpuprofile' | head -1)
  [ -n "$prof" ] || { echo "member $m wrote no profile (see $PROF/m$m.log)" >&2; exit 1; }
  md="$OUT/self-$role-c$CLIENTS.md"
  { echo "$head"; echo "# $role: member $m, profile $prof"; echo; } >"$md"
  (cd "$HERE" && node --import tsx bench/flame.ts "$prof" --from="$FROM" --to="$TO" \
    --svg="$OUT/flame-$role-c$CLIENTS.svg" \
    --title="raftkv $role (member $m): puts of 256 B at $CLIENTS clients, $rps req/s") >>"$md"
  cat "$md"
  echo "flame graph: $OUT/flame-$role-c$CLIENTS.svg"
  echo
done
