using FluentAssertions;
using Xunit;

namespace Cifar100Training.Tests;

public sealed class SyntheticCifarTests
{
    [Fact]
    public void Generate_SameSeed_SameImagesAndLabels()
    {
        CifarData a = SyntheticCifar.Generate(64, seed: 5, "train");
        CifarData b = SyntheticCifar.Generate(64, seed: 5, "train");

        a.Pixels.Should().Equal(b.Pixels);
        a.Labels.Should().Equal(b.Labels);
        a.Description.Should().Contain("SYNTHETIC");
    }

    [Fact]
    public void Generate_OtherSeedOrSplit_DifferentImages()
    {
        CifarData a = SyntheticCifar.Generate(64, seed: 5, "train");

        SyntheticCifar.Generate(64, seed: 6, "train").Pixels.Should().NotEqual(a.Pixels);
        SyntheticCifar.Generate(64, seed: 5, "test").Pixels.Should().NotEqual(a.Pixels);
    }
}
