using System;

namespace Cifar100Training;

/// <summary>
/// Pillow's <c>Image.resize(size, Image.BILINEAR)</c> on one 8-bit plane, to the bit (Pillow 9.4's Resample.c): a
/// triangle filter whose support grows with the scale when shrinking (so a shrink averages every source pixel it
/// covers instead of sampling a few, which would alias), fixed-point coefficients of 22 fractional bits, a horizontal
/// pass rounded to bytes, then a vertical pass. It is what torchvision's <c>transforms.Resize</c> does to the PIL
/// images its <c>ImageFolder</c> loads, so a folder resized here gives the pixels a PyTorch pipeline would.
/// </summary>
internal static class BilinearResize
{
    private const int PrecisionBits = 32 - 8 - 2;

    /// <summary>Resizes a <paramref name="width"/> x <paramref name="height"/> plane (row-major) to <paramref name="outWidth"/> x <paramref name="outHeight"/>.</summary>
    public static byte[] Resize(ReadOnlySpan<byte> plane, int width, int height, int outWidth, int outHeight)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outWidth);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outHeight);
        if (plane.Length != width * height)
        {
            throw new ArgumentException($"{plane.Length} bytes are not a {width}x{height} plane.", nameof(plane));
        }

        byte[] source = plane.ToArray();
        if (outWidth != width)
        {
            var (bounds, kernel, size) = Coefficients(width, outWidth);
            var next = new byte[outWidth * height];
            for (int y = 0; y < height; y++)
            {
                for (int x = 0; x < outWidth; x++)
                {
                    next[(y * outWidth) + x] = Apply(source, (y * width) + bounds[2 * x], 1, bounds[(2 * x) + 1], kernel, x * size);
                }
            }

            source = next;
        }

        if (outHeight != height)
        {
            var (bounds, kernel, size) = Coefficients(height, outHeight);
            var next = new byte[outWidth * outHeight];
            for (int y = 0; y < outHeight; y++)
            {
                for (int x = 0; x < outWidth; x++)
                {
                    next[(y * outWidth) + x] = Apply(source, (bounds[2 * y] * outWidth) + x, outWidth, bounds[(2 * y) + 1], kernel, y * size);
                }
            }

            source = next;
        }

        return source;
    }

    private static byte Apply(byte[] source, int start, int stride, int count, int[] kernel, int kernelStart)
    {
        int sum = 1 << (PrecisionBits - 1);
        for (int i = 0; i < count; i++)
        {
            sum += source[start + (i * stride)] * kernel[kernelStart + i];
        }

        return sum >= (1 << PrecisionBits) << 8 ? (byte)255 : sum <= 0 ? (byte)0 : (byte)(sum >> PrecisionBits);
    }

    /// <summary>Pillow's precompute_coeffs and normalize_coeffs_8bpc: per output pixel, the first source pixel, the count, and the weights.</summary>
    private static (int[] Bounds, int[] Kernel, int KernelSize) Coefficients(int inSize, int outSize)
    {
        double scale = (double)inSize / outSize;
        double filterScale = Math.Max(scale, 1.0);
        double support = filterScale;
        int kernelSize = ((int)Math.Ceiling(support) * 2) + 1;
        var bounds = new int[outSize * 2];
        var kernel = new int[outSize * kernelSize];
        var weights = new double[kernelSize];
        double inverse = 1.0 / filterScale;
        for (int o = 0; o < outSize; o++)
        {
            double center = (o + 0.5) * scale;
            int min = Math.Max((int)(center - support + 0.5), 0);
            int count = Math.Min((int)(center + support + 0.5), inSize) - min;
            double total = 0;
            for (int i = 0; i < count; i++)
            {
                double distance = Math.Abs((i + min - center + 0.5) * inverse);
                weights[i] = distance < 1.0 ? 1.0 - distance : 0.0;
                total += weights[i];
            }

            for (int i = 0; i < count; i++)
            {
                double w = total != 0.0 ? weights[i] / total : weights[i];
                kernel[(o * kernelSize) + i] = (int)(w < 0 ? -0.5 + (w * (1 << PrecisionBits)) : 0.5 + (w * (1 << PrecisionBits)));
            }

            bounds[2 * o] = min;
            bounds[(2 * o) + 1] = count;
        }

        return (bounds, kernel, kernelSize);
    }
}
