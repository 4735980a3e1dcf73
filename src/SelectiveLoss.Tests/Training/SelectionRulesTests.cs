using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FluentAssertions;
using SelectiveLoss.Models;
using SelectiveLoss.Selection;
using SelectiveLoss.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SelectiveLoss.Tests.Training;

/// <summary>The built-in rules through the step: they train, masked equals rebatched, a resumed run equals an
/// uninterrupted one, and a misbehaving rule is refused before anything changes.</summary>
[Collection(TorchCollection.Name)]
public sealed class SelectionRulesTests
{
    internal const int Batch = 8, Classes = 5, Epochs = 4;

    public static TheoryData<string> Rules => new() { "seed", "lowest", "highest", "random", "sb", "infobatch", "ramp" };

    [Theory]
    [MemberData(nameof(Rules))]
    public void Step_EveryRule_TrainsGroupNormDenseNet(string rule)
    {
        using var scope = NewDisposeScope();
        var model = SmallDenseNet(ScalarType.Float32);
        var before = SelectiveStepTests.Snapshot(model);
        using var step = Build(rule, model, StepExecution.Rebatched);
        var results = new List<StepResult>();
        for (int epoch = 0; epoch < 2; epoch++)
        {
            step.Epoch = epoch;
            for (int b = 0; b < 2; b++)
            {
                var (x, y, ids) = Data(b, ScalarType.Float32);
                results.Add(step.Step(x, y, ids));
            }
        }

        results.Should().OnlyContain(r => r.Updated && double.IsFinite(r.Loss) && r.KeptCount >= 1 && r.KeptCount <= Batch);
        results.Should().OnlyContain(r => r.KeptIndices.Length == r.KeptCount && r.TrainedCount == r.KeptCount);
        SelectiveStepTests.MaxDifference(before, SelectiveStepTests.Snapshot(model)).Should().BeGreaterThan(0);
    }

    [Theory]
    [MemberData(nameof(Rules))]
    public void Step_EveryRule_MaskedEqualsRebatchedOnGroupNormDenseNetFloat64(string rule)
    {
        using var scope = NewDisposeScope();
        var masked = SmallDenseNet(ScalarType.Float64);
        var rebatched = SmallDenseNet(ScalarType.Float64);
        using var maskedStep = Build(rule, masked, StepExecution.Masked);
        using var rebatchedStep = Build(rule, rebatched, StepExecution.Rebatched);

        for (int epoch = 0; epoch < 3; epoch++)
        {
            maskedStep.Epoch = rebatchedStep.Epoch = epoch;
            for (int b = 0; b < 2; b++)
            {
                var (x, y, ids) = Data(b, ScalarType.Float64);
                StepResult a = maskedStep.Step(x, y, ids);
                StepResult r = rebatchedStep.Step(x, y, ids);
                r.KeptIndices.Should().Equal(a.KeptIndices, $"{rule}, epoch {epoch}, batch {b}");
                r.Loss.Should().BeApproximately(a.Loss, 1e-12);
                r.IsExact.Should().Be(rebatchedStep.Scores == ScoreSource.Fresh);
            }
        }

        SelectiveStepTests.MaxParameterDifference(masked, rebatched).Should().BeLessThan(1e-12);
    }

