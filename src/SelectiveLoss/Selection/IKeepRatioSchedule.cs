using SelectiveLoss.Training;

namespace SelectiveLoss.Selection;

/// <summary>
/// The share of each batch to keep, by epoch, relative to a rule's own keep ratio (see
/// <see cref="SelectionRules.Scheduled"/>): the rule's ratio is the one source of the target, the schedule says how
/// to get there.
/// </summary>
/// <remarks>Implementations must return a value in (0, 1] for every epoch from 0 up; <see cref="SelectiveStep"/>
/// checks it and refuses, naming the rule, before any parameter changes.</remarks>
public interface IKeepRatioSchedule
{
    /// <summary>The keep ratio for an epoch.</summary>
    /// <param name="epoch">The zero-based epoch, as set on <see cref="SelectiveStep.Epoch"/>.</param>
    /// <param name="keepRatio">The rule's keep ratio: the target.</param>
    /// <returns>A ratio in (0, 1].</returns>
    double KeepRatioAt(int epoch, double keepRatio);
}
