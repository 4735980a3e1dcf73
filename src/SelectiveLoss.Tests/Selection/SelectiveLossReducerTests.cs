using System;
using System.Globalization;
using System.IO;
using System.Linq;
using FluentAssertions;
using SelectiveLoss.Selection;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SelectiveLoss.Tests.Selection;

[Collection(TorchCollection.Name)]
public sealed class SelectiveLossReducerTests
{
    [Fact]
    public void KeepCount_EveryPythonParityCase_MatchesPythonRound()
    {
        string[] lines = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Selection", "keep_counts.csv"));
        lines[0].Should().Be("ratio,batch_size,keep_count");
        var cases = lines.Skip(1).Where(l => l.Length > 0).Select(l => l.Split(',')).ToList();
        cases.Should().HaveCount(1242, "the parity table covers 9 ratios and 138 batch sizes");

        var mismatches = cases
            .Select(c => (ratio: double.Parse(c[0], CultureInfo.InvariantCulture), n: long.Parse(c[1], CultureInfo.InvariantCulture), expected: int.Parse(c[2], CultureInfo.InvariantCulture)))
            .Select(c => (c.ratio, c.n, c.expected, actual: new SelectiveLossReducer(c.ratio).KeepCount(c.n)))
            .Where(c => c.actual != c.expected)
            .Select(c => $"ratio {c.ratio}, n {c.n}: expected {c.expected}, got {c.actual}")
            .ToList();
        mismatches.Should().BeEmpty();
    }