    [Theory]
    [MemberData(nameof(Rules))]
    [InlineData("sb-accumulate")]
    [InlineData("infobatch-accumulate")]
    [InlineData("cached")]
    public void SaveLoad_KilledAndResumed_SameWeightsAndSelectionsAsUninterrupted(string rule)
    {
        using var scope = NewDisposeScope();
        var uninterrupted = SmallDenseNet(ScalarType.Float32);
        var expected = new List<long[]>();
        using (var step = Build(rule, uninterrupted, StepExecution.Rebatched))
        {
            for (int epoch = 0; epoch < Epochs; epoch++)
            {
                expected.AddRange(Epoch(step, epoch));
            }
        }

        var first = SmallDenseNet(ScalarType.Float32);
        var actual = new List<long[]>();
        byte[] saved;
        using (var step = Build(rule, first, StepExecution.Rebatched))
        {
            actual.AddRange(Epoch(step, 0));
            actual.AddRange(Epoch(step, 1));
            using var stream = new MemoryStream();
            step.Save(stream);
            saved = stream.ToArray();
        }

        // A new process: a fresh model with the saved weights (plain SGD keeps no optimiser state), a fresh step.
        var resumed = SmallDenseNet(ScalarType.Float32);
        using (no_grad())
        {
            var weights = first.state_dict();
            foreach (var (name, value) in resumed.state_dict())
            {
                value.copy_(weights[name]);
            }
        }

        using (var step = Build(rule, resumed, StepExecution.Rebatched))
        {
            step.Load(new MemoryStream(saved));
            step.Epoch.Should().Be(1);
            for (int epoch = 2; epoch < Epochs; epoch++)
            {
                actual.AddRange(Epoch(step, epoch));
            }
        }

        actual.Should().HaveCount(expected.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            actual[i].Should().Equal(expected[i], $"{rule}: step {i} selects as the uninterrupted run");
        }

        SelectiveStepTests.MaxParameterDifference(uninterrupted, resumed).Should().Be(0, $"{rule}: the resumed run trains exactly as the uninterrupted one");
    }

    [Fact]
    public void Load_OtherRuleOrGarbage_RefusedAndStepUnchanged()
    {
        using var scope = NewDisposeScope();
        var model = SmallDenseNet(ScalarType.Float32);
        using var step = Build("sb", model, StepExecution.Rebatched);
        using var other = Build("lowest", SmallDenseNet(ScalarType.Float32), StepExecution.Rebatched);
        var (x, y, ids) = Data(0, ScalarType.Float32);
        other.Step(x, y, ids);
        using var stream = new MemoryStream();
        other.Save(stream);

        ((Action)(() => step.Load(new MemoryStream(stream.ToArray())))).Should().Throw<InvalidDataException>().WithMessage("*lowest(0.6)*selective-backprop*");
        ((Action)(() => step.Load(new MemoryStream(new byte[] { 1, 2, 3 })))).Should().Throw<InvalidDataException>();
        byte[] truncated;
        using (var own = new MemoryStream())
        {
            step.Step(x, y, ids);
            step.Save(own);
            truncated = own.ToArray()[..^3];
        }

        ((Action)(() => step.Load(new MemoryStream(truncated)))).Should().Throw<InvalidDataException>().WithMessage("*truncated*");
        step.Epoch.Should().Be(0);
    }

    public static TheoryData<string, string> BadSelections => new()
    {
        { "duplicate", "*custom*position 2 twice*" },
        { "out-of-range", "*custom*position 8, out of range*" },
        { "negative", "*custom*position -1, out of range*" },
        { "unsorted", "*custom*out of order*" },
        { "empty", "*custom*no positions*" },
        { "negative-weight", "*custom*weight -1*" },
        { "nan-weight", "*custom*weight NaN*" },
        { "short-weights", "*custom*weights of shape [1]*" },
    };

    [Theory]
    [MemberData(nameof(BadSelections))]
    public void Step_CustomRuleReturnsBadSelection_RefusedNamingRuleBeforeAnyParameterChanges(string bad, string message)
    {
        using var scope = NewDisposeScope();
        var model = SelectiveStepTests.Mlp(seed: 1);
        var before = SelectiveStepTests.Snapshot(model);
        using var step = new SelectiveStep(model, optim.SGD(model.parameters(), 0.1), new BadRule(bad));
        var (x, y) = SelectiveStepTests.Batch(Batch, seed: 2);

        Action act = () => step.Step(x, y);

        act.Should().Throw<InvalidOperationException>().WithMessage(message).WithMessage("*No parameter was changed*");
        SelectiveStepTests.MaxDifference(before, SelectiveStepTests.Snapshot(model)).Should().Be(0);
    }

