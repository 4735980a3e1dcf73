using System;
using TorchSharp;
using static TorchSharp.torch;

namespace SelectiveLoss.Selection;

/// <summary>
/// Keeps a fixed share of a minibatch by per-sample loss and reduces the kept losses to one scalar: the C# form of
/// <c>r = max(round(keep_ratio * n), 1); loss = topk(loss, r, largest=False).mean()</c>, with deterministic ties and a
/// defined treatment of NaN.
/// </summary>
/// <remarks>
/// <para>
/// Backpropagating <see cref="Reduce"/> through a full-batch graph gives the dropped samples a gradient of exactly
/// zero, but it does not make training cheaper: the backward pass still runs over every sample, computing zeros. To
/// turn selection into speed, score the batch without gradients, pick with <see cref="SelectIndices"/>, and run
/// forward and backward on the kept samples only (the <c>Rebatched</c> strategy of the training step does this).
/// That is exact only when the model does not couple samples, which BatchNorm in training mode does.
/// </para>
/// <para>
/// Ranking: samples are ordered by loss with a stable sort, so equal losses are ranked by position (earlier first),
/// the same on every run and every device. Keeping the lowest losses (<c>largest: false</c>, as the snippet), NaN ranks
/// after every number, including +∞, so a NaN is kept only when there are fewer than <c>k</c> non-NaN losses.
/// </para>
/// <para>The same selection as a rule of a training step: <see cref="SelectionRules.Lowest"/> and
/// <see cref="SelectionRules.Highest"/>.</para>
/// </remarks>
/// <example>
/// <code>
/// var reducer = new SelectiveLossReducer(keepRatio: 0.6);
/// using var perSample = nn.functional.cross_entropy(logits, labels, reduction: nn.Reduction.None);
/// using var loss = reducer.Reduce(perSample);   // mean over the 60% lowest losses
/// loss.backward();
/// </code>
/// </example>
public sealed class SelectiveLossReducer
{
    /// <summary>Creates a reducer.</summary>
    /// <param name="keepRatio">The share of the batch to keep, in (0, 1]. The kept count is
    /// <c>max(round(keepRatio * n), 1)</c> with Python's rounding (half to even).</param>
    /// <param name="largest">As <c>torch.topk</c>'s <c>largest</c>: false (the default, as the original snippet) keeps
    /// the lowest losses (the small-loss trick against noisy labels), true the highest (hard-example mining; a NaN loss
    /// is then refused, since it would be kept first and poison the step).</param>
    /// <param name="reduction">Mean (default) or sum over the kept samples.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="keepRatio"/> is NaN or outside (0, 1], or
    /// <paramref name="reduction"/> is not a defined value.</exception>
    public SelectiveLossReducer(double keepRatio = 0.6, bool largest = false, LossReduction reduction = LossReduction.Mean)
    {
        if (double.IsNaN(keepRatio) || keepRatio <= 0 || keepRatio > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(keepRatio), keepRatio,
                "keepRatio must be in (0, 1]: the share of each batch to keep, e.g. 0.6 keeps 60%. Use 1 to keep every sample.");
        }

        if (reduction is not (LossReduction.Mean or LossReduction.Sum))
        {
            throw new ArgumentOutOfRangeException(nameof(reduction), reduction, "reduction must be LossReduction.Mean or LossReduction.Sum.");
        }

