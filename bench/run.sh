#!/usr/bin/env bash
# One entry point for the performance figures of docs/performance.md.
#
#   bench/run.sh [records=200000] [runs=5] [ual=300000] [rss=1000000]
#
# Generates a bundle the way a user gets one: `evidence sim` in its own
# process serves `records` interactive sign-ins of one user under a reports
# budget scaled to 5 requests / 250 ms, and `evidence grab` collects them
# (that grab is the first line of the table: its throughput against the
# budget's ceiling, and its peak RSS). Then, on that bundle and its .tar.zst,
# each step of ours and its reference made of stock tools are run
# alternately `runs` times, page cache warm, and the medians are compared:
#
#   evidence verify DIR         vs  sha256sum -c SHA256SUMS (in DIR)
#   evidence verify X.tar.zst   vs  zstd -dc X.tar.zst | tar -x, then sha256sum -c
#   evidence pack DIR           vs  tar -cf - DIR | zstd -T0 -3 | sha256sum
#
# Then two more grabs, each from its own simulator process: `ual` records of
# the unified audit log over 90 days (queries of 500 ms, a per-query limit of
# 50,000 so that windows split, reads at 20 per 100 ms) against the best those
# budgets allow, and `rss` sign-ins with no budget, for the grab's peak RSS.
# 0 skips either.
#
# ratio = reference time / our time (above 1: ours is faster). Wall-clock
# times depend on the machine and on what else runs on it: the load average
# is printed before and after. Needs go, GNU tar, coreutils, zstd (installed
# from Debian if missing), python3. EVIDENCE_BIN=PATH times that build of
# evidence instead of building this checkout's. Scratch space: $TMPDIR (about 3x the
# bundle: the bundle, the archives, one extraction).
set -euo pipefail
cd "$(dirname "$0")/.."
records=${1:-200000}
runs=${2:-5}
ual=${3:-300000}
rss=${4:-1000000}
budget=5/250ms

if ! command -v zstd >/dev/null; then
	echo "zstd not found: installing it from Debian" >&2
	sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get install -y zstd >/dev/null
fi

tmp=$(mktemp -d)
simpid=""
trap '[ -n "$simpid" ] && kill "$simpid" 2>/dev/null; rm -rf "$tmp"' EXIT
if [ -n "${EVIDENCE_BIN:-}" ]; then
	ev=$(realpath "$EVIDENCE_BIN") # another build, to compare before and after a change
else
	go build -o "$tmp/evidence" ./cmd/evidence
	ev="$tmp/evidence"
fi

load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(free -g | awk '/^Mem:/ {print $2}') GiB"
echo "tools:   $(go version | cut -d' ' -f3), $(zstd --version | head -1), $(tar --version | head -1), $(sha256sum --version | head -1)"
echo "load:    $(load) (1, 5, 15 min) before"

# 1. The data: a grab from a simulator in its own process.
token=bench-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
since=$(date -u -d "$now - 29 days" +%Y-%m-%dT%H:%M:%SZ)
"$ev" sim --listen 127.0.0.1:0 --token "$token" --seed 21 --signins-per-user "$records" \
	--audits-per-user 50 --reports-budget "$budget" --now "$now" >"$tmp/sim.url" 2>/dev/null &
simpid=$!
for _ in $(seq 100); do [ -s "$tmp/sim.url" ] && break; sleep 0.1; done
url=$(head -1 "$tmp/sim.url")
mkdir "$tmp/out"
t0=$(date +%s%N)
EVIDENCE_GRAPH_TOKEN=$token /usr/bin/time -f '%M' -o "$tmp/grab.rss" "$ev" grab --graph-url "$url" --auth token \
	--user victim@contoso.com --sources signins --since "$since" --until "$now" \
	--budget "reports=$budget" --bundle dir --out "$tmp/out" >"$tmp/grab.out" 2>"$tmp/grab.err" ||
	{ echo "grab failed:" >&2; cat "$tmp/grab.err" >&2; exit 1; }
t1=$(date +%s%N)
kill "$simpid"; wait "$simpid" 2>/dev/null || true; simpid=""
dir=$(ls -d "$tmp"/out/evidence-*)
got=$(wc -l <"$dir/signins/interactive.jsonl")
throttled=$(grep -c '"status":429' "$dir/requests.jsonl" || true)
# What the budget allows for the requests this grab made (not every request
# brings 1,000 sign-ins: the kinds without records, the last page of each
# sub-window), and how long the collection itself took (first request sent
# to last answer read) before the seal and the report.
reqstats=$(python3 - "$dir/requests.jsonl" <<'PY'
import json, sys
from datetime import datetime
rs = [json.loads(l) for l in open(sys.argv[1])]
t = lambda r: datetime.fromisoformat(r["time"].replace("Z", "+00:00")).timestamp()
rep = [r for r in rs if r.get("budget") == "reports"]
print(len(rep), f"{max(t(r) + r['duration_ms'] / 1000 for r in rs) - min(t(r) for r in rs):.2f}")
PY
)
bytes=$(du -sb "$dir" | cut -f1)
echo "bundle:  $got sign-ins, $(find "$dir" -type f | wc -l) files, $((bytes / 1000000)) MB; $(du -b "$dir/signins/interactive.jsonl" | cut -f1 | awk '{printf "%d", $1/1e6}') MB in the largest file"

