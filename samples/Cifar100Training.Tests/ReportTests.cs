using System;
using System.IO;
using FluentAssertions;
using SkiaSharp;
using Xunit;

namespace Cifar100Training.Tests;

public sealed class ReportTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    /// <summary>ScottPlot is built against SkiaSharp 3.119.0; the sample pins 3.119.4 for its image decoding. This proves the chart still renders.</summary>
    [Fact]
    public void WriteChart_RunsAndSeeds_WritesAPngOfTheAskedSize()
    {
        string path = Path.Combine(temp.Path, "chart.png");
        var metrics = new[] { new EpochMetrics(1, 1.5, 0.1, 2.0, 0.3, 100, 1.0), new EpochMetrics(2, 3.0, 0.1, 1.5, 0.5, 200, 1.0) };

        Report.WriteChart(path, new[] { new RunResult("full", 1, temp.Path, metrics), new RunResult("random", 1, temp.Path, metrics), new RunResult("random", 2, temp.Path, metrics) }, "test data");

        using var codec = SKCodec.Create(path);
        (codec.EncodedFormat, codec.Info.Width, codec.Info.Height).Should().Be((SKEncodedImageFormat.Png, 900, 560));
    }
}
