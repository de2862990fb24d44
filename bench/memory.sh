#!/usr/bin/env bash
# Memory of raftkv members (3 processes on 127.0.0.1, durable WAL), driven by etcd's benchmark
# tool (built by bench/kv-vs-etcd.sh into $TOOLS).
#  A. A follower stops reading (SIGSTOP) while clients put 1 KiB values at 16 clients for
#     STALL_SECS: the leader's RSS is sampled every 0.5 s; its growth should stay within
#     what raft may have in flight to that follower (MaxInflightMsgs 256 x MaxSizePerMsg
#     1 MiB, the Node's defaults, as no MaxInflightBytes is set) plus the transport's queue
#     limit (64 MiB). The follower is resumed (SIGCONT) and must catch up.
#  B. PUTS (default 1,000,000) puts of 256 B to distinct keys at 128 clients, snapshots every
#     10,000 entries (raftkv's default): RSS of each member against the live data (Status
#     dbSize: bytes of keys and values), 2 s after the load and again after SETTLE_SECS; the
#     peak is VmHWM. The raft term before and after tells whether leadership changed.
# Usage: bash bench/memory.sh      Env: PUTS, STALL_SECS=20, SETTLE_SECS=15, PARTS=AB (A, B or
#        both), OUT=/tmp/raftkv-memory, PORT=25379 (client ports PORT, +100, +200; peers +1)
set -euo pipefail
PUTS=${PUTS:-1000000}
STALL_SECS=${STALL_SECS:-20}
SETTLE_SECS=${SETTLE_SECS:-15}
PARTS=${PARTS:-AB}
OUT=${OUT:-/tmp/raftkv-memory}
TOOLS=${TOOLS:-/tmp/kv-vs-etcd-tools}
BENCH="$TOOLS/etcd-benchmark"
HERE=$(cd "$(dirname "$0")/.." && pwd)
[ -x "$BENCH" ] || { echo "run bench/kv-vs-etcd.sh once first: it builds $BENCH" >&2; exit 1; }
BASE=$(mktemp -d /tmp/raftkv-memory-data.XXXXXX)
mkdir -p "$OUT"
PORT=${PORT:-25379}
C=(0 "$PORT" $((PORT + 100)) $((PORT + 200))) P=(0 $((PORT + 1)) $((PORT + 101)) $((PORT + 201)))
EPS="127.0.0.1:${C[1]},127.0.0.1:${C[2]},127.0.0.1:${C[3]}"
PIDS=()
stop_all() {
  local p
  for p in "${PIDS[@]}"; do kill -CONT "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
}
trap 'stop_all; rm -rf "$BASE"' EXIT
start() {
  local i peers="1=127.0.0.1:${P[1]},2=127.0.0.1:${P[2]},3=127.0.0.1:${P[3]}"
  rm -rf "$BASE"/m*
  for i in 1 2 3; do
    node "$HERE/bin/raftkv.js" serve --id "$i" --peers "$peers" --client-addr "127.0.0.1:${C[$i]}" \
      --data-dir "$BASE/m$i" --cluster-token "kvmem-$1" --log-level warn >"$OUT/$1-m$i.log" 2>&1 &
    PIDS+=($!)
  done
  for _ in $(seq 300); do
    for i in 1 2 3; do
      if etcdctl --endpoints="127.0.0.1:${C[$i]}" endpoint status -w table 2>/dev/null | grep -q '| *true *|'; then
        LEADER=$i; return 0
      fi
    done
    sleep 0.2
  done
  echo "no leader" >&2; return 1
}
rss_mb() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
RES="$OUT/result.txt"
echo "# $(date -u +%FT%TZ) load=$(cut -d' ' -f1-3 /proc/loadavg) node=$(node --version)" > "$RES"

# ---- A: a follower that stops reading ----------------------------------------------------
if [[ $PARTS == *A* ]]; then
start stall
LP=${PIDS[$((LEADER - 1))]}
F=$((LEADER % 3 + 1)); FP=${PIDS[$((F - 1))]}
"$BENCH" --endpoints="127.0.0.1:${C[$LEADER]}" --conns=16 --clients=16 put --key-size=8 \
  --sequential-keys --key-space-size=100000000 --val-size=1024 --total=5000 >/dev/null 2>&1
base=$(rss_mb "$LP")
kill -STOP "$FP"
"$BENCH" --endpoints="127.0.0.1:${C[$LEADER]}" --conns=16 --clients=16 put --key-size=8 \
  --sequential-keys --key-space-size=100000000 --val-size=1024 --total=100000000 > "$OUT/stall.out" 2>&1 &
BP=$!
max=$base
for _ in $(seq $((STALL_SECS * 2))); do
  sleep 0.5
  r=$(rss_mb "$LP"); max=$(awk -v a="$max" -v b="$r" 'BEGIN {print (b > a ? b : a)}')
