#!/usr/bin/env bash
# Measures what a grab of many sign-ins costs: peak RSS (from /usr/bin/time -v)
# and throughput, against a separate `evidence sim` process that enforces a
# scaled reports budget. The reference is the budget's ceiling measured in the
# same run: requests/s allowed x page size.
#
#   bench/grab-rss.sh [records=200000] [budget=5/250ms]
set -euo pipefail
cd "$(dirname "$0")/.."
records=${1:-200000}
budget=${2:-5/250ms}
tmp=$(mktemp -d)
trap 'kill $simpid 2>/dev/null || true; rm -rf "$tmp"' EXIT
go build -o "$tmp/evidence" ./cmd/evidence
token=bench-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
"$tmp/evidence" sim --listen 127.0.0.1:0 --token "$token" --seed 21 --signins-per-user "$records" \
  --audits-per-user 50 --reports-budget "$budget" --now "$now" > "$tmp/sim.url" 2>/dev/null &
simpid=$!
for _ in $(seq 50); do [ -s "$tmp/sim.url" ] && break; sleep 0.1; done
url=$(head -1 "$tmp/sim.url")
since=$(date -u -d "$now - 30 days" +%Y-%m-%dT%H:%M:%SZ)
start=$(date +%s.%N)
EVIDENCE_GRAPH_TOKEN=$token /usr/bin/time -v "$tmp/evidence" grab --graph-url "$url" --auth token \
  --user victim@contoso.com --sources signins --since "$since" --until "$now" \
  --budget "reports=$budget" --bundle dir --out "$tmp/out" > "$tmp/grab.out" 2> "$tmp/grab.err"
end=$(date +%s.%N)
rss=$(awk -F: '/Maximum resident set size/ {gsub(/ /,"",$2); print $2}' "$tmp/grab.err")
got=$(wc -l < "$(tail -1 "$tmp/grab.out")/signins/interactive.jsonl")
n=${budget%%/*}; per=${budget#*/}
per_s=$(python3 -c "import re,sys; v,u=re.match(r'([0-9.]+)(ms|s|m)','$per').groups(); print(float(v)*{'ms':0.001,'s':1,'m':60}[u])")
python3 - "$records" "$got" "$rss" "$start" "$end" "$n" "$per_s" <<'PY'
import sys
want, got, rss, start, end, n, per = sys.argv[1:]
wall = float(end) - float(start)
rate = int(got) / wall
ceiling = int(n) / float(per) * 1000   # pages/s allowed x 1,000 records a page
print(f"records: {got} (asked {want})")
print(f"peak RSS: {int(rss)/1024:.1f} MB")
print(f"wall: {wall:.1f} s, {rate:.0f} records/s = {rate/ceiling:.2f} of the budget ceiling ({ceiling:.0f} records/s)")
PY
