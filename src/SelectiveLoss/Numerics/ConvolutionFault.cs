using System.Globalization;

namespace SelectiveLoss.Numerics;

/// <summary>One wrong result the numerics self-check found: a float32 convolution (through LibTorch, where oneDNN runs
/// it) that disagreed with the same convolution in float64 (ATen's own kernels, without oneDNN).</summary>
/// <param name="Shape">The convolution, as <c>N x Cin x H x W -> Cout, kernel KxK, stride S, padding P</c>.</param>
/// <param name="Pass">Which result was wrong: <c>forward</c>, <c>backward data</c> (input gradient), <c>backward
/// weights</c> or <c>backward bias</c>.</param>
/// <param name="NonFinite">Whether the result held NaN or infinity.</param>
/// <param name="RelativeError">The largest absolute difference from the float64 reference divided by the reference's
/// largest magnitude; infinity when the result was not finite.</param>
public sealed record ConvolutionFault(string Shape, string Pass, bool NonFinite, double RelativeError)
{
    /// <summary>The fault in one line, for logs and messages.</summary>
    /// <returns>For example <c>backward data of 8x8x8x8 -> 8, kernel 3x3, stride 1, padding 1: not finite</c>.</returns>
    public override string ToString() => NonFinite
        ? $"{Pass} of {Shape}: not finite"
        : string.Create(CultureInfo.InvariantCulture, $"{Pass} of {Shape}: relative error {RelativeError:E1}");
}
