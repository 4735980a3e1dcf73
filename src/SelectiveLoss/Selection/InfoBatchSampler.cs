using System;
using System.IO;
using System.Linq;
using SelectiveLoss.Internal;
using TorchSharp;
using static TorchSharp.torch;

namespace SelectiveLoss.Selection;

/// <summary>
/// InfoBatch (Qin et al., ICLR 2024) as the method is published: a sampler that, once per epoch, prunes at random a
/// share of the samples whose last training loss is below the mean and yields the rest, shuffled, in full batches, so
/// pruned samples are never read, augmented or copied to the device. The kept below-mean samples' losses are weighted
/// 1/(1 - pruneRatio), so the expected gradient is the full data's; from epoch <c>annealFraction * totalEpochs</c> on,
/// every sample is trained.
/// </summary>
/// <remarks>
/// <para>
/// A sample's score is its loss from the last training forward it took part in (<see cref="Loss"/> or
/// <see cref="Update"/> record it), kept in a dense array over the data set. A sample without one is never pruned, so
/// the first epoch trains everything. The mean is taken over the samples that have a score, as the paper's
/// <c>scores.mean()</c>. Of the below-mean samples, exactly <c>floor((1 - pruneRatio) * count)</c> are kept, drawn without
/// replacement, as in InfoBatch's <c>prune()</c>.
/// </para>
/// <para>The plan of an epoch is a pure function of the scores, the seed and the epoch, so a run resumed from
/// <see cref="Save"/> at an epoch boundary plans exactly as an uninterrupted one.</para>
/// <para>It needs no particular model: the whole kept batch trains as one (BatchNorm included), with its weights.</para>
/// </remarks>
/// <example>
/// <code>
/// var sampler = new InfoBatchSampler(datasetSize: train.Count, totalEpochs: epochs, batchSize: 128);
/// for (int epoch = 0; epoch &lt; epochs; epoch++)
/// {
///     foreach (long[] ids in sampler.Epoch(epoch).Batches)      // pruned samples are not in any batch
///     {
///         var (x, y) = LoadBatch(ids);
///         var perSample = nn.functional.cross_entropy(model.forward(x), y, reduction: nn.Reduction.None);
///         Tensor loss = sampler.Loss(torch.tensor(ids), perSample);   // weighted mean; scores remembered
///         optimizer.zero_grad(); loss.backward(); optimizer.step();
///     }
/// }
/// </code>
/// </example>
public sealed class InfoBatchSampler
{
    private const int StateMagic = 0x53424953; // "SIBS"
    private const int StateVersion = 1;

    private readonly double[] scores;
    private double[] weights;
    private int plannedEpoch = -1;

