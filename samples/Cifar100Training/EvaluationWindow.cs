using System;
using System.Collections.Generic;
using System.Linq;

namespace Cifar100Training;

/// <summary>
/// What a run did since its last evaluation, read from the device only when the window closes: the batches' outcomes,
/// how many samples were offered and kept, and the run's running training time and backpropagated count. It spans
/// epochs when --eval-every is more than one.
/// </summary>
internal sealed class EvaluationWindow(double trainSeconds, long backpropagated) : IDisposable
{
    private readonly List<BatchOutcome> outcomes = new();
    private double offered;

    /// <summary>Gets the training time of the run so far (evaluation excluded), the windows before included.</summary>
    public double TrainSeconds { get; private set; } = trainSeconds;

    public void Add(BatchOutcome outcome, double offeredSamples)
    {
        outcomes.Add(outcome);
        offered += offeredSamples;
    }

    /// <summary>Adds training time (the clock of a stretch of batches).</summary>
    public void Trained(TimeSpan time) => TrainSeconds += time.TotalSeconds;

    /// <summary>Closes the window: one metrics row with this evaluation's accuracy; the window starts again empty.</summary>
    public EpochMetrics Close(double epoch, double evalSeconds, double accuracy, bool[]? corrupted, bool selects)
    {
        double loss = outcomes.Sum(o => o.LossSum());
        long trained = outcomes.Sum(o => (long)o.Trained);
        long kept = outcomes.Sum(o => (long)o.Kept);
        long keptNoisy = corrupted is not null && selects ? outcomes.Sum(o => o.KeptIds().Count(i => corrupted[i])) : 0;
        backpropagated += trained;
        double? noisyShare = selects && corrupted is not null && kept > 0 ? (double)keptNoisy / kept : null;
        var row = new EpochMetrics(epoch, TrainSeconds, evalSeconds, trained > 0 ? loss / trained : double.NaN, accuracy, backpropagated,
            offered > 0 ? kept / offered : double.NaN, noisyShare);
        Dispose();
        offered = 0;
        return row;
    }

    public void Dispose()
    {
        outcomes.ForEach(o => o.Dispose());
        outcomes.Clear();
    }
}
