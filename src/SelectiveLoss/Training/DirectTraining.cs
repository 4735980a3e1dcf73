using System;
using System.Collections.Generic;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SelectiveLoss.Training;

/// <summary>Trains a selection at once: forward on the kept samples, the selector's loss, backward, optimiser step.
/// The loop a caller of <see cref="BatchSelector"/> writes, written once.</summary>
internal sealed class DirectTraining(Module<Tensor, Tensor> model, Updater updater, BatchSelector selector) : IBatchTraining
{
    public int PendingCount => 0;

    public IReadOnlyList<PendingSamples> Pending => Array.Empty<PendingSamples>();

    public TrainingOutcome Train(SelectedBatch batch)
    {
        model.train();
        Tensor perSample = selector.LossFunction.PerSample(model.forward(batch.Input), batch.Target, batch.KeptCount);
        Tensor loss = selector.LossCheckedByTheUpdate(batch, perSample);
        updater.Run(loss);
        return new TrainingOutcome(loss, batch.KeptCount, Accumulated: false);
    }

    public TrainingOutcome? Flush() => null;

    public void Restore(IReadOnlyList<PendingSamples> pending)
    {
        if (pending.Count > 0)
        {
            throw new System.IO.InvalidDataException("The saved step holds samples waiting for a full batch, but this step does not accumulate.");
        }
    }

    public void Rollback()
    {
    }

    public void Dispose()
    {
    }
}
