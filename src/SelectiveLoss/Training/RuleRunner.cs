using System;
using System.Collections.Generic;
using System.Linq;
using SelectiveLoss.Internal;
using SelectiveLoss.Selection;
using TorchSharp;
using static TorchSharp.torch;

namespace SelectiveLoss.Training;

/// <summary>
/// Runs a rule on a batch's scores: unseen samples (no remembered score yet) are kept unranked at weight 1 and the rule
/// chooses among the others; a rule of your own has its output checked before anything trains.
/// </summary>
internal sealed class RuleRunner(ISelectionRule rule, bool allowEmpty)
{
    private readonly bool trusted = IsTrusted(rule);

    public ISelectionRule Rule { get; } = rule;

    /// <exception cref="InvalidOperationException">A custom rule returned an invalid selection, or a schedule a ratio
    /// outside (0, 1].</exception>
    public SampleSelection Run(BatchScores scored, long n, Device device, int epoch, int? totalEpochs, long step, double? scoreMean, Generator generator)
    {
        if (scored.Unseen is not { Count: > 0 } unseen)
        {
            return Checked(Rule.Choose(new SelectionContext(scored.Values, n, epoch, totalEpochs, generator, device, step, scoreMean)), n);
        }

        if (unseen.Count == n)
        {
            return new SampleSelection(HeldScalars.Arange(0, n, device), null, null);
        }

        var unseenSet = new HashSet<long>(unseen);
        long[] seen = Enumerable.Range(0, (int)n).Select(i => (long)i).Where(i => !unseenSet.Contains(i)).ToArray();
        Tensor seenPositions = tensor(seen).On(device);
        Tensor seenScores = scored.Values!.index_select(0, seenPositions);
        SampleSelection inner = Checked(Rule.Choose(new SelectionContext(seenScores, seen.Length, epoch, totalEpochs, generator, device, step, scoreMean)), seen.Length);

        Tensor keptSeen = seenPositions.index_select(0, inner.Kept);
        Tensor mask = zeros(n, ScalarType.Bool, device);
        using Scalar keep = true.ToScalar(); // held, not implicit: see HeldScalars
        mask.index_fill_(0, keptSeen, keep);
        mask.index_fill_(0, tensor(unseen.ToArray()).On(device), keep);
        Tensor kept = mask.nonzero().squeeze(1);
        Tensor? weights = null;
        if (inner.Weights is not null)
        {
            Tensor all = ones(n, inner.Weights.dtype, device);
            all.index_copy_(0, keptSeen, inner.Weights);
            weights = all.index_select(0, kept);
        }

        return new SampleSelection(kept, weights, null);
    }

    private static bool IsTrusted(ISelectionRule rule) => rule switch
    {
        ScheduledRule scheduled => IsTrusted(scheduled.Rule),
        IBuiltInRule => true,
        _ => false,
    };

    /// <summary>Checks a custom rule's output before any parameter changes (built-in rules are proven by tests).</summary>
    private SampleSelection Checked(SampleSelection selection, long n)
    {
        if (trusted)
        {
            return selection;
        }

        string Refuse(string problem) =>
            $"Rule {Rule.Name} returned {problem} for a batch of {n}. A rule must return distinct positions in [0, {n}), " +
            "ascending, at least one, and a non-negative finite weight per kept sample. No parameter was changed.";

        Tensor kept = selection?.Kept ?? throw new InvalidOperationException(Refuse("no positions (null)"));
        if (kept.dim() != 1 || kept.dtype != ScalarType.Int64)
        {
            throw new InvalidOperationException(Refuse($"positions of shape [{string.Join(", ", kept.shape)}] and dtype {kept.dtype} (need 1-D int64)"));
        }

        long[] positions = BatchChecks.ToArray(kept);
        if (positions.Length == 0 && !allowEmpty)
        {
            throw new InvalidOperationException(Refuse("no positions"));
        }

        for (int i = 0; i < positions.Length; i++)
        {
            if (positions[i] < 0 || positions[i] >= n)
            {
                throw new InvalidOperationException(Refuse($"position {positions[i]}, out of range"));
            }

            if (i > 0 && positions[i] <= positions[i - 1])
            {
                throw new InvalidOperationException(Refuse(positions[i] == positions[i - 1] ? $"position {positions[i]} twice" : "positions out of order"));
            }
        }

        if (selection.Weights is { } weights)
        {
            if (weights.dim() != 1 || weights.shape[0] != positions.Length || !weights.is_floating_point())
            {
                throw new InvalidOperationException(Refuse($"weights of shape [{string.Join(", ", weights.shape)}] and dtype {weights.dtype} (need 1-D floating point, one per position)"));
            }

            using var scope = NewDisposeScope();
            foreach (double w in weights.to(ScalarType.Float64).cpu().data<double>().ToArray())
            {
                if (!double.IsFinite(w) || w < 0)
                {
                    throw new InvalidOperationException(Refuse($"weight {w}"));
                }
            }
        }

        return selection;
    }
}
