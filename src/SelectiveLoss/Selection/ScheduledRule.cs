using System;
using System.IO;
using SelectiveLoss.Training;

namespace SelectiveLoss.Selection;

/// <summary>A keep-ratio rule whose ratio follows a schedule by epoch; the rule's own ratio is the target.</summary>
internal sealed class ScheduledRule(IKeepRatioRule rule, IKeepRatioSchedule schedule) : IKeepRatioRule, IStatefulSelectionRule
{
    public IKeepRatioRule Rule { get; } = rule;

    public IKeepRatioSchedule Schedule { get; } = schedule;

    public double KeepRatio => Rule.KeepRatio;

    public string Name => $"{Rule.Name}, {Schedule}";

    public bool UsesScores => Rule.UsesScores;

    public ScoreSource DefaultScores => Rule.DefaultScores;

    public bool NeedsTotalEpochs => Rule.NeedsTotalEpochs;

    /// <summary>The ratio in force at <paramref name="epoch"/>, checked.</summary>
    /// <exception cref="InvalidOperationException">The schedule returned a ratio outside (0, 1].</exception>
    public double RatioAt(int epoch)
    {
        double ratio = Schedule.KeepRatioAt(epoch, Rule.KeepRatio);
        return double.IsNaN(ratio) || ratio <= 0 || ratio > 1
            ? throw new InvalidOperationException(
                FormattableString.Invariant($"The keep-ratio schedule of rule {Name} returned {ratio} for epoch {epoch}; it must be in (0, 1]. No parameter was changed."))
            : ratio;
    }

    public SampleSelection Choose(SelectionContext context) => Rule.Choose(context, RatioAt(context.Epoch));

    public SampleSelection Choose(SelectionContext context, double keepRatio) => Rule.Choose(context, keepRatio);

    public void SaveState(BinaryWriter writer)
    {
        if (Rule is IStatefulSelectionRule stateful)
        {
            stateful.SaveState(writer);
        }
    }

    public void LoadState(BinaryReader reader)
    {
        if (Rule is IStatefulSelectionRule stateful)
        {
            stateful.LoadState(reader);
        }
    }

    public override string ToString() => Name;
}
