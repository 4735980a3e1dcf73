using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using SelectiveLoss.Normalization;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace SelectiveLoss.Tests.Normalization;

/// <summary>
/// A measurement, not a test (off unless <c>SELECTIVELOSS_MEASURE_BATCHNORM</c> is set to a round count): TorchSharp's
/// <c>BatchNorm2d</c> against <see cref="HeldScalarBatchNorm2d"/>, forward and backward in training mode on
/// <c>[64, 128, 16, 16]</c>, interleaved in one process (ABBA order each round, 20 steps per block), as in
/// docs/scalar-race.md.
/// </summary>
[Collection(TorchCollection.Name)]
[Trait("Category", "Measurement")]
public sealed class HeldScalarBatchNorm2dTimings
{
    private readonly ITestOutputHelper output;

    public HeldScalarBatchNorm2dTimings(ITestOutputHelper output)
    {
        this.output = output;
    }

    [Fact]
    public void Measure_ForwardBackward_InterleavedWithTorchSharpBatchNorm2d()
    {
        string? roundsText = Environment.GetEnvironmentVariable("SELECTIVELOSS_MEASURE_BATCHNORM");
        if (roundsText is null)
        {
            output.WriteLine("Measurement mode is off: set SELECTIVELOSS_MEASURE_BATCHNORM to a round count (e.g. 15).");
            return;
        }

        int rounds = int.Parse(roundsText, CultureInfo.InvariantCulture);
        const int Steps = 20;
        manual_seed(5);
        using var theirs = nn.BatchNorm2d(128);
        using var ours = new HeldScalarBatchNorm2d(128);
        using Tensor x = randn(64, 128, 16, 16).requires_grad_(true);
        using Tensor upstream = randn(64, 128, 16, 16);
        var modules = new (string Name, nn.Module<Tensor, Tensor> Module, List<double> Ms)[]
        {
            ("TorchSharp BatchNorm2d", theirs, new List<double>()),
            ("HeldScalarBatchNorm2d", ours, new List<double>()),
        };

        double Block(nn.Module<Tensor, Tensor> module)
        {
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < Steps; i++)
            {
                using var scope = NewDisposeScope();
                module.call(x).backward(new[] { upstream });
                x.grad!.zero_();
            }

            return clock.Elapsed.TotalMilliseconds / Steps;
        }

        foreach (var m in modules)
        {
            _ = Block(m.Module);
        }

        for (int r = 0; r < rounds; r++)
        {
            int[] order = r % 2 == 0 ? new[] { 0, 1, 1, 0 } : new[] { 1, 0, 0, 1 };
            foreach (int i in order)
            {
                modules[i].Ms.Add(Block(modules[i].Module));
            }
        }

        static double Median(List<double> v)
        {
            var s = v.OrderBy(d => d).ToList();
            return s.Count % 2 == 1 ? s[s.Count / 2] : (s[(s.Count / 2) - 1] + s[s.Count / 2]) / 2;
        }

        foreach (var (name, _, ms) in modules)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{name}: median {Median(ms):F3} ms per step, min {ms.Min():F3}, max {ms.Max():F3} ({ms.Count} blocks of {Steps})"));
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"ratio HeldScalarBatchNorm2d / BatchNorm2d: {Median(modules[1].Ms) / Median(modules[0].Ms):F3} (median of blocks); " +
            $"per-round pairs: {Median(modules[1].Ms.Zip(modules[0].Ms, (a, b) => a / b).ToList()):F3} (median of ratios)"));
    }
}
