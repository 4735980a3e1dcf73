namespace Cifar100Training;

/// <summary>One run and seed in summary.csv: accuracies (fractions) and times (seconds of training).</summary>
/// <param name="Status">ok, or failed (a run that still died of native errors after its restarts; its numbers are those it reached).</param>
/// <param name="TimeToTargetSeconds">Training time at the first evaluation at or above the target; null when never reached.</param>
/// <param name="TimeToTargetRatio">That time divided by the same seed's first run's; null when either never reached the target.</param>
/// <param name="AccuracyAtBaselineTime">Test accuracy at the last evaluation within the first run's whole training time
/// (same seed): what the run had when the baseline finished; its final accuracy if it finished sooner.</param>
/// <param name="Target">The target accuracy of this seed.</param>
internal sealed record SummaryRow(string Run, ulong Seed, string Status, int Restarts, double FinalAccuracy, double BestAccuracy, double TrainSeconds,
    double? TimeToTargetSeconds, double? TimeToTargetRatio, double? AccuracyAtBaselineTime, double Target);
