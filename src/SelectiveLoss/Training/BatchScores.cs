using System.Collections.Generic;
using static TorchSharp.torch;

namespace SelectiveLoss.Training;

/// <summary>The scores of a batch as a score source produced them.</summary>
/// <param name="Values">One score per sample (null for a rule that reads none).</param>
/// <param name="Unseen">Positions without a remembered score (last-training-loss scores), kept unranked at weight 1.</param>
/// <param name="ScoredSamples">How many samples a scoring forward pass ran over.</param>
/// <param name="AreFresh">Whether every value is this batch's own loss under the current parameters.</param>
/// <param name="HoldStatistics">Whether a training-mode pass over the whole batch set BatchNorm's running statistics,
/// which the training forward must then leave alone.</param>
internal sealed record BatchScores(Tensor? Values, IReadOnlyList<long>? Unseen, long ScoredSamples, bool AreFresh, bool HoldStatistics)
{
    /// <summary>No scores: the rule reads none.</summary>
    public static BatchScores None { get; } = new(null, null, 0, AreFresh: true, HoldStatistics: false);
}
