using System;
using System.Collections.Generic;

namespace SelectiveLoss.Selection;

/// <summary>One epoch as an <see cref="InfoBatchSampler"/> planned it: the kept sample ids, shuffled, in batches.</summary>
public sealed class InfoBatchEpoch
{
    private readonly long[] ids;
    private readonly List<long[]> batches = new();

    internal InfoBatchEpoch(int epoch, bool prunes, long[] ids, int batchSize, bool dropLast, int prunedCount)
    {
        Epoch = epoch;
        Prunes = prunes;
        this.ids = ids;
        PrunedCount = prunedCount;
        for (int from = 0; from < ids.Length; from += batchSize)
        {
            int size = Math.Min(batchSize, ids.Length - from);
            if (size < batchSize && dropLast)
            {
                break;
            }

            batches.Add(ids.AsSpan(from, size).ToArray());
        }
    }

    /// <summary>Gets the zero-based epoch.</summary>
    public int Epoch { get; }

    /// <summary>Gets a value indicating whether the epoch prunes (false in the annealing epochs at the end).</summary>
    public bool Prunes { get; }

    /// <summary>Gets the kept sample ids in the order they are trained (before <c>dropLast</c>).</summary>
    public IReadOnlyList<long> SampleIds => ids;

    /// <summary>Gets the batches of sample ids; every one has the batch size but possibly the last.</summary>
    public IReadOnlyList<long[]> Batches => batches;

    /// <summary>Gets how many samples the epoch keeps.</summary>
    public int KeptCount => ids.Length;

    /// <summary>Gets how many samples the epoch prunes (never read).</summary>
    public int PrunedCount { get; }

    /// <summary>Gets the kept share of the data set.</summary>
    public double KeptShare => (double)KeptCount / (KeptCount + PrunedCount);
}
