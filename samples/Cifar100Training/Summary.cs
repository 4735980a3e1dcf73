using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace Cifar100Training;

/// <summary>
/// The comparison of the runs: per run and seed, final and best test accuracy, training time, the time to a target
/// accuracy and the accuracy at the baseline's training time; over seeds, their means and standard deviations. The target
/// of a seed is its first run's final accuracy minus <see cref="DefaultMargin"/> (0.5 points), or --target-accuracy. A
/// run's time to target is its training time (evaluation excluded) at its first evaluation at or above the target; its
/// ratio is that time divided by the same seed's first run's own time to the same target.
/// </summary>
internal sealed record Summary(bool TargetGiven, IReadOnlyList<SummaryRow> Rows, IReadOnlyList<SummaryAggregate> Aggregates, int SeedCount)
{
    /// <summary>How far below the first run's final accuracy the default target lies, as a fraction (0.5 points).</summary>
    public const double DefaultMargin = 0.005;

    /// <summary>The header of summary.csv, exactly.</summary>
    public const string Header = "run,seed,status,restarts,final_accuracy,best_accuracy,train_seconds,time_to_target_seconds,time_to_target_ratio,accuracy_at_baseline_time,target_accuracy";

    /// <summary>Computes the summary; a pure function of the results.</summary>
    /// <param name="results">Every run and seed so far, any order; the first entry of <paramref name="entries"/> is each seed's reference.</param>
    /// <param name="entries">The --compare entries, in order.</param>
    /// <param name="targetAccuracy">The target as a fraction, or null for each seed's first run's final accuracy minus 0.005.</param>
    /// <exception cref="ArgumentException">No results.</exception>
    public static Summary Compute(IReadOnlyList<RunResult> results, IReadOnlyList<string> entries, double? targetAccuracy)
    {
        ArgumentNullException.ThrowIfNull(results);
        ArgumentNullException.ThrowIfNull(entries);
        if (results.Count == 0)
        {
            throw new ArgumentException("At least one run is needed.", nameof(results));
        }

        ulong[] seeds = results.Select(r => r.Seed).Distinct().ToArray();
        var rows = new List<SummaryRow>();
        foreach (string entry in entries)
        {
            foreach (ulong seed in seeds)
            {
                if (results.FirstOrDefault(r => r.Name == entry && r.Seed == seed) is { } result)
                {
                    RunResult? baseline = results.FirstOrDefault(r => r.Name == entries[0] && r.Seed == seed && r.Metrics.Count > 0);
                    rows.Add(Row(result, baseline, targetAccuracy));
                }
            }
        }

        var aggregates = entries.Select(e => rows.Where(r => r.Run == e).ToList()).Where(g => g.Count > 0).Select(g => new SummaryAggregate(
            g[0].Run, g.Count, g.Count(r => r.Status != "ok"), g.Sum(r => r.Restarts),
            Stat.Of(g.Select(r => (double?)r.FinalAccuracy)), Stat.Of(g.Select(r => (double?)r.BestAccuracy)), Stat.Of(g.Select(r => (double?)r.TrainSeconds)),
            Stat.Of(g.Select(r => r.TimeToTargetSeconds)), Stat.Of(g.Select(r => r.TimeToTargetRatio)), Stat.Of(g.Select(r => r.AccuracyAtBaselineTime)),
            g.Count(r => r.TimeToTargetSeconds is not null))).ToList();
        return new Summary(targetAccuracy is not null, rows, aggregates, seeds.Length);
    }

