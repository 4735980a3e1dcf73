using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FluentAssertions;
using SelectiveLoss.Selection;
using SelectiveLoss.Training;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SelectiveLoss.Tests.Training;

/// <summary>The selection API a caller's own loop drives: the loop gives SelectiveStep's parameters, the caller's
/// clipping acts, BatchNorm's running statistics come from the whole batch, a failed update can be rolled back.</summary>
[Collection(TorchCollection.Name)]
public sealed class BatchSelectorTests
{
    private const int Epochs = 3, Batches = 2;

    public static TheoryData<string> Rules => new() { "lowest", "random", "sb", "infobatch", "cached", "ramp" };

    [Theory]
    [MemberData(nameof(Rules))]
    public void CallerLoop_ClippingThatDoesNotBite_GivesSelectiveStepsParametersExactly(string rule)
    {
        using var scope = NewDisposeScope();
        var viaStep = SelectionRulesTests.SmallDenseNet(ScalarType.Float64);
        var viaLoop = SelectionRulesTests.SmallDenseNet(ScalarType.Float64);
        var (ruleA, scoresA) = Rule(rule);
        using (var step = new SelectiveStep(viaStep, optim.SGD(viaStep.parameters(), 0.05), ruleA,
            new SelectiveStepOptions { Scores = scoresA, TotalEpochs = Epochs, Seed = 11 }))
        {
            for (int epoch = 0; epoch < Epochs; epoch++)
            {
                step.Epoch = epoch;
                foreach (var (x, y, ids) in Batches64())
                {
                    step.Step(x, y, ids);
                }
            }
        }

        var (ruleB, scoresB) = Rule(rule);
        CallerLoop(viaLoop, ruleB, scoresB, maxNorm: double.PositiveInfinity);

        SelectiveStepTests.MaxParameterDifference(viaStep, viaLoop).Should().Be(0, $"{rule}: the caller's loop is the step's loop");
    }

    [Fact]
    public void CallerLoop_ClippingThatBites_ClipsEveryUpdate()
    {
        using var scope = NewDisposeScope();
        var model = SelectionRulesTests.SmallDenseNet(ScalarType.Float64);
        var reference = SelectionRulesTests.SmallDenseNet(ScalarType.Float64);
        CallerLoop(reference, SelectionRules.Lowest(0.6), null, maxNorm: double.PositiveInfinity);
        var optimizer = optim.SGD(model.parameters(), 0.05);
        using var selector = new BatchSelector(model, SelectionRules.Lowest(0.6));
        var norms = new List<(double Before, double After)>();
        for (int epoch = 0; epoch < Epochs; epoch++)
        {
            foreach (var (x, y, ids) in Batches64())
            {
                SelectedBatch kept = selector.Select(x, y, ids);
                Tensor loss = selector.Loss(kept, functional.cross_entropy(model.forward(kept.Input), kept.Target, reduction: Reduction.None));
                optimizer.zero_grad();
                loss.backward();
                double before = nn.utils.clip_grad_norm_(model.parameters(), 0.01);
                norms.Add((before, GradientNorm(model)));
                optimizer.step();
            }
        }

        norms.Should().OnlyContain(n => n.Before > 0.01 && n.After <= 0.01 * (1 + 1e-6), "the caller's clipping acts between backward and step");
        SelectiveStepTests.MaxParameterDifference(model, reference).Should().BeGreaterThan(1e-6);
    }

    [Fact]
    public void Select_BatchNormModel_RunningStatisticsComeFromWholeBatchThroughCallersForward()
    {
        using var scope = NewDisposeScope();
        var x = randn(16, 3, 8, 8, dtype: ScalarType.Float64);
        var y = randint(0, SelectiveStepTests.Classes, new long[] { 16 });
        var model = SelectiveStepTests.ConvNet(seed: 2, batchNorm: true);
        var reference = SelectiveStepTests.ConvNet(seed: 2, batchNorm: true);
        var optimizer = optim.SGD(model.parameters(), 0.1);
        using var selector = new BatchSelector(model, SelectionRules.Lowest(0.25));

        SelectedBatch kept = selector.Select(x, y);
        model.train();
        Tensor loss = selector.Loss(kept, functional.cross_entropy(model.forward(kept.Input), kept.Target, reduction: Reduction.None));
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
        reference.train();
        using (no_grad())
        {
            reference.forward(x);
        }

        selector.ModelCouplesSamples.Should().BeTrue();
        kept.IsExact.Should().BeFalse();
        foreach (string key in new[] { "norm.running_mean", "norm.running_var" })
        {
            (model.state_dict()[key] - reference.state_dict()[key]).abs().max().item<double>().Should().BeLessThan(1e-15, key);
        }

        model.state_dict()["norm.num_batches_tracked"].item<long>().Should().Be(1);
        ((BatchNorm2d)((Sequential)model)[1]).momentum.Should().Be(0.1, "the hold ends with Loss");
    }

