using static TorchSharp.torch;

namespace SelectiveLoss.Training;

/// <summary>What an <see cref="ISelectionRule"/> sees of a batch when it selects.</summary>
public sealed class SelectionContext
{
    internal SelectionContext(Tensor? scores, long batchSize, int epoch, int? totalEpochs, long step, double? scoreMean, Generator generator, Device device)
    {
        Scores = scores;
        BatchSize = batchSize;
        Epoch = epoch;
        TotalEpochs = totalEpochs;
        Step = step;
        ScoreMean = scoreMean;
        Generator = generator;
        Device = device;
    }

    /// <summary>Gets the per-sample scores (losses), 1-D with <see cref="BatchSize"/> entries on <see cref="Device"/>,
    /// detached; null when the rule does not use scores. Do not modify it.</summary>
    public Tensor? Scores { get; }

    /// <summary>Gets the number of samples to select from.</summary>
    public long BatchSize { get; }

    /// <summary>Gets the zero-based epoch (<see cref="SelectiveStep.Epoch"/>).</summary>
    public int Epoch { get; }

    /// <summary>Gets the number of epochs of the run (<see cref="SelectiveStepOptions.TotalEpochs"/>), if known.</summary>
    public int? TotalEpochs { get; }

    /// <summary>Gets how many steps the <see cref="SelectiveStep"/> ran before this one.</summary>
    public long Step { get; }

    /// <summary>Gets the mean of every score the step remembers (with <see cref="ScoreSource.Cached"/> or
    /// <see cref="ScoreSource.LastTrainingLoss"/>): a dataset-wide reference, where the batch mean is all a fresh
    /// pass gives. Null with fresh scores.</summary>
    public double? ScoreMean { get; }

    /// <summary>Gets the step's random generator (CPU). Draw random numbers from it only, so that a run is
    /// reproducible and a resumed run draws as an uninterrupted one.</summary>
    public Generator Generator { get; }

    /// <summary>Gets the device of the batch, where the returned positions and weights must live.</summary>
    public Device Device { get; }
}
