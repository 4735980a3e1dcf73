#!/usr/bin/env bash
# Measures TorchSharp's implicit-Scalar race call site by call site (docs/scalar-race.md): runs
# ScalarRaceStressTests.Measure_OneShortTrial_WritesHeaderAndOneHeldRow (in measurement mode) once per site, in its own test process, so that a trial that
# aborts the process (LibTorch's error thrown through Scalar.ToDouble ends it with std::terminate) is recorded as an abort
# and the remaining trials go on in a fresh process. Prints the table and leaves the rows in $OUT.
#
#   bash src/SelectiveLoss.Tests/Stress/measure-scalar-race.sh [trials] [seconds]
#   SITES="TorchSharp Adam.step" PRESSURE=allocation MITIGATION=no-gc-region LABEL=nogc bash ...measure-scalar-race.sh 10 2
#
# Build first (dotnet build src/SelectiveLoss.Tests -c Release). Environment: SITES (names separated by ';', default
# every site), PRESSURE (forced, allocation), MITIGATION (none, no-gc-region, sustained-low-latency), LABEL, OUT (the
# TSV file, default runs/scalar-race/scalar-race.tsv), LOCK (a file to flock around each test process, shared machines).
set -euo pipefail
cd "$(dirname "$0")/../../.."
trials=${1:-10}
seconds=${2:-2}
out=${OUT:-runs/scalar-race/scalar-race.tsv}
label=${LABEL:-default}
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
mkdir -p "$(dirname "$out")"

default_sites=(
  "TorchSharp BatchNorm2d.forward, training"
  "TorchSharp BatchNorm2d.forward, training, momentum null"
  "TorchSharp SGD.step, momentum 0.9, weight decay 5e-4"
  "TorchSharp SGD.step, plain"
  "TorchSharp Adam.step"
  "DenseNet (norm_layer: nn.BatchNorm2d) forward + backward"
  "TorchSharp BatchNorm2d.forward, eval"
  "TorchSharp GroupNorm.forward"
  "TorchSharp cross_entropy, reduction none"
  "HeldScalarBatchNorm2d.forward, training"
  "HeldScalarBatchNorm2d.forward, training, momentum null"
  "ChannelGroupNorm.forward"
  "WeightStandardizedConv2d.forward"
  "DenseNet (default norm: HeldScalarBatchNorm2d) forward + backward"
  "DenseNet (ChannelGroupNorm, WeightStandardizedConv2d) forward + backward"
  "ReplaceBatchNorm'd model forward + backward"
)
if [ -n "${SITES:-}" ]; then
  IFS=';' read -r -a sites <<< "$SITES"
else
  sites=("${default_sites[@]}")
fi

rows() { [ -f "$out" ] && awk -F'\t' -v l="$label" -v s="$1" '$1 == l && $2 == s' "$out" | wc -l || echo 0; }
run_lock() { if [ -n "${LOCK:-}" ]; then flock "$LOCK" "$@"; else "$@"; fi; }

for site in "${sites[@]}"; do
  target=$(( $(rows "$site") + trials ))
  while [ "$(rows "$site")" -lt "$target" ]; do
    log=$(mktemp)
    set +e
    SELECTIVELOSS_STRESS_TRIALS=$(( target - $(rows "$site") )) SELECTIVELOSS_STRESS_SECONDS="$seconds" \
      SELECTIVELOSS_STRESS_SITES="$site" SELECTIVELOSS_STRESS_OUT="$out" SELECTIVELOSS_STRESS_LABEL="$label" \
      SELECTIVELOSS_STRESS_PRESSURE="${PRESSURE:-forced}" SELECTIVELOSS_STRESS_MITIGATION="${MITIGATION:-none}" \
      run_lock dotnet test src/SelectiveLoss.Tests -c Release --no-build \
      --filter "FullyQualifiedName~ScalarRaceStressTests.Measure_" > "$log" 2>&1
    status=$?
    set -e
    if grep -q "Test host process crashed" "$log"; then
      what=$(grep -m1 -o "what():.*" "$log" | cut -c1-160 || true)
      printf '%s\t%s\t%s\t%s\t0\t0\t0\t0\t0\taborted\tprocess aborted (std::terminate): %s\n' \
        "$label" "$site" "${PRESSURE:-forced}" "${MITIGATION:-none}" "$what" >> "$out"
    elif [ "$status" -ne 0 ]; then
      cat "$log"; rm -f "$log"; exit "$status"
    fi
    rm -f "$log"
  done
done

echo "| call site | trials | trials failed | calls | calls failed | rate per 1,000 calls | first error |"
echo "|---|---|---|---|---|---|---|"
awk -F'\t' -v l="$label" 'NR > 1 && $1 == l {
    key = $2; if (!(key in trials)) order[n++] = key
    trials[key]++; calls[key] += $5; failed[key] += $6 + $7
    if ($10 != "held") bad[key]++
    if ($10 == "aborted") aborts[key]++
    if ($11 != "" && !(key in err)) err[key] = $11
  }
  END {
    for (i = 0; i < n; i++) {
      k = order[i]; ab = aborts[k] ? " (" aborts[k] " aborted the process)" : ""
      printf "| %s | %d | %d%s | %d | %d | %.2f | %s |\n", k, trials[k], bad[k], ab, calls[k], failed[k], calls[k] ? 1000 * failed[k] / calls[k] : 0, substr(err[k], 1, 90)
    }
  }' "$out"
