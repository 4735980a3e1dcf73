using System;

namespace SelectiveLoss.Selection;

/// <summary>Factory methods for the built-in keep-ratio schedules (use them with <see cref="SelectionRules.Scheduled"/>).</summary>
public static class KeepRatioSchedules
{
    /// <summary>The rule's keep ratio at every epoch.</summary>
    /// <returns>A <see cref="ConstantKeepRatio"/>.</returns>
    public static IKeepRatioSchedule Constant() => new ConstantKeepRatio();

    /// <summary>A linear ramp from 1 to the rule's keep ratio over the first <paramref name="rampEpochs"/> epochs.</summary>
    /// <param name="rampEpochs">The length of the ramp in epochs, at least 1.</param>
    /// <returns>A <see cref="LinearRampKeepRatio"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="rampEpochs"/> is less than 1.</exception>
    public static IKeepRatioSchedule LinearRamp(int rampEpochs) => new LinearRampKeepRatio(rampEpochs);

    internal static void CheckRatio(double ratio, string name)
    {
        if (double.IsNaN(ratio) || ratio <= 0 || ratio > 1)
        {
            throw new ArgumentOutOfRangeException(name, ratio, $"{name} must be in (0, 1]: the share of each batch to keep.");
        }
    }
}
