using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using SelectiveLoss.Models;
using SelectiveLoss.Numerics;
using static TorchSharp.torch;

namespace SelectiveLoss.Benchmarks;

/// <summary>
/// The fault's repro (docs/numerics.md, docs/numerics/scan.sh): how often each probed convolution pass comes out wrong
/// over N calls (every call counted, unlike the check, which stops a shape at its first fault), and how often the small
/// DenseNet that trained to NaN on AMD Zen 5 (growth 4, blocks 2,2, 8 initial features, CIFAR stem, GroupNorm) gets a
/// non-finite gradient within 4 SGD steps on 8x3x8x8 batches. oneDNN's instruction set comes from the environment
/// (<c>DNNL_MAX_CPU_ISA</c>), so the script runs this once per level.
/// </summary>
internal static class NumericsScan
{
    public const string CsvHeader = "onednn_max_isa,item,calls,wrong,non_finite";
    private static readonly int[] TinyBlocks = { 2, 2 };

    public static IReadOnlyList<string> Run(int calls)
    {
        string isa = OneDnnIsaCap.Describe().Replace(',', ';');
        var rows = new List<string>();
        var wrong = new Dictionary<string, (int Wrong, int NonFinite)>(StringComparer.Ordinal);
        foreach (var shape in ConvolutionProbe.Shapes)
        {
            foreach (string pass in ConvolutionProbe.Passes)
            {
                wrong[$"{ConvolutionProbe.Name(shape)}: {pass}"] = (0, 0);
            }
        }

        for (int i = 0; i < calls; i++)
        {
            Console.Write(string.Create(CultureInfo.InvariantCulture, $"\rnumerics scan: convolutions, call {i + 1}/{calls}   "));
            foreach (ConvolutionFault f in ConvolutionProbe.Run(LibTorchConvolutions.Instance, repeats: 1, tolerance: 1e-4, seed: (ulong)i).Faults)
            {
                var (w, n) = wrong[$"{f.Shape}: {f.Pass}"];
                wrong[$"{f.Shape}: {f.Pass}"] = (w + 1, n + (f.NonFinite ? 1 : 0));
            }
        }

        rows.AddRange(wrong.Select(p => string.Create(CultureInfo.InvariantCulture, $"{isa},{p.Key},{calls},{p.Value.Wrong},{p.Value.NonFinite}")));
        int runs = Math.Max(1, calls / 4), bad = 0;
        for (int run = 0; run < runs; run++)
        {
            Console.Write(string.Create(CultureInfo.InvariantCulture, $"\rnumerics scan: tiny DenseNet, run {run + 1}/{runs}   "));
            bad += TinyDenseNetGoesNonFinite(run) ? 1 : 0;
        }

        Console.WriteLine();
        rows.Add(string.Create(CultureInfo.InvariantCulture, $"{isa},tiny DenseNet (GroupNorm) 4 SGD steps: non-finite gradient,{runs},{bad},{bad}"));
        return rows;
    }

    public static void Print(IReadOnlyList<string> rows)
    {
        Console.WriteLine(CsvHeader);
        foreach (string row in rows)
        {
            Console.WriteLine(row);
        }
    }

    public static void WriteCsv(string path, IReadOnlyList<string> rows) =>
        Report.WriteText(path, new StringBuilder(CsvHeader).Append('\n').AppendJoin('\n', rows).Append('\n').ToString());

    private static bool TinyDenseNetGoesNonFinite(int run)
    {
        using var scope = NewDisposeScope();
        manual_seed(run);
        var model = new DenseNet(growth_rate: 4, block_config: TinyBlocks, num_init_features: 8, num_classes: 5, stem: DenseNetStem.Cifar,
            norm_layer: c => nn.GroupNorm(2, c));
        using var optimizer = optim.SGD(model.parameters(), 0.1);
        for (int step = 0; step < 4; step++)
        {
            using var stepScope = NewDisposeScope();
            optimizer.zero_grad();
            nn.functional.cross_entropy(model.call(randn(8, 3, 8, 8)), randint(0, 5, new long[] { 8 })).backward();
            if (model.parameters().Any(p => p.grad is { } g && !g.isfinite().all().item<bool>()))
            {
                return true;
            }

            optimizer.step();
        }

        return false;
    }
}
