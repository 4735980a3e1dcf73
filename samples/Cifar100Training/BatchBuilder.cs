using System;
using static TorchSharp.torch;

namespace Cifar100Training;

/// <summary>
/// Turns images into normalised float batches (per-channel mean and standard deviation of the training images, as the
/// network sees them: digits with their zero border). Training batches get the augmentation asked for: a random 32x32
/// crop of the image padded by 4 zero pixels (zero after normalisation, i.e. the channel mean) and, for
/// <see cref="Augmentation.CropFlip"/>, a horizontal flip with probability 0.5, both drawn from (seed, epoch, image
/// index), so an epoch's augmentation is the same after a restart.
/// </summary>
internal sealed class BatchBuilder
{
    public const int Padding = 4;
    private readonly float[] mean = new float[CifarData.Channels];
    private readonly float[] std = new float[CifarData.Channels];
    private readonly CifarData train;
    private readonly Action<int, int>? onTrainingRead;

    /// <summary>Per-channel mean and standard deviation from the training images.</summary>
    /// <param name="train">The training images.</param>
    /// <param name="onTrainingRead">Told (epoch, index) for every training image a batch reads: how a test counts reads.</param>
    public BatchBuilder(CifarData train, Action<int, int>? onTrainingRead = null)
    {
        ArgumentNullException.ThrowIfNull(train);
        this.train = train;
        this.onTrainingRead = onTrainingRead;
        const int Plane = CifarData.Side * CifarData.Side;
        for (int c = 0; c < CifarData.Channels; c++)
        {
            double sum = 0, sq = 0;
            for (int i = 0; i < train.Count; i++)
            {
                int start = (i * CifarData.PixelsPerImage) + (c * Plane);
                for (int p = 0; p < Plane; p++)
                {
                    double v = train.Pixels[start + p] / 255.0;
                    sum += v;
                    sq += v * v;
                }
            }

            double n = (double)train.Count * Plane;
            double m = sum / n;
            mean[c] = (float)m;
            std[c] = (float)Math.Sqrt(Math.Max((sq / n) - (m * m), 1e-12));
        }
    }

    public (Tensor Images, Tensor Labels) Build(CifarData data, ReadOnlySpan<int> indices, Augmentation augment, ulong seed, int epoch, Device device)
    {
        const int Side = CifarData.Side, Plane = Side * Side;
        var buffer = new float[indices.Length * CifarData.PixelsPerImage];
        var labels = new long[indices.Length];
        for (int b = 0; b < indices.Length; b++)
        {
            int index = indices[b];
            if (ReferenceEquals(data, train))
            {
                onTrainingRead?.Invoke(epoch, index);
            }

            labels[b] = data.Labels[index];
            int ox = 0, oy = 0;
            bool flip = false;
            if (augment != Augmentation.None)
            {
                var rng = new SplitMix(seed, 0xA06UL + (ulong)epoch, (ulong)index);
                ox = rng.NextInt((2 * Padding) + 1) - Padding;
                oy = rng.NextInt((2 * Padding) + 1) - Padding;
                flip = rng.NextDouble() < 0.5 && augment == Augmentation.CropFlip;
            }

            int src = index * CifarData.PixelsPerImage;
            int dst = b * CifarData.PixelsPerImage;
            for (int c = 0; c < CifarData.Channels; c++)
            {
                float m = mean[c], inv = 1f / std[c];
                for (int y = 0; y < Side; y++)
                {
                    int sy = y + oy;
                    for (int x = 0; x < Side; x++)
                    {
                        int sx = (flip ? Side - 1 - x : x) + ox;
                        float v = sy < 0 || sy >= Side || sx < 0 || sx >= Side
                            ? 0f
                            : ((data.Pixels[src + (c * Plane) + (sy * Side) + sx] / 255f) - m) * inv;
                        buffer[dst + (c * Plane) + (y * Side) + x] = v;
                    }
                }
            }
        }

        Tensor images = tensor(buffer, new long[] { indices.Length, CifarData.Channels, Side, Side });
        Tensor target = tensor(labels);
        return device.type == TorchSharp.DeviceType.CPU ? (images, target) : (images.to(device), target.to(device));
    }
}
