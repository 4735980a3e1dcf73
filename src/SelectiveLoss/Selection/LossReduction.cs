namespace SelectiveLoss.Selection;

/// <summary>How a <see cref="SelectiveLossReducer"/> folds the kept per-sample losses into one scalar.</summary>
public enum LossReduction
{
    /// <summary>The mean over the kept samples: each kept sample's gradient is scaled by 1/k.</summary>
    Mean = 0,

    /// <summary>The sum over the kept samples: each kept sample's gradient is 1.</summary>
    Sum = 1,
}
