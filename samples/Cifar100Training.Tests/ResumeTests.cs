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

    /// <summary>
    /// A selecting run checkpoints its selection state: a SelectiveStep's random generator (random, sb), score memory
    /// (cached scores), sb's loss history and, with --accumulate, the kept samples still waiting for a full batch; the
    /// InfoBatch sampler's scores. Without loading them on resume, every one of these cases ends with other metrics.
    /// </summary>
    [Theory]
    [InlineData("lowest")]
    [InlineData("random")]
    [InlineData("lowest:cached")]
    [InlineData("infobatch")]
    [InlineData("sb", "--accumulate")]
    public void Resume_AfterKillPastEpochOne_SameMetricsAndWeightsAsUninterruptedRun(string strategy, params string[] extra)
    {
        string folder = strategy.Replace(':', '-');
        string straight = Path.Combine(temp.Path, "straight");
        string killed = Path.Combine(temp.Path, "killed");

        RunToEnd(Arguments(strategy, straight, extra)).Should().Be(0);

        KillAfterFirstCheckpoint(Arguments(strategy, killed, extra));
        string manifest = File.ReadAllText(Path.Combine(killed, folder, "checkpoint", "checkpoint.txt"));
        manifest.Should().StartWith("epoch=").And.NotStartWith("epoch=3", "the kill must land before the run finished, or nothing is resumed");
        File.Exists(Path.Combine(killed, folder, "final.model")).Should().BeFalse();
        Directory.GetFiles(Path.Combine(killed, folder, "checkpoint"), "*.step").Should().ContainSingle("a selecting run checkpoints its step");

        var resumed = new List<string>();
        RunToEnd(Arguments(strategy, killed, extra).Append("--resume"), resumed).Should().Be(0);

        resumed.Should().Contain(l => l.Contains($"{strategy}: resumed after epoch", StringComparison.Ordinal));
        Metrics(killed, folder).Should().Equal(Metrics(straight, folder));
        File.ReadAllBytes(Path.Combine(killed, folder, "final.model"))
            .Should().Equal(File.ReadAllBytes(Path.Combine(straight, folder, "final.model")));
    }

    [Fact]
    public void Resume_StepStateMissing_RefusedWithExitCode4NamingTheFile()
    {
        string output = Path.Combine(temp.Path, "run");
        string[] args = { "--model", "tiny", "--epochs", "1", "--train-size", "64", "--test-size", "32", "--batch-size", "32",
            "--threads", "1", "--strategy", "random", "--output", output };
        RunToEnd(args).Should().Be(0);
        string step = Directory.GetFiles(Path.Combine(output, "random", "checkpoint"), "*.step").Single();
        File.Delete(step);

        var lines = new List<string>();
        Run(args.Append("--resume"), lines).Should().Be(4);

        lines.Should().Contain(l => l.Contains(step, StringComparison.Ordinal) && l.Contains("is missing", StringComparison.Ordinal));
    }

    private static string[] Arguments(string strategy, string output, string[] extra) => new[]
    {
        "--model", "tiny", "--epochs", "3", "--train-size", "1024", "--test-size", "64", "--batch-size", "32",
        "--threads", "1", "--seed", "11", "--strategy", strategy, "--output", output,
    }.Concat(extra).ToArray();

    /// <summary>Everything but the training and evaluation times, which a restart changes.</summary>
    private static List<string> Metrics(string output, string folder) =>
        File.ReadAllLines(Path.Combine(output, folder, "metrics.csv"))
            .Select(l => string.Join(',', l.Split(',').Where((_, i) => i is not (1 or 2))))
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
        var output = new List<string>();
        int code = Run(args, output);
        lines?.AddRange(output);
        code.Should().Be(0, string.Join('\n', output));
        return code;
    }

    private static int Run(IEnumerable<string> args, List<string> output)
    {
        using var process = Process.Start(StartInfo(args))!;
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
