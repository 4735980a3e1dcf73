namespace SelectiveLoss.Normalization;

/// <summary>How <see cref="BatchCoupling.Probe"/> perturbs a sample and decides whether others changed.</summary>
public sealed record BatchCouplingProbeOptions
{
    /// <summary>Gets the index of the sample to perturb; 0 unless set. Must be inside the batch.</summary>
    public int PerturbedSample { get; init; }

    /// <summary>
    /// Gets the size of the perturbation, relative to the perturbed sample's standard deviation (or absolute, when that
    /// is 0): Gaussian noise of this scale is added to the sample. 1 unless set; must be positive and finite.
    /// </summary>
    public double Scale { get; init; } = 1.0;

    /// <summary>
    /// Gets the tolerance: another sample counts as changed when its output moved by more than
    /// <c>Tolerance × max(1, largest |output|)</c>. 1e-6 unless set (float32 noise is far below); must be non-negative.
    /// </summary>
    public double Tolerance { get; init; } = 1e-6;

    /// <summary>
    /// Gets a value indicating whether the probe also measures the input gradient that the other samples receive from
    /// the perturbed sample's output (one extra forward and backward pass). <see langword="false"/> unless set.
    /// </summary>
    public bool IncludeInputGradients { get; init; }

    /// <summary>Gets the seed of the perturbation noise, so a probe is repeatable; 0 unless set.</summary>
    public long Seed { get; init; }
}
