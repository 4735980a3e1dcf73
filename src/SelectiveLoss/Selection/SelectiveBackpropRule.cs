using System;
using System.IO;
using SelectiveLoss.Internal;
using TorchSharp;
using static TorchSharp.torch;

namespace SelectiveLoss.Selection;

/// <summary>
/// Selective-Backprop (Jiang et al., 2019): keep each sample with probability (percentile of its loss among the recent
/// losses)^beta, so high-loss samples are almost always trained and low-loss ones rarely.
/// </summary>
internal sealed class SelectiveBackpropRule : IStatefulSelectionRule, IBuiltInRule
{
    private const int StateMagic = 0x50425353; // "SSBP"
    private Tensor? history;
    private long count;
    private long position;

    public SelectiveBackpropRule(double beta, int historySize)
    {
        if (!(beta > 0) || double.IsInfinity(beta))
        {
            throw new ArgumentOutOfRangeException(nameof(beta), beta, "beta must be a positive finite number (the paper uses 1 to 3; 3 by default).");
        }

        if (historySize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(historySize), historySize, "historySize must be at least 1 (1024 by default).");
        }

        Beta = beta;
        HistorySize = historySize;
    }

    public double Beta { get; }

    public int HistorySize { get; }

    public string Name => FormattableString.Invariant($"selective-backprop(beta: {Beta}, history: {HistorySize})");

    /// <summary>Gets how many losses the history holds now (at most <see cref="HistorySize"/>).</summary>
    public long HistoryCount => count;

    public SampleSelection Choose(SelectionContext context)
    {
        Tensor scores = context.Scores ?? throw new InvalidOperationException($"Rule {Name} needs scores, but the step passed none.");
        Tensor values = scores.detach().to(ScalarType.Float32);
        Remember(values);

        // Percentile: the share of the remembered losses (this batch's included) at or below each loss.
        Tensor remembered = count < HistorySize ? history!.narrow(0, 0, count) : history!;
        Tensor percentile = remembered.unsqueeze(0).le(values.unsqueeze(1)).to(ScalarType.Float32).mean(new long[] { 1 });
        using Scalar beta = Beta.ToScalar(); // held, not implicit: see HeldScalars
        Tensor probability = percentile.pow(beta);
        Tensor draw = rand(new long[] { context.BatchSize }, generator: context.Generator);
        Tensor keep = draw.On(context.Device).lt(probability);
        Tensor kept = keep.nonzero().squeeze(1);
        if (kept.shape[0] == 0)
        {
            // Floor of one, as the reducer has: a step without accumulation always trains on something.
            kept = values.argmax().unsqueeze(0);
        }

        return new SampleSelection(kept, null, null);
    }

    public void SaveState(BinaryWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(StateMagic);
        writer.Write(HistorySize);
        writer.Write(count);
        writer.Write(position);
        float[] values = history is null ? Array.Empty<float>() : history.narrow(0, 0, count).cpu().data<float>().ToArray();
        foreach (float v in values)
        {
            writer.Write(v);
        }
    }

    public void LoadState(BinaryReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        if (reader.ReadInt32() != StateMagic || reader.ReadInt32() != HistorySize)
        {
            throw new InvalidDataException($"The saved state is not that of {Name}.");
        }

        long savedCount = reader.ReadInt64();
        long savedPosition = reader.ReadInt64();
        if (savedCount < 0 || savedCount > HistorySize || savedPosition < 0 || savedPosition >= HistorySize)
        {
            throw new InvalidDataException($"The saved history of {Name} holds {savedCount} losses at position {savedPosition}.");
        }

        var values = new float[savedCount];
        for (long i = 0; i < savedCount; i++)
        {
            values[i] = reader.ReadSingle();
        }

        Tensor? restored = null;
        if (savedCount > 0)
        {
            restored = zeros(HistorySize, ScalarType.Float32);
            restored.narrow(0, 0, savedCount).copy_(tensor(values));
            restored = restored.DetachFromDisposeScope();
        }

        history?.Dispose();
        history = restored;
        count = savedCount;
        position = savedPosition;
    }

    public override string ToString() => Name;

    private void Remember(Tensor values)
    {
        if (history is null || !history.IsOn(values.device))
        {
            Tensor moved = history is null ? zeros(HistorySize, ScalarType.Float32, values.device) : history.to(values.device);
            history?.Dispose();
            history = moved.DetachFromDisposeScope();
        }

        long m = values.shape[0];
        Tensor newest = m > HistorySize ? values.narrow(0, m - HistorySize, HistorySize) : values;
        long added = newest.shape[0];
        using Scalar size = HistorySize.ToScalar(); // held, not implicit: see HeldScalars
        Tensor slots = HeldScalars.Arange(position, position + added, values.device).remainder(size);
        using (no_grad())
        {
            history.index_copy_(0, slots, newest);
        }

        position = (position + added) % HistorySize;
        count = Math.Min(count + added, HistorySize);
    }
}