# 2. The archive ours verifies (made once; `pack` is timed below).
"$ev" pack "$dir" -o "$tmp/bundle.tar.zst" >/dev/null 2>&1
top=$(basename "$dir")

# ms CMD...: runs CMD, prints its wall time in milliseconds; fails if CMD does.
ms() {
	local s e
	s=$(date +%s%N)
	"$@" >/dev/null 2>"$tmp/step.err" || { echo "failed: $*" >&2; cat "$tmp/step.err" >&2; exit 1; }
	e=$(date +%s%N)
	echo $(((e - s) / 1000000))
}
ref_verify_dir() { (cd "$dir" && sha256sum -c --quiet SHA256SUMS); }
our_verify_dir() { "$ev" verify "$dir"; }
ref_verify_tar() {
	rm -rf "$tmp/x" && mkdir "$tmp/x"
	zstd -dc "$tmp/bundle.tar.zst" | tar -x -C "$tmp/x"
	(cd "$tmp/x/$top" && sha256sum -c --quiet SHA256SUMS)
}
our_verify_tar() { "$ev" verify "$tmp/bundle.tar.zst"; }
ref_pack() { tar -cf - -C "$(dirname "$dir")" "$top" | zstd -T0 -3 -q | sha256sum; }
our_pack() { rm -f "$tmp/packed.tar.zst" "$tmp/packed.custody.jsonl"; "$ev" pack "$dir" -o "$tmp/packed.tar.zst"; }

steps="verify_dir verify_tar pack"
for s in $steps; do ref_$s >/dev/null 2>&1; our_$s >/dev/null 2>&1; done # warm the page cache
for s in $steps; do : >"$tmp/$s.ref"; : >"$tmp/$s.our"; done
for _ in $(seq "$runs"); do
	for s in $steps; do
		ms ref_$s >>"$tmp/$s.ref"
		ms our_$s >>"$tmp/$s.our"
	done
done
rm -rf "$tmp/x"
rm -rf "$tmp/out" "$tmp/bundle.tar.zst" "$tmp/packed.tar.zst" "$tmp/packed.custody.jsonl"

# sim ARGS...: starts `evidence sim` in its own process; sets url and simpid.
sim() {
	: >"$tmp/sim.url"
	"$ev" sim --listen 127.0.0.1:0 --token "$token" --now "$now" "$@" >"$tmp/sim.url" 2>/dev/null &
	simpid=$!
	for _ in $(seq 600); do [ -s "$tmp/sim.url" ] && break; sleep 0.1; done
	url=$(head -1 "$tmp/sim.url")
}
stopsim() { kill "$simpid"; wait "$simpid" 2>/dev/null || true; simpid=""; }

