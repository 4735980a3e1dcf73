using System;
using static TorchSharp.torch;

namespace SelectiveLoss.Selection;

/// <summary>What an <see cref="ISelectionRule"/> chose: the kept positions and a weight per kept sample.</summary>
public sealed class SampleSelection
{
    /// <summary>Creates a selection.</summary>
    /// <param name="kept">The kept positions in the batch: a 1-D int64 tensor, ascending, without duplicates, on the
    /// batch's device.</param>
    /// <param name="weights">A weight per kept sample (1-D, same length as <paramref name="kept"/>, non-negative and
    /// finite), or null for weight 1 everywhere. The step reduces <c>sum(weight * loss)</c>, divided by the number of
    /// trained samples for <see cref="Selection.LossReduction.Mean"/>.</param>
    /// <param name="keepRatio">The share of the batch the rule meant to keep, for reports; null when the share varies.</param>
    /// <exception cref="ArgumentNullException"><paramref name="kept"/> is null.</exception>
    public SampleSelection(Tensor kept, Tensor? weights = null, double? keepRatio = null)
    {
        ArgumentNullException.ThrowIfNull(kept);
        Kept = kept;
        Weights = weights;
        KeepRatio = keepRatio;
    }

    /// <summary>Gets the kept positions, ascending.</summary>
    public Tensor Kept { get; }

    /// <summary>Gets the weight of each kept sample, or null for weight 1 everywhere.</summary>
    public Tensor? Weights { get; }

    /// <summary>Gets the share of the batch the rule meant to keep, or null when it varies by batch.</summary>
    public double? KeepRatio { get; }
}
