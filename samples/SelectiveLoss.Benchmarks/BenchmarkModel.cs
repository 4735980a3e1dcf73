using System;
using System.Collections.Generic;
using SelectiveLoss.Models;
using SelectiveLoss.Selection;
using SelectiveLoss.Training;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SelectiveLoss.Benchmarks;

/// <summary>One CIFAR DenseNet-121 with its optimiser and a generated batch, the step of each strategy on it, and the
/// whole-epoch cases (<see cref="EpochCases"/>) on a small generated data set.</summary>
internal sealed class BenchmarkModel : IDisposable
{
    /// <summary>Strategies without a keep ratio of their own: the full step, the scoring floor, and the rules whose kept
    /// share varies (their CSV <c>keep</c> is the mean share they trained).</summary>
    public static readonly string[] KeepIndependent = { "full", "scoring_only", "sb", "infobatch" };
    public static readonly string[] PerKeep = { "masked", "rebatched", "cached", "subset_only", "handwritten", "selector" };

    /// <summary>The strategies whose kept share varies: their CSV <c>keep</c> is the mean share they trained.</summary>
    public static readonly string[] OwnShare = { "sb", "infobatch", "infobatch_sampler", "infobatch_per_batch" };

    private readonly Module<Tensor, Tensor> model;
    private readonly optim.Optimizer optimizer;
    private readonly Tensor x;
    private readonly Tensor y;
    private readonly Tensor ids;
    private readonly Dictionary<(string, double), SelectiveStep> steps = new();
    private readonly Dictionary<double, BatchSelector> selectors = new();
    private readonly EpochCases? epochs;

    /// <summary>Builds the model, its optimiser and the generated batch (seed 0).</summary>
    /// <param name="norm">batchnorm or groupnorm.</param>
    /// <param name="batch">The batch size of every step.</param>
    /// <param name="epochBatches">How many batches the data set of the epoch cases holds; 0 for none.</param>
    public BenchmarkModel(string norm, int batch, int epochBatches = 0)
    {
        Norm = norm;
        manual_seed(0);
        model = norm == "groupnorm"
            ? DenseNets.densenet121(num_classes: 100, stem: DenseNetStem.Cifar, norm_layer: c => GroupNorm(32, c))
            : DenseNets.densenet121(num_classes: 100, stem: DenseNetStem.Cifar);
        optimizer = optim.SGD(model.parameters(), learningRate: 0.01, momentum: 0.9, weight_decay: 5e-4);
        x = randn(batch, 3, 32, 32);
        y = randint(0, 100, new long[] { batch });
        ids = arange(batch, dtype: ScalarType.Int64);
        epochs = epochBatches > 0 ? new EpochCases(model, optimizer, TrainOn, batch, epochBatches) : null;
    }

    public string Norm { get; }

