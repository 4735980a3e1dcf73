using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FluentAssertions;
using SelectiveLoss.Models;
using SelectiveLoss.Normalization;
using TorchSharp;
using TorchSharp.PyBridge;
using Xunit;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using BatchNorm2dModule = TorchSharp.Modules.BatchNorm2d;
using GroupNormModule = TorchSharp.Modules.GroupNorm;

namespace SelectiveLoss.Tests.Models;

[Collection(TorchCollection.Name)]
public sealed class DenseNetsTests
{
    // torchvision's parameter counts at 1000 classes (ImageNet stem), and the one CIFAR figure of the issue.
    private const long Params121 = 7_978_856;
    private const long Params161 = 28_681_000;
    private const long Params169 = 14_149_480;
    private const long Params201 = 20_013_928;
    private const long Cifar121At100Classes = 7_048_548;

    public static TheoryData<string, long> ImageNetCounts => new()
    {
        { "121", Params121 },
        { "161", Params161 },
        { "169", Params169 },
        { "201", Params201 },
    };

    [Theory]
    [MemberData(nameof(ImageNetCounts))]
    [Trait("Category", "Slow")]
    public void Builder_ImageNetStemAt1000Classes_HasTorchvisionParameterCount(string variant, long expected)
    {
        using var model = Build(variant);

        CountParameters(model).Should().Be(expected);
    }

    [Theory]
    [MemberData(nameof(ImageNetCounts))]
    [Trait("Category", "Slow")]
    public void Builder_CifarStem_DiffersFromImageNetOnlyInStem(string variant, long imageNet)
    {
        // The CIFAR stem swaps the 7x7 conv0 for a 3x3 one and drops norm0 (weight and bias per channel).
        long init = variant == "161" ? 96 : 64;
        long expected = imageNet - (7 * 7 * 3 * init) + (3 * 3 * 3 * init) - (2 * init);
        using var model = Build(variant, stem: DenseNetStem.Cifar);

        CountParameters(model).Should().Be(expected);
    }

    [Fact]
    public void densenet121_CifarStemAt100Classes_Has7048548Parameters()
    {
        using var model = DenseNets.densenet121(num_classes: 100, stem: DenseNetStem.Cifar);

        CountParameters(model).Should().Be(Cifar121At100Classes);
    }

    [Theory]
    [MemberData(nameof(ImageNetCounts))]
    [Trait("Category", "Slow")]
    public void Builder_GroupNorm_SameParameterCountAndNoBatchNorm(string variant, long expected)
    {
        using var model = Build(variant, norm_layer: GroupNorm32);

        CountParameters(model).Should().Be(expected);
        model.modules().Should().NotContain(m => m is BatchNorm2dModule || m.GetType().Name.Contains("BatchNorm", StringComparison.Ordinal));
        model.modules().OfType<GroupNormModule>().Should().HaveCount(NormCount(variant));
    }

    [Fact]
    public void densenet121_CifarGroupNorm_HasCifarCountAndNoBatchNormOrRunningStats()
    {
        using var model = DenseNets.densenet121(num_classes: 100, stem: DenseNetStem.Cifar, norm_layer: GroupNorm32);

        CountParameters(model).Should().Be(Cifar121At100Classes);
        model.modules().OfType<BatchNorm2dModule>().Should().BeEmpty();
        model.state_dict().Keys.Should().NotContain(k => k.Contains("running", StringComparison.Ordinal));
    }

    [Fact]
    public void densenet121_DefaultNorm_HeldScalarBatchNorm2dWithTorchSharpBatchNorm2dsStateDict()
    {
        using var scope = torch.NewDisposeScope();
        using var ours = DenseNets.densenet121();
        using var theirs = DenseNets.densenet121(norm_layer: c => BatchNorm2d(c));

        ours.modules().OfType<TorchSharp.Modules.BatchNorm>().Should().HaveCount(NormCount("121"))
            .And.AllBeOfType<HeldScalarBatchNorm2d>("TorchSharp's BatchNorm2d can crash a long run (docs/scalar-race.md)");
        ours.state_dict().Select(e => (e.Key, e.Value.dtype, Shape: string.Join(",", e.Value.shape)))
            .Should().Equal(theirs.state_dict().Select(e => (e.Key, e.Value.dtype, Shape: string.Join(",", e.Value.shape))));
        ours.state_dict().Keys.Should().Equal(DenseNet121StateDictKeys.All);
    }

