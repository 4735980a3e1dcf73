namespace SelectiveLoss.Normalization;

/// <summary>
/// How <see cref="NormalizationSwapper.ReplaceBatchNorm"/> builds each GroupNorm. The defaults (32 groups at most,
/// affine weight and bias copied from the BatchNorm, weight-standardised convolutions) suit a model trained from scratch.
/// </summary>
public sealed record GroupNormOptions
{
    /// <summary>
    /// Gets the explicit group count for every replaced layer, or <see langword="null"/> (the default) for the rule of
    /// <see cref="ChannelGroupNorm.DefaultGroupCount"/> (at least 2 channels per group after a <c>BatchNorm2d</c> or
    /// <c>BatchNorm3d</c>, at least <see cref="ChannelGroupNorm.MinFeaturesPerGroup"/> after a <c>BatchNorm1d</c>). An explicit count must divide every replaced layer's channel
    /// count and, for a <c>BatchNorm1d</c> (which may see <c>[N, C]</c> input without spatial extent), leave at least two
    /// channels per group; otherwise the swap is refused with an <see cref="System.ArgumentException"/> naming each layer.
    /// </summary>
    public int? Groups { get; init; }

    /// <summary>
    /// Gets the largest group count the default rule may choose; 32 (the GroupNorm paper's choice) unless set.
    /// Ignored when <see cref="Groups"/> is set.
    /// </summary>
    public int MaxGroups { get; init; } = 32;

    /// <summary>
    /// Gets a value indicating whether the BatchNorm's learned affine weight and bias are copied into the replacement
    /// (the default, so a trained scale and shift survive); <see langword="false"/> starts every replacement fresh at
    /// weight 1 and bias 0.
    /// </summary>
    public bool CopyAffine { get; init; } = true;

    /// <summary>
    /// Gets a value indicating whether every <c>Conv2d</c> of the model is also replaced with a
    /// <see cref="WeightStandardizedConv2d"/> (same weight, bias and configuration, same state_dict keys). True by default:
    /// measured on real digits, GroupNorm alone learned slower than BatchNorm (95.4% against 97.0% after 3 epochs) and
    /// GroupNorm with Weight Standardization faster (98.2%; docs/time-to-accuracy.md), as Qiao et al. (2019) report on
    /// ImageNet. Set it to false to swap the norms only (the behaviour before this option), for example to fine-tune
    /// weights trained with plain convolutions, whose filters standardisation would change. A convolution that cannot be
    /// replaced (held in a field declared <c>Conv2d</c>, say) is refused like a BatchNorm, and nothing changes.
    /// </summary>
    public bool StandardizeConvWeights { get; init; } = true;
}
