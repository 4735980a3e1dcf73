using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SelectiveLoss.Training;

/// <summary><see cref="ScoreSource.Fresh"/>: a scoring pass over the whole batch; nothing is remembered.</summary>
internal sealed class FreshScorer(Module<Tensor, Tensor> model, LossFunction loss, BatchNormHandling norms) : Scorer(model, loss, norms)
{
    public override ScoreSource Kind => ScoreSource.Fresh;

    public override BatchScores Score(Tensor input, Tensor target, long n, long[]? ids, int epoch)
    {
        bool trainingMode = Norms.ScoresInTrainingMode(wholeBatch: true, Kind);
        return new BatchScores(Pass(input, target, n, trainingMode), null, n, AreFresh: true, HoldStatistics: trainingMode);
    }

    public override BatchScores ScoreFromGraph(Tensor graphLosses, long n, long[]? ids, int epoch) =>
        new(graphLosses, null, 0, AreFresh: true, HoldStatistics: false);
}
