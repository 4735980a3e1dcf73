using SelectiveLoss.Selection;
using static TorchSharp.torch;

namespace SelectiveLoss.Training;

/// <summary>The lowest or highest losses, with <see cref="SelectiveLossReducer"/>'s exact semantics.</summary>
internal sealed class RankedRule : IKeepRatioRule, IBuiltInRule
{
    private SelectiveLossReducer reducer;

    public RankedRule(double keepRatio, SelectionMode mode)
    {
        reducer = new SelectiveLossReducer(keepRatio, mode);
        KeepRatio = keepRatio;
        Mode = mode;
    }

    public double KeepRatio { get; }

    public SelectionMode Mode { get; }

    public string Name => System.FormattableString.Invariant($"{(Mode == SelectionMode.Lowest ? "lowest" : "highest")}({KeepRatio})");

    public SampleSelection Choose(SelectionContext context) => Choose(context, KeepRatio);

    public SampleSelection Choose(SelectionContext context, double keepRatio)
    {
        if (reducer.KeepRatio != keepRatio)
        {
            reducer = new SelectiveLossReducer(keepRatio, Mode);
        }

        Tensor scores = context.Scores ?? throw new System.InvalidOperationException($"Rule {Name} needs scores, but the step passed none.");
        return new SampleSelection(reducer.SelectIndices(scores), null, keepRatio);
    }

    public override string ToString() => Name;
}
