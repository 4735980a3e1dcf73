using System.Runtime.CompilerServices;
using SelectiveLoss.Numerics;

namespace Cifar100Training.Tests;

/// <summary>
/// Runs the library's numerics check once, before any test, as README tells every loop of its own to do: on a CPU whose
/// oneDNN convolutions are wrong (AMD Zen 5, docs/numerics.md) it applies the mitigation before a test trains, and on one
/// where nothing mitigates it makes every test fail with the check's message rather than with NaN.
/// </summary>
internal static class NumericsFirst
{
    [ModuleInitializer]
    internal static void Check() => NumericsCheck.EnsureChecked();
}
