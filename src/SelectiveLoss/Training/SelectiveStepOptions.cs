namespace SelectiveLoss.Training;

/// <summary>The choices of a <see cref="SelectiveStep"/>: those of its <see cref="BatchSelector"/>, and how the update
/// runs.</summary>
public sealed record SelectiveStepOptions : BatchSelectorOptions
{
    /// <summary>Gets how the update runs; <see cref="StepExecution.Rebatched"/> by default.</summary>
    public StepExecution Execution { get; init; } = StepExecution.Rebatched;

    /// <summary>
    /// Gets the batch size to accumulate kept samples to before training, for rules whose kept share varies
    /// (Selective-Backprop, InfoBatch), as the Selective-Backprop paper does: a step that selects fewer keeps them, and
    /// trains only once this many are waiting, so every update sees the same batch size (<see cref="StepResult.Updated"/>
    /// says whether one ran). Null (the default) trains on each batch's selection at once. Needs
    /// <see cref="StepExecution.Rebatched"/>.
    /// </summary>
    public int? AccumulateToBatchSize { get; init; }
}