    /// <summary>Creates the sampler.</summary>
    /// <param name="datasetSize">The number of samples; ids are 0 to <paramref name="datasetSize"/> - 1.</param>
    /// <param name="totalEpochs">The number of epochs of the run (annealing starts at <c>annealFraction * totalEpochs</c>).</param>
    /// <param name="batchSize">The size of every batch but possibly the last of an epoch.</param>
    /// <param name="pruneRatio">The share of below-mean samples pruned, in [0, 1); 0.5 by default.</param>
    /// <param name="annealFraction">The share of the epochs that prune, in (0, 1]; 0.875 by default.</param>
    /// <param name="seed">The seed of the shuffle and of the pruning draws.</param>
    /// <param name="dropLast">Whether an epoch's last, smaller batch is left out (as a DataLoader's <c>drop_last</c>).</param>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range (the message says which and why).</exception>
    public InfoBatchSampler(long datasetSize, int totalEpochs, int batchSize, double pruneRatio = 0.5, double annealFraction = 0.875, ulong seed = 0, bool dropLast = false)
    {
        if (datasetSize < 1 || datasetSize > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(datasetSize), datasetSize, "datasetSize must be in [1, 2^31 - 1]: the number of samples, whose ids are 0 to datasetSize - 1.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(totalEpochs, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        InfoBatchRule.CheckArguments(pruneRatio, annealFraction);
        DatasetSize = datasetSize;
        TotalEpochs = totalEpochs;
        BatchSize = batchSize;
        PruneRatio = pruneRatio;
        AnnealFraction = annealFraction;
        Seed = seed;
        DropLast = dropLast;
        scores = new double[datasetSize];
        Array.Fill(scores, double.NaN);
        weights = new double[datasetSize];
        Array.Fill(weights, 1.0);
    }

    /// <summary>Gets the number of samples.</summary>
    public long DatasetSize { get; }

    /// <summary>Gets the number of epochs of the run.</summary>
    public int TotalEpochs { get; }

    /// <summary>Gets the batch size.</summary>
    public int BatchSize { get; }

    /// <summary>Gets the share of below-mean samples pruned in a pruning epoch.</summary>
    public double PruneRatio { get; }

    /// <summary>Gets the share of the epochs that prune.</summary>
    public double AnnealFraction { get; }

    /// <summary>Gets the seed of the shuffle and the pruning draws.</summary>
    public ulong Seed { get; }

    /// <summary>Gets a value indicating whether an epoch's last, smaller batch is left out.</summary>
    public bool DropLast { get; }

    /// <summary>Gets how many samples have a score (took part in a training forward).</summary>
    public int ScoredCount => scores.Count(s => !double.IsNaN(s));

    /// <summary>Gets the mean score over the samples that have one, or null when none has.</summary>
    public double? MeanScore
    {
        get
        {
            (double sum, int count) = Sum();
            return count == 0 ? null : sum / count;
        }
    }

    /// <summary>Whether <paramref name="epoch"/> prunes: <c>epoch &lt; annealFraction * totalEpochs</c>, as InfoBatch's
    /// sampler stops pruning at <c>delta * num_epochs</c>.</summary>
    /// <param name="epoch">The zero-based epoch.</param>
    /// <returns>True for a pruning epoch, false for an annealing one (every sample trains).</returns>
    public bool Prunes(int epoch) => PruneRatio > 0 && epoch < AnnealFraction * TotalEpochs;

    /// <summary>
    /// Plans <paramref name="epoch"/> from the scores so far: the kept sample ids, shuffled, in batches, and the weights
    /// <see cref="Loss"/> applies during it. Call it once at the start of each epoch, before its first batch.
    /// </summary>
    /// <param name="epoch">The zero-based epoch, below <see cref="TotalEpochs"/>.</param>
    /// <returns>The epoch's plan.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="epoch"/> is negative or not below <see cref="TotalEpochs"/>.</exception>
    /// <exception cref="Numerics.NumericsFaultException">LibTorch's convolutions give wrong results on this CPU and no
    /// mitigation made them right (<see cref="Numerics.NumericsCheck"/>, run once per process before the first epoch is
    /// planned, that is before the loop's first training step).</exception>
    public InfoBatchEpoch Epoch(int epoch)
    {
        if (epoch < 0 || epoch >= TotalEpochs)
        {
            throw new ArgumentOutOfRangeException(nameof(epoch), epoch, $"epoch must be in [0, {TotalEpochs}): the zero-based epoch of a run of {TotalEpochs}.");
        }

        Numerics.NumericsCheck.EnsureChecked();

        using var scope = NewDisposeScope();
        using var generator = new Generator(Mix(Seed, (ulong)epoch), CPU);
        var next = new double[DatasetSize];
        Array.Fill(next, 1.0);
        bool[] kept = Enumerable.Repeat(true, (int)DatasetSize).ToArray();
        int pruned = 0;
        if (Prunes(epoch) && MeanScore is double mean)
        {
            int[] below = Enumerable.Range(0, (int)DatasetSize).Where(i => scores[i] < mean).ToArray();
            int keep = (int)Math.Floor((1 - PruneRatio) * below.Length);
            long[] order = randperm(below.Length, generator: generator).data<long>().ToArray();
            double weight = 1.0 / (1.0 - PruneRatio);
            for (int j = 0; j < below.Length; j++)
            {
                int id = below[order[j]];
                if (j < keep)
                {
                    next[id] = weight;
                }
                else
                {
                    kept[id] = false;
                    pruned++;
                }
            }
        }

        long[] shuffle = randperm(DatasetSize, generator: generator).data<long>().ToArray();
        long[] ids = shuffle.Where(i => kept[i]).ToArray();
        weights = next;
        plannedEpoch = epoch;
        return new InfoBatchEpoch(epoch, Prunes(epoch), ids, BatchSize, DropLast, pruned);
    }

    /// <summary>
    /// The loss to backpropagate for a batch of the current epoch: the mean of each sample's loss times its weight
    /// (InfoBatch's <c>update()</c>: <c>(loss * weight).mean()</c>); the losses are remembered as the samples' scores.
    /// </summary>
    /// <param name="sampleIds">The batch's dataset ids (1-D integer, on any device).</param>
    /// <param name="perSampleLoss">One loss per sample, with gradient (<c>reduction: None</c>).</param>
    /// <returns>A scalar tensor in the loss's dtype (the weights are exact in float64).</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">The ids and losses disagree in length, an id is out of range, or the losses
    /// are not 1-D floating point.</exception>
    /// <exception cref="InvalidOperationException">No epoch was planned (<see cref="Epoch"/>).</exception>
    /// <exception cref="Training.NonFiniteLossException">A loss is NaN or infinite; nothing was remembered.</exception>
    public Tensor Loss(Tensor sampleIds, Tensor perSampleLoss)
    {
        long[] ids = Check(sampleIds, perSampleLoss);
        if (plannedEpoch < 0)
        {
            throw new InvalidOperationException("Plan the epoch first: call sampler.Epoch(epoch) at the start of each epoch, then Loss for its batches.");
        }

        using var scope = NewDisposeScope();
        Tensor w = tensor(ids.Select(i => weights[i]).ToArray(), ScalarType.Float64).to(perSampleLoss.dtype, perSampleLoss.device);
        Tensor loss = (perSampleLoss * w).mean();
        Remember(ids, perSampleLoss);
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>Remembers the samples' losses as their scores without making a loss (for a loss computed your own way).</summary>
    /// <param name="sampleIds">The dataset ids (1-D integer).</param>
    /// <param name="perSampleLoss">One loss per sample.</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">The ids and losses disagree in length, or an id is out of range.</exception>
    /// <exception cref="Training.NonFiniteLossException">A loss is NaN or infinite; nothing was remembered.</exception>
    public void Update(Tensor sampleIds, Tensor perSampleLoss) => Remember(Check(sampleIds, perSampleLoss), perSampleLoss);

    /// <summary>The weight each sample's loss gets in the current epoch: 1/(1 - pruneRatio) for the kept below-mean
    /// samples, 1 for the others.</summary>
    /// <param name="sampleId">A dataset id.</param>
    /// <returns>The weight.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sampleId"/> is out of range.</exception>
    public double WeightOf(long sampleId)
    {
        if (sampleId < 0 || sampleId >= DatasetSize)
        {
            throw new ArgumentOutOfRangeException(nameof(sampleId), sampleId, $"Sample ids are in [0, {DatasetSize}).");
        }

        return weights[sampleId];
    }

    /// <summary>Writes the scores, the weights of the planned epoch and its number (TorchSharp's tensor format).</summary>
    /// <param name="stream">A writable stream; it is left open. Write it atomically (to a temporary file, then rename).</param>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is null.</exception>
    public void Save(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        StateFormat.WriteHeader(writer, StateMagic, StateVersion);
        writer.Write(DatasetSize);
        writer.Write(plannedEpoch);
        using var scope = NewDisposeScope();
        tensor(scores).Save(writer);
        tensor(weights).Save(writer);
    }

    /// <summary>Restores what <see cref="Save"/> wrote; the stream is read and checked whole before anything changes.</summary>
    /// <param name="stream">A readable, seekable stream positioned where <see cref="Save"/> started writing; it is left open.</param>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is null.</exception>
    /// <exception cref="InvalidDataException">The stream holds no sampler state, is truncated, or is for another data set size.</exception>
    public void Load(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var reader = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        StateFormat.ReadHeader(reader, StateMagic, StateVersion, "an InfoBatch sampler state written by InfoBatchSampler.Save");
        (long size, int epoch, double[] s, double[] w) = StateFormat.Guard("InfoBatch sampler state", () => (
            reader.ReadInt64(),
            reader.ReadInt32(),
            StateFormat.ReadArray<double>(reader, ScalarType.Float64, "scores"),
            StateFormat.ReadArray<double>(reader, ScalarType.Float64, "weights")));
        if (size != DatasetSize || s.Length != DatasetSize || w.Length != DatasetSize || epoch < -1 || epoch >= TotalEpochs)
        {
            throw new InvalidDataException(
                $"The saved InfoBatch sampler is for {size} samples at epoch {epoch}; this one has {DatasetSize} samples and {TotalEpochs} epochs. Resume with the data and options of the saved run.");
        }

        Array.Copy(s, scores, s.Length);
        weights = w;
        plannedEpoch = epoch;
    }

    private static ulong Mix(ulong seed, ulong epoch)
    {
        ulong z = seed + (0x9E3779B97F4A7C15UL * (epoch + 1));
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private (double Sum, int Count) Sum()
    {
        double sum = 0;
        int count = 0;
        foreach (double s in scores)
        {
            if (!double.IsNaN(s))
            {
                sum += s;
                count++;
            }
        }

        return (sum, count);
    }

    private long[] Check(Tensor sampleIds, Tensor perSampleLoss)
    {
        ArgumentNullException.ThrowIfNull(sampleIds);
        ArgumentNullException.ThrowIfNull(perSampleLoss);
        if (perSampleLoss.dim() != 1 || !perSampleLoss.is_floating_point())
        {
            throw new ArgumentException($"perSampleLoss must be 1-D floating point (reduction: None), but has shape [{string.Join(", ", perSampleLoss.shape)}] of {perSampleLoss.dtype}.", nameof(perSampleLoss));
        }

        if (sampleIds.dim() != 1 || sampleIds.shape[0] != perSampleLoss.shape[0] || sampleIds.is_floating_point())
        {
            throw new ArgumentException($"sampleIds must be 1-D integer with one id per loss ([{perSampleLoss.shape[0]}]), but has shape [{string.Join(", ", sampleIds.shape)}] of {sampleIds.dtype}.", nameof(sampleIds));
        }

        using var scope = NewDisposeScope();
        long[] ids = sampleIds.to(ScalarType.Int64).cpu().data<long>().ToArray();
        foreach (long id in ids)
        {
            if (id < 0 || id >= DatasetSize)
            {
                throw new ArgumentException($"sampleIds holds {id}, but ids are in [0, {DatasetSize}).", nameof(sampleIds));
            }
        }

        return ids;
    }

    private void Remember(long[] ids, Tensor perSampleLoss)
    {
        using var scope = NewDisposeScope();
        double[] values = perSampleLoss.detach().to(ScalarType.Float64).cpu().data<double>().ToArray();
        int bad = values.Count(v => !double.IsFinite(v));
        if (bad > 0)
        {
            throw Training.FiniteChecks.NonFiniteSamples(bad, values.Length,
                "samples' losses are not finite; nothing was remembered. Skip the batch (its scores stay as they were) or stop the run.");
        }

        for (int j = 0; j < ids.Length; j++)
        {
            scores[ids[j]] = values[j];
        }
    }
}
