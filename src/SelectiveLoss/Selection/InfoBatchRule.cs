using System;
using SelectiveLoss.Internal;
using SelectiveLoss.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SelectiveLoss.Selection;

/// <summary>
/// InfoBatch (Qin et al., ICLR 2024): prune at random a share of the samples whose score is below the mean, scale the
/// kept below-mean samples' losses by 1/(1 - pruneRatio) so the expected gradient stays the same, and train on every
/// sample in the last epochs.
/// </summary>
internal sealed class InfoBatchRule : ISelectionRule, IBuiltInRule
{
    public InfoBatchRule(double pruneRatio, double annealFraction)
    {
        CheckArguments(pruneRatio, annealFraction);
        PruneRatio = pruneRatio;
        AnnealFraction = annealFraction;
    }

    public double PruneRatio { get; }

    /// <summary>The argument checks of InfoBatch's two parameters, shared with <see cref="InfoBatchSampler"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range.</exception>
    public static void CheckArguments(double pruneRatio, double annealFraction)
    {
        if (!(pruneRatio >= 0 && pruneRatio < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(pruneRatio), pruneRatio, "pruneRatio must be in [0, 1): the share of below-mean samples to prune (0.5 by default).");
        }

        if (!(annealFraction > 0 && annealFraction <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(annealFraction), annealFraction, "annealFraction must be in (0, 1]: the share of the epochs that prune (0.875 by default; 1 never anneals).");
        }
    }

    public double AnnealFraction { get; }

    public string Name => FormattableString.Invariant($"infobatch(prune: {PruneRatio}, anneal: {AnnealFraction})");

    public ScoreSource DefaultScores => ScoreSource.LastTrainingLoss;

    public bool NeedsTotalEpochs => true;

    /// <summary>Whether epoch <paramref name="epoch"/> of <paramref name="totalEpochs"/> prunes (InfoBatch's
    /// <c>epoch &lt; delta * num_epochs</c>).</summary>
    public bool Prunes(int epoch, int totalEpochs) => epoch < AnnealFraction * totalEpochs;

    public SampleSelection Choose(SelectionContext context)
    {
        Tensor scores = context.Scores ?? throw new InvalidOperationException($"Rule {Name} needs scores, but the step passed none.");
        int totalEpochs = context.TotalEpochs ?? throw new InvalidOperationException($"Rule {Name} needs the total epoch count (SelectiveStepOptions.TotalEpochs).");
        if (!Prunes(context.Epoch, totalEpochs) || PruneRatio == 0)
        {
            return new SampleSelection(HeldScalars.Arange(0, context.BatchSize, context.Device), null, 1.0);
        }

        Tensor values = scores.detach();
        // Every Scalar below is held, not implicit: see HeldScalars.
        Tensor below;
        if (context.ScoreMean is double remembered)
        {
            using Scalar mean = remembered.ToScalar();
            below = values.lt(mean);
        }
        else
        {
            below = values.lt(values.mean());
        }

        Tensor draw = rand(new long[] { context.BatchSize }, generator: context.Generator).On(context.Device);
        using Scalar pruneRatio = PruneRatio.ToScalar();
        Tensor pruned = below.logical_and(draw.lt(pruneRatio));
        Tensor kept = pruned.logical_not().nonzero().squeeze(1);
        if (kept.shape[0] == 0)
        {
            kept = values.argmax().unsqueeze(0);
        }

        // The weights are float64 whatever the scores' dtype (remembered scores are float64, fresh ones the model's):
        // the loss converts them to its own dtype, so a float64 model gets 1 / (1 - pruneRatio) exactly.
        using Scalar rescale = (1.0 / (1.0 - PruneRatio)).ToScalar();
        Tensor scale = full(new long[] { 1 }, rescale, ScalarType.Float64, context.Device);
        Tensor weights = where(below.index_select(0, kept), scale, ones(1, ScalarType.Float64, context.Device));
        return new SampleSelection(kept, weights, null);
    }

    public override string ToString() => Name;
}
