using System;
using System.Linq;
using System.Runtime.InteropServices;
using FluentAssertions;
using SelectiveLoss.Selection;
using SelectiveLoss.Training;
using Xunit;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SelectiveLoss.Tests.Training;

/// <summary>
/// The retry contract: a step that throws before the optimiser step (here a native-looking error injected into the
/// training forward's loss) leaves the model, the optimiser and the selection state as they were, so retrying the batch
/// gives exactly what a step that never failed gives.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class SelectiveStepRetryTests
{
    [Theory]
    [InlineData("lowest", false)]
    [InlineData("random", false)]
    [InlineData("sb", false)]
    [InlineData("infobatch", false)]
    [InlineData("cached", false)]
    [InlineData("sb-accumulate", false)]
    [InlineData("lowest", true)]
    [InlineData("masked", true)]
    public void Step_ThrowsBeforeOptimizerStep_LeavesEverythingAsItWasAndRetryMatchesUninterrupted(string rule, bool batchNorm)
    {
        using var scope = NewDisposeScope();
        var failing = new FailingLoss();
        var model = SelectiveStepTests.ConvNet(seed: 2, batchNorm);
        var twin = SelectiveStepTests.ConvNet(seed: 2, batchNorm);
        using var step = Build(rule, model, failing.Loss);
        using var reference = Build(rule, twin, (o, t) => functional.cross_entropy(o, t, reduction: Reduction.None));
        for (int b = 0; b < 3; b++)
        {
            var (x, y, ids) = Batch(b);
            step.Step(x, y, ids);
            reference.Step(x, y, ids);
        }

        var (x3, y3, ids3) = Batch(3);
        var before = model.state_dict().ToDictionary(p => p.Key, p => p.Value.clone());
        int pending = step.PendingCount;
        failing.FailNextTrainingCall = true;

        ((Action)(() => step.Step(x3, y3, ids3))).Should().Throw<ExternalException>();

        foreach (var (key, value) in model.state_dict())
        {
            (value - before[key]).abs().max().to(ScalarType.Float64).item<double>().Should().Be(0, $"{rule}: {key} is as it was");
        }

        step.PendingCount.Should().Be(pending);
        StepResult retried = step.Step(x3, y3, ids3);
        StepResult expected = reference.Step(x3, y3, ids3);
        retried.KeptIndices.Should().Equal(expected.KeptIndices, $"{rule}: the retry selects as a step that never failed");
        for (int b = 4; b < 6; b++)
        {
            var (x, y, ids) = Batch(b);
            step.Step(x, y, ids).KeptIndices.Should().Equal(reference.Step(x, y, ids).KeptIndices);
        }

        SelectiveStepTests.MaxParameterDifference(model, twin).Should().Be(0, $"{rule}: the optimiser state (momentum) was untouched");
        foreach (var (key, value) in twin.state_dict())
        {
            (model.state_dict()[key] - value).abs().max().to(ScalarType.Float64).item<double>().Should().Be(0, key);
        }
    }

    internal static (Tensor X, Tensor Y, Tensor Ids) Batch(int b)
    {
        using var generator = new Generator((ulong)(b + 40), CPU);
        return (randn(new long[] { 12, 3, 8, 8 }, dtype: ScalarType.Float64, generator: generator),
            randint(0, SelectiveStepTests.Classes, new long[] { 12 }, generator: generator),
            arange(b * 12, (b + 1) * 12, dtype: ScalarType.Int64));
    }

    internal static SelectiveStep Build(string rule, Module<Tensor, Tensor> model, Func<Tensor, Tensor, Tensor> loss)
    {
        var optimizer = optim.SGD(model.parameters(), 0.05, momentum: 0.9);
        var options = new SelectiveStepOptions { TotalEpochs = 10, Seed = 3, PerSampleLoss = loss };
        return rule switch
        {
            "random" => new SelectiveStep(model, optimizer, SelectionRules.Random(0.5), options),
            "sb" => new SelectiveStep(model, optimizer, SelectionRules.SelectiveBackprop(beta: 1, historySize: 30), options),
            "infobatch" => new SelectiveStep(model, optimizer, SelectionRules.InfoBatch(), options),
            "cached" => new SelectiveStep(model, optimizer, SelectionRules.Lowest(0.5), options with { Scores = ScoreSource.Cached }),
            "sb-accumulate" => new SelectiveStep(model, optimizer, SelectionRules.SelectiveBackprop(beta: 1, historySize: 30), options with { AccumulateToBatchSize = 8 }),
            "masked" => new SelectiveStep(model, optimizer, SelectionRules.Lowest(0.5), options with { Execution = StepExecution.Masked }),
            _ => new SelectiveStep(model, optimizer, SelectionRules.Lowest(0.5), options),
        };
    }

    /// <summary>Cross-entropy that throws once, in a forward with gradients (the training forward), as TorchSharp's
    /// native errors do.</summary>
    private sealed class FailingLoss
    {
        public bool FailNextTrainingCall { get; set; }

        public Tensor Loss(Tensor output, Tensor target)
        {
            if (FailNextTrainingCall && output.requires_grad)
            {
                FailNextTrainingCall = false;
#pragma warning disable CA2201 // the very type TorchSharp's native errors arrive as
                throw new ExternalException("Injected: Expected false to be true ... Exception raised from toLong at c10/core/Scalar.h:140");
#pragma warning restore CA2201
            }

            return functional.cross_entropy(output, target, reduction: Reduction.None);
        }
    }
}
