using System;
using System.Diagnostics;
using SelectiveLoss.Native;

namespace SelectiveLoss.Numerics;

/// <summary>
/// A numerics self-check: are LibTorch's float32 convolutions right on this CPU? On AMD Zen 5 machines LibTorch 2.10's
/// oneDNN convolutions were seen to return NaN gradients for small channel counts (docs/numerics.md), and a model then
/// trains to NaN. The check runs 120 small convolutions forward and backward against a float64 reference (about a
/// tenth of a second) and, where they are wrong, applies the narrowest mitigation that works in the running process:
/// it turns LibTorch's use of oneDNN off (convolutions then run on ATen's own kernels, right but slower), checks again,
/// says so once on standard error, and remembers the fault so that later processes cap oneDNN at AVX before its first
/// use instead (cheaper, but only possible before oneDNN first runs). If the convolutions are still wrong, training is
/// refused with a <see cref="NumericsFaultException"/> that names the CPU, the fault and the workaround.
/// </summary>
/// <remarks>
/// <see cref="Training.SelectiveStep"/>, <see cref="Training.BatchSelector"/>, <see cref="Normalization.BatchCoupling"/>
/// and <see cref="Selection.InfoBatchSampler"/> call <see cref="EnsureChecked"/> before the first step they drive; a loop of
/// your own that trains without them should call it once before training. The environment variable
/// <see cref="SwitchVariable"/> turns it off (<c>off</c>) or makes a fault an error without mitigation (<c>check</c>).
/// </remarks>
/// <example>
/// <code>
/// NumericsCheckResult? check = NumericsCheck.EnsureChecked();   // once per process; throws if training would be garbage
/// Console.WriteLine($"numerics: {check}");
/// </code>
/// </example>
public static class NumericsCheck
{
    /// <summary>The environment variable that turns the check off (<c>off</c>), or makes a fault an error without
    /// mitigation (<c>check</c>); unset or <c>on</c> checks and mitigates.</summary>
    public const string SwitchVariable = "SELECTIVELOSS_NUMERICS_CHECK";

    private static readonly object Gate = new();
    private static volatile bool ensured;

    /// <summary>Gets the result of the last check in this process, or null when none ran.</summary>
    public static NumericsCheckResult? Last { get; private set; }

    /// <summary>Gets or sets the convolutions the process-wide check probes and mitigates (tests inject faulty ones).</summary>
    internal static IConvolutionBackend Backend { get; set; } = LibTorchConvolutions.Instance;

    /// <summary>Gets or sets where the process-wide check remembers faults (tests use a temporary folder).</summary>
    internal static Func<FaultMemory> Memory { get; set; } = FaultMemory.Default;

    /// <summary>
    /// Runs the check once per process, as the library's own steps do before their first step, following
    /// <see cref="SwitchVariable"/>; later calls return the first result (and throw again if it failed).
    /// </summary>
    /// <returns>The result, or null when <see cref="SwitchVariable"/> is <c>off</c>.</returns>
    /// <exception cref="NumericsFaultException">The convolutions are wrong and no mitigation made them right.</exception>
    /// <exception cref="InvalidOperationException"><see cref="SwitchVariable"/> holds a value other than on, check or off.</exception>
    /// <exception cref="TorchSharpLoadException">TorchSharp cannot be loaded.</exception>
    public static NumericsCheckResult? EnsureChecked()
    {
        NumericsSwitch mode = NumericsSwitches.Current();
        if (mode == NumericsSwitch.Off)
        {
            return Last;
        }

        if (!ensured)
        {
            lock (Gate)
            {
                if (!ensured)
                {
                    TorchRuntime.EnsureLoaded();
                    Last = Check(new NumericsCheckOptions { Mitigate = mode == NumericsSwitch.On }, Backend, Memory());
                    ensured = true;
                }
            }
        }

        Last?.ThrowIfFailed();
        return Last;
    }

    /// <summary>Runs the check now, whatever <see cref="SwitchVariable"/> says, and makes its result the one
    /// <see cref="EnsureChecked"/> returns from then on.</summary>
    /// <param name="options">Repeats, tolerance, whether to mitigate, where notices go; null for the defaults.</param>
    /// <returns>What the check found and did; see <see cref="NumericsCheckResult.Passed"/> and
    /// <see cref="NumericsCheckResult.ThrowIfFailed"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    /// <exception cref="TorchSharpLoadException">TorchSharp cannot be loaded.</exception>
    public static NumericsCheckResult Run(NumericsCheckOptions? options = null)
    {
        options ??= new NumericsCheckOptions();
        options.Validate();
        TorchRuntime.EnsureLoaded();
        lock (Gate)
        {
            Last = Check(options, Backend, Memory());
            ensured = true;
            return Last;
        }
    }

