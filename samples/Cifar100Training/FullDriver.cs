using System;
using System.Collections.Generic;
using System.IO;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Cifar100Training;

/// <summary>The baseline: every sample of every batch, a plain step (forward, mean cross-entropy, backward, SGD).</summary>
internal sealed class FullDriver(Module<Tensor, Tensor> model, optim.Optimizer optimizer, int batchSize) : IRunDriver
{
    public IReadOnlyList<string> Diagnostics => Array.Empty<string>();

    public bool HasState => false;

    public IReadOnlyList<int[]> Batches(int epoch, int[] shuffled) => Chunks(shuffled, batchSize);

    public BatchOutcome Train(Tensor x, Tensor y, int[] ids)
    {
        model.train();
        optimizer.zero_grad();
        Tensor loss = functional.cross_entropy(model.forward(x), y);
        loss.backward();
        optimizer.step();
        return new BatchOutcome(ids, null, loss.detach().DetachFromDisposeScope());
    }

    public BatchOutcome? Finish() => null;

    public void Save(Stream stream)
    {
    }

    public void Load(Stream stream)
    {
    }

    public void Dispose()
    {
    }

    /// <summary>Consecutive batches of <paramref name="size"/> (the last may be smaller).</summary>
    public static IReadOnlyList<int[]> Chunks(int[] order, int size)
    {
        var batches = new List<int[]>((order.Length + size - 1) / size);
        for (int from = 0; from < order.Length; from += size)
        {
            batches.Add(order.AsSpan(from, Math.Min(size, order.Length - from)).ToArray());
        }

        return batches;
    }
}
