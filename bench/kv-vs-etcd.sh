#!/usr/bin/env bash
# raftkv against etcd 3.4.23: two 3-member clusters on 127.0.0.1 (each member its own
# process, durable WAL), both driven by etcd's own tools/benchmark (built from Debian's etcd
# source package as ../shared/anchors/etcd-cluster-bench.sh builds it), scenario by scenario
# interleaved so both see the same machine load: puts of 256 B to new keys at 1, 16 and 128
# clients, linearizable ranges at 16 and 128. Every rep starts both clusters afresh.
#
# Usage: bash bench/kv-vs-etcd.sh        (bench/kv.ts runs it and summarises raw.txt)
# Env:   DUR=10     target seconds per scenario (the total is the calibrated rate * DUR)
#        REPS=2     repetitions, each on fresh clusters; the order etcd/raftkv alternates
#        SCEN="put-c1 put-c16 put-c128 range-l-c16 range-l-c128"
#        WARM=1     before the scenarios, each fresh cluster serves 20,000 puts at 16 clients,
#                   500 at 1 and 5,000 linearizable ranges at 16, not measured (0: none): a
#                   V8 process runs its first thousands of requests before its code is
#                   optimised, and a server's steady state is what is compared
#        OUT=/tmp/kv-vs-etcd   raw.txt, per-run benchmark outputs, member logs
#        BASE=/tmp/kv-vs-etcd-data  data dirs (removed at the end)
#        TOOLS=/tmp/kv-vs-etcd-tools  the benchmark binary, kept between runs
#        RAFTKV_ARGS   extra flags for every `raftkv serve` (default: --snapshot-interval 100000,
#                      etcd 3.4's --snapshot-count default, so both snapshot equally often)
# Needs etcd-server, etcd-client, golang-go, golang-etcd-server-dev (installed if missing),
# Debian deb-src for the benchmark's source. Only 127.0.0.1; every process started is
# stopped by its PID.
set -euo pipefail
DUR=${DUR:-10}
REPS=${REPS:-2}
SCEN=${SCEN:-put-c1 put-c16 put-c128 range-l-c16 range-l-c128}
WARM=${WARM:-1}
OUT=${OUT:-/tmp/kv-vs-etcd}
BASE=${BASE:-/tmp/kv-vs-etcd-data}
TOOLS=${TOOLS:-/tmp/kv-vs-etcd-tools}
HERE=$(cd "$(dirname "$0")/.." && pwd)
RAFTKV_ARGS=${RAFTKV_ARGS---snapshot-interval 100000}
export DEBIAN_FRONTEND=noninteractive GRPC_GO_LOG_SEVERITY_LEVEL=error
for v in $(env | awk -F= '/^ETCD/ {print $1}'); do unset "$v"; done
mkdir -p "$OUT" "$BASE" "$TOOLS"
rm -f "$OUT"/*.out "$OUT"/*.calib "$OUT"/*.log

need=()
command -v etcd >/dev/null || need+=(etcd-server)
command -v etcdctl >/dev/null || need+=(etcd-client)
command -v go >/dev/null || need+=(golang-go)
command -v curl >/dev/null || need+=(curl)
[ -d /usr/share/gocode/src/go.etcd.io/etcd/clientv3 ] || need+=(golang-etcd-server-dev)
if [ ${#need[@]} -gt 0 ]; then apt-get update -qq; apt-get install -y -qq "${need[@]}" >/dev/null; fi

# ---- etcd's benchmark tool, built once (the anchor script's build step) --------------------
BENCH="$TOOLS/etcd-benchmark"
if [ ! -x "$BENCH" ]; then
  SRCDIR="$TOOLS/src" GP="$TOOLS/gopath"
  mkdir -p "$SRCDIR"
  SRCLIST=/etc/apt/sources.list.d/kvbench-debsrc.sources
  if ! (cd "$SRCDIR" && apt-get source --download-only -qq etcd >/dev/null 2>&1); then
    added=0
    if [ ! -e "$SRCLIST" ]; then
      printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' > "$SRCLIST"
      added=1
    fi
    apt-get update -qq
    (cd "$SRCDIR" && apt-get source --download-only -qq etcd >/dev/null 2>&1) || { echo "cannot fetch Debian etcd source" >&2; exit 1; }
    if [ "$added" = 1 ]; then rm -f "$SRCLIST"; apt-get update -qq || true; fi
  fi
  tar -C "$SRCDIR" -xzf "$SRCDIR"/etcd_*.orig.tar.gz
  mkdir -p "$GP/src/go.etcd.io/etcd/tools"
  cp -r "$SRCDIR"/etcd-*/tools/benchmark "$GP/src/go.etcd.io/etcd/tools/"
  (cd "$GP/src/go.etcd.io/etcd/tools/benchmark" && GO111MODULE=off GOFLAGS= GOCACHE="$TOOLS/gocache" \
    GOPATH="$GP:/usr/share/gocode" go build -o "$BENCH" .)
  rm -rf "$SRCDIR" "$GP" "$TOOLS/gocache"
fi

