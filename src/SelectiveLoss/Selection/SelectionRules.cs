using System;
using SelectiveLoss.Training;

namespace SelectiveLoss.Selection;

/// <summary>The built-in <see cref="ISelectionRule"/>s.</summary>
/// <example>
/// <code>
/// // Co-teaching's small-loss trick: keep everything at first, then the 60% lowest losses from epoch 10 on.
/// ISelectionRule rule = SelectionRules.Scheduled(SelectionRules.Lowest(0.6), KeepRatioSchedules.LinearRamp(10));
/// // InfoBatch: no scoring pass; needs sample ids and the epoch count.
/// using var step = new SelectiveStep(model, optimizer, SelectionRules.InfoBatch(),
///     new SelectiveStepOptions { TotalEpochs = 20 });
/// </code>
/// </example>
public static class SelectionRules
{
    /// <summary>The lowest losses (the original snippet's <c>topk(largest=False)</c>), exactly as
    /// <see cref="SelectiveLossReducer"/> ranks them: keep count <c>max(round(keepRatio * n), 1)</c> with Python's
    /// rounding, ties by position, NaN last.</summary>
    /// <param name="keepRatio">The share of each batch to keep, in (0, 1].</param>
    /// <returns>The rule.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="keepRatio"/> is outside (0, 1].</exception>
    public static IKeepRatioRule Lowest(double keepRatio)
    {
        KeepRatioSchedules.CheckRatio(keepRatio, nameof(keepRatio));
        return new RankedRule(keepRatio, largest: false);
    }

    /// <summary>The highest losses (hard-example mining), ranked as <see cref="SelectiveLossReducer"/> does; NaN is refused.</summary>
    /// <param name="keepRatio">The share of each batch to keep, in (0, 1].</param>
    /// <returns>The rule.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="keepRatio"/> is outside (0, 1].</exception>
    public static IKeepRatioRule Highest(double keepRatio)
    {
        KeepRatioSchedules.CheckRatio(keepRatio, nameof(keepRatio));
        return new RankedRule(keepRatio, largest: true);
    }

    /// <summary>
    /// The control: a uniformly random subset of the same size as <see cref="Lowest"/> keeps, drawn from the step's
    /// generator, with no scoring pass. Compare every loss-based rule with it.
    /// </summary>
    /// <param name="keepRatio">The share of each batch to keep, in (0, 1].</param>
    /// <returns>The rule.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="keepRatio"/> is outside (0, 1].</exception>
    public static IKeepRatioRule Random(double keepRatio)
    {
        KeepRatioSchedules.CheckRatio(keepRatio, nameof(keepRatio));
        return new RandomRule(keepRatio);
    }

    /// <summary>
    /// Selective-Backprop (Jiang et al., 2019): each sample is kept with probability <c>p^beta</c>, where <c>p</c> is the
    /// share of the last <paramref name="historySize"/> scores (this batch's included) at or below its own. With beta 3
    /// about a quarter of the samples are trained, most of them hard. At least one sample is kept. The kept share varies
    /// by batch: set <see cref="SelectiveStepOptions.AccumulateToBatchSize"/> to train full batches, as the paper does.
    /// </summary>
    /// <param name="beta">The selectivity, positive; 3 by default (the paper's 1 to 3).</param>
    /// <param name="historySize">How many recent scores the percentile is taken over, at least 1; 1024 by default.</param>
    /// <returns>The rule; it keeps its history, which <see cref="SelectiveStep.Save"/> checkpoints.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range.</exception>
    public static ISelectionRule SelectiveBackprop(double beta = 3, int historySize = 1024) => new SelectiveBackpropRule(beta, historySize);

    /// <summary>
    /// InfoBatch (Qin et al., ICLR 2024): scores are each sample's loss from its last training forward (no scoring pass;
    /// samples not yet seen are always kept); a random <paramref name="pruneRatio"/> of the samples scoring below the
    /// mean of all remembered scores is pruned, the kept below-mean samples' losses are weighted 1/(1 - pruneRatio) so
    /// the expected gradient is unchanged, and from epoch <c>annealFraction * TotalEpochs</c> on every sample is trained.
    /// Needs <c>sampleIds</c> and <see cref="BatchSelectorOptions.TotalEpochs"/>.
    /// </summary>
    /// <param name="pruneRatio">The share of below-mean samples to prune, in [0, 1); 0.5 by default.</param>
    /// <param name="annealFraction">The share of the epochs that prune, in (0, 1]; 0.875 by default (the last 12.5% of
    /// epochs train on everything).</param>
    /// <returns>The rule.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range.</exception>
    public static ISelectionRule InfoBatch(double pruneRatio = 0.5, double annealFraction = 0.875) => new InfoBatchRule(pruneRatio, annealFraction);

    /// <summary>
    /// A keep-ratio rule whose ratio follows <paramref name="schedule"/> by epoch, towards the rule's own keep ratio
    /// (the one source of the target): for example co-teaching's ramp,
    /// <c>Scheduled(Lowest(1 - noiseRate), KeepRatioSchedules.LinearRamp(10))</c>.
    /// </summary>
    /// <param name="rule">A rule with a keep ratio: <see cref="Lowest"/>, <see cref="Highest"/>, <see cref="Random"/> or your own.</param>
    /// <param name="schedule">The schedule, for example <see cref="KeepRatioSchedules.LinearRamp"/>.</param>
    /// <returns>The scheduled rule. A ratio outside (0, 1] from the schedule is refused at the step, naming the rule.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public static IKeepRatioRule Scheduled(IKeepRatioRule rule, IKeepRatioSchedule schedule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        ArgumentNullException.ThrowIfNull(schedule);
        return new ScheduledRule(rule, schedule);
    }
}
