using System.Collections.Generic;
using System.IO;
using System.Linq;
using SelectiveLoss.Selection;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Cifar100Training;

/// <summary>
/// InfoBatch as published: the <see cref="InfoBatchSampler"/> plans each epoch (pruned samples are not in any batch, so
/// they are never read), and every kept batch trains whole with the sampler's weighted mean loss.
/// </summary>
internal sealed class InfoBatchDriver(Module<Tensor, Tensor> model, optim.Optimizer optimizer, InfoBatchSampler sampler) : IRunDriver
{
    public IReadOnlyList<string> Diagnostics => System.Array.Empty<string>();

    public bool HasState => true;

    /// <summary>The sampler's plan; the trainer's permutation is not used (the sampler shuffles with its own seed).</summary>
    public IReadOnlyList<int[]> Batches(int epoch, int[] shuffled) =>
        sampler.Epoch(epoch).Batches.Select(b => b.Select(i => (int)i).ToArray()).ToList();

    public BatchOutcome Train(Tensor x, Tensor y, int[] ids)
    {
        model.train();
        Tensor perSample = functional.cross_entropy(model.forward(x), y, reduction: Reduction.None);
        Tensor loss = sampler.Loss(tensor(ids.Select(i => (long)i).ToArray()), perSample);
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
        return new BatchOutcome(ids, null, loss.detach().DetachFromDisposeScope());
    }

    public BatchOutcome? Finish() => null;

    public void Save(Stream stream) => sampler.Save(stream);

    public void Load(Stream stream) => sampler.Load(stream);

    public void Dispose()
    {
    }
}
