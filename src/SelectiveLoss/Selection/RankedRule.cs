using static TorchSharp.torch;

namespace SelectiveLoss.Selection;

/// <summary>The lowest or highest losses, with <see cref="SelectiveLossReducer"/>'s exact semantics.</summary>
internal sealed class RankedRule : IKeepRatioRule, IBuiltInRule
{
    private SelectiveLossReducer reducer;

    public RankedRule(double keepRatio, bool largest)
    {
        reducer = new SelectiveLossReducer(keepRatio, largest);
        KeepRatio = keepRatio;
        Largest = largest;
    }

    public double KeepRatio { get; }

    /// <summary>Whether the highest losses are kept (<see cref="SelectiveLossReducer.Largest"/>).</summary>
    public bool Largest { get; }

    public string Name => System.FormattableString.Invariant($"{(Largest ? "highest" : "lowest")}({KeepRatio})");

    public SampleSelection Choose(SelectionContext context) => Choose(context, KeepRatio);

    public SampleSelection Choose(SelectionContext context, double keepRatio)
    {
        if (reducer.KeepRatio != keepRatio)
        {
            reducer = new SelectiveLossReducer(keepRatio, Largest);
        }

        Tensor scores = context.Scores ?? throw new System.InvalidOperationException($"Rule {Name} needs scores, but the step passed none.");
        return new SampleSelection(reducer.SelectIndices(scores), null, keepRatio);
    }

    public override string ToString() => Name;
}
