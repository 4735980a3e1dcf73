#!/usr/bin/env bash
# Proves the package works as other trainers consume it: packs SelectiveLoss into artifacts/packages under a unique
# version, creates a fresh console project outside the repository that references it by PackageReference (plus the
# CPU backend), builds it (the package's buildTransitive step makes TorchSharp load on Debian 12) and runs it; then
# builds and runs samples/ConsumerTrainer, a small trainer that also takes SelectiveLoss by PackageReference only.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

version="0.1.0-smoke.$(date -u +%Y%m%d%H%M%S)"
echo "== consumer smoke test: packing SelectiveLoss $version"
dotnet pack src/SelectiveLoss -c Release -p:Version="$version" -o artifacts/packages --nologo -v quiet
# The library reads TorchSharp internals pinned to 0.107.x: the package must not let consumers restore 0.108.
command -v unzip >/dev/null || { apt-get update -qq && apt-get install -y -qq unzip >/dev/null; }
nuspec_deps=$(unzip -p "artifacts/packages/SelectiveLoss.$version.nupkg" SelectiveLoss.nuspec | grep -o '<dependency id="TorchSharp"[^>]*>' | sort -u)
echo "$nuspec_deps"
[ "$nuspec_deps" = '<dependency id="TorchSharp" version="[0.107.0, 0.108.0)" exclude="Build,Analyzers" />' ]
# PyTorch checkpoints go through TorchSharp.PyBridge (and its pickle library): managed dependencies the package lists.
pybridge_deps=$(unzip -p "artifacts/packages/SelectiveLoss.$version.nupkg" SelectiveLoss.nuspec | grep -Eo '<dependency id="(TorchSharp.PyBridge|Razorvine.Pickle)"[^>]*>' | sort -u)
echo "$pybridge_deps"
[ "$(grep -c . <<<"$pybridge_deps")" -eq 2 ]

work="$(mktemp -d)"
packages="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
cleanup() { rm -rf "$work" "$packages/selectiveloss/$version" "$root/artifacts/packages/SelectiveLoss.$version.nupkg"; }
trap cleanup EXIT

cd "$work"
dotnet new console -n Consumer -o . --framework net10.0 >/dev/null
cat > nuget.config <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="selectiveloss-local" value="$root/artifacts/packages" />
  </packageSources>
</configuration>
XML
dotnet add package SelectiveLoss --version "$version" >/dev/null
dotnet add package libtorch-cpu-linux-x64 --version 2.10.0 >/dev/null
cat > Program.cs <<'CS'
using SelectiveLoss.Selection;
using static TorchSharp.torch;

using var loss = tensor(new float[] { 0.9f, 0.1f, 0.5f, 0.3f, 0.7f }, requires_grad: true);
var reducer = new SelectiveLossReducer(keepRatio: 0.6);
using var reduced = reducer.Reduce(loss);
reduced.backward();
System.Console.WriteLine($"kept {reducer.KeepCount(5)} of 5, loss {reduced.item<float>():0.000}, grad [{string.Join(", ", loss.grad!.data<float>().ToArray())}]");
if (System.Math.Abs(reduced.item<float>() - 0.3f) > 1e-6f) { System.Console.Error.WriteLine("wrong loss"); return 1; }
// A PyTorch checkpoint round trip: PyBridge's save_py, SelectiveLoss's load_state_dict.
using var layer = nn.Linear(3, 2);
TorchSharp.PyBridge.PyBridgeModuleExtensions.save_py(layer, "layer.pth");
using var copy = nn.Linear(3, 2);
var report = SelectiveLoss.Models.StateDicts.load_state_dict(copy, "layer.pth");
System.Console.WriteLine($"checkpoint: loaded {report.LoadedKeys.Count} tensors");
if (report.LoadedKeys.Count != 2) { System.Console.Error.WriteLine("checkpoint round trip failed"); return 1; }
return 0;
CS
dotnet build -c Release --nologo -v minimal 2>&1 | grep -E "SelectiveLoss:|error|warn" || true
output="$(dotnet run -c Release --no-build)"
echo "$output"
grep -q "kept 3 of 5, loss 0.300" <<<"$output"
grep -q "checkpoint: loaded 2 tensors" <<<"$output"

echo "== consumer trainer (samples/ConsumerTrainer, PackageReference SelectiveLoss $version)"
cd "$root"
dotnet run -c Release --project samples/ConsumerTrainer -p:SelectiveLossVersion="$version" 2>&1 | grep -Ev "^\s*$"
echo "== consumer smoke test passed"
