using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace SelectiveLoss.Numerics;

/// <summary>What <see cref="NumericsCheck"/> found and did.</summary>
public sealed class NumericsCheckResult
{
    internal NumericsCheckResult(IReadOnlyList<ConvolutionFault> faults, IReadOnlyList<ConvolutionFault> faultsAfterMitigation,
        NumericsMitigation mitigation, string cpu, string oneDnnMaxIsa, int convolutions, TimeSpan elapsed)
    {
        Faults = faults;
        FaultsAfterMitigation = faultsAfterMitigation;
        Mitigation = mitigation;
        Cpu = cpu;
        OneDnnMaxIsa = oneDnnMaxIsa;
        Convolutions = convolutions;
        Elapsed = elapsed;
    }

    /// <summary>Gets a value indicating whether the convolutions are right now (after the mitigation, if one was applied).</summary>
    public bool Passed => FaultsAfterMitigation.Count == 0;

    /// <summary>Gets the wrong results found before any mitigation of this check (empty when the convolutions were right).</summary>
    public IReadOnlyList<ConvolutionFault> Faults { get; }

    /// <summary>Gets the wrong results that remain: after the mitigation when one was applied, else <see cref="Faults"/>
    /// (empty when the convolutions are right).</summary>
    public IReadOnlyList<ConvolutionFault> FaultsAfterMitigation { get; }

    /// <summary>Gets what was done so that the convolutions are right.</summary>
    public NumericsMitigation Mitigation { get; }

    /// <summary>Gets the processor, as the operating system names it (model, family, model number, stepping).</summary>
    public string Cpu { get; }

    /// <summary>Gets the highest instruction set oneDNN was asked to use when the check ran: <c>default</c>, or the value
    /// of <c>DNNL_MAX_CPU_ISA</c> and who set it.</summary>
    public string OneDnnMaxIsa { get; }

    /// <summary>Gets how many convolutions (each with its input, weight and bias gradients) were compared.</summary>
    public int Convolutions { get; }

    /// <summary>Gets how long the check took.</summary>
    public TimeSpan Elapsed { get; }

    /// <summary>Throws <see cref="NumericsFaultException"/> unless <see cref="Passed"/>.</summary>
    /// <exception cref="NumericsFaultException">The convolutions are still wrong; the message names the CPU, the fault
    /// and the workaround.</exception>
    public void ThrowIfFailed()
    {
        if (!Passed)
        {
            throw new NumericsFaultException(this);
        }
    }

    /// <summary>The result in one line, for logs.</summary>
    /// <returns>For example <c>passed (120 convolutions in 60 ms; CPU: ...; oneDNN max ISA: default)</c>.</returns>
    public override string ToString()
    {
        string where = string.Create(CultureInfo.InvariantCulture,
            $"{Convolutions} convolutions in {Elapsed.TotalMilliseconds:0} ms; CPU: {Cpu}; oneDNN max ISA: {OneDnnMaxIsa}");
        string found = Faults.Count == 0 ? string.Empty : $"; found {Faults.Count} wrong: {Describe(Faults)}";
        return Mitigation switch
        {
            NumericsMitigation.None when Passed => $"passed ({where})",
            NumericsMitigation.None => $"FAILED ({where}{found})",
            NumericsMitigation.OneDnnCappedAtAvx when Passed => $"passed with oneDNN capped at AVX, as remembered from an earlier process ({where})",
            NumericsMitigation.OneDnnDisabled when Passed => $"passed after turning oneDNN off ({where}{found})",
            _ => $"FAILED after {Mitigation} ({where}{found}; still wrong: {Describe(FaultsAfterMitigation)})",
        };
    }

    internal static string Describe(IReadOnlyList<ConvolutionFault> faults) =>
        string.Join("; ", faults.Take(3).Select(f => f.ToString())) + (faults.Count > 3 ? $"; and {faults.Count - 3} more" : string.Empty);
}
