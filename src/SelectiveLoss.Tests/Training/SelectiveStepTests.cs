using System;
using System.Collections.Generic;
using System.Linq;
using FluentAssertions;
using SelectiveLoss.Normalization;
using SelectiveLoss.Selection;
using SelectiveLoss.Training;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SelectiveLoss.Tests.Training;

[Collection(TorchCollection.Name)]
public sealed class SelectiveStepTests
{
    internal const int Features = 6, Classes = 4;

    [Fact]
    public void Step_RebatchedOnUncoupledMlp_UpdateEqualsMaskedToRoundOff()
    {
        using var scope = NewDisposeScope();
        var (x, y) = Batch(16, seed: 3);
        var masked = Mlp(seed: 11);
        var rebatched = Mlp(seed: 11);

        var a = Run(masked, StepExecution.Masked, x, y, steps: 3);
        var b = Run(rebatched, StepExecution.Rebatched, x, y, steps: 3);

        a.Select(r => r.KeptIndices).Should().BeEquivalentTo(b.Select(r => r.KeptIndices), o => o.WithStrictOrdering());
        b.Should().OnlyContain(r => r.IsExact && r.ScoredSamples == 16 && r.KeptCount == 10);
        a.Select(r => r.Loss).Should().Equal(b.Select(r => r.Loss), (p, q) => Math.Abs(p - q) < 1e-12);
        MaxParameterDifference(masked, rebatched).Should().BeLessThan(1e-14);
    }

    [Fact]
    public void Step_RebatchedOnGroupNormConvNet_UpdateEqualsMaskedToRoundOff()
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        var x = randn(12, 3, 8, 8, dtype: ScalarType.Float64);
        var y = randint(0, Classes, new long[] { 12 });
        var masked = ConvNet(seed: 2, batchNorm: false);
        var rebatched = ConvNet(seed: 2, batchNorm: false);

        Run(masked, StepExecution.Masked, x, y, steps: 2);
        var results = Run(rebatched, StepExecution.Rebatched, x, y, steps: 2);

