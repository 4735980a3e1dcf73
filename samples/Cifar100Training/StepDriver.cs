using System.Collections.Generic;
using System.IO;
using System.Linq;
using SelectiveLoss.Training;
using static TorchSharp.torch;

namespace Cifar100Training;

/// <summary>A selecting run: one <see cref="SelectiveStep"/> for the whole run (its rule, scores and execution),
/// checkpointed with <see cref="SelectiveStep.Save"/>.</summary>
internal sealed class StepDriver(SelectiveStep step, int batchSize) : IRunDriver
{
    public IReadOnlyList<string> Diagnostics => step.Diagnostics;

    public bool HasState => true;

    public IReadOnlyList<int[]> Batches(int epoch, int[] shuffled)
    {
        step.Epoch = epoch;
        return FullDriver.Chunks(shuffled, batchSize);
    }

    public BatchOutcome Train(Tensor x, Tensor y, int[] ids)
    {
        // Sample ids are dataset indices: cached scores and the last training losses remember them across epochs.
        Tensor sampleIds = tensor(ids.Select(i => (long)i).ToArray()).to(x.device);
        return new BatchOutcome(ids, step.Step(x, y, sampleIds), null);
    }

    /// <summary>With --accumulate, kept samples short of a full batch still wait at the end: they train here.</summary>
    public BatchOutcome? Finish() => step.Flush() is { } flushed ? new BatchOutcome(System.Array.Empty<int>(), flushed, null) : null;

    public void Save(Stream stream) => step.Save(stream);

    public void Load(Stream stream) => step.Load(stream);

    public void Dispose() => step.Dispose();
}
