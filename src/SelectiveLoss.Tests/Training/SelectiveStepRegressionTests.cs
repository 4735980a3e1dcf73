using System;
using System.IO;
using System.Linq;
using FluentAssertions;
using SelectiveLoss.Selection;
using SelectiveLoss.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SelectiveLoss.Tests.Training;

/// <summary>
/// Four defects of the 1,100-line step, found by reading and each confirmed by one of these tests failing on it before
/// the split (2026-12-02): masked execution ranked by stale cached scores; the cached memory of a BatchNorm model mixed
/// eval-mode and training-mode losses; a failed <c>Load</c> left the tensors it had read to the finalizer; InfoBatch's
/// weights took the float32 dtype of the remembered scores.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class SelectiveStepRegressionTests
{
    [Fact]
    public void Step_MaskedWithCachedScores_RanksByThisBatchsOwnLosses()
    {
        using var scope = NewDisposeScope();
        var (x, y) = SelectiveStepTests.Batch(16, seed: 7);
        var ids = arange(16, dtype: ScalarType.Int64);
        var model = SelectiveStepTests.Mlp(seed: 3);
        using var step = new SelectiveStep(model, optim.SGD(model.parameters(), 2.0), SelectionRules.Highest(0.25),
            new SelectiveStepOptions { Execution = StepExecution.Masked, Scores = ScoreSource.Cached });
        step.Step(x, y, ids);
        Tensor now;
        using (no_grad())
        {
            now = functional.cross_entropy(model.forward(x), y, reduction: Reduction.None);
        }

        long[] expected = new SelectiveLossReducer(0.25, largest: true).SelectIndices(now).data<long>().ToArray();
        var result = step.Step(x, y, ids);
        result.KeptIndices.Should().Equal(expected, "the training forward just computed this batch's exact losses");
        result.IsExact.Should().BeTrue();
    }

    [Fact]
    public void Step_CachedScoresOnBatchNormModel_RemembersEvalModeLossesOnly()
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        var x = randn(8, 3, 8, 8, dtype: ScalarType.Float64);
        var y = randint(0, 4, new long[] { 8 });
        var model = SelectiveStepTests.ConvNet(seed: 2, batchNorm: true);
        var probe = SelectiveStepTests.ConvNet(seed: 2, batchNorm: true);
        probe.eval();
        Tensor eval;
        using (no_grad())
        {
            eval = functional.cross_entropy(probe.forward(x), y, reduction: Reduction.None);
        }

        using var step = new SelectiveStep(model, optim.SGD(model.parameters(), 0.1), new SelectiveLossReducer(0.5),
            new SelectiveStepOptions { Scores = ScoreSource.Cached });
        step.Step(x, y, arange(8, dtype: ScalarType.Int64));
        for (int i = 0; i < 8; i++)
        {
            step.Memory!.TryGet(i, out double score).Should().BeTrue();
            score.Should().BeApproximately(eval[i].item<double>(), 1e-5, $"sample {i}");
        }
    }

    [Fact]
    public void Load_RuleStateRefused_LeavesNoTensorBehind()
    {
        var model = SelectiveStepTests.Mlp(seed: 1);
        using var optimizer = optim.SGD(model.parameters(), 0.01);
        var options = new SelectiveStepOptions { AccumulateToBatchSize = 64 };
        byte[] saved;
        using (var scope = NewDisposeScope())
        {
            var (x, y) = SelectiveStepTests.Batch(16, seed: 1);
            using var step = new SelectiveStep(model, optimizer, SelectionRules.SelectiveBackprop(), options);
            step.Step(x, y);
            step.PendingCount.Should().BeGreaterThan(0);
            using var stream = new MemoryStream();
            step.Save(stream);
            saved = stream.ToArray();
        }

        byte[] magic = BitConverter.GetBytes(0x50425353);
        int at = Enumerable.Range(0, saved.Length - 4).First(i => saved.AsSpan(i, 4).SequenceEqual(magic));
        saved[at] ^= 0xFF;
        using var other = new SelectiveStep(model, optimizer, SelectionRules.SelectiveBackprop(), options);
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        Action load = () => other.Load(new MemoryStream(saved));
        load.Should().Throw<InvalidDataException>();
        DisposeScopeManager.Statistics.ThreadTotalLiveCount.Should().Be(before);
    }

    [Fact]
    public void Step_InfoBatchOnFloat64Model_WeightIsExactlyOneOverKeptShare()
    {
        using var scope = NewDisposeScope();
        var (x, y) = SelectiveStepTests.Batch(32, seed: 2);
        var ids = arange(32, dtype: ScalarType.Int64);
        var model = SelectiveStepTests.Mlp(seed: 4);
        using var step = new SelectiveStep(model, optim.SGD(model.parameters(), 0.0), SelectionRules.InfoBatch(pruneRatio: 0.3),
            new SelectiveStepOptions { TotalEpochs = 10 });
        step.Step(x, y, ids);
        var r = step.Step(x, y, ids);
        Tensor losses;
        using (no_grad())
        {
            losses = functional.cross_entropy(model.forward(x), y, reduction: Reduction.None);
        }

        double mean = step.Memory!.Mean!.Value;
        double sum = 0;
        foreach (long p in r.KeptIndices)
        {
            step.Memory.TryGet(p, out double s);
            double w = s < mean ? 1.0 / (1.0 - 0.3) : 1.0;
            sum += w * losses[p].item<double>();
        }

        r.KeptCount.Should().BeLessThan(32);
        r.Loss.Should().BeApproximately(sum / r.KeptCount, 1e-15);
    }
}