# ---- the clusters --------------------------------------------------------------------------
# Fixed ports below the kernel's ephemeral range (32768-60999 here), so that no outgoing
# connection's local port can take one of them between runs.
E_C=(0 21379 21479 21579) E_P=(0 21380 21480 21580)
K_C=(0 24379 24479 24579) K_P=(0 24380 24480 24580)
E_EPS="127.0.0.1:${E_C[1]},127.0.0.1:${E_C[2]},127.0.0.1:${E_C[3]}"
K_EPS="127.0.0.1:${K_C[1]},127.0.0.1:${K_C[2]},127.0.0.1:${K_C[3]}"
declare -A PIDS_OF=([etcd]="" [raftkv]="")
ALL_PIDS=()
stop_all() {
  local p
  for p in "${ALL_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${ALL_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  ALL_PIDS=(); PIDS_OF=([etcd]="" [raftkv]="")
  rm -rf "$BASE"/e1 "$BASE"/e2 "$BASE"/e3 "$BASE"/k1 "$BASE"/k2 "$BASE"/k3
}
trap 'stop_all; rm -rf "$BASE"' EXIT

start_etcd() {
  local i ic="e1=http://127.0.0.1:${E_P[1]},e2=http://127.0.0.1:${E_P[2]},e3=http://127.0.0.1:${E_P[3]}"
  for i in 1 2 3; do
    etcd --name "e$i" --data-dir "$BASE/e$i" \
      --listen-client-urls "http://127.0.0.1:${E_C[$i]}" --advertise-client-urls "http://127.0.0.1:${E_C[$i]}" \
      --listen-peer-urls "http://127.0.0.1:${E_P[$i]}" --initial-advertise-peer-urls "http://127.0.0.1:${E_P[$i]}" \
      --initial-cluster "$ic" --initial-cluster-token "kvbench-$1" --initial-cluster-state new \
      --logger zap --log-outputs "$OUT/rep$1-etcd-$i.log" >"$OUT/rep$1-etcd-$i.out.log" 2>&1 &
    ALL_PIDS+=($!); PIDS_OF[etcd]+=" $!"
  done
}
start_raftkv() {
  local i peers="1=127.0.0.1:${K_P[1]},2=127.0.0.1:${K_P[2]},3=127.0.0.1:${K_P[3]}"
  for i in 1 2 3; do
    # shellcheck disable=SC2086
    node "$HERE/bin/raftkv.js" serve --id "$i" --peers "$peers" --client-addr "127.0.0.1:${K_C[$i]}" \
      --data-dir "$BASE/k$i" --cluster-token "kvbench-$1" --log-level warn ${RAFTKV_ARGS:-} \
      >"$OUT/rep$1-raftkv-$i.log" 2>&1 &
    ALL_PIDS+=($!); PIDS_OF[raftkv]+=" $!"
  done
}
wait_leader() { # wait_leader EPS -> client port of the leader
  local eps=$1 ep
  for _ in $(seq 300); do
    for ep in ${eps//,/ }; do
      if etcdctl --endpoints="$ep" endpoint status -w table 2>/dev/null | grep -q '| *true *|'; then
        echo "${ep##*:}"; return 0
      fi
    done
    sleep 0.2
  done
  echo "no leader on $eps" >&2; return 1
}
metric() { # metric PORT NAME -> value summed over label sets
  curl -s "http://127.0.0.1:$1/metrics" | awk -v n="$2" '$1 == n || index($1, n "{") == 1 {s += $2} END {printf "%.0f\n", s}'
}
cpu_ticks() { # utime+stime of the processes given, in clock ticks
  local s=0 p
  for p in "$@"; do s=$((s + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done
  echo "$s"
}
max_rss_kb() { local m=0 p r; for p in "$@"; do r=$(awk '/VmHWM/ {print $2}' "/proc/$p/status"); [ "$r" -gt "$m" ] && m=$r; done; echo "$m"; }

# run_bench IMPL SCENARIO REP
run_bench() {
  local impl=$1 name=$2 rep=$3 eps lp clients calib
  local put=(put --key-size=8 --sequential-keys --key-space-size=100000000 --val-size=256)
  local args
  case $name in
    put-c1) clients=1 calib=300; args=("${put[@]}") ;;
    put-c16) clients=16 calib=3000; args=("${put[@]}") ;;
    put-c128) clients=128 calib=10000; args=("${put[@]}") ;;
    range-l-c16) clients=16 calib=5000; args=(range kvbench-read-key --consistency=l) ;;
    range-l-c128) clients=128 calib=10000; args=(range kvbench-read-key --consistency=l) ;;
    *) echo "unknown scenario $name" >&2; return 1 ;;
  esac
  if [ "$impl" = etcd ]; then eps=$E_EPS; lp=$E_LEADER; else eps=$K_EPS; lp=$K_LEADER; fi
  local common=(--endpoints="$eps" --target-leader --precise --conns="$clients" --clients="$clients")
  local f="$OUT/rep$rep-$impl-$name"
  # shellcheck disable=SC2086
  local pids=(${PIDS_OF[$impl]})
  "$BENCH" "${common[@]}" "${args[@]}" --total="$calib" > "$f.calib" 2>&1
  local rps total
  rps=$(awk '/Requests\/sec:/ {print $2}' "$f.calib")
  total=$(awk -v r="$rps" -v d="$DUR" 'BEGIN {t = int(r * d); if (t < 200) t = 200; print t}')
  local fs0 pc0 c0 t0 fs1 pc1 c1 t1 l0 l1
  fs0=$(metric "$lp" etcd_disk_wal_fsync_duration_seconds_count); pc0=$(metric "$lp" etcd_server_proposals_committed_total)
  l0=$(cut -d' ' -f1 /proc/loadavg)
  c0=$(cpu_ticks "${pids[@]}"); t0=$(date +%s.%N)
  "$BENCH" "${common[@]}" "${args[@]}" --total="$total" > "$f.out" 2>&1
  t1=$(date +%s.%N); c1=$(cpu_ticks "${pids[@]}")
  l1=$(cut -d' ' -f1 /proc/loadavg)
  fs1=$(metric "$lp" etcd_disk_wal_fsync_duration_seconds_count); pc1=$(metric "$lp" etcd_server_proposals_committed_total)
  awk -v impl="$impl" -v name="$name" -v rep="$rep" -v cl="$clients" -v n="$total" -v load="$l0..$l1" \
      -v rss="$(max_rss_kb "${pids[@]}")" \
      -v fs=$((fs1 - fs0)) -v pc=$((pc1 - pc0)) -v cpu=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v wall="$(echo "$t1 - $t0" | bc)" '
    /Total:/ {tot=$2} /Requests\/sec:/ {rps=$2}
    /^  50% in/ {p50=$3} /^  90% in/ {p90=$3} /^  99% in/ {p99=$3} /^  99.9% in/ {p999=$3}
    /Error distribution/ {err=1}
    END {printf "%s %s rep=%s clients=%s n=%d secs=%.2f req/s=%.0f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f p99.9_ms=%.3f leader_wal_fsyncs/s=%.0f leader_proposals/fsync=%.1f cpu_cores=%.2f max_rss_mb=%.0f load=%s errors=%s\n",
       impl, name, rep, cl, n, tot, rps, p50*1000, p90*1000, p99*1000, p999*1000, fs/wall, (fs ? pc/fs : 0), cpu/hz/wall, rss/1024, load, (err ? "YES" : "no")}' "$f.out" | tee -a "$RAW"
}

