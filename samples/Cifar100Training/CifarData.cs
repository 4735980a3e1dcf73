using System;

namespace Cifar100Training;

/// <summary>Images as CIFAR stores them (3072 bytes per image: R, G, B planes of 32x32) and their fine labels.</summary>
internal sealed class CifarData
{
    public const int Side = 32;
    public const int Channels = 3;
    public const int PixelsPerImage = Channels * Side * Side;
    public const int Classes = 100;

    public CifarData(byte[] pixels, int[] labels, string description)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(labels);
        if (pixels.Length != labels.Length * PixelsPerImage)
        {
            throw new ArgumentException($"{pixels.Length} pixel bytes do not hold {labels.Length} images of {PixelsPerImage} bytes.", nameof(pixels));
        }

        Pixels = pixels;
        Labels = labels;
        Description = description;
    }

    public byte[] Pixels { get; }

    public int[] Labels { get; }

    public int Count => Labels.Length;

    /// <summary>Where the data came from, for the console (says "synthetic" when it is).</summary>
    public string Description { get; }
}
