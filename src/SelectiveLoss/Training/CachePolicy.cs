using System;

namespace SelectiveLoss.Training;

/// <summary>
/// When a remembered score is fresh enough for <see cref="ScoreSource.Cached"/> (the only score source that reuses
/// scores by age; <see cref="ScoreSource.LastTrainingLoss"/> never calls a score stale).
/// </summary>
/// <remarks>
/// A score is used without re-scoring while it is younger than <see cref="MaxAgeEpochs"/> epochs and has been used
/// fewer than <see cref="MaxVisits"/> times since it was computed. Unseen ids are always scored. On a model that does
/// not couple samples the kept samples' scores are refreshed on every step by the training forward pass at no extra
/// cost (on one that does, the training forward's batch statistics differ from the scoring pass's, so only scoring
/// passes are remembered), so staleness mostly affects the samples that were dropped: their score can be up to <see cref="MaxAgeEpochs"/> epochs old, which is what
/// Selective-Backprop's stale variant accepts for its speed-up.
/// </remarks>
public sealed record CachePolicy
{
    private readonly int maxAgeEpochs = 3;
    private readonly int maxVisits = int.MaxValue;

    /// <summary>A score older than this many epochs is recomputed. Default 3; 1 re-scores every epoch.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Less than 1.</exception>
    public int MaxAgeEpochs
    {
        get => maxAgeEpochs;
        init => maxAgeEpochs = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(MaxAgeEpochs), value, "MaxAgeEpochs must be at least 1.");
    }

    /// <summary>A score used this many times is recomputed. Default: no limit.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Less than 1.</exception>
    public int MaxVisits
    {
        get => maxVisits;
        init => maxVisits = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(MaxVisits), value, "MaxVisits must be at least 1.");
    }
}
