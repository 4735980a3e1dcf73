namespace SelectiveLoss.Training;

/// <summary>How a <see cref="SelectiveStep"/> turns the kept samples (and their weights) into a parameter update.</summary>
public enum StepExecution
{
    /// <summary>
    /// The reference: one forward pass with gradients over the whole batch, the weighted loss of the kept samples,
    /// backward, optimiser step. It saves nothing (backward still runs over every sample and computes zeros for the
    /// dropped ones) and is what <see cref="Rebatched"/> is checked against.
    /// </summary>
    Masked = 0,

    /// <summary>
    /// Forward and backward on the kept samples only, as a smaller batch. Without batch coupling its update equals
    /// <see cref="Masked"/>'s up to floating-point round-off; with BatchNorm in training mode it does not (the kept
    /// samples are normalised with their own statistics).
    /// </summary>
    Rebatched = 1,
}
