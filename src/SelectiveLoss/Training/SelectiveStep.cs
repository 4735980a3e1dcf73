using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using SelectiveLoss.Normalization;
using SelectiveLoss.Selection;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SelectiveLoss.Training;

/// <summary>
/// One training step on a selected part of the minibatch, done so that the selection saves time.
/// </summary>
/// <remarks>
/// <para>
/// Keeping the lowest 60% of per-sample losses with <c>topk</c> on a full-batch graph (<see cref="SelectionStrategy.Masked"/>)
/// costs as much as a full step: backward still runs over every sample. <see cref="SelectionStrategy.Rebatched"/>
/// scores the batch without gradients (about a quarter of a training step), then runs forward and backward on the kept
/// samples only; <see cref="SelectionStrategy.Cached"/> also skips most scoring by reusing recent scores.
/// </para>
/// <para>
/// Rebatching is exact (the same update as <see cref="SelectionStrategy.Masked"/>, to round-off) only when no module
/// mixes samples: BatchNorm in training mode normalises with batch statistics, so a sample's output depends on which
/// other samples share its batch. Use <see cref="NormalizationSwapper.ReplaceBatchNorm"/> (or build the model with GroupNorm) first; on a
/// coupled model the step warns once (or refuses, with <see cref="CouplingPolicy.Refuse"/>).
/// </para>
/// <para>Each step runs inside its own dispose scope; no tensor outlives it except the optimiser's state.</para>
/// </remarks>
/// <example>
/// <code>
/// var model = DenseNets.densenet121(num_classes: 100, stem: DenseNetStem.Cifar, norm_layer: c => nn.GroupNorm(32, c));
/// var optimizer = optim.SGD(model.parameters(), learningRate: 0.1, momentum: 0.9);
/// using var step = new SelectiveStep(model, optimizer, new SelectiveLossReducer(keepRatio: 0.6));
/// foreach (var (x, y) in batches)
/// {
///     StepResult result = step.Step(x, y);   // scores x without grad, trains on the 60% lowest losses
/// }
/// </code>
/// </example>
public sealed class SelectiveStep : IDisposable
{
    private readonly Module<Tensor, Tensor> model;
    private readonly optim.Optimizer optimizer;
    private readonly SelectiveLossReducer reducer;
    private readonly Func<Tensor, Tensor, Tensor> lossFunction;
    private readonly SelectiveStepOptions options;
    private readonly IKeepRatioSchedule schedule;
    private readonly List<string> diagnostics = new();
    private readonly bool coupled;
    private Generator? generator;
    private SelectiveLossReducer current;
    private int epoch;
    private bool warnedCoupling;

    /// <summary>Creates a step.</summary>
    /// <param name="model">The model to train. Every parameter that requires gradient must be in <paramref name="optimizer"/>.</param>
    /// <param name="optimizer">The optimiser that updates the model.</param>
    /// <param name="reducer">Which samples to keep and how to reduce their losses; its keep ratio is the default schedule.</param>
    /// <param name="strategy">How selection becomes an update; default <see cref="SelectionStrategy.Rebatched"/>.</param>
    /// <param name="perSampleLoss">Per-sample loss of (output, target), returning a 1-D tensor with one loss per sample.
    /// Default: cross-entropy with no reduction.</param>
    /// <param name="options">Schedule, random control, coupling policy, cache policy; null for defaults.</param>
    /// <exception cref="ArgumentNullException">A required argument is null.</exception>
    /// <exception cref="ArgumentException">A model parameter that requires gradient is not in the optimiser.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="strategy"/> is not defined.</exception>
    /// <exception cref="InvalidOperationException">The model couples samples in training mode and the options say
    /// <see cref="CouplingPolicy.Refuse"/>.</exception>
    public SelectiveStep(
        Module<Tensor, Tensor> model,
        optim.Optimizer optimizer,
        SelectiveLossReducer reducer,
        SelectionStrategy strategy = SelectionStrategy.Rebatched,
        Func<Tensor, Tensor, Tensor>? perSampleLoss = null,
        SelectiveStepOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(reducer);
        if (strategy is not (SelectionStrategy.Masked or SelectionStrategy.Rebatched or SelectionStrategy.Cached))
        {
            throw new ArgumentOutOfRangeException(nameof(strategy), strategy, "strategy must be Masked, Rebatched or Cached.");
        }

        this.options = options ?? new SelectiveStepOptions();
        CheckOptimizerCoversModel(model, optimizer);

        IReadOnlyList<string> coupling = strategy == SelectionStrategy.Masked ? Array.Empty<string>() : CouplingInTrainingMode(model);
        coupled = coupling.Count > 0;
        if (coupled && this.options.CouplingPolicy == CouplingPolicy.Refuse)
        {
            throw new InvalidOperationException(
                $"The model couples the samples of a batch in training mode ({Describe(coupling)}), so a {strategy} step would " +
                "not compute the same update as the masked loss. Replace BatchNorm with GroupNorm " +
                "(NormalizationSwapper.ReplaceBatchNorm(model)) or build the model with a GroupNorm norm_layer, " +
                "or set CouplingPolicy.Warn to train anyway.");
        }

        if (coupled)
        {
            diagnostics.Add(
                $"The model couples samples in training mode ({Describe(coupling)}): a {strategy} step trains the kept samples " +
                "with their own batch statistics, so its update differs from the masked loss's. Scoring runs in eval mode, " +
                "so running statistics are updated once per step. Swap BatchNorm for GroupNorm to make the step exact.");
        }

        this.model = model;
        this.optimizer = optimizer;
        this.reducer = reducer;
        current = reducer;
        Strategy = strategy;
        lossFunction = perSampleLoss ?? DefaultLoss;
        schedule = this.options.Schedule ?? new ConstantKeepRatio(reducer.KeepRatio);
        Cache = strategy == SelectionStrategy.Cached ? new ScoreCache(this.options.CachePolicy) : null;
    }

