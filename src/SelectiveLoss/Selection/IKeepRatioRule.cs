namespace SelectiveLoss.Selection;

/// <summary>
/// A selection rule that keeps a fixed share of each batch, so that a schedule can change that share by epoch (see
/// <see cref="SelectionRules.Scheduled"/>).
/// </summary>
public interface IKeepRatioRule : ISelectionRule
{
    /// <summary>Gets the share of each batch the rule keeps, in (0, 1].</summary>
    double KeepRatio { get; }

    /// <summary>Chooses the samples to train on, keeping <paramref name="keepRatio"/> of the batch instead of
    /// <see cref="KeepRatio"/>.</summary>
    /// <param name="context">The batch's scores, its size, the epoch and step, and the step's random generator.</param>
    /// <param name="keepRatio">The share to keep, in (0, 1].</param>
    /// <returns>The kept positions and their weights.</returns>
    SampleSelection Choose(SelectionContext context, double keepRatio);
}
