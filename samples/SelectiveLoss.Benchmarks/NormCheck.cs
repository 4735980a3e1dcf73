using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using SelectiveLoss.Models;
using SelectiveLoss.Normalization;
using static TorchSharp.torch;

namespace SelectiveLoss.Benchmarks;

/// <summary>
/// What holding BatchNorm's Scalars costs: TorchSharp's <c>BatchNorm2d</c> against <see cref="HeldScalarBatchNorm2d"/>,
/// alone (forward and backward in training mode on <c>[64, 128, 16, 16]</c>) and as the norm of the trainer's small CIFAR
/// DenseNet (a full training step at batch 64), interleaved in one process: each round times a block of steps of each in
/// ABBA order (BAAB the next round), after one untimed block each.
/// </summary>
internal static class NormCheck
{
    public const string CsvHeader = "case,norm,blocks,steps_per_block,median_ms,min_ms,max_ms,ratio_to_torchsharp";
    private const string TorchSharpName = "TorchSharp BatchNorm2d";
    private const string HeldName = "HeldScalarBatchNorm2d";
    private static readonly int[] Blocks = { 3, 3, 3 };

    public static IReadOnlyList<NormRow> Run(int rounds)
    {
        var rows = new List<NormRow>();
        rows.AddRange(Module(rounds));
        rows.AddRange(Network(rounds));
        return rows;
    }

    private static NormRow[] Module(int rounds)
    {
        const int Steps = 20;
        manual_seed(5);
        using var theirs = nn.BatchNorm2d(128);
        using var ours = new HeldScalarBatchNorm2d(128);
        using Tensor x = randn(64, 128, 16, 16).requires_grad_(true);
        using Tensor upstream = randn(64, 128, 16, 16);
        void Step(nn.Module<Tensor, Tensor> module)
        {
            using var scope = NewDisposeScope();
            module.call(x).backward(new[] { upstream });
            x.grad!.zero_();
        }

        return Interleave("module_64x128x16x16", rounds, Steps, () => Step(theirs), () => Step(ours));
    }

    private static NormRow[] Network(int rounds)
    {
        const int Steps = 3;
        using var x = randn(64, 3, 32, 32);
        using var y = randint(0, 10, new long[] { 64 });
        manual_seed(0);
        using var theirs = new DenseNet(growth_rate: 12, block_config: Blocks, num_init_features: 24, num_classes: 10,
            stem: DenseNetStem.Cifar, norm_layer: c => nn.BatchNorm2d(c));
        manual_seed(0);
        using var ours = new DenseNet(growth_rate: 12, block_config: Blocks, num_init_features: 24, num_classes: 10,
            stem: DenseNetStem.Cifar);
        using var theirOptimizer = optim.SGD(theirs.parameters(), learningRate: 0.01, momentum: 0.9);
        using var ourOptimizer = optim.SGD(ours.parameters(), learningRate: 0.01, momentum: 0.9);
        void Step(DenseNet model, optim.Optimizer optimizer)
        {
            using var scope = NewDisposeScope();
            model.train();
            optimizer.zero_grad();
            nn.functional.cross_entropy(model.call(x), y).backward();
            optimizer.step();
        }

        return Interleave("small_densenet_step_64", rounds, Steps, () => Step(theirs, theirOptimizer), () => Step(ours, ourOptimizer));
    }

    private static NormRow[] Interleave(string name, int rounds, int steps, Action theirs, Action ours)
    {
        var ms = new[] { new List<double>(), new List<double>() };
        Action[] calls = { theirs, ours };
        double Block(int i)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            for (int s = 0; s < steps; s++)
            {
                calls[i]();
            }

            return clock.Elapsed.TotalMilliseconds / steps;
        }

        _ = Block(0);
        _ = Block(1);
        for (int r = 0; r < rounds; r++)
        {
            Console.Write(string.Create(CultureInfo.InvariantCulture, $"\rnorm check: {name}, round {r + 1}/{rounds}   "));
            foreach (int i in r % 2 == 0 ? new[] { 0, 1, 1, 0 } : new[] { 1, 0, 0, 1 })
            {
                ms[i].Add(Block(i));
            }
        }

        Console.WriteLine();
        double reference = Stats.Median(ms[0]);
        return new[]
        {
            new NormRow(name, TorchSharpName, ms[0].Count, steps, reference, ms[0].Min(), ms[0].Max(), 1.0),
            new NormRow(name, HeldName, ms[1].Count, steps, Stats.Median(ms[1]), ms[1].Min(), ms[1].Max(), Stats.Median(ms[1]) / reference),
        };
    }

    public static void Print(IReadOnlyList<NormRow> rows)
    {
        Console.WriteLine();
        Console.WriteLine("BatchNorm check: TorchSharp's BatchNorm2d against HeldScalarBatchNorm2d, interleaved (ABBA), medians of blocks");
        Console.WriteLine($"{"case",-40} {"norm",-24} {"blocks",6} {"median ms",10} {"min ms",9} {"max ms",9} {"ratio",7}");
        foreach (var r in rows)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{r.Case,-40} {r.Norm,-24} {r.Blocks,6} {r.MedianMs,10:0.000} {r.MinMs,9:0.000} {r.MaxMs,9:0.000} {r.Ratio,7:0.000}"));
        }
    }

    public static void WriteCsv(string path, IReadOnlyList<NormRow> rows)
    {
        var text = new StringBuilder(CsvHeader).Append('\n');
        foreach (var r in rows)
        {
            text.Append(string.Create(CultureInfo.InvariantCulture,
                $"{r.Case},{r.Norm},{r.Blocks},{r.StepsPerBlock},{r.MedianMs:0.000},{r.MinMs:0.000},{r.MaxMs:0.000},{r.Ratio:0.000}")).Append('\n');
        }

        Report.WriteText(path, text.ToString());
    }
}
