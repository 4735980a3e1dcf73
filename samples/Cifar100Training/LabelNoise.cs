using System;
using System.Globalization;

namespace Cifar100Training;

/// <summary>
/// Makes a share of the training labels wrong, deterministically from the seed, and records which ones. Exactly
/// round(rate x N) labels are replaced (midpoint rounded away from zero), chosen by a permutation drawn from the seed;
/// each one always becomes a different class: under <see cref="NoiseType.Symmetric"/> one of the other K - 1 classes
/// drawn uniformly, under <see cref="NoiseType.Pair"/> class (c + 1) mod K. Only the training set is ever given to it.
/// </summary>
internal static class LabelNoise
{
    public static int CorruptedCount(int count, double rate) => (int)Math.Round(rate * count, MidpointRounding.AwayFromZero);

    public static CifarData Apply(CifarData data, double rate, NoiseType type, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (rate < 0 || rate >= 1 || double.IsNaN(rate))
        {
            throw new ArgumentOutOfRangeException(nameof(rate), rate, "The label noise rate must be in [0, 1).");
        }

        int changed = CorruptedCount(data.Count, rate);
        if (changed == 0)
        {
            return data;
        }

        int classes = data.ClassCount;
        var labels = (int[])data.Labels.Clone();
        var corrupted = new bool[data.Count];
        int[] order = new SplitMix(seed, 3UL).Permutation(data.Count);
        for (int k = 0; k < changed; k++)
        {
            int i = order[k];
            int shift = type == NoiseType.Pair ? 1 : 1 + new SplitMix(seed, 4UL, (ulong)i).NextInt(classes - 1);
            labels[i] = (labels[i] + shift) % classes;
            corrupted[i] = true;
        }

        string kind = type == NoiseType.Pair
            ? "pair noise: class c -> c+1 mod K"
            : string.Create(CultureInfo.InvariantCulture, $"symmetric noise: a uniformly drawn other class of {classes}");
        return new CifarData(data.Pixels, labels, classes, string.Create(CultureInfo.InvariantCulture,
            $"{data.Description}; {changed} training labels ({100.0 * changed / data.Count:0.0}%) made wrong, {kind}"), corrupted);
    }
}
