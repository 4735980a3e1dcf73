using FluentAssertions;
using Xunit;

namespace Cifar100Training.Tests;

public sealed class EpochMetricsTests
{
    [Fact]
    public void ParseCsv_RowsWithAndWithoutNoisyShareOrLoss_RoundTrip()
    {
        var rows = new[]
        {
            new EpochMetrics(1, 2.5, 0.25, 1.25, 0.5, 100, 0.6, 0.125),
            new EpochMetrics(2, 5.0, 0.5, double.NaN, 0.75, 200, 0.6),
        };

        string csv = EpochMetrics.ToCsv(rows);

        csv.Should().StartWith("epoch,train_seconds,eval_seconds,train_loss,test_accuracy,samples_backpropagated,keep_ratio,noisy_kept_share\n");
        csv.Should().Contain("\n2,5,0.5,NaN,0.75,200,0.6,\n", "no share is an empty field; no sample trained is a NaN loss");
        EpochMetrics.ParseCsv(csv).Should().Equal(rows);
    }
}
