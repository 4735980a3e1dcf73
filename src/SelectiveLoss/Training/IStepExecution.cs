using System;
using static TorchSharp.torch;

namespace SelectiveLoss.Training;

/// <summary>How a <see cref="SelectiveStep"/> turns a batch into an update (<see cref="StepExecution"/>).</summary>
internal interface IStepExecution
{
    StepExecution Kind { get; }

    /// <summary>Selects and trains one batch.</summary>
    (SelectedBatch Selected, TrainingOutcome Outcome, TimeSpan Scoring) Run(Tensor input, Tensor target, Tensor? sampleIds);
}