done
kill "$BP" 2>/dev/null || true; wait "$BP" 2>/dev/null || true
committed=$(curl -s "http://127.0.0.1:${C[$LEADER]}/metrics" | awk '$1 == "etcd_server_proposals_committed_total" {print $2}')
kill -CONT "$FP"
caught=no
for _ in $(seq 150); do
  st=$(etcdctl --endpoints="127.0.0.1:${C[$LEADER]},127.0.0.1:${C[$F]}" endpoint status -w json 2>/dev/null || true)
  a=$(echo "$st" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{const j=JSON.parse(s);const i=j.map(x=>x.Status.raftAppliedIndex??x.Status.raft_applied_index??x.Status.raftIndex);console.log(Math.abs(i[0]-i[1])<100?"yes":"no")}catch{console.log("no")}})')
  [ "$a" = yes ] && { caught=yes; break; }
  sleep 0.2
done
bound=$((256 + 64))
echo "stall: follower m$F stopped ${STALL_SECS}s under 16 clients x 1 KiB puts; leader RSS before ${base} MB, max ${max} MB, growth $(awk -v a="$base" -v b="$max" 'BEGIN {printf "%.1f", b - a}') MB; bound (MaxInflightMsgs x MaxSizePerMsg + transport queue) ${bound} MiB; proposals committed ${committed}; follower caught up after SIGCONT: ${caught}" | tee -a "$RES"
stop_all
fi

# ---- B: RSS after PUTS puts with snapshots ------------------------------------------------
[[ $PARTS == *B* ]] || exit 0
term() {
  etcdctl --endpoints="127.0.0.1:${C[$LEADER]}" endpoint status -w json 2>/dev/null |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{console.log(JSON.parse(s)[0].Status.raft_term??JSON.parse(s)[0].Status.raftTerm)}catch{console.log("?")}})'
}
start puts
term0=$(term)
t0=$(date +%s)
"$BENCH" --endpoints="127.0.0.1:${C[$LEADER]}" --conns=128 --clients=128 put --key-size=8 \
  --sequential-keys --key-space-size=100000000 --val-size=256 --total="$PUTS" > "$OUT/puts.out" 2>&1
t1=$(date +%s)
sleep 2
term1=$(term)
db=$(etcdctl --endpoints="127.0.0.1:${C[$LEADER]}" endpoint status -w json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s)[0].Status.dbSize))')
declare -A R2
for i in 1 2 3; do R2[$i]=$(rss_mb "${PIDS[$((i - 1))]}"); done
sleep "$SETTLE_SECS"
for i in 1 2 3; do
  p=${PIDS[$((i - 1))]}
  r=${R2[$i]}; rs=$(rss_mb "$p"); h=$(awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$p/status")
  echo "puts: m$i$([ "$i" = "$LEADER" ] && echo ' (leader)') after $PUTS puts in $((t1 - t0)) s: RSS ${r} MB (after ${SETTLE_SECS} s more: ${rs} MB, peak ${h} MB), live data (dbSize) $(awk -v d="$db" 'BEGIN {printf "%.1f", d / 1048576}') MiB, RSS/live $(awk -v d="$db" -v r="$r" 'BEGIN {printf "%.2f", r * 1048576 / d}') ($(awk -v d="$db" -v r="$rs" 'BEGIN {printf "%.2f", r * 1048576 / d}') settled)" | tee -a "$RES"
done
# What the RSS is made of: V8's heap (total and in use), memory outside it (Buffers,
# ArrayBuffers) from the member's own metrics, and the kernel's split of the RSS.
for i in 1 2 3; do
  p=${PIDS[$((i - 1))]}
  m=$(curl -s "http://127.0.0.1:${C[$i]}/metrics")
  g() { awk -v k="$1" '$1 == k {printf "%.1f", $2 / 1048576}' <<< "$m"; }
  echo "puts: m$i breakdown: V8 heap total $(g nodejs_heap_size_total_bytes) MiB, used $(g nodejs_heap_size_used_bytes) MiB, external $(g nodejs_external_memory_bytes) MiB; RSS anon $(awk '/^Anonymous/ {printf "%.1f", $2 / 1024}' "/proc/$p/smaps_rollup") MiB, file $(awk '/^Rss/ {r = $2} /^Anonymous/ {a = $2} END {printf "%.1f", (r - a) / 1024}' "/proc/$p/smaps_rollup") MiB" | tee -a "$RES"
done
echo "puts: raft term ${term0} before, ${term1} after (a change means an election); step-downs logged: $(cat "$OUT"/puts-m*.log | grep -c 'stepped down' || true)" | tee -a "$RES"
grep -E "Requests/sec|99% in" "$OUT/puts.out" | sed 's/^/puts: /' | tee -a "$RES"
echo "# end $(date -u +%FT%TZ) load=$(cut -d' ' -f1-3 /proc/loadavg)" >> "$RES"
