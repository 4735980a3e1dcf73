using System;
using System.Collections.Generic;
using System.Linq;
using FluentAssertions;
using SelectiveLoss.Normalization;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace SelectiveLoss.Tests.Normalization;

[Collection(TorchCollection.Name)]
public sealed class HeldScalarBatchNorm2dTests
{
    [Fact]
    public void StateDict_Always_SameKeysShapesDtypesAndValuesAsTorchSharpBatchNorm2d()
    {
        using var scope = NewDisposeScope();
        using var ours = new HeldScalarBatchNorm2d(6);
        using var theirs = nn.BatchNorm2d(6);

        Dictionary<string, Tensor> a = ours.state_dict(), b = theirs.state_dict();

        a.Keys.Should().Equal("weight", "bias", "running_mean", "running_var", "num_batches_tracked");
        a.Keys.Should().Equal(b.Keys);
        foreach (string key in a.Keys)
        {
            a[key].dtype.Should().Be(b[key].dtype, key);
            a[key].shape.Should().Equal(b[key].shape, key);
            a[key].equal(b[key]).all().item<bool>().Should().BeTrue(key);
        }

        a["num_batches_tracked"].dtype.Should().Be(ScalarType.Int64);
        ours.named_parameters().Select(p => p.name).Should().Equal("weight", "bias");
        ours.momentum.Should().Be(0.1);
        ours.eps.Should().Be(1e-5);
        ours.training.Should().BeTrue();
    }

    // Float64, random affine parameters, a random gradient from above: three training steps, an evaluation step and one
    // more training step, each compared element for element (exactly, not within a tolerance) with TorchSharp's module.
    [Theory]
    [InlineData(0.1, true, true)]
    [InlineData(null, true, true)]
    [InlineData(0.0, true, true)]
    [InlineData(0.7, false, true)]
    [InlineData(0.1, true, false)]
    public void Forward_TrainingAndEvaluationSteps_Float64EqualToTorchSharpBatchNorm2d(double? momentum, bool affine, bool trackRunningStats)
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        using var ours = new HeldScalarBatchNorm2d(5, eps: 1e-3, momentum: momentum, affine: affine, track_running_stats: trackRunningStats, dtype: ScalarType.Float64);
        using var theirs = nn.BatchNorm2d(5, eps: 1e-3, affine: affine, track_running_stats: trackRunningStats, dtype: ScalarType.Float64);
        theirs.momentum = momentum;
        if (affine)
        {
            using (no_grad())
            {
                Tensor w = randn(5, dtype: ScalarType.Float64), bias = randn(5, dtype: ScalarType.Float64);
                ours.weight.copy_(w);
                theirs.weight.copy_(w);
                ours.bias!.copy_(bias);
                theirs.bias!.copy_(bias);
            }
        }

        bool[] training = { true, true, true, false, true };
        foreach (bool train in training)
        {
            ours.train(train);
            theirs.train(train);
            Tensor x = (randn(new long[] { 4, 5, 3, 3 }, dtype: ScalarType.Float64) * 2).add_(1.5);
            Tensor upstream = randn(new long[] { 4, 5, 3, 3 }, dtype: ScalarType.Float64);
            Tensor xOurs = x.clone().requires_grad_(true), xTheirs = x.clone().requires_grad_(true);

            Tensor yOurs = ours.call(xOurs), yTheirs = theirs.call(xTheirs);
            yOurs.backward(new[] { upstream });
            yTheirs.backward(new[] { upstream });

            Exact(yOurs, yTheirs, $"output (training {train})");
            Exact(xOurs.grad!, xTheirs.grad!, $"input gradient (training {train})");
            if (affine)
            {
                Exact(ours.weight.grad!, theirs.weight.grad!, "weight gradient");
                Exact(ours.bias!.grad!, theirs.bias!.grad!, "bias gradient");
            }

            if (trackRunningStats)
            {
                Exact(ours.running_mean!, theirs.running_mean!, "running_mean");
                Exact(ours.running_var!, theirs.running_var!, "running_var");
                Exact(ours.num_batches_tracked!, theirs.num_batches_tracked!, "num_batches_tracked");
            }
        }

