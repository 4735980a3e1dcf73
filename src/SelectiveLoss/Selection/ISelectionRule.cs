using SelectiveLoss.Training;

namespace SelectiveLoss.Selection;

/// <summary>
/// Decides which samples of a batch a <see cref="SelectiveStep"/> trains on, and with what weight, from their scores.
/// </summary>
/// <remarks>
/// <para>
/// The built-in rules are in <see cref="SelectionRules"/>. A rule is one of three independent choices of a step: where
/// the scores come from (<see cref="ScoreSource"/>), which samples to keep (the rule), and how the update runs
/// (<see cref="StepExecution"/>).
/// </para>
/// <para>
/// A rule returns the kept positions (ascending, distinct, in [0, batch size)) and optionally a non-negative weight per
/// kept sample. The step checks what a rule of your own returns before any parameter changes (one small copy to the
/// host per step); the built-in rules are checked by the library's tests instead. Use
/// <see cref="SelectionContext.Generator"/> for randomness, so that runs are reproducible and resume exactly, and
/// implement <see cref="IStatefulSelectionRule"/> if the rule keeps state between steps.
/// </para>
/// </remarks>
public interface ISelectionRule
{
    /// <summary>Gets a short name for messages and reports, for example <c>lowest(0.6)</c>.</summary>
    string Name { get; }

    /// <summary>Gets a value indicating whether the rule reads scores. A rule that does not (the random control) makes
    /// the step skip scoring altogether.</summary>
    bool UsesScores => true;

    /// <summary>Gets where the step takes scores from when <see cref="BatchSelectorOptions.Scores"/> does not say.</summary>
    ScoreSource DefaultScores => ScoreSource.Fresh;

    /// <summary>Gets a value indicating whether the rule needs <see cref="BatchSelectorOptions.TotalEpochs"/> (for
    /// example, to anneal to full data at the end of training).</summary>
    bool NeedsTotalEpochs => false;

    /// <summary>Chooses the samples to train on.</summary>
    /// <param name="context">The batch's scores, its size, the epoch and step, and the step's random generator.</param>
    /// <returns>The kept positions and their weights.</returns>
    SampleSelection Choose(SelectionContext context);
}
