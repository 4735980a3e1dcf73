using System;
using System.Linq;
using FluentAssertions;
using SelectiveLoss.Models;
using SelectiveLoss.Normalization;
using SelectiveLoss.Selection;
using SelectiveLoss.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SelectiveLoss.Tests.Training;

/// <summary>The exactness claim of the rebatched step, on the architecture of the user's experiment.</summary>
[Collection(TorchCollection.Name)]
public sealed class SelectiveStepDenseNetTests
{
    [Fact]
    public void Step_RebatchedOnSmallGroupNormDenseNet_UpdateEqualsMaskedToRoundOff()
    {
        using var scope = NewDisposeScope();
        DenseNet Build() => new(growth_rate: 8, block_config: new[] { 2, 2 }, num_init_features: 16, num_classes: 10,
            stem: DenseNetStem.Cifar, norm_layer: c => new ChannelGroupNorm(ChannelGroupNorm.DefaultGroupCount(c), c));
        AssertRebatchedEqualsMasked(Build, batch: 8, keep: 0.6, classes: 10, tolerance: 1e-13);
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void Step_RebatchedOnGroupNormDenseNet121_UpdateEqualsMaskedToRoundOff()
    {
        using var scope = NewDisposeScope();
        DenseNet Build() => DenseNets.densenet121(num_classes: 100, stem: DenseNetStem.Cifar, norm_layer: c => GroupNorm(32, c));
        AssertRebatchedEqualsMasked(Build, batch: 4, keep: 0.5, classes: 100, tolerance: 1e-12);
    }

    [Fact]
    public void Step_RebatchedOnSmallBatchNormDenseNet_DiffersFromMaskedAndSaysSo()
    {
        using var scope = NewDisposeScope();
        DenseNet Build() => new(growth_rate: 8, block_config: new[] { 2, 2 }, num_init_features: 16, num_classes: 10, stem: DenseNetStem.Cifar);
        manual_seed(1);
        var x = randn(8, 3, 16, 16, dtype: ScalarType.Float64);
        var y = randint(0, 10, new long[] { 8 });
        var (masked, _) = Train(Build, StepExecution.Masked, x, y, 0.5);
        var (rebatched, result) = Train(Build, StepExecution.Rebatched, x, y, 0.5);
        result.IsExact.Should().BeFalse();
        MaxDifference(masked, rebatched).Should().BeGreaterThan(1e-6);
    }

    private static void AssertRebatchedEqualsMasked(Func<DenseNet> build, int batch, double keep, int classes, double tolerance)
    {
        manual_seed(1);
        var x = randn(batch, 3, 32, 32, dtype: ScalarType.Float64);
        var y = randint(0, classes, new long[] { batch });
        var (masked, maskedResult) = Train(build, StepExecution.Masked, x, y, keep);
        var (rebatched, rebatchedResult) = Train(build, StepExecution.Rebatched, x, y, keep);

        rebatchedResult.IsExact.Should().BeTrue();
        rebatchedResult.KeptIndices.Should().Equal(maskedResult.KeptIndices);
        rebatchedResult.Loss.Should().BeApproximately(maskedResult.Loss, 1e-12);
        MaxDifference(masked, rebatched).Should().BeLessThan(tolerance);
    }

    private static (DenseNet Model, StepResult Result) Train(Func<DenseNet> build, StepExecution execution, Tensor x, Tensor y, double keep)
    {
        manual_seed(7);
        var model = build();
        model.to(ScalarType.Float64);
        using var step = new SelectiveStep(model, optim.SGD(model.parameters(), 0.5), new SelectiveLossReducer(keep),
            new SelectiveStepOptions { Execution = execution });
        return (model, step.Step(x, y));
    }

    private static double MaxDifference(Module a, Module b)
    {
        var pb = b.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        return a.named_parameters().Max(p => (p.parameter - pb[p.name]).abs().max().item<double>());
    }
}
