using System;
using System.Collections.Generic;
using System.Linq;
using SelectiveLoss.Models;
using SelectiveLoss.Normalization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SelectiveLoss.Tests.Stress;

/// <summary>
/// The TorchSharp calls the library's training path makes, and the library's own modules, each as a call to loop under
/// <see cref="FinalizerPressure"/>. Each call returns whether it left the state it should (a freed Scalar can also be
/// read as a wrong number without an exception).
/// </summary>
internal static class ScalarRaceSites
{
    public const string BatchNorm2dTraining = "TorchSharp BatchNorm2d.forward, training";
    public const string BatchNorm2dCumulative = "TorchSharp BatchNorm2d.forward, training, momentum null";
    public const string BatchNorm2dEval = "TorchSharp BatchNorm2d.forward, eval";
    public const string GroupNormForward = "TorchSharp GroupNorm.forward";
    public const string CrossEntropyNone = "TorchSharp cross_entropy, reduction none";
    public const string SgdMomentumDecay = "TorchSharp SGD.step, momentum 0.9, weight decay 5e-4";
    public const string SgdPlain = "TorchSharp SGD.step, plain";
    public const string AdamStep = "TorchSharp Adam.step";
    public const string HeldBatchNormTraining = "HeldScalarBatchNorm2d.forward, training";
    public const string HeldBatchNormCumulative = "HeldScalarBatchNorm2d.forward, training, momentum null";
    public const string ChannelGroupNormForward = "ChannelGroupNorm.forward";
    public const string WeightStandardizedForward = "WeightStandardizedConv2d.forward";
    public const string DenseNetTorchSharpBatchNorm = "DenseNet (norm_layer: nn.BatchNorm2d) forward + backward";
    public const string DenseNetDefault = "DenseNet (default norm: HeldScalarBatchNorm2d) forward + backward";
    public const string DenseNetGroupWs = "DenseNet (ChannelGroupNorm, WeightStandardizedConv2d) forward + backward";
    public const string SwappedModel = "ReplaceBatchNorm'd model forward + backward";

    /// <summary>The TorchSharp calls on the training path that pass implicit Scalars, and a DenseNet built on one.</summary>
    public static IReadOnlyList<string> TorchSharpVulnerable { get; } = new[]
    {
        BatchNorm2dTraining, BatchNorm2dCumulative, SgdMomentumDecay, SgdPlain, AdamStep, DenseNetTorchSharpBatchNorm,
    };

    /// <summary>The TorchSharp calls on the training path that pass no Scalar.</summary>
    public static IReadOnlyList<string> TorchSharpSafe { get; } = new[] { BatchNorm2dEval, GroupNormForward, CrossEntropyNone };

    /// <summary>What the library builds: the DenseNet builders' default norm, the swapper's replacements, its modules.</summary>
    public static IReadOnlyList<string> Library { get; } = new[]
    {
        HeldBatchNormTraining, HeldBatchNormCumulative, ChannelGroupNormForward, WeightStandardizedForward, DenseNetDefault,
        DenseNetGroupWs, SwappedModel,
    };

    /// <summary>Every site, in the order of the measurement table.</summary>
    public static IReadOnlyList<string> All { get; } = TorchSharpVulnerable.Concat(TorchSharpSafe).Concat(Library).ToList();

    /// <summary>
    /// Builds the site's modules and inputs (outside any dispose scope) and returns its call; with
    /// <paramref name="noGCRegion"/> an optimiser's step runs inside <c>GC.TryStartNoGCRegion</c> (a mitigation).
    /// </summary>
    public static Site Create(string name, bool noGCRegion = false)
    {
        manual_seed(0);
        return name switch
        {
            BatchNorm2dTraining => Norm(nn.BatchNorm2d(32), training: true),
            BatchNorm2dCumulative => Norm(Cumulative(nn.BatchNorm2d(32)), training: true),
            BatchNorm2dEval => Norm(nn.BatchNorm2d(32), training: false),
            HeldBatchNormTraining => Norm(new HeldScalarBatchNorm2d(32), training: true),
            HeldBatchNormCumulative => Norm(Cumulative(new HeldScalarBatchNorm2d(32)), training: true),
            GroupNormForward => Module(nn.GroupNorm(8, 32)),
            ChannelGroupNormForward => Module(new ChannelGroupNorm(8, 32)),
            WeightStandardizedForward => Module(WeightStandardizedConv2d.From(nn.Conv2d(32, 32, 3, padding: 1))),
            CrossEntropyNone => CrossEntropy(),
            SgdMomentumDecay => Optimizer(p => optim.SGD(p, 0.01, momentum: 0.9, weight_decay: 5e-4), noGCRegion),
            SgdPlain => Optimizer(p => optim.SGD(p, 0.01), noGCRegion),
            AdamStep => Optimizer(p => optim.Adam(p, 1e-3), noGCRegion),
            DenseNetTorchSharpBatchNorm => Training(TinyDenseNet(c => nn.BatchNorm2d(c), null)),
            DenseNetDefault => Training(TinyDenseNet(null, null)),
            DenseNetGroupWs => Training(TinyDenseNet(c => new ChannelGroupNorm(ChannelGroupNorm.DefaultGroupCount(c), c), WeightStandardizedConv2d.From)),
            SwappedModel => Training(Swapped()),
            _ => throw new ArgumentOutOfRangeException(nameof(name), name, "Unknown call site."),
        };
    }

