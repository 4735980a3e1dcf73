using System;
using System.IO;
using FluentAssertions;
using SelectiveLoss.Training;
using Xunit;

namespace SelectiveLoss.Tests.Training;

public sealed class ScoreCacheTests
{
    [Fact]
    public void SaveLoad_RoundTrip_KeepsScoresAgesUseCountsAndRecency()
    {
        var policy = new CachePolicy { MaxAgeEpochs = 2, MaxVisits = 2, Capacity = 3 };
        var cache = new ScoreCache(policy);
        cache.Set(1, 0, 0.5f);
        cache.Set(2, 1, 1.5f);
        cache.Set(3, 1, 2.5f);
        cache.TryGetFresh(1, 1, out _).Should().BeTrue(); // id 1: one visit, now most recent

        using var stream = new MemoryStream();
        cache.Save(stream);
        stream.Position = 0;
        var restored = new ScoreCache(policy);
        restored.Load(stream);

        restored.Count.Should().Be(3);
        restored.TryGetFresh(2, 2, out float two).Should().BeTrue();
        two.Should().Be(1.5f);
        restored.TryGetFresh(1, 1, out _).Should().BeTrue("its second visit");
        restored.TryGetFresh(1, 1, out _).Should().BeFalse("MaxVisits 2 was reached: the use count survived the round trip");
        restored.TryGetFresh(3, 3, out _).Should().BeFalse("scored at epoch 1, stale at epoch 3: the age survived");

        // Recency survived: adding a fourth id evicts the least recently used one, which is 3.
        restored.Set(4, 3, 0f);
        restored.TryGetFresh(3, 1, out _).Should().BeFalse();
        restored.TryGetFresh(2, 2, out _).Should().BeTrue();
    }

    [Fact]
    public void Load_OverCapacity_KeepsMostRecent()
    {
        var big = new ScoreCache(new CachePolicy());
        for (int i = 0; i < 5; i++)
        {
            big.Set(i, 0, i);
        }

        using var stream = new MemoryStream();
        big.Save(stream);
        stream.Position = 0;
        var small = new ScoreCache(new CachePolicy { Capacity = 2 });
        small.Load(stream);
        small.Count.Should().Be(2);
        small.TryGetFresh(4, 0, out _).Should().BeTrue();
        small.TryGetFresh(3, 0, out _).Should().BeTrue();
    }

    [Fact]
    public void Load_NotACacheOrTruncated_ThrowsAndKeepsEntries()
    {
        var cache = new ScoreCache(new CachePolicy());
        cache.Set(7, 0, 1f);
        ((Action)(() => cache.Load(new MemoryStream(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 })))).Should().Throw<InvalidDataException>().WithMessage("*ScoreCache.Save*");

        using var full = new MemoryStream();
        cache.Save(full);
        byte[] bytes = full.ToArray();
        ((Action)(() => cache.Load(new MemoryStream(bytes, 0, bytes.Length - 3)))).Should().Throw<InvalidDataException>().WithMessage("*truncated*");
        cache.Count.Should().Be(1);
        cache.TryGetFresh(7, 0, out float score).Should().BeTrue();
        score.Should().Be(1f);
    }
}
