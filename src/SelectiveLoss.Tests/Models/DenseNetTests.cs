using System;
using System.IO;
using System.Linq;
using FluentAssertions;
using SelectiveLoss.Models;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SelectiveLoss.Tests.Models;

[Collection(TorchCollection.Name)]
public sealed class DenseNetTests
{
    [Theory]
    [InlineData(new long[] { 3, 32, 32 })]
    [InlineData(new long[] { 1, 1, 32, 32 })]
    [InlineData(new long[] { 1, 4, 32, 32 })]
    [InlineData(new long[] { 1, 3, 32, 32, 1 })]
    public void forward_WrongRankOrChannels_ThrowsSayingExpectedShape(long[] shape)
    {
        using var model = Tiny();
        using var x = torch.zeros(shape);

        var act = () => model.call(x);

        act.Should().Throw<ArgumentException>()
            .Where(e => e.ParamName == "input"
                && e.Message.Contains("[N, 3, H, W]", StringComparison.Ordinal)
                && e.Message.Contains("[" + string.Join(", ", shape) + "]", StringComparison.Ordinal));
    }

    [Fact]
    public void forward_ImageNetStemBelowMinimumSize_ThrowsNamingTheMinimum()
    {
        using var model = DenseNets.densenet121(num_classes: 10);
        model.eval();
        using var noGrad = torch.no_grad();
        using var tooSmall = torch.zeros(1, 3, 28, 28);
        using var smallest = torch.zeros(1, 3, 29, 29);

        model.MinimumInputSize.Should().Be(29);
        var act = () => model.call(tooSmall);
        act.Should().Throw<ArgumentException>().Where(e => e.Message.Contains("at least 29", StringComparison.Ordinal));
        using var y = model.call(smallest);
        y.shape.Should().Equal(1, 10);
    }

    [Fact]
    public void forward_CifarStemAtMinimumSize_Works()
    {
        using var model = DenseNets.densenet121(num_classes: 10, stem: DenseNetStem.Cifar);
        model.eval();
        using var noGrad = torch.no_grad();
        using var x = torch.zeros(1, 3, 8, 8);
        using var tooSmall = torch.zeros(1, 3, 7, 8);

        model.MinimumInputSize.Should().Be(8);
        using var y = model.call(x);
        y.shape.Should().Equal(1, 10);
        var act = () => model.call(tooSmall);
        act.Should().Throw<ArgumentException>();
    }

    [Fact]
    public void forward_NullInput_ThrowsArgumentNullException()
    {
        using var model = Tiny();

        var act = () => model.forward(null!);

        act.Should().Throw<ArgumentNullException>();
    }

    [Fact]
    public void train_and_eval_ReachEveryModule()
    {
        using var model = DenseNets.densenet121(num_classes: 100, stem: DenseNetStem.Cifar, drop_rate: 0.1);
        int count = model.modules().Count();

        model.eval();
        model.modules().Should().HaveCount(count).And.OnlyContain(m => !m.training);
        model.training.Should().BeFalse();
        model.train();
        model.modules().Should().OnlyContain(m => m.training);
        model.training.Should().BeTrue();
        count.Should().BeGreaterThan(58 * 6, "every dense layer has norm1, relu1, conv1, norm2, relu2 and conv2");
    }

    [Fact]
    public void forward_DropRate_DropsInTrainingOnly()
    {
        using var model = Tiny(drop_rate: 0.5);
        using var x = torch.randn(2, 3, 8, 8);
        using var noGrad = torch.no_grad();

        using (var first = model.call(x))
        using (var second = model.call(x))
        {
            first.allclose(second).Should().BeFalse("dropout draws a new mask every training forward pass");
        }

        model.eval();
        using var third = model.call(x);
        using var fourth = model.call(x);
        third.equal(fourth).all().item<bool>().Should().BeTrue();
    }

