using System;
using static TorchSharp.torch;

namespace SelectiveLoss.Training;

/// <summary>
/// The part of a batch a <see cref="BatchSelector"/> chose: the kept samples as a smaller batch to train on, with their
/// weights and dataset ids. Train on <see cref="Input"/> and <see cref="Target"/>, then pass the per-sample losses to
/// <see cref="BatchSelector.Loss"/> for the loss to backpropagate.
/// </summary>
/// <remarks>The tensors belong to the dispose scope <see cref="BatchSelector.Select"/> was called in.</remarks>
public sealed class SelectedBatch
{
    internal SelectedBatch(Tensor positions, Tensor input, Tensor target, Tensor? weights, Tensor? sampleIds, long batchSize,
        double? keepRatio, long scoredSamples, bool isExact, TimeSpan scoringTime)
    {
        Positions = positions;
        Input = input;
        Target = target;
        Weights = weights;
        SampleIds = sampleIds;
        BatchSize = batchSize;
        KeptCount = (int)positions.shape[0];
        KeepRatio = keepRatio;
        ScoredSamples = scoredSamples;
        IsExact = isExact;
        ScoringTime = scoringTime;
    }

    /// <summary>Gets the kept positions in the batch: 1-D int64, ascending, on the batch's device.</summary>
    public Tensor Positions { get; }

    /// <summary>Gets the kept samples' input, in the order of <see cref="Positions"/>.</summary>
    public Tensor Input { get; }

    /// <summary>Gets the kept samples' targets, in the order of <see cref="Positions"/>.</summary>
    public Tensor Target { get; }

    /// <summary>Gets each kept sample's loss weight (float64), or null for weight 1 everywhere. <see cref="BatchSelector.Loss"/>
    /// applies them; read them only to weigh a loss of your own.</summary>
    public Tensor? Weights { get; }

    /// <summary>Gets the kept samples' dataset ids (from the <c>sampleIds</c> given to <see cref="BatchSelector.Select"/>),
    /// or null when none were given.</summary>
    public Tensor? SampleIds { get; }

    /// <summary>Gets the number of samples in the batch the selection was made from.</summary>
    public long BatchSize { get; }

    /// <summary>Gets the number of kept samples (no device copy needed).</summary>
    public int KeptCount { get; }

    /// <summary>Gets the share of the batch that was kept: <see cref="KeptCount"/> / <see cref="BatchSize"/>.</summary>
    public double KeptShare => (double)KeptCount / BatchSize;

    /// <summary>Gets the keep ratio the rule meant for this batch (its schedule applied), or null for rules whose kept
    /// share varies (see <see cref="BatchSelector.KeepRatio"/>).</summary>
    public double? KeepRatio { get; }

    /// <summary>Gets how many samples a scoring forward pass ran over (0 when none ran).</summary>
    public long ScoredSamples { get; }

    /// <summary>Gets a value indicating whether training the kept samples as a batch gives exactly the masked loss's
    /// update with fresh scores: false on a model that couples samples (BatchNorm) or with remembered scores.</summary>
    public bool IsExact { get; }

    /// <summary>Gets the wall time of scoring and selection (on a GPU, the time to queue the work unless something
    /// waited for it).</summary>
    public TimeSpan ScoringTime { get; }
}
