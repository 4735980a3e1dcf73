using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Text;
using SelectiveLoss.Models;
using SelectiveLoss.Numerics;
using SelectiveLoss.Training;
using static TorchSharp.torch;

namespace SelectiveLoss.Benchmarks;

/// <summary>
/// What the numerics check and its mitigations cost (docs/numerics.md), measured in one run: the check itself (first
/// call, with oneDNN's kernel compilation, and again); then for each model a training step (forward, cross-entropy,
/// backward, SGD with momentum, batch 64 of 32x32 images) with oneDNN as it is and with oneDNN turned off
/// (<see cref="NumericsMitigation.OneDnnDisabled"/>), interleaved in blocks in ABBA order; the step's finiteness check
/// (loss and every gradient, one read) on the same model; and the step with oneDNN capped at AVX
/// (<see cref="NumericsMitigation.OneDnnCappedAtAvx"/>) in a child process started with <c>DNNL_MAX_CPU_ISA=AVX</c>,
/// since oneDNN takes the cap only before its first use.
/// </summary>
internal static class NumericsCost
{
    public const string CsvHeader = "model,variant,onednn_max_isa,blocks,steps_per_block,median_ms,min_ms,max_ms,ratio_to_onednn";
    private const string RowPrefix = "numerics_row=";
    private static readonly string[] ChildArguments = { "--numerics-child" };
    private static readonly int[] SmallBlocks = { 3, 3, 3 };

    public static IReadOnlyList<NumericsRow> Run(BenchmarkOptions options, Func<IReadOnlyList<string>, IReadOnlyDictionary<string, string>, string> child)
    {
        var rows = new List<NumericsRow>(Check());
        foreach (string model in options.NumericsModels)
        {
            rows.AddRange(Steps(model, options.NumericsRounds!.Value, options.Batch, interleaveOff: true));
        }

        string output = child(ChildArguments, new Dictionary<string, string> { ["DNNL_MAX_CPU_ISA"] = "AVX" });
        foreach (string line in output.Split('\n').Where(l => l.StartsWith(RowPrefix, StringComparison.Ordinal)))
        {
            NumericsRow capped = Parse(line[RowPrefix.Length..].Trim());
            double reference = rows.First(r => r.Model == capped.Model && r.Variant == "onednn").MedianMs;
            rows.Add(capped with { Variant = "onednn_avx", Ratio = capped.MedianMs / reference });
        }

        return rows;
    }

    /// <summary>The child's part: the steps with oneDNN as this process has it (capped by its environment), printed.</summary>
    public static int Child(BenchmarkOptions options)
    {
        foreach (string model in options.NumericsModels)
        {
            foreach (NumericsRow row in Steps(model, options.NumericsRounds!.Value, options.Batch, interleaveOff: false))
            {
                Console.WriteLine(RowPrefix + Format(row));
            }
        }

        return 0;
    }

    private static IEnumerable<NumericsRow> Check()
    {
        // Mitigate = false: the steps below are timed with oneDNN as this process has it, whatever the check finds.
        var quiet = new NumericsCheckOptions { Notices = null, Mitigate = false };
        var first = Stopwatch.StartNew();
        NumericsCheckResult result = NumericsCheck.Run(quiet);
        double firstMs = first.Elapsed.TotalMilliseconds;
        Console.WriteLine($"numerics check: {result}");
        var again = new List<double>();
        for (int i = 0; i < 5; i++)
        {
            again.Add(NumericsCheck.Run(quiet).Elapsed.TotalMilliseconds);
        }

        string isa = result.OneDnnMaxIsa;
        yield return new NumericsRow("check", "first", isa, 1, result.Convolutions, firstMs, firstMs, firstMs, double.NaN);
        yield return new NumericsRow("check", "again", isa, again.Count, result.Convolutions, Stats.Median(again), again.Min(), again.Max(), double.NaN);
    }

