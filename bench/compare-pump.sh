#!/usr/bin/env bash
# raw-3node-pump: etcd-raft-ts against Go etcd-raft 3.4 and the TypeScript peer
# @coaty/consensus.raft (both from ../shared/anchors), interleaved in one session so that all
# see the same machine load: go, coaty, ts, go, coaty, ts, ... R times each.
# Usage: bash bench/compare-pump.sh [R=3]   Env: PUMP_N1, PUMP_N, PUMP_COMPACT (as the anchor)
set -euo pipefail
R=${1:-3}
HERE=$(cd "$(dirname "$0")/.." && pwd)
ANCHORS=${ANCHORS:-$HERE/../shared/anchors}
OUT=${OUT:-/tmp/ts-pump-compare}
export PUMP_N1=${PUMP_N1:-500000} PUMP_N=${PUMP_N:-1000000} PUMP_COMPACT=${PUMP_COMPACT:-100000}
mkdir -p "$OUT"
BIN="$OUT/go/raft-pump.test"
[ -x "$BIN" ] || OUT="$OUT/go" bash "$ANCHORS/go-pump-bench.sh" 0 >/dev/null
COATY="$OUT/coaty"
if [ ! -f "$COATY/node_modules/@coaty/consensus.raft/ported/rawnode.js" ]; then
  mkdir -p "$COATY" && cp "$ANCHORS/coaty-core-bench/"{bench.js,package.json,package-lock.json} "$COATY/"
  (cd "$COATY" && npm ci --ignore-scripts --no-audit --no-fund >/dev/null)
fi
GP=$(mktemp -d)
trap 'rm -rf "$GP"' EXIT
RAW="$OUT/raw.txt"
echo "# $(date -u +%FT%TZ) load=$(cut -d' ' -f1-3 /proc/loadavg) R=$R" > "$RAW"
for i in $(seq 1 "$R"); do
  (cd "$GP" && ANCHOR_PUMP=1 "$BIN" -test.run '^TestAnchorRawPump$' -test.count 1) \
    | grep '^raw-3node-pump ' | sed 's/commits\/s=/commits_s=/' \
    | awk -v run="$i" '{ for (f = 2; f <= NF; f++) { split($f, kv, "="); v[kv[1]] = kv[2] }
        printf "go %s %s %s\n", run, v["batch"], v["commits_s"] }' | tee -a "$RAW"
  (cd "$COATY" && node bench.js) | grep '^raw-3node-pump ' | sed 's/commits\/s=/commits_s=/' \
    | awk -v run="$i" '{ for (f = 2; f <= NF; f++) { split($f, kv, "="); v[kv[1]] = kv[2] }
        printf "coaty %s %s %s\n", run, v["batch"], v["commits_s"] }' | tee -a "$RAW"
  (cd "$HERE" && node --import tsx bench/main.ts pump --json) \
    | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{for(const l of s.trim().split("\n")){const j=JSON.parse(l);console.log("ts '"$i"' "+j.bench.split("=")[1]+" "+j.value)}})' \
    | tee -a "$RAW"
done
echo "# end $(date -u +%FT%TZ) load=$(cut -d' ' -f1-3 /proc/loadavg)" >> "$RAW"
node -e '
const rows = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter(l => /^(go|ts|coaty) /.test(l)).map(l => l.split(" "));
const med = a => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
for (const b of ["1", "10", "100"]) {
  const go = rows.filter(r => r[0] === "go" && r[2] === b).map(r => +r[3]);
  const ts = rows.filter(r => r[0] === "ts" && r[2] === b).map(r => +r[3]);
  const co = rows.filter(r => r[0] === "coaty" && r[2] === b).map(r => +r[3]);
  console.log(`batch=${b}  go ${Math.round(med(go))}  coaty ${Math.round(med(co))}  ts ${Math.round(med(ts))}  ts/go ${(med(ts) / med(go)).toFixed(2)}  ts/coaty ${(med(ts) / med(co)).toFixed(2)}`);
  console.log(JSON.stringify({ bench: `raw-3node-pump/batch=${b}`, value: Math.round(med(ts)), unit: "commits/s", go: Math.round(med(go)), coaty: Math.round(med(co)), vsGo: +(med(ts) / med(go)).toFixed(3), vsCoaty: +(med(ts) / med(co)).toFixed(3) }));
}' "$RAW"
