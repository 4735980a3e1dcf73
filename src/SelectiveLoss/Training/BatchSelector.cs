using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using SelectiveLoss.Internal;
using SelectiveLoss.Selection;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SelectiveLoss.Training;

/// <summary>
/// Selection for a training loop you write yourself: <see cref="Select"/> scores a batch (as <see cref="ScoreSource"/>
/// says) and returns the part the rule keeps as a smaller batch; you run the forward pass on it, hand the per-sample
/// losses to <see cref="Loss"/> for the loss to backpropagate, and own <c>zero_grad</c>, <c>backward</c>, gradient
/// clipping, loss scaling and <c>optimizer.step()</c>. <see cref="SelectiveStep"/> is this loop, written for you.
/// </summary>
/// <remarks>
/// On a model with BatchNorm, a fresh scoring pass over the whole batch runs in training mode and sets the running
/// statistics (<see cref="BatchNormStatistics.WholeBatch"/>); they are then held as they are through your forward pass
/// on the kept samples, until <see cref="Loss"/> (or the next <see cref="Select"/>). Call <see cref="Loss"/> after
/// your forward pass on <see cref="SelectedBatch.Input"/>.
/// </remarks>
/// <example>
/// <code>
/// using var selector = new BatchSelector(model, SelectionRules.Lowest(0.6));
/// SelectedBatch kept = selector.Select(x, y);               // no-grad scoring, the 60% lowest losses
/// var perSample = nn.functional.cross_entropy(model.forward(kept.Input), kept.Target, reduction: nn.Reduction.None);
/// Tensor loss = selector.Loss(kept, perSample);             // the rule's weighted mean; scores remembered
/// optimizer.zero_grad();
/// loss.backward();
/// nn.utils.clip_grad_norm_(model.parameters(), 1.0);
/// optimizer.step();
/// </code>
/// </example>
public sealed class BatchSelector : IDisposable
{
    private const int StateMagic = 0x4C455353; // "SSEL"
    private const int StateVersion = 2;

    private readonly Module<Tensor, Tensor> model;
    private readonly BatchSelectorOptions options;
    private readonly BatchNormHandling norms;
    private readonly Scorer scorer;
    private readonly RuleRunner runner;
    private readonly Generator generator;
    private int epoch;
    private SelectionUndo? undo;

    /// <summary>Creates a selector.</summary>
    /// <param name="model">The model whose losses score the batches.</param>
    /// <param name="rule">Which samples to keep, and their weights; see <see cref="SelectionRules"/>.</param>
    /// <param name="options">Scores, reduction and the rest; null for the defaults.</param>
    /// <exception cref="ArgumentNullException">A required argument is null.</exception>
    /// <exception cref="ArgumentException">The rule needs <see cref="BatchSelectorOptions.TotalEpochs"/> and it is not set.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range or not defined.</exception>
    /// <exception cref="InvalidOperationException">The model couples samples in training mode and the options say
    /// <see cref="CouplingPolicy.Refuse"/>.</exception>
    public BatchSelector(Module<Tensor, Tensor> model, ISelectionRule rule, BatchSelectorOptions? options = null)
        : this(model, rule, options ?? new BatchSelectorOptions(), checkCoupling: true, allowEmpty: false)
    {
    }

