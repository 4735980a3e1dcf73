using System;
using System.IO;
using System.Linq;
using FluentAssertions;
using Xunit;

namespace Cifar100Training.Tests;

/// <summary>
/// A trainer invocation never loses its work: a native error injected into a step (<see cref="FaultInjection"/>) makes
/// the run reload its last checkpoint and go on, counted in summary.csv; a run that keeps failing is reported as failed
/// while the others go on, and summary.csv and the chart are there after every run.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class RestartTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose()
    {
        Environment.SetEnvironmentVariable(FaultInjection.Variable, null);
        temp.Dispose();
    }

    [Fact]
    public void Main_NativeErrorInEpochTwo_RunRestartsFromItsCheckpointAndEndsAsIfNothingHappened()
    {
        string straight = Path.Combine(temp.Path, "straight"), faulty = Path.Combine(temp.Path, "faulty");
        ConsoleCollection.RunMain(Arguments(straight)).Code.Should().Be(0);

        Environment.SetEnvironmentVariable(FaultInjection.Variable, "random@2:3x1");
        var (code, error) = ConsoleCollection.RunMain(Arguments(faulty));
        Environment.SetEnvironmentVariable(FaultInjection.Variable, null);

        code.Should().Be(0, error);
        string[] summary = File.ReadAllLines(Path.Combine(faulty, "summary.csv"));
        Column(summary, "random", "restarts").Should().Be("1");
        Column(summary, "random", "status").Should().Be("ok");
        Column(summary, "full", "restarts").Should().Be("0");
        Metrics(faulty, "random").Should().Equal(Metrics(straight, "random"), "the restart reloads epoch 1's checkpoint and retrains epoch 2 the same way");
        File.ReadAllText(Path.Combine(faulty, "random", "checkpoint", "checkpoint.txt")).Should().Contain("restarts=1");
    }

    [Fact]
    public void Main_RunKeepsFailing_ReportedFailedWhileTheOthersFinish()
    {
        string output = Path.Combine(temp.Path, "out");
        Environment.SetEnvironmentVariable(FaultInjection.Variable, "random@1:1x5");
        var (code, error) = ConsoleCollection.RunMain(Arguments(output, "--max-restarts", "1", "--compare", "full,random,lowest"));
        Environment.SetEnvironmentVariable(FaultInjection.Variable, null);

        code.Should().Be(5, "a run failed after its restarts");
        error.Should().BeEmpty();
        string[] summary = File.ReadAllLines(Path.Combine(output, "summary.csv"));
        summary.Skip(1).Select(l => l.Split(',')[0]).Should().Equal(new[] { "full", "random", "lowest" }, "the run after the failed one still trained");
        Column(summary, "random", "status").Should().Be("failed");
        Column(summary, "random", "restarts").Should().Be("1");
        Column(summary, "lowest", "status").Should().Be("ok");
        File.Exists(Path.Combine(output, "accuracy-vs-time.png")).Should().BeTrue();
        File.Exists(Path.Combine(output, "lowest", "final.model")).Should().BeTrue();
        Directory.GetFiles(output, "*.tmp-*", SearchOption.AllDirectories).Should().BeEmpty();
    }

    [Fact]
    public void Main_MalformedFaultVariable_RefusedNamingIt()
    {
        Environment.SetEnvironmentVariable(FaultInjection.Variable, "random");
        var (code, error) = ConsoleCollection.RunMain(Arguments(Path.Combine(temp.Path, "out")));
        Environment.SetEnvironmentVariable(FaultInjection.Variable, null);

        code.Should().Be(2);
        error.Should().Contain(FaultInjection.Variable).And.Contain("RUN@EPOCH:BATCH");
    }

    private static string[] Arguments(string output, params string[] extra) => new[]
    {
        "--model", "tiny", "--epochs", "2", "--train-size", "192", "--test-size", "64", "--batch-size", "32", "--threads", "1", "--output", output,
    }.Concat(extra.Contains("--compare") ? extra : extra.Concat(new[] { "--compare", "full,random" })).ToArray();

    internal static string Column(string[] summary, string run, string column) =>
        summary.Skip(1).Select(l => l.Split(',')).First(f => f[0] == run)[Array.IndexOf(summary[0].Split(','), column)];

    /// <summary>Everything but the training and evaluation times.</summary>
    private static string[] Metrics(string output, string folder) =>
        File.ReadAllLines(Path.Combine(output, folder, "metrics.csv")).Select(l => string.Join(',', l.Split(',').Where((_, i) => i is not (1 or 2)))).ToArray();
}
