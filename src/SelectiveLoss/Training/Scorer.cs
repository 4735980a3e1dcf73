using System;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SelectiveLoss.Training;

/// <summary>
/// One <see cref="ScoreSource"/>: how a batch gets its scores, and what the source remembers of the losses the kept
/// samples trained with. Made once per selector by <see cref="For"/>.
/// </summary>
internal abstract class Scorer(Module<Tensor, Tensor> model, LossFunction loss, BatchNormHandling norms)
{
    public abstract ScoreSource Kind { get; }

    /// <summary>Gets the score memory, or null for fresh scores.</summary>
    public virtual ScoreMemory? Memory => null;

    /// <summary>Gets a value indicating whether the source needs sample ids.</summary>
    public bool NeedsIds => Memory is not null;

    protected Module<Tensor, Tensor> Model { get; } = model;

    protected LossFunction Loss { get; } = loss;

    protected BatchNormHandling Norms { get; } = norms;

    public static Scorer For(ScoreSource source, Module<Tensor, Tensor> model, LossFunction loss, BatchNormHandling norms, BatchSelectorOptions options) => source switch
    {
        ScoreSource.Fresh => new FreshScorer(model, loss, norms),
        ScoreSource.Cached => new CachedScorer(model, loss, norms, new ScoreMemory(options.CachePolicy, options.DatasetSize)),
        ScoreSource.LastTrainingLoss => new LastTrainingLossScorer(model, loss, norms, new ScoreMemory(options.CachePolicy, options.DatasetSize)),
        _ => throw new ArgumentOutOfRangeException(nameof(source), source, "Unknown score source."),
    };

    /// <summary>Scores the batch (a scoring pass, the memory, or both).</summary>
    public abstract BatchScores Score(Tensor input, Tensor target, long n, long[]? ids, int epoch);

    /// <summary>Scores the batch when its training forward already computed every sample's loss (masked execution).</summary>
    public abstract BatchScores ScoreFromGraph(Tensor graphLosses, long n, long[]? ids, int epoch);

    /// <summary>Remembers the kept samples' training losses, where the source keeps them.</summary>
    public virtual void RememberTrained(long[] ids, Tensor losses, int epoch)
    {
    }

    /// <summary>Per-sample losses of a no-grad forward pass, in training mode or eval mode; the model is left in training mode.</summary>
    protected Tensor Pass(Tensor input, Tensor target, long n, bool trainingMode)
    {
        Model.train(trainingMode);
        try
        {
            // no_grad rather than inference_mode: on TorchSharp 0.107.0 (CPU, DenseNet-121) inference mode measured no
            // faster, and up to 7% slower, than no_grad for the scoring pass (docs/benchmark.md).
            using var noGrad = no_grad();
            return Loss.PerSample(Model.forward(input), target, n);
        }
        finally
        {
            Model.train();
        }
    }

    /// <summary>Stores losses in a memory, one host copy.</summary>
    protected static void Store(ScoreMemory memory, long[] ids, Tensor losses, int epoch)
    {
        double[] values = losses.detach().to(ScalarType.Float64).cpu().data<double>().ToArray();
        for (int j = 0; j < values.Length; j++)
        {
            memory.Set(ids[j], epoch, values[j]);
        }
    }
}
