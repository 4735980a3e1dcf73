#!/usr/bin/env bash
# The oneDNN fault's repro (docs/numerics.md): at each oneDNN instruction-set level, how often each probed float32
# convolution pass is wrong against float64 (every call counted), how often the tiny DenseNet that trained to NaN on
# AMD Zen 5 gets a non-finite gradient in 4 SGD steps, and which oneDNN implementation ran each convolution.
#
# Usage, from anywhere in the repository: docs/numerics/scan.sh [CALLS] [OUTPUT-FOLDER]
#   CALLS: calls per shape at each level (default 200; the DenseNet runs CALLS/4 times). 400 took under a minute on 2 cores.
# Writes OUTPUT-FOLDER (default runs/numerics-scan-<date-time>): lscpu.txt, summary.csv (every level's counts),
# <LEVEL>/numerics-scan.csv, <LEVEL>-implementations.txt (oneDNN's verbose lines, counted) and <LEVEL>.log.
set -euo pipefail
cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
calls=${1:-200}
out=${2:-runs/numerics-scan-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
out=$(cd "$out" && pwd)
lscpu > "$out/lscpu.txt"
dotnet build -c Release samples/SelectiveLoss.Benchmarks > "$out/build.log"
bench=(dotnet run -c Release --no-build --project samples/SelectiveLoss.Benchmarks --)
echo "onednn_max_isa,item,calls,wrong,non_finite" > "$out/summary.csv"
for level in default AVX512_CORE_BF16 AVX512_CORE AVX2_VNNI AVX2 AVX SSE41; do
  cap=()
  [ "$level" = default ] || cap=("DNNL_MAX_CPU_ISA=$level")
  echo "== $level"
  # The library's own remembered cap stays out of it (the switch off); oneDNN prints every primitive it runs.
  env "${cap[@]}" ONEDNN_VERBOSE=1 SELECTIVELOSS_NUMERICS_CHECK=off "${bench[@]}" --numerics-scan "$calls" --output "$out/$level" \
    | tr '\r' '\n' > "$out/$level.log"
  grep -m1 ',info,cpu,isa:' "$out/$level.log" || true
  # Fields of a v1 verbose line: ...,convolution,IMPLEMENTATION,PROPAGATION,...,PROBLEM,TIME
  grep -E '^onednn_verbose,.*,primitive,exec,cpu,convolution,' "$out/$level.log" \
    | awk -F, '{print $7 "," $8 "," $(NF-1)}' | sort | uniq -c | sort -k2 > "$out/$level-implementations.txt"
  tail -n +2 "$out/$level/numerics-scan.csv" | sed "s/^[^,]*,/$level,/" >> "$out/summary.csv"
  awk -F, 'NR > 1 && $4 > 0 {print "  wrong: " $2 " " $4 "/" $3}' "$out/$level/numerics-scan.csv"
done
echo "summary: $out/summary.csv"
