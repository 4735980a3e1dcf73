using System.Collections.Generic;

namespace SelectiveLoss.Normalization;

/// <summary>The result of <see cref="BatchCoupling.Probe"/>: whether perturbing one sample changed the others.</summary>
public sealed record BatchCouplingReport
{
    /// <summary>Gets a value indicating whether the model was in training mode during the probe (the mode decides
    /// BatchNorm's coupling).</summary>
    public required bool Training { get; init; }

    /// <summary>Gets the index of the perturbed sample.</summary>
    public required int PerturbedSample { get; init; }

    /// <summary>Gets the largest absolute change of the perturbed sample's own output. Near 0 means the perturbation
    /// did not reach the output and the probe cannot conclude anything (see <see cref="Conclusive"/>).</summary>
    public required double PerturbedSampleChange { get; init; }

    /// <summary>Gets the largest absolute change of any other sample's output; 0 for a model whose samples are
    /// independent.</summary>
    public required double MaxOtherSampleChange { get; init; }

    /// <summary>Gets the indices of the other samples whose output changed by more than the threshold.</summary>
    public required IReadOnlyList<int> ChangedSamples { get; init; }

    /// <summary>Gets, with <see cref="BatchCouplingProbeOptions.IncludeInputGradients"/>, the largest absolute gradient
    /// of the perturbed sample's summed output with respect to any other sample's input (how much gradient a sample you
    /// did not select still receives); otherwise <see langword="null"/>.</summary>
    public double? MaxOtherSampleInputGradient { get; init; }

    /// <summary>Gets the absolute change above which a sample counted as changed.</summary>
    public required double Threshold { get; init; }

    /// <summary>
    /// Gets a value indicating whether the samples are coupled: another sample's output changed, or (when measured) it
    /// received input gradient from the perturbed sample's output, beyond the threshold.
    /// </summary>
    public bool IsCoupled => ChangedSamples.Count > 0 || MaxOtherSampleInputGradient > Threshold;

    /// <summary>Gets a value indicating whether the perturbation changed the perturbed sample's own output, so that an
    /// "independent" verdict means something.</summary>
    public bool Conclusive => PerturbedSampleChange > Threshold;
}
