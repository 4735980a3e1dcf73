using System;
using System.Linq;
using SelectiveLoss.Selection;
using SelectiveLoss.Training;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SelectiveLoss.Benchmarks;

/// <summary>
/// Whole epochs over a small generated CIFAR-shaped data set held as one tensor, so InfoBatch's two forms can be timed
/// the way they save time: per epoch. Every batch is built by <c>index_select</c> from the data tensor (the data-loading
/// cost of a real loop, paid only for the samples a batch holds).
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><c>full_epoch</c>: the baseline; every sample once, shuffled, in batches, each a plain step.</item>
/// <item><c>infobatch_sampler</c>: <see cref="InfoBatchSampler"/>; the epoch is planned once, only the kept ids are
/// loaded, each batch trains with <see cref="InfoBatchSampler.Loss"/>.</item>
/// <item><c>infobatch_per_batch</c>: <see cref="SelectionRules.InfoBatch"/> in a <see cref="SelectiveStep"/> (last
/// training losses, no scoring pass): every full batch is loaded, the rule prunes inside each batch.</item>
/// </list>
/// Steady state is what is timed: after the warm-up round every sample has a score, so both InfoBatch forms prune.
/// The run is long enough never to reach InfoBatch's annealing epochs.
/// </remarks>
internal sealed class EpochCases : IDisposable
{
    public static readonly string[] Strategies = { "full_epoch", "infobatch_sampler", "infobatch_per_batch" };

    // Far more epochs than a benchmark runs: annealing (every sample trained) starts at 0.875 of them.
    private const int TotalEpochs = 1_000_000;

    private readonly Module<Tensor, Tensor> model;
    private readonly optim.Optimizer optimizer;
    private readonly Action<Tensor, Tensor> trainOn;
    private readonly int batch;
    private readonly long size;
    private readonly Tensor data;
    private readonly Tensor targets;
    private readonly Generator shuffle;
    private readonly InfoBatchSampler sampler;
    private readonly SelectiveStep perBatch;
    private int samplerEpoch;
    private int perBatchEpoch;

    /// <summary>Generates the data set (seed 1) and builds both InfoBatch forms on the model.</summary>
    /// <param name="model">The model every case trains.</param>
    /// <param name="optimizer">Its optimiser.</param>
    /// <param name="trainOn">A plain step: forward, mean cross-entropy, backward, optimiser step.</param>
    /// <param name="batch">The batch size.</param>
    /// <param name="batches">How many batches of <paramref name="batch"/> the data set holds.</param>
    public EpochCases(Module<Tensor, Tensor> model, optim.Optimizer optimizer, Action<Tensor, Tensor> trainOn, int batch, int batches)
    {
        this.model = model;
        this.optimizer = optimizer;
        this.trainOn = trainOn;
        this.batch = batch;
        size = (long)batch * batches;
        using (var scope = NewDisposeScope())
        {
            using var generator = new Generator(1, CPU);
            data = randn(new[] { size, 3, 32, 32 }, generator: generator).DetachFromDisposeScope();
            targets = randint(0, 100, new[] { size }, generator: generator).DetachFromDisposeScope();
        }

        shuffle = new Generator(2, CPU);
        sampler = new InfoBatchSampler(size, TotalEpochs, batch);
        perBatch = new SelectiveStep(model, optimizer, SelectionRules.InfoBatch(),
            new SelectiveStepOptions { TotalEpochs = TotalEpochs, DatasetSize = size });
    }

    /// <summary>Runs one epoch of a strategy (or only its first batch, as the untimed run before a timed one).</summary>
    /// <returns>Whether it did what the strategy promises (the InfoBatch forms: pruned, without a scoring pass), and the
    /// share of the data set it trained.</returns>
    public (bool AsPromised, double TrainedShare) Run(string strategy, bool firstBatchOnly)
    {
        using var scope = NewDisposeScope();
        switch (strategy)
        {
            case "full_epoch":
                {
                    Tensor order = randperm(size, generator: shuffle);
                    for (long from = 0; from < size; from += batch)
                    {
                        using var batchScope = NewDisposeScope();
                        Tensor ids = order.narrow(0, from, Math.Min(batch, size - from));
                        trainOn(data.index_select(0, ids), targets.index_select(0, ids));
                        if (firstBatchOnly)
                        {
                            break;
                        }
                    }

                    return (true, 1.0);
                }

            case "infobatch_sampler":
                {
                    // The published form: the epoch is planned once from the scores; pruned samples are never loaded.
                    InfoBatchEpoch plan = sampler.Epoch(samplerEpoch++);
                    foreach (long[] batchIds in plan.Batches)
                    {
                        using var batchScope = NewDisposeScope();
                        Tensor ids = tensor(batchIds);
                        model.train();
                        var perSample = functional.cross_entropy(model.forward(data.index_select(0, ids)), targets.index_select(0, ids), reduction: Reduction.None);
                        Tensor loss = sampler.Loss(ids, perSample);
                        optimizer.zero_grad();
                        loss.backward();
                        optimizer.step();
                        _ = loss.item<float>();
                        if (firstBatchOnly)
                        {
                            break;
                        }
                    }

                    return (plan.Prunes && plan.PrunedCount > 0, plan.KeptShare);
                }

            case "infobatch_per_batch":
                {
                    // The rule inside a step: every full batch is loaded, the rule prunes within it.
                    perBatch.Epoch = perBatchEpoch++;
                    Tensor order = randperm(size, generator: shuffle);
                    long kept = 0;
                    long scored = 0;
                    long seen = 0;
                    for (long from = 0; from < size; from += batch)
                    {
                        using var batchScope = NewDisposeScope();
                        Tensor ids = order.narrow(0, from, Math.Min(batch, size - from));
                        StepResult result = perBatch.Step(data.index_select(0, ids), targets.index_select(0, ids), ids);
                        kept += result.KeptCount;
                        scored += result.ScoredSamples;
                        seen += ids.shape[0];
                        if (firstBatchOnly)
                        {
                            break;
                        }
                    }

                    return (scored == 0 && kept < seen, (double)kept / seen);
                }

            default:
                throw new ArgumentException($"Unknown epoch strategy '{strategy}' (one of {string.Join(", ", Strategies)}).", nameof(strategy));
        }
    }

    public void Dispose()
    {
        perBatch.Dispose();
        shuffle.Dispose();
        data.Dispose();
        targets.Dispose();
    }

    /// <summary>Whether a strategy is one of the epoch cases.</summary>
    public static bool Has(string strategy) => Strategies.Contains(strategy);
}
