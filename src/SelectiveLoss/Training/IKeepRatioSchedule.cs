namespace SelectiveLoss.Training;

/// <summary>The share of each batch to keep, as a function of the epoch.</summary>
/// <remarks>Implementations must return a value in (0, 1] for every epoch from 0 up; <see cref="SelectiveStep"/>
/// checks it and throws if not.</remarks>
public interface IKeepRatioSchedule
{
    /// <summary>The keep ratio for an epoch.</summary>
    /// <param name="epoch">The zero-based epoch, as set on <see cref="SelectiveStep.Epoch"/>.</param>
    /// <returns>A ratio in (0, 1].</returns>
    double KeepRatioAt(int epoch);
}