    [Fact]
    public void save_load_RoundTrip_GivesIdenticalOutputs()
    {
        string path = Path.Combine(Path.GetTempPath(), "densenet-" + Guid.NewGuid().ToString("N") + ".bin");
        try
        {
            using var x = torch.randn(2, 3, 32, 32);
            using var original = DenseNets.densenet121(num_classes: 100, stem: DenseNetStem.Cifar);
            using (torch.no_grad())
            {
                original.call(x).Dispose(); // training mode: moves BatchNorm's running statistics off their start
            }

            original.eval();
            original.save(path);
            using var copy = DenseNets.densenet121(num_classes: 100, stem: DenseNetStem.Cifar);
            copy.eval();
            using var noGrad = torch.no_grad();
            using var expected = original.call(x);
            using (var before = copy.call(x))
            {
                before.allclose(expected).Should().BeFalse("a freshly built model has other weights");
            }

            copy.load(path);
            using var actual = copy.call(x);

            actual.equal(expected).all().item<bool>().Should().BeTrue();
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void forward_TwentyPasses_LeaveNoLiveTensors()
    {
        using var model = DenseNets.densenet121(num_classes: 100, stem: DenseNetStem.Cifar, norm_layer: DenseNetsTests.GroupNorm32);
        model.eval();
        using var noGrad = torch.no_grad();
        using var x = torch.randn(1, 3, 32, 32);
        model.call(x).Dispose();
        var stats = DisposeScopeManager.Statistics;

        long before = stats.ThreadTotalLiveCount;
        using (var leak = torch.zeros(1))
        {
            stats.ThreadTotalLiveCount.Should().Be(before + 1, "the statistics must see a tensor left alive");
        }

        for (int i = 0; i < 20; i++)
        {
            using var y = model.call(x);
        }

        stats.ThreadTotalLiveCount.Should().Be(before);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void backward_MemoryEfficient_SameOutputsGradientsAndRunningStats(bool batchNorm)
    {
        using var plain = Tiny(bn: batchNorm);
        using var efficient = Tiny(bn: batchNorm, memory_efficient: true);
        plain.to(ScalarType.Float64);
        efficient.to(ScalarType.Float64);
        efficient.load_state_dict(plain.state_dict());
        using var x1 = torch.randn(new long[] { 3, 3, 8, 8 }, dtype: ScalarType.Float64).requires_grad_();
        using var x2 = x1.detach().clone().requires_grad_();
        using var weights = torch.randn(3, 3, dtype: ScalarType.Float64);
        long recomputed = CheckpointedBottleneck.BackwardCalls;

        using (var scope = torch.NewDisposeScope())
        {
            var y1 = plain.call(x1);
            var y2 = efficient.call(x2);
            y2.allclose(y1, rtol: 0, atol: 1e-12).Should().BeTrue();
            (y1 * weights).sum().backward();
            (y2 * weights).sum().backward();
        }

        (CheckpointedBottleneck.BackwardCalls - recomputed).Should().Be(4, "each of the 4 dense layers recomputes its bottleneck");
        x2.grad!.allclose(x1.grad!, rtol: 0, atol: 1e-12).Should().BeTrue();
        var expected = plain.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in efficient.named_parameters())
        {
            p.grad.Should().NotBeNull(name);
            p.grad!.allclose(expected[name].grad!, rtol: 0, atol: 1e-12).Should().BeTrue(name);
        }

        var buffers = plain.state_dict();
        foreach (var (name, b) in efficient.state_dict().Where(kv => kv.Key.Contains("running", StringComparison.Ordinal)
            || kv.Key.EndsWith("num_batches_tracked", StringComparison.Ordinal)))
        {
            b.equal(buffers[name]).all().item<bool>().Should().BeTrue($"{name} moves once per forward pass, not again in backward");
        }
    }

    [Fact]
    public void backward_MemoryEfficientSteps_LeaveNoLiveTensors()
    {
        using var model = Tiny(memory_efficient: true);
        using var x = torch.randn(2, 3, 8, 8);
        var stats = DisposeScopeManager.Statistics;
        Step();
        long before = stats.ThreadTotalLiveCount;

        for (int i = 0; i < 10; i++)
        {
            Step();
        }

        stats.ThreadTotalLiveCount.Should().Be(before);

        void Step()
        {
            using var scope = torch.NewDisposeScope();
            model.zero_grad();
            model.call(x).sum().backward();
        }
    }

    [Fact]
    public void forward_MemoryEfficientWithoutGradients_UsesPlainPath()
    {
        using var model = Tiny(memory_efficient: true);
        model.eval();
        using var x = torch.randn(1, 3, 8, 8);
        long recomputed = CheckpointedBottleneck.BackwardCalls;

        using var noGrad = torch.no_grad();
        using var y = model.call(x);

        y.requires_grad.Should().BeFalse();
        CheckpointedBottleneck.BackwardCalls.Should().Be(recomputed);
    }

    [Fact]
    public void Constructor_CustomConfiguration_CountsChannelsLikeTorchvision()
    {
        using var model = new DenseNet(growth_rate: 12, block_config: new[] { 3, 5, 4 }, num_init_features: 24, num_classes: 7,
            stem: DenseNetStem.Cifar);

        // 24 + 3*12 = 60 -> 30, 30 + 5*12 = 90 -> 45, 45 + 4*12 = 93.
        model.NumFeatures.Should().Be(93);
        model.state_dict()["classifier.weight"].shape.Should().Equal(7, 93);
        model.state_dict().Keys.Should().Contain("features.transition2.conv.weight").And.NotContain(k => k.Contains("transition3", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(0, 2, 8, "growth_rate")]
    [InlineData(4, 0, 8, "block_config")]
    [InlineData(4, 2, 0, "num_init_features")]
    public void Constructor_OutOfRange_ThrowsNamingTheArgument(int growth, int layers, int init, string expected)
    {
        var act = () => new DenseNet(growth_rate: growth, block_config: new[] { 2, layers }, num_init_features: init);

        act.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be(expected);
    }

    [Fact]
    public void Constructor_EmptyBlockConfig_ThrowsNamingBlockConfig()
    {
        var act = () => new DenseNet(growth_rate: 4, block_config: Array.Empty<int>(), num_init_features: 8);

        act.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("block_config");
    }

    // Two blocks of two layers: 4 dense layers, one transition; small enough for float64 gradient checks.
    private static DenseNet Tiny(double drop_rate = 0, bool memory_efficient = false, bool bn = true) =>
        new(growth_rate: 4, block_config: new[] { 2, 2 }, num_init_features: 8, bn_size: 2, drop_rate: drop_rate,
            num_classes: 3, stem: DenseNetStem.Cifar, norm_layer: bn ? null : DenseNetsTests.GroupNorm32,
            memory_efficient: memory_efficient);
}
