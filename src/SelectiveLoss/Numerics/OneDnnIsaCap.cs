namespace SelectiveLoss.Numerics;

/// <summary>
/// Caps oneDNN's instruction set at AVX through the native environment, where an earlier process on this CPU found
/// oneDNN's convolutions wrong. oneDNN reads <c>DNNL_MAX_CPU_ISA</c> once, at its first use in the process (a matmul or
/// a Linear layer is enough), so this is tried once, as early as the library runs: when TorchSharp is loaded through
/// it and at the start of every check. Never when the user set the variable, or turned the check off.
/// </summary>
internal static class OneDnnIsaCap
{
    public const string Variable = "DNNL_MAX_CPU_ISA";
    public const string NewVariable = "ONEDNN_MAX_CPU_ISA";
    public const string Value = "AVX";

    private static readonly object Gate = new();
    private static bool attempted;

    /// <summary>Gets the memory file the cap was applied from, or null when the library did not cap oneDNN.</summary>
    public static string? AppliedFrom { get; private set; }

    /// <summary>Applies the cap once per process when <paramref name="memory"/> remembers a fault; later calls do nothing.</summary>
    public static void ApplyRemembered(FaultMemory memory)
    {
        lock (Gate)
        {
            if (attempted)
            {
                return;
            }

            attempted = true;
            if (SwitchedOff() || UserValue() is not null || !memory.Remembers())
            {
                return;
            }

            if (NativeEnvironment.Set(Variable, Value))
            {
                AppliedFrom = memory.Path;
            }
        }
    }

    /// <summary>The cap oneDNN was asked for, and by whom: <c>default</c>, <c>AVX (set by SelectiveLoss ...)</c> or
    /// <c>VALUE (set in the environment)</c>.</summary>
    public static string Describe() => AppliedFrom is { } from
        ? $"{Value} (set by SelectiveLoss, remembered in {from})"
        : UserValue() is { } value ? $"{value} (set in the environment)" : "default";

    private static bool SwitchedOff()
    {
        try
        {
            return NumericsSwitches.Current() == NumericsSwitch.Off;
        }
        catch (System.InvalidOperationException)
        {
            return true; // a value the check itself will refuse, with its message
        }
    }

    private static string? UserValue() => AppliedFrom is null
        ? NativeEnvironment.Get(NewVariable) is { Length: > 0 } v ? v : NativeEnvironment.Get(Variable) is { Length: > 0 } w ? w : null
        : null;
}
