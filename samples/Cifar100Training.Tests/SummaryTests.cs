using System;
using System.Collections.Generic;
using System.Linq;
using FluentAssertions;
using Xunit;

namespace Cifar100Training.Tests;

/// <summary>Time to target, accuracy at the baseline's time and the aggregate over seeds as pure functions of made-up
/// metrics, and summary.csv's text.</summary>
public sealed class SummaryTests
{
    [Fact]
    public void Compute_NoTargetGiven_FirstRunsFinalAccuracyMinusHalfAPoint()
    {
        var summary = Compute(new[] { Run("full", (10, 0.50), (20, 0.80), (30, 0.78)), Run("random", (5, 0.90)) }, null);

        summary.Rows[0].Target.Should().BeApproximately(0.775, 1e-12, "the first run's final accuracy (0.78), not its best (0.80), minus 0.005");
        summary.TargetGiven.Should().BeFalse();
        summary.Rows[0].TimeToTargetSeconds.Should().Be(20, "the first run reaches its own target at the latest in its last evaluation, here already in the second");
        summary.Rows[0].TimeToTargetRatio.Should().Be(1);
    }

    [Fact]
    public void Compute_TargetReachedAtEvaluationK_TrainingTimeThereAndRatioToTheFirstRun()
    {
        var summary = Compute(new[]
        {
            Run("full", (10, 0.2), (20, 0.4), (30, 0.6), (40, 0.8)),
            Run("lowest", (6, 0.3), (12, 0.79), (18, 0.80), (24, 0.85)),
        }, null);

        summary.Rows[0].TimeToTargetSeconds.Should().Be(40);
        summary.Rows[1].TimeToTargetSeconds.Should().Be(18, "0.79 is below the target 0.795; 0.80 is the first at or above it");
        summary.Rows[1].TimeToTargetRatio.Should().BeApproximately(0.45, 1e-12, "18 s against the first run's 40 s");
    }

    [Fact]
    public void Compute_AccuracyExactlyAtTarget_Reached()
    {
        var summary = Compute(new[] { Run("full", (10, 0.5), (20, 0.75)), Run("sb", (3, 0.5), (6, 0.74), (9, 0.76)) }, 0.74);

        summary.Rows[1].TimeToTargetSeconds.Should().Be(6);
        summary.Rows[0].TimeToTargetSeconds.Should().Be(20);
    }

    [Fact]
    public void Compute_NeverReached_NoTimeAndNoRatio()
    {
        var summary = Compute(new[] { Run("full", (10, 0.5), (20, 0.9)), Run("random", (5, 0.6), (10, 0.85)) }, null);

        summary.Rows[1].TimeToTargetSeconds.Should().BeNull();
        summary.Rows[1].TimeToTargetRatio.Should().BeNull();
        summary.Rows[1].FinalAccuracy.Should().Be(0.85);
    }

    [Fact]
    public void Compute_TargetAccuracyGiven_OverridesTheFirstRunsFinal()
    {
        var summary = Compute(new[] { Run("full", (10, 0.3), (20, 0.6), (30, 0.9)), Run("infobatch", (4, 0.5), (8, 0.7)) }, 0.5);

        summary.Rows.Should().OnlyContain(r => r.Target == 0.5);
        summary.TargetGiven.Should().BeTrue();
        summary.Rows[0].TimeToTargetSeconds.Should().Be(20);
        summary.Rows[1].TimeToTargetSeconds.Should().Be(4);
        summary.Rows[1].TimeToTargetRatio.Should().Be(0.2, "4 s against the first run's 20 s to the same target");
    }

    [Fact]
    public void Compute_FirstRunNeverReachesTheGivenTarget_NoRatios()
    {
        var summary = Compute(new[] { Run("full", (10, 0.3)), Run("lowest", (8, 0.95)) }, 0.9);

        summary.Rows[0].TimeToTargetSeconds.Should().BeNull();
        summary.Rows[1].TimeToTargetSeconds.Should().Be(8);
        summary.Rows[1].TimeToTargetRatio.Should().BeNull("there is no first-run time to divide by");
    }

