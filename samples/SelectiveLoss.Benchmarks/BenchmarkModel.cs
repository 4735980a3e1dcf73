using System;
using System.Collections.Generic;
using SelectiveLoss.Models;
using SelectiveLoss.Selection;
using SelectiveLoss.Training;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SelectiveLoss.Benchmarks;

/// <summary>One CIFAR DenseNet-121 with its optimiser and a generated batch, and the step of each strategy on it.</summary>
internal sealed class BenchmarkModel : IDisposable
{
    /// <summary>Strategies without a keep ratio of their own: the full step, the scoring floor, and the rules whose kept
    /// share varies (their CSV <c>keep</c> is the mean share they trained).</summary>
    public static readonly string[] KeepIndependent = { "full", "scoring_only", "sb", "infobatch" };
    public static readonly string[] PerKeep = { "masked", "rebatched", "cached", "subset_only", "handwritten" };

    private readonly Module<Tensor, Tensor> model;
    private readonly optim.Optimizer optimizer;
    private readonly Tensor x;
    private readonly Tensor y;
    private readonly Tensor ids;
    private readonly Dictionary<(string, double), SelectiveStep> steps = new();

    public BenchmarkModel(string norm, int batch)
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
    }

    public string Norm { get; }

    /// <summary>Runs one step of a strategy; says whether it did what the strategy promises (e.g. no scoring when
    /// cached) and the share of the batch it trained.</summary>
    public (bool AsPromised, double TrainedShare) Run(string strategy, double keep)
    {
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

    public void Dispose()
    {
        foreach (var step in steps.Values)
        {
            step.Dispose();
        }

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
