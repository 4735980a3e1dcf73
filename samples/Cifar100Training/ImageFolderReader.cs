using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading.Tasks;

namespace Cifar100Training;

/// <summary>
/// Reads an image folder (<c>DIR/train/&lt;class&gt;/*</c> and <c>DIR/test/&lt;class&gt;/*</c> or
/// <c>DIR/val/&lt;class&gt;/*</c>, JPEG and PNG; see <see cref="ImageFolderLayout"/>) into CIFAR's layout. Every image
/// is decoded once (<see cref="ImageDecoder"/>: RGB, 32x32, resized as torchvision would) into a cache
/// (<see cref="ImageCache"/>) that later reads load while the folder's files are unchanged; the class-balanced subsets
/// (<see cref="ClassBalancedSubset"/>) are drawn from the cached images, so another --train-per-class decodes nothing.
/// Both splits come back in an order drawn from the seed, not class by class, so taking the first N of them is a
/// random sample too. Long work says how far it is through <c>log</c>.
/// </summary>
internal static class ImageFolderReader
{
    /// <summary>How many images decoding takes between two progress lines.</summary>
    public const int ProgressInterval = 5000;

    /// <summary>How many bad files one message names.</summary>
    public const int FailuresNamed = 10;

    /// <summary>Reads the image folder <paramref name="directory"/>.</summary>
    /// <param name="directory">The data folder, holding train/ and test/ (or val/).</param>
    /// <param name="options">Image size, per-class subsets, seed and cache folder.</param>
    /// <param name="log">Receives the progress and what was skipped, converted, resized and cached, a line a call.</param>
    /// <exception cref="DataFormatException">The layout is wrong (<see cref="ImageFolderLayout.Scan"/>) or an image cannot be decoded; no cache is written then.</exception>
    /// <exception cref="UsageException">An option no data satisfies, or a class with fewer images than a per-class count.</exception>
    public static ImageFolderData Read(string directory, DataFolderOptions options, Action<string> log)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(log);
        options.Validate();
        ImageFolderLayout layout = ImageFolderLayout.Scan(directory);
        foreach (string note in layout.Notes)
        {
            log(note);
        }

        IReadOnlyList<string> classes = layout.Classes;
        log(string.Create(CultureInfo.InvariantCulture,
            $"Image folder {layout.Root}: {Plural.Of(layout.Train.Count, "training image")} in train/, {Plural.Of(layout.Test.Count, "test image")} in {layout.TestSplit}/, " +
            $"{classes.Count} classes: {string.Join(", ", classes.Take(20))}{(classes.Count > 20 ? $", ... ({classes.Count - 20} more)" : string.Empty)}"));

        int side = options.ImageSize;
        string settings = ImageDecoder.Settings(side);
        string fingerprint = layout.Fingerprint(settings);
        string cachePath = ImageCache.PathFor(options.CacheDirectory ?? ImageCache.DefaultDirectory(), layout.Root);
        var clock = Stopwatch.StartNew();
        DecodedImages? images = ImageCache.TryRead(cachePath, settings, fingerprint, layout.Train.Count, layout.Test.Count, out string reason);
        if (images is not null)
        {
            log(string.Create(CultureInfo.InvariantCulture,
                $"Loaded the decoded images from the cache {cachePath} ({Megabytes(cachePath)}, {clock.Elapsed.TotalSeconds:0.0} s); " +
                $"a change to any image decodes the folder again."));
        }
        else
        {
            log(string.Create(CultureInfo.InvariantCulture, $"Decoding {Plural.Of(layout.Train.Count + layout.Test.Count, "image")}: {reason} ({cachePath})."));
            images = Decode(layout, side, log);
            try
            {
                ImageCache.Write(cachePath, settings, fingerprint, images);
                log($"Wrote the cache {cachePath} ({Megabytes(cachePath)}); later reads of this folder load it instead of decoding.");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                log($"Could not write the cache {cachePath} ({e.Message}); the next read decodes again. Give a writable folder with --image-cache.");
            }
        }

