using System;
using System.Linq;
using FluentAssertions;
using SelectiveLoss.Models;
using SelectiveLoss.Normalization;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace SelectiveLoss.Tests.Normalization;

[Collection(TorchCollection.Name)]
public sealed class WeightStandardizedConv2dTests
{
    [Fact]
    public void Forward_Always_ConvolvesWithPerFilterStandardizedWeight()
    {
        using var scope = NewDisposeScope();
        manual_seed(1);
        var conv = nn.Conv2d(3, 4, 3, stride: 2, padding: 1, bias: true, dtype: ScalarType.Float64);
        var ws = WeightStandardizedConv2d.From(conv);
        var x = randn(new long[] { 2, 3, 7, 7 }, dtype: ScalarType.Float64);

        Tensor w = conv.weight.detach();
        Tensor mean = w.mean(new long[] { 1, 2, 3 }, keepdim: true);
        Tensor std = (w.var(new long[] { 1, 2, 3 }, unbiased: false, keepdim: true) + 1e-5).sqrt();
        Tensor expected = nn.functional.conv2d(x, (w - mean) / std, conv.bias, new long[] { 2, 2 }, new long[] { 1, 1 });

        ws.call(x).allclose(expected, rtol: 0, atol: 1e-12).Should().BeTrue();
        Tensor standardized = ws.StandardizedWeight().view(4, -1);
        standardized.mean(new long[] { 1 }).abs().max().item<double>().Should().BeLessThan(1e-12);
        Tensor rawVariance = w.view(4, -1).var(new long[] { 1 }, unbiased: false);
        standardized.var(new long[] { 1 }, unbiased: false).allclose(rawVariance / (rawVariance + 1e-5), rtol: 0, atol: 1e-12)
            .Should().BeTrue("each filter has variance 1, up to eps");
        ws.InChannels.Should().Be(3);
        ws.OutChannels.Should().Be(4);
    }

