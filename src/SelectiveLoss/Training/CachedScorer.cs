using System.Collections.Generic;
using SelectiveLoss.Internal;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SelectiveLoss.Training;

/// <summary>
/// <see cref="ScoreSource.Cached"/>: remembered scores while <see cref="CachePolicy"/> calls them fresh; the others are
/// scored by an eval-mode pass over those samples only (eval mode, so that a pass over part of a batch means the same
/// on a model with BatchNorm as one over all of it). Where the model does not couple samples, the kept samples' training
/// losses refresh their scores for free.
/// </summary>
internal sealed class CachedScorer(Module<Tensor, Tensor> model, LossFunction loss, BatchNormHandling norms, ScoreMemory memory) : Scorer(model, loss, norms)
{
    public override ScoreSource Kind => ScoreSource.Cached;

    public override ScoreMemory Memory { get; } = memory;

    public override BatchScores Score(Tensor input, Tensor target, long n, long[]? ids, int epoch)
    {
        var values = new double[n];
        var stale = new List<long>();
        for (long i = 0; i < n; i++)
        {
            if (!Memory.TryGetFresh(ids![i], epoch, out values[i]))
            {
                stale.Add(i);
            }
        }

        if (stale.Count > 0)
        {
            Tensor positions = tensor(stale.ToArray(), device: input.device);
            Tensor fresh = Pass(input.index_select(0, positions), target.index_select(0, positions.On(target.device)), stale.Count, trainingMode: false);
            double[] freshValues = fresh.to(ScalarType.Float64).cpu().data<double>().ToArray();
            for (int j = 0; j < stale.Count; j++)
            {
                values[stale[j]] = freshValues[j];
                Memory.Set(ids![stale[j]], epoch, freshValues[j]);
            }
        }

        return new BatchScores(tensor(values, device: input.device), null, stale.Count, AreFresh: false, HoldStatistics: false);
    }

    /// <summary>Masked execution: the training forward's own losses are this batch's exact scores, so they are used and
    /// remembered (not the remembered, possibly stale, ones).</summary>
    public override BatchScores ScoreFromGraph(Tensor graphLosses, long n, long[]? ids, int epoch)
    {
        Store(Memory, ids!, graphLosses, epoch);
        return new BatchScores(graphLosses, null, 0, AreFresh: true, HoldStatistics: false);
    }

    public override void RememberTrained(long[] ids, Tensor losses, int epoch)
    {
        if (Norms.TrainingLossesAreScores)
        {
            Store(Memory, ids, losses, epoch);
        }
    }
}
