using System;
using System.Linq;
using FluentAssertions;
using SelectiveLoss.Numerics;
using SelectiveLoss.Selection;
using SelectiveLoss.Tests.Numerics;
using SelectiveLoss.Training;
using Xunit;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SelectiveLoss.Tests.Training;

/// <summary>
/// A NaN is never trained on silently: a step whose loss or gradients are not finite throws
/// <see cref="NonFiniteLossException"/> before the optimiser step, leaving the model, the optimiser (momentum) and the
/// selection state as they were, so the next good batch trains exactly as if the bad one had never come; the selector's
/// loss refuses non-finite per-sample losses before remembering them.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class NonFiniteLossTests
{
    [Theory]
    [InlineData("lowest", "nan-loss")]
    [InlineData("random", "nan-loss")]
    [InlineData("cached", "nan-loss")]
    [InlineData("infobatch", "nan-loss")]
    [InlineData("masked", "nan-loss")]
    [InlineData("lowest", "nan-gradient")]
    [InlineData("masked", "nan-gradient")]
    [InlineData("sb-accumulate", "nan-gradient")]
    public void Step_NonFiniteLossOrGradient_RefusedAndEverythingAsItWas(string rule, string fault)
    {
        using var scope = NewDisposeScope();
        var poisoned = new PoisonedLoss(fault);
        var model = SelectiveStepTests.ConvNet(seed: 4, batchNorm: false);
        var twin = SelectiveStepTests.ConvNet(seed: 4, batchNorm: false);
        using var step = Build(rule, model, poisoned.Loss);
        using var reference = Build(rule, twin, (o, t) => functional.cross_entropy(o, t, reduction: Reduction.None));
        for (int b = 0; b < 3; b++)
        {
            var (x, y, ids) = Batch(b);
            step.Step(x, y, ids);
            reference.Step(x, y, ids);
        }

        var before = SelectiveStepTests.Snapshot(model);
        var (x3, y3, ids3) = Batch(3);
        poisoned.PoisonNextTrainingCall = true;

        var thrown = ((Action)(() => step.Step(x3, y3, ids3))).Should().Throw<NonFiniteLossException>().Which;

        thrown.Message.Should().Contain("not finite").And.Contain("The numerics check, run again");
        thrown.Recheck.Should().NotBeNull("the check runs again on a NaN, to tell whether the CPU is the cause");
        thrown.Recheck!.Passed.Should().BeTrue();
        thrown.NumericsMitigated.Should().BeFalse("the poisoned loss, not the convolutions, made the NaN");
        if (fault == "nan-gradient")
        {
            double.IsFinite(thrown.Loss).Should().BeTrue("the loss itself was finite; its gradient was not");
            thrown.NonFiniteGradients.Should().BePositive();
        }
        else
        {
            double.IsFinite(thrown.Loss).Should().BeFalse("the update's check reads the loss itself");
        }

        SelectiveStepTests.MaxDifference(before, SelectiveStepTests.Snapshot(model)).Should().Be(0, "no parameter moved");
        model.parameters().Where(p => p.grad is not null).Select(p => p.grad!.isfinite().all().item<bool>())
            .Should().OnlyContain(finite => finite, "no NaN gradient is left behind");
        for (int b = 4; b < 6; b++)
        {
            var (x, y, ids) = Batch(b);
            step.Step(x, y, ids).KeptIndices.Should().Equal(reference.Step(x, y, ids).KeptIndices, $"{rule}: the selection state was untouched");
        }

        SelectiveStepTests.MaxParameterDifference(model, twin).Should().Be(0, $"{rule}: the optimiser state (momentum) was untouched");
    }

    [Fact]
    public void Step_NaNWhileConvolutionsFaulty_RecheckFindsAndMitigatesItAndTheRetryTrains()
    {
        using var scope = NewDisposeScope();
        string memory = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "selectiveloss-recheck-" + Guid.NewGuid().ToString("N"));
        var faulty = new FaultyConvolutions("nan-backward-data");
        var poisoned = new PoisonedLoss("nan-loss");
        var model = SelectiveStepTests.ConvNet(seed: 4, batchNorm: false);
        using var step = Build("lowest", model, poisoned.Loss);
        var (x, y, ids) = Batch(0);
        step.Step(x, y, ids);
        var before = SelectiveStepTests.Snapshot(model);
        NumericsCheck.Backend = faulty;
        NumericsCheck.Memory = () => FaultMemory.In(memory);
        try
        {
            poisoned.PoisonNextTrainingCall = true;
            var thrown = ((Action)(() => step.Step(x, y, ids))).Should().Throw<NonFiniteLossException>().Which;

            thrown.NumericsMitigated.Should().BeTrue("the check, run again, found the convolutions wrong and turned oneDNN off");
            thrown.Recheck!.Mitigation.Should().Be(NumericsMitigation.OneDnnDisabled);
            thrown.Message.Should().Contain("found LibTorch's convolutions wrong on this CPU and made them right").And.Contain("retry the step");
            faulty.DisableCalls.Should().Be(1);
            NumericsCheck.Last.Should().BeSameAs(thrown.Recheck);
            SelectiveStepTests.MaxDifference(before, SelectiveStepTests.Snapshot(model)).Should().Be(0);
            step.Step(x, y, ids).Updated.Should().BeTrue("the retry trains");
        }
        finally
        {
            NumericsCheck.Backend = LibTorchConvolutions.Instance;
            NumericsCheck.Memory = FaultMemory.Default;
            NumericsCheck.Run(new NumericsCheckOptions { Notices = null }).Passed.Should().BeTrue();
            if (System.IO.Directory.Exists(memory))
            {
                System.IO.Directory.Delete(memory, recursive: true);
            }
        }
    }

    [Fact]
    public void Loss_NonFinitePerSampleLosses_RefusedCountedAndRollbackRestoresTheMemory()
    {
        using var scope = NewDisposeScope();
        var model = SelectiveStepTests.ConvNet(seed: 5, batchNorm: false);
        using var selector = new BatchSelector(model, SelectionRules.Lowest(0.5),
            new BatchSelectorOptions { Scores = ScoreSource.LastTrainingLoss, DatasetSize = 100, TotalEpochs = 2 });
        var (x, y, ids) = Batch(0);
        SelectedBatch kept = selector.Select(x, y, ids);
        var memory = selector.Memory!;
        (int Count, double? Mean) remembered = (memory.Count, memory.Mean);
        Tensor perSample = functional.cross_entropy(model.forward(kept.Input), kept.Target, reduction: Reduction.None);
        Tensor poisoned = perSample.index_put_(tensor(double.PositiveInfinity), tensor(new long[] { 0 }));

        var thrown = ((Action)(() => selector.Loss(kept, poisoned))).Should().Throw<NonFiniteLossException>().Which;

        thrown.NonFiniteSamples.Should().Be(1);
        thrown.Message.Should().Contain($"1 of the {kept.KeptCount} kept samples' losses are not finite").And.Contain("Rollback");
        (memory.Count, memory.Mean).Should().Be(remembered, "nothing was remembered");
        selector.Rollback().Should().BeTrue();
    }

    private static (Tensor X, Tensor Y, Tensor Ids) Batch(int b) => SelectiveStepRetryTests.Batch(b);

    private static SelectiveStep Build(string rule, Module<Tensor, Tensor> model, Func<Tensor, Tensor, Tensor> loss) =>
        SelectiveStepRetryTests.Build(rule, model, loss);

    /// <summary>Cross-entropy that, once, in a forward with gradients (the training forward), returns NaN losses or
    /// finite losses whose gradient is NaN (sqrt's infinite slope at 0 times the zero of output * 0).</summary>
    private sealed class PoisonedLoss(string fault)
    {
        public bool PoisonNextTrainingCall { get; set; }

        public Tensor Loss(Tensor output, Tensor target)
        {
            Tensor loss = functional.cross_entropy(output, target, reduction: Reduction.None);
            if (!PoisonNextTrainingCall || !output.requires_grad)
            {
                return loss;
            }

            PoisonNextTrainingCall = false;
            return fault == "nan-loss" ? loss * double.NaN : loss + (output * 0).sqrt().sum(1);
        }
    }
}
