using System;
using System.Collections.Generic;
using System.Linq;
using FluentAssertions;
using SelectiveLoss.Normalization;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SelectiveLoss.Tests.Normalization;

/// <summary>
/// The README's normalization snippet, compiled and run. The region between the markers is what README shows
/// (<c>&lt;!-- snippet: normalization --&gt;</c>).
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class ReadmeExampleTests
{
    [Fact]
    public void ReadmeExample_SwapThenProbe_IndependentSamples()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(10);

        // <normalization>
        var model = nn.Sequential(
            ("conv", nn.Conv2d(3, 64, 3, padding: 1)),
            ("norm", nn.BatchNorm2d(64)),
            ("relu", nn.ReLU()),
            ("pool", nn.AdaptiveAvgPool2d(1)),
            ("flat", nn.Flatten()),
            ("fc", nn.Linear(64, 10)));
        model.train();

        IReadOnlyList<string> coupling = BatchCoupling.Find(model);   // ["norm"]: batch statistics in training mode

        NormalizationSwapReport report = model.ReplaceBatchNorm();    // atomic; throws and changes nothing if it cannot
        Console.WriteLine(report);          // norm: BatchNorm2d(64) -> 32 groups, weight/bias copied
        var optimizer = optim.SGD(report.Root.parameters(), 0.01);     // build the optimiser after the swap

        BatchCouplingReport probe = BatchCoupling.Probe(model, torch.randn(8, 3, 16, 16));
        Console.WriteLine(probe.IsCoupled); // False: perturbing sample 0 no longer moves the others
        // </normalization>

        coupling.Should().Equal("norm");
        report.Replaced.Single().Groups.Should().Be(32);
        report.DroppedStateKeys.Should().Equal("norm.running_mean", "norm.running_var", "norm.num_batches_tracked");
        report.Root.parameters().Should().HaveCount(6, "conv, norm and fc weight and bias; the optimiser holds exactly these");
        probe.IsCoupled.Should().BeFalse();
        probe.Conclusive.Should().BeTrue();
    }
}
