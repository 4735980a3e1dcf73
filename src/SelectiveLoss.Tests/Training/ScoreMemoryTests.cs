using System;
using System.IO;
using FluentAssertions;
using SelectiveLoss.Training;
using Xunit;

namespace SelectiveLoss.Tests.Training;

[Collection(TorchCollection.Name)]
public sealed class ScoreMemoryTests
{
    [Fact]
    public void SaveLoad_RoundTrip_KeepsScoresAgesAndUseCounts()
    {
        var policy = new CachePolicy { MaxAgeEpochs = 2, MaxVisits = 2 };
        var memory = new ScoreMemory(policy);
        memory.Set(1, 0, 0.5);
        memory.Set(2, 1, 1.5);
        memory.Set(3, 1, 2.5);
        memory.TryGetFresh(1, 1, out _).Should().BeTrue(); // id 1: one visit

        using var stream = new MemoryStream();
        memory.Save(stream);
        stream.Position = 0;
        var restored = new ScoreMemory(policy);
        restored.Load(stream);

        restored.Count.Should().Be(3);
        restored.Mean.Should().BeApproximately(1.5, 1e-15);
        restored.TryGetFresh(2, 2, out double two).Should().BeTrue();
        two.Should().Be(1.5);
        restored.TryGetFresh(1, 1, out _).Should().BeTrue("its second visit");
        restored.TryGetFresh(1, 1, out _).Should().BeFalse("MaxVisits 2 was reached: the use count survived the round trip");
        restored.TryGetFresh(3, 3, out _).Should().BeFalse("scored at epoch 1, stale at epoch 3: the age survived");
        restored.TryGet(3, out double three).Should().BeTrue("TryGet ignores age");
        three.Should().Be(2.5);
    }

    [Fact]
    public void Set_IdsBeyondTheSize_GrowsDenseAndKeepsEveryScore()
    {
        var memory = new ScoreMemory(datasetSize: 4);
        for (int id = 0; id < 5000; id += 7)
        {
            memory.Set(id, 0, id);
        }

        memory.Count.Should().Be((5000 + 6) / 7, "a dense slot per id: nothing is evicted");
        memory.TryGet(4998, out double last).Should().BeTrue();
        last.Should().Be(4998);
        memory.TryGet(4999, out double none).Should().BeFalse();
        double.IsNaN(none).Should().BeTrue();
        memory.Set(7, 1, double.NaN);
        memory.TryGet(7, out _).Should().BeFalse("NaN forgets an id");
    }

    [Fact]
    public void Set_IdOutOfRange_ThrowsNamingTheFix()
    {
        var memory = new ScoreMemory();
        ((Action)(() => memory.Set(-1, 0, 1))).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*dataset indices*0..N-1*");
        ((Action)(() => memory.Set(ScoreMemory.MaxId + 1, 0, 1))).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void Load_NotAMemoryOrTruncated_ThrowsAndKeepsEntries()
    {
        var memory = new ScoreMemory();
        memory.Set(7, 0, 1);
        ((Action)(() => memory.Load(new MemoryStream(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 })))).Should().Throw<InvalidDataException>().WithMessage("*ScoreMemory.Save*");

        using var full = new MemoryStream();
        memory.Save(full);
        byte[] bytes = full.ToArray();
        ((Action)(() => memory.Load(new MemoryStream(bytes, 0, bytes.Length - 3)))).Should().Throw<InvalidDataException>().WithMessage("*truncated*");
        memory.Count.Should().Be(1);
        memory.TryGetFresh(7, 0, out double score).Should().BeTrue();
        score.Should().Be(1);
    }
}
