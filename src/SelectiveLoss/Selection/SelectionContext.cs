using System;
using static TorchSharp.torch;

namespace SelectiveLoss.Selection;

/// <summary>What an <see cref="ISelectionRule"/> sees of a batch when it selects.</summary>
/// <remarks>The library makes one per step; make one yourself to unit-test a rule (see the constructor).</remarks>
public sealed class SelectionContext
{
    /// <summary>
    /// Creates a context: what a step hands a rule, and what a test of your own rule hands it (no model needed).
    /// </summary>
    /// <param name="scores">The per-sample scores (losses) of the batch, 1-D floating point; null for a rule that does not
    /// use scores (then give <paramref name="batchSize"/>).</param>
    /// <param name="batchSize">The number of samples; null to take it from <paramref name="scores"/>.</param>
    /// <param name="epoch">The zero-based epoch.</param>
    /// <param name="totalEpochs">The number of epochs of the run, if known.</param>
    /// <param name="generator">The random generator the rule draws from; null for a new CPU generator seeded 0.</param>
    /// <param name="device">The device of the batch; null for the scores' device (the CPU without scores).</param>
    /// <param name="step">How many steps ran before this one.</param>
    /// <param name="scoreMean">The mean of every remembered score (a dataset-wide reference), if any.</param>
    /// <exception cref="ArgumentException"><paramref name="scores"/> is not 1-D floating point, or disagrees with
    /// <paramref name="batchSize"/>, or neither gives the batch size.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A count is out of range: batch size below 1, a negative epoch or
    /// step, or total epochs below 1.</exception>
    /// <example>
    /// <code>
    /// var context = new SelectionContext(torch.tensor(new[] { 0.3f, 2.0f, 0.1f, 0.9f }), epoch: 2, totalEpochs: 10);
    /// SampleSelection kept = myRule.Choose(context);   // unit-test a rule of your own without a model
    /// </code>
    /// </example>
    public SelectionContext(Tensor? scores, long? batchSize = null, int epoch = 0, int? totalEpochs = null, Generator? generator = null,
        Device? device = null, long step = 0, double? scoreMean = null)
    {
        if (scores is not null && (scores.dim() != 1 || !scores.is_floating_point()))
        {
            throw new ArgumentException(
                $"scores must be a 1-D floating-point tensor with one score per sample, but has shape [{string.Join(", ", scores.shape)}] and dtype {scores.dtype}.",
                nameof(scores));
        }

        long n = batchSize ?? scores?.shape[0] ?? throw new ArgumentException("Give scores or batchSize: a rule needs the number of samples.", nameof(batchSize));
        if (scores is not null && scores.shape[0] != n)
        {
            throw new ArgumentException($"scores holds {scores.shape[0]} scores but batchSize is {n}.", nameof(batchSize));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1, nameof(batchSize));
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        if (totalEpochs is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(totalEpochs), totalEpochs, "totalEpochs must be at least 1, or null when unknown.");
        }

        Scores = scores;
        BatchSize = n;
        Epoch = epoch;
        TotalEpochs = totalEpochs;
        Step = step;
        ScoreMean = scoreMean;
        Generator = generator ?? new Generator(0, CPU);
        Device = device ?? scores?.device ?? CPU;
    }

    /// <summary>Gets the per-sample scores (losses), 1-D with <see cref="BatchSize"/> entries on <see cref="Device"/>,
    /// detached; null when the rule does not use scores. Do not modify it.</summary>
    public Tensor? Scores { get; }

    /// <summary>Gets the number of samples to select from.</summary>
    public long BatchSize { get; }

    /// <summary>Gets the zero-based epoch.</summary>
    public int Epoch { get; }

    /// <summary>Gets the number of epochs of the run, if known.</summary>
    public int? TotalEpochs { get; }

    /// <summary>Gets how many steps ran before this one.</summary>
    public long Step { get; }

    /// <summary>Gets the mean of every remembered score (with <see cref="Training.ScoreSource.Cached"/> or
    /// <see cref="Training.ScoreSource.LastTrainingLoss"/>): a dataset-wide reference, where the batch mean is all a fresh
    /// pass gives. Null with fresh scores.</summary>
    public double? ScoreMean { get; }

    /// <summary>Gets the step's random generator (CPU). Draw random numbers from it only, so that a run is
    /// reproducible and a resumed run draws as an uninterrupted one.</summary>
    public Generator Generator { get; }

    /// <summary>Gets the device of the batch, where the returned positions and weights must live.</summary>
    public Device Device { get; }
}
