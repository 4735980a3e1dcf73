using System;
using System.Collections.Generic;
using System.IO;
using static TorchSharp.torch;

namespace Cifar100Training;

/// <summary>
/// How a run trains: which batches an epoch has, and how one batch updates the model. Three kinds: every sample
/// (<see cref="FullDriver"/>), a <see cref="SelectiveLoss.Training.SelectiveStep"/> (<see cref="StepDriver"/>), and
/// InfoBatch's sampler (<see cref="InfoBatchDriver"/>), which leaves pruned samples out of the epoch.
/// </summary>
internal interface IRunDriver : IDisposable
{
    /// <summary>Gets the messages the driver's step has about exactness, each once.</summary>
    IReadOnlyList<string> Diagnostics { get; }

    /// <summary>Gets a value indicating whether the driver has selection state to checkpoint.</summary>
    bool HasState { get; }

    /// <summary>The epoch's batches of dataset indices, in training order; <paramref name="shuffled"/> is the epoch's
    /// permutation of the whole training set.</summary>
    IReadOnlyList<int[]> Batches(int epoch, int[] shuffled);

    /// <summary>Trains one batch (nothing is read from the device).</summary>
    BatchOutcome Train(Tensor x, Tensor y, int[] ids);

    /// <summary>At the end of the last epoch: trains whatever waits for a full batch; null when nothing does.</summary>
    BatchOutcome? Finish();

    void Save(Stream stream);

    void Load(Stream stream);
}
