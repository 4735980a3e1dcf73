using System;
using System.IO;
using System.Linq;
using FluentAssertions;
using SelectiveLoss.Numerics;
using Xunit;

namespace Cifar100Training.Tests;

/// <summary>
/// A run whose training loss is not finite is stopped and reported as diverged, never as faster: NaN injected into one
/// batch (<see cref="FaultInjection.NanVariable"/>, as wrong arithmetic would produce) stops that run, the others go on,
/// and summary.csv and the table give it no time to target and no speed-up.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class DivergenceTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose()
    {
        Environment.SetEnvironmentVariable(FaultInjection.NanVariable, null);
        Environment.SetEnvironmentVariable(NumericsCheck.SwitchVariable, null);
        temp.Dispose();
    }

    [Fact]
    public void Main_NaNBatchInSelectiveRun_StoppedAsDivergedWhileTheOthersFinish()
    {
        string output = Path.Combine(temp.Path, "out");
        Environment.SetEnvironmentVariable(FaultInjection.NanVariable, "lowest@1:1");
        var (code, error) = ConsoleCollection.RunMain(Arguments(output, "full,lowest,random"));

        code.Should().Be(5, "a run did not finish");
        error.Should().BeEmpty();
        string[] summary = File.ReadAllLines(Path.Combine(output, "summary.csv"));
        Column(summary, "lowest", "status").Should().Be("diverged");
        Column(summary, "lowest", "time_to_target_seconds").Should().BeEmpty("a diverged run reaches nothing");
        Column(summary, "lowest", "time_to_target_ratio").Should().BeEmpty("a diverged run is never faster");
        Column(summary, "full", "status").Should().Be("ok");
        Column(summary, "random", "status").Should().Be("ok", "the run after the diverged one still trained");
        File.Exists(Path.Combine(output, "random", "final.model")).Should().BeTrue();
        File.Exists(Path.Combine(output, "lowest", "final.model")).Should().BeFalse("the diverged run stopped at the refused step");
    }

    [Fact]
    public void Main_NaNBatchInBaseline_BaselineDivergedAndNoRunGetsASpeedUp()
    {
        string output = Path.Combine(temp.Path, "out");
        Environment.SetEnvironmentVariable(FaultInjection.NanVariable, "full@1:0");
        var (code, _) = ConsoleCollection.RunMain(Arguments(output, "full,random"));

        code.Should().Be(5);
        string[] summary = File.ReadAllLines(Path.Combine(output, "summary.csv"));
        Column(summary, "full", "status").Should().Be("diverged", "the plain loop trains the NaN, and the evaluation that reads its loss stops it");
        double.Parse(File.ReadAllLines(Path.Combine(output, "full", "metrics.csv"))[1].Split(',')[3], System.Globalization.CultureInfo.InvariantCulture)
            .Should().Be(double.NaN, "its metrics keep the evaluation that saw the NaN loss");
        Column(summary, "random", "status").Should().Be("ok");
        Column(summary, "random", "time_to_target_ratio").Should().BeEmpty("there is no baseline time to compare with");
        Column(summary, "random", "time_to_target_seconds").Should().BeEmpty("the target came from a baseline that diverged");
    }

    [Fact]
    public void Main_NumericsSwitchMalformed_RefusedNamingIt()
    {
        Environment.SetEnvironmentVariable(NumericsCheck.SwitchVariable, "sometimes");
        var (code, error) = ConsoleCollection.RunMain(Arguments(Path.Combine(temp.Path, "out"), "full"));

        code.Should().Be(2);
        error.Should().Contain(NumericsCheck.SwitchVariable).And.Contain("off");
    }

    private static string[] Arguments(string output, string compare) => new[]
    {
        "--model", "tiny", "--epochs", "1", "--train-size", "128", "--test-size", "64", "--batch-size", "32", "--threads", "1",
        "--schedule", "constant", "--output", output, "--compare", compare,
    };

    private static string Column(string[] summary, string run, string column) => RestartTests.Column(summary, run, column);
}