    [Fact]
    public void Select_KeptPartOfBatch_ReturnsPositionsInputsTargetsIdsAndShares()
    {
        using var scope = NewDisposeScope();
        var (x, y) = SelectiveStepTests.Batch(10, seed: 4);
        var model = SelectiveStepTests.Mlp(seed: 1);
        using var selector = new BatchSelector(model, SelectionRules.Lowest(0.3));
        var before = SelectiveStepTests.Snapshot(model);
        Tensor losses;
        using (no_grad())
        {
            losses = functional.cross_entropy(model.forward(x), y, reduction: Reduction.None);
        }

        SelectedBatch kept = selector.Select(x, y, arange(100, 110, dtype: ScalarType.Int64));

        long[] positions = kept.Positions.data<long>().ToArray();
        positions.Should().Equal(new SelectiveLossReducer(0.3).SelectIndices(losses).data<long>().ToArray());
        kept.KeptCount.Should().Be(3);
        kept.KeptShare.Should().BeApproximately(0.3, 1e-12);
        kept.KeepRatio.Should().Be(0.3);
        kept.ScoredSamples.Should().Be(10);
        kept.IsExact.Should().BeTrue();
        kept.Weights.Should().BeNull();
        kept.SampleIds!.data<long>().ToArray().Should().Equal(positions.Select(p => p + 100));
        (kept.Input - x.index_select(0, kept.Positions)).abs().max().item<double>().Should().Be(0);
        kept.Target.data<long>().ToArray().Should().Equal(positions.Select(p => y[p].item<long>()));
        SelectiveStepTests.MaxDifference(before, SelectiveStepTests.Snapshot(model)).Should().Be(0, "selecting trains nothing");
    }

    [Fact]
    public void Loss_WrongShape_ThrowsNamingTheArgument()
    {
        using var scope = NewDisposeScope();
        var (x, y) = SelectiveStepTests.Batch(10, seed: 4);
        var model = SelectiveStepTests.Mlp(seed: 1);
        using var selector = new BatchSelector(model, SelectionRules.Lowest(0.5));
        SelectedBatch kept = selector.Select(x, y);
        Action act = () => selector.Loss(kept, functional.cross_entropy(model.forward(x), y, reduction: Reduction.None));
        act.Should().Throw<ArgumentException>().Where(e => e.ParamName == "perSampleLoss").WithMessage("*one loss per kept sample ([5])*[10]*");
    }

    [Theory]
    [InlineData("random")]
    [InlineData("sb")]
    [InlineData("infobatch")]
    public void Rollback_AfterFailedUpdate_NextSelectChoosesAsIfNothingHappened(string rule)
    {
        using var scope = NewDisposeScope();
        var model = SelectiveStepTests.Mlp(seed: 1);
        var twin = SelectiveStepTests.Mlp(seed: 1);
        var (x, y) = SelectiveStepTests.Batch(16, seed: 2);
        var ids = arange(16, dtype: ScalarType.Int64);
        var options = new BatchSelectorOptions { TotalEpochs = 10, Seed = 5 };
        using var selector = new BatchSelector(model, Rule(rule).Rule, options);
        using var reference = new BatchSelector(twin, Rule(rule).Rule, options);
        foreach (var s in new[] { selector, reference })
        {
            SelectedBatch first = s.Select(x, y, ids);
            s.Loss(first, functional.cross_entropy((s == selector ? model : twin).forward(first.Input), first.Target, reduction: Reduction.None));
        }

        SelectedBatch failed = selector.Select(x, y, ids);
        selector.Loss(failed, functional.cross_entropy(model.forward(failed.Input), failed.Target, reduction: Reduction.None));
        selector.Rollback().Should().BeTrue();
        selector.Rollback().Should().BeFalse("one selection is undone, once");

        long[] retried = selector.Select(x, y, ids).Positions.data<long>().ToArray();
        long[] expected = reference.Select(x, y, ids).Positions.data<long>().ToArray();
        retried.Should().Equal(expected);
        selector.Steps.Should().Be(reference.Steps);
        if (selector.Memory is { } memory)
        {
            memory.Mean.Should().Be(reference.Memory!.Mean);
        }
    }

