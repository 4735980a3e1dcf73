namespace SelectiveLoss.Training;

/// <summary>Where a <see cref="SelectiveStep"/> gets the per-sample scores its <see cref="Selection.ISelectionRule"/> ranks.</summary>
public enum ScoreSource
{
    /// <summary>
    /// A fresh forward pass over the whole batch without gradients (in <see cref="StepExecution.Masked"/>, the training
    /// forward itself). Exact, and it costs a scoring pass: about a quarter of a training step on DenseNet-121.
    /// </summary>
    Fresh = 0,

    /// <summary>
    /// Scores remembered by dataset id (<c>sampleIds</c>) and reused while <see cref="CachePolicy"/> calls them fresh;
    /// unseen or stale samples are scored by a forward pass over those samples only, and the kept samples' scores are
    /// refreshed by the training forward for free (after Selective-Backprop's stale variant).
    /// </summary>
    Cached = 1,

    /// <summary>
    /// Each sample's own loss from the last training forward it took part in (InfoBatch): no scoring pass at all.
    /// Samples without a remembered loss are always kept, so they get one. Needs <c>sampleIds</c>.
    /// </summary>
    LastTrainingLoss = 2,
}
