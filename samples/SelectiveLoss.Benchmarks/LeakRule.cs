using System;
using SelectiveLoss.Models;
using SelectiveLoss.Selection;
using SelectiveLoss.Training;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SelectiveLoss.Benchmarks;

/// <summary>
/// One rule of the leak check, on its own tiny CIFAR DenseNet (growth 4, blocks 1,1, 8 initial features, BatchNorm, so
/// the BatchNorm hold and its undo snapshot run too) at batch 32, over a generated data set of 8 batches whose sample
/// ids are their positions. <see cref="Step"/> trains one batch the way a user of that part of the library would, and
/// reads nothing back from a <see cref="StepResult"/>.
/// </summary>
internal sealed class LeakRule : IDisposable
{
    /// <summary>Every rule checked: <c>full</c>, a plain step without the library, is the control.</summary>
    public static readonly string[] Names =
    {
        "full", "lowest", "highest", "random", "masked", "cached", "sb", "sb_accumulate", "infobatch", "selector", "infobatch_sampler",
    };

    public const int Batch = 32;
    private const int Batches = 8;
    private const int TotalEpochs = 1_000_000;
    private const double Keep = 0.6;
    private const long Size = Batch * Batches;
    private static readonly int[] Blocks = { 1, 1 };

    private readonly string name;
    private readonly Module<Tensor, Tensor> model;
    private readonly optim.Optimizer optimizer;
    private readonly Tensor data;
    private readonly Tensor targets;
    private readonly SelectiveStep? step;
    private readonly BatchSelector? selector;
    private readonly InfoBatchSampler? sampler;
    private InfoBatchEpoch? plan;
    private int planned;
    private int nextInPlan;
    private long steps;

    /// <summary>Builds the model (seed 0), the data and the rule's part of the library.</summary>
    /// <param name="name">One of <see cref="Names"/>.</param>
    /// <exception cref="ArgumentException">The name is not one of <see cref="Names"/>.</exception>
    public LeakRule(string name)
    {
        if (Array.IndexOf(Names, name) < 0)
        {
            throw new ArgumentException($"Unknown leak-check rule '{name}' (one of {string.Join(", ", Names)}).", nameof(name));
        }

        this.name = name;
        manual_seed(0);
        model = new DenseNet(growth_rate: 4, block_config: Blocks, num_init_features: 8, num_classes: 10, stem: DenseNetStem.Cifar);
        optimizer = optim.SGD(model.parameters(), learningRate: 0.01, momentum: 0.9, weight_decay: 5e-4);
        using (var scope = NewDisposeScope())
        {
            data = randn(Size, 3, 32, 32).DetachFromDisposeScope();
            targets = randint(0, 10, new[] { Size }).DetachFromDisposeScope();
        }

        step = name switch
        {
            "lowest" => new SelectiveStep(model, optimizer, SelectionRules.Lowest(Keep)),
            "highest" => new SelectiveStep(model, optimizer, SelectionRules.Highest(Keep)),
            "random" => new SelectiveStep(model, optimizer, SelectionRules.Random(Keep)),
            "masked" => new SelectiveStep(model, optimizer, SelectionRules.Lowest(Keep), new SelectiveStepOptions { Execution = StepExecution.Masked }),
            "cached" => new SelectiveStep(model, optimizer, SelectionRules.Lowest(Keep), new SelectiveStepOptions { Scores = ScoreSource.Cached, DatasetSize = Size }),
            "sb" => new SelectiveStep(model, optimizer, SelectionRules.SelectiveBackprop()),
            "sb_accumulate" => new SelectiveStep(model, optimizer, SelectionRules.SelectiveBackprop(), new SelectiveStepOptions { AccumulateToBatchSize = Batch }),
            "infobatch" => new SelectiveStep(model, optimizer, SelectionRules.InfoBatch(), new SelectiveStepOptions { TotalEpochs = TotalEpochs, DatasetSize = Size }),
            _ => null,
        };
        selector = name == "selector" ? new BatchSelector(model, SelectionRules.Lowest(Keep)) : null;
        sampler = name == "infobatch_sampler" ? new InfoBatchSampler(Size, TotalEpochs, Batch) : null;
    }

    /// <summary>Trains one batch.</summary>
    public void Step()
    {
        using var scope = NewDisposeScope();
        long from = steps % Batches * Batch;
        int epoch = (int)(steps / Batches);
        steps++;
        Tensor ids = arange(from, from + Batch, dtype: ScalarType.Int64);
        Tensor x = data.narrow(0, from, Batch);
        Tensor y = targets.narrow(0, from, Batch);
        switch (name)
        {
            case "full":
                model.train();
                Update(functional.cross_entropy(model.forward(x), y));
                break;

            case "selector":
                {
                    SelectedBatch kept = selector!.Select(x, y, ids);
                    model.train();
                    Update(selector.Loss(kept, PerSample(kept.Input, kept.Target)));
                    break;
                }

            case "infobatch_sampler":
                {
                    // A step is one batch of the planned epoch; the next epoch is planned when this one is used up.
                    if (plan is null || nextInPlan == plan.Batches.Count)
                    {
                        plan = sampler!.Epoch(planned++);
                        nextInPlan = 0;
                    }

                    Tensor planIds = tensor(plan.Batches[nextInPlan++]);
                    model.train();
                    Update(sampler!.Loss(planIds, PerSample(data.index_select(0, planIds), targets.index_select(0, planIds))));
                    break;
                }

            default:
                step!.Epoch = epoch;
                _ = step.Step(x, y, ids);
                break;
        }
    }

    public void Dispose()
    {
        step?.Dispose();
        selector?.Dispose();
        optimizer.Dispose();
        model.Dispose();
        data.Dispose();
        targets.Dispose();
    }

    private Tensor PerSample(Tensor input, Tensor target) =>
        functional.cross_entropy(model.forward(input), target, reduction: Reduction.None);

    private void Update(Tensor loss)
    {
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
        _ = loss.item<float>();
    }
}