        KeepRatio = keepRatio;
        Largest = largest;
        Reduction = reduction;
    }

    /// <summary>The share of each batch that is kept, in (0, 1].</summary>
    public double KeepRatio { get; }

    /// <summary>Gets a value indicating whether the highest losses are kept (<c>torch.topk</c>'s <c>largest</c>); false
    /// keeps the lowest.</summary>
    public bool Largest { get; }

    /// <summary>How the kept losses are folded into one scalar.</summary>
    public LossReduction Reduction { get; }

    /// <summary>
    /// The number of samples kept from a batch of <paramref name="batchSize"/>: <c>max(round(KeepRatio * n), 1)</c>,
    /// where round is Python 3's (half to even, on the double product), so it matches the original PyTorch snippet
    /// for every ratio and batch size.
    /// </summary>
    /// <param name="batchSize">The number of samples in the batch, at least 1.</param>
    /// <returns>A count in [1, <paramref name="batchSize"/>].</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batchSize"/> is less than 1.</exception>
    public int KeepCount(long batchSize)
    {
        return KeepCount(KeepRatio, batchSize);
    }

    /// <summary>
    /// The positions of the kept samples, ascending, as an int64 tensor on the loss's device.
    /// </summary>
    /// <param name="perSampleLoss">A 1-D floating-point tensor with one loss per sample. It is not modified, and no
    /// gradient flows through the selection.</param>
    /// <returns>A new 1-D int64 tensor of <see cref="KeepCount(long)"/> positions in ascending order.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="perSampleLoss"/> is null.</exception>
    /// <exception cref="ArgumentException">The loss is not 1-D, is empty, is not floating point, or (with
    /// <see cref="Largest"/>) contains NaN.</exception>
    public Tensor SelectIndices(Tensor perSampleLoss)
    {
        Validate(perSampleLoss);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Tensor loss = perSampleLoss.detach();
        int k = KeepCount(loss.shape[0]);
        if (Largest && loss.isnan().any().item<bool>())
        {
            throw new ArgumentException(
                "perSampleLoss contains NaN, and keeping the largest losses would keep it first and poison the step. " +
                "Find where the loss becomes NaN (learning rate, log of zero), or keep the lowest losses (largest: false), which ranks NaN last.",
                nameof(perSampleLoss));
        }

        // A stable sort ranks equal losses by position; ascending order puts NaN after +inf, so Lowest keeps it last.
        var (_, order) = loss.sort(dim: 0, descending: Largest, stable: true);
        var (kept, _) = order.narrow(0, 0, k).sort(dim: 0, descending: false, stable: true);
        return kept.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The mean (or sum) of the kept samples' losses, as a differentiable scalar: its gradient with respect to
    /// <paramref name="perSampleLoss"/> is 1/k (mean) or 1 (sum) on kept samples and exactly 0 on the others.
    /// </summary>
    /// <param name="perSampleLoss">A 1-D floating-point tensor with one loss per sample; any float dtype, any device.
    /// It is not modified.</param>
    /// <returns>A 0-D tensor of the loss's dtype on the loss's device.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="perSampleLoss"/> is null.</exception>
    /// <exception cref="ArgumentException">The loss is not 1-D, is empty, is not floating point, or (with
    /// <see cref="Largest"/>) contains NaN.</exception>
    public Tensor Reduce(Tensor perSampleLoss)
    {
        using var scope = NewDisposeScope();
        Tensor indices = SelectIndices(perSampleLoss);
        Tensor kept = perSampleLoss.index_select(0, indices);
        Tensor reduced = Reduction == LossReduction.Mean ? kept.mean() : kept.sum();
        return reduced.MoveToOuterDisposeScope();
    }

    /// <inheritdoc/>
    public override string ToString()
    {
        return FormattableString.Invariant($"SelectiveLossReducer(keepRatio: {KeepRatio}, largest: {(Largest ? "true" : "false")}, reduction: {Reduction})");
    }

    internal static int KeepCount(double keepRatio, long batchSize)
    {
        if (batchSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize,
                "batchSize must be at least 1: an empty batch has nothing to keep.");
        }

        double kept = Math.Max(Math.Round(keepRatio * batchSize, MidpointRounding.ToEven), 1);
        return kept > int.MaxValue
            ? throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "The kept count must fit in an int.")
            : (int)Math.Min(kept, batchSize);
    }

    private static void Validate(Tensor perSampleLoss)
    {
        ArgumentNullException.ThrowIfNull(perSampleLoss);
        if (perSampleLoss.dim() != 1)
        {
            throw new ArgumentException(
                $"perSampleLoss must be 1-D with one loss per sample, but has shape [{string.Join(", ", perSampleLoss.shape)}]. " +
                "Compute the loss with reduction: Reduction.None, and average any extra dimensions per sample first.",
                nameof(perSampleLoss));
        }

        if (perSampleLoss.shape[0] == 0)
        {
            throw new ArgumentException("perSampleLoss is empty (shape [0]): a batch needs at least one sample.", nameof(perSampleLoss));
        }

        if (!perSampleLoss.is_floating_point())
        {
            throw new ArgumentException(
                $"perSampleLoss must be floating point, but its dtype is {perSampleLoss.dtype}. Convert it with .to(ScalarType.Float32).",
                nameof(perSampleLoss));
        }
    }
}
