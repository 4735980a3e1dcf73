using System;
using TorchSharp;

namespace SelectiveLoss.Normalization;

/// <summary>One BatchNorm that <see cref="NormalizationSwapper.ReplaceBatchNorm"/> replaced, and what replaced it.</summary>
/// <param name="Path">The module path as <c>named_modules()</c> spells it (<c>"features.norm0"</c>); the empty string
/// for the root.</param>
/// <param name="OriginalType">The BatchNorm's type: <c>BatchNorm1d</c>, <c>BatchNorm2d</c> or <c>BatchNorm3d</c>.</param>
/// <param name="Channels">The channel count (the BatchNorm's <c>num_features</c>).</param>
/// <param name="Groups">The group count of the replacement.</param>
/// <param name="Eps">The eps carried over from the BatchNorm.</param>
/// <param name="Affine">Whether the BatchNorm (and so the replacement) has a learnable weight and bias.</param>
/// <param name="AffineCopied">Whether the BatchNorm's weight and bias values were copied (otherwise the replacement
/// starts at weight 1, bias 0).</param>
/// <param name="RunningStatisticsDropped">Whether the BatchNorm had running statistics (<c>running_mean</c>,
/// <c>running_var</c>, <c>num_batches_tracked</c>), which GroupNorm has no use for and which are gone with it.</param>
/// <param name="Replacement">The module now at <paramref name="Path"/>.</param>
public sealed record SwappedNorm(
    string Path,
    Type OriginalType,
    long Channels,
    long Groups,
    double Eps,
    bool Affine,
    bool AffineCopied,
    bool RunningStatisticsDropped,
    ChannelGroupNorm Replacement);
