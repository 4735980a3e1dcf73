using System;
using System.Collections.Generic;
using System.Linq;
using static TorchSharp.torch;

namespace SelectiveLoss.Numerics;

/// <summary>
/// Runs float32 convolutions forward and backward and compares the output and the input, weight and bias gradients
/// with the same convolution in float64, which ATen computes with its own kernels (oneDNN takes float32 only). The
/// shapes are those of the small DenseNet that trained to NaN on AMD Zen 5 (docs/numerics.md): few channels, 3x3 and
/// 1x1 kernels. Inputs come from a private generator, so the caller's random state is untouched, and live on the CPU
/// in float32 whatever the caller's default dtype or device: it is the CPU's convolutions that are checked.
/// </summary>
internal static class ConvolutionProbe
{
    /// <summary>The probed convolutions: batch, input channels, output channels, size, kernel, stride, padding.</summary>
    internal static readonly (int N, int Cin, int Cout, int Size, int Kernel, int Stride, int Padding)[] Shapes =
    {
        (8, 8, 8, 8, 3, 1, 1),    // the bare convolution that gave a NaN input gradient
        (8, 3, 8, 8, 3, 1, 1),    // CIFAR stem: RGB to 2 x growth channels
        (8, 16, 4, 8, 3, 1, 1),   // dense layer conv2: 4 x growth to growth
        (8, 12, 16, 8, 1, 1, 0),  // dense layer conv1 (bottleneck, 1x1)
        (8, 16, 8, 4, 1, 1, 0),   // transition (1x1)
    };

    /// <summary>The results compared, in the order <see cref="Differentiate"/> returns them.</summary>
    internal static readonly string[] Passes = { "forward", "backward data", "backward weights", "backward bias" };

    /// <summary>A shape as faults name it: <c>8x8x8x8 -> 8, kernel 3x3, stride 1, padding 1</c>.</summary>
    internal static string Name((int N, int Cin, int Cout, int Size, int Kernel, int Stride, int Padding) shape) =>
        $"{shape.N}x{shape.Cin}x{shape.Size}x{shape.Size} -> {shape.Cout}, kernel {shape.Kernel}x{shape.Kernel}, stride {shape.Stride}, padding {shape.Padding}";

    /// <summary>Returns the wrong results (at most one per shape and pass) and how many convolutions ran.</summary>
    /// <param name="backend">The convolution to probe.</param>
    /// <param name="repeats">How often each shape runs, with fresh inputs; a shape stops at its first wrong result.</param>
    /// <param name="tolerance">The largest relative error that counts as right.</param>
    /// <param name="seed">The private generator's seed (the inputs).</param>
    public static (IReadOnlyList<ConvolutionFault> Faults, int Convolutions) Run(IConvolutionBackend backend, int repeats, double tolerance, ulong seed = 0x5E1EC7)
    {
        var faults = new List<ConvolutionFault>();
        int convolutions = 0;
        using var generator = new Generator(seed, CPU);
        using var grad = enable_grad();
        foreach (var shape in Shapes)
        {
            string name = Name(shape);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (int r = 0; r < repeats && seen.Count == 0; r++)
            {
                using var scope = NewDisposeScope();
                convolutions++;
                Tensor x = randn(new long[] { shape.N, shape.Cin, shape.Size, shape.Size }, dtype: ScalarType.Float32, device: CPU, generator: generator);
                Tensor w = randn(new long[] { shape.Cout, shape.Cin, shape.Kernel, shape.Kernel }, dtype: ScalarType.Float32, device: CPU, generator: generator)
                    .mul_(1.0 / Math.Sqrt(shape.Cin * shape.Kernel * shape.Kernel));
                Tensor b = randn(new long[] { shape.Cout }, dtype: ScalarType.Float32, device: CPU, generator: generator);
                long outSize = ((shape.Size + (2 * shape.Padding) - shape.Kernel) / shape.Stride) + 1;
                Tensor upstream = randn(new long[] { shape.N, shape.Cout, outSize, outSize }, dtype: ScalarType.Float32, device: CPU, generator: generator);
                Tensor[] single = Differentiate(backend, x, w, b, upstream, shape.Stride, shape.Padding, ScalarType.Float32);
                Tensor[] reference = Differentiate(backend, x, w, b, upstream, shape.Stride, shape.Padding, ScalarType.Float64);
                for (int p = 0; p < Passes.Length; p++)
                {
                    if (Compare(single[p], reference[p], tolerance) is { } error && seen.Add(Passes[p]))
                    {
                        faults.Add(new ConvolutionFault(name, Passes[p], double.IsPositiveInfinity(error), error));
                    }
                }
            }
        }

        return (faults, convolutions);
    }

    /// <summary>The output and the input, weight and bias gradients of one convolution in <paramref name="dtype"/>.</summary>
    private static Tensor[] Differentiate(IConvolutionBackend backend, Tensor x, Tensor w, Tensor b, Tensor upstream, long stride, long padding, ScalarType dtype)
    {
        // detach() first: each precision gets leaves of its own (to() of the same dtype would hand back the same tensor).
        Tensor xi = x.detach().to(dtype).requires_grad_(true);
        Tensor wi = w.detach().to(dtype).requires_grad_(true);
        Tensor bi = b.detach().to(dtype).requires_grad_(true);
        Tensor output = backend.Conv2d(xi, wi, bi, stride, padding);
        output.backward(new[] { upstream.to(dtype) });
        return new[] { output.detach(), xi.grad ?? zeros_like(xi), wi.grad ?? zeros_like(wi), bi.grad ?? zeros_like(bi) };
    }

    /// <summary>Null when right; otherwise the relative error (infinity when not finite).</summary>
    private static double? Compare(Tensor result, Tensor reference, double tolerance)
    {
        if (!result.isfinite().all().item<bool>())
        {
            return double.PositiveInfinity;
        }

        if (!result.shape.SequenceEqual(reference.shape))
        {
            return double.PositiveInfinity;
        }

        double scale = reference.abs().max().item<double>();
        double error = (result.to(ScalarType.Float64) - reference).abs().max().item<double>() / Math.Max(scale, 1e-12);
        return error > tolerance ? error : null;
    }
}
