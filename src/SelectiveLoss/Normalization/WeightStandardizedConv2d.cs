using System;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SelectiveLoss.Normalization;

/// <summary>
/// A 2-D convolution whose weight is standardised per output channel before every use (Weight Standardization, Qiao et
/// al. 2019): each filter is shifted to mean 0 and scaled to variance 1 over its input channels and kernel. Paired
/// with GroupNorm it makes training without batch statistics behave much like BatchNorm (the paper matches or beats
/// BatchNorm on ImageNet ResNet-50), and, like GroupNorm, it never mixes the samples of a batch.
/// </summary>
/// <remarks>
/// <para>
/// The state_dict keys are a convolution's (<c>weight</c>, and <c>bias</c> when it has one), so a model whose
/// <c>Conv2d</c> layers are replaced keeps its keys; the stored weight is the raw one, standardised on the fly.
/// </para>
/// <para>
/// The parameters live only in TorchSharp's registry and are read from it on every forward, so <c>.to(device)</c>,
/// <c>.to(dtype)</c>, <c>load_state_dict</c> and optimisers see and move them as for any TorchSharp module.
/// </para>
/// </remarks>
/// <example>
/// <code>
/// // A GroupNorm + Weight Standardization DenseNet for CIFAR:
/// var model = DenseNets.densenet121(num_classes: 100, stem: DenseNetStem.Cifar,
///     norm_layer: c => nn.GroupNorm(32, c), conv_layer: WeightStandardizedConv2d.From);
/// </code>
/// </example>
public sealed class WeightStandardizedConv2d : nn.Module<Tensor, Tensor>
{
    private readonly long[] stride;
    private readonly long[] padding;
    private readonly long[] dilation;

    private WeightStandardizedConv2d(Parameter weight, Parameter? bias, long[] stride, long[] padding, long[] dilation, long groups, double eps)
        : base(nameof(WeightStandardizedConv2d))
    {
        this.stride = stride;
        this.padding = padding;
        this.dilation = dilation;
        Groups = groups;
        Eps = eps;
        register_parameter("weight", weight);
        if (bias is not null)
        {
            register_parameter("bias", bias);
        }
    }

    /// <summary>Gets the number of blocked connections from input to output channels (a grouped convolution's groups).</summary>
    public long Groups { get; }

    /// <summary>Gets the value added to each filter's variance before the square root.</summary>
    public double Eps { get; }

    /// <summary>Gets the number of input channels.</summary>
    public long InChannels => Weight.shape[1] * Groups;

    /// <summary>Gets the number of output channels.</summary>
    public long OutChannels => Weight.shape[0];

    /// <summary>Gets the raw (unstandardised) weight, <c>[out, in / groups, kH, kW]</c>.</summary>
    public Parameter Weight => get_parameter("weight") ?? throw new InvalidOperationException("The module has lost its weight parameter.");

    /// <summary>Gets the bias, or null when the convolution has none.</summary>
    public Parameter? Bias => get_parameter("bias");

    /// <summary>
    /// Makes a weight-standardised convolution with the configuration, weight and bias of <paramref name="conv"/>
    /// (copied, with their <c>requires_grad</c>, device and dtype). Pass it as the DenseNet builders' <c>conv_layer</c>.
    /// </summary>
    /// <param name="conv">The convolution to copy; zero padding only.</param>
    /// <returns>A new module; <paramref name="conv"/> is left unchanged.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="conv"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="conv"/> pads other than with zeros, or pads by a mode ("same").</exception>
    public static WeightStandardizedConv2d From(Conv2d conv) => From(conv, 1e-5);

    /// <summary>Makes a weight-standardised convolution from <paramref name="conv"/>, with the given eps.</summary>
    /// <param name="conv">The convolution to copy; zero padding only.</param>
    /// <param name="eps">Added to each filter's variance; positive. Qiao et al. use 1e-5.</param>
    /// <returns>A new module; <paramref name="conv"/> is left unchanged.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="conv"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="eps"/> is not positive and finite.</exception>
    /// <exception cref="ArgumentException"><paramref name="conv"/> pads other than with zeros, or pads by a mode ("same").</exception>
    public static WeightStandardizedConv2d From(Conv2d conv, double eps)
    {
        ArgumentNullException.ThrowIfNull(conv);
        if (!(eps > 0) || double.IsInfinity(eps))
        {
            throw new ArgumentOutOfRangeException(nameof(eps), eps, "eps must be a positive finite number, for example 1e-5.");
        }

        if (conv.padding_mode != PaddingModes.Zeros || conv.padding_type is not null || conv.padding is null)
        {
            throw new ArgumentException(
                $"Only zero padding by explicit sizes is supported, but the convolution pads with {conv.padding_mode}" +
                (conv.padding_type is { } type ? $" ({type})" : string.Empty) + ". Build it with padding: N.", nameof(conv));
        }

        Parameter weight;
        Parameter? bias = null;
        using (no_grad())
        {
            weight = new Parameter(conv.weight.detach().clone(), conv.weight.requires_grad);
            if (conv.bias is { } b)
            {
                bias = new Parameter(b.detach().clone(), b.requires_grad);
            }
        }

        var module = new WeightStandardizedConv2d(weight, bias, conv.stride.ToArray(), conv.padding.ToArray(), conv.dilation.ToArray(), conv.groups, eps);
        module.train(conv.training);
        return module;
    }

    /// <summary>The standardised weight this module convolves with: each filter at mean 0, variance 1 (plus eps).</summary>
    /// <returns>A tensor of the weight's shape, differentiable with respect to the raw weight.</returns>
    public Tensor StandardizedWeight() =>
        // A [out, in, kh, kw] weight read as N = out filters, C = in channels: GroupNorm with one group normalises each
        // filter over (in, kh, kw) with the biased variance plus eps, which is exactly Weight Standardization, in one
        // native call whose eps is a plain double. Arithmetic operators would pass LibTorch Scalars (eps, and the alpha
        // of every add and sub) that TorchSharp frees only by finalizer, possibly while the native call still reads
        // them; on every forward of every convolution that crashed a training run.
        nn.functional.group_norm(Weight, 1, eps: Eps);

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        using var scope = NewDisposeScope();
        Tensor output = nn.functional.conv2d(input, StandardizedWeight(), Bias, stride, padding, dilation, Groups);
        return scope.MoveToOuter(output);
    }
}
