using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;

namespace SelectiveLoss.Normalization;

/// <summary>What <see cref="NormalizationSwapper.ReplaceBatchNorm"/> did to a model.</summary>
public sealed class NormalizationSwapReport
{
    private static readonly string[] RunningStatistics = { "running_mean", "running_var", "num_batches_tracked" };

    internal NormalizationSwapReport(torch.nn.Module root, IReadOnlyList<SwappedNorm> replaced, IReadOnlyList<string> standardizedConvolutions)
    {
        Root = root;
        Replaced = replaced;
        StandardizedConvolutions = standardizedConvolutions;
        DroppedStateKeys = replaced
            .Where(s => s.RunningStatisticsDropped)
            .SelectMany(s => RunningStatistics.Select(k => s.Path.Length == 0 ? k : s.Path + "." + k))
            .ToList();
    }

    /// <summary>
    /// Gets the model's root: the module passed in, or its replacement when the root itself was a BatchNorm. Keep using
    /// this reference (and build the optimiser from its <c>parameters()</c> after the swap).
    /// </summary>
    public torch.nn.Module Root { get; }

    /// <summary>Gets every replaced BatchNorm, in <c>named_modules()</c> order; empty when there was none.</summary>
    public IReadOnlyList<SwappedNorm> Replaced { get; }

    /// <summary>Gets the paths of the <c>Conv2d</c> layers replaced with <see cref="WeightStandardizedConv2d"/> (with
    /// <see cref="GroupNormOptions.StandardizeConvWeights"/>), in <c>named_modules()</c> order; empty otherwise.</summary>
    public IReadOnlyList<string> StandardizedConvolutions { get; }

    /// <summary>
    /// Gets the state_dict keys that disappeared with the BatchNorms' running statistics. All other keys keep their
    /// names; a checkpoint saved before the swap loads with <c>load_state_dict(..., strict: false)</c>.
    /// </summary>
    public IReadOnlyList<string> DroppedStateKeys { get; }

    /// <summary>Summarises the swap in one line per replaced layer.</summary>
    /// <returns>A human-readable summary.</returns>
    public override string ToString()
    {
        if (Replaced.Count == 0)
        {
            return "No BatchNorm found; nothing replaced.";
        }

        return $"Replaced {Replaced.Count} BatchNorm layer(s) with GroupNorm; running statistics dropped:" + Environment.NewLine +
            string.Join(Environment.NewLine, Replaced.Select(s =>
                $"  {(s.Path.Length == 0 ? "(root)" : s.Path)}: {s.OriginalType.Name}({s.Channels}) -> {s.Groups} groups" +
                (s.Affine ? (s.AffineCopied ? ", weight/bias copied" : ", weight 1/bias 0") : ", no affine"))) +
            (StandardizedConvolutions.Count > 0 ? $"{Environment.NewLine}Weight-standardised {StandardizedConvolutions.Count} convolution(s)." : string.Empty);
    }
}
