using System;
using System.Linq;
using FluentAssertions;
using SelectiveLoss.Normalization;
using Xunit;
using static TorchSharp.torch;

namespace Cifar100Training.Tests;

[Collection(TorchCollection.Name)]
public sealed class ModelFactoryTests
{
    [Theory]
    [InlineData(10)]
    [InlineData(100)]
    public void Build_ClassCountOfTheData_OneLogitPerClass(int classes)
    {
        var options = TrainingOptions.Parse(new[] { "--model", "tiny", "--norm", "batch" });
        using var model = ModelFactory.Build(options, options.Norm, classes, _ => { });
        model.eval();
        using var scope = NewDisposeScope();
        using (no_grad())
        {
            model.forward(zeros(2, 3, 32, 32)).shape.Should().Equal(2L, classes);
        }
    }

    [Fact]
    public void CheckGroups_CountThatDividesNoLayer_RefusedNamingGroupsAndTheCountsThatFit()
    {
        var options = TrainingOptions.Parse(new[] { "--model", "tiny", "--groups", "3" });

        Action check = () => ModelFactory.CheckGroups(options);

        check.Should().Throw<UsageException>().Which.Message.Should().StartWith("--groups: 3 does not divide the channel counts")
            .And.Contain("Give one of 1, 2 ");
    }

    [Fact]
    public void Build_GroupsGiven_EveryGroupNormHasThatManyGroups()
    {
        var options = TrainingOptions.Parse(new[] { "--model", "tiny", "--groups", "2" });
        ModelFactory.CheckGroups(options);

        using var model = ModelFactory.Build(options, NormKind.Group, 10, _ => { });

        var norms = model.modules().OfType<ChannelGroupNorm>().ToList();
        norms.Should().NotBeEmpty();
        norms.Should().OnlyContain(n => n.Groups == 2);
    }

    [Fact]
    public void Build_BatchGroupAndGroupWs_NormAndConvLayersOfThatKind()
    {
        var options = TrainingOptions.Parse(new[] { "--model", "tiny" });

        using var batch = ModelFactory.Build(options, NormKind.Batch, 10, _ => { });
        using var group = ModelFactory.Build(options, NormKind.Group, 10, _ => { });

        using var groupWs = ModelFactory.Build(options, NormKind.GroupWs, 10, _ => { });

        batch.modules().OfType<ChannelGroupNorm>().Should().BeEmpty();
        batch.modules().OfType<TorchSharp.Modules.BatchNorm>().Should().NotBeEmpty();
        group.modules().OfType<TorchSharp.Modules.BatchNorm>().Should().BeEmpty();
        group.modules().OfType<ChannelGroupNorm>().Should().NotBeEmpty();
        group.modules().OfType<WeightStandardizedConv2d>().Should().BeEmpty();
        groupWs.modules().OfType<ChannelGroupNorm>().Should().NotBeEmpty();
        groupWs.modules().OfType<TorchSharp.Modules.Conv2d>().Should().BeEmpty("every convolution is weight-standardised");
        groupWs.modules().OfType<WeightStandardizedConv2d>().Should().NotBeEmpty();
        groupWs.state_dict().Keys.Should().Equal(group.state_dict().Keys, "weight standardisation keeps the convolutions' keys");
    }
}
