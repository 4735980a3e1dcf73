using System;

namespace SelectiveLoss.Training;

/// <summary>What one <see cref="SelectiveStep.Step"/> did.</summary>
/// <param name="Loss">The reduced loss that was backpropagated (mean or sum over the kept samples).</param>
/// <param name="KeptIndices">Positions in the batch of the samples that were trained on, ascending.</param>
/// <param name="BatchSize">The number of samples in the batch.</param>
/// <param name="KeepRatio">The keep ratio in force (from the schedule).</param>
/// <param name="Strategy">The strategy that ran.</param>
/// <param name="ScoredSamples">How many samples the no-grad scoring pass ran over (0 when none ran).</param>
/// <param name="IsExact">Whether the update equals <see cref="SelectionStrategy.Masked"/>'s up to round-off: false when
/// a rebatched step runs on a model that couples samples, or when cached scores are used.</param>
/// <param name="ScoringTime">Wall time of the scoring pass and the selection.</param>
/// <param name="TrainingTime">Wall time of the training forward, backward and optimiser step.</param>
public sealed record StepResult(
    double Loss,
    long[] KeptIndices,
    long BatchSize,
    double KeepRatio,
    SelectionStrategy Strategy,
    long ScoredSamples,
    bool IsExact,
    TimeSpan ScoringTime,
    TimeSpan TrainingTime)
{
    /// <summary>The number of samples that were backpropagated.</summary>
    public int KeptCount => KeptIndices.Length;
}
