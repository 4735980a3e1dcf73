using System;
using TorchSharp;

namespace SelectiveLoss.Normalization;

/// <summary>One BatchNorm that <see cref="NormalizationSwapper.ReplaceBatchNorm"/> replaced, and what replaced it.</summary>
public sealed record SwappedNorm
{
    /// <summary>Gets the module path as <c>named_modules()</c> spells it (<c>"features.norm0"</c>); the empty string for
    /// the root.</summary>
    public required string Path { get; init; }

    /// <summary>Gets the BatchNorm's type: <c>BatchNorm1d</c>, <c>BatchNorm2d</c> or <c>BatchNorm3d</c>.</summary>
    public required Type OriginalType { get; init; }

    /// <summary>Gets the channel count (the BatchNorm's <c>num_features</c>).</summary>
    public required long Channels { get; init; }

    /// <summary>Gets the group count of the replacement.</summary>
    public required long Groups { get; init; }

    /// <summary>Gets the eps carried over from the BatchNorm.</summary>
    public required double Eps { get; init; }

    /// <summary>Gets a value indicating whether the BatchNorm (and so the replacement) has a learnable weight and bias.</summary>
    public required bool Affine { get; init; }

    /// <summary>Gets a value indicating whether the BatchNorm's weight and bias values were copied (otherwise the
    /// replacement starts at weight 1, bias 0).</summary>
    public required bool AffineCopied { get; init; }

    /// <summary>Gets a value indicating whether the BatchNorm had running statistics (<c>running_mean</c>,
    /// <c>running_var</c>, <c>num_batches_tracked</c>), which GroupNorm has no use for and which are gone with it.</summary>
    public required bool RunningStatisticsDropped { get; init; }

    /// <summary>Gets the module now at <see cref="Path"/>: TorchSharp's <see cref="TorchSharp.Modules.GroupNorm"/> in
    /// place of a <c>BatchNorm2d</c> or <c>BatchNorm3d</c>, a <see cref="ChannelGroupNorm"/> in place of a
    /// <c>BatchNorm1d</c>.</summary>
    public required torch.nn.Module<torch.Tensor, torch.Tensor> Replacement { get; init; }
}
