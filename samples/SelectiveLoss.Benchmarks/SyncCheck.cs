using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Text;
using SelectiveLoss.Models;
using SelectiveLoss.Selection;
using SelectiveLoss.Training;
using static TorchSharp.torch;

namespace SelectiveLoss.Benchmarks;

/// <summary>
/// What reading <see cref="StepResult.Loss"/> and <see cref="StepResult.KeptIndices"/> after every step costs against
/// not reading them, on the trainer's small CIFAR DenseNet (growth 12, blocks 3,3,3, 24 initial features, BatchNorm,
/// 100 classes) at batch 64 with the lowest 60%, rebatched. Blocks of 10 steps alternate between the two, after a
/// warm-up, so drift hits both alike. On the CPU a read is a copy of finished values; on a GPU it would also wait for
/// the queued work, which this machine cannot measure.
/// </summary>
internal static class SyncCheck
{
    public const string CsvHeader = "variant,steps,median_step_ms,mean_step_ms,median_loss_read_us,median_kept_read_us";
    private const int Batch = 64;
    private const int Block = 10;
    private const int Warmup = 5;
    private static readonly int[] Blocks = { 3, 3, 3 };

    public static IReadOnlyList<SyncRow> Run(int steps)
    {
        manual_seed(0);
        using var model = new DenseNet(growth_rate: 12, block_config: Blocks, num_init_features: 24, num_classes: 100, stem: DenseNetStem.Cifar);
        using var optimizer = optim.SGD(model.parameters(), learningRate: 0.01, momentum: 0.9, weight_decay: 5e-4);
        using var x = randn(Batch, 3, 32, 32);
        using var y = randint(0, 100, new long[] { Batch });
        using var step = new SelectiveStep(model, optimizer, SelectionRules.Lowest(0.6));
        for (int i = 0; i < Warmup; i++)
        {
            _ = step.Step(x, y);
        }

        var stepMs = new Dictionary<bool, List<double>> { [false] = new(), [true] = new() };
        var lossUs = new List<double>();
        var keptUs = new List<double>();
        for (int done = 0; done < steps; done += Block)
        {
            foreach (bool read in new[] { false, true })
            {
                for (int i = 0; i < Math.Min(Block, steps - done); i++)
                {
                    Console.Write(string.Create(CultureInfo.InvariantCulture, $"\rsync check: step {done + i + 1}/{steps} {(read ? "read" : "unread")}   "));
                    var clock = Stopwatch.StartNew();
                    StepResult result = step.Step(x, y);
                    if (read)
                    {
                        long before = clock.ElapsedTicks;
                        _ = result.Loss;
                        long afterLoss = clock.ElapsedTicks;
                        _ = result.KeptIndices;
                        long afterKept = clock.ElapsedTicks;
                        lossUs.Add(Us(afterLoss - before));
                        keptUs.Add(Us(afterKept - afterLoss));
                    }

                    stepMs[read].Add(clock.Elapsed.TotalMilliseconds);
                }
            }
        }

        Console.WriteLine();
        return new[]
        {
            new SyncRow("unread", stepMs[false].Count, Stats.Median(stepMs[false]), stepMs[false].Average(), double.NaN, double.NaN),
            new SyncRow("read", stepMs[true].Count, Stats.Median(stepMs[true]), stepMs[true].Average(), Stats.Median(lossUs), Stats.Median(keptUs)),
        };
    }

    public static void Print(IReadOnlyList<SyncRow> rows)
    {
        Console.WriteLine();
        Console.WriteLine($"Device sync: small CIFAR DenseNet (BatchNorm), batch {Batch}, lowest 0.6 rebatched, blocks of {Block} steps alternating");
        Console.WriteLine($"{"variant",-8} {"steps",6} {"median ms",10} {"mean ms",10} {"Loss read us",13} {"KeptIndices read us",20}");
        foreach (var r in rows)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{r.Variant,-8} {r.Steps,6} {r.MedianStepMs,10:0.00} {r.MeanStepMs,10:0.00} {r.MedianLossReadUs,13:0.0} {r.MedianKeptReadUs,20:0.0}"));
        }

        if (rows.Count == 2)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"reading both every step: {rows[1].MedianLossReadUs + rows[1].MedianKeptReadUs:0.0} us per step measured directly; medians of the steps differ by {(rows[1].MedianStepMs - rows[0].MedianStepMs) * 1000:0} us (step-to-step noise included)"));
        }
    }

    public static void WriteCsv(string path, IReadOnlyList<SyncRow> rows)
    {
        var text = new StringBuilder(CsvHeader).Append('\n');
        foreach (var r in rows)
        {
            text.Append(string.Create(CultureInfo.InvariantCulture,
                $"{r.Variant},{r.Steps},{r.MedianStepMs:0.000},{r.MeanStepMs:0.000},{Blank(r.MedianLossReadUs)},{Blank(r.MedianKeptReadUs)}")).Append('\n');
        }

        Report.WriteText(path, text.ToString());
    }

    private static string Blank(double value) => double.IsNaN(value) ? string.Empty : value.ToString("0.0", CultureInfo.InvariantCulture);

    private static double Us(long ticks) => ticks * 1e6 / Stopwatch.Frequency;
}
