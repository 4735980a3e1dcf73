using System;

namespace SelectiveLoss.Training;

/// <summary>Factory methods for the built-in keep-ratio schedules.</summary>
public static class KeepRatioSchedules
{
    /// <summary>The same ratio at every epoch.</summary>
    /// <param name="keepRatio">The ratio, in (0, 1].</param>
    /// <returns>A <see cref="ConstantKeepRatio"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="keepRatio"/> is outside (0, 1].</exception>
    public static IKeepRatioSchedule Constant(double keepRatio) => new ConstantKeepRatio(keepRatio);

    /// <summary>A linear ramp from 1 to <paramref name="target"/> over the first <paramref name="rampEpochs"/> epochs.</summary>
    /// <param name="target">The ratio after the ramp, in (0, 1].</param>
    /// <param name="rampEpochs">The length of the ramp in epochs, at least 1.</param>
    /// <returns>A <see cref="LinearRampKeepRatio"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range.</exception>
    public static IKeepRatioSchedule LinearRamp(double target, int rampEpochs) => new LinearRampKeepRatio(target, rampEpochs);

    internal static void CheckRatio(double ratio, string name)
    {
        if (double.IsNaN(ratio) || ratio <= 0 || ratio > 1)
        {
            throw new ArgumentOutOfRangeException(name, ratio, $"{name} must be in (0, 1]: the share of each batch to keep.");
        }
    }
}