    [Fact]
    public void Step_CustomRuleWithWeights_WeightedMeanOverTrainedSamples()
    {
        using var scope = NewDisposeScope();
        var model = SelectiveStepTests.Mlp(seed: 1);
        var (x, y) = SelectiveStepTests.Batch(Batch, seed: 2);
        Tensor losses = PerSampleLoss(model, x, y);

        using var step = new SelectiveStep(model, optim.SGD(model.parameters(), 0.0), new BadRule("good"));
        StepResult result = step.Step(x, y);

        double expected = ((2.0 * losses[1].item<double>()) + (0.5 * losses[3].item<double>()) + (1.0 * losses[6].item<double>())) / 3;
        result.Loss.Should().BeApproximately(expected, 1e-12);
        result.KeptIndices.Should().Equal(1, 3, 6);
        result.Rule.Should().Be("custom(good)");
    }

    [Fact]
    public void Constructor_InfoBatchWithoutTotalEpochs_RefusedNamingRuleAndOption()
    {
        using var scope = NewDisposeScope();
        var model = SelectiveStepTests.Mlp(seed: 1);
        Action act = () => _ = new SelectiveStep(model, optim.SGD(model.parameters(), 0.1), SelectionRules.InfoBatch());
        act.Should().Throw<ArgumentException>().WithMessage("*infobatch*TotalEpochs*");
    }

    [Fact]
    public void Step_InfoBatchWithoutSampleIds_RefusedBeforeAnyParameterChanges()
    {
        using var scope = NewDisposeScope();
        var model = SelectiveStepTests.Mlp(seed: 1);
        var before = SelectiveStepTests.Snapshot(model);
        using var step = new SelectiveStep(model, optim.SGD(model.parameters(), 0.1), SelectionRules.InfoBatch(), new SelectiveStepOptions { TotalEpochs = 5 });
        var (x, y) = SelectiveStepTests.Batch(Batch, seed: 2);
        ((Action)(() => step.Step(x, y))).Should().Throw<ArgumentException>().Where(e => e.ParamName == "sampleIds").WithMessage("*infobatch*LastTrainingLoss*sampleIds*");
        SelectiveStepTests.MaxDifference(before, SelectiveStepTests.Snapshot(model)).Should().Be(0);
    }

    [Fact]
    public void Constructor_AccumulateWithMaskedOrReductionConflict_Refused()
    {
        using var scope = NewDisposeScope();
        var model = SelectiveStepTests.Mlp(seed: 1);
        var optimizer = optim.SGD(model.parameters(), 0.1);
        ((Action)(() => _ = new SelectiveStep(model, optimizer, SelectionRules.SelectiveBackprop(),
            new SelectiveStepOptions { Execution = StepExecution.Masked, AccumulateToBatchSize = 8 })))
            .Should().Throw<ArgumentOutOfRangeException>().WithMessage("*AccumulateToBatchSize needs StepExecution.Rebatched*");
        ((Action)(() => _ = new SelectiveStep(model, optimizer, new SelectiveLossReducer(0.5, reduction: LossReduction.Sum),
            new SelectiveStepOptions { Reduction = LossReduction.Mean })))
            .Should().Throw<ArgumentException>().WithMessage("*Reduction is Mean*reducer reduces by Sum*");
    }

    [Fact]
    public void Step_InfoBatchFirstEpoch_KeepsUnseenWithoutScoringAndRemembersTrainingLosses()
    {
        using var scope = NewDisposeScope();
        var model = SelectiveStepTests.Mlp(seed: 1);
        using var step = new SelectiveStep(model, optim.SGD(model.parameters(), 0.0), SelectionRules.InfoBatch(), new SelectiveStepOptions { TotalEpochs = 8 });
        var (x, y) = SelectiveStepTests.Batch(Batch, seed: 2);
        var ids = arange(100, 100 + Batch, dtype: ScalarType.Int64);

        StepResult first = step.Step(x, y, ids);

        first.KeptCount.Should().Be(Batch, "no sample has a remembered loss yet");
        first.ScoredSamples.Should().Be(0, "InfoBatch never runs a scoring pass");
        using var expected = functional.cross_entropy(model.forward(x), y, reduction: Reduction.None);
        for (int i = 0; i < Batch; i++)
        {
            step.Memory!.TryGet(100 + i, out double score).Should().BeTrue();
            score.Should().BeApproximately(expected[i].item<double>(), 1e-12);
        }

        step.Memory!.Mean.Should().BeApproximately(expected.mean().item<double>(), 1e-6);
        StepResult second = step.Step(x, y, ids);
        second.KeptCount.Should().BeLessThan(Batch, "below-mean samples are pruned at random, here with seed 0");
    }

