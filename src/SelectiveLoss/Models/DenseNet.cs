using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using SelectiveLoss.Native;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SelectiveLoss.Models;

/// <summary>
/// A DenseNet-BC (Huang et al., 2017) with torchvision's architecture, weight initialisation and state_dict keys
/// (<c>features.conv0.weight</c>, <c>features.denseblock1.denselayer1.norm1.weight</c>, ...,
/// <c>classifier.bias</c>), so that weights exported from torchvision load by name. Build the standard variants with
/// <see cref="DenseNets"/>; this constructor takes any configuration.
/// </summary>
/// <remarks>
/// <para>
/// Every norm layer comes from the <c>norm_layer</c> factory, which receives the channel count: pass a GroupNorm
/// factory and the network never contains a BatchNorm. Whatever the factory returns is checked (parameter shapes, a
/// forward pass on a tiny input) and initialised to weight 1, bias 0 (running mean 0, running variance 1 where it
/// keeps them) before it is used.
/// </para>
/// <para>
/// Memory: a dense layer's input is the concatenation of every earlier feature map of its block, and the plain forward
/// pass keeps that concatenation and norm1's output of every layer for the backward pass. With
/// <c>memory_efficient: true</c> they are computed without a graph and recomputed in the backward pass, through
/// TorchSharp's custom autograd functions (TorchSharp 0.107.0 has no <c>torch.utils.checkpoint</c>). Outputs and
/// gradients are the same, and BatchNorm's running statistics move once per forward pass, as in the plain mode
/// (the recomputation puts them back). Measured on DenseNet-121, CIFAR stem, batch 32, 2 CPU threads: the memory
/// held after the forward pass fell from about 1.2 GiB to 0.55 GiB and the process's peak from 1.5 to 1.05 GiB, for
/// about 15-25% more time per step (with glibc's default malloc settings the freed memory is kept by the process, so
/// its resident size shows less of the gain). Only a forward pass that records gradients takes this path; under
/// <c>no_grad</c> both modes are the same. One caveat of TorchSharp's custom functions: an exception inside their
/// backward pass cannot be passed to the caller and ends the process; the recomputation repeats work that has
/// already succeeded once, so in practice only running out of memory can cause it. Every forward pass, in either
/// mode, runs inside a dispose scope, so no intermediate tensor outlives it.
/// </para>
/// <para>
/// Weights: the <c>weights</c> argument, or <see cref="StateDicts.load_state_dict"/> on a built model, loads a PyTorch
/// state_dict (<c>.pth</c>/<c>.pt</c>/<c>.bin</c> from <c>torch.save</c>, or <c>.safetensors</c>), torchvision's published
/// checkpoints with their old key names included; TorchSharp.PyBridge's <c>save_py</c> writes one that PyTorch loads.
/// <see cref="Module.save(string, IList{string}?)"/> and <see cref="Module.load(string, bool, IList{string}?, Dictionary{string, bool}?)"/>
/// read and write TorchSharp's own format.
/// </para>
/// </remarks>
[SuppressMessage("Naming", "CA1707:Identifiers should not contain underscores",
    Justification = "Constructor parameters keep torchvision's names (growth_rate, block_config, ...).")]
public sealed class DenseNet : Module<Tensor, Tensor>
{
    // torchvision's pattern (models/densenet.py, _load_state_dict): its published checkpoints name a dense layer's
    // modules 'norm.1', 'relu.1', 'conv.1', 'norm.2', ...; '.' is no longer allowed in module names.
    private static readonly Regex TorchvisionOldKey = new(
        @"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$",
        RegexOptions.CultureInvariant);

    private readonly DenseNetFeatures features;
    private readonly Linear classifier;
    private readonly int[] blockConfig;

