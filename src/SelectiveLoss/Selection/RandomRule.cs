using SelectiveLoss.Internal;
using static TorchSharp.torch;

namespace SelectiveLoss.Selection;

/// <summary>The control: a uniformly random subset of the keep count, without any scores.</summary>
internal sealed class RandomRule(double keepRatio) : IKeepRatioRule, IBuiltInRule
{
    public double KeepRatio { get; } = keepRatio;

    public string Name => System.FormattableString.Invariant($"random({KeepRatio})");

    public bool UsesScores => false;

    public SampleSelection Choose(SelectionContext context) => Choose(context, KeepRatio);

    public SampleSelection Choose(SelectionContext context, double keepRatio)
    {
        int k = SelectiveLossReducer.KeepCount(keepRatio, context.BatchSize);
        Tensor permutation = randperm(context.BatchSize, generator: context.Generator);
        Tensor kept = permutation.narrow(0, 0, k).sort().Values;
        return new SampleSelection(kept.On(context.Device), null, keepRatio);
    }

    public override string ToString() => Name;
}
