using SelectiveLoss.Selection;

namespace SelectiveLoss.Training;

/// <summary>Which samples a <see cref="SelectiveStep"/> keeps.</summary>
public enum SubsetRule
{
    /// <summary>The samples the <see cref="SelectiveLossReducer"/> ranks by per-sample loss (the method).</summary>
    LossRanked = 0,

    /// <summary>
    /// A uniformly random subset of the same size, with no scoring pass: the control that every loss-based selection
    /// should be compared with at the same keep ratio.
    /// </summary>
    Random = 1,
}