    [Theory]
    [InlineData(0.5, 5, 2)]   // 2.5 rounds half to even: 2, where Math.Round away from zero would give 3
    [InlineData(0.5, 7, 4)]   // 3.5 -> 4
    [InlineData(0.3, 5, 2)]   // 1.5 -> 2
    [InlineData(0.1, 25, 2)]  // 2.5 -> 2
    [InlineData(0.05, 3, 1)]  // 0.15 -> 0, floored to 1
    [InlineData(1.0, 4096, 4096)]
    [InlineData(0.6, 64, 38)] // the user's setting
    public void KeepCount_HalfwayAndFloorCases_MatchPythonRule(double ratio, long n, int expected)
    {
        new SelectiveLossReducer(ratio).KeepCount(n).Should().Be(expected);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-0.1)]
    [InlineData(1.0000001)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void Constructor_KeepRatioOutsideUnitInterval_ThrowsNamingArgument(double ratio)
    {
        Action act = () => _ = new SelectiveLossReducer(ratio);
        act.Should().Throw<ArgumentOutOfRangeException>()
            .Where(e => e.ParamName == "keepRatio")
            .WithMessage("*(0, 1]*");
    }

    [Fact]
    public void Constructor_UndefinedReduction_Throws()
    {
        ((Action)(() => _ = new SelectiveLossReducer(0.5, reduction: (LossReduction)7))).Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "reduction");
    }

    [Fact]
    public void Constructor_Defaults_AreTheOriginalSnippet()
    {
        var reducer = new SelectiveLossReducer();
        reducer.KeepRatio.Should().Be(0.6);
        reducer.Largest.Should().BeFalse("topk(largest=False): the lowest losses");
        reducer.Reduction.Should().Be(LossReduction.Mean);
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(-3L)]
    public void KeepCount_NonPositiveBatch_Throws(long n)
    {
        Action act = () => new SelectiveLossReducer().KeepCount(n);
        act.Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "batchSize");
    }

    [Fact]
    public void SelectIndices_Lowest_ReturnsAscendingPositionsOfSmallestLosses()
    {
        using var loss = tensor(new float[] { 5f, 1f, 4f, 2f, 3f });
        using var idx = new SelectiveLossReducer(0.6).SelectIndices(loss);
        idx.dtype.Should().Be(ScalarType.Int64);
        idx.data<long>().ToArray().Should().Equal(1L, 3L, 4L);
    }

    [Fact]
    public void SelectIndices_Highest_ReturnsAscendingPositionsOfLargestLosses()
    {
        using var loss = tensor(new float[] { 5f, 1f, 4f, 2f, 3f });
        using var idx = new SelectiveLossReducer(0.4, largest: true).SelectIndices(loss);
        idx.data<long>().ToArray().Should().Equal(0L, 2L);
    }

    [Fact]
    public void SelectIndices_Ties_BrokenByPositionDeterministically()
    {
        using var loss = tensor(new float[] { 1f, 1f, 1f, 1f, 1f, 1f, 1f, 1f, 1f, 1f });
        using var low = new SelectiveLossReducer(0.3).SelectIndices(loss);
        using var high = new SelectiveLossReducer(0.3, largest: true).SelectIndices(loss);
        low.data<long>().ToArray().Should().Equal(0L, 1L, 2L);
        high.data<long>().ToArray().Should().Equal(0L, 1L, 2L);

        // A tie across the cut: the earlier of the equal losses wins.
        using var mixed = tensor(new float[] { 3f, 2f, 9f, 2f, 2f });
        using var pick = new SelectiveLossReducer(0.4).SelectIndices(mixed);
        pick.data<long>().ToArray().Should().Equal(1L, 3L);
    }

    [Fact]
    public void SelectIndices_LargeTiedBatch_SameResultEveryCall()
    {
        using var loss = randint(0, 3, new long[] { 4096 }).to(ScalarType.Float32);
        var reducer = new SelectiveLossReducer(0.37);
        using var first = reducer.SelectIndices(loss);
        for (int i = 0; i < 3; i++)
        {
            using var again = reducer.SelectIndices(loss);
            again.equal(first).all().item<bool>().Should().BeTrue();
        }
    }

    [Fact]
    public void SelectIndices_LowestWithNaN_NeverKeepsNaNAheadOfFiniteLoss()
    {
        using var loss = tensor(new float[] { float.NaN, 10f, float.PositiveInfinity, float.NaN, 0.5f });
        using var three = new SelectiveLossReducer(0.6).SelectIndices(loss);
        three.data<long>().ToArray().Should().Equal(new[] { 1L, 2L, 4L }, "NaN ranks after every number, +inf included");

        using var four = new SelectiveLossReducer(0.8).SelectIndices(loss);
        four.data<long>().ToArray().Should().Equal(new[] { 0L, 1L, 2L, 4L }, "with too few numbers, the first NaN by position is kept");
    }

    [Fact]
    public void SelectIndices_HighestWithNaN_ThrowsClearError()
    {
        using var loss = tensor(new float[] { 1f, float.NaN, 2f });
        Action act = () => new SelectiveLossReducer(0.5, largest: true).SelectIndices(loss).Dispose();
        act.Should().Throw<ArgumentException>().Where(e => e.ParamName == "perSampleLoss").WithMessage("*NaN*");
    }

    [Fact]
    public void Reduce_Mean_GradientIsOneOverKOnKeptAndExactlyZeroElsewhere()
    {
        using var loss = tensor(new double[] { 0.9, 0.1, 0.5, 0.3, 0.7, 0.2, 0.8 }, requires_grad: true);
        var reducer = new SelectiveLossReducer(0.6);
        int k = reducer.KeepCount(7);
        using (var reduced = reducer.Reduce(loss))
        {
            reduced.dim().Should().Be(0);
            reduced.item<double>().Should().BeApproximately((0.1 + 0.5 + 0.3 + 0.2) / 4, 1e-15);
            reduced.backward();
        }

        k.Should().Be(4);
        loss.grad.Should().NotBeNull();
        loss.grad!.data<double>().ToArray().Should().Equal(0, 0.25, 0.25, 0.25, 0, 0.25, 0);
    }

    [Fact]
    public void Reduce_Sum_GradientIsOneOnKeptAndZeroElsewhere()
    {
        using var loss = tensor(new float[] { 0.9f, 0.1f, 0.5f, 0.3f }, requires_grad: true);
        using (var reduced = new SelectiveLossReducer(0.5, largest: true, LossReduction.Sum).Reduce(loss))
        {
            reduced.item<float>().Should().BeApproximately(1.4f, 1e-6f);
            reduced.backward();
        }

        loss.grad!.data<float>().ToArray().Should().Equal(1f, 0f, 1f, 0f);
    }

    [Theory]
    [InlineData(ScalarType.Float16)]
    [InlineData(ScalarType.BFloat16)]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.Float64)]
    public void Reduce_AnyFloatDtype_ResultHasInputDtypeAndDevice(ScalarType dtype)
    {
        using var loss = tensor(new float[] { 3f, 1f, 2f, 4f }).to(dtype);
        using var reduced = new SelectiveLossReducer(0.5).Reduce(loss);
        reduced.dtype.Should().Be(dtype);
        reduced.device.type.Should().Be(loss.device.type);
        reduced.to(ScalarType.Float64).item<double>().Should().BeApproximately(1.5, 1e-2);
    }

    [Fact]
    public void Reduce_DoesNotModifyCallersTensor()
    {
        using var loss = tensor(new float[] { 3f, float.NaN, 2f, 4f, 1f });
        using var before = loss.clone();
        using var reduced = new SelectiveLossReducer(0.6).Reduce(loss);
        loss.allclose(before, equal_nan: true).Should().BeTrue();
        loss.requires_grad.Should().BeFalse();
    }

    [Fact]
    public void Reduce_MatchesOriginalTopkSnippet()
    {
        using var scope = NewDisposeScope();
        manual_seed(7);
        var loss = rand(64, dtype: ScalarType.Float64);
        var (values, _) = loss.topk(38, dim: 0, largest: false);
        new SelectiveLossReducer(0.6).Reduce(loss).item<double>().Should().BeApproximately(values.mean().item<double>(), 1e-15);
    }

    [Fact]
    public void Reduce_TwoDimensionalLoss_ThrowsNamingShape()
    {
        using var loss = ones(4, 2);
        Action act = () => new SelectiveLossReducer().Reduce(loss).Dispose();
        act.Should().Throw<ArgumentException>().Where(e => e.ParamName == "perSampleLoss").WithMessage("*1-D*[4, 2]*");
    }

    [Fact]
    public void Reduce_ScalarLoss_ThrowsNamingShape()
    {
        using var loss = tensor(1.0f);
        Action act = () => new SelectiveLossReducer().Reduce(loss).Dispose();
        act.Should().Throw<ArgumentException>().WithMessage("*1-D*[]*");
    }

    [Fact]
    public void Reduce_EmptyLoss_Throws()
    {
        using var loss = empty(0);
        Action act = () => new SelectiveLossReducer().Reduce(loss).Dispose();
        act.Should().Throw<ArgumentException>().Where(e => e.ParamName == "perSampleLoss").WithMessage("*empty*");
    }

    [Fact]
    public void Reduce_IntegerLoss_ThrowsNamingDtype()
    {
        using var loss = tensor(new long[] { 1, 2, 3 });
        Action act = () => new SelectiveLossReducer().Reduce(loss).Dispose();
        act.Should().Throw<ArgumentException>().Where(e => e.ParamName == "perSampleLoss").WithMessage("*floating point*Int64*");
    }

    [Fact]
    public void Reduce_NullLoss_ThrowsArgumentNull()
    {
        Action act = () => new SelectiveLossReducer().Reduce(null!);
        act.Should().Throw<ArgumentNullException>().Where(e => e.ParamName == "perSampleLoss");
    }

    [Fact]
    public void Reduce_ManyCalls_LeaveNoTensorsAlive()
    {
        var reducer = new SelectiveLossReducer(0.5);
        using var loss = rand(32);
        using (var warm = reducer.Reduce(loss)) { }
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 50; i++)
        {
            using var r = reducer.Reduce(loss);
        }

        DisposeScopeManager.Statistics.ThreadTotalLiveCount.Should().Be(before);
    }
}