    [Fact]
    public void Choose_InfoBatch_PrunesHalfOfBelowMeanAndWeightsTheRestTwice()
    {
        using var scope = NewDisposeScope();
        var rule = SelectionRules.InfoBatch(pruneRatio: 0.5, annealFraction: 0.75);
        using var generator = new Generator(3, CPU);
        var scores = cat(new[] { zeros(500, ScalarType.Float64), ones(500, ScalarType.Float64) }, 0);
        long belowKept = 0;
        for (int i = 0; i < 20; i++)
        {
            SampleSelection selection = rule.Choose(Context(scores, epoch: 0, totalEpochs: 8, generator));
            long[] kept = selection.Kept.data<long>().ToArray();
            double[] weights = selection.Weights!.data<double>().ToArray();
            kept.Where(k => k >= 500).Should().HaveCount(500, "samples at or above the mean are never pruned");
            kept.Zip(weights).Should().OnlyContain(p => p.Second == (p.First < 500 ? 2.0 : 1.0));
            belowKept += kept.Count(k => k < 500);
        }

        (belowKept / (20.0 * 500)).Should().BeApproximately(0.5, 0.02);
        var annealed = rule.Choose(Context(scores, epoch: 6, totalEpochs: 8, generator));
        annealed.Kept.shape[0].Should().Be(1000, "the last quarter of the epochs trains on everything");
        annealed.Weights.Should().BeNull();
    }

    [Fact]
    public void Choose_SelectiveBackprop_KeepsWithProbabilityPercentileToTheBeta()
    {
        using var scope = NewDisposeScope();
        var rule = SelectionRules.SelectiveBackprop(beta: 3, historySize: 1000);
        using var generator = new Generator(5, CPU);
        var scores = arange(1000, dtype: ScalarType.Float32);
        var counts = new int[1000];
        const int Draws = 200;
        for (int i = 0; i < Draws; i++)
        {
            foreach (long k in rule.Choose(Context(scores, 0, null, generator)).Kept.data<long>().ToArray())
            {
                counts[k]++;
            }
        }

        // The history holds these 1000 losses, so the sample ranked r keeps with probability ((r + 1) / 1000)^3.
        (counts.Sum() / (double)(Draws * 1000)).Should().BeApproximately(0.25, 0.01, "E[u^3] = 1/4");
        (counts.Skip(900).Average() / Draws).Should().BeApproximately(Enumerable.Range(901, 100).Average(r => Math.Pow(r / 1000.0, 3)), 0.02);
        (counts.Take(300).Average() / Draws).Should().BeLessThan(0.02);
    }

    [Fact]
    public void Step_AccumulateToBatchSize_TrainsOnlyFullBatchesAndFlushesTheRest()
    {
        using var scope = NewDisposeScope();
        var model = SelectiveStepTests.Mlp(seed: 1);
        using var step = new SelectiveStep(model, optim.SGD(model.parameters(), 0.1), SelectionRules.SelectiveBackprop(),
            new SelectiveStepOptions { AccumulateToBatchSize = 16 });
        int kept = 0, trained = 0;
        for (int b = 0; b < 12; b++)
        {
            var (x, y) = SelectiveStepTests.Batch(16, seed: b);
            StepResult result = step.Step(x, y);
            kept += result.KeptCount;
            result.Updated.Should().Be(result.TrainedCount == 16);
            (result.Updated ? double.IsFinite(result.Loss) : double.IsNaN(result.Loss)).Should().BeTrue();
            trained += result.TrainedCount;
            step.PendingCount.Should().Be(kept - trained).And.BeLessThan(16);
        }

        trained.Should().BeGreaterThan(0);
        StepResult? rest = step.Flush();
        if (kept > trained)
        {
            rest!.TrainedCount.Should().Be(kept - trained);
        }
        else
        {
            rest.Should().BeNull();
        }

        step.PendingCount.Should().Be(0);
        step.Flush().Should().BeNull();
    }

