using System.Globalization;
using System.IO;
using System.Linq;
using FluentAssertions;
using Xunit;

namespace Cifar100Training.Tests;

/// <summary>One tiny end-to-end comparison: norm suffixes, run names as written, summary.csv, and --resume adding a run.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class CompareRunTests : System.IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public void Main_CompareWithNormSuffixes_SummaryRowPerRunAsWrittenAndMetricsPerFolder()
    {
        string output = Path.Combine(temp.Path, "out");
        string[] args = { "--model", "tiny", "--epochs", "2", "--train-size", "200", "--test-size", "100", "--batch-size", "32",
            "--threads", "1", "--output", output };

        var (code, error) = ConsoleCollection.RunMain(args.Concat(new[] { "--compare", "full:batch,lowest:group,infobatch,random" }).ToArray());

        code.Should().Be(0, error);
        string[] summary = File.ReadAllLines(Path.Combine(output, "summary.csv"));
        summary[0].Should().Be(Summary.Header);
        summary.Skip(1).Select(l => l.Split(',')[0]).Should().Equal("full:batch", "lowest:group", "infobatch", "random");
        summary[1].Split(',')[8].Should().Be("1", "the first run reaches its own target and defines the ratio");
        summary.Skip(1).Should().OnlyContain(l => l.Split(',')[2] == "ok" && l.Split(',')[3] == "0", "no run failed or restarted");
        foreach (string folder in new[] { "full-batch", "lowest-group", "infobatch", "random" })
        {
            File.ReadAllLines(Path.Combine(output, folder, "metrics.csv")).Should().HaveCount(3, folder);
        }

        Directory.GetFiles(output, "*.tmp-*", SearchOption.AllDirectories).Should().BeEmpty("every file is written atomically");

        // --resume with one more entry (GroupNorm with weight-standardised convolutions): the finished runs are read back,
        // the new one trains, and the summary has all five.
        var (resumed, resumeError) = ConsoleCollection.RunMain(args.Concat(new[]
        {
            "--compare", "full:batch,lowest:group,infobatch,random,sb:group-ws", "--resume", "--target-accuracy", "0.01",
        }).ToArray());

        resumed.Should().Be(0, resumeError);
        string[] after = File.ReadAllLines(Path.Combine(output, "summary.csv"));
        after.Skip(1).Select(l => l.Split(',')[0]).Should().Equal("full:batch", "lowest:group", "infobatch", "random", "sb:group-ws");
        after.Skip(1).Take(4).Select(FinalAccuracy).Should().Equal(summary.Skip(1).Select(FinalAccuracy), "resumed runs keep their metrics");
        File.ReadAllLines(Path.Combine(output, "sb-group-ws", "metrics.csv")).Should().HaveCount(3);
    }

    private static double FinalAccuracy(string row) => double.Parse(row.Split(',')[4], CultureInfo.InvariantCulture);
}