    [Fact]
    public void SaveLoad_RoundTrip_ResumesSelectionExactly()
    {
        using var scope = NewDisposeScope();
        var model = SelectiveStepTests.Mlp(seed: 1);
        var (x, y) = SelectiveStepTests.Batch(16, seed: 2);
        var ids = arange(16, dtype: ScalarType.Int64);
        var options = new BatchSelectorOptions { TotalEpochs = 10, Seed = 5 };
        using var selector = new BatchSelector(model, SelectionRules.InfoBatch(), options);
        SelectedBatch first = selector.Select(x, y, ids);
        selector.Loss(first, functional.cross_entropy(model.forward(first.Input), first.Target, reduction: Reduction.None));
        using var saved = new MemoryStream();
        selector.Save(saved);

        using var resumed = new BatchSelector(model, SelectionRules.InfoBatch(), options);
        resumed.Load(new MemoryStream(saved.ToArray()));
        resumed.Steps.Should().Be(1);
        resumed.Memory!.Count.Should().Be(16);
        resumed.Select(x, y, ids).Positions.data<long>().ToArray().Should().Equal(selector.Select(x, y, ids).Positions.data<long>().ToArray());
        ((Action)(() => resumed.Load(new MemoryStream(new byte[] { 9, 9, 9 })))).Should().Throw<InvalidDataException>().WithMessage("*BatchSelector.Save*");
    }

    [Fact]
    public void SelectionContext_MadeByHand_LetsACustomRuleBeTestedWithoutAModel()
    {
        using var scope = NewDisposeScope();
        var rule = SelectionRules.Lowest(0.5);
        // <custom-rule-test>
        var context = new SelectionContext(torch.tensor(new[] { 0.3f, 2.0f, 0.1f, 0.9f }), epoch: 2, totalEpochs: 10);
        SampleSelection kept = rule.Choose(context);   // unit-test a rule of your own without a model
        // </custom-rule-test>
        kept.Kept.data<long>().ToArray().Should().Equal(0L, 2L);
        context.BatchSize.Should().Be(4);
        context.Device.type.Should().Be(DeviceType.CPU);
        new SelectionContext(null, batchSize: 5).BatchSize.Should().Be(5);
    }

    [Fact]
    public void SelectionContext_BadArguments_ThrowNamingThem()
    {
        using var scope = NewDisposeScope();
        ((Action)(() => _ = new SelectionContext(null))).Should().Throw<ArgumentException>().Where(e => e.ParamName == "batchSize");
        ((Action)(() => _ = new SelectionContext(zeros(2, 2)))).Should().Throw<ArgumentException>().Where(e => e.ParamName == "scores");
        ((Action)(() => _ = new SelectionContext(zeros(3), batchSize: 4))).Should().Throw<ArgumentException>().Where(e => e.ParamName == "batchSize");
        ((Action)(() => _ = new SelectionContext(zeros(3), epoch: -1))).Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "epoch");
        ((Action)(() => _ = new SelectionContext(zeros(3), totalEpochs: 0))).Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "totalEpochs");
    }

    /// <summary>The README's loop.</summary>
    private static void CallerLoop(Module<Tensor, Tensor> model, ISelectionRule rule, ScoreSource? scores, double maxNorm)
    {
        var optimizer = optim.SGD(model.parameters(), 0.05);
        int epochs = Epochs;
        ulong seed = 11;
        IEnumerable<(Tensor X, Tensor Y, Tensor Ids)> batches = Batches64();
        // <caller-loop>
        using var selector = new BatchSelector(model, rule, new BatchSelectorOptions { Scores = scores, TotalEpochs = epochs, Seed = seed });
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            selector.Epoch = epoch;
            foreach (var (x, y, ids) in batches)
            {
                using var scope = torch.NewDisposeScope();
                SelectedBatch kept = selector.Select(x, y, ids);   // no-grad scoring: the part of the batch the rule keeps
                model.train();
                Tensor perSample = nn.functional.cross_entropy(model.forward(kept.Input), kept.Target, reduction: nn.Reduction.None);
                Tensor loss = selector.Loss(kept, perSample);      // the rule's weighted mean; scores remembered
                optimizer.zero_grad();
                loss.backward();
                nn.utils.clip_grad_norm_(model.parameters(), maxNorm);   // yours: clipping, loss scaling, schedulers, logging
                optimizer.step();
            }
        }
        // </caller-loop>
    }

    private static double GradientNorm(Module<Tensor, Tensor> model)
    {
        using var scope = NewDisposeScope();
        return Math.Sqrt(model.parameters().Where(p => p.grad is not null).Sum(p => p.grad!.pow(2).sum().item<double>()));
    }

    private static IEnumerable<(Tensor X, Tensor Y, Tensor Ids)> Batches64()
    {
        for (int b = 0; b < Batches; b++)
        {
            yield return SelectionRulesTests.Data(b, ScalarType.Float64);
        }
    }

    private static (ISelectionRule Rule, ScoreSource? Scores) Rule(string name) => name switch
    {
        "random" => (SelectionRules.Random(0.5), null),
        "sb" => (SelectionRules.SelectiveBackprop(beta: 2, historySize: 20), null),
        "infobatch" => (SelectionRules.InfoBatch(), null),
        "cached" => (SelectionRules.Lowest(0.5), ScoreSource.Cached),
        "ramp" => (SelectionRules.Scheduled(SelectionRules.Lowest(0.5), KeepRatioSchedules.LinearRamp(2)), null),
        _ => (SelectionRules.Lowest(0.6), null),
    };
}