# 3. The unified audit log, 90 days of one user, from a simulator process.
if [ "$ual" -gt 0 ]; then
	sim --seed 40 --signins-per-user 10 --audits-per-user 10 --ual-records-per-user $((ual / 3)) \
		--ual-record-limit 50000 --ual-query-delay 500ms --ual-read-budget 20/100ms
	mkdir "$tmp/ual"
	u0=$(date +%s%N)
	EVIDENCE_GRAPH_TOKEN=$token /usr/bin/time -f '%U %S' -o "$tmp/ual.cpu" "$ev" grab --graph-url "$url" --auth token --user victim@contoso.com --sources ual \
		--since "$(date -u -d "$now - 90 days" +%Y-%m-%dT%H:%M:%SZ)" --until "$now" --budget auditread=20/100ms \
		--ual-poll 20ms --ual-page-size 1000 --progress json --bundle dir --out "$tmp/ual" >"$tmp/ual.out" 2>"$tmp/ual.err" ||
		{ echo "ual grab failed:" >&2; grep -v '^{' "$tmp/ual.err" >&2; exit 1; }
	u1=$(date +%s%N)
	simcpu=$(awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$simpid/stat") # the simulator's CPU seconds
	stopsim
	ualdone=$(grep '"event":"done","source":"ual"' "$tmp/ual.err" | tail -1)
	rm -rf "$tmp/ual"
fi

# 4. Peak RSS of a grab of `rss` sign-ins, no budget, from a simulator process.
if [ "$rss" -gt 0 ]; then
	sim --seed 21 --signins-per-user "$rss" --audits-per-user 10 --reports-budget unlimited
	mkdir "$tmp/rss"
	r0=$(date +%s%N)
	EVIDENCE_GRAPH_TOKEN=$token /usr/bin/time -f '%M' -o "$tmp/rss.kb" "$ev" grab --graph-url "$url" --auth token \
		--user victim@contoso.com --sources signins --signin-kinds interactive --since "$since" --until "$now" \
		--budget reports=unlimited --bundle dir --out "$tmp/rss" >"$tmp/rss.out" 2>"$tmp/rss.err" ||
		{ echo "rss grab failed:" >&2; cat "$tmp/rss.err" >&2; exit 1; }
	r1=$(date +%s%N)
	stopsim
	rssgot=$(wc -l <"$(ls -d "$tmp"/rss/evidence-*)/signins/interactive.jsonl")
	rm -rf "$tmp/rss"
fi
after=$(load)

median() { sort -n "$1" | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
echo "load:    $after (1, 5, 15 min) after"
echo
echo "median of $runs runs each, alternated; ratio = reference time / our time"
echo
echo "| step | ours | reference | ratio | goal |"
echo "|---|---|---|---|---|"
python3 - "$got" "$((t1 - t0))" "$(cat "$tmp/grab.rss")" "$throttled" "$budget" $reqstats <<'PY'
import sys
got, ns, rss_kb, throttled, budget, reqs, span = sys.argv[1:]
wall = int(ns) / 1e9
n, per = budget.split("/")
per_s = float(per[:-2]) / 1000 if per.endswith("ms") else float(per[:-1])
ceiling = int(n) / per_s * 1000  # pages a second allowed x 1,000 sign-ins a page
rate = int(got) / wall
# The least time the budget allows for the reports requests made: n at
# once, then n more every per.
floor = (int(reqs) - 1) // int(n) * per_s
print(f"| `evidence grab` of {int(got):,} sign-ins from `evidence sim` (own process), budget {budget}; "
      f"peak RSS {int(rss_kb) / 1024:.0f} MB, {throttled} answer{'' if throttled == '1' else 's'} 429; {reqs} requests, which the budget allows in "
      f"{floor:.1f} s at best ({int(got) / floor:,.0f} records/s); collection {float(span):.1f} s ({floor / float(span):.2f} of that best), "
      f"the rest of the grab (start, seal, report) {wall - float(span):.1f} s | {rate:,.0f} records/s | "
      f"ceiling {ceiling:,.0f} records/s | {rate / ceiling:.2f} | >= 0.95, 0 answers 429 |")
PY
row() { # step-name label goal
	local o r
	o=$(median "$tmp/$1.our"); r=$(median "$tmp/$1.ref")
	awk -v l="$2" -v o="$o" -v r="$r" -v g="$3" 'BEGIN {printf "| %s | %.2f s | %.2f s | %.2fx | %s |\n", l, o/1000, r/1000, r/o, g}'
}
row verify_dir '`evidence verify DIR` vs `sha256sum -c SHA256SUMS`' '>= 4x'
row verify_tar '`evidence verify X.tar.zst` vs `zstd -dc X.tar.zst \| tar -x` + `sha256sum -c`' 'none set'
row pack '`evidence pack DIR` (verify, archive, read back) vs `tar -cf - DIR \| zstd -T0 -3 \| sha256sum`' '>= 1.0x'
if [ "$ual" -gt 0 ]; then
	python3 - "$ualdone" "$((u1 - u0))" "$simcpu" $(cat "$tmp/ual.cpu") "$(nproc)" <<'PY'
import json, math, sys
ev, ns = json.loads(sys.argv[1]), int(sys.argv[2])
simcpu, gu, gs, cores = float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
n, limit, page, delay, rate = ev["records"], 50000, 1000, 0.5, 20 / 0.1
best = delay + (math.ceil(n / page) + 2 * math.ceil(n / limit)) / rate
ours = ev["elapsed_s"]
# The machine's share: the simulator's CPU seconds (serving and encoding the
# pages) and the whole grab's, on this many cores; the budgets' best above
# counts neither.
print(f"| unified audit log, {n:,} records from `evidence sim` (own process): the source's collection "
      f"(whole grab {ns / 1e9:.1f} s), vs the best its budgets allow (500 ms queries, limit 50,000, reads 20/100ms); "
      f"CPU: simulator {simcpu:.1f} s, grab {gu + gs:.1f} s (user {gu:.1f}, system {gs:.1f}) on {cores} cores "
      f"| {ours:.2f} s | {best:.2f} s | {best / ours:.2f} | >= 0.8 |")
PY
fi
if [ "$rss" -gt 0 ]; then
	awk -v n="$rssgot" -v kb="$(cat "$tmp/rss.kb")" -v ns="$((r1 - r0))" 'BEGIN {
		printf "| `evidence grab` peak RSS, %s interactive sign-ins from `evidence sim` (own process), no budget (%.0f s) | %.0f MB | | | < 100 MB |\n", thousands(n), ns/1e9, kb/1024 }
		function thousands(x,  s) { s = sprintf("%d", x); while (s ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]($|,)/, ",&", s); return s }'
fi
