using System;
using System.Collections.Generic;

namespace SelectiveLoss.Training;

/// <summary>How a <see cref="SelectiveStep"/> trains a selection: at once (<see cref="DirectTraining"/>), or by
/// accumulating full batches first (<see cref="AccumulatingTraining"/>, a decorator).</summary>
internal interface IBatchTraining : IDisposable
{
    /// <summary>Gets how many kept samples wait for a full batch.</summary>
    int PendingCount { get; }

    /// <summary>Gets the kept samples waiting for a full batch, for saving.</summary>
    IReadOnlyList<PendingSamples> Pending { get; }

    /// <summary>Trains the selection (or sets it aside).</summary>
    TrainingOutcome Train(SelectedBatch batch);

    /// <summary>Trains whatever waits; null when nothing does.</summary>
    TrainingOutcome? Flush();

    /// <summary>Puts the waiting samples back as they were before the last <see cref="Train"/> (a failed step).</summary>
    void Rollback();

    /// <summary>Replaces the waiting samples with loaded ones (taking ownership).</summary>
    void Restore(IReadOnlyList<PendingSamples> pending);
}