    [Fact]
    public void From_Conv_CopiesWeightsKeepsKeysAndLeavesConvAlone()
    {
        using var scope = NewDisposeScope();
        var conv = nn.Conv2d(2, 5, 1, bias: false);
        conv.weight.requires_grad_(false);
        var ws = WeightStandardizedConv2d.From(conv);

        ws.state_dict().Keys.Should().Equal("weight");
        ws.Weight.Should().NotBeSameAs(conv.weight);
        ws.Weight.allclose(conv.weight).Should().BeTrue();
        ws.Weight.requires_grad.Should().BeFalse();
        ws.Bias.Should().BeNull();
        ((Action)(() => WeightStandardizedConv2d.From(nn.Conv2d(2, 2, 3, padding: Padding.Same))))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "conv").WithMessage("*padding: N*");
        ((Action)(() => WeightStandardizedConv2d.From(conv, eps: 0))).Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "eps");
    }

    [Fact]
    public void ToDtype_Backward_MovesParametersAndGradientsReachRawWeight()
    {
        using var scope = NewDisposeScope();
        var ws = WeightStandardizedConv2d.From(nn.Conv2d(3, 4, 3, padding: 1));
        ws.to(ScalarType.Float64);

        ws.parameters().Should().OnlyContain(p => p.dtype == ScalarType.Float64);
        ws.call(randn(new long[] { 2, 3, 5, 5 }, dtype: ScalarType.Float64)).pow(2).sum().backward();
        ws.Weight.grad!.abs().sum().item<double>().Should().BeGreaterThan(0);
        ws.Bias!.grad!.abs().sum().item<double>().Should().BeGreaterThan(0);
    }

    [Fact]
    public void DenseNet_ConvLayerWeightStandardization_KeepsKeysAndCountsAndReplacesEveryConv()
    {
        using var scope = NewDisposeScope();
        DenseNet Build(Func<Conv2d, nn.Module<Tensor, Tensor>>? convLayer) => new(growth_rate: 4, block_config: new[] { 2, 2 },
            num_init_features: 8, num_classes: 3, stem: DenseNetStem.Cifar, norm_layer: c => nn.GroupNorm(2, c), conv_layer: convLayer);
        var plain = Build(null);
        var ws = Build(WeightStandardizedConv2d.From);

        ws.state_dict().Keys.Should().Equal(plain.state_dict().Keys);
        ws.parameters().Sum(p => p.numel()).Should().Be(plain.parameters().Sum(p => p.numel()));
        ws.named_modules().Select(m => m.module).OfType<Conv2d>().Should().BeEmpty();
        ws.named_modules().Select(m => m.module).OfType<WeightStandardizedConv2d>().Should().HaveCount(plain.named_modules().Select(m => m.module).OfType<Conv2d>().Count());
        ws.call(randn(2, 3, 8, 8)).shape.Should().Equal(2, 3);
        BatchCoupling.Probe(ws, randn(4, 3, 8, 8)).IsCoupled.Should().BeFalse("GroupNorm and weight standardisation never mix samples");
    }

    [Fact]
    public void DenseNet_ConvLayerChangingShape_RefusedNamingConvLayerAndLayer()
    {
        using var scope = NewDisposeScope();
        Action act = () => _ = new DenseNet(growth_rate: 4, block_config: new[] { 2 }, num_init_features: 8, num_classes: 3,
            stem: DenseNetStem.Cifar, norm_layer: c => nn.GroupNorm(2, c), conv_layer: c => nn.Conv2d(c.in_channels, c.out_channels + 1, 1, bias: false));

        act.Should().Throw<ArgumentException>().Where(e => e.ParamName == "conv_layer").WithMessage("*features.conv0*weight*");
    }

    [Fact]
    public void ReplaceBatchNorm_StandardizeConvWeights_ReplacesEveryConvKeepingKeys()
    {
        using var scope = NewDisposeScope();
        var model = new DenseNet(growth_rate: 4, block_config: new[] { 2, 2 }, num_init_features: 8, num_classes: 3, stem: DenseNetStem.Cifar);
        var keys = model.state_dict().Keys.Where(k => !k.EndsWith("running_mean", StringComparison.Ordinal) &&
            !k.EndsWith("running_var", StringComparison.Ordinal) && !k.EndsWith("num_batches_tracked", StringComparison.Ordinal)).ToList();
        var weight = model.state_dict()["features.denseblock1.denselayer1.conv1.weight"].clone();

        NormalizationSwapReport report = model.ReplaceBatchNorm(new GroupNormOptions { StandardizeConvWeights = true });

        model.state_dict().Keys.Should().Equal(keys);
        model.state_dict()["features.denseblock1.denselayer1.conv1.weight"].allclose(weight).Should().BeTrue();
        report.StandardizedConvolutions.Should().HaveCount(10, "conv0, two per dense layer, one per transition").And.Contain("features.conv0").And.Contain("features.transition1.conv");
        model.named_modules().Select(m => m.module).OfType<Conv2d>().Should().BeEmpty();
        model.call(randn(2, 3, 8, 8)).shape.Should().Equal(2, 3);
        report.ToString().Should().Contain("Weight-standardised 10 convolution(s)");
        model.ReplaceBatchNorm(new GroupNormOptions { StandardizeConvWeights = true }).StandardizedConvolutions.Should().BeEmpty("a second call finds nothing");
    }

    [Fact]
    public void ReplaceBatchNorm_StandardizeConvWeightsWithTypedConvField_RefusedAndChangesNothing()
    {
        using var scope = NewDisposeScope();
        var model = new TypedConvModel();

        Action act = () => model.ReplaceBatchNorm(new GroupNormOptions { StandardizeConvWeights = true });

        act.Should().Throw<NormalizationSwapException>().WithMessage("*conv*declared as Conv2d*WeightStandardizedConv2d*");
        model.named_modules().Select(m => m.module).OfType<BatchNorm2d>().Should().HaveCount(1, "nothing changes when anything is refused");
    }

    [Fact]
    public void ReplaceBatchNorm_DefaultOptions_StandardizesEveryConv()
    {
        using var scope = NewDisposeScope();
        var model = new DenseNet(growth_rate: 4, block_config: new[] { 2, 2 }, num_init_features: 8, num_classes: 3, stem: DenseNetStem.Cifar);

        NormalizationSwapReport report = model.ReplaceBatchNorm();

        report.StandardizedConvolutions.Should().HaveCount(10, "weight standardisation is the default: GroupNorm alone learned digits slower than BatchNorm");
        model.named_modules().Select(m => m.module).OfType<WeightStandardizedConv2d>().Should().HaveCount(10);
        model.named_modules().Select(m => m.module).OfType<Conv2d>().Should().BeEmpty();
    }

    [Fact]
    public void ReplaceBatchNorm_StandardizeConvWeightsFalse_KeepsTheSameConvModules()
    {
        using var scope = NewDisposeScope();
        var model = new DenseNet(growth_rate: 4, block_config: new[] { 2, 2 }, num_init_features: 8, num_classes: 3, stem: DenseNetStem.Cifar);
        var before = model.named_modules().Where(m => m.module is Conv2d).ToList();
        int norms = model.FindBatchNorm().Count;

        NormalizationSwapReport report = model.ReplaceBatchNorm(new GroupNormOptions { StandardizeConvWeights = false });

        report.StandardizedConvolutions.Should().BeEmpty();
        norms.Should().BePositive();
        report.Replaced.Should().HaveCount(norms, "the norms are swapped all the same");
        var after = model.named_modules().Where(m => m.module is Conv2d).ToList();
        after.Select(m => m.name).Should().Equal(before.Select(m => m.name));
        after.Select(m => m.module).Should().Equal(before.Select(m => m.module), (a, b) => ReferenceEquals(a, b), "the convolutions are left alone");
        model.named_modules().Select(m => m.module).OfType<WeightStandardizedConv2d>().Should().BeEmpty();
    }

    [Fact]
    public void ReplaceBatchNorm_DefaultOptionsWithTypedConvField_RefusalNamesBothFixes()
    {
        using var scope = NewDisposeScope();
        var model = new TypedConvModel();

        NormalizationSwapper.Validate(model).Should().ContainSingle().Which.Path.Should().Be("conv");
        NormalizationSwapper.Validate(model, new GroupNormOptions { StandardizeConvWeights = false }).Should().BeEmpty();
        Action act = () => model.ReplaceBatchNorm();

        act.Should().Throw<NormalizationSwapException>()
            .WithMessage("*conv*declared as Conv2d*Module<Tensor, Tensor>*StandardizeConvWeights = false*");
        model.named_modules().Select(m => m.module).OfType<BatchNorm2d>().Should().HaveCount(1, "nothing changes when anything is refused");
        model.ReplaceBatchNorm(new GroupNormOptions { StandardizeConvWeights = false }).Replaced.Should().ContainSingle()
            .Which.Path.Should().Be("norm");
    }

    [Fact]
    public void StandardizedWeight_FinalizersRunningConcurrently_NeverReadsAFreedScalar()
    {
        // Another thread collects and runs finalizers without pause, as a progress-bar thread's allocations can make the
        // GC do during training; each call must hold the Scalars it passes to LibTorch until the native call returns.
        using var conv = WeightStandardizedConv2d.From(nn.Conv2d(256, 256, 3, padding: 1));
        using var stop = new System.Threading.CancellationTokenSource();
        var collector = new System.Threading.Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
        });
        collector.Start();

        try
        {
            for (int i = 0; i < 2_000; i++)
            {
                using var scope = NewDisposeScope();
                conv.StandardizedWeight().isfinite().all().item<bool>().Should().BeTrue();
            }
        }
        finally
        {
            stop.Cancel();
            collector.Join();
        }
    }

    private sealed class TypedConvModel : nn.Module<Tensor, Tensor>
    {
        private readonly Conv2d conv = nn.Conv2d(3, 4, 1);
        private readonly nn.Module<Tensor, Tensor> norm = nn.BatchNorm2d(4);

        public TypedConvModel()
            : base(nameof(TypedConvModel))
        {
            RegisterComponents();
        }

        public override Tensor forward(Tensor input) => norm.call(conv.call(input));
    }
}
