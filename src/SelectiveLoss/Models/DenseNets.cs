using System;
using System.Diagnostics.CodeAnalysis;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SelectiveLoss.Models;

/// <summary>
/// Builders for torchvision's DenseNet-121, -161, -169 and -201: same architecture (DenseNet-BC, bottleneck
/// <c>bn_size</c> 4, compression 0.5, BN-ReLU-Conv order), same initialisation and same state_dict keys, with the norm
/// layer chosen at build time and a CIFAR stem for 32x32 images.
/// </summary>
/// <remarks>
/// All builders share one parameter list. Parameter counts at 1000 classes with the ImageNet stem are torchvision's,
/// with BatchNorm or with any norm layer that has a weight and a bias per channel (GroupNorm).
/// </remarks>
/// <example>
/// A GroupNorm DenseNet-121 for CIFAR-100:
/// <code>
/// var model = DenseNets.densenet121(num_classes: 100, stem: DenseNetStem.Cifar, norm_layer: c =&gt; nn.GroupNorm(32, c));
/// </code>
/// </example>
[SuppressMessage("Naming", "CA1707:Identifiers should not contain underscores",
    Justification = "Builder and parameter names are torchvision's (densenet121, num_classes, norm_layer, ...).")]
public static class DenseNets
{
    private static readonly int[] Blocks121 = { 6, 12, 24, 16 };
    private static readonly int[] Blocks161 = { 6, 12, 36, 24 };
    private static readonly int[] Blocks169 = { 6, 12, 32, 32 };
    private static readonly int[] Blocks201 = { 6, 12, 48, 32 };

    /// <summary>
    /// DenseNet-121: growth rate 32, blocks (6, 12, 24, 16), 64 initial features; 7,978,856 parameters at 1000 classes
    /// with the ImageNet stem.
    /// </summary>
    /// <param name="num_classes">Outputs of the classifier; at least 1.</param>
    /// <param name="stem"><see cref="DenseNetStem.ImageNet"/> (7x7 stride 2 conv, norm, ReLU, max pool) for 224x224 images, or
    /// <see cref="DenseNetStem.Cifar"/> (3x3 stride 1 conv only) for 32x32 images.</param>
    /// <param name="norm_layer">Creates the norm layer for a channel count (a new module every call); used for every norm of
    /// the network. <see langword="null"/> means <see cref="Normalization.HeldScalarBatchNorm2d"/> (TorchSharp's
    /// <c>BatchNorm2d</c>, with its Scalars held). What it returns is checked and initialised to weight
    /// 1, bias 0.</param>
    /// <param name="drop_rate">Dropout probability after each dense layer, in [0, 1).</param>
    /// <param name="bn_size">Bottleneck width factor (conv1 outputs <c>bn_size</c> times the growth rate channels); at least 1.</param>
    /// <param name="memory_efficient">Recompute each dense layer's bottleneck in the backward pass instead of keeping its
    /// input concatenation (torchvision's <c>memory_efficient</c>): about half the activation memory for about a fifth
    /// more time per training step; see <see cref="DenseNet"/>.</param>
    /// <param name="conv_layer">Receives every convolution, built and initialised as torchvision does, and returns the
    /// module to use in its place (same parameters and output shape): <c>WeightStandardizedConv2d.From</c> gives Weight
    /// Standardization, which with GroupNorm learns much like BatchNorm. <see langword="null"/> keeps plain <c>Conv2d</c>.</param>
    /// <param name="weights">A PyTorch state_dict file to load into the network, as torchvision's <c>weights</c>: for
    /// example torchvision's <c>densenet121-a639ec97.pth</c> as published (old key names included), a <c>.pth</c> from
    /// <c>torch.save(model.state_dict(), path)</c>, or a <c>.safetensors</c>. Strict: every key and shape must match, so
    /// <paramref name="num_classes"/>, <paramref name="stem"/> and <paramref name="norm_layer"/> must be those the weights
    /// were trained with; to fine-tune for another class count, build without it and call
    /// <see cref="StateDicts.load_state_dict"/> with <c>ignore_mismatched_sizes: true</c>. <see langword="null"/> keeps
    /// torchvision's initialisation.</param>
    /// <returns>The network, in training mode, on the CPU.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="num_classes"/>, <paramref name="drop_rate"/>,
    /// <paramref name="bn_size"/> or <paramref name="stem"/> is out of range.</exception>
    /// <exception cref="ArgumentException"><paramref name="norm_layer"/> returned null, the same module twice, or a module
    /// that does not fit its channel count; or <paramref name="conv_layer"/> returned a module that does not keep the
    /// convolution's parameters and output shape; or the <paramref name="weights"/> file does not fit the network (the
    /// message names the file and every key).</exception>
    /// <exception cref="System.IO.FileNotFoundException">The <paramref name="weights"/> file does not exist.</exception>
    /// <exception cref="System.IO.InvalidDataException">The <paramref name="weights"/> file is not a PyTorch state_dict, or
    /// it is truncated.</exception>
    /// <exception cref="SelectiveLoss.Native.TorchSharpLoadException">TorchSharp's native library cannot be loaded.</exception>
    public static DenseNet densenet121(
        int num_classes = 1000,
        DenseNetStem stem = DenseNetStem.ImageNet,
        Func<long, Module<Tensor, Tensor>>? norm_layer = null,
        double drop_rate = 0,
        int bn_size = 4,
        bool memory_efficient = false,
        Func<Conv2d, Module<Tensor, Tensor>>? conv_layer = null,
        string? weights = null) =>
        new(growth_rate: 32, block_config: Blocks121, num_init_features: 64, bn_size: bn_size,
            drop_rate: drop_rate, num_classes: num_classes, stem: stem, norm_layer: norm_layer,
            memory_efficient: memory_efficient, conv_layer: conv_layer, weights: weights);

