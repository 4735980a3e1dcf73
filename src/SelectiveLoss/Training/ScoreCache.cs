using System;
using System.Collections.Generic;

namespace SelectiveLoss.Training;

/// <summary>
/// Per-sample loss scores keyed by dataset id, with the age and use count that <see cref="CachePolicy"/> judges
/// freshness by. Bounded: past <see cref="CachePolicy.Capacity"/> the least recently used ids are dropped.
/// </summary>
public sealed class ScoreCache
{
    private readonly Dictionary<long, LinkedListNode<Entry>> entries = new();
    private readonly LinkedList<Entry> recency = new();

    /// <summary>Creates an empty cache.</summary>
    /// <param name="policy">Freshness and capacity.</param>
    /// <exception cref="ArgumentNullException"><paramref name="policy"/> is null.</exception>
    public ScoreCache(CachePolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        Policy = policy;
    }

    /// <summary>The freshness and capacity rules.</summary>
    public CachePolicy Policy { get; }

    /// <summary>How many ids have a score.</summary>
    public int Count => entries.Count;

    /// <summary>How many lookups found a fresh score.</summary>
    public long Hits { get; private set; }

    /// <summary>How many lookups found no score or a stale one.</summary>
    public long Misses { get; private set; }

    /// <summary>How many entries were dropped to stay within capacity.</summary>
    public long Evictions { get; private set; }

    /// <summary>Looks up a fresh score and counts the visit.</summary>
    /// <param name="id">The sample's dataset id.</param>
    /// <param name="epoch">The current epoch.</param>
    /// <param name="score">The score, if fresh.</param>
    /// <returns>Whether a fresh score was found.</returns>
    public bool TryGetFresh(long id, int epoch, out float score)
    {
        if (entries.TryGetValue(id, out LinkedListNode<Entry>? node))
        {
            Entry entry = node.Value;
            if (epoch - entry.Epoch < Policy.MaxAgeEpochs && entry.Visits < Policy.MaxVisits)
            {
                entry.Visits++;
                recency.Remove(node);
                recency.AddFirst(node);
                score = entry.Score;
                Hits++;
                return true;
            }
        }

        score = float.NaN;
        Misses++;
        return false;
    }

    /// <summary>Stores a freshly computed score.</summary>
    /// <param name="id">The sample's dataset id.</param>
    /// <param name="epoch">The epoch it was computed in.</param>
    /// <param name="score">The per-sample loss.</param>
    public void Set(long id, int epoch, float score)
    {
        if (entries.TryGetValue(id, out LinkedListNode<Entry>? node))
        {
            node.Value.Score = score;
            node.Value.Epoch = epoch;
            node.Value.Visits = 0;
            recency.Remove(node);
            recency.AddFirst(node);
            return;
        }

        entries[id] = recency.AddFirst(new Entry(id, score, epoch));
        while (entries.Count > Policy.Capacity)
        {
            LinkedListNode<Entry> last = recency.Last!;
            recency.RemoveLast();
            entries.Remove(last.Value.Id);
            Evictions++;
        }
    }

    /// <summary>Forgets every score.</summary>
    public void Clear()
    {
        entries.Clear();
        recency.Clear();
    }

    private sealed class Entry(long id, float score, int epoch)
    {
        public long Id { get; } = id;

        public float Score { get; set; } = score;

        public int Epoch { get; set; } = epoch;

        public int Visits { get; set; }
    }
}
