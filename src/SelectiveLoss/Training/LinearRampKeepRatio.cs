using System;

namespace SelectiveLoss.Training;

/// <summary>
/// The co-teaching schedule: keep every sample at epoch 0, then lower the ratio linearly to <see cref="Target"/> over
/// the first <see cref="RampEpochs"/> epochs, and keep it there. Keeping everything early lets the network learn the
/// easy, mostly clean patterns before the small-loss selection starts to drop samples.
/// </summary>
public sealed class LinearRampKeepRatio : IKeepRatioSchedule
{
    /// <summary>Creates the schedule.</summary>
    /// <param name="target">The ratio reached after the ramp, in (0, 1]; with label noise rate ε, co-teaching uses 1 - ε.</param>
    /// <param name="rampEpochs">How many epochs the ramp takes, at least 1 (co-teaching uses 10).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="target"/> is outside (0, 1] or
    /// <paramref name="rampEpochs"/> is less than 1.</exception>
    public LinearRampKeepRatio(double target, int rampEpochs)
    {
        KeepRatioSchedules.CheckRatio(target, nameof(target));
        if (rampEpochs < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(rampEpochs), rampEpochs, "rampEpochs must be at least 1; use ConstantKeepRatio for no ramp.");
        }

        Target = target;
        RampEpochs = rampEpochs;
    }

    /// <summary>The ratio after the ramp.</summary>
    public double Target { get; }

    /// <summary>The length of the ramp in epochs.</summary>
    public int RampEpochs { get; }

    /// <inheritdoc/>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="epoch"/> is negative.</exception>
    public double KeepRatioAt(int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        return 1.0 - ((1.0 - Target) * Math.Min((double)epoch / RampEpochs, 1.0));
    }

    /// <inheritdoc/>
    public override string ToString() => FormattableString.Invariant($"linear ramp 1 -> {Target} over {RampEpochs} epochs");
}
