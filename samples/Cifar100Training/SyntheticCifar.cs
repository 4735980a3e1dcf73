using System;

namespace Cifar100Training;

/// <summary>
/// A generated, learnable CIFAR-shaped data set: each of the 100 classes has its own colour, stripe orientation and
/// frequency, and a blob position; every image is its class's pattern with a random shift, contrast and per-pixel noise.
/// Deterministic from the seed. Not CIFAR-100: the console says so.
/// </summary>
internal static class SyntheticCifar
{
    public const int Classes = 100;

    public static CifarData Generate(int count, ulong seed, string split)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        var prototypes = Prototypes(seed);
        var pixels = new byte[count * CifarData.PixelsPerImage];
        var labels = new int[count];
        ulong splitKey = split == "train" ? 1UL : 2UL;
        for (int i = 0; i < count; i++)
        {
            var rng = new SplitMix(seed, splitKey, (ulong)i);
            int label = rng.NextInt(Classes);
            labels[i] = label;
            Render(prototypes[label], ref rng, pixels.AsSpan(i * CifarData.PixelsPerImage, CifarData.PixelsPerImage));
        }

        return new CifarData(pixels, labels, Classes, $"SYNTHETIC CIFAR-shaped data ({split}, {count} images, seed {seed}; not CIFAR-100)");
    }

    private static Prototype[] Prototypes(ulong seed)
    {
        var result = new Prototype[Classes];
        for (int c = 0; c < Classes; c++)
        {
            var rng = new SplitMix(seed, 0xC1A55UL, (ulong)c);
            result[c] = new Prototype(
                Colour: new[] { rng.NextDouble() * 2 - 1, rng.NextDouble() * 2 - 1, rng.NextDouble() * 2 - 1 },
                Angle: (c % 10) * Math.PI / 10 + rng.NextDouble() * 0.1,
                Frequency: 0.25 + 0.12 * (c / 10 % 5) + rng.NextDouble() * 0.05,
                BlobX: 6 + rng.NextDouble() * 20,
                BlobY: 6 + rng.NextDouble() * 20,
                BlobSign: c / 50 == 0 ? 1 : -1);
        }

        return result;
    }

    private static void Render(Prototype p, ref SplitMix rng, Span<byte> image)
    {
        double phase = rng.NextDouble() * 2 * Math.PI;
        double contrast = 0.7 + 0.6 * rng.NextDouble();
        double dx = (rng.NextDouble() - 0.5) * 6, dy = (rng.NextDouble() - 0.5) * 6;
        double cos = Math.Cos(p.Angle), sin = Math.Sin(p.Angle);
        const int Side = CifarData.Side;
        for (int y = 0; y < Side; y++)
        {
            for (int x = 0; x < Side; x++)
            {
                double stripe = Math.Sin((p.Frequency * ((x * cos) + (y * sin))) + phase);
                double bx = x - p.BlobX - dx, by = y - p.BlobY - dy;
                double blob = p.BlobSign * Math.Exp(-((bx * bx) + (by * by)) / 18.0);
                for (int ch = 0; ch < CifarData.Channels; ch++)
                {
                    double v = 128 + (contrast * ((45 * p.Colour[ch]) + (35 * stripe * (0.5 + (0.5 * p.Colour[(ch + 1) % 3]))) + (60 * blob)))
                        + (28 * rng.NextGaussian());
                    image[(ch * Side * Side) + (y * Side) + x] = (byte)Math.Clamp(Math.Round(v), 0, 255);
                }
            }
        }
    }

    private sealed record Prototype(double[] Colour, double Angle, double Frequency, double BlobX, double BlobY, int BlobSign);
}
