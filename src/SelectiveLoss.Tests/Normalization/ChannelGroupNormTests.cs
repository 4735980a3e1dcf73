using System;
using System.Linq;
using FluentAssertions;
using SelectiveLoss.Normalization;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SelectiveLoss.Tests.Normalization;

[Collection(TorchCollection.Name)]
public sealed class ChannelGroupNormTests
{
    [Fact]
    public void Constructor_Default_WeightExactlyOneBiasExactlyZero()
    {
        using var scope = torch.NewDisposeScope();
        for (int i = 0; i < 3; i++)
        {
            var gn = new ChannelGroupNorm(4, 64);
            gn.weight!.data<float>().ToArray().Should().OnlyContain(v => v == 1f);
            gn.bias!.data<float>().ToArray().Should().OnlyContain(v => v == 0f);
            gn.weight!.requires_grad.Should().BeTrue();
        }
    }

    // Pins the upstream bug the constructor works around: TorchSharp 0.107.0's GroupNorm takes its weight and bias
    // from torch.empty. Memory is filled with a sentinel and freed just before each construction, so uninitialised
    // parameters never come out all-ones; if TorchSharp initialises them, every construction gives exactly 1 and 0.
    [Fact]
    public void TorchSharpGroupNorm_Constructor_LeavesAffineParametersUninitialised()
    {
        using var scope = torch.NewDisposeScope();
        bool anyUninitialised = false;
        for (int i = 0; i < 5 && !anyUninitialised; i++)
        {
            using (Tensor sentinel = torch.full(64, 7.25f))
            {
                _ = sentinel.sum().item<float>();
            }

            using var raw = nn.GroupNorm(4, 64);
            bool ones = raw.weight.data<float>().ToArray().All(v => v == 1f);
            bool zeros = raw.bias!.data<float>().ToArray().All(v => v == 0f);
            anyUninitialised |= !(ones && zeros);
        }

        anyUninitialised.Should().BeTrue(
            "TorchSharp now initialises GroupNorm (weight 1, bias 0); remove the workaround in ChannelGroupNorm's documentation and this test");
    }

    // Pins the second upstream trap: TorchSharp's GroupNorm refuses [N, C]. If this fails, TorchSharp accepts 2-D
    // input and the reshape in ChannelGroupNorm.forward could go.
    [Fact]
    public void TorchSharpGroupNorm_TwoDimensionalInput_Throws()
    {
        using var scope = torch.NewDisposeScope();
        using var raw = nn.GroupNorm(2, 4);

        Action act = () => raw.call(torch.randn(3, 4));

        act.Should().Throw<ArgumentException>().WithMessage("*dimensions*2*");
    }

    [Fact]
    public void Forward_TwoDimensionalInput_EqualsLengthOneSequence()
    {
        using var scope = torch.NewDisposeScope();
        var gn = new ChannelGroupNorm(2, 4);
        Tensor x = torch.randn(3, 4);

        Tensor flat = gn.call(x);
        Tensor sequence = gn.call(x.unsqueeze(2));

        flat.shape.Should().Equal(3, 4);
        flat.allclose(sequence.squeeze(2)).Should().BeTrue();
        gn.call(torch.randn(3, 4, 5)).shape.Should().Equal(3, 4, 5);
    }

    [Fact]
    public void Forward_MatchesPerSampleGroupStatistics()
    {
        using var scope = torch.NewDisposeScope();
        var gn = new ChannelGroupNorm(2, 4, dtype: ScalarType.Float64);
        using (torch.no_grad())
        {
            gn.weight!.copy_(torch.tensor(new[] { 1.0, 2.0, 3.0, 4.0 }));
            gn.bias!.copy_(torch.tensor(new[] { 0.5, 0.0, -0.5, 1.0 }));
        }

        Tensor x = torch.randn(new long[] { 3, 4, 5 }, ScalarType.Float64);
        Tensor grouped = x.reshape(3, 2, 10);
        Tensor expected = ((grouped - grouped.mean(new long[] { 2 }, keepdim: true)) /
            (grouped.var(2, unbiased: false, keepdim: true) + 1e-5).sqrt()).reshape(3, 4, 5);
        expected = expected * gn.weight!.reshape(1, 4, 1) + gn.bias!.reshape(1, 4, 1);

        gn.call(x).allclose(expected, rtol: 0, atol: 1e-12).Should().BeTrue();
    }

    [Fact]
    public void Forward_SingleValueGroups_ThrowsInsteadOfOutputtingBias()
    {
        using var scope = torch.NewDisposeScope();
        var gn = new ChannelGroupNorm(1, 1);

        Action act = () => gn.call(torch.randn(4, 1));

        act.Should().Throw<ArgumentException>().WithMessage("*single value*");
        gn.call(torch.randn(4, 1, 3)).shape.Should().Equal(4, 1, 3);
    }

    [Fact]
    public void Forward_WrongChannelCount_Throws()
    {
        using var scope = torch.NewDisposeScope();
        var gn = new ChannelGroupNorm(2, 4);

        Action act = () => gn.call(torch.randn(2, 6, 3));

        act.Should().Throw<ArgumentException>().WithMessage("*4 channels*6*");
    }