        foreach (string line in images.Conversions.Describe(side))
        {
            log(line);
        }

        var (train, trainFiles) = Split(layout, layout.Train, images.Train, ImageFolderLayout.TrainSplit, options.TrainPerClass, options.Seed, log);
        var (test, testFiles) = Split(layout, layout.Test, images.Test, layout.TestSplit, options.TestPerClass, options.Seed, log);
        return new ImageFolderData(train, test, classes, trainFiles, testFiles);
    }

    private static DecodedImages Decode(ImageFolderLayout layout, int side, Action<string> log)
    {
        int trainCount = layout.Train.Count;
        ImageFile[] files = layout.Train.Concat(layout.Test).ToArray();
        int imageBytes = 3 * side * side;
        var train = new byte[trainCount * imageBytes];
        var test = new byte[layout.Test.Count * imageBytes];
        var decoded = new DecodedImage[files.Length];
        var failures = new ConcurrentDictionary<int, string>();
        var clock = Stopwatch.StartNew();
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount };
        for (int start = 0; start < files.Length; start += ProgressInterval)
        {
            int end = Math.Min(start + ProgressInterval, files.Length);
            Parallel.For(start, end, parallel, i =>
            {
                string path = files[i].FullPath;
                try
                {
                    Span<byte> destination = i < trainCount ? train.AsSpan(i * imageBytes, imageBytes) : test.AsSpan((i - trainCount) * imageBytes, imageBytes);
                    decoded[i] = ImageDecoder.Decode(File.ReadAllBytes(path), path, side, destination);
                }
                catch (DataFormatException e)
                {
                    failures[i] = e.Message;
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    failures[i] = $"{path}: cannot be read ({e.Message}).";
                }
            });
            if (end < files.Length)
            {
                log(string.Create(CultureInfo.InvariantCulture,
                    $"Decoding: {end:N0} of {files.Length:N0} images ({100.0 * end / files.Length:0}%), {clock.Elapsed.TotalSeconds:0.0} s"));
            }
        }

        if (!failures.IsEmpty)
        {
            var first = failures.OrderBy(f => f.Key).Take(FailuresNamed).Select(f => f.Value).ToList();
            string more = failures.Count > FailuresNamed ? string.Create(CultureInfo.InvariantCulture, $"\n  ... and {failures.Count - FailuresNamed} more") : string.Empty;
            throw new DataFormatException(failures.Count == 1 ? first[0] : string.Create(CultureInfo.InvariantCulture,
                $"--data: {failures.Count:N0} of {files.Length:N0} images cannot be used (nothing was cached):\n  {string.Join("\n  ", first)}{more}"));
        }

        log(string.Create(CultureInfo.InvariantCulture, $"Decoded {Plural.Of(files.Length, "image")} in {clock.Elapsed.TotalSeconds:0.0} s."));
        var conversions = ConversionCounts.None;
        for (int i = 0; i < files.Length; i++)
        {
            conversions = conversions.Add(decoded[i], files[i].RelativePath, side);
        }

        return new DecodedImages(train, test, conversions);
    }

    private static (CifarData Data, string[] Files) Split(ImageFolderLayout layout, IReadOnlyList<ImageFile> files, byte[] pixels, string split,
        int? perClass, ulong seed, Action<string> log)
    {
        var all = new CifarData(pixels, files.Select(f => f.Label).ToArray(), layout.Classes.Count, string.Create(CultureInfo.InvariantCulture,
            $"image folder {split}/ ({Plural.Of(files.Count, "image")} in {layout.Classes.Count} classes, {layout.Root})"));
        var (data, order) = ClassBalancedSubset.Draw(all, perClass, seed, split == ImageFolderLayout.TrainSplit, c => layout.Classes[c]);
        if (perClass is not null)
        {
            log($"Subset: {data.Description}.");
        }

        return (data, order.Select(i => files[i].RelativePath).ToArray());
    }

    private static string Megabytes(string path) =>
        string.Create(CultureInfo.InvariantCulture, $"{new FileInfo(path).Length / 1e6:N1} MB");
}
