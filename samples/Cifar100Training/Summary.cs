using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace Cifar100Training;

/// <summary>
/// The comparison of the runs: final and best test accuracy, training time, and the time to a target accuracy. The
/// target is the first run's final accuracy minus <see cref="DefaultMargin"/> (0.5 points), or --target-accuracy. A
/// run's time to target is its training time (evaluation excluded) at the end of the first epoch whose test accuracy
/// is at least the target: accuracy is measured once per epoch, so the resolution is one epoch. Its ratio is that time
/// divided by the first run's own time to the same target.
/// </summary>
internal sealed record Summary(double Target, bool TargetGiven, IReadOnlyList<SummaryRow> Rows)
{
    /// <summary>How far below the first run's final accuracy the default target lies, as a fraction (0.5 points).</summary>
    public const double DefaultMargin = 0.005;

    /// <summary>The header of summary.csv, exactly.</summary>
    public const string Header = "run,final_accuracy,best_accuracy,train_seconds,time_to_target_seconds,time_to_target_ratio";

    /// <summary>Computes the summary of <paramref name="runs"/> (the first is the reference); a pure function of the metrics.</summary>
    /// <param name="runs">Each run's name and per-epoch metrics, in --compare order; each has at least one epoch.</param>
    /// <param name="targetAccuracy">The target as a fraction, or null for the first run's final accuracy minus 0.005.</param>
    /// <exception cref="ArgumentException">No runs, or a run without metrics.</exception>
    public static Summary Compute(IReadOnlyList<(string Name, IReadOnlyList<EpochMetrics> Metrics)> runs, double? targetAccuracy)
    {
        ArgumentNullException.ThrowIfNull(runs);
        if (runs.Count == 0)
        {
            throw new ArgumentException("At least one run is needed.", nameof(runs));
        }

        if (runs.FirstOrDefault(r => r.Metrics.Count == 0) is { Name: { } empty })
        {
            throw new ArgumentException($"Run {empty} has no epochs.", nameof(runs));
        }

        double target = targetAccuracy ?? runs[0].Metrics[^1].TestAccuracy - DefaultMargin;
        double? reference = TimeToTarget(runs[0].Metrics, target);
        var rows = runs.Select(r =>
        {
            double? time = TimeToTarget(r.Metrics, target);
            return new SummaryRow(
                r.Name,
                r.Metrics[^1].TestAccuracy,
                r.Metrics.Max(m => m.TestAccuracy),
                r.Metrics[^1].TrainSeconds,
                time,
                time is { } t && reference is > 0 ? t / reference.Value : null);
        }).ToList();
        return new Summary(target, targetAccuracy is not null, rows);
    }

    /// <summary>The training time at the end of the first epoch whose test accuracy is at least <paramref name="target"/>; null if none is.</summary>
    public static double? TimeToTarget(IEnumerable<EpochMetrics> metrics, double target)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        foreach (var m in metrics)
        {
            if (m.TestAccuracy >= target)
            {
                return m.TrainSeconds;
            }
        }

        return null;
    }

    /// <summary>summary.csv: the header and one row per run; accuracies as fractions; empty cells where the target was never reached.</summary>
    public string ToCsv()
    {
        var text = new StringBuilder(Header).Append('\n');
        foreach (var r in Rows)
        {
            text.Append(CultureInfo.InvariantCulture,
                $"{r.Run},{r.FinalAccuracy:R},{r.BestAccuracy:R},{r.TrainSeconds:0.###},{r.TimeToTargetSeconds:0.###},{r.TimeToTargetRatio:0.####}").Append('\n');
        }

        return text.ToString();
    }

    /// <summary>The line printed above the table: what the target is and where it comes from.</summary>
    public string Describe() => TargetGiven
        ? string.Create(CultureInfo.InvariantCulture, $"Target: {Target:P1} test accuracy (--target-accuracy). Accuracy is measured once per epoch: times to target are at the end of an epoch.")
        : string.Create(CultureInfo.InvariantCulture,
            $"Target: {Target:P1} test accuracy ({Rows[0].Run}'s final {Rows[0].FinalAccuracy:P1} minus 0.5 points). Accuracy is measured once per epoch: times to target are at the end of an epoch.");
}
