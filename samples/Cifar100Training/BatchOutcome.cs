using System;
using SelectiveLoss.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Cifar100Training;

/// <summary>
/// What training one batch did, read from the device only when an evaluation closes its window (so the loop never
/// waits for the device per step): the loss (a step's <see cref="StepResult"/>, or a detached scalar), how many samples
/// the update trained and how many of the batch were kept.
/// </summary>
internal sealed class BatchOutcome : IDisposable
{
    private readonly Tensor? loss;

    /// <param name="ids">The batch's dataset indices.</param>
    /// <param name="step">A selecting step's result, or null.</param>
    /// <param name="loss">A plain update's mean loss (detached from any dispose scope; this outcome disposes it), or null.</param>
    public BatchOutcome(int[] ids, StepResult? step, Tensor? loss)
    {
        Ids = ids;
        Step = step;
        this.loss = loss;
    }

    public int[] Ids { get; }

    public StepResult? Step { get; }

    /// <summary>Gets how many samples the update trained (0 when a step set its samples aside).</summary>
    public int Trained => Step is { } s ? (s.Updated ? s.TrainedCount : 0) : Ids.Length;

    /// <summary>Gets how many of the batch's samples were kept.</summary>
    public int Kept => Step?.KeptCount ?? Ids.Length;

    /// <summary>The mean loss of the update times the samples it trained (a device read); 0 when nothing trained.</summary>
    public double LossSum() => Step is { } s ? (s.Updated ? s.Loss * s.TrainedCount : 0) : loss!.ToDouble() * Ids.Length;

    /// <summary>The dataset indices of the kept samples (a device read for a selecting step).</summary>
    public int[] KeptIds() => Step is { } s ? Array.ConvertAll(s.KeptIndices, p => Ids[p]) : Ids;

    public void Dispose() => loss?.Dispose();
}
