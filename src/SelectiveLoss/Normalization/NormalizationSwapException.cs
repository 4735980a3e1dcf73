using System;
using System.Collections.Generic;
using System.Linq;

namespace SelectiveLoss.Normalization;

/// <summary>
/// Thrown by <see cref="NormalizationSwapper.ReplaceBatchNorm"/> when at least one BatchNorm in the model cannot be
/// replaced so that forward, <c>parameters()</c> and <c>state_dict()</c> all see the replacement. Nothing was changed:
/// the swap validates the whole tree before it touches any module.
/// </summary>
public sealed class NormalizationSwapException : InvalidOperationException
{
    /// <summary>Creates the exception with a generic message and no refusals.</summary>
    public NormalizationSwapException()
        : this("The BatchNorm layers could not be replaced.")
    {
    }

    /// <summary>Creates the exception with a message and no refusals.</summary>
    /// <param name="message">What failed.</param>
    public NormalizationSwapException(string message)
        : base(message)
    {
        Refusals = Array.Empty<SwapRefusal>();
    }

    /// <summary>Creates the exception with a message, an inner exception and no refusals.</summary>
    /// <param name="message">What failed.</param>
    /// <param name="innerException">The cause.</param>
    public NormalizationSwapException(string message, Exception innerException)
        : base(message, innerException)
    {
        Refusals = Array.Empty<SwapRefusal>();
    }

    /// <summary>Creates the exception from the refusals; the message lists every one.</summary>
    /// <param name="refusals">Every BatchNorm that cannot be replaced, with the reason.</param>
    /// <exception cref="ArgumentNullException"><paramref name="refusals"/> is <see langword="null"/>.</exception>
    public NormalizationSwapException(IReadOnlyList<SwapRefusal> refusals)
        : base(Format(refusals))
    {
        Refusals = refusals;
    }

    /// <summary>Gets every BatchNorm that cannot be replaced, with the reason and the fix.</summary>
    public IReadOnlyList<SwapRefusal> Refusals { get; }

    private static string Format(IReadOnlyList<SwapRefusal> refusals)
    {
        ArgumentNullException.ThrowIfNull(refusals);
        return $"{refusals.Count} BatchNorm layer(s) cannot be replaced, so nothing was changed:" + Environment.NewLine +
            string.Join(Environment.NewLine, refusals.Select(r => "  " + r));
    }
}