    [Fact]
    public void DenseNet_DefaultNorm_TrainingStepsFloat64EqualToTorchSharpBatchNorm2d()
    {
        // Same seed, same initialisation (building a norm draws no random numbers): outputs, every gradient and every
        // running statistic must be the same numbers as with TorchSharp's BatchNorm2d, step after step.
        using var scope = torch.NewDisposeScope();
        DenseNet Tiny(Func<long, Module<Tensor, Tensor>>? norm)
        {
            torch.manual_seed(11);
            var model = new DenseNet(growth_rate: 4, block_config: new[] { 2, 2 }, num_init_features: 8, num_classes: 5,
                stem: DenseNetStem.Cifar, norm_layer: norm);
            model.to(ScalarType.Float64);
            return model;
        }

        using var ours = Tiny(null);
        using var theirs = Tiny(c => BatchNorm2d(c));
        torch.manual_seed(12);
        for (int step = 0; step < 4; step++)
        {
            bool train = step != 2;
            ours.train(train);
            theirs.train(train);
            Tensor x = torch.randn(new long[] { 6, 3, 8, 8 }, dtype: ScalarType.Float64);
            Tensor y = torch.randint(0, 5, new long[] { 6 });
            Tensor a = ours.call(x), b = theirs.call(x);
            functional.cross_entropy(a, y).backward();
            functional.cross_entropy(b, y).backward();

            a.sub(b).abs().max().item<double>().Should().Be(0, $"logits of step {step}");
            var ourState = ours.state_dict();
            foreach (var (key, value) in theirs.state_dict())
            {
                ourState[key].to_type(ScalarType.Float64).sub(value.to_type(ScalarType.Float64)).abs().max().item<double>()
                    .Should().Be(0, $"{key} after step {step}");
            }

            foreach (var ((name, p), (_, q)) in ours.named_parameters().Zip(theirs.named_parameters()))
            {
                p.grad!.sub(q.grad!).abs().max().item<double>().Should().Be(0, $"gradient of {name} after step {step}");
            }
        }
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void densenet121_WeightsFromSavePy_LoadsAll727KeysStrictly()
    {
        // Full size: a torchvision-keyed DenseNet-121 file (32 MB) written by PyBridge, read back through weights:.
        string path = Path.Combine(Path.GetTempPath(), "densenet121-" + Guid.NewGuid().ToString("N") + ".pth");
        try
        {
            using var source = DenseNets.densenet121();
            source.save_py(path);

            using var model = DenseNets.densenet121(weights: path);

            model.state_dict().Should().HaveCount(727);
            foreach (var (key, tensor) in source.state_dict())
            {
                model.state_dict()[key].equal(tensor).all().item<bool>().Should().BeTrue(key);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void densenet121_MissingWeightsFile_ThrowsBeforeBuilding()
    {
        var act = () => DenseNets.densenet121(weights: "densenet121-a639ec97.pth");

        act.Should().Throw<FileNotFoundException>().Which.Message.Should().Contain("'densenet121-a639ec97.pth' does not exist");
    }

    [Fact]
    public void densenet121_ReadmeOneLiner_BuildsGroupNormCifar100Model()
    {
        // The README's line, verbatim (ReadmeSnippetTests keeps the two identical).
        // <densenet-oneliner>
        var model = DenseNets.densenet121(num_classes: 100, stem: DenseNetStem.Cifar, norm_layer: c => nn.GroupNorm(32, c));
        // </densenet-oneliner>

        using (model)
        {
            model.modules().OfType<BatchNorm2dModule>().Should().BeEmpty();
            model.modules().OfType<GroupNormModule>().Should().HaveCount(NormCount("121") - 1);
            model.NumClasses.Should().Be(100);
            model.Stem.Should().Be(DenseNetStem.Cifar);
        }
    }

    [Fact]
    public void densenet121_BatchNorm_StateDictKeysAreTorchvisionsInOrder()
    {
        using var model = DenseNets.densenet121();

        model.state_dict().Keys.Should().Equal(DenseNet121StateDictKeys.All);
        DenseNet121StateDictKeys.All.Should().HaveCount(727);
    }

    [Fact]
    public void densenet121_CifarStem_HasNoStemNormReluOrPool()
    {
        using var model = DenseNets.densenet121(num_classes: 100, stem: DenseNetStem.Cifar);
        var names = model.named_modules().Select(m => m.name).ToList();

        names.Should().Contain("features.conv0");
        names.Should().NotContain(new[] { "features.norm0", "features.relu0", "features.pool0" });
        model.state_dict()["features.conv0.weight"].shape.Should().Equal(64, 3, 3, 3);
        model.state_dict().Keys.Should().Equal(DenseNet121StateDictKeys.All.Where(k => !k.StartsWith("features.norm0.", StringComparison.Ordinal)));
    }

    [Fact]
    public void densenet121_ImageNetStem_HasTorchvisionStemShapes()
    {
        using var model = DenseNets.densenet121();
        var sd = model.state_dict();

        sd["features.conv0.weight"].shape.Should().Equal(64, 3, 7, 7);
        sd["features.denseblock1.denselayer1.conv1.weight"].shape.Should().Equal(128, 64, 1, 1);
        sd["features.denseblock1.denselayer1.conv2.weight"].shape.Should().Equal(32, 128, 3, 3);
        sd["features.transition1.conv.weight"].shape.Should().Equal(128, 256, 1, 1);
        sd["features.norm5.weight"].shape.Should().Equal(1024);
        sd["classifier.weight"].shape.Should().Equal(1000, 1024);
    }

    [Fact]
    public void densenet121_Properties_DescribeTheConfiguration()
    {
        using var model = DenseNets.densenet121(num_classes: 10, stem: DenseNetStem.Cifar, drop_rate: 0.2);

        model.GrowthRate.Should().Be(32);
        model.BlockConfig.Should().Equal(6, 12, 24, 16);
        model.NumInitFeatures.Should().Be(64);
        model.BnSize.Should().Be(4);
        model.DropRate.Should().Be(0.2);
        model.NumClasses.Should().Be(10);
        model.Stem.Should().Be(DenseNetStem.Cifar);
        model.MemoryEfficient.Should().BeFalse();
        model.NumFeatures.Should().Be(1024);
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void Builders_Configurations_AreTorchvisions()
    {
        using var m161 = DenseNets.densenet161(num_classes: 1, stem: DenseNetStem.Cifar);
        using var m169 = DenseNets.densenet169(num_classes: 1, stem: DenseNetStem.Cifar);
        using var m201 = DenseNets.densenet201(num_classes: 1, stem: DenseNetStem.Cifar);

        (m161.GrowthRate, m161.NumInitFeatures, m161.NumFeatures).Should().Be((48, 96, 2208L));
        m161.BlockConfig.Should().Equal(6, 12, 36, 24);
        (m169.GrowthRate, m169.NumInitFeatures, m169.NumFeatures).Should().Be((32, 64, 1664L));
        m169.BlockConfig.Should().Equal(6, 12, 32, 32);
        (m201.GrowthRate, m201.NumInitFeatures, m201.NumFeatures).Should().Be((32, 64, 1920L));
        m201.BlockConfig.Should().Equal(6, 12, 48, 32);
    }

    [Fact]
    public void densenet121_Cifar32x32_OutputsOneRowOfClassScores()
    {
        using var model = DenseNets.densenet121(num_classes: 100, stem: DenseNetStem.Cifar);
        model.eval();
        using var noGrad = torch.no_grad();
        using var x = torch.randn(1, 3, 32, 32);
        using var y = model.call(x);

        y.shape.Should().Equal(1, 100);
        y.isfinite().all().item<bool>().Should().BeTrue();
    }

    [Fact]
    public void densenet121_ImageNet224x224_OutputsOneRowOfClassScores()
    {
        using var model = DenseNets.densenet121();
        model.eval();
        using var noGrad = torch.no_grad();
        using var x = torch.randn(1, 3, 224, 224);
        using var y = model.call(x);

        y.shape.Should().Equal(1, 1000);
        y.isfinite().all().item<bool>().Should().BeTrue();
    }

    [Fact]
    public void densenet121_GroupNormCifarInTrainMode_OutputsFiniteScoresForOneImage()
    {
        // GroupNorm, unlike BatchNorm, normalises a single image in training mode.
        using var model = DenseNets.densenet121(num_classes: 100, stem: DenseNetStem.Cifar, norm_layer: GroupNorm32);
        using var noGrad = torch.no_grad();
        using var x = torch.randn(1, 3, 32, 32);
        using var y = model.call(x);

        y.shape.Should().Equal(1, 100);
        y.isfinite().all().item<bool>().Should().BeTrue();
    }

    [Fact]
    public void densenet121_NormFactoryHandsGarbage_EveryNormStartsAtWeightOneBiasZero()
    {
        int calls = 0;
        Module<Tensor, Tensor> Garbage(long c)
        {
            calls++;
            if (calls % 2 == 0)
            {
                var gn = GroupNorm(Groups(c), c);
                using var noGrad = torch.no_grad();
                gn.weight!.fill_(-3.99e25);
                gn.bias!.fill_(7.35e26);
                return gn;
            }

            var bn = BatchNorm2d(c);
            using (torch.no_grad())
            {
                bn.weight!.fill_(float.NaN);
                bn.bias!.fill_(42);
                bn.running_mean!.fill_(5);
                bn.running_var!.fill_(-1);
            }

            return bn;
        }

        using var model = DenseNets.densenet121(num_classes: 100, stem: DenseNetStem.Cifar, norm_layer: Garbage);
        var norms = model.named_modules().Where(m => m.module is BatchNorm2dModule or GroupNormModule).ToList();

        calls.Should().Be(NormCount("121") - 1, "the CIFAR stem has no norm0");
        norms.Should().HaveCount(calls);
        foreach (var (name, norm) in norms)
        {
            foreach (var (pname, p) in norm.named_parameters())
            {
                double expected = pname == "weight" ? 1 : 0;
                p.eq(expected).all().item<bool>().Should().BeTrue($"{name}.{pname} should be {expected}");
            }

            if (norm is BatchNorm2dModule bn)
            {
                bn.running_mean!.eq(0).all().item<bool>().Should().BeTrue($"{name}.running_mean should be 0");
                bn.running_var!.eq(1).all().item<bool>().Should().BeTrue($"{name}.running_var should be 1");
            }
        }
    }

    [Fact]
    public void densenet121_Initialisation_IsTorchvisions()
    {
        torch.manual_seed(1);
        using var model = DenseNets.densenet121();
        var sd = model.state_dict();

        // Kaiming normal, fan-in, gain sqrt(2): std sqrt(2 / fan_in). denselayer24 of block 3: 128 x 992 x 1 x 1.
        var conv1 = sd["features.denseblock3.denselayer24.conv1.weight"];
        conv1.std().item<float>().Should().BeApproximately((float)Math.Sqrt(2.0 / 992), 0.02f * (float)Math.Sqrt(2.0 / 992));
        conv1.mean().item<float>().Should().BeApproximately(0, 0.002f);
        var conv2 = sd["features.denseblock4.denselayer16.conv2.weight"];
        conv2.std().item<float>().Should().BeApproximately((float)Math.Sqrt(2.0 / (128 * 9)), 0.03f * (float)Math.Sqrt(2.0 / (128 * 9)));
        sd["classifier.bias"].eq(0).all().item<bool>().Should().BeTrue();
        sd["features.norm5.weight"].eq(1).all().item<bool>().Should().BeTrue();
        sd["features.norm5.bias"].eq(0).all().item<bool>().Should().BeTrue();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void densenet121_NumClassesBelowOne_ThrowsNamingNumClasses(int numClasses)
    {
        var act = () => DenseNets.densenet121(num_classes: numClasses);

        act.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("num_classes");
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.0)]
    [InlineData(double.NaN)]
    public void densenet121_DropRateOutsideZeroToOne_ThrowsNamingDropRate(double dropRate)
    {
        var act = () => DenseNets.densenet121(drop_rate: dropRate);

        act.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("drop_rate");
    }

    [Fact]
    public void densenet121_UndefinedStem_ThrowsNamingStem()
    {
        var act = () => DenseNets.densenet121(stem: (DenseNetStem)7);

        act.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("stem");
    }

    [Fact]
    public void densenet121_BnSizeZero_ThrowsNamingBnSize()
    {
        var act = () => DenseNets.densenet121(bn_size: 0);

        act.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("bn_size");
    }

    [Fact]
    public void densenet121_NormLayerReturnsNull_ThrowsNamingNormLayer()
    {
        var act = () => DenseNets.densenet121(norm_layer: _ => null!);

        act.Should().Throw<ArgumentException>()
            .Where(e => e.ParamName == "norm_layer" && e.Message.Contains("returned null", StringComparison.Ordinal)
                && e.Message.Contains("features.norm0", StringComparison.Ordinal));
    }

    [Fact]
    public void densenet121_NormLayerWithWrongChannelCount_ThrowsNamingShapeAndPlace()
    {
        var act = () => DenseNets.densenet121(stem: DenseNetStem.Cifar, norm_layer: c => BatchNorm2d(c + 1));

        act.Should().Throw<ArgumentException>()
            .Where(e => e.ParamName == "norm_layer"
                && e.Message.Contains("features.denseblock1.denselayer1.norm1", StringComparison.Ordinal)
                && e.Message.Contains("[65]", StringComparison.Ordinal)
                && e.Message.Contains("needs shape [64]", StringComparison.Ordinal));
    }

    [Fact]
    public void densenet121_NormLayerThatCannotSplitChannelsIntoGroups_ThrowsAtBuildTime()
    {
        var act = () => DenseNets.densenet121(stem: DenseNetStem.Cifar, norm_layer: c => GroupNorm(7, c));

        act.Should().Throw<ArgumentException>()
            .Where(e => e.ParamName == "norm_layer" && e.Message.Contains("64", StringComparison.Ordinal));
    }

    [Fact]
    public void densenet121_NormLayerReturnsSameModuleTwice_ThrowsNamingNormLayer()
    {
        var shared = BatchNorm2d(64);
        var act = () => DenseNets.densenet121(norm_layer: _ => shared);

        act.Should().Throw<ArgumentException>()
            .Where(e => e.ParamName == "norm_layer" && e.Message.Contains("already returned", StringComparison.Ordinal));
    }

    [Fact]
    public void densenet121_NormLayerThrows_ThrowsArgumentExceptionWithTheCause()
    {
        var act = () => DenseNets.densenet121(norm_layer: _ => throw new InvalidOperationException("boom"));

        act.Should().Throw<ArgumentException>()
            .Where(e => e.ParamName == "norm_layer" && e.Message.Contains("boom", StringComparison.Ordinal))
            .WithInnerException<InvalidOperationException>();
    }

    internal static Module<Tensor, Tensor> GroupNorm32(long channels) => GroupNorm(Groups(channels), channels);

    // 32 groups where the channels allow it (DenseNet-121/169/201), else the largest power of two that divides them.
    internal static long Groups(long channels)
    {
        long groups = 32;
        while (channels % groups != 0)
        {
            groups /= 2;
        }

        return groups;
    }

    internal static long CountParameters(Module model) => model.parameters().Sum(p => p.numel());

    // norm0, two per dense layer, one per transition, norm5.
    private static int NormCount(string variant)
    {
        int[] blocks = variant switch
        {
            "121" => new[] { 6, 12, 24, 16 },
            "161" => new[] { 6, 12, 36, 24 },
            "169" => new[] { 6, 12, 32, 32 },
            _ => new[] { 6, 12, 48, 32 },
        };
        return 1 + (2 * blocks.Sum()) + (blocks.Length - 1) + 1;
    }

    private static DenseNet Build(string variant, DenseNetStem stem = DenseNetStem.ImageNet,
        Func<long, Module<Tensor, Tensor>>? norm_layer = null) => variant switch
        {
            "121" => DenseNets.densenet121(stem: stem, norm_layer: norm_layer),
            "161" => DenseNets.densenet161(stem: stem, norm_layer: norm_layer),
            "169" => DenseNets.densenet169(stem: stem, norm_layer: norm_layer),
            "201" => DenseNets.densenet201(stem: stem, norm_layer: norm_layer),
            _ => throw new ArgumentOutOfRangeException(nameof(variant)),
        };
}
