using System;

namespace SelectiveLoss.Selection;

/// <summary>
/// The co-teaching schedule: keep every sample at epoch 0, then lower the ratio linearly to the rule's keep ratio over
/// the first <see cref="RampEpochs"/> epochs, and keep it there. Keeping everything early lets the network learn the
/// easy, mostly clean patterns before the small-loss selection starts to drop samples (co-teaching ramps to
/// 1 - noise rate over 10 epochs).
/// </summary>
public sealed class LinearRampKeepRatio : IKeepRatioSchedule
{
    /// <summary>Creates the schedule.</summary>
    /// <param name="rampEpochs">How many epochs the ramp takes, at least 1 (co-teaching uses 10).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="rampEpochs"/> is less than 1.</exception>
    public LinearRampKeepRatio(int rampEpochs)
    {
        if (rampEpochs < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(rampEpochs), rampEpochs, "rampEpochs must be at least 1; use KeepRatioSchedules.Constant() for no ramp.");
        }

        RampEpochs = rampEpochs;
    }

    /// <summary>Gets the length of the ramp in epochs.</summary>
    public int RampEpochs { get; }

    /// <inheritdoc/>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="epoch"/> is negative.</exception>
    public double KeepRatioAt(int epoch, double keepRatio)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        return 1.0 - ((1.0 - keepRatio) * Math.Min((double)epoch / RampEpochs, 1.0));
    }

    /// <inheritdoc/>
    public override string ToString() => FormattableString.Invariant($"ramp over {RampEpochs} epochs");
}
