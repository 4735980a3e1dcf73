using System;
using System.Collections.Generic;
using System.Linq;
using SelectiveLoss.Internal;
using static TorchSharp.torch;

namespace SelectiveLoss.Training;

/// <summary>
/// Sets kept samples aside until <c>size</c> wait, then trains one full batch through the decorated training (as the
/// Selective-Backprop paper does); the rest waits for the next step or <see cref="Flush"/>.
/// </summary>
internal sealed class AccumulatingTraining(IBatchTraining inner, int size) : IBatchTraining
{
    private readonly List<PendingSamples> pending = new();
    private List<PendingSamples>? before;
    private List<PendingSamples>? touched;

    public int PendingCount => pending.Sum(p => p.Count);

    public IReadOnlyList<PendingSamples> Pending => pending;

    public TrainingOutcome Train(SelectedBatch batch)
    {
        Commit();
        before = pending.ToList();
        if (batch.KeptCount > 0)
        {
            pending.Add(new PendingSamples(
                batch.Input.detach().clone().DetachFromDisposeScope(),
                batch.Target.clone().DetachFromDisposeScope(),
                batch.Weights?.detach().clone().DetachFromDisposeScope(),
                batch.SampleIds?.clone().DetachFromDisposeScope()));
        }

        touched = pending.ToList();
        if (PendingCount < size)
        {
            return TrainingOutcome.SetAside;
        }

        TrainingOutcome trained = inner.Train(Take(size, batch.Input.device));
        return trained with { Accumulated = true };
    }

    public TrainingOutcome? Flush()
    {
        Commit();
        if (pending.Count == 0)
        {
            return null;
        }

        before = pending.ToList();
        touched = pending.ToList();
        TrainingOutcome trained = inner.Train(Take(PendingCount, pending[0].Input.device));
        return trained with { Accumulated = true };
    }

    public void Rollback()
    {
        if (before is null)
        {
            return;
        }

        foreach (PendingSamples p in pending.Concat(touched ?? new List<PendingSamples>()).Distinct().Where(p => !before.Contains(p)))
        {
            p.Dispose();
        }

        pending.Clear();
        pending.AddRange(before);
        before = touched = null;
    }

    public void Restore(IReadOnlyList<PendingSamples> loaded)
    {
        Commit();
        Clear();
        pending.AddRange(loaded);
    }

    public void Dispose()
    {
        Commit();
        Clear();
    }

    /// <summary>The last training succeeded: the pieces it took are released.</summary>
    private void Commit()
    {
        if (touched is not null)
        {
            foreach (PendingSamples p in touched.Where(p => !pending.Contains(p)))
            {
                p.Dispose();
            }
        }

        before = touched = null;
    }

    /// <summary>The first <paramref name="count"/> waiting samples as one batch (in the current dispose scope); the rest keeps waiting.</summary>
    private SelectedBatch Take(int count, Device device)
    {
        bool anyWeights = pending.Any(p => p.Weights is not null);
        bool allIds = pending.All(p => p.Ids is not null);
        Tensor input = cat(pending.Select(p => p.Input.On(device)).ToList(), 0);
        Tensor target = cat(pending.Select(p => p.Target.On(device)).ToList(), 0);
        Tensor? weights = anyWeights
            ? cat(pending.Select(p => (p.Weights ?? ones(p.Count, ScalarType.Float64)).to(ScalarType.Float64, device)).ToList(), 0)
            : null;
        Tensor? ids = allIds ? cat(pending.Select(p => p.Ids!.On(device)).ToList(), 0) : null;
        long total = input.shape[0];
        pending.Clear(); // the taken pieces are released on commit, or put back on rollback
        if (total > count)
        {
            long rest = total - count;
            pending.Add(new PendingSamples(
                input.narrow(0, count, rest).clone().DetachFromDisposeScope(),
                target.narrow(0, count, rest).clone().DetachFromDisposeScope(),
                weights?.narrow(0, count, rest).clone().DetachFromDisposeScope(),
                ids?.narrow(0, count, rest).clone().DetachFromDisposeScope()));
        }

        return new SelectedBatch(HeldScalars.Arange(0, count, device), input.narrow(0, 0, count), target.narrow(0, 0, count),
            weights?.narrow(0, 0, count), ids?.narrow(0, 0, count), count, null, 0, isExact: false, TimeSpan.Zero);
    }

    private void Clear()
    {
        foreach (PendingSamples p in pending)
        {
            p.Dispose();
        }

        pending.Clear();
    }
}
