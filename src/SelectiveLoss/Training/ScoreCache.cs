using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;

namespace SelectiveLoss.Training;

/// <summary>
/// Per-sample loss scores keyed by dataset id, with the age and use count that <see cref="CachePolicy"/> judges
/// freshness by. Bounded: past <see cref="CachePolicy.Capacity"/> the least recently used ids are dropped.
/// </summary>
public sealed class ScoreCache
{
    private readonly Dictionary<long, LinkedListNode<Entry>> entries = new();
    private readonly LinkedList<Entry> recency = new();
    private const int FileMagic = 0x43534C53; // "SLSC"
    private const int FileVersion = 1;
    private double sum;

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

    /// <summary>The mean of every remembered score, or null when there is none: the dataset-wide reference InfoBatch
    /// compares each sample's score with.</summary>
    public double? Mean => entries.Count == 0 ? null : sum / entries.Count;

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

    /// <summary>Looks up the remembered score of an id whatever its age (for scores that never go stale, such as each
    /// sample's last training loss), and marks it recently used.</summary>
    /// <param name="id">The sample's dataset id.</param>
    /// <param name="score">The score, if remembered.</param>
    /// <returns>Whether a score was found.</returns>
    public bool TryGet(long id, out float score)
    {
        if (entries.TryGetValue(id, out LinkedListNode<Entry>? node))
        {
            recency.Remove(node);
            recency.AddFirst(node);
            score = node.Value.Score;
            Hits++;
            return true;
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
            sum += (double)score - node.Value.Score;
            node.Value.Score = score;
            node.Value.Epoch = epoch;
            node.Value.Visits = 0;
            recency.Remove(node);
            recency.AddFirst(node);
            return;
        }

        entries[id] = recency.AddFirst(new Entry(id, score, epoch));
        sum += score;
        while (entries.Count > Policy.Capacity)
        {
            LinkedListNode<Entry> last = recency.Last!;
            recency.RemoveLast();
            entries.Remove(last.Value.Id);
            sum -= last.Value.Score;
            Evictions++;
        }
    }

    /// <summary>
    /// Writes every entry (id, score, epoch, use count) in recency order, so a checkpointed run can resume with the same
    /// memory and select exactly as an uninterrupted run would.
    /// </summary>
    /// <param name="stream">A writable stream; it is left open.</param>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is null.</exception>
    public void Save(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        writer.Write(FileMagic);
        writer.Write(FileVersion);
        writer.Write(entries.Count);
        for (LinkedListNode<Entry>? node = recency.First; node is not null; node = node.Next)
        {
            writer.Write(node.Value.Id);
            writer.Write(node.Value.Score);
            writer.Write(node.Value.Epoch);
            writer.Write(node.Value.Visits);
        }
    }

    /// <summary>
    /// Replaces the cache's entries with those <see cref="Save"/> wrote, in the same recency order. The stream is read
    /// whole and checked before anything changes; past <see cref="CachePolicy.Capacity"/> the least recently used are dropped.
    /// </summary>
    /// <param name="stream">A readable stream positioned where <see cref="Save"/> started writing; it is left open.</param>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is null.</exception>
    /// <exception cref="InvalidDataException">The stream does not hold a saved score cache, or is truncated.</exception>
    public void Load(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var loaded = new List<Entry>();
        try
        {
            using var reader = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
            if (reader.ReadInt32() != FileMagic || reader.ReadInt32() != FileVersion)
            {
                throw new InvalidDataException("The stream does not hold a score cache written by ScoreCache.Save (version 1).");
            }

            int count = reader.ReadInt32();
            if (count < 0)
            {
                throw new InvalidDataException($"The saved score cache claims {count} entries.");
            }

            var seen = new HashSet<long>();
            for (int i = 0; i < count; i++)
            {
                var entry = new Entry(reader.ReadInt64(), reader.ReadSingle(), reader.ReadInt32()) { Visits = reader.ReadInt32() };
                if (!seen.Add(entry.Id))
                {
                    throw new InvalidDataException($"The saved score cache holds id {entry.Id} twice.");
                }

                loaded.Add(entry);
            }
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException("The saved score cache is truncated.", e);
        }

        Clear();
        foreach (Entry entry in loaded.Take(Policy.Capacity))
        {
            entries[entry.Id] = recency.AddLast(entry);
            sum += entry.Score;
        }
    }

    /// <summary>Forgets every score.</summary>
    public void Clear()
    {
        entries.Clear();
        recency.Clear();
        sum = 0;
    }

    private sealed class Entry(long id, float score, int epoch)
    {
        public long Id { get; } = id;

        public float Score { get; set; } = score;

        public int Epoch { get; set; } = epoch;

        public int Visits { get; set; }
    }
}
