using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using FluentAssertions;
using Xunit;

namespace Cifar100Training.Tests;

/// <summary>Kills the trainer after a checkpoint, resumes it, and compares with a run that was never interrupted.</summary>
[Trait("Category", "Slow")]
public sealed class ResumeTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    [Theory]
    [InlineData("rebatched")]
    [InlineData("random")]
    [InlineData("cached")]
    public void Resume_AfterKillPastEpochOne_SameMetricsAndWeightsAsUninterruptedRun(string strategy)
    {
        string straight = Path.Combine(temp.Path, "straight");
        string killed = Path.Combine(temp.Path, "killed");

        RunToEnd(Arguments(strategy, straight)).Should().Be(0);

        KillAfterFirstCheckpoint(Arguments(strategy, killed));
        string manifest = File.ReadAllText(Path.Combine(killed, strategy, "checkpoint", "checkpoint.txt"));
        manifest.Should().StartWith("epoch=").And.NotStartWith("epoch=3", "the kill must land before the run finished, or nothing is resumed");
        File.Exists(Path.Combine(killed, strategy, "final.model")).Should().BeFalse();

        var resumed = new List<string>();
        RunToEnd(Arguments(strategy, killed).Append("--resume"), resumed).Should().Be(0);

        resumed.Should().Contain(l => l.Contains($"{strategy}: resumed after epoch", StringComparison.Ordinal));
        Metrics(killed, strategy).Should().Equal(Metrics(straight, strategy));
        File.ReadAllBytes(Path.Combine(killed, strategy, "final.model"))
            .Should().Equal(File.ReadAllBytes(Path.Combine(straight, strategy, "final.model")));
    }

    private static string[] Arguments(string strategy, string output) => new[]
    {
        "--model", "tiny", "--epochs", "3", "--train-size", "1536", "--test-size", "128", "--batch-size", "32",
        "--threads", "1", "--seed", "11", "--strategy", strategy, "--output", output,
    };

    /// <summary>Everything but the wall time, which a restart changes.</summary>
    private static List<string> Metrics(string output, string strategy) =>
        File.ReadAllLines(Path.Combine(output, strategy, "metrics.csv"))
            .Select(l => string.Join(',', l.Split(',').Where((_, i) => i != 1)))
            .ToList();

    private static ProcessStartInfo StartInfo(IEnumerable<string> args)
    {
        string dll = typeof(Program).Assembly.Location;
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(dll);
        foreach (string a in args)
        {
            info.ArgumentList.Add(a);
        }

        info.Environment["NO_COLOR"] = "1";
        return info;
    }

    private static int RunToEnd(IEnumerable<string> args, List<string>? lines = null)
    {
        using var process = Process.Start(StartInfo(args))!;
        var output = new List<string>();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.Add(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.Add(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("The trainer did not finish in 60 s:\n" + string.Join('\n', output));
        }

        process.WaitForExit();
        lines?.AddRange(output);
        process.ExitCode.Should().Be(0, string.Join('\n', output));
        return process.ExitCode;
    }

    private static void KillAfterFirstCheckpoint(IEnumerable<string> args)
    {
        using var process = Process.Start(StartInfo(args))!;
        using var checkpointed = new ManualResetEventSlim();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data?.Contains("epoch 1 checkpointed", StringComparison.Ordinal) == true)
            {
                checkpointed.Set();
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        checkpointed.Wait(TimeSpan.FromSeconds(60)).Should().BeTrue("the trainer should checkpoint epoch 1 within 60 s");
        process.Kill(entireProcessTree: true);
        process.WaitForExit();
    }
}
