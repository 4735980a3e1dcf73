using System;

namespace SelectiveLoss.Training;

/// <summary>The same keep ratio at every epoch.</summary>
public sealed class ConstantKeepRatio : IKeepRatioSchedule
{
    /// <summary>Creates the schedule.</summary>
    /// <param name="keepRatio">The ratio, in (0, 1].</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="keepRatio"/> is NaN or outside (0, 1].</exception>
    public ConstantKeepRatio(double keepRatio)
    {
        KeepRatioSchedules.CheckRatio(keepRatio, nameof(keepRatio));
        KeepRatio = keepRatio;
    }

    /// <summary>The ratio kept at every epoch.</summary>
    public double KeepRatio { get; }

    /// <inheritdoc/>
    public double KeepRatioAt(int epoch) => KeepRatio;

    /// <inheritdoc/>
    public override string ToString() => FormattableString.Invariant($"constant {KeepRatio}");
}
