using System;
using System.Globalization;

namespace SelectiveLoss.Tests.Stress;

/// <summary>What one stress loop of <see cref="FinalizerPressure.Run"/> saw.</summary>
/// <param name="Site">The call site, as the measurement table names it.</param>
/// <param name="Calls">Calls made under pressure.</param>
/// <param name="Failures">Calls that threw.</param>
/// <param name="Wrong">Calls that returned but left a wrong state.</param>
/// <param name="Collections">Collections the pressure thread forced meanwhile.</param>
/// <param name="Elapsed">Wall time of the loop.</param>
/// <param name="FirstError">The first failure's exception type and message, or null.</param>
internal sealed record StressOutcome(string Site, long Calls, long Failures, long Wrong, long Collections, TimeSpan Elapsed, string? FirstError)
{
    /// <summary>Gets a value indicating whether any call threw or left a wrong state.</summary>
    public bool Failed => Failures + Wrong > 0;

    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Site}: {Failures} failed, {Wrong} wrong of {Calls} calls in {Elapsed.TotalSeconds:F1} s ({Collections} collections){(FirstError is null ? string.Empty : "; first: " + FirstError)}");
}
