using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Spectre.Console;

namespace Cifar100Training;

/// <summary>The final table and the accuracy-against-time chart (with several seeds: means, and the spread as a band).</summary>
internal static class Report
{
    /// <summary>The table: per run (and seed, when there is one), or the mean ± standard deviation over seeds.</summary>
    public static Table Table(IReadOnlyList<RunResult> runs, Summary summary)
    {
        ArgumentNullException.ThrowIfNull(runs);
        ArgumentNullException.ThrowIfNull(summary);
        var table = new Table().Title("Results (test accuracy on clean labels; times are training only)");
        if (summary.SeedCount > 1)
        {
            table.AddColumns("run", "seeds", "final accuracy", "best accuracy", "train time", "time to target", "vs first", "reached", "acc. at first's time", "restarts");
            foreach (SummaryAggregate a in summary.Aggregates)
            {
                table.AddRow(Markup.Escape(a.Run), $"{a.Seeds}" + (a.Failed > 0 ? $" ({a.Failed} failed)" : string.Empty), Percent(a.Final), Percent(a.Best),
                    Number(a.TrainSeconds, "0.0", " s"), Number(a.TimeToTarget, "0.0", " s"), Number(a.Ratio, "0.00", "x"),
                    $"{a.Reached}/{a.Seeds}", Percent(a.AccuracyAtBaselineTime), $"{a.Restarts}");
            }

            return table;
        }

        table.AddColumns("run", "final accuracy", "best accuracy", "train time", "time to target", "vs first", "acc. at first's time",
            "samples backpropagated", "wrong labels among kept (last epoch)", "restarts");
        long first = runs[0].Metrics.Count > 0 ? runs[0].Metrics[^1].SamplesBackpropagated : 0;
        foreach (SummaryRow row in summary.Rows)
        {
            RunResult run = runs.First(r => r.Name == row.Run && r.Seed == row.Seed);
            EpochMetrics? last = run.Metrics.Count > 0 ? run.Metrics[^1] : null;
            string samples = last is null ? "-" : last.SamplesBackpropagated.ToString("N0", CultureInfo.InvariantCulture) +
                (run != runs[0] && first > 0 ? string.Create(CultureInfo.InvariantCulture, $" ({(double)last.SamplesBackpropagated / first:P0})") : string.Empty);
            table.AddRow(
                Markup.Escape(row.Run) + (row.Status == "ok" ? string.Empty : $" [red]({row.Status})[/]"),
                string.Create(CultureInfo.InvariantCulture, $"{row.FinalAccuracy:P1}"),
                string.Create(CultureInfo.InvariantCulture, $"{row.BestAccuracy:P1}"),
                string.Create(CultureInfo.InvariantCulture, $"{row.TrainSeconds:0.0} s"),
                row.TimeToTargetSeconds is { } t ? string.Create(CultureInfo.InvariantCulture, $"{t:0.0} s") : row.Status == "ok" ? "not reached" : "-",
                row.TimeToTargetRatio is { } ratio ? string.Create(CultureInfo.InvariantCulture, $"{ratio:0.00}x") : "-",
                row.AccuracyAtBaselineTime is { } at ? string.Create(CultureInfo.InvariantCulture, $"{at:P1}") : "-",
                samples,
                last?.NoisyKeptShare is { } share ? string.Create(CultureInfo.InvariantCulture, $"{share:P1}") : "-",
                $"{row.Restarts}");
        }

        return table;
    }

    /// <summary>Accuracy against training time, a line per run: with several seeds, the mean over seeds at each
    /// evaluation (at the mean time) with a band of one standard deviation.</summary>
    public static void WriteChart(string path, IReadOnlyList<RunResult> runs, string dataDescription)
    {
        var plot = new ScottPlot.Plot();
        var palette = new ScottPlot.Palettes.Category10();
        int index = 0;
        foreach (var group in runs.Where(r => r.Metrics.Count > 0).GroupBy(r => r.Name))
        {
            List<RunResult> seeds = group.ToList();
            int points = seeds.Min(r => r.Metrics.Count);
            double[] xs = Enumerable.Range(0, points).Select(i => seeds.Average(r => r.Metrics[i].TrainSeconds)).ToArray();
            Stat[] ys = Enumerable.Range(0, points).Select(i => Stat.Of(seeds.Select(r => (double?)(r.Metrics[i].TestAccuracy * 100)))).ToArray();
            var line = plot.Add.Scatter(xs, ys.Select(s => s.Mean).ToArray());
            line.Color = palette.GetColor(index++); // one colour per run: the bands would otherwise take colours of the palette too
            line.LegendText = seeds.Count > 1 ? $"{group.Key} (mean of {seeds.Count} seeds, ±1 sd)" : group.Key;
            if (seeds.Count > 1)
            {
                var band = plot.Add.FillY(xs, ys.Select(s => s.Mean - s.Std).ToArray(), ys.Select(s => s.Mean + s.Std).ToArray());
                band.FillStyle.Color = line.Color.WithAlpha(0.2);
                band.LineStyle.Width = 0;
            }
        }

        plot.Title("Test accuracy against training time");
        plot.YLabel("test accuracy (%)");
        plot.ShowLegend();
        plot.Axes.Bottom.Label.Text = $"training time (s), evaluation excluded - {dataDescription}";
        AtomicFile.Write(path, temp => plot.SavePng(temp, 900, 560));
    }

    private static string Percent(Stat s) => s.Count == 0 ? "-" : string.Create(CultureInfo.InvariantCulture, $"{s.Mean * 100:0.0} ± {s.Std * 100:0.0} %");

    private static string Number(Stat s, string format, string unit) =>
        s.Count == 0 ? "-" : s.Mean.ToString(format, CultureInfo.InvariantCulture) + " ± " + s.Std.ToString(format, CultureInfo.InvariantCulture) + unit;
}
