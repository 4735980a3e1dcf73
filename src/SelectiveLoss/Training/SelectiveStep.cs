using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using SelectiveLoss.Normalization;
using SelectiveLoss.Selection;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SelectiveLoss.Training;

/// <summary>
/// One training step on a selected part of the minibatch, done so that the selection saves time. Three independent
/// choices make a step: where the scores come from (<see cref="ScoreSource"/>), which samples to keep and with what
/// weight (an <see cref="ISelectionRule"/>, see <see cref="SelectionRules"/>), and how the update runs
/// (<see cref="StepExecution"/>). It is a <see cref="BatchSelector"/> with the update written for you: to clip gradients,
/// scale the loss or step a scheduler between backward and step, drive a <see cref="BatchSelector"/> from your own loop.
/// </summary>
/// <remarks>
/// <see cref="StepExecution.Rebatched"/> scores the batch without gradients (about a quarter of a training step), then
/// runs forward and backward on the kept samples only; the masked <c>topk</c> loss costs a full step. Rebatching is exact
/// only when no module mixes samples: with BatchNorm the step warns once (or refuses, <see cref="CouplingPolicy.Refuse"/>);
/// swap it first with <see cref="NormalizationSwapper.ReplaceBatchNorm"/>. Each step runs in its own dispose scope.
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
    private readonly BatchSelector selector;
    private readonly IBatchTraining training;
    private readonly IStepExecution execution;
    private readonly Updater updater;

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
    /// <see cref="BatchSelectorOptions.Reduction"/> contradicts the reducer's.</exception>
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
    /// needs <see cref="BatchSelectorOptions.TotalEpochs"/> and it is not set.</exception>
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
        BatchChecks.Options(options, rule);
        BatchChecks.OptimizerCoversModel(model, optimizer);
        bool masked = options.Execution == StepExecution.Masked;
        selector = new BatchSelector(model, rule, options, checkCoupling: !masked, allowEmpty: options.AccumulateToBatchSize is not null);
        updater = new Updater(optimizer);
        training = new DirectTraining(model, updater, selector);
        if (options.AccumulateToBatchSize is int size)
        {
            training = new AccumulatingTraining(training, size);
        }

        execution = masked ? new MaskedExecution(model, updater, selector) : new RebatchedExecution(selector, training);
    }

    /// <summary>Gets the rule every step selects with.</summary>
    public ISelectionRule Rule => selector.Rule;

    /// <summary>Gets where the scores come from.</summary>
    public ScoreSource Scores => selector.Scores;

    /// <summary>Gets how the update runs.</summary>
    public StepExecution Execution => execution.Kind;

    /// <summary>
    /// Gets or sets the current zero-based epoch: it sets the keep ratio of a scheduled rule, InfoBatch's annealing and
    /// the age of cached scores. Set it at the start of each epoch.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to a negative value.</exception>
    public int Epoch
    {
        get => selector.Epoch;
        set => selector.Epoch = value;
    }

    /// <summary>Gets the score memory of <see cref="ScoreSource.Cached"/> and <see cref="ScoreSource.LastTrainingLoss"/>;
    /// null with fresh scores.</summary>
    public ScoreMemory? Memory => selector.Memory;

    /// <summary>Gets a value indicating whether the model couples samples in training mode (checked once, at construction).</summary>
    public bool ModelCouplesSamples => selector.ModelCouplesSamples;

    /// <summary>Gets the messages about the step's exactness, each given once (for example, that the model couples samples).</summary>
    public IReadOnlyList<string> Diagnostics => selector.Diagnostics;

    /// <summary>Gets the keep ratio the rule means at the current <see cref="Epoch"/>, or null for rules whose kept share varies.</summary>
    /// <exception cref="InvalidOperationException">The rule's schedule returns a ratio outside (0, 1].</exception>
    public double? KeepRatio => selector.KeepRatio;

    /// <summary>Gets how many kept samples wait for a full batch (<see cref="SelectiveStepOptions.AccumulateToBatchSize"/>).</summary>
    public int PendingCount => training.PendingCount;

    /// <summary>Runs one training step.</summary>
    /// <param name="input">The batch, with samples along dimension 0, on the model's device.</param>
    /// <param name="target">The targets, with the same number of samples as <paramref name="input"/>.</param>
    /// <param name="sampleIds">Dataset ids of the samples, a 1-D integer tensor without duplicates; required with
    /// <see cref="ScoreSource.Cached"/> and <see cref="ScoreSource.LastTrainingLoss"/>, checked but unused otherwise.</param>
    /// <returns>What the step did; the loss and kept positions are read from the device only when asked for.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="input"/> or <paramref name="target"/> is null.</exception>
    /// <exception cref="ArgumentException">The batch is empty, the batch sizes differ, or the ids are missing (when the
    /// scores are remembered), of the wrong shape or type, duplicated, negative or not below
    /// <see cref="BatchSelectorOptions.DatasetSize"/>.</exception>
    /// <exception cref="InvalidOperationException">The per-sample loss function does not return one loss per sample, a
    /// rule of your own returns duplicated, out-of-range or no positions or negative or non-finite weights, or a schedule
    /// returns a ratio outside (0, 1]. Detected before any parameter changes; the message names the rule.</exception>
    /// <exception cref="NonFiniteLossException">The loss or a gradient is NaN or infinite; the optimiser step was skipped
    /// and the model, optimiser and selection state are as they were.</exception>
    /// <exception cref="Numerics.NumericsFaultException">LibTorch's convolutions give wrong results on this CPU and no
    /// mitigation made them right (<see cref="Numerics.NumericsCheck"/>, run once per process before the first step).</exception>
    /// <remarks>If the step throws before the optimiser step begins (a bad batch, or a native error in forward or
    /// backward), the model, the optimiser and the selection state (generator, rule, score memory, waiting samples,
    /// BatchNorm's running statistics) are left as they were, so the batch can be retried.</remarks>
    public StepResult Step(Tensor input, Tensor target, Tensor? sampleIds = null)
    {
        BatchChecks.Batch(input, target);
        Numerics.NumericsCheck.EnsureChecked();
        using var scope = NewDisposeScope();
        var clock = Stopwatch.StartNew();
        updater.Reset();
        try
        {
            (SelectedBatch selected, TrainingOutcome outcome, TimeSpan scoring) = execution.Run(input, target, sampleIds);
            return StepResults.Of(this, selected, outcome, scoring, clock.Elapsed);
        }
        catch when (!updater.Stepped)
        {
            training.Rollback();
            selector.Rollback();
            throw;
        }
    }

    /// <summary>
    /// Trains on the kept samples still waiting for a full batch (<see cref="SelectiveStepOptions.AccumulateToBatchSize"/>),
    /// for example at the end of training; does nothing when none wait.
    /// </summary>
    /// <returns>What the update did, or null when nothing was waiting.</returns>
    public StepResult? Flush()
    {
        using var scope = NewDisposeScope();
        var clock = Stopwatch.StartNew();
        return training.Flush() is { } outcome ? StepResults.Flushed(this, outcome, clock.Elapsed) : null;
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
        using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        using SelectorState state = selector.Capture();
        new StepState(Execution, state, training.Pending).Write(writer);
    }

    /// <summary>Restores the state <see cref="Save"/> wrote. The stream is read and checked whole before anything changes.</summary>
    /// <param name="stream">A readable, seekable stream positioned where <see cref="Save"/> started writing; it is left open.</param>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is null.</exception>
    /// <exception cref="InvalidDataException">The stream does not hold a saved step, is truncated, or was saved by a step
    /// with another rule, score source or execution.</exception>
    public void Load(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var reader = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        using StepState state = StepState.Read(reader, selector.Memory?.Policy ?? new CachePolicy());
        try
        {
            if (state.Execution != Execution)
            {
                throw new InvalidDataException(
                    $"The saved step used {state.Execution} execution; this step uses {Execution}. Resume with the options of the saved run.");
            }

            if (state.Pending.Count > 0 && training is not AccumulatingTraining)
            {
                throw new InvalidDataException("The saved step holds samples waiting for a full batch, but this step does not accumulate.");
            }

            selector.Restore(state.Selector);
        }
        catch
        {
            state.DisposePending();
            throw;
        }

        training.Restore(state.Pending);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        training.Dispose();
        selector.Dispose();
    }

    private static ISelectionRule RuleFor(SelectiveLossReducer reducer)
    {
        ArgumentNullException.ThrowIfNull(reducer);
        return reducer.Largest ? SelectionRules.Highest(reducer.KeepRatio) : SelectionRules.Lowest(reducer.KeepRatio);
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
}
