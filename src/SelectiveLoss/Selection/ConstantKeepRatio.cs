using System;

namespace SelectiveLoss.Selection;

/// <summary>The rule's own keep ratio at every epoch.</summary>
public sealed class ConstantKeepRatio : IKeepRatioSchedule
{
    /// <inheritdoc/>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="epoch"/> is negative.</exception>
    public double KeepRatioAt(int epoch, double keepRatio)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        return keepRatio;
    }

    /// <inheritdoc/>
    public override string ToString() => "constant";
}
