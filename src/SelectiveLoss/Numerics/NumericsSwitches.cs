using System;

namespace SelectiveLoss.Numerics;

/// <summary>Reads <see cref="NumericsCheck.SwitchVariable"/>.</summary>
internal static class NumericsSwitches
{
    public static NumericsSwitch Read(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or "on" or "true" or "1" => NumericsSwitch.On,
        "check" => NumericsSwitch.CheckOnly,
        "off" or "false" or "0" => NumericsSwitch.Off,
        _ => throw new InvalidOperationException(
            $"{NumericsCheck.SwitchVariable}='{value}' is not understood. Use on (the default: check, and mitigate a fault), " +
            "check (check, and refuse to train on a fault) or off (no check)."),
    };

    public static NumericsSwitch Current() => Read(Environment.GetEnvironmentVariable(NumericsCheck.SwitchVariable));
}