    [Fact]
    public void StateDict_InsideParent_KeysAreWeightAndBiasOnly()
    {
        using var scope = torch.NewDisposeScope();
        var parent = new SingleFieldModel(new ChannelGroupNorm(2, 4));

        parent.state_dict().Keys.Should().Equal("norm.weight", "norm.bias");
        parent.parameters().Should().HaveCount(2);
    }

    [Fact]
    public void To_Float64_MovesParametersKeepsRequiresGrad()
    {
        using var scope = torch.NewDisposeScope();
        var gn = new ChannelGroupNorm(2, 4);
        gn.bias!.requires_grad_(false);

        gn.to(ScalarType.Float64);

        gn.weight!.dtype.Should().Be(ScalarType.Float64);
        gn.state_dict()["bias"].dtype.Should().Be(ScalarType.Float64);
        gn.parameters().Should().OnlyContain(p => p.dtype == ScalarType.Float64);
        gn.weight!.requires_grad.Should().BeTrue();
        gn.bias!.requires_grad.Should().BeFalse();
    }

    [Fact]
    public void To_Float64_CarriesGradientAndKeyOrder()
    {
        using var scope = torch.NewDisposeScope();
        var gn = new ChannelGroupNorm(2, 4);
        gn.call(torch.randn(3, 4, 2)).pow(2).sum().backward();
        float[] grad = gn.weight!.grad!.data<float>().ToArray();

        gn.to(ScalarType.Float64);

        gn.weight!.grad!.dtype.Should().Be(ScalarType.Float64);
        gn.weight!.grad!.to_type(ScalarType.Float32).data<float>().ToArray().Should().Equal(grad);
        gn.state_dict().Keys.Should().Equal("weight", "bias");
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 1)]
    [InlineData(3, 1)]
    [InlineData(6, 3)]
    [InlineData(8, 4)]
    [InlineData(32, 16)]
    [InlineData(64, 32)]
    [InlineData(96, 32)]
    [InlineData(144, 24)]
    [InlineData(240, 30)]
    [InlineData(200, 25)]
    [InlineData(1024, 32)]
    [InlineData(97, 1)]
    public void DefaultGroupCount_AwkwardChannelCounts_Expected(long channels, long groups)
    {
        ChannelGroupNorm.DefaultGroupCount(channels).Should().Be(groups);
    }

    [Fact]
    public void DefaultGroupCount_AnyChannelCount_DividesAndKeepsTwoChannelsPerGroup()
    {
        for (long c = 1; c <= 2048; c++)
        {
            long g = ChannelGroupNorm.DefaultGroupCount(c);
            (c % g).Should().Be(0, $"C = {c}");
            g.Should().BeInRange(1, 32, $"C = {c}");
            if (c > 1)
            {
                (c / g).Should().BeGreaterThanOrEqualTo(2, $"C = {c}");
            }

            if (c % 32 == 0 && c >= 64)
            {
                g.Should().Be(32, $"C = {c}");
            }
        }
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(6, 1)]
    [InlineData(31, 1)]
    [InlineData(32, 2)]
    [InlineData(48, 3)]
    [InlineData(64, 4)]
    [InlineData(512, 32)]
    [InlineData(1000, 25)]
    public void DefaultGroupCount_FeatureRule_KeepsSixteenFeaturesPerGroup(long channels, long groups)
    {
        ChannelGroupNorm.DefaultGroupCount(channels, 32, ChannelGroupNorm.MinFeaturesPerGroup).Should().Be(groups);
    }

    // Why BatchNorm1d replacements get 16 features per group: on [N, C] a group of two values normalises each to
    // about +-1, so the layer keeps only a sign and (except for near-equal pairs) passes almost no gradient; one group
    // of 16 passes a normal one.
    [Fact]
    public void Forward_TwoValueGroupsOnFeatures_PassAlmostNoGradient()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(9);
        Tensor x = torch.randn(8, 16);

        double Gradient(long groups)
        {
            Tensor input = x.clone().requires_grad_(true);
            new ChannelGroupNorm(groups, 16).call(input).mul(torch.randn(8, 16)).sum().backward();
            return input.grad!.abs().median().item<float>();
        }

        double pairs = Gradient(8);
        double whole = Gradient(1);

        pairs.Should().BeLessThan(whole / 100, "the typical (median) input gradient through a two-value group is about eps-sized");
        new ChannelGroupNorm(8, 16).call(x).abs().median().item<float>().Should().BeGreaterThan(0.999f, "each value normalises to about +-1");
    }

    [Fact]
    public void Constructor_GroupsNotDividingChannels_ThrowsWithFix()
    {
        Action act = () => _ = new ChannelGroupNorm(3, 8);

        act.Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "groups").WithMessage("*DefaultGroupCount(8) = 4*");
    }

    [Fact]
    public void Constructor_IntegerDtype_Throws()
    {
        Action act = () => _ = new ChannelGroupNorm(2, 4, dtype: ScalarType.Int64);

        act.Should().Throw<ArgumentException>().Where(e => e.ParamName == "dtype");
    }
}
