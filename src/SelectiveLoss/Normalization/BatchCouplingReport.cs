using System.Collections.Generic;

namespace SelectiveLoss.Normalization;

/// <summary>The result of <see cref="BatchCoupling.Probe"/>: whether perturbing one sample changed the others.</summary>
/// <param name="Training">Whether the model was in training mode during the probe (the mode decides BatchNorm's coupling).</param>
/// <param name="PerturbedSample">The index of the perturbed sample.</param>
/// <param name="PerturbedSampleChange">The largest absolute change of the perturbed sample's own output. Near 0 means the
/// perturbation did not reach the output and the probe cannot conclude anything (see <see cref="Conclusive"/>).</param>
/// <param name="MaxOtherSampleChange">The largest absolute change of any other sample's output; 0 for a model whose
/// samples are independent.</param>
/// <param name="ChangedSamples">The indices of the other samples whose output changed by more than the tolerance.</param>
/// <param name="MaxOtherSampleInputGradient">With <see cref="BatchCouplingProbeOptions.IncludeInputGradients"/>: the
/// largest absolute gradient of the perturbed sample's summed output with respect to any other sample's input (how
/// much gradient a sample you did not select still receives); otherwise <see langword="null"/>.</param>
/// <param name="Threshold">The absolute change above which a sample counted as changed.</param>
public sealed record BatchCouplingReport(
    bool Training,
    int PerturbedSample,
    double PerturbedSampleChange,
    double MaxOtherSampleChange,
    IReadOnlyList<int> ChangedSamples,
    double? MaxOtherSampleInputGradient,
    double Threshold)
{
    /// <summary>
    /// Gets a value indicating whether the samples are coupled: another sample's output changed, or (when measured) it
    /// received input gradient from the perturbed sample's output, beyond the threshold.
    /// </summary>
    public bool IsCoupled => ChangedSamples.Count > 0 || MaxOtherSampleInputGradient > Threshold;

    /// <summary>Gets a value indicating whether the perturbation changed the perturbed sample's own output, so that an
    /// "independent" verdict means something.</summary>
    public bool Conclusive => PerturbedSampleChange > Threshold;
}
