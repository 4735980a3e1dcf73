using System;
using System.Linq;
using FluentAssertions;
using SelectiveLoss.Normalization;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace SelectiveLoss.Tests.Normalization;

[Collection(TorchCollection.Name)]
public sealed class BatchCouplingTests
{
    [Fact]
    public void Find_TrainingMode_ListsEveryBatchNorm()
    {
        using var scope = torch.NewDisposeScope();
        var model = new EveryPlacementModel();
        model.train();

        BatchCoupling.Find(model).Should().BeEquivalentTo(EveryPlacementModel.BatchNormPaths);
    }

    [Fact]
    public void Find_EvalMode_ListsOnlyBatchNormWithoutRunningStats()
    {
        using var scope = torch.NewDisposeScope();
        var model = nn.Sequential(
            ("tracked", nn.BatchNorm1d(4)),
            ("untracked", nn.BatchNorm1d(4, track_running_stats: false)),
            ("layer", nn.LayerNorm(4)));
        model.eval();

        BatchCoupling.Find(model).Should().Equal("untracked");
    }

    [Fact]
    public void Find_AfterSwap_Empty()
    {
        using var scope = torch.NewDisposeScope();
        var model = new EveryPlacementModel();
        model.train();
        model.ReplaceBatchNorm();

        BatchCoupling.Find(model).Should().BeEmpty();
    }

    [Fact]
    public void Probe_BatchNormInTrainingMode_Coupled()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(4);
        var model = SmallConvNet(batchNorm: true);
        model.train();

        BatchCouplingReport report = BatchCoupling.Probe(model, torch.randn(4, 3, 5, 5),
            new BatchCouplingProbeOptions { PerturbedSample = 2, IncludeInputGradients = true });

        report.Training.Should().BeTrue();
        report.IsCoupled.Should().BeTrue();
        report.Conclusive.Should().BeTrue();
        report.ChangedSamples.Should().Equal(0, 1, 3);
        report.MaxOtherSampleChange.Should().BeGreaterThan(1e-3);
        report.MaxOtherSampleInputGradient.Should().BeGreaterThan(1e-6, "dropped samples still receive gradient through batch statistics");
    }

    [Fact]
    public void Probe_GroupNormModel_Independent()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(5);
        var model = SmallConvNet(batchNorm: true);
        model.train();
        model.ReplaceBatchNorm();

        BatchCouplingReport report = BatchCoupling.Probe(model, torch.randn(4, 3, 5, 5),
            new BatchCouplingProbeOptions { IncludeInputGradients = true });

        report.IsCoupled.Should().BeFalse();
        report.Conclusive.Should().BeTrue();
        report.ChangedSamples.Should().BeEmpty();
        report.MaxOtherSampleChange.Should().Be(0);
        report.MaxOtherSampleInputGradient.Should().Be(0);
    }

    [Fact]
    public void Probe_BatchNormInEvalMode_Independent()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(6);
        var model = SmallConvNet(batchNorm: true);
        model.eval();

        BatchCouplingReport report = BatchCoupling.Probe(model, torch.randn(4, 3, 5, 5));

        report.Training.Should().BeFalse();
        report.IsCoupled.Should().BeFalse();
        report.Conclusive.Should().BeTrue();
        report.MaxOtherSampleInputGradient.Should().BeNull();
    }

    [Fact]
    public void Probe_TrainingMode_LeavesRunningStatisticsAndParameterGradientsAlone()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(7);
        var model = SmallConvNet(batchNorm: true);
        model.train();
        var norm = (BatchNorm2d)model[1];
        Tensor mean = norm.running_mean!.clone();

        BatchCoupling.Probe(model, torch.randn(4, 3, 5, 5), new BatchCouplingProbeOptions { IncludeInputGradients = true });

        norm.num_batches_tracked!.item<long>().Should().Be(0);
        norm.running_mean!.equal(mean).all().item<bool>().Should().BeTrue();
        model.parameters().Select(p => p.grad).Should().AllSatisfy(g => g.Should().BeNull());
    }

    // Pins that torch.set_rng_state replays dropout masks: the probe relies on it to compare two passes.
    [Fact]
    public void Probe_DropoutInTrainingMode_IndependentAndRandomStreamUntouched()
    {
        using var scope = torch.NewDisposeScope();
        var model = nn.Sequential(nn.Linear(6, 6), nn.Dropout(0.5), nn.Linear(6, 3));
        model.train();
        Tensor x = torch.randn(5, 6);
        torch.manual_seed(8);
        float expectedNext = torch.rand(1).item<float>();
        torch.manual_seed(8);

        BatchCouplingReport report = BatchCoupling.Probe(model, x);

        report.IsCoupled.Should().BeFalse();
        torch.rand(1).item<float>().Should().Be(expectedNext, "the probe restores the random generator");
    }

    [Fact]
    public void Probe_SingleSample_Throws()
    {
        using var scope = torch.NewDisposeScope();
        var model = nn.Sequential(nn.Linear(2, 2));

        Action act = () => BatchCoupling.Probe(model, torch.randn(1, 2));

        act.Should().Throw<ArgumentException>().Where(e => e.ParamName == "input").WithMessage("*at least 2 samples*");
    }

    [Fact]
    public void Probe_PerturbedSampleOutsideBatch_Throws()
    {
        using var scope = torch.NewDisposeScope();
        var model = nn.Sequential(nn.Linear(2, 2));

        Action act = () => BatchCoupling.Probe(model, torch.randn(3, 2), new BatchCouplingProbeOptions { PerturbedSample = 3 });

        act.Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "options").WithMessage("*[0, 2]*");
    }

    private static Sequential SmallConvNet(bool batchNorm) => nn.Sequential(
        nn.Conv2d(3, 4, 3),
        batchNorm ? nn.BatchNorm2d(4) : nn.Identity(),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(4 * 3 * 3, 5),
        batchNorm ? nn.BatchNorm1d(5) : nn.Identity());
}
