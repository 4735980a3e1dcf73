using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Spectre.Console;

namespace Cifar100Training;

/// <summary>The final table and the accuracy-against-time chart.</summary>
internal static class Report
{
    /// <summary>The final table: the summary's columns, then samples backpropagated and the wrong labels among the kept.</summary>
    public static Table Table(IReadOnlyList<RunResult> runs, Summary summary)
    {
        ArgumentNullException.ThrowIfNull(runs);
        ArgumentNullException.ThrowIfNull(summary);
        var table = new Table().Title("Results (test accuracy on clean labels; times are training only)");
        table.AddColumns("run", "final accuracy", "best accuracy", "train time", "time to target", "vs first", "samples backpropagated",
            "wrong labels among kept (last epoch)");
        long first = runs[0].Metrics[^1].SamplesBackpropagated;
        for (int i = 0; i < runs.Count; i++)
        {
            var last = runs[i].Metrics[^1];
            SummaryRow row = summary.Rows[i];
            string samples = last.SamplesBackpropagated.ToString("N0", CultureInfo.InvariantCulture) +
                (i > 0 && first > 0 ? string.Create(CultureInfo.InvariantCulture, $" ({(double)last.SamplesBackpropagated / first:P0})") : string.Empty);
            table.AddRow(
                Markup.Escape(row.Run),
                string.Create(CultureInfo.InvariantCulture, $"{row.FinalAccuracy:P1}"),
                string.Create(CultureInfo.InvariantCulture, $"{row.BestAccuracy:P1}"),
                string.Create(CultureInfo.InvariantCulture, $"{row.TrainSeconds:0.0} s"),
                row.TimeToTargetSeconds is { } t ? string.Create(CultureInfo.InvariantCulture, $"{t:0.0} s") : "not reached",
                row.TimeToTargetRatio is { } ratio ? string.Create(CultureInfo.InvariantCulture, $"{ratio:0.00}x") : "-",
                samples,
                last.NoisyKeptShare is { } share ? string.Create(CultureInfo.InvariantCulture, $"{share:P1}") : "-");
        }

        return table;
    }

    public static void WriteChart(string path, IReadOnlyList<RunResult> runs, string dataDescription)
    {
        var plot = new ScottPlot.Plot();
        foreach (var run in runs)
        {
            double[] xs = run.Metrics.Select(m => m.TrainSeconds).ToArray();
            double[] ys = run.Metrics.Select(m => m.TestAccuracy * 100).ToArray();
            var line = plot.Add.Scatter(xs, ys);
            line.LegendText = run.Name;
        }

        plot.Title("Test accuracy against training time");
        plot.XLabel("training time (s)");
        plot.YLabel("test accuracy (%)");
        plot.ShowLegend();
        plot.Axes.Bottom.Label.Text = $"training time (s), evaluation excluded - {dataDescription}";
        AtomicFile.Write(path, temp => plot.SavePng(temp, 900, 560));
    }
}
