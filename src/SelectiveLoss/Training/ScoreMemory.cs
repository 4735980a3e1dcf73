using System;
using System.Collections.Generic;
using System.IO;
using SelectiveLoss.Internal;
using TorchSharp;
using static TorchSharp.torch;

namespace SelectiveLoss.Training;

/// <summary>
/// Per-sample scores remembered by dataset id, for <see cref="ScoreSource.Cached"/> and
/// <see cref="ScoreSource.LastTrainingLoss"/>: one dense slot per id (score, the epoch it was computed in, and how often
/// it was used since), as InfoBatch keeps them. Ids are dataset indices; the memory grows to the largest id seen, or is
/// sized once from <see cref="BatchSelectorOptions.DatasetSize"/>.
/// </summary>
public sealed class ScoreMemory
{
    /// <summary>The largest id the memory accepts: a dense slot per id is allocated up to the largest id seen.</summary>
    public const long MaxId = (1L << 30) - 1;

    private const int FileMagic = 0x4D534C53; // "SLSM"
    private const int FileVersion = 2;
    private double[] scores;
    private int[] epochs;
    private int[] visits;
    private double sum;
    private Dictionary<long, (double Score, int Epoch, int Visits)>? journal;

    /// <summary>Creates an empty memory.</summary>
    /// <param name="policy">When a score counts as fresh for <see cref="TryGetFresh"/>; null for the defaults.</param>
    /// <param name="datasetSize">The number of samples, if known: the memory is allocated once at that size.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="datasetSize"/> is negative or above <see cref="MaxId"/> + 1.</exception>
    public ScoreMemory(CachePolicy? policy = null, long? datasetSize = null)
    {
        if (datasetSize is < 0 or > MaxId + 1)
        {
            throw new ArgumentOutOfRangeException(nameof(datasetSize), datasetSize, $"datasetSize must be in [0, {MaxId + 1}].");
        }

        Policy = policy ?? new CachePolicy();
        int size = (int)(datasetSize ?? 0);
        scores = new double[size];
        epochs = new int[size];
        visits = new int[size];
        Array.Fill(scores, double.NaN);
    }

    /// <summary>Gets the freshness rules of <see cref="ScoreSource.Cached"/>.</summary>
    public CachePolicy Policy { get; }

    /// <summary>Gets how many ids have a score.</summary>
    public int Count { get; private set; }

    /// <summary>Gets the mean of every remembered score, or null when there is none: the dataset-wide reference InfoBatch
    /// compares each sample's score with.</summary>
    public double? Mean => Count == 0 ? null : sum / Count;

    /// <summary>Gets how many lookups found a score (fresh, for <see cref="TryGetFresh"/>).</summary>
    public long Hits { get; private set; }

    /// <summary>Gets how many lookups found no score, or a stale one.</summary>
    public long Misses { get; private set; }

    /// <summary>Looks up a score that <see cref="Policy"/> calls fresh at <paramref name="epoch"/>, and counts the use.</summary>
    /// <param name="id">The sample's dataset id.</param>
    /// <param name="epoch">The current epoch.</param>
    /// <param name="score">The score, if fresh; NaN otherwise.</param>
    /// <returns>Whether a fresh score was found.</returns>
    public bool TryGetFresh(long id, int epoch, out double score)
    {
        if (Has(id) && epoch - epochs[id] < Policy.MaxAgeEpochs && visits[id] < Policy.MaxVisits)
        {
            Journal(id);
            visits[id]++;
            score = scores[id];
            Hits++;
            return true;
        }

        score = double.NaN;
        Misses++;
        return false;
    }

    /// <summary>Looks up the remembered score of an id whatever its age (for scores that never go stale, such as each
    /// sample's last training loss).</summary>
    /// <param name="id">The sample's dataset id.</param>
    /// <param name="score">The score, if remembered; NaN otherwise.</param>
    /// <returns>Whether a score was found.</returns>
    public bool TryGet(long id, out double score)
    {
        bool found = Has(id);
        score = found ? scores[id] : double.NaN;
        if (found)
        {
            Hits++;
        }
        else
        {
            Misses++;
        }

        return found;
    }

