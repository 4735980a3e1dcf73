using System;
using System.IO;
using System.Linq;
using FluentAssertions;
using Xunit;

namespace Cifar100Training.Tests;

[Collection(ConsoleCollection.Name)]
public sealed class LabelNoiseTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    [Theory]
    [InlineData(4000, 0.2, 800)]
    [InlineData(7, 0.5, 4)]
    [InlineData(3, 0.1, 0)]
    public void Apply_Symmetric_ChangesExactlyRoundedShareEachToAnotherClass(int count, double rate, int expected)
    {
        CifarData clean = SyntheticCifar.Generate(count, seed: 9, "train");

        CifarData noisy = LabelNoise.Apply(clean, rate, NoiseType.Symmetric, seed: 9);

        int changed = clean.Labels.Zip(noisy.Labels).Count(p => p.First != p.Second);
        changed.Should().Be(expected, "exactly round(P x N) labels are replaced, and each by a different class");
        if (expected > 0)
        {
            noisy.Corrupted.Should().NotBeNull();
            noisy.Corrupted!.Select((c, i) => c == (clean.Labels[i] != noisy.Labels[i])).Should().AllBeEquivalentTo(true);
        }

        noisy.Labels.Should().OnlyContain(l => l >= 0 && l < SyntheticCifar.Classes);
        noisy.Pixels.Should().BeSameAs(clean.Pixels);
    }

    [Fact]
    public void Apply_Symmetric_ReachesEveryOtherClass()
    {
        var data = new CifarData(new byte[2000 * CifarData.PixelsPerImage], new int[2000], 10, "zeros");

        CifarData noisy = LabelNoise.Apply(data, 0.5, NoiseType.Symmetric, seed: 1);

        noisy.Labels.Where((_, i) => noisy.Corrupted![i]).Distinct().Order().Should().Equal(1, 2, 3, 4, 5, 6, 7, 8, 9);
    }

    [Fact]
    public void Apply_SameSeed_SameLabels_OtherSeed_OtherSet()
    {
        CifarData clean = SyntheticCifar.Generate(500, seed: 3, "train");

        CifarData a = LabelNoise.Apply(clean, 0.3, NoiseType.Symmetric, seed: 5);
        CifarData b = LabelNoise.Apply(clean, 0.3, NoiseType.Symmetric, seed: 5);
        CifarData c = LabelNoise.Apply(clean, 0.3, NoiseType.Symmetric, seed: 6);

        a.Labels.Should().Equal(b.Labels);
        a.Corrupted.Should().Equal(b.Corrupted);
        a.Corrupted.Should().NotEqual(c.Corrupted);
    }

    [Fact]
    public void Apply_Pair_MapsClassCToCPlusOneModK()
    {
        int[] labels = Enumerable.Range(0, 1000).Select(i => i % 10).ToArray();
        var data = new CifarData(new byte[1000 * CifarData.PixelsPerImage], labels, 10, "digits");

        CifarData noisy = LabelNoise.Apply(data, 0.4, NoiseType.Pair, seed: 2);

        noisy.Corrupted!.Count(c => c).Should().Be(400);
        for (int i = 0; i < labels.Length; i++)
        {
            noisy.Labels[i].Should().Be(noisy.Corrupted![i] ? (labels[i] + 1) % 10 : labels[i]);
        }
    }

    [Fact]
    public void Apply_ZeroRate_ReturnsTheDataUntouched()
    {
        CifarData clean = SyntheticCifar.Generate(50, seed: 3, "train");

        LabelNoise.Apply(clean, 0, NoiseType.Symmetric, seed: 1).Should().BeSameAs(clean);
    }

    [Fact]
    public void LoadData_RealDataWithNoise_TrainLabelsNoisyTestLabelsAsInTheFiles()
    {
        IdxFiles.WriteFolder(temp.Path);
        var options = TrainingOptions.Parse(new[] { "--data", temp.Path, "--label-noise", "0.5", "--noise-type", "pair" });

        var (train, test, format, _) = Program.LoadData(options, _ => { });

        format.Should().Be(DataFormat.Idx);
        train.Corrupted!.Count(c => c).Should().Be(2, "round(0.5 x 3) = 2");
        train.Labels.Where((_, i) => !train.Corrupted![i]).Should().BeSubsetOf(new[] { 7, 0, 9 });
        test.Labels.Should().Equal(1, 2);
        test.Corrupted.Should().BeNull();
    }

    [Fact]
    public void LoadData_RealDataByDefault_NoNoise()
    {
        IdxFiles.WriteFolder(temp.Path);
        var options = TrainingOptions.Parse(new[] { "--data", temp.Path });

        var (train, _, _, _) = Program.LoadData(options, _ => { });

        options.LabelNoise.Should().Be(0);
        train.Labels.Should().Equal(7, 0, 9);
        train.Corrupted.Should().BeNull();
    }

    [Fact]
    public void Main_NoisyRealData_NoisyKeptShareForSelectiveRunsEmptyForFull()
    {
        IdxFiles.WriteFolder(temp.Path);
        string output = Path.Combine(temp.Path, "out");

        var (code, error) = ConsoleCollection.RunMain("--data", temp.Path, "--label-noise", "0.5", "--compare", "full,lowest",
            "--model", "tiny", "--epochs", "1", "--batch-size", "4", "--threads", "1", "--output", output);

        code.Should().Be(0, error);
        string[] full = File.ReadAllLines(Path.Combine(output, "full", "metrics.csv"));
        string[] lowest = File.ReadAllLines(Path.Combine(output, "lowest", "metrics.csv"));
        full[0].Should().EndWith(",noisy_kept_share");
        full[1].Should().EndWith(",", "a full run trains on everything: the share is left empty");
        double share = double.Parse(lowest[1].Split(',')[^1], System.Globalization.CultureInfo.InvariantCulture);
        share.Should().BeInRange(0, 1);
    }
}
