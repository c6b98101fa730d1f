#!/usr/bin/env bash
# Archive throughput against the stock tools, measured in the same run:
# ours (read each file once, tar, zstd, write, SHA-256 of the archive) versus
#   tar -cf - DIR | zstd -T0 -3 | tee OUT | sha256sum
# on the same generated data. Prints MB/s for both and their ratio (goal >= 0.8).
# Then the upload benchmark against Azurite (block size x concurrency).
# Usage: bench/archive.sh [MB]   (default 256)
set -euo pipefail
cd "$(dirname "$0")/.."
export EVIDENCE_BENCH_MB="${1:-256}"
echo "== machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(zstd --version | head -1)"
go test -run '^$' -bench 'ArchiveVsZstdCLI' -benchtime 6x ./archive/
echo "== upload to Azurite (loopback; shows the client's cost, not Azure's)"
EVIDENCE_BENCH_MB=128 go test -run '^$' -bench 'Upload' -benchtime 3x ./archive/blob/