    /// <summary>Builds a DenseNet of any configuration; <see cref="DenseNets"/> has torchvision's four.</summary>
    /// <param name="growth_rate">Channels each dense layer adds (k in the paper); at least 1.</param>
    /// <param name="block_config">How many dense layers each dense block has; at least one block, each at least 1.</param>
    /// <param name="num_init_features">Channels <c>conv0</c> outputs; at least 1.</param>
    /// <param name="bn_size">Bottleneck width factor: conv1 outputs <c>bn_size * growth_rate</c> channels; at least 1.</param>
    /// <param name="drop_rate">Dropout probability after each dense layer, in [0, 1); 0 means no dropout.</param>
    /// <param name="num_classes">Outputs of the classifier; at least 1.</param>
    /// <param name="stem">The first layers: <see cref="DenseNetStem.ImageNet"/> or <see cref="DenseNetStem.Cifar"/>.</param>
    /// <param name="norm_layer">Creates the norm layer for a channel count, called once for every norm of the network
    /// (it must return a new module each time); <see langword="null"/> means <see cref="Normalization.HeldScalarBatchNorm2d"/>
    /// (TorchSharp's <c>BatchNorm2d</c>, with its Scalars held).</param>
    /// <param name="memory_efficient">Recompute each dense layer's concatenation, norm1, ReLU and conv1 in the backward
    /// pass instead of keeping them (torchvision's <c>memory_efficient</c>); see the remarks on <see cref="DenseNet"/>.</param>
    /// <param name="conv_layer">Receives every convolution, built and initialised as torchvision does, and returns the
    /// module to use in its place with the same parameters (keys and shapes) and output shape, for example
    /// <c>WeightStandardizedConv2d.From</c> for Weight Standardization; <see langword="null"/> keeps plain <c>Conv2d</c>.</param>
    /// <param name="weights">A PyTorch state_dict file to load once the network is built, as torchvision's
    /// <c>weights</c>: a <c>.pth</c>/<c>.pt</c>/<c>.bin</c> from <c>torch.save</c> or a <c>.safetensors</c>, with
    /// torchvision's old DenseNet key names or its current ones. The load is strict: every key and shape must match
    /// (for another class count, build without <c>weights</c> and call <see cref="StateDicts.load_state_dict"/> with
    /// <c>ignore_mismatched_sizes: true</c>). <see langword="null"/> keeps torchvision's initialisation.</param>
    /// <exception cref="ArgumentNullException"><paramref name="block_config"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A number is outside its range, or <paramref name="stem"/> is not
    /// a defined value.</exception>
    /// <exception cref="ArgumentException"><paramref name="norm_layer"/> returned null, the same module twice, or a
    /// module that does not fit its channel count; or <paramref name="conv_layer"/> returned a module that does not keep
    /// the convolution's parameters and output shape; or the <paramref name="weights"/> file does not fit the network (the
    /// message names the file and every key).</exception>
    /// <exception cref="FileNotFoundException">The <paramref name="weights"/> file does not exist.</exception>
    /// <exception cref="InvalidDataException">The <paramref name="weights"/> file is not a PyTorch state_dict, or it is
    /// truncated.</exception>
    /// <exception cref="TorchSharpLoadException">TorchSharp's native library cannot be loaded.</exception>
    public DenseNet(
        int growth_rate,
        IReadOnlyList<int> block_config,
        int num_init_features,
        int bn_size = 4,
        double drop_rate = 0,
        int num_classes = 1000,
        DenseNetStem stem = DenseNetStem.ImageNet,
        Func<long, Module<Tensor, Tensor>>? norm_layer = null,
        bool memory_efficient = false,
        Func<Conv2d, Module<Tensor, Tensor>>? conv_layer = null,
        string? weights = null)
        : base(CheckArgumentsAndLoad(growth_rate, block_config, num_init_features, bn_size, drop_rate, num_classes, stem, weights))
    {
        blockConfig = block_config.ToArray();
        GrowthRate = growth_rate;
        NumInitFeatures = num_init_features;
        BnSize = bn_size;
        DropRate = drop_rate;
        NumClasses = num_classes;
        Stem = stem;
        MemoryEfficient = memory_efficient;
        MinimumInputSize = ComputeMinimumInputSize(stem, blockConfig.Length);

        var norms = new NormLayerSource(norm_layer);
        features = new DenseNetFeatures(stem, growth_rate, blockConfig, num_init_features, bn_size, drop_rate,
            memory_efficient, norms, new ConvLayerSource(conv_layer));
        classifier = Linear(features.NumFeatures, num_classes);
        init.zeros_(classifier.bias!);
        RegisterComponents();
        if (weights is not null)
        {
            try
            {
                this.load_state_dict(weights, strict: true);
            }
            catch
            {
                Dispose();
                throw;
            }
        }
    }

    /// <summary>Channels each dense layer adds (k).</summary>
    public int GrowthRate { get; }

    /// <summary>How many dense layers each dense block has, e.g. 6, 12, 24, 16 for DenseNet-121.</summary>
    public IReadOnlyList<int> BlockConfig => Array.AsReadOnly(blockConfig);

    /// <summary>Channels <c>conv0</c> outputs.</summary>
    public int NumInitFeatures { get; }

    /// <summary>Bottleneck width factor: conv1 of each dense layer outputs <c>BnSize * GrowthRate</c> channels.</summary>
    public int BnSize { get; }

    /// <summary>Dropout probability after each dense layer (0: none).</summary>
    public double DropRate { get; }

    /// <summary>Outputs of the classifier.</summary>
    public int NumClasses { get; }

    /// <summary>The first layers of the network.</summary>
    public DenseNetStem Stem { get; }

    /// <summary>Whether dense layers recompute their bottleneck in the backward pass to save memory.</summary>
    public bool MemoryEfficient { get; }

    /// <summary>Channels that reach the classifier (1024 for DenseNet-121).</summary>
    public long NumFeatures => features.NumFeatures;

    /// <summary>The smallest height and width an input may have (every pooling step needs at least one pixel).</summary>
    public int MinimumInputSize { get; }

