using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Spectre.Console;

namespace Cifar100Training;

/// <summary>The final table and the accuracy-against-time chart.</summary>
internal static class Report
{
    public static Table Table(IReadOnlyList<RunResult> runs)
    {
        var table = new Table().Title("Results (test accuracy on clean labels)");
        table.AddColumns("strategy", "wall time", "test accuracy", "samples backpropagated", "vs full", "wrong labels among kept (last epoch)");
        RunResult? reference = runs.FirstOrDefault(r => r.Name == "full");
        long? full = reference?.Metrics[^1].SamplesBackpropagated;
        double? fullTime = reference?.Metrics[^1].WallSeconds;
        foreach (var run in runs)
        {
            var last = run.Metrics[^1];
            string versus = full is > 0 && fullTime is > 0
                ? string.Create(CultureInfo.InvariantCulture, $"{(double)last.SamplesBackpropagated / full.Value:P0} samples, {last.WallSeconds / fullTime.Value:P0} time")
                : "-";
            table.AddRow(
                run.Name,
                string.Create(CultureInfo.InvariantCulture, $"{last.WallSeconds:0.0} s"),
                string.Create(CultureInfo.InvariantCulture, $"{last.TestAccuracy:P1}"),
                last.SamplesBackpropagated.ToString("N0", CultureInfo.InvariantCulture),
                versus,
                last.NoisyKeptShare is { } share ? string.Create(CultureInfo.InvariantCulture, $"{share:P1}") : "-");
        }

        return table;
    }

    public static void WriteChart(string path, IReadOnlyList<RunResult> runs, string dataDescription)
    {
        var plot = new ScottPlot.Plot();
        foreach (var run in runs)
        {
            double[] xs = run.Metrics.Select(m => m.WallSeconds).ToArray();
            double[] ys = run.Metrics.Select(m => m.TestAccuracy * 100).ToArray();
            var line = plot.Add.Scatter(xs, ys);
            line.LegendText = run.Name;
        }

        plot.Title("Test accuracy against wall time");
        plot.XLabel("wall time (s)");
        plot.YLabel("test accuracy (%)");
        plot.ShowLegend();
        plot.Axes.Bottom.Label.Text = $"wall time (s) - {dataDescription}";
        AtomicFile.Write(path, temp => plot.SavePng(temp, 900, 560));
    }
}