    /// <summary>
    /// DenseNet-161: growth rate 48, blocks (6, 12, 36, 24), 96 initial features; 28,681,000 parameters at 1000 classes
    /// with the ImageNet stem.
    /// </summary>
    /// <inheritdoc cref="densenet121"/>
    public static DenseNet densenet161(
        int num_classes = 1000,
        DenseNetStem stem = DenseNetStem.ImageNet,
        Func<long, Module<Tensor, Tensor>>? norm_layer = null,
        double drop_rate = 0,
        int bn_size = 4,
        bool memory_efficient = false,
        Func<Conv2d, Module<Tensor, Tensor>>? conv_layer = null,
        string? weights = null) =>
        new(growth_rate: 48, block_config: Blocks161, num_init_features: 96, bn_size: bn_size,
            drop_rate: drop_rate, num_classes: num_classes, stem: stem, norm_layer: norm_layer,
            memory_efficient: memory_efficient, conv_layer: conv_layer, weights: weights);

    /// <summary>
    /// DenseNet-169: growth rate 32, blocks (6, 12, 32, 32), 64 initial features; 14,149,480 parameters at 1000 classes
    /// with the ImageNet stem.
    /// </summary>
    /// <inheritdoc cref="densenet121"/>
    public static DenseNet densenet169(
        int num_classes = 1000,
        DenseNetStem stem = DenseNetStem.ImageNet,
        Func<long, Module<Tensor, Tensor>>? norm_layer = null,
        double drop_rate = 0,
        int bn_size = 4,
        bool memory_efficient = false,
        Func<Conv2d, Module<Tensor, Tensor>>? conv_layer = null,
        string? weights = null) =>
        new(growth_rate: 32, block_config: Blocks169, num_init_features: 64, bn_size: bn_size,
            drop_rate: drop_rate, num_classes: num_classes, stem: stem, norm_layer: norm_layer,
            memory_efficient: memory_efficient, conv_layer: conv_layer, weights: weights);

    /// <summary>
    /// DenseNet-201: growth rate 32, blocks (6, 12, 48, 32), 64 initial features; 20,013,928 parameters at 1000 classes
    /// with the ImageNet stem.
    /// </summary>
    /// <inheritdoc cref="densenet121"/>
    public static DenseNet densenet201(
        int num_classes = 1000,
        DenseNetStem stem = DenseNetStem.ImageNet,
        Func<long, Module<Tensor, Tensor>>? norm_layer = null,
        double drop_rate = 0,
        int bn_size = 4,
        bool memory_efficient = false,
        Func<Conv2d, Module<Tensor, Tensor>>? conv_layer = null,
        string? weights = null) =>
        new(growth_rate: 32, block_config: Blocks201, num_init_features: 64, bn_size: bn_size,
            drop_rate: drop_rate, num_classes: num_classes, stem: stem, norm_layer: norm_layer,
            memory_efficient: memory_efficient, conv_layer: conv_layer, weights: weights);
}