    private static T Cumulative<T>(T norm)
        where T : BatchNorm
    {
        norm.momentum = null;
        return norm;
    }

    // A norm layer on a [16, 32, 8, 8] batch; in training mode num_batches_tracked must count every forward.
    private static Site Norm(BatchNorm norm, bool training)
    {
        norm.train(training);
        Tensor x = randn(16, 32, 8, 8);
        Tensor tracked = norm.num_batches_tracked!;
        return new Site(() =>
        {
            long before = tracked.item<long>();
            Tensor y = norm.call(x);
            return y.shape[0] == 16 && tracked.item<long>() == before + (training ? 1 : 0);
        }, norm, x);
    }

    private static Site Module(nn.Module<Tensor, Tensor> module)
    {
        Tensor x = randn(16, 32, 8, 8);
        return new Site(() => module.call(x).shape[1] == 32, module, x);
    }

    private static Site CrossEntropy()
    {
        Tensor logits = randn(64, 100);
        Tensor labels = randint(0, 100, new long[] { 64 });
        return new Site(() => nn.functional.cross_entropy(logits, labels, reduction: nn.Reduction.None).shape[0] == 64, logits, labels);
    }

    // Ten parameters of a small convolutional network's sizes, each with a gradient, stepped in place.
    private static Site Optimizer(Func<IEnumerable<Parameter>, optim.Optimizer> make, bool noGCRegion)
    {
        var parameters = Enumerable.Range(0, 10).Select(i => new Parameter(randn(i % 2 == 0 ? new long[] { 32, 32, 3, 3 } : new long[] { 32 }))).ToList();
        foreach (Parameter p in parameters)
        {
            p.grad = randn(p.shape).mul_(1e-3);
        }

        optim.Optimizer optimizer = make(parameters);
        var resources = new List<IDisposable>(parameters) { optimizer };
        return new Site(() =>
        {
            if (noGCRegion)
            {
                GCMitigation.StepWithoutCollections(optimizer);
            }
            else
            {
                optimizer.step();
            }

            return true;
        }, resources.ToArray());
    }

    private static DenseNet TinyDenseNet(Func<long, nn.Module<Tensor, Tensor>>? norm, Func<Conv2d, nn.Module<Tensor, Tensor>>? conv) =>
        new(growth_rate: 8, block_config: new[] { 2, 2 }, num_init_features: 16, num_classes: 10, stem: DenseNetStem.Cifar,
            norm_layer: norm, conv_layer: conv);

    private static nn.Module<Tensor, Tensor> Swapped()
    {
        var model = nn.Sequential(
            ("conv", nn.Conv2d(3, 32, 3, padding: 1)),
            ("norm", nn.BatchNorm2d(32)),
            ("relu", nn.ReLU()),
            ("pool", nn.AdaptiveAvgPool2d(1)),
            ("flat", nn.Flatten()),
            ("fc", nn.Linear(32, 10)));
        model.ReplaceBatchNorm();
        return model;
    }

    // Forward, mean cross-entropy and backward, as a training step before its optimiser; every BatchNorm counts it.
    private static Site Training(nn.Module<Tensor, Tensor> model)
    {
        model.train();
        Tensor x = randn(8, 3, 16, 16);
        Tensor labels = randint(0, 10, new long[] { 8 });
        var counters = model.modules().OfType<BatchNorm>().Select(b => b.num_batches_tracked!).ToList();
        return new Site(() =>
        {
            long[] before = counters.Select(c => c.item<long>()).ToArray();
            Tensor loss = nn.functional.cross_entropy(model.call(x), labels);
            loss.backward();
            return counters.Select((c, i) => c.item<long>() == before[i] + 1).All(ok => ok);
        }, model, x, labels);
    }
}
