using SelectiveLoss.Selection;

namespace SelectiveLoss.Training;

/// <summary>Options of a <see cref="SelectiveStep"/> beyond its strategy.</summary>
public sealed record SelectiveStepOptions
{
    /// <summary>The keep ratio per epoch. Default: the reducer's <see cref="SelectiveLossReducer.KeepRatio"/> at every epoch.</summary>
    public IKeepRatioSchedule? Schedule { get; init; }

    /// <summary>Loss-ranked selection (default) or the random control at the same keep ratio.</summary>
    public SubsetRule SubsetRule { get; init; } = SubsetRule.LossRanked;

    /// <summary>What to do with a model that couples samples in training mode. Default: warn once and go on.</summary>
    public CouplingPolicy CouplingPolicy { get; init; } = CouplingPolicy.Warn;

    /// <summary>
    /// Score in training mode instead of eval mode. Off by default: eval-mode scoring is cheaper, deterministic with
    /// dropout, and does not update BatchNorm's running statistics a second time.
    /// </summary>
    public bool ScoreInTrainingMode { get; init; }

    /// <summary>Freshness and size of the score memory of <see cref="SelectionStrategy.Cached"/>.</summary>
    public CachePolicy CachePolicy { get; init; } = new();

    /// <summary>The dataset size, if known: sample ids must then be below it.</summary>
    public long? DatasetSize { get; init; }

    /// <summary>Seed of the random control's generator; default 0.</summary>
    public ulong Seed { get; init; }
}
