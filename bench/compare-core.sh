#!/usr/bin/env bash
# one-node and majority-committed-index: etcd-raft-ts against Go etcd-raft 3.4.23's own
# BenchmarkOneNode and BenchmarkMajorityConfig_CommittedIndex (Debian's golang-etcd-server-dev,
# built as ../shared/anchors/go-raft-bench.sh builds them), interleaved so that both see the
# same load: go one-node, ts one-node, go quorum, ts quorum, ... R times.
# Usage: bash bench/compare-core.sh [R=3] [BENCHTIME=1s]
# Output: $OUT/raw.txt, a summary and JSON lines {"bench","value","unit","go","vsGo"}.
set -euo pipefail
R=${1:-3}
BENCHTIME=${2:-1s}
HERE=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-/tmp/ts-core-compare}
SRC=/usr/share/gocode/src/go.etcd.io/etcd/raft
mkdir -p "$OUT/go"
if [ ! -x "$OUT/go/raft.test" ] || [ ! -x "$OUT/go/quorum.test" ]; then
  if ! command -v go >/dev/null || [ ! -d "$SRC" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go golang-etcd-server-dev >/dev/null
  fi
  GP=$(mktemp -d /tmp/raft-gopath.XXXXXX)
  mkdir -p "$GP/src/go.etcd.io/etcd"
  cp -r "$SRC" "$GP/src/go.etcd.io/etcd/raft"
  (export GO111MODULE=off GOPATH="$GP:/usr/share/gocode" GOFLAGS= GOCACHE="$GP/.cache"
   cd "$GP/src/go.etcd.io/etcd/raft" && go test -c -o "$OUT/go/raft.test" .
   cd quorum && go test -c -o "$OUT/go/quorum.test" .)
  rm -rf "$GP"
fi
RAW="$OUT/raw.txt"
echo "# $(date -u +%FT%TZ) load=$(cut -d' ' -f1-3 /proc/loadavg) R=$R benchtime=$BENCHTIME" > "$RAW"
gobench() { # gobench BIN REGEX -> "name ns" lines
  (cd "$OUT/go" && "./$1" -test.run XXX -test.bench "$2" -test.benchtime "$BENCHTIME" -test.count 1 2>/dev/null) \
    | awk '/^Benchmark/ && / ns\/op/ { n = $1; sub(/-[0-9]+$/, "", n); print n, $3 }'
}
tsbench() { # tsbench SUITE -> "bench value" lines
  (cd "$HERE" && node --import tsx bench/main.ts "$1" --json) \
    | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{for(const l of s.trim().split("\n")){const j=JSON.parse(l);console.log(j.bench+" "+j.value)}})'
}
for i in $(seq 1 "$R"); do
  gobench raft.test '^BenchmarkOneNode$' | awk -v r="$i" '{ print "go", r, "one-node", $2 }' | tee -a "$RAW"
  tsbench onenode | awk -v r="$i" '$1 == "one-node" { print "ts", r, $1, $2 }' | tee -a "$RAW"
  gobench quorum.test '^BenchmarkMajorityConfig_CommittedIndex' \
    | sed -E 's/.*voters=([0-9]+)/majority-committed-index\/voters=\1/' \
    | awk -v r="$i" '{ print "go", r, $1, $2 }' | tee -a "$RAW"
  tsbench quorum | awk -v r="$i" '{ print "ts", r, $1, $2 }' | tee -a "$RAW"
done
echo "# end $(date -u +%FT%TZ) load=$(cut -d' ' -f1-3 /proc/loadavg)" >> "$RAW"
node -e '
const rows = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter(l => /^(go|ts) /.test(l)).map(l => l.split(" "));
const med = a => { const s = [...a].sort((x, y) => x - y); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const names = [...new Set(rows.map(r => r[2]))];
for (const b of names) {
  const go = rows.filter(r => r[0] === "go" && r[2] === b).map(r => +r[3]);
  const ts = rows.filter(r => r[0] === "ts" && r[2] === b).map(r => +r[3]);
  if (!go.length || !ts.length) continue;
  // ns/op: lower is better, so the speed ratio ts-vs-go is go/ts.
  const vs = med(go) / med(ts);
  console.log(`${b.padEnd(36)} go ${med(go).toFixed(1)} ns/op [${Math.min(...go)}..${Math.max(...go)}]  ts ${med(ts).toFixed(1)} ns/op [${Math.min(...ts)}..${Math.max(...ts)}]  speed ts/go ${vs.toFixed(2)}`);
  console.log(JSON.stringify({ bench: b, value: med(ts), unit: "ns/op", go: med(go), vsGo: +vs.toFixed(3) }));
}' "$RAW"