    /// <summary>Computes class scores (logits) for a batch of RGB images.</summary>
    /// <param name="input">Images of shape [N, 3, H, W], with H and W at least <see cref="MinimumInputSize"/>.</param>
    /// <returns>Logits of shape [N, <see cref="NumClasses"/>].</returns>
    /// <exception cref="ArgumentNullException"><paramref name="input"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="input"/> does not have shape [N, 3, H, W] with H and W at
    /// least <see cref="MinimumInputSize"/>.</exception>
    public override Tensor forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        long[] shape = input.shape;
        if (shape.Length != 4 || shape[1] != 3 || shape[2] < MinimumInputSize || shape[3] < MinimumInputSize)
        {
            throw new ArgumentException(
                $"DenseNet expects input of shape [N, 3, H, W] (a batch of RGB images, H and W at least " +
                $"{MinimumInputSize}), but got {NormLayerSource.Format(shape)}.",
                nameof(input));
        }

        using var scope = torch.NewDisposeScope();
        var x = functional.relu(features.call(input), inplace: true);
        x = functional.adaptive_avg_pool2d(x, new long[] { 1, 1 });
        return scope.MoveToOuter(classifier.call(torch.flatten(x, 1)));
    }

    /// <summary>
    /// The parameters and persistent buffers by name, in torchvision's order: module by module, each module's own
    /// parameters, then its buffers, then its children (TorchSharp's default lists every parameter of the network before
    /// the first buffer). The keys, and what they hold, are the same either way.
    /// </summary>
    /// <param name="destination">A dictionary to add the entries to; a new one if null.</param>
    /// <param name="prefix">A prefix for every key, joined with a dot; none if null or empty.</param>
    /// <returns><paramref name="destination"/>, or the new dictionary, holding the module's own tensors (not copies).</returns>
    public override Dictionary<string, Tensor> state_dict(Dictionary<string, Tensor>? destination = null, string? prefix = null)
    {
        destination ??= new Dictionary<string, Tensor>();
        AddState(this, string.IsNullOrEmpty(prefix) ? string.Empty : prefix + ".", destination);
        return destination;
    }

    private static void AddState(Module module, string prefix, Dictionary<string, Tensor> destination)
    {
        foreach (var (name, parameter) in module.named_parameters(recurse: false))
        {
            destination.TryAdd(prefix + name, parameter);
        }

        foreach (var (name, buffer) in module.named_buffers(recurse: false, include_nonpersistent: false))
        {
            destination.TryAdd(prefix + name, buffer);
        }

        foreach (var (name, child) in module.named_children())
        {
            AddState(child, prefix + name + ".", destination);
        }
    }

    /// <summary>
    /// The current name of a key in torchvision's published DenseNet checkpoints (<c>...denselayer1.norm.1.weight</c>
    /// becomes <c>...denselayer1.norm1.weight</c>), as torchvision's loader renames it; null for any other key.
    /// </summary>
    internal static string? RenameTorchvisionKey(string key)
    {
        Match match = TorchvisionOldKey.Match(key);
        return match.Success ? match.Groups[1].Value + match.Groups[2].Value : null;
    }

    // Runs before the base constructor creates a native module: arguments first, then the native library.
    private static string CheckArgumentsAndLoad(int growth_rate, IReadOnlyList<int> block_config, int num_init_features,
        int bn_size, double drop_rate, int num_classes, DenseNetStem stem, string? weights)
    {
        ArgumentNullException.ThrowIfNull(block_config, nameof(block_config));
        if (growth_rate < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(growth_rate), growth_rate, "growth_rate must be at least 1.");
        }

        if (block_config.Count == 0 || block_config.Any(n => n < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(block_config), "[" + string.Join(", ", block_config) + "]",
                "block_config needs at least one dense block, and every block at least 1 layer.");
        }

        if (num_init_features < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(num_init_features), num_init_features, "num_init_features must be at least 1.");
        }

        if (bn_size < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(bn_size), bn_size, "bn_size must be at least 1.");
        }

        if (!(drop_rate >= 0 && drop_rate < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(drop_rate), drop_rate, "drop_rate must be in [0, 1).");
        }

        if (num_classes < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(num_classes), num_classes, "num_classes must be at least 1.");
        }

        if (!Enum.IsDefined(stem))
        {
            throw new ArgumentOutOfRangeException(nameof(stem), stem, "stem must be DenseNetStem.ImageNet or DenseNetStem.Cifar.");
        }

        if (weights is not null && !File.Exists(weights))
        {
            throw new FileNotFoundException(
                $"The weights file '{weights}' does not exist; pass the path of a .pth, .pt, .bin or .safetensors file, or null.", weights);
        }

        TorchRuntime.EnsureLoaded();
        return nameof(DenseNet);
    }

    // Follows a square input through the stem and the transitions' 2x2 pools; the smallest size that still has a
    // pixel at the end (and at least two before each transition) is the minimum.
    private static int ComputeMinimumInputSize(DenseNetStem stem, int blocks)
    {
        for (int size = 1; ; size++)
        {
            long s = size;
            if (stem == DenseNetStem.ImageNet)
            {
                s = ((s - 1) / 2) + 1; // conv0: 7x7, stride 2, padding 3
                s = ((s - 1) / 2) + 1; // pool0: 3x3, stride 2, padding 1
            }

            bool fits = true;
            for (int i = 0; i < blocks - 1 && fits; i++)
            {
                fits = s >= 2;
                s /= 2;
            }

            if (fits && s >= 1)
            {
                return size;
            }
        }
    }
}