    /// <summary>The strategy every step uses.</summary>
    public SelectionStrategy Strategy { get; }

    /// <summary>
    /// The current zero-based epoch: it selects the keep ratio from the schedule and ages cached scores. Set it at the
    /// start of each epoch.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to a negative value.</exception>
    public int Epoch
    {
        get => epoch;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value, nameof(Epoch));
            epoch = value;
        }
    }

    /// <summary>The score memory of <see cref="SelectionStrategy.Cached"/>; null for the other strategies.</summary>
    public ScoreCache? Cache { get; }

    /// <summary>Whether the model couples samples in training mode (checked once, at construction).</summary>
    public bool ModelCouplesSamples => coupled;

    /// <summary>Messages about the step's exactness, each given once (for example, that the model couples samples).</summary>
    public IReadOnlyList<string> Diagnostics => diagnostics;

    /// <summary>The keep ratio in force at the current <see cref="Epoch"/>.</summary>
    public double CurrentKeepRatio => schedule.KeepRatioAt(epoch);

    /// <summary>Runs one training step.</summary>
    /// <param name="input">The batch, with samples along dimension 0, on the model's device.</param>
    /// <param name="target">The targets, with the same number of samples as <paramref name="input"/>.</param>
    /// <param name="sampleIds">Dataset ids of the samples, a 1-D integer tensor without duplicates; required by
    /// <see cref="SelectionStrategy.Cached"/>, ignored otherwise (but still checked when given).</param>
    /// <returns>The loss, the kept positions, whether the update is exact, and timings.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="input"/> or <paramref name="target"/> is null.</exception>
    /// <exception cref="ArgumentException">The batch is empty, the batch sizes differ, or the ids are missing (Cached),
    /// of the wrong shape or type, duplicated, negative or not below <see cref="SelectiveStepOptions.DatasetSize"/>.</exception>
    /// <exception cref="InvalidOperationException">The per-sample loss function does not return one loss per sample,
    /// or the schedule returns a ratio outside (0, 1]. Detected before any parameter changes.</exception>
    public StepResult Step(Tensor input, Tensor target, Tensor? sampleIds = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(target);
        long n = CheckBatch(input, target);
        long[]? ids = CheckIds(sampleIds, n);
        SelectiveLossReducer active = ReducerForEpoch();

        using var scope = NewDisposeScope();
        return Strategy switch
        {
            SelectionStrategy.Masked => StepMasked(input, target, n, active),
            SelectionStrategy.Rebatched => StepRebatched(input, target, n, active),
            _ => StepCached(input, target, n, ids!, active),
        };
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        generator?.Dispose();
        generator = null;
    }

    private static Tensor DefaultLoss(Tensor output, Tensor target) =>
        nn.functional.cross_entropy(output, target, reduction: nn.Reduction.None);

    private StepResult StepMasked(Tensor input, Tensor target, long n, SelectiveLossReducer active)
    {
        var clock = Stopwatch.StartNew();
        model.train();
        Tensor perSample = PerSample(model.forward(input), target, n);
        Tensor kept = options.SubsetRule == SubsetRule.Random ? RandomIndices(n, active.KeepCount(n), perSample.device) : active.SelectIndices(perSample);
        Tensor selected = perSample.index_select(0, kept);
        Tensor loss = active.Reduction == LossReduction.Mean ? selected.mean() : selected.sum();
        double value = Update(loss);
        return new StepResult(value, ToArray(kept), n, active.KeepRatio, Strategy, 0, true, TimeSpan.Zero, clock.Elapsed);
    }

    private StepResult StepRebatched(Tensor input, Tensor target, long n, SelectiveLossReducer active)
    {
        var clock = Stopwatch.StartNew();
        Tensor kept;
        long scored = 0;
        if (options.SubsetRule == SubsetRule.Random)
        {
            kept = RandomIndices(n, active.KeepCount(n), input.device);
        }
        else
        {
            Tensor scores = Score(input, target, n);
            kept = active.SelectIndices(scores);
            scored = n;
        }

        TimeSpan scoring = clock.Elapsed;
        double value = TrainOn(input, target, kept, active, out _);
        WarnIfCoupled();
        return new StepResult(value, ToArray(kept), n, active.KeepRatio, Strategy, scored, !coupled, scoring, clock.Elapsed - scoring);
    }

    private StepResult StepCached(Tensor input, Tensor target, long n, long[] ids, SelectiveLossReducer active)
    {
        var clock = Stopwatch.StartNew();
        ScoreCache cache = Cache!;
        var scores = new float[n];
        var stale = new List<long>();
        for (long i = 0; i < n; i++)
        {
            if (!cache.TryGetFresh(ids[i], epoch, out scores[i]))
            {
                stale.Add(i);
            }
        }

        if (stale.Count > 0)
        {
            Tensor positions = tensor(stale.ToArray(), device: input.device);
            Tensor fresh = Score(input.index_select(0, positions), target.index_select(0, positions), stale.Count);
            float[] values = fresh.to(ScalarType.Float32).cpu().data<float>().ToArray();
            for (int j = 0; j < stale.Count; j++)
            {
                scores[stale[j]] = values[j];
                cache.Set(ids[stale[j]], epoch, values[j]);
            }
        }

        Tensor kept = options.SubsetRule == SubsetRule.Random
            ? RandomIndices(n, active.KeepCount(n), input.device)
            : active.SelectIndices(tensor(scores)).to(input.device);
        TimeSpan scoring = clock.Elapsed;
        double value = TrainOn(input, target, kept, active, out Tensor trainedLosses);

        // The training forward's own losses are fresh scores for the kept samples: store them at no extra cost.
        long[] keptPositions = ToArray(kept);
        float[] refreshed = trainedLosses.detach().to(ScalarType.Float32).cpu().data<float>().ToArray();
        for (int j = 0; j < keptPositions.Length; j++)
        {
            cache.Set(ids[keptPositions[j]], epoch, refreshed[j]);
        }

        WarnIfCoupled();
        return new StepResult(value, keptPositions, n, active.KeepRatio, Strategy, stale.Count, false, scoring, clock.Elapsed - scoring);
    }

    /// <summary>Per-sample losses of a no-grad forward pass, in eval mode unless the options say otherwise.</summary>
    private Tensor Score(Tensor input, Tensor target, long n)
    {
        bool scoreInTrain = options.ScoreInTrainingMode;
        if (!scoreInTrain)
        {
            model.eval();
        }

        try
        {
            // no_grad rather than inference_mode: on TorchSharp 0.107.0 (CPU, DenseNet-121) inference mode measured no
            // faster, and up to 7% slower, than no_grad for the scoring pass; see the benchmark notes in README.
            using var noGrad = no_grad();
            return PerSample(model.forward(input), target, n);
        }
        finally
        {
            model.train();
        }
    }

    private double TrainOn(Tensor input, Tensor target, Tensor kept, SelectiveLossReducer active, out Tensor perSample)
    {
        Tensor index = kept.device == input.device ? kept : kept.to(input.device);
        Tensor keptInput = input.index_select(0, index);
        Tensor keptTarget = target.index_select(0, index.device == target.device ? index : index.to(target.device));
        model.train();
        perSample = PerSample(model.forward(keptInput), keptTarget, kept.shape[0]);
        Tensor loss = active.Reduction == LossReduction.Mean ? perSample.mean() : perSample.sum();
        return Update(loss);
    }

    private double Update(Tensor loss)
    {
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
        return loss.ToDouble();
    }

    private Tensor PerSample(Tensor output, Tensor target, long n)
    {
        Tensor loss = lossFunction(output, target);
        if (loss is null || loss.dim() != 1 || loss.shape[0] != n || !loss.is_floating_point())
        {
            string got = loss is null ? "null" : $"shape [{string.Join(", ", loss.shape)}] of {loss.dtype}";
            throw new InvalidOperationException(
                $"The per-sample loss function returned {got}, but a 1-D floating-point tensor with one loss per sample " +
                $"([{n}]) is needed. Use reduction: Reduction.None and average any other dimensions per sample. " +
                "No parameter was changed.");
        }

        return loss;
    }

    private Tensor RandomIndices(long n, int k, Device device)
    {
        generator ??= new Generator(options.Seed);
        Tensor permutation = randperm(n, generator: generator);
        return permutation.narrow(0, 0, k).sort().Values.to(device);
    }

    private SelectiveLossReducer ReducerForEpoch()
    {
        double ratio = schedule.KeepRatioAt(epoch);
        if (double.IsNaN(ratio) || ratio <= 0 || ratio > 1)
        {
            throw new InvalidOperationException($"The keep-ratio schedule returned {ratio} for epoch {epoch}; it must be in (0, 1].");
        }

        if (ratio != current.KeepRatio)
        {
            current = new SelectiveLossReducer(ratio, reducer.Mode, reducer.Reduction);
        }

        return current;
    }

    private void WarnIfCoupled()
    {
        if (coupled && !warnedCoupling)
        {
            warnedCoupling = true;
            Trace.TraceWarning(diagnostics[0]);
        }
    }

    private static long CheckBatch(Tensor input, Tensor target)
    {
        if (input.dim() == 0 || target.dim() == 0)
        {
            throw new ArgumentException(
                $"input and target need a batch dimension, but have shapes [{string.Join(", ", input.shape)}] and " +
                $"[{string.Join(", ", target.shape)}].", input.dim() == 0 ? nameof(input) : nameof(target));
        }

        long n = input.shape[0];
        if (n == 0)
        {
            throw new ArgumentException("The batch is empty (input has 0 samples); a step needs at least one sample.", nameof(input));
        }

        if (target.shape[0] != n)
        {
            throw new ArgumentException(
                $"input has {n} samples but target has {target.shape[0]}; they must have the same size along dimension 0.",
                nameof(target));
        }

        return n;
    }

    private long[]? CheckIds(Tensor? sampleIds, long n)
    {
        if (sampleIds is null)
        {
            return Strategy == SelectionStrategy.Cached
                ? throw new ArgumentException(
                    "SelectionStrategy.Cached needs sampleIds: the dataset index of each sample, so its score can be " +
                    "remembered across epochs. Pass them, or use SelectionStrategy.Rebatched.", nameof(sampleIds))
                : null;
        }

        if (sampleIds.dim() != 1 || sampleIds.shape[0] != n)
        {
            throw new ArgumentException(
                $"sampleIds must be 1-D with one id per sample ([{n}]), but has shape [{string.Join(", ", sampleIds.shape)}].",
                nameof(sampleIds));
        }

        if (sampleIds.is_floating_point() || sampleIds.is_complex() || sampleIds.dtype == ScalarType.Bool)
        {
            throw new ArgumentException($"sampleIds must be an integer tensor, but its dtype is {sampleIds.dtype}.", nameof(sampleIds));
        }

        long[] ids = ToArray(sampleIds);

        var seen = new HashSet<long>();
        foreach (long id in ids)
        {
            if (id < 0 || (options.DatasetSize is long size && id >= size))
            {
                string range = options.DatasetSize is long s ? $"[0, {s})" : "non-negative";
                throw new ArgumentException($"sampleIds holds {id}, but ids must be {range}.", nameof(sampleIds));
            }

            if (!seen.Add(id))
            {
                throw new ArgumentException(
                    $"sampleIds holds {id} more than once; each sample of a batch needs its own dataset id.", nameof(sampleIds));
            }
        }

        return ids;
    }

    private static void CheckOptimizerCoversModel(Module<Tensor, Tensor> model, optim.Optimizer optimizer)
    {
        // TorchSharp hands out the registered Parameter objects themselves, so identity is reference identity.
        var optimised = new HashSet<Tensor>(optimizer.parameters(), ReferenceEqualityComparer.Instance);
        var missing = model.named_parameters()
            .Where(p => p.parameter.requires_grad && !optimised.Contains(p.parameter))
            .Select(p => p.name)
            .ToList();
        if (missing.Count > 0)
        {
            throw new ArgumentException(
                $"The optimiser does not update {missing.Count} trainable parameter(s) of the model: {string.Join(", ", missing.Take(8))}" +
                (missing.Count > 8 ? ", ..." : string.Empty) + ". Build the optimiser from model.parameters() after any " +
                "change to the model (such as NormalizationSwapper.ReplaceBatchNorm), or set requires_grad = false on " +
                "parameters you mean to freeze.", nameof(optimizer));
        }
    }

    private static IReadOnlyList<string> CouplingInTrainingMode(Module<Tensor, Tensor> model)
    {
        bool wasTraining = model.training;
        model.train();
        try
        {
            return BatchCoupling.Find(model);
        }
        finally
        {
            model.train(wasTraining);
        }
    }

    private static string Describe(IReadOnlyList<string> paths) =>
        string.Join(", ", paths.Take(5).Select(p => p.Length == 0 ? "<root>" : p)) + (paths.Count > 5 ? $" and {paths.Count - 5} more" : string.Empty);

    private static long[] ToArray(Tensor indices)
    {
        using var scope = NewDisposeScope();
        return indices.to(ScalarType.Int64).cpu().data<long>().ToArray();
    }
}
