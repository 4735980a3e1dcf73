using System.Collections.Generic;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SelectiveLoss.Training;

/// <summary>
/// <see cref="ScoreSource.LastTrainingLoss"/> (InfoBatch): each sample's loss from the last training forward it took part
/// in; no scoring pass. Samples without one are unseen, kept unranked, so they get one.
/// </summary>
internal sealed class LastTrainingLossScorer(Module<Tensor, Tensor> model, LossFunction loss, BatchNormHandling norms, ScoreMemory memory) : Scorer(model, loss, norms)
{
    public override ScoreSource Kind => ScoreSource.LastTrainingLoss;

    public override ScoreMemory Memory { get; } = memory;

    public override BatchScores Score(Tensor input, Tensor target, long n, long[]? ids, int epoch) => Remembered(n, ids!, input.device);

    /// <summary>Masked execution too ranks by the last training losses (the rule's definition of a score), so that it
    /// selects as rebatched execution does.</summary>
    public override BatchScores ScoreFromGraph(Tensor graphLosses, long n, long[]? ids, int epoch) => Remembered(n, ids!, graphLosses.device);

    public override void RememberTrained(long[] ids, Tensor losses, int epoch) => Store(Memory, ids, losses, epoch);

    private BatchScores Remembered(long n, long[] ids, Device device)
    {
        var values = new double[n];
        var unseen = new List<long>();
        for (long i = 0; i < n; i++)
        {
            if (!Memory.TryGet(ids[i], out values[i]))
            {
                unseen.Add(i);
            }
        }

        return new BatchScores(tensor(values, device: device), unseen, 0, AreFresh: false, HoldStatistics: false);
    }
}
