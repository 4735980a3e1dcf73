using System;
using FluentAssertions;
using Xunit;

namespace Cifar100Training.Tests;

public sealed class LearningRateScheduleTests
{
    [Fact]
    public void At_NoWarmup_IsTheCosineOfEveryEpochAsBefore()
    {
        for (int epoch = 0; epoch < 8; epoch++)
        {
            LearningRateSchedule.At(0.1, epoch, step: 3, stepsPerEpoch: 10, warmupEpochs: 0, epochs: 8)
                .Should().BeApproximately(0.1 * 0.5 * (1 + Math.Cos(Math.PI * epoch / 8)), 1e-15);
        }
    }

    [Fact]
    public void At_WarmupEpochs_RisesLinearlyPerStepToTheLearningRate()
    {
        // 2 warm-up epochs of 10 steps: step k of the 20 gets lr x (k + 1) / 20.
        LearningRateSchedule.At(0.1, 0, 0, 10, 2, 8).Should().BeApproximately(0.005, 1e-15);
        LearningRateSchedule.At(0.1, 0, 9, 10, 2, 8).Should().BeApproximately(0.05, 1e-15);
        LearningRateSchedule.At(0.1, 1, 0, 10, 2, 8).Should().BeApproximately(0.055, 1e-15);
        LearningRateSchedule.At(0.1, 1, 9, 10, 2, 8).Should().BeApproximately(0.1, 1e-15);
    }

    [Fact]
    public void At_AfterWarmup_CosineFromTheFullRateOverTheEpochsLeft()
    {
        LearningRateSchedule.At(0.1, 2, 0, 10, 2, 8).Should().Be(0.1, "the first epoch after warm-up runs at the full rate");
        LearningRateSchedule.At(0.1, 5, 4, 10, 2, 8).Should().BeApproximately(0.05, 1e-15, "half way through the 6 decay epochs");
        LearningRateSchedule.At(0.1, 7, 9, 10, 2, 8).Should().BeLessThan(0.01);
    }
}