    internal BatchSelector(Module<Tensor, Tensor> model, ISelectionRule rule, BatchSelectorOptions options, bool checkCoupling, bool allowEmpty)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(rule);
        ArgumentNullException.ThrowIfNull(options);
        BatchChecks.Options(options, rule);
        this.model = model;
        this.options = options;
        Rule = rule;
        Scores = options.Scores ?? rule.DefaultScores;
        LossFunction = new LossFunction(options.PerSampleLoss, options.Reduction ?? LossReduction.Mean);
        norms = new BatchNormHandling(model, options.CouplingPolicy, options.BatchNormStatistics, checkCoupling);
        scorer = Scorer.For(rule.UsesScores ? Scores : ScoreSource.Fresh, model, LossFunction, norms, options);
        runner = new RuleRunner(rule, allowEmpty);
        generator = new Generator(options.Seed, CPU);
    }

    /// <summary>Gets the rule every batch is selected with.</summary>
    public ISelectionRule Rule { get; }

    /// <summary>Gets where the scores come from.</summary>
    public ScoreSource Scores { get; }

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

    /// <summary>Gets how many batches were selected so far.</summary>
    public long Steps { get; private set; }

    /// <summary>Gets the keep ratio the rule means at the current <see cref="Epoch"/> (its schedule applied), or null for
    /// rules whose kept share varies by batch.</summary>
    /// <exception cref="InvalidOperationException">The rule's schedule returns a ratio outside (0, 1].</exception>
    public double? KeepRatio => Rule switch
    {
        ScheduledRule scheduled => scheduled.RatioAt(epoch),
        IKeepRatioRule keepRatio => keepRatio.KeepRatio,
        _ => null,
    };

    /// <summary>Gets the score memory of <see cref="ScoreSource.Cached"/> and <see cref="ScoreSource.LastTrainingLoss"/>;
    /// null with fresh scores and for rules that read no scores.</summary>
    public ScoreMemory? Memory => scorer.Memory;

    /// <summary>Gets a value indicating whether the model couples samples in training mode (checked once, at construction).</summary>
    public bool ModelCouplesSamples => norms.Coupled;

    /// <summary>Gets the messages about exactness, each given once (for example, that the model couples samples).</summary>
    public IReadOnlyList<string> Diagnostics => norms.Diagnostics;

    internal LossFunction LossFunction { get; }

    /// <summary>
    /// Scores a batch and returns the part the rule keeps. Nothing is trained and no parameter changes; a scoring pass
    /// runs without gradients.
    /// </summary>
    /// <param name="input">The batch, with samples along dimension 0, on the model's device.</param>
    /// <param name="target">The targets, with the same number of samples as <paramref name="input"/>.</param>
    /// <param name="sampleIds">Dataset ids of the samples (a 1-D integer tensor without duplicates); required with
    /// <see cref="ScoreSource.Cached"/> and <see cref="ScoreSource.LastTrainingLoss"/>, checked and carried otherwise.</param>
    /// <returns>The kept samples, their weights and ids.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="input"/> or <paramref name="target"/> is null.</exception>
    /// <exception cref="ArgumentException">The batch is empty, the batch sizes differ, or the ids are missing (when the
    /// scores are remembered), of the wrong shape or type, duplicated, negative or not below the dataset size.</exception>
    /// <exception cref="InvalidOperationException">The loss function does not return one loss per sample, a rule of your
    /// own returns an invalid selection, or a schedule returns a ratio outside (0, 1]; the message names the rule.</exception>
    /// <exception cref="Numerics.NumericsFaultException">LibTorch's convolutions give wrong results on this CPU and no
    /// mitigation made them right (<see cref="Numerics.NumericsCheck"/>, run once per process before the first selection).</exception>
    public SelectedBatch Select(Tensor input, Tensor target, Tensor? sampleIds = null)
    {
        long n = BatchChecks.Batch(input, target);
        long[]? ids = CheckIds(sampleIds, n);
        Numerics.NumericsCheck.EnsureChecked();
        BeginUndo();
        var clock = Stopwatch.StartNew();
        using var scope = NewDisposeScope();
        BatchScores scored = Rule.UsesScores ? scorer.Score(input, target, n, ids, epoch) : BatchScores.None;
        SelectedBatch selected = Choose(input, target, sampleIds, n, scored, clock);
        if (scored.HoldStatistics)
        {
            norms.Hold();
        }

        norms.WarnOnce();
        return selected;
    }

    /// <summary>
    /// The loss to backpropagate from the kept samples' per-sample losses: their weighted mean (or sum, as
    /// <see cref="BatchSelectorOptions.Reduction"/> says), with the rule's weights. Remembers them as scores where the
    /// score source keeps training losses, and ends the hold on BatchNorm's running statistics.
    /// </summary>
    /// <param name="batch">What <see cref="Select"/> returned.</param>
    /// <param name="perSampleLoss">One loss per kept sample, in the order of <paramref name="batch"/>, with gradient
    /// (for example <c>cross_entropy(model.forward(batch.Input), batch.Target, reduction: None)</c>).</param>
    /// <returns>A scalar tensor to call <c>backward()</c> on.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="perSampleLoss"/> is not one floating-point loss per kept sample.</exception>
    /// <exception cref="NonFiniteLossException">A kept sample's loss is NaN or infinite; nothing was remembered, and
    /// <see cref="Rollback"/> undoes the selection so the batch can be retried or skipped. (Gradients are yours: the
    /// library's own <see cref="SelectiveStep"/> checks them too.)</exception>
    public Tensor Loss(SelectedBatch batch, Tensor perSampleLoss)
    {
        ArgumentNullException.ThrowIfNull(batch);
        LossFunction.CheckKept(perSampleLoss, batch.KeptCount);
        FiniteChecks.PerSample(perSampleLoss);
        return Reduce(batch, perSampleLoss);
    }

    /// <summary><see cref="Loss(SelectedBatch, Tensor)"/> without its finiteness check, for the library's own step: its
    /// update checks the loss and the gradients before the optimiser step (one device read a step, not two), and its
    /// rollback undoes what was remembered.</summary>
    internal Tensor LossCheckedByTheUpdate(SelectedBatch batch, Tensor perSampleLoss)
    {
        LossFunction.CheckKept(perSampleLoss, batch.KeptCount);
        return Reduce(batch, perSampleLoss);
    }

    private Tensor Reduce(SelectedBatch batch, Tensor perSampleLoss)
    {
        norms.Release();
        if (Memory is not null && batch.SampleIds is { } keptIds)
        {
            scorer.RememberTrained(BatchChecks.ToArray(keptIds), perSampleLoss, epoch);
        }

        return LossFunction.Reduce(perSampleLoss, batch.Weights);
    }

    /// <summary>
    /// Undoes the last <see cref="Select"/> (and <see cref="Loss"/>): the random generator, the rule's state, the score
    /// memory, the step count and BatchNorm's running statistics are put back as they were before it, so the batch can be
    /// retried. Call it when your update failed before <c>optimizer.step()</c> (a parameter update cannot be undone here);
    /// it is possible until the next <see cref="Select"/>.
    /// </summary>
    /// <returns>Whether there was a selection to undo.</returns>
    public bool Rollback()
    {
        if (undo is not { } last)
        {
            return false;
        }

        undo = null;
        using (last)
        {
            last.Apply(generator, Rule, norms, Memory);
            Steps = last.Steps;
        }

        return true;
    }

    /// <summary>Writes the selector's state: epoch, step count, random generator, the rule's state and the score memory.
    /// With the model's and optimiser's state, a resumed run selects exactly as an uninterrupted one (on the CPU).</summary>
    /// <param name="stream">A writable stream; it is left open. Write it atomically (to a temporary file, then rename).</param>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is null.</exception>
    public void Save(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        StateFormat.WriteHeader(writer, StateMagic, StateVersion);
        using SelectorState state = Capture();
        state.Write(writer);
    }

    /// <summary>Restores what <see cref="Save"/> wrote; the stream is read and checked whole before anything changes.</summary>
    /// <param name="stream">A readable, seekable stream positioned where <see cref="Save"/> started writing; it is left open.</param>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is null.</exception>
    /// <exception cref="InvalidDataException">The stream does not hold a saved selector, is truncated, or was saved by a
    /// selector with another rule or score source.</exception>
    public void Load(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var reader = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        StateFormat.ReadHeader(reader, StateMagic, StateVersion, "a selector state written by BatchSelector.Save");
        using SelectorState state = StateFormat.Guard("selector state", () => SelectorState.Read(reader, options.CachePolicy));
        Restore(state);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        DropUndo();
        generator.Dispose();
    }

    /// <summary>Masked execution: the training forward computed every sample's loss, which scores the batch (call
    /// <see cref="BeginUndo"/> before that forward).</summary>
    internal SelectedBatch SelectFromGraph(Tensor input, Tensor target, Tensor? sampleIds, Tensor graphLosses)
    {
        long n = BatchChecks.Batch(input, target);
        long[]? ids = CheckIds(sampleIds, n);
        var clock = Stopwatch.StartNew();
        using var scope = NewDisposeScope();
        BatchScores scored = Rule.UsesScores ? scorer.ScoreFromGraph(graphLosses.detach(), n, ids, epoch) : BatchScores.None;
        return Choose(input, target, sampleIds, n, scored, clock);
    }

    /// <summary>Checks ids (before any work) as this selector's score source needs them.</summary>
    internal long[]? CheckIds(Tensor? sampleIds, long n) =>
        BatchChecks.Ids(sampleIds, n, options.DatasetSize, Rule.UsesScores && scorer.NeedsIds, Rule.Name, Scores);

    /// <summary>The state as an in-memory record (the caller disposes it).</summary>
    internal SelectorState Capture() =>
        new(Rule.Name, Scores, epoch, Steps, generator.get_state().DetachFromDisposeScope(), RuleState.Save(Rule), Memory);

    /// <summary>Applies a state read whole; the rule's state is the last thing that can refuse, and then nothing changed.</summary>
    /// <exception cref="InvalidDataException">The state belongs to another rule or score source, or its parts do not match.</exception>
    internal void Restore(SelectorState state)
    {
        state.CheckFits(Rule, Scores, Memory is not null);
        if (state.RuleState is not null)
        {
            RuleState.Load(Rule, state.RuleState);
        }

        generator.set_state(state.Generator);
        Memory?.CopyFrom(state.Memory!);
        (epoch, Steps) = (state.Epoch, state.Steps);
        DropUndo();
    }

    /// <summary>Forgets the previous selection's undo (it succeeded) and records what this one may change.</summary>
    internal void BeginUndo()
    {
        DropUndo();
        undo = new SelectionUndo(generator, Rule, Steps, norms, Memory);
    }

    private void DropUndo()
    {
        norms.Release();
        undo?.Dispose();
        undo = null;
    }

    private SelectedBatch Choose(Tensor input, Tensor target, Tensor? sampleIds, long n, BatchScores scored, Stopwatch clock)
    {
        SampleSelection selection = runner.Run(scored, n, input.device, epoch, options.TotalEpochs, Steps, Scores == ScoreSource.Fresh ? null : Memory?.Mean, generator);
        Steps++;
        Tensor kept = selection.Kept.MoveToOuterDisposeScope();
        var selected = new SelectedBatch(
            kept,
            input.index_select(0, kept.On(input.device)).MoveToOuterDisposeScope(),
            target.index_select(0, kept.On(target.device)).MoveToOuterDisposeScope(),
            selection.Weights?.MoveToOuterDisposeScope(),
            sampleIds?.index_select(0, kept.On(sampleIds.device)).MoveToOuterDisposeScope(),
            n,
            selection.KeepRatio,
            scored.ScoredSamples,
            isExact: scored.AreFresh && !norms.Coupled,
            clock.Elapsed);
        return selected;
    }
}
