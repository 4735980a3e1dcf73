using System;
using System.IO;
using System.Linq;
using FluentAssertions;
using SelectiveLoss.Selection;
using SelectiveLoss.Training;
using Xunit;
using static TorchSharp.torch;

namespace SelectiveLoss.Tests.Selection;

[Collection(TorchCollection.Name)]
public sealed class InfoBatchSamplerTests
{
    [Fact]
    public void Epoch_NoScoresYet_KeepsEverySampleShuffledInFullBatches()
    {
        var sampler = new InfoBatchSampler(datasetSize: 100, totalEpochs: 8, batchSize: 16, seed: 3);
        InfoBatchEpoch plan = sampler.Epoch(0);

        plan.Prunes.Should().BeTrue();
        plan.KeptCount.Should().Be(100, "a sample without a score is never pruned");
        plan.Batches.Select(b => b.Length).Should().Equal(16, 16, 16, 16, 16, 16, 4);
        plan.Batches.SelectMany(b => b).Should().BeEquivalentTo(Enumerable.Range(0, 100).Select(i => (long)i));
        plan.SampleIds.Should().NotBeInAscendingOrder("the epoch is shuffled");
        Enumerable.Range(0, 100).Select(i => sampler.WeightOf(i)).Should().OnlyContain(w => w == 1.0);
        new InfoBatchSampler(100, 8, 16, seed: 3, dropLast: true).Epoch(0).Batches.Should().HaveCount(6);
    }

    [Fact]
    public void Epoch_PruningEpoch_PrunesExactShareOfBelowMeanNeverYieldsThemAndWeightsTheKept()
    {
        using var scope = NewDisposeScope();
        var sampler = new InfoBatchSampler(datasetSize: 100, totalEpochs: 8, batchSize: 16, pruneRatio: 0.5, seed: 3);
        sampler.Epoch(0);
        sampler.Update(arange(100, dtype: ScalarType.Int64), cat(new[] { zeros(50, ScalarType.Float64), ones(50, ScalarType.Float64) }, 0));

        InfoBatchEpoch plan = sampler.Epoch(1);

        plan.PrunedCount.Should().Be(25, "floor(0.5 x 50) of the 50 below-mean samples are kept, as InfoBatch's prune()");
        plan.KeptCount.Should().Be(75);
        plan.KeptShare.Should().Be(0.75);
        long[] yielded = plan.Batches.SelectMany(b => b).ToArray();
        yielded.Should().OnlyHaveUniqueItems().And.HaveCount(75);
        yielded.Where(i => i >= 50).Should().HaveCount(50, "samples at or above the mean are never pruned");
        foreach (long id in yielded)
        {
            sampler.WeightOf(id).Should().Be(id < 50 ? 2.0 : 1.0);
        }

        plan.Batches.Take(4).Should().OnlyContain(b => b.Length == 16, "every batch but the last is full");
    }

    [Fact]
    public void Epoch_UnscoredSamples_AreKeptAndMeanIsOverScoredOnes()
    {
        using var scope = NewDisposeScope();
        var sampler = new InfoBatchSampler(datasetSize: 40, totalEpochs: 4, batchSize: 8, pruneRatio: 0.99);
        sampler.Epoch(0);
        sampler.Update(arange(20, dtype: ScalarType.Int64), arange(20, dtype: ScalarType.Float64));

        sampler.ScoredCount.Should().Be(20);
        sampler.MeanScore.Should().Be(9.5);
        long[] kept = sampler.Epoch(1).SampleIds.ToArray();
        kept.Where(i => i >= 20).Should().HaveCount(20, "unscored samples are always kept, so they get a score");
        kept.Where(i => i >= 10 && i < 20).Should().HaveCount(10);
        kept.Count(i => i < 10).Should().Be(0, "floor(0.01 x 10) = 0 of the below-mean samples are kept");
    }

    [Fact]
    public void Epoch_AnnealingEpochs_TrainEverySampleAtWeightOne()
    {
        using var scope = NewDisposeScope();
        var sampler = new InfoBatchSampler(datasetSize: 50, totalEpochs: 8, batchSize: 10, annealFraction: 0.75);
        sampler.Epoch(0);
        sampler.Update(arange(50, dtype: ScalarType.Int64), arange(50, dtype: ScalarType.Float64));

        sampler.Prunes(5).Should().BeTrue();
        sampler.Prunes(6).Should().BeFalse("epochs from 0.75 x 8 = 6 on anneal");
        sampler.Epoch(5).KeptCount.Should().BeLessThan(50);
        InfoBatchEpoch annealed = sampler.Epoch(6);
        annealed.Prunes.Should().BeFalse();
        annealed.KeptCount.Should().Be(50);
        Enumerable.Range(0, 50).Select(i => sampler.WeightOf(i)).Should().OnlyContain(w => w == 1.0);
    }

