using System;
using System.Diagnostics.CodeAnalysis;
using System.Linq;
using SelectiveLoss.Native;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace SelectiveLoss.Normalization;

/// <summary>
/// Group normalisation over the channels of <c>[N, C, *]</c> input, <c>[N, C]</c> included: the module
/// <see cref="NormalizationSwapper"/> puts where a BatchNorm was. Each sample is normalised with its own statistics
/// (per group of channels), so no sample's output depends on another sample in the batch, in training and in
/// evaluation mode alike.
/// </summary>
/// <remarks>
/// <para>
/// Why not TorchSharp's own <c>torch.nn.GroupNorm</c>? In TorchSharp 0.107.0 it has two traps: its constructor leaves
/// <c>weight</c> and <c>bias</c> uninitialised (whatever was in memory, not 1 and 0 as in PyTorch), and its
/// <c>forward</c> refuses 2-D <c>[N, C]</c> input, so it cannot replace a <c>BatchNorm1d</c> that follows a
/// <c>Linear</c> layer. This module starts at weight 1 and bias 0, accepts any input with at least two dimensions,
/// and keeps the parameter names <c>weight</c> and <c>bias</c>, so the state_dict keys are those the BatchNorm had
/// (minus its running statistics).
/// </para>
/// <para>
/// A group that holds a single value (one channel per group and no spatial extent, for example a
/// one-feature <c>[N, 1]</c> input) would always normalise to 0: the output would be the bias and no gradient would flow.
/// <see cref="forward"/> refuses such input instead of silently losing the signal.
/// </para>
/// </remarks>
public sealed class ChannelGroupNorm : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "weight")]
    private Parameter? weightParameter;

    [ComponentName(Name = "bias")]
    private Parameter? biasParameter;

    /// <summary>
    /// Creates the module with weight 1 and bias 0 (when <paramref name="affine"/> is true), on the given device and
    /// dtype, in training mode.
    /// </summary>
    /// <param name="groups">Number of channel groups; must divide <paramref name="channels"/>. See
    /// <see cref="DefaultGroupCount"/> for a rule that always works.</param>
    /// <param name="channels">Number of channels <c>C</c> of the input <c>[N, C, *]</c>; at least 1.</param>
    /// <param name="eps">Added to the variance for numerical stability; positive.</param>
    /// <param name="affine">Whether the module has a learnable per-channel <c>weight</c> and <c>bias</c>.</param>
    /// <param name="device">Device of the parameters; <see langword="null"/> for TorchSharp's default device.</param>
    /// <param name="dtype">Floating-point dtype of the parameters; <see langword="null"/> for TorchSharp's default dtype.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="channels"/> or <paramref name="groups"/> is below 1,
    /// <paramref name="groups"/> does not divide <paramref name="channels"/>, or <paramref name="eps"/> is not positive.</exception>
    /// <exception cref="ArgumentException"><paramref name="dtype"/> is not a floating-point type.</exception>
    /// <exception cref="TorchSharpLoadException">TorchSharp's native library cannot be loaded.</exception>
    public ChannelGroupNorm(long groups, long channels, double eps = 1e-5, bool affine = true, Device? device = null, ScalarType? dtype = null)
        : base(TorchRuntime.EnsureLoaded(nameof(ChannelGroupNorm)))
    {
        if (channels < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(channels), channels, "The channel count must be at least 1.");
        }

        if (groups < 1 || channels % groups != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(groups), groups,
                $"The group count must be at least 1 and divide the channel count {channels}; " +
                $"ChannelGroupNorm.DefaultGroupCount({channels}) = {DefaultGroupCount(channels)} always works.");
        }

        if (!(eps > 0) || double.IsInfinity(eps))
        {
            throw new ArgumentOutOfRangeException(nameof(eps), eps, "eps must be a positive finite number, for example 1e-5.");
        }

        if (dtype is { } requested && !IsFloatingPoint(requested))
        {
            throw new ArgumentException($"dtype must be a floating-point type, not {requested}.", nameof(dtype));
        }

        Groups = groups;
        Channels = channels;
        Eps = eps;
        Affine = affine;
        if (affine)
        {
            // Set explicitly: this is the initialisation TorchSharp's GroupNorm constructor forgets.
            weightParameter = new Parameter(torch.ones(channels, dtype, device), requires_grad: true);
            biasParameter = new Parameter(torch.zeros(channels, dtype, device), requires_grad: true);
            register_parameter("weight", weightParameter);
            register_parameter("bias", biasParameter);
        }

        Device where = device ?? torch.get_default_device();
        _deviceType = where.type;
        _deviceIndex = where.type == DeviceType.CUDA ? where.index : -1;
    }

    /// <summary>
    /// The fewest channels per group the swapper's default rule gives a <c>BatchNorm1d</c> replacement (16): on
    /// <c>[N, C]</c> features a group's statistics come from its channels alone.
    /// </summary>
    public const int MinFeaturesPerGroup = 16;

    /// <summary>Gets the number of channel groups; each is normalised with its own mean and variance per sample.</summary>
    public long Groups { get; }

    /// <summary>Gets the number of channels <c>C</c> this module expects in dimension 1 of its input.</summary>
    public long Channels { get; }

    /// <summary>Gets the value added to the variance for numerical stability.</summary>
    public double Eps { get; }

    /// <summary>Gets a value indicating whether the module has learnable per-channel <c>weight</c> and <c>bias</c>.</summary>
    public bool Affine { get; }

    /// <summary>Gets the per-channel scale (state_dict key <c>weight</c>), or <see langword="null"/> when not affine.</summary>
    [SuppressMessage("Style", "IDE1006:Naming Styles", Justification = "PyTorch's and TorchSharp's name for a norm's parameter.")]
    public Parameter? weight => weightParameter;

    /// <summary>Gets the per-channel shift (state_dict key <c>bias</c>), or <see langword="null"/> when not affine.</summary>
    [SuppressMessage("Style", "IDE1006:Naming Styles", Justification = "PyTorch's and TorchSharp's name for a norm's parameter.")]
    public Parameter? bias => biasParameter;

    /// <summary>
    /// The group rule <see cref="NormalizationSwapper"/> uses by default: the largest divisor of
    /// <paramref name="channels"/> that is at most <paramref name="maxGroups"/> and leaves at least
    /// <paramref name="minChannelsPerGroup"/> channels in every group; 1 when there is none (a prime channel count, or
    /// fewer channels than <paramref name="minChannelsPerGroup"/>). It never fails for any channel count.
    /// </summary>
    /// <remarks>
    /// The swapper passes <paramref name="minChannelsPerGroup"/> = 2 for <c>BatchNorm2d</c>/<c>BatchNorm3d</c> (each
    /// channel also has H×W values, so groups are never a single value) and
    /// <see cref="MinFeaturesPerGroup"/> = 16 for <c>BatchNorm1d</c>, which usually normalises <c>[N, C]</c> features
    /// without spatial extent: there a group of one channel is one value (output = bias, no gradient) and a group of two
    /// is nearly as bad (each value normalises to about ±1, so the output keeps only the sign and passes almost no
    /// gradient).
    /// </remarks>
    /// <param name="channels">The channel count; at least 1.</param>
    /// <param name="maxGroups">The largest group count wanted; at least 1. The default 32 follows the GroupNorm paper.</param>
    /// <param name="minChannelsPerGroup">The fewest channels a group may have; at least 1.</param>
    /// <returns>The group count. With the defaults: 32 for every multiple of 32 from 64 up, 16 for 32 channels, 24 for
    /// 144, 30 for 240, 1 for a prime channel count.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="channels"/>, <paramref name="maxGroups"/> or
    /// <paramref name="minChannelsPerGroup"/> is below 1.</exception>
    public static long DefaultGroupCount(long channels, int maxGroups = 32, int minChannelsPerGroup = 2)
    {
        if (channels < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(channels), channels, "The channel count must be at least 1.");
        }

        if (maxGroups < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(maxGroups), maxGroups, "The largest group count must be at least 1.");
        }

        if (minChannelsPerGroup < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(minChannelsPerGroup), minChannelsPerGroup, "A group needs at least 1 channel.");
        }

        long upper = Math.Min(maxGroups, channels / minChannelsPerGroup);
        for (long g = upper; g > 1; g--)
        {
            if (channels % g == 0)
            {
                return g;
            }
        }

        return 1;
    }

    /// <summary>Normalises each sample's groups of channels with that sample's own statistics.</summary>
    /// <param name="input">A tensor <c>[N, C, *]</c> (two or more dimensions) whose dimension 1 is <see cref="Channels"/>.</param>
    /// <returns>A tensor of the input's shape.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="input"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The input has fewer than two dimensions, the wrong channel count, or groups
    /// of a single value (one channel per group and no spatial extent), whose output would be the bias alone.</exception>
    public override Tensor forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Dimensions < 2)
        {
            throw new ArgumentException(
                $"ChannelGroupNorm expects input [N, C, *] with at least two dimensions, got shape [{string.Join(", ", input.shape)}].",
                nameof(input));
        }

        if (input.shape[1] != Channels)
        {
            throw new ArgumentException(
                $"ChannelGroupNorm was built for {Channels} channels, but the input has {input.shape[1]} in dimension 1 " +
                $"(shape [{string.Join(", ", input.shape)}]).",
                nameof(input));
        }

        long spatial = input.shape.Skip(2).Aggregate(1L, (a, b) => a * b);
        if (Channels / Groups * spatial == 1 && input.shape[0] > 0)
        {
            throw new ArgumentException(
                $"Every group of this ChannelGroupNorm ({Groups} groups of {Channels / Groups} channel) would hold a single " +
                $"value for input shape [{string.Join(", ", input.shape)}]: it would normalise to 0, output only the bias and " +
                "pass no gradient. Use fewer groups, or replace this layer with one that does not normalise per sample.",
                nameof(input));
        }

        if (input.Dimensions > 2)
        {
            return nn.functional.group_norm(input, Groups, weightParameter, biasParameter, Eps);
        }

        // TorchSharp's GroupNorm path is only proven for [N, C, *]; give [N, C] a length-1 spatial dimension.
        using Tensor withLength = input.unsqueeze(2);
        using Tensor normalised = nn.functional.group_norm(withLength, Groups, weightParameter, biasParameter, Eps);
        return normalised.squeeze(2);
    }

    /// <inheritdoc/>
    protected override nn.Module _to(Device device, ScalarType dtype, bool non_blocking)
    {
        MoveParameters(dtype, device, non_blocking);
        return this;
    }

    /// <inheritdoc/>
    protected override nn.Module _to(DeviceType deviceType, int deviceIndex, bool non_blocking)
    {
        MoveParameters(null, new Device(deviceType, deviceType == DeviceType.CUDA ? deviceIndex : -1), non_blocking);
        return this;
    }

    /// <inheritdoc/>
    protected override nn.Module _to(ScalarType dtype, bool non_blocking)
    {
        if (!IsFloatingPoint(dtype))
        {
            throw new ArgumentException($"ChannelGroupNorm can only be converted to a floating-point dtype, not {dtype}.", nameof(dtype));
        }

        MoveParameters(dtype, null, non_blocking);
        return this;
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            weightParameter?.Dispose();
            biasParameter?.Dispose();
        }

        base.Dispose(disposing);
    }

    private static bool IsFloatingPoint(ScalarType dtype) =>
        dtype is ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float32 or ScalarType.Float64;

    private void MoveParameters(ScalarType? dtype, Device? device, bool nonBlocking)
    {
        weightParameter = Move(weightParameter, "weight", dtype, device, nonBlocking);
        biasParameter = Move(biasParameter, "bias", dtype, device, nonBlocking);
        if (device is not null)
        {
            _deviceType = device.type;
            _deviceIndex = device.index;
        }
    }

    private Parameter? Move(Parameter? current, string name, ScalarType? dtype, Device? device, bool nonBlocking)
    {
        if (current is null)
        {
            return null;
        }

        ScalarType targetType = dtype ?? current.dtype;
        Device targetDevice = device ?? current.device;
        if (current.dtype == targetType && current.device_type == targetDevice.type && current.device_index == targetDevice.index)
        {
            return current;
        }

        Parameter moved;
        using (torch.no_grad())
        {
            moved = new Parameter(current.to(targetType, targetDevice, non_blocking: nonBlocking), requires_grad: current.requires_grad);
            if (current.grad is { } grad)
            {
                using Tensor movedGrad = grad.to(targetType, targetDevice, non_blocking: nonBlocking);
                moved.grad = movedGrad;
            }
        }

        _ = moved.DetachFromDisposeScope();
        _internal_params[name] = moved;
        current.Dispose();
        return moved;
    }
}