    /// <summary>
    /// Runs the check again now, following <see cref="SwitchVariable"/> as <see cref="EnsureChecked"/> does, and never
    /// throws for a fault: for a loss or gradient that came out NaN, to tell whether the CPU is the cause. The fault seen
    /// on AMD Zen 5 came and went from call to call, so a check that passed can have missed it; this one mitigates what
    /// it finds, and its result becomes <see cref="Last"/>. <see cref="Training.SelectiveStep"/> and
    /// <see cref="Training.BatchSelector"/> call it before they throw <see cref="Training.NonFiniteLossException"/>.
    /// </summary>
    /// <returns>The result, or null when <see cref="SwitchVariable"/> is <c>off</c>.</returns>
    /// <exception cref="InvalidOperationException"><see cref="SwitchVariable"/> holds a value other than on, check or off.</exception>
    /// <exception cref="TorchSharpLoadException">TorchSharp cannot be loaded.</exception>
    public static NumericsCheckResult? Recheck()
    {
        NumericsSwitch mode = NumericsSwitches.Current();
        if (mode == NumericsSwitch.Off)
        {
            return null;
        }

        TorchRuntime.EnsureLoaded();
        lock (Gate)
        {
            Last = Check(new NumericsCheckOptions { Mitigate = mode == NumericsSwitch.On }, Backend, Memory());
            ensured = true;
            return Last;
        }
    }

    /// <summary>The check itself, on any convolution backend and fault memory (tests inject faulty ones).</summary>
    internal static NumericsCheckResult Check(NumericsCheckOptions options, IConvolutionBackend backend, FaultMemory memory)
    {
        options.Validate();
        var clock = Stopwatch.StartNew();
        string cpu = CpuInfo.Describe();
        string isa = OneDnnIsaCap.Describe();
        var (faults, convolutions) = ConvolutionProbe.Run(backend, options.Repeats, options.Tolerance);
        NumericsCheckResult result;
        if (faults.Count == 0)
        {
            var mitigation = !backend.OneDnnEnabled ? NumericsMitigation.OneDnnDisabled
                : OneDnnIsaCap.AppliedFrom is not null ? NumericsMitigation.OneDnnCappedAtAvx : NumericsMitigation.None;
            result = new NumericsCheckResult(faults, faults, mitigation, cpu, isa, convolutions, clock.Elapsed);
            if (mitigation == NumericsMitigation.OneDnnCappedAtAvx)
            {
                options.Notices?.WriteLine($"SelectiveLoss: oneDNN is capped at AVX in this process, because an earlier process on this CPU found its convolutions wrong at the full instruction set ({OneDnnIsaCap.AppliedFrom}; delete that file to check the full instruction set again). The check passed: {result}.");
            }

            return result;
        }

        if (!options.Mitigate || !backend.CanDisableOneDnn || !backend.OneDnnEnabled)
        {
            return new NumericsCheckResult(faults, faults, NumericsMitigation.None, cpu, isa, convolutions, clock.Elapsed);
        }

        backend.DisableOneDnn();
        var (after, more) = ConvolutionProbe.Run(backend, options.Repeats, options.Tolerance);
        result = new NumericsCheckResult(faults, after, NumericsMitigation.OneDnnDisabled, cpu, isa, convolutions + more, clock.Elapsed);
        if (result.Passed)
        {
            string? error = OneDnnIsaCap.AppliedFrom is null ? memory.Remember(result.ToString()) : null;
            options.Notices?.WriteLine(Notice(result, memory, error));
        }

        return result;
    }

    private static string Notice(NumericsCheckResult result, FaultMemory memory, string? memoryError)
    {
        string later = OneDnnIsaCap.AppliedFrom is not null
            ? "oneDNN was already capped at AVX (remembered from an earlier process), and that was not enough: later processes will find the same and turn it off too."
            : memoryError is null
                ? $"Remembered in {memory.Path}: later processes on this CPU cap oneDNN at AVX before its first use instead (about 1.8x a step there)."
                : $"Could not remember it ({memoryError}); start later processes with DNNL_MAX_CPU_ISA=AVX (about 1.8x a step there).";
        return "SelectiveLoss: LibTorch's float32 convolutions gave wrong results on this CPU (" + result.Cpu + "; oneDNN max ISA: " +
            result.OneDnnMaxIsa + "): " + NumericsCheckResult.Describe(result.Faults) + ". Turned LibTorch's oneDNN off for this process: " +
            "the same convolutions are now right, on ATen's own kernels, which are slower (measured on a 2-core AMD Zen 5: 2.9x a " +
            "DenseNet-121 training step, 5.2x the trainer's small DenseNet; docs/numerics.md). " + later + " Set " + SwitchVariable + "=off to skip the check.";
    }
}