    [Fact]
    public void Loss_Float64Losses_WeightedMeanWithExactWeightsAndScoresRemembered()
    {
        using var scope = NewDisposeScope();
        var sampler = new InfoBatchSampler(datasetSize: 10, totalEpochs: 4, batchSize: 10, pruneRatio: 0.3, seed: 1);
        sampler.Epoch(0);
        sampler.Update(arange(10, dtype: ScalarType.Int64), arange(10, dtype: ScalarType.Float64));
        long[] ids = sampler.Epoch(1).Batches[0];
        Tensor losses = rand(new long[] { ids.Length }, dtype: ScalarType.Float64).requires_grad_();

        Tensor loss = sampler.Loss(tensor(ids), losses);

        double[] l = losses.detach().data<double>().ToArray();
        double expected = ids.Select((id, j) => (id < 5 ? 1.0 / (1.0 - 0.3) : 1.0) * l[j]).Sum() / ids.Length;
        loss.dtype.Should().Be(ScalarType.Float64);
        loss.item<double>().Should().BeApproximately(expected, 1e-15, "1 / (1 - 0.3) exact in float64, not rounded to float32");
        loss.backward();
        losses.grad!.data<double>().ToArray().Should().OnlyContain(g => g > 0);
        sampler.MeanScore.Should().BeApproximately(ids.Select((id, j) => l[j] - id).Sum() / 10 + 4.5, 1e-12);
    }

    [Fact]
    public void LossAndUpdate_NonFiniteLoss_RefusedAndNothingRemembered()
    {
        using var scope = NewDisposeScope();
        var sampler = new InfoBatchSampler(datasetSize: 10, totalEpochs: 4, batchSize: 10, pruneRatio: 0.3, seed: 1);
        sampler.Epoch(0);
        sampler.Update(arange(10, dtype: ScalarType.Int64), arange(10, dtype: ScalarType.Float64));
        double mean = sampler.MeanScore!.Value;
        Tensor poisoned = arange(10, dtype: ScalarType.Float64).index_put_(tensor(double.NaN), tensor(new long[] { 3 }));

        var thrown = ((Action)(() => sampler.Loss(arange(10, dtype: ScalarType.Int64), poisoned))).Should().Throw<NonFiniteLossException>().Which;
        ((Action)(() => sampler.Update(arange(10, dtype: ScalarType.Int64), poisoned))).Should().Throw<NonFiniteLossException>();

        thrown.NonFiniteSamples.Should().Be(1);
        thrown.Message.Should().Contain("1 of the 10 samples' losses are not finite; nothing was remembered").And.Contain("The numerics check, run again");
        sampler.MeanScore.Should().Be(mean, "no score changed");
    }

    [Fact]
    public void SaveLoad_AtEpochBoundary_PlansTheNextEpochAsTheUninterruptedRun()
    {
        using var scope = NewDisposeScope();
        var first = new InfoBatchSampler(datasetSize: 64, totalEpochs: 6, batchSize: 8, seed: 9);
        first.Epoch(0);
        first.Update(arange(64, dtype: ScalarType.Int64), rand(new long[] { 64 }, dtype: ScalarType.Float64));
        using var saved = new MemoryStream();
        first.Save(saved);

        var resumed = new InfoBatchSampler(datasetSize: 64, totalEpochs: 6, batchSize: 8, seed: 9);
        resumed.Load(new MemoryStream(saved.ToArray()));

        resumed.Epoch(1).SampleIds.Should().Equal(first.Epoch(1).SampleIds);
        new InfoBatchSampler(64, 6, 8, seed: 10).Epoch(0).SampleIds.Should().NotEqual(first.Epoch(0).SampleIds, "the seed chooses the order");
        var other = new InfoBatchSampler(datasetSize: 65, totalEpochs: 6, batchSize: 8);
        ((Action)(() => other.Load(new MemoryStream(saved.ToArray())))).Should().Throw<InvalidDataException>().WithMessage("*64 samples*65*");
        ((Action)(() => other.Load(new MemoryStream(saved.ToArray()[..^5])))).Should().Throw<InvalidDataException>().WithMessage("*truncated*");
    }

    [Fact]
    public void Constructor_AndCalls_BadArgumentsThrowNamingThem()
    {
        using var scope = NewDisposeScope();
        ((Action)(() => _ = new InfoBatchSampler(0, 4, 8))).Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "datasetSize");
        ((Action)(() => _ = new InfoBatchSampler(10, 0, 8))).Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "totalEpochs");
        ((Action)(() => _ = new InfoBatchSampler(10, 4, 0))).Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "batchSize");
        ((Action)(() => _ = new InfoBatchSampler(10, 4, 8, pruneRatio: 1))).Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "pruneRatio");
        ((Action)(() => _ = new InfoBatchSampler(10, 4, 8, annealFraction: 0))).Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "annealFraction");
        var sampler = new InfoBatchSampler(10, 4, 8);
        ((Action)(() => sampler.Epoch(4))).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*[0, 4)*");
        ((Action)(() => sampler.Loss(tensor(new long[] { 1 }), ones(1)))).Should().Throw<InvalidOperationException>().WithMessage("*sampler.Epoch(epoch)*");
        sampler.Epoch(0);
        ((Action)(() => sampler.Loss(tensor(new long[] { 1, 2 }), ones(1)))).Should().Throw<ArgumentException>().Where(e => e.ParamName == "sampleIds");
        ((Action)(() => sampler.Loss(tensor(new long[] { 10 }), ones(1)))).Should().Throw<ArgumentException>().WithMessage("*10*[0, 10)*");
    }
}
