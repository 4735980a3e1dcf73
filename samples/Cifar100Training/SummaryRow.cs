namespace Cifar100Training;

/// <summary>One line of summary.csv: a run as written in --compare, its accuracies (fractions) and times (seconds of training).</summary>
/// <param name="TimeToTargetSeconds">Training time at the end of the first epoch at or above the target; null when never reached.</param>
/// <param name="TimeToTargetRatio">That time divided by the first run's; null when either never reached the target.</param>
internal sealed record SummaryRow(string Run, double FinalAccuracy, double BestAccuracy, double TrainSeconds, double? TimeToTargetSeconds, double? TimeToTargetRatio);