# warm runs the unmeasured warm-up (WARM above) against one cluster.
warm() {
  local impl=$1 rep=$2 eps
  if [ "$impl" = etcd ]; then eps=$E_EPS; else eps=$K_EPS; fi
  local put=(put --key-size=8 --sequential-keys --key-space-size=100000000 --val-size=256)
  local f="$OUT/rep$rep-$impl-warm.out"
  "$BENCH" --endpoints="$eps" --target-leader --conns=16 --clients=16 "${put[@]}" --total=20000 > "$f" 2>&1
  "$BENCH" --endpoints="$eps" --target-leader --conns=1 --clients=1 "${put[@]}" --total=500 >> "$f" 2>&1
  "$BENCH" --endpoints="$eps" --target-leader --conns=16 --clients=16 range kvbench-read-key --consistency=l --total=5000 >> "$f" 2>&1
}

RAW="$OUT/raw.txt"
echo "# $(date -u +%FT%TZ) nproc=$(nproc) load=$(cut -d' ' -f1-3 /proc/loadavg) DUR=$DUR REPS=$REPS WARM=$WARM $(etcd --version | head -1) node=$(node --version) RAFTKV_ARGS=${RAFTKV_ARGS:-}" > "$RAW"
VAL=$(head -c 192 /dev/urandom | base64 -w0)   # 256 ASCII bytes
for REP in $(seq "$REPS"); do
  start_etcd "$REP"; start_raftkv "$REP"
  E_LEADER=$(wait_leader "$E_EPS"); K_LEADER=$(wait_leader "$K_EPS")
  echo "# rep$REP etcd leader port $E_LEADER, raftkv leader port $K_LEADER" | tee -a "$RAW"
  etcdctl --endpoints="$E_EPS" put kvbench-read-key "$VAL" >/dev/null
  etcdctl --endpoints="$K_EPS" put kvbench-read-key "$VAL" >/dev/null
  if [ $((REP % 2)) = 1 ]; then order=(etcd raftkv); else order=(raftkv etcd); fi
  if [ "$WARM" = 1 ]; then for impl in "${order[@]}"; do warm "$impl" "$REP"; done; fi
  for s in $SCEN; do
    for impl in "${order[@]}"; do run_bench "$impl" "$s" "$REP"; done
  done
  echo "# rep$REP data: etcd $(du -sh "$BASE/e1" | cut -f1), raftkv $(du -sh "$BASE/k1" | cut -f1)" >> "$RAW"
  stop_all
done
echo "# end $(date -u +%FT%TZ) load=$(cut -d' ' -f1-3 /proc/loadavg)" >> "$RAW"
echo "raw: $RAW"
