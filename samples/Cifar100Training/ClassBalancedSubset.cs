using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace Cifar100Training;

/// <summary>
/// Picks the same number of images from every class, by seed: class c's images (in data order) are permuted by a
/// SplitMix stream keyed by the seed, the split and c, and the first N are kept; then all kept images are put in an
/// order drawn from the seed and the split. So the subset and its order are a pure function of the seed and the data,
/// and a larger N keeps every image a smaller N kept. A class with fewer than N images is refused, naming it: a
/// subset that is not balanced would not be what the option says.
/// </summary>
internal static class ClassBalancedSubset
{
    /// <summary>The key of the training split's streams.</summary>
    public const ulong TrainStream = 0xBA1A_0001UL;

    /// <summary>The key of the test split's streams.</summary>
    public const ulong TestStream = 0xBA1A_0002UL;

    /// <summary>
    /// <paramref name="data"/> cut to <paramref name="perClass"/> images a class (all of them when null) and put in an
    /// order drawn from the seed, with the indices it took, in that order; says so in the description.
    /// </summary>
    /// <param name="train">The training split (--train-per-class, its own stream) or the test split (--test-per-class).</param>
    /// <exception cref="UsageException">A class has fewer than <paramref name="perClass"/> images.</exception>
    public static (CifarData Data, int[] Order) Draw(CifarData data, int? perClass, ulong seed, bool train, Func<int, string> className)
    {
        ArgumentNullException.ThrowIfNull(data);
        int[] order = Choose(data.Labels, data.ClassCount, perClass, seed, train ? TrainStream : TestStream,
            train ? "--train-per-class" : "--test-per-class", className);
        string description = perClass is { } n
            ? string.Create(CultureInfo.InvariantCulture, $"{data.Description}; {n} per class drawn by seed {seed}: {order.Length:N0} of {data.Count:N0} images")
            : data.Description;
        return (data.Select(order, description), order);
    }

    /// <summary>
    /// The indices of <paramref name="perClass"/> images of every class (every image when null), in an order drawn
    /// from <paramref name="seed"/>.
    /// </summary>
    /// <param name="labels">The labels of the data, in [0, <paramref name="classCount"/>).</param>
    /// <param name="option">The option that asked for <paramref name="perClass"/> (--train-per-class), for the message.</param>
    /// <param name="className">The name of class c, for the message.</param>
    /// <exception cref="UsageException">A class has fewer than <paramref name="perClass"/> images.</exception>
    public static int[] Choose(IReadOnlyList<int> labels, int classCount, int? perClass, ulong seed, ulong stream, string option, Func<int, string> className)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(className);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(classCount);
        if (perClass is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(perClass), perClass, "At least 1 image per class.");
        }

        var byClass = Enumerable.Range(0, classCount).Select(_ => new List<int>()).ToArray();
        for (int i = 0; i < labels.Count; i++)
        {
            byClass[labels[i]].Add(i);
        }

        var chosen = new List<int>(perClass is { } n ? n * classCount : labels.Count);
        if (perClass is { } count)
        {
            var scarce = Enumerable.Range(0, classCount).Where(c => byClass[c].Count < count).OrderBy(c => byClass[c].Count).ToList();
            if (scarce.Count > 0)
            {
                string which = string.Join(", ", scarce.Take(5).Select(c => $"'{className(c)}' has {Plural.Of(byClass[c].Count, "image")}"));
                string classes = scarce.Count == 1 ? "a class has" : string.Create(CultureInfo.InvariantCulture, $"{scarce.Count} of {classCount} classes have");
                throw new UsageException(string.Create(CultureInfo.InvariantCulture,
                    $"{option} {count}: {classes} fewer images ({which}{(scarce.Count > 5 ? ", ..." : string.Empty)}), " +
                    $"so a subset of {count} per class cannot be balanced. Give at most {byClass[scarce[0]].Count}, or leave {option} out to take every image."));
            }

            for (int c = 0; c < classCount; c++)
            {
                int[] order = new SplitMix(seed, stream, 1UL, (ulong)c).Permutation(byClass[c].Count);
                chosen.AddRange(order.Take(count).Select(k => byClass[c][k]));
            }
        }
        else
        {
            chosen.AddRange(Enumerable.Range(0, labels.Count));
        }

        int[] shuffle = new SplitMix(seed, stream, 2UL).Permutation(chosen.Count);
        return shuffle.Select(k => chosen[k]).ToArray();
    }
}
