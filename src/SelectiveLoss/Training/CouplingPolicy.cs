namespace SelectiveLoss.Training;

/// <summary>What a <see cref="SelectiveStep"/> does with a model whose modules couple the samples of a batch.</summary>
public enum CouplingPolicy
{
    /// <summary>
    /// Train anyway, report once through <see cref="SelectiveStep.Diagnostics"/> and mark every
    /// <see cref="StepResult"/> as not exact. Scoring runs in eval mode, so BatchNorm's running statistics are updated
    /// once per step (by the training forward), not twice.
    /// </summary>
    Warn = 0,

    /// <summary>Refuse the model at construction, naming the coupling modules and the fix.</summary>
    Refuse = 1,
}
