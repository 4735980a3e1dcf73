using System;
using System.IO;

namespace SelectiveLoss.Numerics;

/// <summary>Options of <see cref="NumericsCheck.Run(NumericsCheckOptions?)"/>.</summary>
public sealed record NumericsCheckOptions
{
    /// <summary>Gets a value indicating whether a failed check applies the mitigation (turns LibTorch's use of oneDNN off
    /// for the process, and remembers the fault so that later processes cap oneDNN at AVX before its first use) and checks
    /// again. Default true; false only reports.</summary>
    public bool Mitigate { get; init; } = true;

    /// <summary>Gets how often each probe convolution runs, with fresh inputs each time. Default 24: 120 convolutions and
    /// their gradients, about a tenth of a second. The fault seen on AMD Zen 5 came and went from call to call (about 6 %
    /// of calls), and 120 calls miss such a fault once in about 1,700 checks, where 40 would miss it once in 12.</summary>
    public int Repeats { get; init; } = 24;

    /// <summary>Gets the largest relative error a float32 result may have against the float64 reference. Default 1e-4
    /// (right results differ by about 1e-6).</summary>
    public double Tolerance { get; init; } = 1e-4;

    /// <summary>Gets where the one notice goes when the check applies a mitigation or finds a fault; null for none.
    /// Default: standard error.</summary>
    public TextWriter? Notices { get; init; } = Console.Error;

    internal void Validate()
    {
        if (Repeats < 1 || Repeats > 1000)
        {
            throw new ArgumentOutOfRangeException(nameof(Repeats), Repeats, "Repeats must be between 1 and 1000.");
        }

        if (!(Tolerance > 0) || double.IsInfinity(Tolerance))
        {
            throw new ArgumentOutOfRangeException(nameof(Tolerance), Tolerance, "Tolerance must be a positive, finite number (for example 1e-4).");
        }
    }
}
