using System.Linq;
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

    [Fact]
    public void WithLabelNoise_TwentyPercent_ChangesAboutThatShareToOtherClassesDeterministically()
    {
        CifarData clean = SyntheticCifar.Generate(4000, seed: 9, "train");

        CifarData noisy = SyntheticCifar.WithLabelNoise(clean, 0.2, seed: 9);
        CifarData again = SyntheticCifar.WithLabelNoise(clean, 0.2, seed: 9);

        int changed = clean.Labels.Zip(noisy.Labels).Count(p => p.First != p.Second);
        ((double)changed / clean.Count).Should().BeApproximately(0.2, 0.03);
        noisy.Labels.Should().Equal(again.Labels);
        noisy.Labels.Should().OnlyContain(l => l >= 0 && l < SyntheticCifar.Classes);
        noisy.Pixels.Should().BeSameAs(clean.Pixels);
    }
}
