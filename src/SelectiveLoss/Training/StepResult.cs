using System;
using TorchSharp;
using static TorchSharp.torch;

namespace SelectiveLoss.Training;

/// <summary>What one <see cref="SelectiveStep.Step"/> did.</summary>
/// <remarks>
/// <see cref="Loss"/> and <see cref="KeptIndices"/> are copied from the device when first read, not by the step, so
/// a training loop that does not read them every step never waits for the GPU. Until then the result holds two small
/// tensors (a scalar and the kept positions), released when read or when the result is garbage-collected.
/// </remarks>
public sealed class StepResult
{
    private readonly object gate = new();
    private Tensor? lossTensor;
    private Tensor? keptTensor;
    private double loss;
    private long[]? keptIndices;

    internal StepResult(Tensor? loss, Tensor kept)
    {
        lossTensor = loss?.detach().DetachFromDisposeScope();
        keptTensor = kept.DetachFromDisposeScope();
        KeptCount = (int)kept.shape[0];
        this.loss = double.NaN;
    }

    /// <summary>Gets the reduced loss that was backpropagated (weighted mean or sum over the trained samples); NaN when
    /// no update ran (<see cref="Updated"/> is false). Read from the device on first access.</summary>
    public double Loss
    {
        get
        {
            lock (gate)
            {
                if (lossTensor is not null)
                {
                    loss = lossTensor.ToDouble();
                    lossTensor.Dispose();
                    lossTensor = null;
                }

                return loss;
            }
        }
    }

    /// <summary>Gets the positions in this batch of the samples the rule kept, ascending. With
    /// <see cref="SelectiveStepOptions.AccumulateToBatchSize"/> they may be trained in a later step. Read from the
    /// device on first access.</summary>
    public long[] KeptIndices
    {
        get
        {
            lock (gate)
            {
                if (keptIndices is null)
                {
                    using (var scope = NewDisposeScope())
                    {
                        keptIndices = keptTensor!.to(ScalarType.Int64).cpu().data<long>().ToArray();
                    }

                    keptTensor.Dispose();
                    keptTensor = null;
                }

                return keptIndices;
            }
        }
    }

    /// <summary>Gets the number of samples of this batch the rule kept (no device copy needed).</summary>
    public int KeptCount { get; }

    /// <summary>Gets the share of this batch the rule kept: <see cref="KeptCount"/> / <see cref="BatchSize"/>.</summary>
    public double KeptShare => (double)KeptCount / BatchSize;

    /// <summary>Gets the number of samples in the batch.</summary>
    public long BatchSize { get; internal init; }

    /// <summary>Gets the keep ratio the rule meant (from its schedule, if any); null for rules whose kept share varies.</summary>
    public double? KeepRatio { get; internal init; }

    /// <summary>Gets the rule's name.</summary>
    public string Rule { get; internal init; } = string.Empty;

    /// <summary>Gets where the scores came from.</summary>
    public ScoreSource Scores { get; internal init; }

    /// <summary>Gets how the update ran.</summary>
    public StepExecution Execution { get; internal init; }

    /// <summary>Gets how many samples a scoring forward pass ran over (0 when none ran).</summary>
    public long ScoredSamples { get; internal init; }

    /// <summary>Gets a value indicating whether a parameter update ran: false when kept samples were set aside to
    /// accumulate a full batch (<see cref="SelectiveStepOptions.AccumulateToBatchSize"/>).</summary>
    public bool Updated { get; internal init; }

    /// <summary>Gets the number of samples the update trained on: this batch's kept samples, or an accumulated batch;
    /// 0 when no update ran.</summary>
    public int TrainedCount { get; internal init; }

    /// <summary>Gets a value indicating whether the update equals <see cref="StepExecution.Masked"/>'s with fresh
    /// scores, up to round-off: false on a model that couples samples, with remembered scores, or with an accumulated
    /// batch.</summary>
    public bool IsExact { get; internal init; }

    /// <summary>Gets the wall time of scoring and selection. On a GPU this is the time to queue the work unless
    /// something waited for it.</summary>
    public TimeSpan ScoringTime { get; internal init; }

    /// <summary>Gets the wall time of the training forward, backward and optimiser step (same caveat).</summary>
    public TimeSpan TrainingTime { get; internal init; }
}
