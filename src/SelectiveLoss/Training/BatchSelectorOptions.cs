using System;
using SelectiveLoss.Selection;
using static TorchSharp.torch;

namespace SelectiveLoss.Training;

/// <summary>
/// The choices of a <see cref="BatchSelector"/> besides its rule: where the scores come from, how the kept losses are
/// reduced, and their settings. <see cref="SelectiveStepOptions"/> adds how a <see cref="SelectiveStep"/> runs the update.
/// </summary>
public record BatchSelectorOptions
{
    /// <summary>Gets where the scores come from; null (the default) for the rule's own default
    /// (<see cref="ISelectionRule.DefaultScores"/>: fresh for the ranked rules and Selective-Backprop, the last training
    /// loss for InfoBatch).</summary>
    public ScoreSource? Scores { get; init; }

    /// <summary>Gets how the kept samples' weighted losses are reduced: a weighted mean over the trained samples
    /// (<c>sum(w * loss) / k</c>) or a weighted sum. Null (the default) for the reducer's reduction when a step is
    /// built from a <see cref="SelectiveLossReducer"/>, else <see cref="LossReduction.Mean"/>.</summary>
    public LossReduction? Reduction { get; init; }

    /// <summary>Gets the number of epochs of the run; required by rules that anneal (InfoBatch) and passed to every rule
    /// in <see cref="SelectionContext.TotalEpochs"/>.</summary>
    public int? TotalEpochs { get; init; }

    /// <summary>Gets the per-sample loss of (output, target) used by scoring passes, returning a 1-D tensor with one loss
    /// per sample; null for cross-entropy with no reduction.</summary>
    public Func<Tensor, Tensor, Tensor>? PerSampleLoss { get; init; }

    /// <summary>Gets what to do with a model that couples samples in training mode. Default: warn once and go on.</summary>
    public CouplingPolicy CouplingPolicy { get; init; } = CouplingPolicy.Warn;

    /// <summary>Gets which samples BatchNorm's running statistics come from on a coupled model; the whole batch by
    /// default (see <see cref="Training.BatchNormStatistics"/>).</summary>
    public BatchNormStatistics BatchNormStatistics { get; init; } = BatchNormStatistics.WholeBatch;

    /// <summary>Gets when a remembered score is fresh enough for <see cref="ScoreSource.Cached"/>.</summary>
    public CachePolicy CachePolicy { get; init; } = new();

    /// <summary>Gets the dataset size, if known: sample ids must then be below it, and the score memory is allocated once.</summary>
    public long? DatasetSize { get; init; }

    /// <summary>Gets the seed of the random generator rules draw from (the random rule, Selective-Backprop's and
    /// InfoBatch's draws); 0 by default.</summary>
    public ulong Seed { get; init; }
}
