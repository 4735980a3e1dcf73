using System;
using System.Diagnostics;
using static TorchSharp.torch;

namespace SelectiveLoss.Training;

/// <summary><see cref="StepExecution.Rebatched"/>: the selector scores and chooses without gradients, then the kept
/// samples train as a smaller batch (at once, or accumulated to full batches).</summary>
internal sealed class RebatchedExecution(BatchSelector selector, IBatchTraining training) : IStepExecution
{
    public StepExecution Kind => StepExecution.Rebatched;

    public (SelectedBatch Selected, TrainingOutcome Outcome, TimeSpan Scoring) Run(Tensor input, Tensor target, Tensor? sampleIds)
    {
        var clock = Stopwatch.StartNew();
        SelectedBatch selected = selector.Select(input, target, sampleIds);
        TimeSpan scoring = clock.Elapsed;
        return (selected, training.Train(selected), scoring);
    }
}