    [Fact]
    public void Compute_FirstRunDefinesTheTarget_NotTheBestRun()
    {
        var summary = Compute(new[] { Run("random", (10, 0.4), (20, 0.5)), Run("full", (10, 0.6), (20, 0.9)) }, null);

        summary.Rows[0].Target.Should().BeApproximately(0.495, 1e-12);
        summary.Rows[1].TimeToTargetSeconds.Should().Be(10);
        summary.Rows[1].TimeToTargetRatio.Should().Be(0.5);
    }

    [Fact]
    public void Compute_EveryRun_FinalBestTrainSecondsAndAccuracyAtTheFirstRunsTime()
    {
        var summary = Compute(new[] { Run("full:batch", (10, 0.7), (20, 0.65)), Run("infobatch", (8, 0.5), (16, 0.62), (24, 0.7)) }, null);

        summary.Rows[0].Should().Be(new SummaryRow("full:batch", 1, "ok", 0, 0.65, 0.7, 20, 10, 1, 0.65, 0.645));
        summary.Rows[1].AccuracyAtBaselineTime.Should().Be(0.62, "at 20 s, when the first run finished, its last evaluation was at 16 s");
        Compute(new[] { Run("full", (10, 0.7)), Run("masked", (15, 0.8)) }, null).Rows[1].AccuracyAtBaselineTime
            .Should().BeNull("it had no evaluation yet when the first run finished");
    }

    [Fact]
    public void Compute_SeveralSeeds_PerSeedTargetsAndMeanAndStandardDeviation()
    {
        var results = new[]
        {
            Run("full", 1, (10, 0.50), (20, 0.80)), Run("lowest", 1, (5, 0.70), (10, 0.80)),
            Run("full", 2, (10, 0.60), (20, 0.70)), Run("lowest", 2, (5, 0.70), (10, 0.60)),
            Run("full", 3, (10, 0.60), (20, 0.90)), Run("lowest", 3, (6, 0.85), (12, 0.88)),
        };

        Summary summary = Summary.Compute(results, new[] { "full", "lowest" }, null);

        summary.SeedCount.Should().Be(3);
        summary.Rows.Select(r => (r.Run, r.Seed)).Should().Equal(("full", 1UL), ("full", 2UL), ("full", 3UL), ("lowest", 1UL), ("lowest", 2UL), ("lowest", 3UL));
        summary.Rows.Where(r => r.Run == "lowest").Select(r => r.Target).Should().Equal(new[] { 0.795, 0.695, 0.895 }, (a, b) => Math.Abs(a - b) < 1e-12);
        SummaryAggregate lowest = summary.Aggregates[1];
        lowest.Reached.Should().Be(2, "seed 3 never reaches its 0.895; seed 2 reaches its 0.695 at 5 s though it ends at 0.60");
        lowest.Reached.Should().Be(lowest.TimeToTarget.Count);
        lowest.Final.Mean.Should().BeApproximately((0.80 + 0.60 + 0.88) / 3, 1e-12);
        lowest.Final.Std.Should().BeApproximately(Std(0.80, 0.60, 0.88), 1e-12);
        lowest.Ratio.Mean.Should().BeApproximately(((10.0 / 20) + (5.0 / 20)) / 2, 1e-12, "seeds 1 and 2 reached: 10 s of 20 and 5 s of 20");
        string[] mean = summary.ToCsv().Split('\n').Single(l => l.StartsWith("lowest,mean,", StringComparison.Ordinal)).Split(',');
        mean[2].Should().Be("reached 2/3");
        mean[7].Should().Be("7.5", "the mean time to target over the two seeds that reached it");
        mean[8].Should().Be("0.375");
        summary.ToCsv().Split('\n').Should().Contain(l => l.StartsWith("lowest,std,ok,,", StringComparison.Ordinal));
    }