        results.Should().OnlyContain(r => r.IsExact);
        MaxParameterDifference(masked, rebatched).Should().BeLessThan(1e-14);
    }

    [Fact]
    public void Step_RebatchedOnBatchNormModel_IsNotExactAndSaysSoOnce()
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        var x = randn(12, 3, 8, 8, dtype: ScalarType.Float64);
        var y = randint(0, Classes, new long[] { 12 });
        var masked = ConvNet(seed: 2, batchNorm: true);
        var rebatched = ConvNet(seed: 2, batchNorm: true);

        Run(masked, StepExecution.Masked, x, y, steps: 1);
        using var step = new SelectiveStep(rebatched, optim.SGD(rebatched.parameters(), 0.1), new SelectiveLossReducer(0.5));
        var result = step.Step(x, y);

        step.ModelCouplesSamples.Should().BeTrue();
        result.IsExact.Should().BeFalse();
        step.Diagnostics.Should().ContainSingle().Which.Should().Contain("norm").And.Contain("GroupNorm");
        step.Step(x, y);
        step.Diagnostics.Should().ContainSingle("the coupling is reported once, not every step");
        MaxParameterDifference(masked, rebatched).Should().BeGreaterThan(1e-6, "BatchNorm couples the samples");
    }

    [Theory]
    [InlineData(BatchNormStatistics.WholeBatch)]
    [InlineData(BatchNormStatistics.TrainedSamples)]
    public void Step_RebatchedOnBatchNormModel_UpdatesRunningStatisticsOncePerStep(BatchNormStatistics statistics)
    {
        using var scope = NewDisposeScope();
        var model = ConvNet(seed: 2, batchNorm: true);
        var x = randn(8, 3, 8, 8, dtype: ScalarType.Float64);
        var y = randint(0, Classes, new long[] { 8 });
        using var step = new SelectiveStep(model, optim.SGD(model.parameters(), 0.1), new SelectiveLossReducer(0.5),
            new SelectiveStepOptions { BatchNormStatistics = statistics });
        step.Step(x, y);
        step.Step(x, y);
        var tracked = model.state_dict()["norm.num_batches_tracked"];
        tracked.item<long>().Should().Be(2, "one forward per step updates the running statistics: the scoring pass or the subset's");
        model.training.Should().BeTrue();
    }

    [Fact]
    public void Step_RebatchedOnBatchNormModel_RunningMeanEqualsFullBatchForward()
    {
        using var scope = NewDisposeScope();
        var x = randn(16, 3, 8, 8, dtype: ScalarType.Float64);
        var y = randint(0, Classes, new long[] { 16 });
        var selective = ConvNet(seed: 2, batchNorm: true);
        var reference = ConvNet(seed: 2, batchNorm: true);

        using var step = new SelectiveStep(selective, optim.SGD(selective.parameters(), 0.1), new SelectiveLossReducer(0.25));
        step.Step(x, y);
        reference.train();
        using (no_grad())
        {
            reference.forward(x);
        }

        var expected = reference.state_dict();
        var actual = selective.state_dict();
        foreach (string key in new[] { "norm.running_mean", "norm.running_var" })
        {
            (actual[key] - expected[key]).abs().max().item<double>().Should().BeLessThan(1e-15, $"{key} comes from the whole batch, not the 4 kept samples");
        }

        actual["norm.num_batches_tracked"].item<long>().Should().Be(1);
    }

    [Fact]
    public void Step_RebatchedOnBatchNormModelTrainedSamples_RunningMeanComesFromKeptSamples()
    {
        using var scope = NewDisposeScope();
        var x = randn(16, 3, 8, 8, dtype: ScalarType.Float64);
        var y = randint(0, Classes, new long[] { 16 });
        var selective = ConvNet(seed: 2, batchNorm: true);
        var full = ConvNet(seed: 2, batchNorm: true);
        using var step = new SelectiveStep(selective, optim.SGD(selective.parameters(), 0.1), new SelectiveLossReducer(0.25),
            new SelectiveStepOptions { BatchNormStatistics = BatchNormStatistics.TrainedSamples });
        step.Step(x, y);
        using (no_grad())
        {
            full.forward(x);
        }

        (selective.state_dict()["norm.running_mean"] - full.state_dict()["norm.running_mean"]).abs().max().item<double>()
            .Should().BeGreaterThan(1e-6, "the old behaviour: statistics of the 4 trained samples");
    }

    [Fact]
    public void Constructor_CoupledModelWithRefusePolicy_ThrowsNamingModuleAndFix()
    {
        using var scope = NewDisposeScope();
        var model = ConvNet(seed: 2, batchNorm: true);
        var options = new SelectiveStepOptions { CouplingPolicy = CouplingPolicy.Refuse };
        Action act = () => _ = new SelectiveStep(model, optim.SGD(model.parameters(), 0.1), new SelectiveLossReducer(), options: options);
        act.Should().Throw<InvalidOperationException>().WithMessage("*norm*NormalizationSwapper*");
    }

    [Fact]
    public void Step_Masked_TrainsOnSelectedLossesOfFullGraph()
    {
        using var scope = NewDisposeScope();
        var (x, y) = Batch(10, seed: 4);
        var model = Mlp(seed: 1);
        using var step = new SelectiveStep(model, optim.SGD(model.parameters(), 0.1), new SelectiveLossReducer(0.3), new SelectiveStepOptions { Execution = StepExecution.Masked });
        var result = step.Step(x, y);
        result.ScoredSamples.Should().Be(0);
        result.KeptCount.Should().Be(3);
        result.IsExact.Should().BeTrue();
        result.KeptIndices.Should().BeInAscendingOrder();
    }

    [Fact]
    public void Step_CachedWithoutSampleIds_ThrowsClearError()
    {
        using var scope = NewDisposeScope();
        var (x, y) = Batch(8, seed: 1);
        var model = Mlp(seed: 1);
        using var step = new SelectiveStep(model, optim.SGD(model.parameters(), 0.1), new SelectiveLossReducer(), new SelectiveStepOptions { Scores = ScoreSource.Cached });
        Action act = () => step.Step(x, y);
        act.Should().Throw<ArgumentException>().Where(e => e.ParamName == "sampleIds").WithMessage("*lowest(0.6) with Cached scores needs sampleIds*");
    }

    [Fact]
    public void Step_Cached_ScoresUnseenOnceThenReusesUntilStale()
    {
        using var scope = NewDisposeScope();
        var (x, y) = Batch(8, seed: 1);
        var ids = arange(100, 108, dtype: ScalarType.Int64);
        var model = Mlp(seed: 1);
        var options = new SelectiveStepOptions { Scores = ScoreSource.Cached, CachePolicy = new CachePolicy { MaxAgeEpochs = 2 } };
        using var step = new SelectiveStep(model, optim.SGD(model.parameters(), 0.01), new SelectiveLossReducer(0.5), options);

        step.Step(x, y, ids).ScoredSamples.Should().Be(8, "unseen ids are always scored");
        step.Step(x, y, ids).ScoredSamples.Should().Be(0, "every score is fresh");
        step.Epoch = 1;
        step.Step(x, y, ids).ScoredSamples.Should().Be(0, "one epoch old is still fresh with MaxAgeEpochs 2");
        step.Epoch = 2;
        var result = step.Step(x, y, ids);
        result.ScoredSamples.Should().Be(4, "the 4 kept at epoch 1 were refreshed by their training forward; the others are stale");
        result.IsExact.Should().BeFalse();
        step.Memory!.Count.Should().Be(8);
    }

    [Fact]
    public void Step_Cached_RefreshesKeptSamplesScoresFromTrainingForward()
    {
        using var scope = NewDisposeScope();
        var (x, y) = Batch(6, seed: 2);
        var ids = tensor(new long[] { 5, 4, 3, 2, 1, 0 });
        var model = Mlp(seed: 1);
        using var step = new SelectiveStep(model, optim.SGD(model.parameters(), 0.0), new SelectiveLossReducer(0.5), new SelectiveStepOptions { Scores = ScoreSource.Cached });
        var result = step.Step(x, y, ids);

        // With learning rate 0 the model does not change, so the training forward's losses equal a fresh scoring.
        using var expected = no_grad() is var guard ? nn.functional.cross_entropy(model.forward(x), y, reduction: Reduction.None) : null!;
        guard.Dispose();
        foreach (long position in result.KeptIndices)
        {
            long id = 5 - position;
            step.Memory!.TryGetFresh(id, 0, out double score).Should().BeTrue();
            score.Should().BeApproximately(expected[position].item<double>(), 1e-12);
        }
    }

    [Fact]
    public void Step_RandomControl_KeepsSameCountWithoutScoringAndIsSeeded()
    {
        using var scope = NewDisposeScope();
        var (x, y) = Batch(20, seed: 3);
        var options = new SelectiveStepOptions { Seed = 9 };
        long[] Kept()
        {
            var model = Mlp(seed: 1);
            using var step = new SelectiveStep(model, optim.SGD(model.parameters(), 0.1), SelectionRules.Random(0.6), options);
            var result = step.Step(x, y);
            result.ScoredSamples.Should().Be(0);
            result.KeptCount.Should().Be(12);
            return result.KeptIndices;
        }

        var first = Kept();
        first.Should().BeInAscendingOrder().And.OnlyHaveUniqueItems();
        Kept().Should().Equal(first, "the random control is reproducible from its seed");
    }

    [Fact]
    public void Step_LinearRampSchedule_KeepsMoreSamplesEarly()
    {
        using var scope = NewDisposeScope();
        var (x, y) = Batch(20, seed: 3);
        var model = Mlp(seed: 1);
        var rule = SelectionRules.Scheduled(SelectionRules.Lowest(0.5), KeepRatioSchedules.LinearRamp(rampEpochs: 10));
        using var step = new SelectiveStep(model, optim.SGD(model.parameters(), 0.1), rule);
        step.Step(x, y).KeptCount.Should().Be(20);
        step.Epoch = 5;
        step.KeepRatio.Should().BeApproximately(0.75, 1e-12);
        step.Step(x, y).KeptCount.Should().Be(15);
        step.Epoch = 30;
        step.Step(x, y).KeptCount.Should().Be(10);
    }

    [Fact]
    public void Step_ScheduleOutOfRange_ThrowsBeforeAnyParameterChanges()
    {
        using var scope = NewDisposeScope();
        var (x, y) = Batch(8, seed: 3);
        var model = Mlp(seed: 1);
        var before = Snapshot(model);
        var rule = SelectionRules.Scheduled(SelectionRules.Lowest(0.6), new BrokenSchedule());
        using var step = new SelectiveStep(model, optim.SGD(model.parameters(), 0.1), rule);
        Action act = () => step.Step(x, y);
        act.Should().Throw<InvalidOperationException>().WithMessage("*lowest(0.6)*returned 1.5*(0, 1]*");
        MaxDifference(before, Snapshot(model)).Should().Be(0);
    }

    [Theory]
    [InlineData(StepExecution.Masked, ScoreSource.Fresh)]
    [InlineData(StepExecution.Rebatched, ScoreSource.Fresh)]
    [InlineData(StepExecution.Rebatched, ScoreSource.Cached)]
    [InlineData(StepExecution.Rebatched, ScoreSource.LastTrainingLoss)]
    public void Step_LossFunctionReturnsWrongShape_ThrowsBeforeAnyParameterChanges(StepExecution execution, ScoreSource scores)
    {
        using var scope = NewDisposeScope();
        var (x, y) = Batch(8, seed: 3);
        var model = Mlp(seed: 1);
        var before = Snapshot(model);
        using var step = new SelectiveStep(model, optim.SGD(model.parameters(), 0.1), new SelectiveLossReducer(),
            new SelectiveStepOptions { Execution = execution, Scores = scores, PerSampleLoss = (o, t) => nn.functional.cross_entropy(o, t) });
        Action act = () => step.Step(x, y, arange(8, dtype: ScalarType.Int64));
        act.Should().Throw<InvalidOperationException>().WithMessage("*shape []*one loss per sample*[8]*");
        MaxDifference(before, Snapshot(model)).Should().Be(0);
    }

    [Fact]
    public void Step_BatchSizesDiffer_Throws()
    {
        using var scope = NewDisposeScope();
        var model = Mlp(seed: 1);
        using var step = new SelectiveStep(model, optim.SGD(model.parameters(), 0.1), new SelectiveLossReducer());
        Action act = () => step.Step(randn(8, Features, dtype: ScalarType.Float64), zeros(7, dtype: ScalarType.Int64));
        act.Should().Throw<ArgumentException>().Where(e => e.ParamName == "target").WithMessage("*8 samples*7*");
    }

    [Fact]
    public void Step_EmptyBatch_Throws()
    {
        using var scope = NewDisposeScope();
        var model = Mlp(seed: 1);
        using var step = new SelectiveStep(model, optim.SGD(model.parameters(), 0.1), new SelectiveLossReducer());
        Action act = () => step.Step(empty(0, Features, dtype: ScalarType.Float64), empty(0, dtype: ScalarType.Int64));
        act.Should().Throw<ArgumentException>().Where(e => e.ParamName == "input").WithMessage("*empty*");
    }

    [Theory]
    [InlineData(new long[] { 0, 1, 2, 2 }, "*2 more than once*")]
    [InlineData(new long[] { 0, 1, -2, 3 }, "*-2*")]
    [InlineData(new long[] { 0, 1, 2, 50 }, "*50*[0, 50)*")]
    public void Step_BadSampleIds_ThrowBeforeAnyParameterChanges(long[] ids, string message)
    {
        using var scope = NewDisposeScope();
        var (x, y) = Batch(4, seed: 3);
        var model = Mlp(seed: 1);
        var before = Snapshot(model);
        using var step = new SelectiveStep(model, optim.SGD(model.parameters(), 0.1), new SelectiveLossReducer(),
            new SelectiveStepOptions { Scores = ScoreSource.Cached, DatasetSize = 50 });
        Action act = () => step.Step(x, y, tensor(ids));
        act.Should().Throw<ArgumentException>().Where(e => e.ParamName == "sampleIds").WithMessage(message);
        MaxDifference(before, Snapshot(model)).Should().Be(0);
    }

    [Fact]
    public void Step_SampleIdsOfWrongLengthOrType_Throw()
    {
        using var scope = NewDisposeScope();
        var (x, y) = Batch(4, seed: 3);
        var model = Mlp(seed: 1);
        using var step = new SelectiveStep(model, optim.SGD(model.parameters(), 0.1), new SelectiveLossReducer(), new SelectiveStepOptions { Scores = ScoreSource.Cached });
        ((Action)(() => step.Step(x, y, arange(3, dtype: ScalarType.Int64)))).Should().Throw<ArgumentException>().WithMessage("*[4]*[3]*");
        ((Action)(() => step.Step(x, y, arange(4, dtype: ScalarType.Float32)))).Should().Throw<ArgumentException>().WithMessage("*integer*Float32*");
    }

    [Fact]
    public void Constructor_ParameterMissingFromOptimizer_ThrowsNamingIt()
    {
        using var scope = NewDisposeScope();
        var model = Mlp(seed: 1);
        var first = (Module)((Sequential)model)[0];
        Action act = () => _ = new SelectiveStep(model, optim.SGD(first.parameters(), 0.1), new SelectiveLossReducer());
        act.Should().Throw<ArgumentException>().Where(e => e.ParamName == "optimizer").WithMessage("*2.weight*2.bias*model.parameters()*");
    }

    [Fact]
    public void Constructor_NullArguments_Throw()
    {
        using var scope = NewDisposeScope();
        var model = Mlp(seed: 1);
        var optimizer = optim.SGD(model.parameters(), 0.1);
        ((Action)(() => _ = new SelectiveStep(null!, optimizer, new SelectiveLossReducer()))).Should().Throw<ArgumentNullException>().Where(e => e.ParamName == "model");
        ((Action)(() => _ = new SelectiveStep(model, null!, new SelectiveLossReducer()))).Should().Throw<ArgumentNullException>().Where(e => e.ParamName == "optimizer");
        ((Action)(() => _ = new SelectiveStep(model, optimizer, (SelectiveLossReducer)null!))).Should().Throw<ArgumentNullException>().Where(e => e.ParamName == "reducer");
        ((Action)(() => _ = new SelectiveStep(model, optimizer, (ISelectionRule)null!))).Should().Throw<ArgumentNullException>().Where(e => e.ParamName == "rule");
    }

    [Theory]
    [InlineData("lowest", StepExecution.Masked, ScoreSource.Fresh)]
    [InlineData("lowest", StepExecution.Rebatched, ScoreSource.Fresh)]
    [InlineData("lowest", StepExecution.Rebatched, ScoreSource.Cached)]
    [InlineData("random", StepExecution.Rebatched, ScoreSource.Fresh)]
    [InlineData("sb", StepExecution.Rebatched, ScoreSource.Fresh)]
    [InlineData("infobatch", StepExecution.Rebatched, ScoreSource.LastTrainingLoss)]
    [InlineData("infobatch", StepExecution.Masked, ScoreSource.LastTrainingLoss)]
    public void Step_FiveHundredSteps_LeaveNoTensorsBehind(string rule, StepExecution execution, ScoreSource scores)
    {
        var model = Mlp(seed: 1);
        using var optimizer = optim.SGD(model.parameters(), 0.01, momentum: 0.9);
        ISelectionRule selection = rule switch
        {
            "random" => SelectionRules.Random(0.5),
            "sb" => SelectionRules.SelectiveBackprop(),
            "infobatch" => SelectionRules.InfoBatch(),
            _ => SelectionRules.Lowest(0.5),
        };
        using var step = new SelectiveStep(model, optimizer, selection,
            new SelectiveStepOptions { Execution = execution, Scores = scores, TotalEpochs = 10 });
        var (x, y) = Batch(16, seed: 1);
        using var ids = arange(16, dtype: ScalarType.Int64);
        for (int i = 0; i < 5; i++)
        {
            step.Step(x, y, ids);  // warm-up: momentum buffers are created by the first step
        }

        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 500; i++)
        {
            StepResult result = step.Step(x, y, ids);
            _ = result.Loss + result.KeptIndices.Length;  // reading releases the result's two tensors
        }


        DisposeScopeManager.Statistics.ThreadTotalLiveCount.Should().Be(before);
        x.Dispose();
        y.Dispose();
        model.Dispose();
    }

    [Fact]
    public void LinearRampKeepRatio_Values_FollowCoTeaching()
    {
        var ramp = new LinearRampKeepRatio(10);
        ramp.KeepRatioAt(0, 0.8).Should().Be(1.0);
        ramp.KeepRatioAt(5, 0.8).Should().BeApproximately(0.9, 1e-12);
        ramp.KeepRatioAt(10, 0.8).Should().BeApproximately(0.8, 1e-12);
        ramp.KeepRatioAt(50, 0.8).Should().BeApproximately(0.8, 1e-12);
        new ConstantKeepRatio().KeepRatioAt(7, 0.3).Should().Be(0.3);
    }

    [Fact]
    public void Schedules_BadArguments_ThrowNamingThem()
    {
        ((Action)(() => _ = new LinearRampKeepRatio(0))).Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "rampEpochs");
        ((Action)(() => _ = SelectionRules.Lowest(1.5))).Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "keepRatio");
        ((Action)(() => _ = SelectionRules.Random(0))).Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "keepRatio");
        ((Action)(() => _ = SelectionRules.SelectiveBackprop(beta: 0))).Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "beta");
        ((Action)(() => _ = SelectionRules.SelectiveBackprop(historySize: 0))).Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "historySize");
        ((Action)(() => _ = SelectionRules.InfoBatch(pruneRatio: 1))).Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "pruneRatio");
        ((Action)(() => _ = SelectionRules.InfoBatch(annealFraction: 0))).Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "annealFraction");
        ((Action)(() => _ = new CachePolicy { MaxAgeEpochs = 0 })).Should().Throw<ArgumentOutOfRangeException>();
        ((Action)(() => _ = new CachePolicy { MaxVisits = 0 })).Should().Throw<ArgumentOutOfRangeException>();
    }

    private sealed class BrokenSchedule : IKeepRatioSchedule
    {
        public double KeepRatioAt(int epoch, double keepRatio) => 1.5;
    }

    private static List<StepResult> Run(Module<Tensor, Tensor> model, StepExecution execution, Tensor x, Tensor y, int steps)
    {
        using var step = new SelectiveStep(model, optim.SGD(model.parameters(), 0.5), new SelectiveLossReducer(0.6),
            new SelectiveStepOptions { Execution = execution });
        return Enumerable.Range(0, steps).Select(_ => step.Step(x, y)).ToList();
    }

    internal static (Tensor X, Tensor Y) Batch(int n, int seed)
    {
        using var generator = new Generator((ulong)seed);
        return (randn(new long[] { n, Features }, dtype: ScalarType.Float64, generator: generator),
                randint(0, Classes, new long[] { n }, generator: generator));
    }

    internal static Module<Tensor, Tensor> Mlp(int seed)
    {
        manual_seed(seed);
        var model = Sequential(Linear(Features, 16), ReLU(), Linear(16, Classes));
        model.to(ScalarType.Float64);
        return model;
    }

    internal static Module<Tensor, Tensor> ConvNet(int seed, bool batchNorm)
    {
        manual_seed(seed);
        Module<Tensor, Tensor> norm = batchNorm ? BatchNorm2d(8) : GroupNorm(4, 8);
        if (!batchNorm)
        {
            using var noGrad = no_grad();
            ((GroupNorm)norm).weight!.fill_(1);
            ((GroupNorm)norm).bias!.zero_();
        }

        var model = Sequential(
            ("conv", Conv2d(3, 8, 3, padding: 1)),
            ("norm", norm),
            ("relu", ReLU()),
            ("pool", AdaptiveAvgPool2d(1)),
            ("flatten", Flatten()),
            ("fc", Linear(8, Classes)));
        model.to(ScalarType.Float64);
        return model;
    }

    internal static Dictionary<string, Tensor> Snapshot(Module model) =>
        model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());

    internal static double MaxDifference(Dictionary<string, Tensor> a, Dictionary<string, Tensor> b) =>
        a.Keys.Max(k => (a[k] - b[k]).abs().max().to(ScalarType.Float64).item<double>());

    internal static double MaxParameterDifference(Module a, Module b) => MaxDifference(Snapshot(a), Snapshot(b));
}
