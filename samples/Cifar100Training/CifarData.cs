using System;
using System.Collections.Generic;

namespace Cifar100Training;

/// <summary>
/// Images as CIFAR stores them (3072 bytes per image: R, G, B planes of 32x32) and their labels. Every source is
/// brought to this layout (MNIST-format digits are padded and repeated to 3 channels), so one CIFAR-stem DenseNet
/// serves them all.
/// </summary>
internal sealed class CifarData
{
    public const int Side = 32;
    public const int Channels = 3;
    public const int PixelsPerImage = Channels * Side * Side;

    /// <param name="pixels">The images, <see cref="PixelsPerImage"/> bytes each.</param>
    /// <param name="labels">One label per image, in [0, <paramref name="classCount"/>).</param>
    /// <param name="classCount">The number of classes of the data set (not of this subset): the model's num_classes.</param>
    /// <param name="description">Where the data came from, for the console.</param>
    /// <param name="corrupted">Per image, whether label noise replaced its label; null when no noise was applied.</param>
    public CifarData(byte[] pixels, int[] labels, int classCount, string description, bool[]? corrupted = null)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 2);
        if (pixels.Length != labels.Length * PixelsPerImage)
        {
            throw new ArgumentException($"{pixels.Length} pixel bytes do not hold {labels.Length} images of {PixelsPerImage} bytes.", nameof(pixels));
        }

        if (corrupted is not null && corrupted.Length != labels.Length)
        {
            throw new ArgumentException($"{corrupted.Length} corruption flags for {labels.Length} labels.", nameof(corrupted));
        }

        Pixels = pixels;
        Labels = labels;
        ClassCount = classCount;
        Description = description;
        Corrupted = corrupted;
    }

    public byte[] Pixels { get; }

    public int[] Labels { get; }

    public int ClassCount { get; }

    /// <summary>Per image, whether its label was replaced by label noise; null when no noise was applied.</summary>
    public bool[]? Corrupted { get; }

    public int Count => Labels.Length;

    /// <summary>Where the data came from, for the console (says "synthetic" when it is).</summary>
    public string Description { get; }

    /// <summary>The images at <paramref name="indices"/>, in that order, with their labels and corruption flags.</summary>
    public CifarData Select(IReadOnlyList<int> indices, string description)
    {
        ArgumentNullException.ThrowIfNull(indices);
        var pixels = new byte[indices.Count * PixelsPerImage];
        var labels = new int[indices.Count];
        bool[]? corrupted = Corrupted is null ? null : new bool[indices.Count];
        for (int k = 0; k < indices.Count; k++)
        {
            int i = indices[k];
            Pixels.AsSpan(i * PixelsPerImage, PixelsPerImage).CopyTo(pixels.AsSpan(k * PixelsPerImage));
            labels[k] = Labels[i];
            if (corrupted is not null)
            {
                corrupted[k] = Corrupted![i];
            }
        }

        return new CifarData(pixels, labels, ClassCount, description, corrupted);
    }

    /// <summary>The first <paramref name="count"/> images (all of them when there are fewer).</summary>
    public CifarData Take(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        if (count >= Count)
        {
            return this;
        }

        return new CifarData(Pixels.AsSpan(0, count * PixelsPerImage).ToArray(), Labels.AsSpan(0, count).ToArray(), ClassCount,
            $"{Description}, first {count} of {Count}", Corrupted?.AsSpan(0, count).ToArray());
    }
}
