using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using SelectiveLoss.Normalization;
using SelectiveLoss.Selection;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SelectiveLoss.Training;

/// <summary>
/// One training step on a selected part of the minibatch, done so that the selection saves time. Three independent
/// choices make a step: where the scores come from (<see cref="ScoreSource"/>), which samples to keep and with what
/// weight (an <see cref="ISelectionRule"/>, see <see cref="SelectionRules"/>), and how the update runs
/// (<see cref="StepExecution"/>).
/// </summary>
/// <remarks>
/// <para>
/// Keeping the lowest 60% of per-sample losses with <c>topk</c> on a full-batch graph (<see cref="StepExecution.Masked"/>)
/// costs as much as a full step: backward still runs over every sample. <see cref="StepExecution.Rebatched"/> scores the
/// batch without gradients (about a quarter of a training step), then runs forward and backward on the kept samples
/// only; <see cref="ScoreSource.Cached"/> and <see cref="ScoreSource.LastTrainingLoss"/> skip most or all of the scoring.
/// </para>
/// <para>
/// Rebatching is exact (the same update as <see cref="StepExecution.Masked"/>, to round-off) only when no module mixes
/// samples: BatchNorm in training mode normalises with batch statistics, so a sample's output depends on which other
/// samples share its batch. Use <see cref="NormalizationSwapper.ReplaceBatchNorm"/> (or build the model with GroupNorm)
/// first; on a coupled model the step warns once (or refuses, with <see cref="CouplingPolicy.Refuse"/>), and estimates
/// BatchNorm's running statistics as <see cref="SelectiveStepOptions.BatchNormStatistics"/> says.
/// </para>
/// <para>Each step runs inside its own dispose scope; no tensor outlives it except the optimiser's state, the rule's
/// and the step's memory, and the two small tensors a <see cref="StepResult"/> reads lazily.</para>
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
    private const int StateMagic = 0x50545353; // "SSTP"
    private const int StateVersion = 1;

    private readonly Module<Tensor, Tensor> model;
    private readonly optim.Optimizer optimizer;
    private readonly SelectiveStepOptions options;
    private readonly Func<Tensor, Tensor, Tensor> lossFunction;
    private readonly LossReduction reduction;
    private readonly List<string> diagnostics = new();
    private readonly List<BatchNorm> batchNorms;
    private readonly bool coupled;
    private readonly bool trustedRule;
    private readonly List<Pending> pending = new();
    private Generator generator;
    private int epoch;
    private long steps;
    private bool warnedCoupling;

    /// <summary>
    /// Creates a step that keeps the samples <paramref name="reducer"/> keeps (the lowest, or highest, losses at its keep
    /// ratio, reduced as it reduces), from fresh scores, rebatched unless <paramref name="options"/> says otherwise.
    /// </summary>
    /// <param name="model">The model to train. Every parameter that requires gradient must be in <paramref name="optimizer"/>.</param>
    /// <param name="optimizer">The optimiser that updates the model.</param>
    /// <param name="reducer">Which samples to keep and how to reduce their losses (<see cref="SelectionRules.Lowest"/>
    /// or <see cref="SelectionRules.Highest"/> at its keep ratio).</param>
    /// <param name="options">Scores, execution, accumulation and the rest; null for the defaults.</param>
    /// <exception cref="ArgumentNullException">A required argument is null.</exception>
    /// <exception cref="ArgumentException">A model parameter that requires gradient is not in the optimiser, or
    /// <see cref="SelectiveStepOptions.Reduction"/> contradicts the reducer's.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    /// <exception cref="InvalidOperationException">The model couples samples in training mode and the options say
    /// <see cref="CouplingPolicy.Refuse"/>.</exception>
    public SelectiveStep(Module<Tensor, Tensor> model, optim.Optimizer optimizer, SelectiveLossReducer reducer, SelectiveStepOptions? options = null)
        : this(model, optimizer, RuleFor(reducer), WithReduction(options, reducer))
    {
    }

    /// <summary>Creates a step that keeps the samples <paramref name="rule"/> chooses.</summary>
    /// <param name="model">The model to train. Every parameter that requires gradient must be in <paramref name="optimizer"/>.</param>
    /// <param name="optimizer">The optimiser that updates the model.</param>
    /// <param name="rule">Which samples to keep, and their weights; see <see cref="SelectionRules"/>.</param>
    /// <param name="options">Scores, execution, accumulation and the rest; null for the defaults.</param>
    /// <exception cref="ArgumentNullException">A required argument is null.</exception>
    /// <exception cref="ArgumentException">A model parameter that requires gradient is not in the optimiser, or the rule
    /// needs <see cref="SelectiveStepOptions.TotalEpochs"/> and it is not set.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range or not defined, or accumulation is asked
    /// for with <see cref="StepExecution.Masked"/>.</exception>
    /// <exception cref="InvalidOperationException">The model couples samples in training mode and the options say
    /// <see cref="CouplingPolicy.Refuse"/>.</exception>
    public SelectiveStep(Module<Tensor, Tensor> model, optim.Optimizer optimizer, ISelectionRule rule, SelectiveStepOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(rule);
        options ??= new SelectiveStepOptions();
        CheckOptions(options, rule);
        CheckOptimizerCoversModel(model, optimizer);

        StepExecution execution = options.Execution;
        IReadOnlyList<string> coupling = execution == StepExecution.Masked ? Array.Empty<string>() : CouplingInTrainingMode(model);
        coupled = coupling.Count > 0;
        if (coupled && options.CouplingPolicy == CouplingPolicy.Refuse)
        {
            throw new InvalidOperationException(
                $"The model couples the samples of a batch in training mode ({Describe(coupling)}), so a rebatched step would " +
                "not compute the same update as the masked loss. Replace BatchNorm with GroupNorm " +
                "(NormalizationSwapper.ReplaceBatchNorm(model)) or build the model with a GroupNorm norm_layer, " +
                "or set CouplingPolicy.Warn to train anyway.");
        }

        if (coupled)
        {
            diagnostics.Add(
                $"The model couples samples in training mode ({Describe(coupling)}): a rebatched step trains the kept samples " +
                "with their own batch statistics, so its update differs from the masked loss's. " +
                (options.BatchNormStatistics == BatchNormStatistics.WholeBatch
                    ? "Running statistics are estimated from the whole batch by a training-mode scoring pass (where one runs). "
                    : "Scoring runs in eval mode, so running statistics are estimated from the trained samples. ") +
                "Swap BatchNorm for GroupNorm to make the step exact.");
        }

        this.model = model;
        this.optimizer = optimizer;
        this.options = options;
        Rule = rule;
        Execution = execution;
        Scores = options.Scores ?? rule.DefaultScores;
        lossFunction = options.PerSampleLoss ?? DefaultLoss;
        reduction = options.Reduction ?? LossReduction.Mean;
        trustedRule = IsTrusted(rule);
        batchNorms = coupled ? model.modules().OfType<BatchNorm>().ToList() : new List<BatchNorm>();
        Cache = rule.UsesScores && Scores != ScoreSource.Fresh ? new ScoreCache(options.CachePolicy) : null;
        generator = new Generator(options.Seed, CPU);
    }

    /// <summary>Gets the rule every step selects with.</summary>
    public ISelectionRule Rule { get; }

    /// <summary>Gets where the scores come from.</summary>
    public ScoreSource Scores { get; }

    /// <summary>Gets how the update runs.</summary>
    public StepExecution Execution { get; }

    /// <summary>
    /// Gets or sets the current zero-based epoch: it sets the keep ratio of a scheduled rule, InfoBatch's annealing and
    /// the age of cached scores. Set it at the start of each epoch.
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

    /// <summary>Gets the score memory of <see cref="ScoreSource.Cached"/> and <see cref="ScoreSource.LastTrainingLoss"/>;
    /// null with fresh scores.</summary>
    public ScoreCache? Cache { get; private set; }

    /// <summary>Gets a value indicating whether the model couples samples in training mode (checked once, at construction).</summary>
    public bool ModelCouplesSamples => coupled;

    /// <summary>Gets the messages about the step's exactness, each given once (for example, that the model couples samples).</summary>
    public IReadOnlyList<string> Diagnostics => diagnostics;

    /// <summary>Gets the keep ratio in force at the current <see cref="Epoch"/>, or null for rules whose kept share varies.</summary>
    /// <exception cref="InvalidOperationException">The rule's schedule returns a ratio outside (0, 1].</exception>
    public double? CurrentKeepRatio => Rule switch
    {
        ScheduledRule scheduled => scheduled.RatioAt(epoch),
        IKeepRatioRule keepRatio => keepRatio.KeepRatio,
        _ => null,
    };

    /// <summary>Gets how many kept samples wait for a full batch (<see cref="SelectiveStepOptions.AccumulateToBatchSize"/>).</summary>
    public int PendingCount => pending.Sum(p => (int)p.Input.shape[0]);

    /// <summary>Runs one training step.</summary>
    /// <param name="input">The batch, with samples along dimension 0, on the model's device.</param>
    /// <param name="target">The targets, with the same number of samples as <paramref name="input"/>.</param>
    /// <param name="sampleIds">Dataset ids of the samples, a 1-D integer tensor without duplicates; required with
    /// <see cref="ScoreSource.Cached"/> and <see cref="ScoreSource.LastTrainingLoss"/>, checked but unused otherwise.</param>
    /// <returns>What the step did; the loss and kept positions are read from the device only when asked for.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="input"/> or <paramref name="target"/> is null.</exception>
    /// <exception cref="ArgumentException">The batch is empty, the batch sizes differ, or the ids are missing (when the
    /// scores are remembered), of the wrong shape or type, duplicated, negative or not below
    /// <see cref="SelectiveStepOptions.DatasetSize"/>.</exception>
    /// <exception cref="InvalidOperationException">The per-sample loss function does not return one loss per sample, a
    /// rule of your own returns duplicated, out-of-range or no positions or negative or non-finite weights, or a schedule
    /// returns a ratio outside (0, 1]. Detected before any parameter changes; the message names the rule.</exception>
    public StepResult Step(Tensor input, Tensor target, Tensor? sampleIds = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(target);
        long n = CheckBatch(input, target);
        long[]? ids = CheckIds(sampleIds, n);

        using var scope = NewDisposeScope();
        StepResult result = Execution == StepExecution.Masked ? StepMasked(input, target, n, ids) : StepRebatched(input, target, n, ids);
        steps++;
        return result;
    }

    /// <summary>
    /// Trains on the kept samples still waiting for a full batch (<see cref="SelectiveStepOptions.AccumulateToBatchSize"/>),
    /// for example at the end of training; does nothing when none wait.
    /// </summary>
    /// <returns>What the update did, or null when nothing was waiting.</returns>
    public StepResult? Flush()
    {
        if (pending.Count == 0)
        {
            return null;
        }

        using var scope = NewDisposeScope();
        var clock = Stopwatch.StartNew();
        Device device = pending[0].Input.device;
        Batch batch = TakePending(PendingCount, device);
        (Tensor loss, Tensor losses) = TrainOn(batch.Input, batch.Target, batch.Weights, statisticsFromScoring: false);
        Remember(batch.Ids, losses);
        return new StepResult(loss, empty(0, ScalarType.Int64))
        {
            BatchSize = 0,
            Rule = Rule.Name,
            Scores = Scores,
            Execution = Execution,
            Updated = true,
            TrainedCount = (int)batch.Input.shape[0],
            IsExact = false,
            TrainingTime = clock.Elapsed,
        };
    }

    /// <summary>
    /// Writes the step's whole selection state: the epoch and step count, the random generator, the rule's state (if it
    /// has any), the score memory and the samples waiting for a full batch. With the model's and optimiser's state, a
    /// run resumed from it selects and trains exactly as an uninterrupted run (on the CPU).
    /// </summary>
    /// <param name="stream">A writable stream; it is left open. Write it atomically (to a temporary file, then rename).</param>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is null.</exception>
    public void Save(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var scope = NewDisposeScope();
        using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        writer.Write(StateMagic);
        writer.Write(StateVersion);
        writer.Write(Rule.Name);
        writer.Write((int)Scores);
        writer.Write((int)Execution);
        writer.Write(epoch);
        writer.Write(steps);
        WriteTensor(writer, generator.get_state());
        WriteBlock(writer, Rule is IStatefulSelectionRule stateful ? w => stateful.SaveState(w) : null);
        WriteBlock(writer, Cache is { } cache ? w => cache.Save(w.BaseStream) : null);
        writer.Write(pending.Count);
        foreach (Pending p in pending)
        {
            WriteTensor(writer, p.Input);
            WriteTensor(writer, p.Target);
            writer.Write(p.Weights is not null);
            if (p.Weights is not null)
            {
                WriteTensor(writer, p.Weights);
            }

            writer.Write(p.Ids?.Length ?? -1);
            foreach (long id in p.Ids ?? Array.Empty<long>())
            {
                writer.Write(id);
            }
        }
    }

    /// <summary>Restores the state <see cref="Save"/> wrote. The stream is read and checked whole before anything changes.</summary>
    /// <param name="stream">A readable stream positioned where <see cref="Save"/> started writing; it is left open.</param>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is null.</exception>
    /// <exception cref="InvalidDataException">The stream does not hold a saved step, is truncated, or was saved by a step
    /// with another rule, score source or execution.</exception>
    public void Load(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var reader = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
        try
        {
            if (reader.ReadInt32() != StateMagic || reader.ReadInt32() != StateVersion)
            {
                throw new InvalidDataException("The stream does not hold a step state written by SelectiveStep.Save (version 1).");
            }

            string ruleName = reader.ReadString();
            var scores = (ScoreSource)reader.ReadInt32();
            var execution = (StepExecution)reader.ReadInt32();
            if (ruleName != Rule.Name || scores != Scores || execution != Execution)
            {
                throw new InvalidDataException(
                    $"The saved step used rule {ruleName}, {scores} scores and {execution} execution; this step uses {Rule.Name}, " +
                    $"{Scores} and {Execution}. Resume with the options of the saved run.");
            }

            int savedEpoch = reader.ReadInt32();
            long savedSteps = reader.ReadInt64();
            if (savedEpoch < 0 || savedSteps < 0)
            {
                throw new InvalidDataException($"The saved step claims epoch {savedEpoch} after {savedSteps} steps.");
            }

            using Tensor generatorState = ReadTensor(reader);
            byte[]? ruleState = ReadBlock(reader);
            byte[]? cacheState = ReadBlock(reader);
            if ((ruleState is not null) != (Rule is IStatefulSelectionRule) || (cacheState is not null) != (Cache is not null))
            {
                throw new InvalidDataException("The saved step's rule state or score memory does not match this step's rule and score source.");
            }

            int pendingCount = reader.ReadInt32();
            if (pendingCount < 0)
            {
                throw new InvalidDataException($"The saved step claims {pendingCount} waiting batches.");
            }

            var loaded = new List<Pending>();
            for (int i = 0; i < pendingCount; i++)
            {
                Tensor input = ReadTensor(reader);
                Tensor target = ReadTensor(reader);
                Tensor? weights = reader.ReadBoolean() ? ReadTensor(reader) : null;
                int idCount = reader.ReadInt32();
                long[]? ids = idCount < 0 ? null : Enumerable.Range(0, idCount).Select(_ => reader.ReadInt64()).ToArray();
                loaded.Add(new Pending(input, target, weights, ids));
            }

            ScoreCache? cache = null;
            if (cacheState is not null)
            {
                cache = new ScoreCache(options.CachePolicy);
                using var cacheStream = new MemoryStream(cacheState);
                cache.Load(cacheStream);
            }

            // Everything is read and checked; the rule's state is the last thing that can refuse.
            if (ruleState is not null)
            {
                using var ruleStream = new MemoryStream(ruleState);
                using var ruleReader = new BinaryReader(ruleStream);
                ((IStatefulSelectionRule)Rule).LoadState(ruleReader);
            }

            generator.set_state(generatorState);
            Cache = cache;
            ClearPending();
            pending.AddRange(loaded);
            epoch = savedEpoch;
            steps = savedSteps;
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException("The saved step state is truncated.", e);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        ClearPending();
        generator.Dispose();
    }

    private static ISelectionRule RuleFor(SelectiveLossReducer reducer)
    {
        ArgumentNullException.ThrowIfNull(reducer);
        return reducer.Mode == SelectionMode.Lowest ? SelectionRules.Lowest(reducer.KeepRatio) : SelectionRules.Highest(reducer.KeepRatio);
    }

    private static SelectiveStepOptions WithReduction(SelectiveStepOptions? options, SelectiveLossReducer reducer)
    {
        options ??= new SelectiveStepOptions();
        if (options.Reduction is { } asked && asked != reducer.Reduction)
        {
            throw new ArgumentException(
                $"options.Reduction is {asked} but the reducer reduces by {reducer.Reduction}; set one of them only.", nameof(options));
        }

        return options with { Reduction = reducer.Reduction };
    }

    private static bool IsTrusted(ISelectionRule rule) => rule switch
    {
        ScheduledRule scheduled => IsTrusted(scheduled.Rule),
        IBuiltInRule => true,
        _ => false,
    };

    private static void CheckOptions(SelectiveStepOptions options, ISelectionRule rule)
    {
        if (!Enum.IsDefined(options.Execution))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Execution, "options.Execution must be Masked or Rebatched.");
        }

        if (options.Scores is { } scores && !Enum.IsDefined(scores))
        {
            throw new ArgumentOutOfRangeException(nameof(options), scores, "options.Scores must be Fresh, Cached or LastTrainingLoss.");
        }

        if (options.Reduction is { } r && !Enum.IsDefined(r))
        {
            throw new ArgumentOutOfRangeException(nameof(options), r, "options.Reduction must be Mean or Sum.");
        }

        if (options.TotalEpochs is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.TotalEpochs, "options.TotalEpochs must be at least 1.");
        }

        if (options.AccumulateToBatchSize is { } accumulate)
        {
            if (accumulate < 1)
            {
                throw new ArgumentOutOfRangeException(nameof(options), accumulate, "options.AccumulateToBatchSize must be at least 1, or null to train on each batch's selection.");
            }

            if (options.Execution == StepExecution.Masked)
            {
                throw new ArgumentOutOfRangeException(nameof(options), accumulate,
                    "options.AccumulateToBatchSize needs StepExecution.Rebatched: a masked step trains on the graph of the batch it was given.");
            }
        }

        if (rule.NeedsTotalEpochs && options.TotalEpochs is null)
        {
            throw new ArgumentException(
                $"Rule {rule.Name} needs the number of epochs of the run (it anneals to full data at the end): set SelectiveStepOptions.TotalEpochs.",
                nameof(options));
        }
    }

    private static Tensor DefaultLoss(Tensor output, Tensor target) =>
        nn.functional.cross_entropy(output, target, reduction: nn.Reduction.None);

    private StepResult StepMasked(Tensor input, Tensor target, long n, long[]? ids)
    {
        var clock = Stopwatch.StartNew();
        model.train();
        Tensor perSample = PerSample(model.forward(input), target, n);
        Tensor graphScores = perSample.detach();
        Scored scored = ScoresFor(input, target, n, ids, graphScores);
        SampleSelection selection = Select(scored, n, input.device);
        Tensor loss = Reduce(perSample.index_select(0, selection.Kept), selection.Weights);
        TimeSpan selecting = clock.Elapsed;
        Update(loss);
        Remember(MemoryIds(ids, selection.Kept), graphScores.index_select(0, selection.Kept));
        return new StepResult(loss, selection.Kept)
        {
            BatchSize = n,
            KeepRatio = selection.KeepRatio,
            Rule = Rule.Name,
            Scores = Scores,
            Execution = Execution,
            ScoredSamples = 0,
            Updated = true,
            TrainedCount = (int)selection.Kept.shape[0],
            IsExact = true,
            ScoringTime = TimeSpan.Zero,
            TrainingTime = clock.Elapsed,
        };
    }

    private StepResult StepRebatched(Tensor input, Tensor target, long n, long[]? ids)
    {
        var clock = Stopwatch.StartNew();
        Scored scored = ScoresFor(input, target, n, ids, graphScores: null);
        SampleSelection selection = Select(scored, n, input.device);
        TimeSpan scoring = clock.Elapsed;

        Tensor kept = selection.Kept;
        Tensor? loss = null;
        int trained = 0;
        bool wholeBatchStatistics = coupled && options.BatchNormStatistics == BatchNormStatistics.WholeBatch && scored.Count == n;
        if (options.AccumulateToBatchSize is { } size)
        {
            if (kept.shape[0] > 0)
            {
                Tensor index = kept.On(input.device);
                pending.Add(new Pending(
                    input.index_select(0, index).DetachFromDisposeScope(),
                    target.index_select(0, kept.On(target.device)).DetachFromDisposeScope(),
                    selection.Weights?.detach().clone().DetachFromDisposeScope(),
                    MemoryIds(ids, kept)));
            }

            if (PendingCount >= size)
            {
                Batch batch = TakePending(size, input.device);
                (loss, Tensor losses) = TrainOn(batch.Input, batch.Target, batch.Weights, wholeBatchStatistics);
                Remember(batch.Ids, losses);
                trained = size;
            }
        }
        else
        {
            Tensor index = kept.On(input.device);
            (loss, Tensor losses) = TrainOn(input.index_select(0, index), target.index_select(0, kept.On(target.device)), selection.Weights, wholeBatchStatistics);
            Remember(MemoryIds(ids, kept), losses);
            trained = (int)kept.shape[0];
        }

        WarnIfCoupled();
        return new StepResult(loss, kept)
        {
            BatchSize = n,
            KeepRatio = selection.KeepRatio,
            Rule = Rule.Name,
            Scores = Scores,
            Execution = Execution,
            ScoredSamples = scored.Count,
            Updated = loss is not null,
            TrainedCount = trained,
            IsExact = !coupled && Scores == ScoreSource.Fresh && options.AccumulateToBatchSize is null,
            ScoringTime = scoring,
            TrainingTime = clock.Elapsed - scoring,
        };
    }

    /// <summary>The scores of a batch: from a fresh pass, the memory, or (masked) the training forward.</summary>
    private Scored ScoresFor(Tensor input, Tensor target, long n, long[]? ids, Tensor? graphScores)
    {
        if (!Rule.UsesScores)
        {
            return new Scored(null, null, 0);
        }

        switch (Scores)
        {
            case ScoreSource.Fresh:
                return graphScores is not null ? new Scored(graphScores, null, 0) : new Scored(Score(input, target, n, wholeBatch: true), null, n);

            case ScoreSource.Cached:
            {
                ScoreCache cache = Cache!;
                var values = new float[n];
                var stale = new List<long>();
                for (long i = 0; i < n; i++)
                {
                    if (!cache.TryGetFresh(ids![i], epoch, out values[i]))
                    {
                        stale.Add(i);
                    }
                }

                if (stale.Count > 0)
                {
                    Tensor positions = tensor(stale.ToArray(), device: input.device);
                    Tensor fresh = graphScores?.index_select(0, positions)
                        ?? Score(input.index_select(0, positions), target.index_select(0, positions.On(target.device)), stale.Count, wholeBatch: stale.Count == n);
                    float[] freshValues = fresh.to(ScalarType.Float32).cpu().data<float>().ToArray();
                    for (int j = 0; j < stale.Count; j++)
                    {
                        values[stale[j]] = freshValues[j];
                        cache.Set(ids![stale[j]], epoch, freshValues[j]);
                    }
                }

                return new Scored(tensor(values).On(input.device), null, graphScores is null ? stale.Count : 0);
            }

            default:
            {
                ScoreCache cache = Cache!;
                var values = new float[n];
                var unseen = new List<long>();
                for (long i = 0; i < n; i++)
                {
                    if (!cache.TryGet(ids![i], out values[i]))
                    {
                        unseen.Add(i);
                    }
                }

                return new Scored(tensor(values).On(input.device), unseen, 0);
            }
        }
    }

    /// <summary>Runs the rule; with unseen samples (last-training-loss scores) it selects among the seen ones and keeps
    /// every unseen one at weight 1.</summary>
    private SampleSelection Select(Scored scored, long n, Device device)
    {
        double? mean = Scores == ScoreSource.Fresh ? null : Cache?.Mean;
        if (scored.Unseen is not { Count: > 0 } unseen)
        {
            return Checked(Rule.Choose(new SelectionContext(scored.Values, n, epoch, options.TotalEpochs, steps, mean, generator, device)), n);
        }

        if (unseen.Count == n)
        {
            return new SampleSelection(HeldScalars.Arange(0, n, device), null, null);
        }

        var unseenSet = new HashSet<long>(unseen);
        long[] seen = Enumerable.Range(0, (int)n).Select(i => (long)i).Where(i => !unseenSet.Contains(i)).ToArray();
        Tensor seenPositions = tensor(seen).On(device);
        Tensor seenScores = scored.Values!.index_select(0, seenPositions);
        SampleSelection inner = Checked(Rule.Choose(new SelectionContext(seenScores, seen.Length, epoch, options.TotalEpochs, steps, mean, generator, device)), seen.Length);

        Tensor keptSeen = seenPositions.index_select(0, inner.Kept);
        Tensor mask = zeros(n, ScalarType.Bool, device);
        using Scalar keep = true.ToScalar(); // held, not implicit: see HeldScalars
        mask.index_fill_(0, keptSeen, keep);
        mask.index_fill_(0, tensor(unseen.ToArray()).On(device), keep);
        Tensor kept = mask.nonzero().squeeze(1);
        Tensor? weights = null;
        if (inner.Weights is not null)
        {
            Tensor all = ones(n, inner.Weights.dtype, device);
            all.index_copy_(0, keptSeen, inner.Weights);
            weights = all.index_select(0, kept);
        }

        return new SampleSelection(kept, weights, null);
    }

    /// <summary>Checks a custom rule's output before any parameter changes (built-in rules are proven by tests).</summary>
    private SampleSelection Checked(SampleSelection selection, long n)
    {
        if (trustedRule)
        {
            return selection;
        }

        string Refuse(string problem) =>
            $"Rule {Rule.Name} returned {problem} for a batch of {n}. A rule must return distinct positions in [0, {n}), " +
            "ascending, at least one, and a non-negative finite weight per kept sample. No parameter was changed.";

        Tensor kept = selection.Kept ?? throw new InvalidOperationException(Refuse("no positions (null)"));
        if (kept.dim() != 1 || kept.dtype != ScalarType.Int64)
        {
            throw new InvalidOperationException(Refuse($"positions of shape [{string.Join(", ", kept.shape)}] and dtype {kept.dtype} (need 1-D int64)"));
        }

        long[] positions = kept.cpu().data<long>().ToArray();
        if (positions.Length == 0 && options.AccumulateToBatchSize is null)
        {
            throw new InvalidOperationException(Refuse("no positions"));
        }

        for (int i = 0; i < positions.Length; i++)
        {
            if (positions[i] < 0 || positions[i] >= n)
            {
                throw new InvalidOperationException(Refuse($"position {positions[i]}, out of range"));
            }

            if (i > 0 && positions[i] <= positions[i - 1])
            {
                throw new InvalidOperationException(Refuse(positions[i] == positions[i - 1] ? $"position {positions[i]} twice" : "positions out of order"));
            }
        }

        if (selection.Weights is { } weights)
        {
            if (weights.dim() != 1 || weights.shape[0] != positions.Length || !weights.is_floating_point())
            {
                throw new InvalidOperationException(Refuse($"weights of shape [{string.Join(", ", weights.shape)}] and dtype {weights.dtype} (need 1-D floating point, one per position)"));
            }

            foreach (double w in weights.to(ScalarType.Float64).cpu().data<double>().ToArray())
            {
                if (!double.IsFinite(w) || w < 0)
                {
                    throw new InvalidOperationException(Refuse($"weight {w}"));
                }
            }
        }

        return selection;
    }

    /// <summary>Per-sample losses of a no-grad forward pass. On a coupled model whose running statistics come from the
    /// whole batch, a pass over the whole batch runs in training mode (and updates them); otherwise in eval mode.</summary>
    private Tensor Score(Tensor input, Tensor target, long n, bool wholeBatch)
    {
        bool trainMode = coupled && wholeBatch && options.BatchNormStatistics == BatchNormStatistics.WholeBatch;
        model.train(trainMode);
        try
        {
            // no_grad rather than inference_mode: on TorchSharp 0.107.0 (CPU, DenseNet-121) inference mode measured no
            // faster, and up to 7% slower, than no_grad for the scoring pass (docs/benchmark.md).
            using var noGrad = no_grad();
            return PerSample(model.forward(input), target, n);
        }
        finally
        {
            model.train();
        }
    }

    private (Tensor Loss, Tensor Losses) TrainOn(Tensor input, Tensor target, Tensor? weights, bool statisticsFromScoring)
    {
        model.train();

        // The running statistics the scoring pass set are put back after backward (BatchNorm's backward reads them).
        List<Tensor>? saved = statisticsFromScoring ? SaveRunningStatistics() : null;
        try
        {
            Tensor perSample = PerSample(model.forward(input), target, input.shape[0]);
            Tensor loss = Reduce(perSample, weights);
            Update(loss);
            return (loss, perSample.detach());
        }
        finally
        {
            RestoreRunningStatistics(saved);
        }
    }

    private Tensor Reduce(Tensor losses, Tensor? weights)
    {
        if (weights is null)
        {
            return reduction == LossReduction.Mean ? losses.mean() : losses.sum();
        }

        Tensor weighted = (losses * weights.On(losses.device).to(losses.dtype)).sum();
        if (reduction != LossReduction.Mean)
        {
            return weighted;
        }

        using Scalar count = losses.shape[0].ToScalar(); // held, not implicit: see HeldScalars
        return weighted / count;
    }

    private void Update(Tensor loss)
    {
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
    }

    /// <summary>Stores the trained samples' losses as their scores (remembered scores only): free fresh scores.</summary>
    private void Remember(long[]? ids, Tensor losses)
    {
        if (Cache is not { } cache || ids is null)
        {
            return;
        }

        float[] values = losses.to(ScalarType.Float32).cpu().data<float>().ToArray();
        for (int j = 0; j < values.Length; j++)
        {
            cache.Set(ids[j], epoch, values[j]);
        }
    }

    private List<Tensor> SaveRunningStatistics()
    {
        var saved = new List<Tensor>(batchNorms.Count * 3);
        foreach (BatchNorm norm in batchNorms)
        {
            foreach (Tensor? buffer in new[] { norm.running_mean, norm.running_var, norm.num_batches_tracked })
            {
                if (buffer is not null)
                {
                    saved.Add(buffer.clone());
                }
            }
        }

        return saved;
    }

    private void RestoreRunningStatistics(List<Tensor>? saved)
    {
        if (saved is null)
        {
            return;
        }

        int i = 0;
        using var noGrad = no_grad();
        foreach (BatchNorm norm in batchNorms)
        {
            foreach (Tensor? buffer in new[] { norm.running_mean, norm.running_var, norm.num_batches_tracked })
            {
                if (buffer is not null)
                {
                    buffer.copy_(saved[i++]);
                }
            }
        }
    }

    private Batch TakePending(int size, Device device)
    {
        bool anyWeights = pending.Any(p => p.Weights is not null);
        Tensor input = cat(pending.Select(p => p.Input.On(device)).ToList(), 0);
        Tensor target = cat(pending.Select(p => p.Target.On(device)).ToList(), 0);
        Tensor? weights = anyWeights
            ? cat(pending.Select(p => p.Weights?.On(device) ?? ones(p.Input.shape[0], ScalarType.Float32, device)).Select(w => w.to(ScalarType.Float64)).ToList(), 0)
            : null;
        long[]? ids = pending.All(p => p.Ids is not null) ? pending.SelectMany(p => p.Ids!).ToArray() : null;
        long total = input.shape[0];
        ClearPending();
        if (total > size)
        {
            long rest = total - size;
            pending.Add(new Pending(
                input.narrow(0, size, rest).clone().DetachFromDisposeScope(),
                target.narrow(0, size, rest).clone().DetachFromDisposeScope(),
                weights?.narrow(0, size, rest).clone().DetachFromDisposeScope(),
                ids?.Skip(size).ToArray()));
        }

        return new Batch(input.narrow(0, 0, size), target.narrow(0, 0, size), weights?.narrow(0, 0, size), ids?.Take(size).ToArray());
    }

    private void ClearPending()
    {
        foreach (Pending p in pending)
        {
            p.Input.Dispose();
            p.Target.Dispose();
            p.Weights?.Dispose();
        }

        pending.Clear();
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
            return Cache is not null
                ? throw new ArgumentException(
                    $"Rule {Rule.Name} with {Scores} scores needs sampleIds: the dataset index of each sample, so its score can be " +
                    "remembered across steps and epochs. Pass them, or use ScoreSource.Fresh.", nameof(sampleIds))
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

    /// <summary>The dataset ids of the kept samples, when the step remembers scores (one small host copy); else null.</summary>
    private long[]? MemoryIds(long[]? ids, Tensor kept) => Cache is null || ids is null ? null : ToArray(kept).Select(i => ids[i]).ToArray();

    private static long[] ToArray(Tensor indices)
    {
        using var scope = NewDisposeScope();
        return indices.to(ScalarType.Int64).cpu().data<long>().ToArray();
    }

    private static void WriteBlock(BinaryWriter writer, Action<BinaryWriter>? write)
    {
        if (write is null)
        {
            writer.Write(-1);
            return;
        }

        using var buffer = new MemoryStream();
        using (var inner = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            write(inner);
        }

        writer.Write(checked((int)buffer.Length));
        writer.Write(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static byte[]? ReadBlock(BinaryReader reader)
    {
        int length = reader.ReadInt32();
        if (length < -1)
        {
            throw new InvalidDataException($"The saved step holds a block of {length} bytes.");
        }

        if (length == -1)
        {
            return null;
        }

        byte[] block = reader.ReadBytes(length);
        return block.Length == length ? block : throw new EndOfStreamException();
    }

    private static void WriteTensor(BinaryWriter writer, Tensor value)
    {
        using Tensor onHost = value.detach().cpu().contiguous();
        writer.Write((int)onHost.dtype);
        writer.Write(onHost.dim());
        foreach (long d in onHost.shape)
        {
            writer.Write(d);
        }

        ReadOnlySpan<byte> bytes = onHost.bytes;
        writer.Write(bytes.Length);
        writer.Write(bytes);
    }

    private static Tensor ReadTensor(BinaryReader reader)
    {
        var dtype = (ScalarType)reader.ReadInt32();
        long dims = reader.ReadInt64();
        if (!Enum.IsDefined(dtype) || dims < 0 || dims > 16)
        {
            throw new InvalidDataException($"The saved step holds a tensor of dtype {dtype} with {dims} dimensions.");
        }

        long[] shape = new long[dims];
        for (int i = 0; i < dims; i++)
        {
            shape[i] = reader.ReadInt64();
        }

        int length = reader.ReadInt32();
        byte[] data = reader.ReadBytes(length);
        if (data.Length != length)
        {
            throw new EndOfStreamException();
        }

        Tensor result = empty(shape, dtype);
        if (result.bytes.Length != length)
        {
            result.Dispose();
            throw new InvalidDataException($"The saved step holds a tensor of shape [{string.Join(", ", shape)}] and {dtype} with {length} bytes.");
        }

        data.CopyTo(result.bytes);
        return result.DetachFromDisposeScope();
    }

    /// <summary>Scores of a batch, the positions without a remembered score, and how many samples a scoring pass ran over.</summary>
    private sealed record Scored(Tensor? Values, List<long>? Unseen, long Count);

    /// <summary>Kept samples waiting for a full batch, held outside any dispose scope.</summary>
    private sealed record Pending(Tensor Input, Tensor Target, Tensor? Weights, long[]? Ids);

    /// <summary>A batch taken from the waiting samples.</summary>
    private sealed record Batch(Tensor Input, Tensor Target, Tensor? Weights, long[]? Ids);
}