    /// <summary>The training time at the first evaluation whose test accuracy is at least <paramref name="target"/>; null if none is.</summary>
    public static double? TimeToTarget(IEnumerable<EpochMetrics> metrics, double target)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        return metrics.FirstOrDefault(m => m.TestAccuracy >= target)?.TrainSeconds;
    }

    /// <summary>The test accuracy at the last evaluation at or before <paramref name="seconds"/> of training; null if none is.</summary>
    public static double? AccuracyAt(IReadOnlyList<EpochMetrics> metrics, double seconds)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        return metrics.LastOrDefault(m => m.TrainSeconds <= seconds * (1 + 1e-9))?.TestAccuracy;
    }

    /// <summary>summary.csv: a row per run and seed (accuracies as fractions; empty cells where a number does not exist),
    /// then, with several seeds, a <c>mean</c> and a <c>std</c> row per run (the mean row's status says how many seeds
    /// reached the target, its restarts are the total).</summary>
    public string ToCsv()
    {
        var text = new StringBuilder(Header).Append('\n');
        foreach (SummaryRow r in Rows)
        {
            text.Append(CultureInfo.InvariantCulture,
                $"{r.Run},{r.Seed},{r.Status},{r.Restarts},{r.FinalAccuracy:R},{r.BestAccuracy:R},{r.TrainSeconds:0.###},{r.TimeToTargetSeconds:0.###},{r.TimeToTargetRatio:0.####},{r.AccuracyAtBaselineTime:R},{r.Target:R}")
                .Append('\n');
        }

        if (SeedCount > 1)
        {
            foreach (SummaryAggregate a in Aggregates)
            {
                text.Append(CultureInfo.InvariantCulture,
                    $"{a.Run},mean,reached {a.Reached}/{a.Seeds},{a.Restarts},{Cell(a.Final.Mean)},{Cell(a.Best.Mean)},{Cell(a.TrainSeconds.Mean, "0.###")},{Cell(a.TimeToTarget.Mean, "0.###")},{Cell(a.Ratio.Mean, "0.####")},{Cell(a.AccuracyAtBaselineTime.Mean)},").Append('\n');
                text.Append(CultureInfo.InvariantCulture,
                    $"{a.Run},std,{(a.Failed > 0 ? $"failed {a.Failed}" : "ok")},,{Cell(a.Final.Std)},{Cell(a.Best.Std)},{Cell(a.TrainSeconds.Std, "0.###")},{Cell(a.TimeToTarget.Std, "0.###")},{Cell(a.Ratio.Std, "0.####")},{Cell(a.AccuracyAtBaselineTime.Std)},").Append('\n');
            }
        }

        return text.ToString();
    }

    /// <summary>The line printed above the table: what the target is and where it comes from.</summary>
    public string Describe()
    {
        SummaryRow first = Rows[0];
        string seeds = SeedCount > 1 ? string.Create(CultureInfo.InvariantCulture, $" per seed; {SeedCount} seeds, shown as mean ± standard deviation") : string.Empty;
        return TargetGiven
            ? string.Create(CultureInfo.InvariantCulture, $"Target: {first.Target:P1} test accuracy (--target-accuracy){seeds}. Times are training only, read at every evaluation.")
            : string.Create(CultureInfo.InvariantCulture,
                $"Target: {first.Run}'s final accuracy minus 0.5 points ({first.Target:P1} for seed {first.Seed}){seeds}. Times are training only, read at every evaluation.");
    }

    private static SummaryRow Row(RunResult r, RunResult? baseline, double? given)
    {
        IReadOnlyList<EpochMetrics> m = r.Metrics;
        // A run that failed or diverged has no time to target and no speed-up; nor has any run measured against a baseline
        // that failed (its "target" would be whatever accuracy it had when it stopped).
        bool baselineUsable = baseline is not null && !baseline.Failed && baseline.Metrics.Count > 0;
        double target = given ?? (baselineUsable ? baseline!.Metrics[^1].TestAccuracy - DefaultMargin : double.NaN);
        double? time = m.Count > 0 && !r.Failed ? TimeToTarget(m, target) : null;
        double? reference = baselineUsable ? TimeToTarget(baseline!.Metrics, target) : null;
        double? atBaseline = baselineUsable && m.Count > 0 && !r.Failed ? AccuracyAt(m, baseline!.Metrics[^1].TrainSeconds) : null;
        return new SummaryRow(r.Name, r.Seed, r.Status, r.Restarts,
            m.Count > 0 ? m[^1].TestAccuracy : double.NaN, m.Count > 0 ? m.Max(x => x.TestAccuracy) : double.NaN, m.Count > 0 ? m[^1].TrainSeconds : 0,
            time, time is { } t && reference is > 0 ? t / reference.Value : null, atBaseline, target);
    }

    private static string Cell(double value, string format = "R") =>
        double.IsNaN(value) ? string.Empty : value.ToString(format, CultureInfo.InvariantCulture);
}