    /// <summary>Stores a freshly computed score.</summary>
    /// <param name="id">The sample's dataset id, in [0, <see cref="MaxId"/>].</param>
    /// <param name="epoch">The epoch it was computed in.</param>
    /// <param name="score">The per-sample loss; NaN forgets the id.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="id"/> is outside [0, <see cref="MaxId"/>].</exception>
    public void Set(long id, int epoch, double score)
    {
        if (id < 0 || id > MaxId)
        {
            throw new ArgumentOutOfRangeException(nameof(id), id,
                $"Sample ids must be dataset indices in [0, {MaxId}] (the memory keeps a dense slot per id): map your ids to 0..N-1.");
        }

        if (id >= scores.Length)
        {
            Grow(id + 1);
        }

        Journal(id);
        if (!double.IsNaN(scores[id]))
        {
            sum -= scores[id];
            Count--;
        }

        scores[id] = score;
        epochs[id] = epoch;
        visits[id] = 0;
        if (!double.IsNaN(score))
        {
            sum += score;
            Count++;
        }
    }

    /// <summary>Writes every slot (score, epoch, use count) with TorchSharp's tensor format, so a checkpointed run resumes
    /// with the same memory.</summary>
    /// <param name="stream">A writable stream; it is left open.</param>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is null.</exception>
    public void Save(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        StateFormat.WriteHeader(writer, FileMagic, FileVersion);
        using var scope = NewDisposeScope();
        tensor(scores).Save(writer);
        tensor(epochs).Save(writer);
        tensor(visits).Save(writer);
    }

    /// <summary>Replaces the memory with what <see cref="Save"/> wrote; the stream is read and checked whole before
    /// anything changes.</summary>
    /// <param name="stream">A readable stream positioned where <see cref="Save"/> started writing; it is left open.</param>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is null.</exception>
    /// <exception cref="InvalidDataException">The stream does not hold a saved score memory, or is truncated.</exception>
    public void Load(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var reader = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        StateFormat.ReadHeader(reader, FileMagic, FileVersion, "a score memory written by ScoreMemory.Save");
        (double[] s, int[] e, int[] v) = StateFormat.Guard("score memory", () => (
            StateFormat.ReadArray<double>(reader, ScalarType.Float64, "scores"),
            StateFormat.ReadArray<int>(reader, ScalarType.Int32, "epochs"),
            StateFormat.ReadArray<int>(reader, ScalarType.Int32, "use counts")));
        if (e.Length != s.Length || v.Length != s.Length)
        {
            throw new InvalidDataException($"The saved score memory holds {s.Length} scores but {e.Length} epochs and {v.Length} use counts.");
        }

        scores = s;
        epochs = e;
        visits = v;
        sum = 0;
        Count = 0;
        foreach (double score in scores)
        {
            if (!double.IsNaN(score))
            {
                sum += score;
                Count++;
            }
        }
    }

    /// <summary>Takes over another memory's slots (a loaded state, already checked).</summary>
    internal void CopyFrom(ScoreMemory other)
    {
        scores = (double[])other.scores.Clone();
        epochs = (int[])other.epochs.Clone();
        visits = (int[])other.visits.Clone();
        sum = other.sum;
        Count = other.Count;
    }

    /// <summary>Starts recording the slots that change, so that <see cref="Undo"/> can put them back (one step's worth).</summary>
    internal void BeginJournal() => journal = new Dictionary<long, (double, int, int)>();

    /// <summary>Puts back every slot changed since <see cref="BeginJournal"/>, and stops recording.</summary>
    internal void Undo()
    {
        if (journal is null)
        {
            return;
        }

        Dictionary<long, (double Score, int Epoch, int Visits)> changes = journal;
        journal = null;
        foreach ((long id, (double score, int epoch, int used)) in changes)
        {
            Set(id, epoch, score);
            visits[id] = used;
        }
    }

    /// <summary>Forgets every score.</summary>
    public void Clear()
    {
        Array.Fill(scores, double.NaN);
        sum = 0;
        Count = 0;
    }

    private void Journal(long id)
    {
        if (journal is not null && !journal.ContainsKey(id))
        {
            journal[id] = id < scores.Length ? (scores[id], epochs[id], visits[id]) : (double.NaN, 0, 0);
        }
    }

    private bool Has(long id) => id >= 0 && id < scores.Length && !double.IsNaN(scores[id]);

    private void Grow(long needed)
    {
        int size = (int)Math.Min(Math.Max(needed, Math.Min(2L * scores.Length, MaxId + 1)), MaxId + 1);
        int old = scores.Length;
        Array.Resize(ref scores, size);
        Array.Resize(ref epochs, size);
        Array.Resize(ref visits, size);
        Array.Fill(scores, double.NaN, old, size - old);
    }
}
