using System;

namespace SelectiveLoss.Numerics;

/// <summary>
/// Thrown when LibTorch's float32 convolutions give wrong results on this CPU and no mitigation made them right (or
/// mitigation was turned off): training would produce garbage, so the library refuses to train. The message names the
/// CPU, the wrong results and the workaround: start the process with <c>DNNL_MAX_CPU_ISA=AVX</c> in its environment.
/// </summary>
public sealed class NumericsFaultException : Exception
{
    /// <summary>Creates the exception with a generic message.</summary>
    public NumericsFaultException()
        : base("LibTorch's convolutions give wrong results on this CPU.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What is wrong and the workaround.</param>
    public NumericsFaultException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    /// <param name="message">What is wrong and the workaround.</param>
    /// <param name="innerException">The cause.</param>
    public NumericsFaultException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    internal NumericsFaultException(NumericsCheckResult result)
        : base(MessageFor(result))
    {
        Result = result;
    }

    /// <summary>Gets the check's result, when the exception came from <see cref="NumericsCheck"/>.</summary>
    public NumericsCheckResult? Result { get; }

    private static string MessageFor(NumericsCheckResult result)
    {
        var still = result.FaultsAfterMitigation.Count > 0 ? result.FaultsAfterMitigation : result.Faults;
        string tried = result.Mitigation == NumericsMitigation.None
            ? "No mitigation was applied (" + NumericsCheck.SwitchVariable + "=check, or NumericsCheckOptions.Mitigate is false, or oneDNN cannot be turned off from this process)."
            : "They stayed wrong after " + (result.Mitigation == NumericsMitigation.OneDnnDisabled ? "turning LibTorch's oneDNN off." : "capping oneDNN at AVX.");
        return "LibTorch's float32 convolutions give wrong results on this CPU (" + result.Cpu + "; oneDNN max ISA: " + result.OneDnnMaxIsa +
            "): " + NumericsCheckResult.Describe(still) + ". " + tried + " Training on them would produce garbage. Workaround: start the " +
            "process with DNNL_MAX_CPU_ISA=AVX in its environment (export DNNL_MAX_CPU_ISA=AVX), which keeps oneDNN below its " +
            "AVX2 and AVX-512 kernels; that made the results right on AMD Zen 5 machines. To train anyway, set " +
            NumericsCheck.SwitchVariable + "=off (not advised). See docs/numerics.md.";
    }
}
