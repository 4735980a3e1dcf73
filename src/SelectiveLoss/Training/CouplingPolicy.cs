namespace SelectiveLoss.Training;

/// <summary>What a <see cref="SelectiveStep"/> does with a model whose modules couple the samples of a batch.</summary>
public enum CouplingPolicy
{
    /// <summary>
    /// Train anyway, report once through <see cref="SelectiveStep.Diagnostics"/> and mark every rebatched
    /// <see cref="StepResult"/> as not exact. <see cref="BatchSelectorOptions.BatchNormStatistics"/> says which samples
    /// the running statistics are estimated from.
    /// </summary>
    Warn = 0,

    /// <summary>Refuse the model at construction, naming the coupling modules and the fix.</summary>
    Refuse = 1,
}
