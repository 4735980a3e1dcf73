using System;
using System.Collections.Generic;
using FluentAssertions;
using Xunit;

namespace Cifar100Training.Tests;

/// <summary>Time to target as a pure function of made-up per-epoch metrics, and summary.csv's text.</summary>
public sealed class SummaryTests
{
    [Fact]
    public void Compute_NoTargetGiven_FirstRunsFinalAccuracyMinusHalfAPoint()
    {
        var summary = Summary.Compute(new[] { Run("full", (10, 0.50), (20, 0.80), (30, 0.78)), Run("random", (5, 0.90)) }, null);

        summary.Target.Should().BeApproximately(0.775, 1e-12, "the first run's final accuracy (0.78), not its best (0.80), minus 0.005");
        summary.TargetGiven.Should().BeFalse();
        summary.Rows[0].TimeToTargetSeconds.Should().Be(20, "the first run reaches its own target at the latest in its last epoch, here already in epoch 2");
        summary.Rows[0].TimeToTargetRatio.Should().Be(1);
    }

    [Fact]
    public void Compute_TargetReachedAtEpochK_TrainingTimeAtTheEndOfEpochKAndRatioToTheFirstRun()
    {
        var summary = Summary.Compute(new[]
        {
            Run("full", (10, 0.2), (20, 0.4), (30, 0.6), (40, 0.8)),
            Run("lowest", (6, 0.3), (12, 0.79), (18, 0.80), (24, 0.85)),
        }, null);

        summary.Rows[0].TimeToTargetSeconds.Should().Be(40);
        summary.Rows[1].TimeToTargetSeconds.Should().Be(18, "epoch 2's 0.79 is below the target 0.795; epoch 3's 0.80 is the first at or above it");
        summary.Rows[1].TimeToTargetRatio.Should().BeApproximately(0.45, 1e-12, "18 s against the first run's 40 s");
    }

    [Fact]
    public void Compute_AccuracyExactlyAtTarget_Reached()
    {
        var summary = Summary.Compute(new[] { Run("full", (10, 0.5), (20, 0.75)), Run("sb", (3, 0.5), (6, 0.74), (9, 0.76)) }, 0.74);

        summary.Rows[1].TimeToTargetSeconds.Should().Be(6);
        summary.Rows[0].TimeToTargetSeconds.Should().Be(20);
    }

    [Fact]
    public void Compute_NeverReached_NoTimeAndNoRatio()
    {
        var summary = Summary.Compute(new[] { Run("full", (10, 0.5), (20, 0.9)), Run("random", (5, 0.6), (10, 0.85)) }, null);

        summary.Rows[1].TimeToTargetSeconds.Should().BeNull();
        summary.Rows[1].TimeToTargetRatio.Should().BeNull();
        summary.Rows[1].FinalAccuracy.Should().Be(0.85);
    }

    [Fact]
    public void Compute_TargetAccuracyGiven_OverridesTheFirstRunsFinal()
    {
        var summary = Summary.Compute(new[] { Run("full", (10, 0.3), (20, 0.6), (30, 0.9)), Run("infobatch", (4, 0.5), (8, 0.7)) }, 0.5);

        summary.Target.Should().Be(0.5);
        summary.TargetGiven.Should().BeTrue();
        summary.Rows[0].TimeToTargetSeconds.Should().Be(20);
        summary.Rows[1].TimeToTargetSeconds.Should().Be(4);
        summary.Rows[1].TimeToTargetRatio.Should().Be(0.2, "4 s against the first run's 20 s to the same target");
    }

    [Fact]
    public void Compute_FirstRunNeverReachesTheGivenTarget_NoRatios()
    {
        var summary = Summary.Compute(new[] { Run("full", (10, 0.3)), Run("lowest", (8, 0.95)) }, 0.9);

        summary.Rows[0].TimeToTargetSeconds.Should().BeNull();
        summary.Rows[1].TimeToTargetSeconds.Should().Be(8);
        summary.Rows[1].TimeToTargetRatio.Should().BeNull("there is no first-run time to divide by");
    }

    [Fact]
    public void Compute_FirstRunDefinesTheTarget_NotTheBestRun()
    {
        var runs = new[] { Run("random", (10, 0.4), (20, 0.5)), Run("full", (10, 0.6), (20, 0.9)) };

        var summary = Summary.Compute(runs, null);

        summary.Target.Should().BeApproximately(0.495, 1e-12);
        summary.Rows[1].TimeToTargetSeconds.Should().Be(10);
        summary.Rows[1].TimeToTargetRatio.Should().Be(0.5);
    }

    [Fact]
    public void Compute_EveryRun_FinalBestAndTrainSecondsFromItsMetrics()
    {
        var summary = Summary.Compute(new[] { Run("full:batch", (10, 0.7), (20, 0.65)) }, null);

        summary.Rows.Should().ContainSingle().Which.Should().Be(new SummaryRow("full:batch", 0.65, 0.7, 20, 10, 1));
    }

    [Fact]
    public void Compute_NoRunsOrAnEmptyRun_Refused()
    {
        Action none = () => Summary.Compute(Array.Empty<(string, IReadOnlyList<EpochMetrics>)>(), null);
        Action empty = () => Summary.Compute(new[] { ("full", (IReadOnlyList<EpochMetrics>)Array.Empty<EpochMetrics>()) }, null);

        none.Should().Throw<ArgumentException>();
        empty.Should().Throw<ArgumentException>().WithMessage("*full has no epochs*");
    }

    [Fact]
    public void ToCsv_OneRunUnreached_ExactHeaderAndEmptyCells()
    {
        var summary = Summary.Compute(new[] { Run("full:batch", (10.5, 0.5), (21.25, 0.75)), Run("lowest:group", (7, 0.25), (14, 0.5)) }, null);

        summary.ToCsv().Should().Be(
            "run,final_accuracy,best_accuracy,train_seconds,time_to_target_seconds,time_to_target_ratio\n" +
            "full:batch,0.75,0.75,21.25,21.25,1\n" +
            "lowest:group,0.5,0.5,14,,\n");
    }

    [Fact]
    public void Describe_DefaultTarget_NamesTheFirstRunAndTheEpochResolution()
    {
        var summary = Summary.Compute(new[] { Run("full:batch", (10, 0.8)) }, null);

        summary.Describe().Should().Contain("79.5 %").And.Contain("full:batch's final 80.0 % minus 0.5 points").And.Contain("once per epoch");
    }

    private static (string, IReadOnlyList<EpochMetrics>) Run(string name, params (double Seconds, double Accuracy)[] epochs)
    {
        var metrics = new List<EpochMetrics>();
        for (int i = 0; i < epochs.Length; i++)
        {
            metrics.Add(new EpochMetrics(i + 1, epochs[i].Seconds, 0.1, 1.0, epochs[i].Accuracy, 100L * (i + 1), 1.0));
        }

        return (name, metrics);
    }
}
