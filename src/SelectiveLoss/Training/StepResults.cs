using System;
using SelectiveLoss.Internal;
using static TorchSharp.torch;

namespace SelectiveLoss.Training;

/// <summary>The one place a <see cref="StepResult"/> is made, and where its exactness is decided: the selection's own
/// (fresh scores, no coupling; see <see cref="SelectedBatch.IsExact"/>), and no accumulated batch.</summary>
internal static class StepResults
{
    public static StepResult Of(SelectiveStep step, SelectedBatch selected, TrainingOutcome outcome, TimeSpan scoring, TimeSpan total) =>
        new(outcome.Loss, selected.Positions)
        {
            BatchSize = selected.BatchSize,
            KeepRatio = selected.KeepRatio,
            Rule = step.Rule.Name,
            Scores = step.Scores,
            Execution = step.Execution,
            ScoredSamples = selected.ScoredSamples,
            Updated = outcome.Loss is not null,
            TrainedCount = outcome.TrainedCount,
            IsExact = selected.IsExact && !outcome.Accumulated,
            ScoringTime = scoring,
            TrainingTime = total - scoring,
        };

    /// <summary>A flush: an accumulated batch, no batch of its own.</summary>
    public static StepResult Flushed(SelectiveStep step, TrainingOutcome outcome, TimeSpan total) =>
        new(outcome.Loss, HeldScalars.Arange(0, 0, CPU))
        {
            BatchSize = 0,
            Rule = step.Rule.Name,
            Scores = step.Scores,
            Execution = step.Execution,
            Updated = true,
            TrainedCount = outcome.TrainedCount,
            IsExact = false,
            TrainingTime = total,
        };
}
