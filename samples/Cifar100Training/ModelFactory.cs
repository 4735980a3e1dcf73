using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using SelectiveLoss.Models;
using SelectiveLoss.Normalization;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Cifar100Training;

/// <summary>Builds the CIFAR DenseNet the options ask for, with as many outputs as the data set has classes.</summary>
internal static class ModelFactory
{
    private static readonly int[] TinyBlocks = { 1, 1 };
    private static readonly int[] SmallBlocks = { 3, 3, 3 };

    /// <summary>
    /// The model of a run with norm <paramref name="norm"/>: batch (BatchNorm; converted to GroupNorm under --swap),
    /// group (GroupNorm with --groups groups, or per layer <see cref="ChannelGroupNorm.DefaultGroupCount"/>), or
    /// group-ws (the same GroupNorm, with weight-standardised convolutions).
    /// </summary>
    public static DenseNet Build(TrainingOptions options, NormKind norm, int classes, Action<string> report)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(report);
        Func<long, Module<Tensor, Tensor>>? normLayer = norm is NormKind.Group or NormKind.GroupWs
            ? c => new ChannelGroupNorm(options.Groups ?? ChannelGroupNorm.DefaultGroupCount(c), c)
            : null;
        DenseNet model = Create(options.Model, classes, normLayer, norm == NormKind.GroupWs);
        if (options.Swap && norm == NormKind.Batch)
        {
            NormalizationSwapReport swap = model.ReplaceBatchNorm();
            report(swap.ToString());
        }

        return model;
    }

    /// <summary>
    /// Refuses, before any training, a --groups count that does not divide the channel count of every norm layer of
    /// the model, and names the counts that would.
    /// </summary>
    /// <exception cref="UsageException">--groups does not fit the model.</exception>
    public static void CheckGroups(TrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Groups is not { } groups)
        {
            return;
        }

        var channels = new SortedSet<long>();
        Create(options.Model, 10, c =>
        {
            channels.Add(c);
            return BatchNorm2d(c);
        }, weightStandardized: false).Dispose();

        long[] misfits = channels.Where(c => c % groups != 0).ToArray();
        if (misfits.Length > 0)
        {
            long common = channels.Aggregate(Gcd);
            string fits = string.Join(", ", Enumerable.Range(1, (int)common).Where(d => common % d == 0));
            throw new UsageException(string.Create(CultureInfo.InvariantCulture,
                $"--groups: {groups} does not divide the channel counts {string.Join(", ", misfits)} of norm layers of --model {options.Model}. " +
                $"Give one of {fits} (they divide every norm layer's channels), or leave --groups out for the per-layer default."));
        }
    }

    private static DenseNet Create(string name, int classes, Func<long, Module<Tensor, Tensor>>? normLayer, bool weightStandardized)
    {
        // group-ws: every convolution standardises its weights per output filter (Qiao et al.), the usual companion of
        // GroupNorm; the state_dict keys stay those of the plain convolutions.
        Func<TorchSharp.Modules.Conv2d, Module<Tensor, Tensor>>? convLayer = weightStandardized ? WeightStandardizedConv2d.From : null;
        return name switch
        {
            "densenet121" => DenseNets.densenet121(num_classes: classes, stem: DenseNetStem.Cifar, norm_layer: normLayer, conv_layer: convLayer),
            "tiny" => new DenseNet(growth_rate: 4, block_config: TinyBlocks, num_init_features: 8, num_classes: classes,
                stem: DenseNetStem.Cifar, norm_layer: normLayer, conv_layer: convLayer),
            _ => new DenseNet(growth_rate: 12, block_config: SmallBlocks, num_init_features: 24, num_classes: classes,
                stem: DenseNetStem.Cifar, norm_layer: normLayer, conv_layer: convLayer),
        };
    }

    private static long Gcd(long a, long b) => b == 0 ? a : Gcd(b, a % b);
}