        if (trackRunningStats)
        {
            // Built with a dtype, TorchSharp's num_batches_tracked takes that dtype too (PyTorch's stays Int64); so does ours.
            ours.num_batches_tracked!.dtype.Should().Be(ScalarType.Float64);
            ours.num_batches_tracked!.item<double>().Should().Be(4);
            bool moved = !ours.running_mean!.equal(zeros(5, dtype: ScalarType.Float64)).all().item<bool>();
            moved.Should().Be(momentum != 0.0, "momentum 0 holds the running statistics");
        }
    }

    [Fact]
    public void Forward_MomentumSetToZeroBetweenSteps_HoldsRunningStatisticsAsTorchSharpDoes()
    {
        // BatchSelector holds running statistics by setting momentum to 0 for one training forward: read on every forward.
        using var scope = NewDisposeScope();
        manual_seed(4);
        using var ours = new HeldScalarBatchNorm2d(3, dtype: ScalarType.Float64);
        Tensor x = randn(new long[] { 6, 3, 2, 2 }, dtype: ScalarType.Float64).add_(2);
        _ = ours.call(x);
        Tensor mean = ours.running_mean!.clone(), variance = ours.running_var!.clone();

        ours.momentum = 0.0;
        _ = ours.call(x.mul(3));

        ours.running_mean!.equal(mean).all().item<bool>().Should().BeTrue();
        ours.running_var!.equal(variance).all().item<bool>().Should().BeTrue();
        ours.num_batches_tracked!.item<double>().Should().Be(2);

        ours.momentum = 0.1;
        _ = ours.call(x.mul(3));
        ours.running_mean!.equal(mean).all().item<bool>().Should().BeFalse();
    }

    [Fact]
    public void To_Float64_MovesParametersAndBuffersAsTorchSharpBatchNorm2d()
    {
        using var scope = NewDisposeScope();
        using var ours = new HeldScalarBatchNorm2d(4);
        using var theirs = nn.BatchNorm2d(4);

        ours.to(ScalarType.Float64);
        theirs.to(ScalarType.Float64);

        ours.state_dict().Select(e => (e.Key, e.Value.dtype)).Should().Equal(theirs.state_dict().Select(e => (e.Key, e.Value.dtype)));
        ours.weight.dtype.Should().Be(ScalarType.Float64);
        ours.parameters().Should().HaveCount(2);
    }

    [Fact]
    public void Forward_NotFourDimensional_ThrowsNamingTheRank()
    {
        using var norm = new HeldScalarBatchNorm2d(4);
        using var x = zeros(2, 4, 3);

        Action act = () => norm.call(x);

        act.Should().Throw<ArgumentException>().WithMessage("expected 4D input, but got 3D input.*");
    }

    [Theory]
    [InlineData(0, 1e-5, 0.1, "num_features")]
    [InlineData(4, 0.0, 0.1, "eps")]
    [InlineData(4, double.PositiveInfinity, 0.1, "eps")]
    [InlineData(4, 1e-5, 1.5, "momentum")]
    [InlineData(4, 1e-5, -0.1, "momentum")]
    public void Constructor_OutOfRange_ThrowsNamingTheArgument(long features, double eps, double momentum, string name)
    {
        Action act = () => new HeldScalarBatchNorm2d(features, eps, momentum).Dispose();

        act.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be(name);
    }

    [Fact]
    public void FoundAndSwapped_InAModel_AsTorchSharpBatchNorm2d()
    {
        using var scope = NewDisposeScope();
        nn.Module<Tensor, Tensor> Model(nn.Module<Tensor, Tensor> norm) => nn.Sequential(
            ("conv", nn.Conv2d(3, 48, 3, padding: 1)), ("norm", norm), ("relu", nn.ReLU()));
        using var ours = Model(new HeldScalarBatchNorm2d(48));
        using var theirs = Model(nn.BatchNorm2d(48));
        ours.train();

        ours.modules().OfType<BatchNorm>().Should().ContainSingle();
        BatchCoupling.Find(ours).Should().Equal("norm");
        ours.FindBatchNorm().Should().Equal("norm");
        NormalizationSwapReport a = ours.ReplaceBatchNorm(), b = theirs.ReplaceBatchNorm();

        a.Replaced.Should().ContainSingle().Which.Replacement.Should().BeOfType<GroupNorm>();
        a.Replaced[0].Groups.Should().Be(b.Replaced[0].Groups, "the spatial rule (2 channels per group at least), as for BatchNorm2d");
        a.Replaced[0].Groups.Should().Be(24);
        a.DroppedStateKeys.Should().Equal(b.DroppedStateKeys);
        ours.state_dict().Keys.Should().Equal(theirs.state_dict().Keys);
        BatchCoupling.Find(ours).Should().BeEmpty();
    }

    private static void Exact(Tensor actual, Tensor expected, string what)
    {
        actual.dtype.Should().Be(expected.dtype, what);
        actual.shape.Should().Equal(expected.shape, what);
        double difference = actual.to_type(ScalarType.Float64).sub(expected.to_type(ScalarType.Float64)).abs().max().item<double>();
        difference.Should().Be(0, $"{what} must be float64-equal to TorchSharp's");
    }
}
