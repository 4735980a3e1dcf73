using System;
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

    public static DenseNet Build(TrainingOptions options, int classes, Action<string> report)
    {
        Func<long, Module<Tensor, Tensor>>? norm = options.Norm == "group" && !options.Swap
            ? c => new ChannelGroupNorm(ChannelGroupNorm.DefaultGroupCount(c), c)
            : null;
        DenseNet model = options.Model switch
        {
            "densenet121" => DenseNets.densenet121(num_classes: classes, stem: DenseNetStem.Cifar, norm_layer: norm),
            "tiny" => new DenseNet(growth_rate: 4, block_config: TinyBlocks, num_init_features: 8, num_classes: classes,
                stem: DenseNetStem.Cifar, norm_layer: norm),
            _ => new DenseNet(growth_rate: 12, block_config: SmallBlocks, num_init_features: 24, num_classes: classes,
                stem: DenseNetStem.Cifar, norm_layer: norm),
        };
        if (options.Swap)
        {
            NormalizationSwapReport swap = model.ReplaceBatchNorm();
            report(swap.ToString());
        }

        return model;
    }
}
