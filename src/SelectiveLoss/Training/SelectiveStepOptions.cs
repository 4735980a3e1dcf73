using System;
using SelectiveLoss.Selection;
using static TorchSharp.torch;

namespace SelectiveLoss.Training;

/// <summary>The choices of a <see cref="SelectiveStep"/> besides its rule: scores, execution, and their settings.</summary>
public sealed record SelectiveStepOptions
{
    /// <summary>Gets where the scores come from; null (the default) for the rule's own default
    /// (<see cref="ISelectionRule.DefaultScores"/>: fresh for the ranked rules and Selective-Backprop, the last training
    /// loss for InfoBatch).</summary>
    public ScoreSource? Scores { get; init; }

    /// <summary>Gets how the update runs; <see cref="StepExecution.Rebatched"/> by default.</summary>
    public StepExecution Execution { get; init; } = StepExecution.Rebatched;

    /// <summary>Gets how the kept samples' weighted losses are reduced: a weighted mean over the trained samples
    /// (<c>sum(w * loss) / k</c>) or a weighted sum. Null (the default) for the reducer's reduction when the step is
    /// built from a <see cref="SelectiveLossReducer"/>, else <see cref="LossReduction.Mean"/>.</summary>
    public LossReduction? Reduction { get; init; }

    /// <summary>Gets the number of epochs of the run; required by rules that anneal (InfoBatch) and passed to every rule
    /// in <see cref="SelectionContext.TotalEpochs"/>.</summary>
    public int? TotalEpochs { get; init; }

    /// <summary>
    /// Gets the batch size to accumulate kept samples to before training, for rules whose kept share varies
    /// (Selective-Backprop, InfoBatch), as the Selective-Backprop paper does: a step that selects fewer keeps them, and
    /// trains only once this many are waiting, so every update sees the same batch size (<see cref="StepResult.Updated"/>
    /// says whether one ran). Null (the default) trains on each batch's selection at once. Needs
    /// <see cref="StepExecution.Rebatched"/>.
    /// </summary>
    public int? AccumulateToBatchSize { get; init; }

    /// <summary>Gets the per-sample loss of (output, target), returning a 1-D tensor with one loss per sample; null for
    /// cross-entropy with no reduction.</summary>
    public Func<Tensor, Tensor, Tensor>? PerSampleLoss { get; init; }

    /// <summary>Gets what to do with a model that couples samples in training mode. Default: warn once and go on.</summary>
    public CouplingPolicy CouplingPolicy { get; init; } = CouplingPolicy.Warn;

    /// <summary>Gets which samples BatchNorm's running statistics come from on a coupled model; the whole batch by
    /// default (see <see cref="Training.BatchNormStatistics"/>).</summary>
    public BatchNormStatistics BatchNormStatistics { get; init; } = BatchNormStatistics.WholeBatch;

    /// <summary>Gets the freshness and size of the score memory of <see cref="ScoreSource.Cached"/> (and the size of
    /// the memory of <see cref="ScoreSource.LastTrainingLoss"/>, whose scores never go stale).</summary>
    public CachePolicy CachePolicy { get; init; } = new();

    /// <summary>Gets the dataset size, if known: sample ids must then be below it.</summary>
    public long? DatasetSize { get; init; }

    /// <summary>Gets the seed of the step's random generator (the random rule, Selective-Backprop's and InfoBatch's
    /// draws); 0 by default.</summary>
    public ulong Seed { get; init; }
}
