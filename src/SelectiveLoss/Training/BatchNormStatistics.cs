namespace SelectiveLoss.Training;

/// <summary>
/// Which samples a BatchNorm's running statistics (used at evaluation) are estimated from, when a
/// <see cref="StepExecution.Rebatched"/> step trains a model that couples samples.
/// </summary>
public enum BatchNormStatistics
{
    /// <summary>
    /// The whole batch, as a full step would: the fresh scoring pass runs in training mode (no gradients), which updates
    /// the running statistics from every sample, and the subset forward leaves them as they were (after MosaicML
    /// Composer's Selective-Backprop). Without a fresh scoring pass (cached or last-training-loss scores, the random
    /// rule) the trained samples are all the step sees, so they update the statistics.
    /// </summary>
    WholeBatch = 0,

    /// <summary>
    /// The trained samples only: scoring runs in eval mode and the subset forward updates the running statistics (the
    /// Selective-Backprop paper's choice). With loss-ranked rules the statistics then describe the kept (easy) samples,
    /// which can hurt evaluation accuracy badly.
    /// </summary>
    TrainedSamples = 1,
}
