#!/usr/bin/env bash
# Packs SelectiveLoss into artifacts/packages, then executes every notebook in samples/notebooks headless with
# dotnet-repl (pinned in dotnet-tools.json). Executed copies go to artifacts/notebooks/ (git-ignored).
# Fails if a committed notebook has outputs, if dotnet-repl fails, or if any cell of any notebook reports an error
# (dotnet-repl's exit code alone is not reliable for that, so the executed notebooks are scanned).
# Usage: bash samples/notebooks/run.sh [NOTEBOOK.ipynb ...]   (default: all of them)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

command -v jq >/dev/null || { echo "run.sh: jq is needed to check the notebooks' outputs" >&2; exit 2; }

if [ "$#" -gt 0 ]; then notebooks=("$@"); else notebooks=("$here"/*.ipynb); fi

# Outputs are stripped in the repository: refuse to run if one slipped in.
dirty=0
for nb in "${notebooks[@]}"; do
  n="$(jq '[.cells[] | select(.cell_type == "code") | select(((.outputs // []) | length) > 0 or .execution_count != null)] | length' "$nb")"
  if [ "$n" != "0" ]; then echo "run.sh: $nb has $n code cell(s) with outputs or an execution count; strip them" >&2; dirty=1; fi
done
[ "$dirty" = 0 ] || exit 1

echo "== pack SelectiveLoss into artifacts/packages"
dotnet pack src/SelectiveLoss -c Release -o artifacts/packages --nologo -v quiet
# The package cache keeps 0.1.0 once restored; drop it so the notebooks get the package just packed.
rm -rf "${NUGET_PACKAGES:-$HOME/.nuget/packages}/selectiveloss/0.1.0"

echo "== restore dotnet-repl"
dotnet tool restore

out="$root/artifacts/notebooks"
mkdir -p "$out"
failed=0
for nb in "${notebooks[@]}"; do
  name="$(basename "$nb")"
  executed="$out/$name"
  rm -f "$executed"
  echo "== $name"
  start=$(date +%s)
  # The kernel runs in the repository root, so nuget.config's local feed (artifacts/packages) applies.
  set +e
  dotnet repl --run "$nb" --exit-after-run --output-path "$executed" --working-dir "$root" > "$out/${name%.ipynb}.log" 2>&1
  rc=$?
  set -e
  seconds=$(( $(date +%s) - start ))
  if [ ! -s "$executed" ]; then
    echo "FAILED $name: no executed notebook written (dotnet repl exit $rc); see $out/${name%.ipynb}.log" >&2
    failed=1; continue
  fi
  errors="$(jq -r '[.cells | to_entries[] | .key as $i | .value.outputs[]? | select(.output_type == "error")
                   | "  cell \($i + 1): \(.ename): \(.evalue)"] | .[]' "$executed")"
  if [ -n "$errors" ]; then
    echo "FAILED $name after ${seconds} s:" >&2
    echo "$errors" >&2
    failed=1
  elif [ "$rc" != 0 ]; then
    echo "FAILED $name after ${seconds} s: dotnet repl exited $rc; see $out/${name%.ipynb}.log" >&2
    failed=1
  else
    echo "ok $name: ${seconds} s"
  fi
done

[ "$failed" = 0 ] || { echo "run.sh: some notebooks failed; executed copies are in $out" >&2; exit 1; }
echo "all notebooks ran; executed copies are in $out"