    /// <summary>Runs one step of a strategy (one epoch of an <see cref="EpochCases"/> strategy); says whether it did
    /// what the strategy promises (e.g. no scoring when cached) and the share of the batch (data set) it trained.</summary>
    public (bool AsPromised, double TrainedShare) Run(string strategy, double keep)
    {
        if (EpochCases.Has(strategy))
        {
            return Epochs.Run(strategy, firstBatchOnly: false);
        }

        using var scope = NewDisposeScope();
        int k = new SelectiveLossReducer(keep).KeepCount(x.shape[0]);
        double share = (double)k / x.shape[0];
        switch (strategy)
        {
            case "full":
                TrainOn(x, y);
                return (true, 1.0);

            case "scoring_only":
                {
                    model.eval();
                    using (no_grad())
                    {
                        var scores = functional.cross_entropy(model.forward(x), y, reduction: Reduction.None);
                        _ = scores.sum().item<float>();
                    }

                    model.train();
                    return (true, 0.0);
                }

            case "subset_only":
                TrainOn(x.narrow(0, 0, k), y.narrow(0, 0, k));
                return (true, share);

            case "handwritten":
                {
                    // A plain TorchSharp two-pass loop, the way a user would write it by hand: the yardstick for the
                    // library's own overhead.
                    Tensor keptIdx;
                    model.eval();
                    using (no_grad())
                    {
                        var scores = functional.cross_entropy(model.forward(x), y, reduction: Reduction.None);
                        keptIdx = scores.topk(k, largest: false).indexes;
                    }

                    TrainOn(x.index_select(0, keptIdx), y.index_select(0, keptIdx));
                    return (true, share);
                }

            case "selector":
                {
                    // The loop a user writes with BatchSelector: Select, forward on the kept samples, the selector's
                    // loss, backward and step of their own.
                    BatchSelector selector = Selector(keep);
                    SelectedBatch kept = selector.Select(x, y);
                    model.train();
                    var perSample = functional.cross_entropy(model.forward(kept.Input), kept.Target, reduction: Reduction.None);
                    Tensor loss = selector.Loss(kept, perSample);
                    optimizer.zero_grad();
                    loss.backward();
                    optimizer.step();
                    _ = loss.item<float>();
                    return (kept.ScoredSamples == x.shape[0] && kept.KeptCount == k, share);
                }

            case "masked":
                return (Step(strategy, keep).IsExact, share);
            case "rebatched":
                return (Step(strategy, keep).ScoredSamples == x.shape[0], share);
            case "cached":
                // Steady state: after the warm-up every id has a fresh score, so no scoring pass runs.
                return (Step(strategy, keep).ScoredSamples == 0, share);
            case "sb":
            {
                StepResult result = Step(strategy, keep);
                return (result.ScoredSamples == x.shape[0], result.KeptShare);
            }

            case "infobatch":
            {
                // Steady state: after the warm-up every id has a remembered loss, so nothing is scored and about a
                // quarter of the batch (half of the below-mean samples) is pruned.
                StepResult result = Step(strategy, keep);
                return (result.ScoredSamples == 0 && result.KeptCount < x.shape[0], result.KeptShare);
            }

            default:
                throw new ArgumentException($"Unknown strategy '{strategy}'.", nameof(strategy));
        }
    }

    /// <summary>The untimed run before a timed one, so that the timed run starts from this strategy's own steady
    /// state: one step of a per-step strategy, the first batch of an epoch strategy.</summary>
    public void Warm(string strategy, double keep)
    {
        if (EpochCases.Has(strategy))
        {
            Epochs.Run(strategy, firstBatchOnly: true);
        }
        else
        {
            Run(strategy, keep);
        }
    }

    public void Dispose()
    {
        foreach (var step in steps.Values)
        {
            step.Dispose();
        }

        foreach (var selector in selectors.Values)
        {
            selector.Dispose();
        }

        epochs?.Dispose();

        optimizer.Dispose();
        model.Dispose();
        x.Dispose();
        y.Dispose();
        ids.Dispose();
    }

    /// <summary>A plain training step (mean cross-entropy) on the given samples.</summary>
    private void TrainOn(Tensor input, Tensor target)
    {
        model.train();
        var loss = functional.cross_entropy(model.forward(input), target);
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
        _ = loss.item<float>();
    }

    private EpochCases Epochs => epochs ?? throw new InvalidOperationException("This model was built without a data set for the epoch cases.");

    private BatchSelector Selector(double keep)
    {
        if (!selectors.TryGetValue(keep, out BatchSelector? selector))
        {
            selector = new BatchSelector(model, SelectionRules.Lowest(keep));
            selectors[keep] = selector;
        }

        return selector;
    }

    private StepResult Step(string strategy, double keep)
    {
        if (!steps.TryGetValue((strategy, keep), out SelectiveStep? step))
        {
            step = strategy switch
            {
                "masked" => new SelectiveStep(model, optimizer, new SelectiveLossReducer(keep), new SelectiveStepOptions { Execution = StepExecution.Masked }),
                "cached" => new SelectiveStep(model, optimizer, new SelectiveLossReducer(keep), new SelectiveStepOptions { Scores = ScoreSource.Cached }),
                "sb" => new SelectiveStep(model, optimizer, SelectionRules.SelectiveBackprop()),
                "infobatch" => new SelectiveStep(model, optimizer, SelectionRules.InfoBatch(), new SelectiveStepOptions { TotalEpochs = 100 }),
                _ => new SelectiveStep(model, optimizer, new SelectiveLossReducer(keep)),
            };
            steps[(strategy, keep)] = step;
        }

        return step.Step(x, y, ids);
    }
}