    private static IEnumerable<NumericsRow> Steps(string name, int rounds, int batch, bool interleaveOff)
    {
        int steps = name == "small" ? 5 : 1;
        manual_seed(3);
        using DenseNet model = name == "small"
            ? new DenseNet(growth_rate: 12, block_config: SmallBlocks, num_init_features: 24, num_classes: 100, stem: DenseNetStem.Cifar)
            : DenseNets.densenet121(num_classes: 100, stem: DenseNetStem.Cifar, norm_layer: c => nn.GroupNorm(32, c));
        using var optimizer = optim.SGD(model.parameters(), learningRate: 0.01, momentum: 0.9);
        using Tensor x = randn(batch, 3, 32, 32);
        using Tensor y = randint(0, 100, new long[] { batch });
        void Step()
        {
            using var scope = NewDisposeScope();
            model.train();
            optimizer.zero_grad();
            nn.functional.cross_entropy(model.call(x), y).backward();
            optimizer.step();
        }

        double Block(bool oneDnn)
        {
            AtenOneDnnSwitch.Enabled = oneDnn;
            try
            {
                var clock = Stopwatch.StartNew();
                for (int s = 0; s < steps; s++)
                {
                    Step();
                }

                return clock.Elapsed.TotalMilliseconds / steps;
            }
            finally
            {
                AtenOneDnnSwitch.Enabled = true;
            }
        }

        bool asIs = AtenOneDnnSwitch.Enabled;
        var on = new List<double>();
        var off = new List<double>();
        _ = Block(asIs);
        if (interleaveOff)
        {
            _ = Block(false);
        }

        for (int r = 0; r < rounds; r++)
        {
            Console.Write(string.Create(CultureInfo.InvariantCulture, $"\rnumerics check: {name}, round {r + 1}/{rounds}   "));
            foreach (bool oneDnn in !interleaveOff ? new[] { true, true } : r % 2 == 0 ? new[] { true, false, false, true } : new[] { false, true, true, false })
            {
                (oneDnn ? on : off).Add(Block(oneDnn && asIs));
            }
        }

        Console.WriteLine();
        AtenOneDnnSwitch.Enabled = asIs;
        string isa = OneDnnIsaCap.Describe();
        double reference = Stats.Median(on);
        yield return new NumericsRow(name, asIs ? "onednn" : "onednn_already_off", isa, on.Count, steps, reference, on.Min(), on.Max(), 1.0);
        if (interleaveOff)
        {
            yield return new NumericsRow(name, "onednn_off", isa, off.Count, steps, Stats.Median(off), off.Min(), off.Max(), Stats.Median(off) / reference);
            var checks = new List<double>();
            Step();
            using Tensor loss = nn.functional.cross_entropy(model.call(x), y);
            loss.backward();
            for (int i = 0; i < 20; i++)
            {
                var clock = Stopwatch.StartNew();
                FiniteChecks.LossAndGradients(loss, model.parameters());
                checks.Add(clock.Elapsed.TotalMilliseconds);
            }

            yield return new NumericsRow(name, "finite_check", isa, checks.Count, 1, Stats.Median(checks), checks.Min(), checks.Max(), Stats.Median(checks) / reference);
        }
    }

    public static void Print(IReadOnlyList<NumericsRow> rows)
    {
        Console.WriteLine();
        Console.WriteLine("Numerics check: the check's time, and a training step with oneDNN as it is, turned off, and capped at AVX (medians of blocks)");
        Console.WriteLine($"{"model",-12} {"variant",-14} {"blocks",6} {"steps",6} {"median ms",10} {"min ms",10} {"max ms",10} {"ratio",7}  oneDNN max ISA");
        foreach (var r in rows)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{r.Model,-12} {r.Variant,-14} {r.Blocks,6} {r.StepsPerBlock,6} {r.MedianMs,10:0.000} {r.MinMs,10:0.000} {r.MaxMs,10:0.000} {(double.IsNaN(r.Ratio) ? "-" : r.Ratio.ToString("0.000", CultureInfo.InvariantCulture)),7}  {r.OneDnnMaxIsa}"));
        }
    }

    public static void WriteCsv(string path, IReadOnlyList<NumericsRow> rows)
    {
        var text = new StringBuilder(CsvHeader).Append('\n');
        foreach (var r in rows)
        {
            text.Append(Format(r)).Append('\n');
        }

        Report.WriteText(path, text.ToString());
    }

    private static string Format(NumericsRow r) => string.Create(CultureInfo.InvariantCulture,
        $"{r.Model},{r.Variant},{r.OneDnnMaxIsa.Replace(',', ';')},{r.Blocks},{r.StepsPerBlock},{r.MedianMs:0.000},{r.MinMs:0.000},{r.MaxMs:0.000},{(double.IsNaN(r.Ratio) ? string.Empty : r.Ratio.ToString("0.000", CultureInfo.InvariantCulture))}");

    private static NumericsRow Parse(string line)
    {
        string[] f = line.Split(',');
        double D(string s) => s.Length == 0 ? double.NaN : double.Parse(s, CultureInfo.InvariantCulture);
        return new NumericsRow(f[0], f[1], f[2], int.Parse(f[3], CultureInfo.InvariantCulture), int.Parse(f[4], CultureInfo.InvariantCulture), D(f[5]), D(f[6]), D(f[7]), D(f[8]));
    }
}