    [Fact]
    public void StepResult_LossAndIndices_ReadLazilyAndStable()
    {
        using var scope = NewDisposeScope();
        var model = SelectiveStepTests.Mlp(seed: 1);
        var (x, y) = SelectiveStepTests.Batch(Batch, seed: 2);
        Tensor losses = PerSampleLoss(model, x, y);

        using var step = new SelectiveStep(model, optim.SGD(model.parameters(), 0.1), SelectionRules.Lowest(0.5));
        StepResult result = step.Step(x, y);

        long[] expected = losses.argsort().narrow(0, 0, 4).sort().Values.data<long>().ToArray();
        result.KeptCount.Should().Be(4);
        result.KeptIndices.Should().Equal(expected);
        result.KeptIndices.Should().BeSameAs(result.KeptIndices, "read once, then kept");
        result.Loss.Should().BeApproximately(losses.index_select(0, tensor(expected)).mean().item<double>(), 1e-12);
        result.Loss.Should().Be(result.Loss);
        result.KeepRatio.Should().Be(0.5);
        result.KeptShare.Should().Be(0.5);
    }

    [Fact]
    public void Readme_ThreeChoices_TrainsWithInfoBatch()
    {
        using var scope = NewDisposeScope();
        var model = SmallDenseNet(ScalarType.Float32);
        var optimizer = optim.SGD(model.parameters(), 0.05);
        int epochs = 3;
        var batches = Enumerable.Range(0, 2).Select(b => Data(b, ScalarType.Float32)).ToList();
        var results = new List<StepResult>();

        // <three-choices>
        // Three independent choices: the rule (InfoBatch), where its scores come from (each sample's last training loss:
        // no scoring pass) and how the update runs (forward and backward on the kept samples only).
        using var step = new SelectiveStep(model, optimizer, SelectionRules.InfoBatch(pruneRatio: 0.5),
            new SelectiveStepOptions
            {
                Scores = ScoreSource.LastTrainingLoss,   // InfoBatch's default; Fresh or Cached work too
                Execution = StepExecution.Rebatched,     // Masked is the reference it is tested against
                TotalEpochs = epochs,                    // InfoBatch trains on everything in the last 12.5%
            });
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            step.Epoch = epoch;
            foreach (var (x, y, ids) in batches)
            {
                StepResult result = step.Step(x, y, ids);   // ids: dataset indices, so each score is remembered
                results.Add(result);
            }
        }
        // </three-choices>