    [Fact]
    public void Compute_FailedRun_RowSaysFailedWithWhatItReached()
    {
        var results = new[] { Run("full", 1, (10, 0.5), (20, 0.8)), new RunResult("sb", 1, "d", Metrics((5, 0.6)), 3, "native error") };

        SummaryRow failed = Summary.Compute(results, new[] { "full", "sb" }, null).Rows[1];

        (failed.Status, failed.Restarts, failed.FinalAccuracy).Should().Be(("failed", 3, 0.6));
    }

    [Fact]
    public void Compute_DivergedRun_NoTimeToTargetNoRatioNoAccuracyAtBaselineTime()
    {
        var results = new[] { Run("full", 1, (10, 0.5), (20, 0.8)), new RunResult("lowest", 1, "d", Metrics((5, 0.9)), 0, "loss NaN", Diverged: true) };

        SummaryRow diverged = Summary.Compute(results, new[] { "full", "lowest" }, null).Rows[1];

        diverged.Status.Should().Be("diverged");
        diverged.TimeToTargetSeconds.Should().BeNull("its 0.9 at 5 s came before it diverged: never a speed-up");
        diverged.TimeToTargetRatio.Should().BeNull();
        diverged.AccuracyAtBaselineTime.Should().BeNull();
    }

    [Fact]
    public void Compute_BaselineDiverged_NoRunGetsATargetOrRatio()
    {
        var results = new[] { new RunResult("full", 1, "d", Metrics((10, 0.01)), 0, "loss NaN", Diverged: true), Run("random", 1, (8, 0.4)) };

        SummaryRow random = Summary.Compute(results, new[] { "full", "random" }, null).Rows[1];

        random.Status.Should().Be("ok");
        random.TimeToTargetSeconds.Should().BeNull("a chance-level accuracy of a diverged baseline is no target");
        random.TimeToTargetRatio.Should().BeNull();
    }

    [Fact]
    public void Compute_NoRuns_Refused()
    {
        Action none = () => Summary.Compute(Array.Empty<RunResult>(), new[] { "full" }, null);

        none.Should().Throw<ArgumentException>();
    }

    [Fact]
    public void ToCsv_OneRunUnreached_ExactHeaderAndEmptyCells()
    {
        var summary = Compute(new[] { Run("full:batch", (10.5, 0.5), (21.25, 0.75)), Run("lowest:group", (7, 0.25), (14, 0.5)) }, null);

        summary.ToCsv().Should().Be(
            "run,seed,status,restarts,final_accuracy,best_accuracy,train_seconds,time_to_target_seconds,time_to_target_ratio,accuracy_at_baseline_time,target_accuracy\n" +
            "full:batch,1,ok,0,0.75,0.75,21.25,21.25,1,0.75,0.745\n" +
            "lowest:group,1,ok,0,0.5,0.5,14,,,0.5,0.745\n");
    }

    [Fact]
    public void Describe_DefaultTarget_NamesTheFirstRunAndTheEvaluationResolution()
    {
        var summary = Compute(new[] { Run("full:batch", (10, 0.8)) }, null);

        summary.Describe().Should().Contain("79.5 %").And.Contain("full:batch's final accuracy minus 0.5 points").And.Contain("read at every evaluation");
    }

    private static Summary Compute(RunResult[] runs, double? target) => Summary.Compute(runs, runs.Select(r => r.Name).ToList(), target);

    private static RunResult Run(string name, params (double Seconds, double Accuracy)[] evaluations) => Run(name, 1, evaluations);

    private static RunResult Run(string name, ulong seed, params (double Seconds, double Accuracy)[] evaluations) =>
        new(name, seed, "dir", Metrics(evaluations));

    private static List<EpochMetrics> Metrics(params (double Seconds, double Accuracy)[] evaluations) =>
        evaluations.Select((e, i) => new EpochMetrics(i + 1, e.Seconds, 0.1, 1.0, e.Accuracy, 100L * (i + 1), 1.0)).ToList();

    private static double Std(params double[] v)
    {
        double m = v.Average();
        return Math.Sqrt(v.Sum(x => (x - m) * (x - m)) / (v.Length - 1));
    }
}
