using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using FluentAssertions;
using Spectre.Console;
using Xunit;

namespace Cifar100Training.Tests;

/// <summary>Several seeds in one invocation, evaluations within an epoch, and InfoBatch's sampler never reading a pruned sample.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class SeedsAndEvaluationTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public void Main_TwoSeedsEvaluatedEveryHalfEpoch_RowPerRunAndSeedMeanStdAndFolderPerSeed()
    {
        string output = Path.Combine(temp.Path, "out");
        var (code, error) = ConsoleCollection.RunMain("--model", "tiny", "--epochs", "2", "--train-size", "192", "--test-size", "64",
            "--batch-size", "32", "--threads", "1", "--compare", "full,random", "--seeds", "4,5", "--eval-every", "0.5", "--output", output);

        code.Should().Be(0, error);
        string[] summary = File.ReadAllLines(Path.Combine(output, "summary.csv"));
        summary.Skip(1).Select(l => string.Join(',', l.Split(',').Take(2))).Should().Equal(
            "full,4", "full,5", "random,4", "random,5", "full,mean", "full,std", "random,mean", "random,std");
        summary[5].Split(',')[2].Should().Be("reached 2/2", "each seed's first run reaches its own target");
        foreach (string seed in new[] { "seed-4", "seed-5" })
        {
            string[] metrics = File.ReadAllLines(Path.Combine(output, "random", seed, "metrics.csv"));
            metrics.Skip(1).Select(l => double.Parse(l.Split(',')[0], CultureInfo.InvariantCulture)).Should().Equal(0.5, 1, 1.5, 2);
            metrics.Skip(1).Select(l => double.Parse(l.Split(',')[1], CultureInfo.InvariantCulture)).Should().BeInAscendingOrder();
        }

        File.ReadAllLines(Path.Combine(output, "random", "seed-4", "metrics.csv"))
            .Should().NotEqual(File.ReadAllLines(Path.Combine(output, "random", "seed-5", "metrics.csv")), "the seed varies the run");
    }

    [Fact]
    public void Main_EvalEveryTwoEpochs_RowsAtEpochsTwoFourAndTheLastCountingEveryEpoch()
    {
        string output = Path.Combine(temp.Path, "every2");
        var (code, error) = ConsoleCollection.RunMain("--model", "tiny", "--epochs", "5", "--train-size", "96", "--test-size", "32",
            "--batch-size", "32", "--threads", "1", "--strategy", "random", "--schedule", "constant", "--eval-every", "2", "--output", output);

        code.Should().Be(0, error);
        string[] rows = File.ReadAllLines(Path.Combine(output, "random", "metrics.csv")).Skip(1).ToArray();
        rows.Select(l => l.Split(',')[0]).Should().Equal("2", "4", "5");
        rows.Select(l => long.Parse(l.Split(',')[5], CultureInfo.InvariantCulture)).Should().Equal(new[] { 2L * 57, 4L * 57, 5L * 57 },
            "random at a constant 0.6 keeps round(0.6 x 32) = 19 of each of the 3 batches: 57 of 96 an epoch, every epoch counted");
        rows.Select(l => double.Parse(l.Split(',')[1], CultureInfo.InvariantCulture)).Should().BeInAscendingOrder();
        File.ReadAllText(Path.Combine(output, "random", "checkpoint", "checkpoint.txt")).Should().StartWith("epoch=5");
    }

    [Fact]
    public void Run_InfoBatch_ReadsOnlyTheKeptSamplesOfEachEpoch()
    {
        TrainingOptions options = TrainingOptions.Parse(new[]
        {
            "--strategy", "infobatch", "--model", "tiny", "--epochs", "4", "--train-size", "256", "--test-size", "32", "--batch-size", "32",
            "--threads", "1", "--label-noise", "0", "--infobatch-anneal", "0.75",
        }).ResolveFor(DataFormat.Synthetic);
        var (train, test, _, _) = Program.LoadData(options, _ => { });
        var reads = new Dictionary<int, List<int>>();
        var trainer = new RunTrainer(options, train, test, TorchSharp.torch.CPU, (epoch, index) =>
        {
            if (!reads.TryGetValue(epoch, out List<int>? list))
            {
                reads[epoch] = list = new List<int>();
            }

            list.Add(index);
        });

        RunResult result = trainer.Run(options.Runs[0], 1, Path.Combine(temp.Path, "run"), new ProgressTask(0, "infobatch", 1), _ => { });

        reads.Keys.Should().Equal(0, 1, 2, 3);
        reads[0].Should().HaveCount(256, "nothing is scored before the first epoch, so nothing is pruned");
        for (int epoch = 1; epoch < 3; epoch++)
        {
            double kept = result.Metrics.Single(m => m.Epoch == epoch + 1).KeepRatio * 256;
            reads[epoch].Should().OnlyHaveUniqueItems().And.HaveCount((int)Math.Round(kept), $"epoch {epoch + 1} reads exactly its kept samples");
            reads[epoch].Count.Should().BeLessThan(256, "the pruned samples of a pruning epoch are never read");
        }

        reads[3].Should().HaveCount(256, "from epoch 0.75 x 4 = 3 on (the fourth) every sample trains");
    }
}