        results.Should().OnlyContain(r => r.Updated && r.ScoredSamples == 0);
        results.Take(2).Should().OnlyContain(r => r.KeptCount == Batch, "the first epoch has no remembered losses");
        results.Skip(2).Should().Contain(r => r.KeptCount < Batch, "then below-mean samples are pruned at random");
    }

    private static IEnumerable<long[]> Epoch(SelectiveStep step, int epoch)
    {
        step.Epoch = epoch;
        for (int b = 0; b < 2; b++)
        {
            var (x, y, ids) = Data(b, ScalarType.Float32);
            yield return step.Step(x, y, ids).KeptIndices;
        }
    }

    private static SelectiveStep Build(string rule, Module<Tensor, Tensor> model, StepExecution execution)
    {
        var optimizer = optim.SGD(model.parameters(), 0.05);
        var options = new SelectiveStepOptions { Execution = execution, TotalEpochs = Epochs, Seed = 11 };
        return rule switch
        {
            "seed" => new SelectiveStep(model, optimizer, new SelectiveLossReducer(0.6), options),
            "lowest" => new SelectiveStep(model, optimizer, SelectionRules.Lowest(0.6), options),
            "highest" => new SelectiveStep(model, optimizer, SelectionRules.Highest(0.4), options),
            "random" => new SelectiveStep(model, optimizer, SelectionRules.Random(0.5), options),
            "sb" => new SelectiveStep(model, optimizer, SelectionRules.SelectiveBackprop(beta: 2, historySize: 20), options),
            "infobatch" => new SelectiveStep(model, optimizer, SelectionRules.InfoBatch(), options),
            "ramp" => new SelectiveStep(model, optimizer, SelectionRules.Scheduled(SelectionRules.Lowest(0.5), KeepRatioSchedules.LinearRamp(2)), options),
            "cached" => new SelectiveStep(model, optimizer, SelectionRules.Lowest(0.5), options with { Scores = ScoreSource.Cached, CachePolicy = new CachePolicy { MaxAgeEpochs = 2 } }),
            "sb-accumulate" => new SelectiveStep(model, optimizer, SelectionRules.SelectiveBackprop(beta: 1, historySize: 20), options with { AccumulateToBatchSize = Batch }),
            "infobatch-accumulate" => new SelectiveStep(model, optimizer, SelectionRules.InfoBatch(), options with { AccumulateToBatchSize = Batch }),
            _ => throw new ArgumentException(rule, nameof(rule)),
        };
    }

    internal static DenseNet SmallDenseNet(ScalarType dtype)
    {
        manual_seed(7);
        var model = new DenseNet(growth_rate: 4, block_config: new[] { 2, 2 }, num_init_features: 8, num_classes: Classes,
            stem: DenseNetStem.Cifar, norm_layer: c => GroupNorm(2, c));
        model.to(dtype);
        return model;
    }

    internal static (Tensor X, Tensor Y, Tensor Ids) Data(int batch, ScalarType dtype)
    {
        using var generator = new Generator((ulong)(batch + 1), CPU);
        return (randn(new long[] { Batch, 3, 8, 8 }, dtype: dtype, generator: generator),
            randint(0, Classes, new long[] { Batch }, generator: generator),
            arange(batch * Batch, (batch + 1) * Batch, dtype: ScalarType.Int64));
    }

    /// <summary>The model's per-sample losses on (x, y), computed without gradients, as a rule is given them.</summary>
    private static Tensor PerSampleLoss(Module<Tensor, Tensor> model, Tensor x, Tensor y)
    {
        using var noGrad = no_grad();
        return functional.cross_entropy(model.forward(x), y, reduction: Reduction.None);
    }

    private static SelectionContext Context(Tensor scores, int epoch, int? totalEpochs, Generator generator) =>
        new(scores, epoch: epoch, totalEpochs: totalEpochs, generator: generator);

    /// <summary>A rule of a user's own that returns a fixed (good or bad) selection.</summary>
    private sealed class BadRule(string kind) : ISelectionRule
    {
        public string Name => $"custom({kind})";

        public SampleSelection Choose(SelectionContext context)
        {
            Tensor Positions(params long[] p) => tensor(p, device: context.Device);
            Tensor Weights(params double[] w) => tensor(w, device: context.Device);
            return kind switch
            {
                "duplicate" => new SampleSelection(Positions(1, 2, 2)),
                "out-of-range" => new SampleSelection(Positions(1, context.BatchSize)),
                "negative" => new SampleSelection(Positions(-1, 2)),
                "unsorted" => new SampleSelection(Positions(3, 1)),
                "empty" => new SampleSelection(empty(0, ScalarType.Int64)),
                "negative-weight" => new SampleSelection(Positions(1, 2), Weights(1, -1)),
                "nan-weight" => new SampleSelection(Positions(1, 2), Weights(double.NaN, 1)),
                "short-weights" => new SampleSelection(Positions(1, 2), Weights(1)),
                _ => new SampleSelection(Positions(1, 3, 6), Weights(2, 0.5, 1)),
            };
        }
    }
}
