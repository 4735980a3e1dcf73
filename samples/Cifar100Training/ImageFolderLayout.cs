using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;

namespace Cifar100Training;

/// <summary>
/// The files of an image folder, found and checked before anything is decoded: <c>DIR/train/&lt;class&gt;/...</c> and
/// <c>DIR/test/&lt;class&gt;/...</c> (or <c>DIR/val/&lt;class&gt;/...</c>; with both, test/ is the test split). As
/// torchvision's <c>ImageFolder</c>: the classes are the class folders' names sorted ordinally (a label is an index in
/// that list), a class folder's images may sit in subfolders, and the images are in torchvision's order (folders by
/// path, then files by name). Unlike it: names starting with '.' (.DS_Store, .ipynb_checkpoints, ._photo.jpg) are
/// skipped, files other than .jpg, .jpeg and .png (any case) are skipped and counted in <see cref="Notes"/>, and an
/// empty class, differing class lists or a split without class folders stop with a message.
/// </summary>
/// <param name="Root">The data folder, full path.</param>
/// <param name="TestSplit">The folder of the test split: "test" or "val".</param>
/// <param name="Classes">The class names, sorted ordinally; label i is Classes[i].</param>
/// <param name="Train">The training images in torchvision's order.</param>
/// <param name="Test">The test images in torchvision's order.</param>
/// <param name="Notes">What was skipped or chosen, for the log.</param>
internal sealed record ImageFolderLayout(string Root, string TestSplit, IReadOnlyList<string> Classes, IReadOnlyList<ImageFile> Train,
    IReadOnlyList<ImageFile> Test, IReadOnlyList<string> Notes)
{
    public const string TrainSplit = "train";
    public static readonly string[] TestSplits = { "test", "val" };
    public static readonly string[] Extensions = { ".jpg", ".jpeg", ".png" };
    private const int MaxDepth = 32;

    /// <summary>Whether the folder has a train/, test/ or val/ subfolder (what <see cref="DataFolder.Detect"/> looks for).</summary>
    public static bool AnyPresent(string directory) =>
        TestSplits.Prepend(TrainSplit).Any(s => Directory.Exists(Path.Combine(directory, s)));

    /// <summary>A SHA-256 over every image's relative path, length and modification time and the decoder's settings: the cache's key.</summary>
    public string Fingerprint(string settings)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes(settings + "\n"));
        foreach (ImageFile f in Train.Concat(Test))
        {
            hash.AppendData(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{f.RelativePath}\t{f.Length}\t{f.LastWriteTicks}\n")));
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>Finds and checks the splits, classes and images under <paramref name="directory"/>.</summary>
    /// <exception cref="DataFormatException">A split is missing or has no class folders, the class lists differ, there are fewer than 2 classes, or a class has no image.</exception>
    public static ImageFolderLayout Scan(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        string root = Path.GetFullPath(directory);
        string? testSplit = TestSplits.FirstOrDefault(s => Directory.Exists(Path.Combine(root, s)));
        bool hasTrain = Directory.Exists(Path.Combine(root, TrainSplit));
        if (!hasTrain || testSplit is null)
        {
            string found = !Directory.Exists(root) ? "does not exist"
                : hasTrain ? $"has {Path.Combine(root, TrainSplit)} but neither a test/ nor a val/ folder"
                : testSplit is not null ? $"has {Path.Combine(root, testSplit)} but no train/ folder"
                : "has no train/, test/ or val/ folder";
            throw new DataFormatException($"--data: '{root}' {found}. {Layout}");
        }

        var notes = new List<string>();
        if (testSplit == TestSplits[0] && Directory.Exists(Path.Combine(root, TestSplits[1])))
        {
            notes.Add($"{Path.Combine(root, TestSplits[1])} is not read: test/ is the test split.");
        }

        var skipped = new Skipped();
        var train = ScanSplit(root, TrainSplit, skipped);
        var test = ScanSplit(root, testSplit, skipped);
        CheckClasses(root, testSplit, train, test);
        var classes = train.Keys.ToList();
        notes.AddRange(skipped.Describe());
        return new ImageFolderLayout(root, testSplit, classes, Flatten(train), Flatten(test), notes);
    }

    private const string Layout =
        "An image folder is DIR/train/<class>/<image> and DIR/test/<class>/<image> (or DIR/val/<class>/<image>), the same class folders in both, " +
        "JPEG or PNG images; the folder names are the classes.";

    /// <summary>The images of every class in class order, labelled by the class's index (both splits have the same sorted classes).</summary>
    private static List<ImageFile> Flatten(SortedDictionary<string, ClassFolder> split) =>
        split.Values.SelectMany((c, label) => c.Images.Select(f => f with { Label = label })).ToList();

    private static SortedDictionary<string, ClassFolder> ScanSplit(string root, string split, Skipped skipped)
    {
        string path = Path.Combine(root, split);
        var classes = new SortedDictionary<string, ClassFolder>(StringComparer.Ordinal);
        var loose = new List<string>();
        foreach (var entry in new DirectoryInfo(path).EnumerateFileSystemInfos().OrderBy(e => e.Name, StringComparer.Ordinal))
        {
            string relative = split + "/" + entry.Name;
            if (entry.Name.StartsWith('.'))
            {
                skipped.Hidden(relative);
            }
            else if (entry is DirectoryInfo folder)
            {
                classes.Add(entry.Name, ScanClass(root, folder, relative, skipped));
            }
            else
            {
                loose.Add(entry.Name);
            }
        }

        if (classes.Count == 0)
        {
            string holds = loose.Count == 0
                ? "nothing but hidden files or folders"
                : $"{Plural.Of(loose.Count, "file")} directly inside (such as {loose.Order(StringComparer.Ordinal).First()})";
            throw new DataFormatException($"--data: '{path}' has no class folders: it holds {holds}. " +
                $"Put each class's images in a folder named after the class: {path}/<class>/<image>. {Layout}");
        }

        if (loose.Count > 0)
        {
            skipped.Loose(split, loose.Count);
        }

        return classes;
    }

    private static ClassFolder ScanClass(string root, DirectoryInfo folder, string relative, Skipped skipped)
    {
        var images = new List<ImageFile>();
        var other = new List<string>();
        var folders = new List<(string Relative, DirectoryInfo Folder)>();
        Collect(folder, relative, 0, folders, skipped);
        foreach (var (dir, info) in folders.OrderBy(f => f.Relative, StringComparer.Ordinal))
        {
            foreach (FileInfo file in info.EnumerateFiles().OrderBy(f => f.Name, StringComparer.Ordinal))
            {
                string name = dir + "/" + file.Name;
                if (file.Name.StartsWith('.'))
                {
                    skipped.Hidden(name);
                }
                else if (Extensions.Contains(file.Extension, StringComparer.OrdinalIgnoreCase))
                {
                    images.Add(new ImageFile(name, Path.Combine(root, name), file.Length, file.LastWriteTimeUtc.Ticks, -1));
                }
                else
                {
                    other.Add(name);
                    skipped.Other(name, file.Extension);
                }
            }
        }

        return new ClassFolder(folder.Name, Path.Combine(root, relative), images, other);
    }

    /// <summary>The folder and every folder below it (links followed, as torchvision does), but not hidden ones.</summary>
    private static void Collect(DirectoryInfo folder, string relative, int depth, List<(string, DirectoryInfo)> into, Skipped skipped)
    {
        if (depth > MaxDepth)
        {
            throw new DataFormatException($"--data: '{folder.FullName}' is nested more than {MaxDepth} folders deep in its class folder: is there a link that loops?");
        }

        into.Add((relative, folder));
        foreach (DirectoryInfo sub in folder.EnumerateDirectories().OrderBy(d => d.Name, StringComparer.Ordinal))
        {
            if (sub.Name.StartsWith('.'))
            {
                skipped.Hidden(relative + "/" + sub.Name);
            }
            else
            {
                Collect(sub, relative + "/" + sub.Name, depth + 1, into, skipped);
            }
        }
    }

    private static void CheckClasses(string root, string testSplit, SortedDictionary<string, ClassFolder> train, SortedDictionary<string, ClassFolder> test)
    {
        var onlyTrain = train.Keys.Except(test.Keys, StringComparer.Ordinal).ToList();
        var onlyTest = test.Keys.Except(train.Keys, StringComparer.Ordinal).ToList();
        if (onlyTrain.Count > 0 || onlyTest.Count > 0)
        {
            static string List(List<string> names) => names.Count == 0 ? "none" : string.Join(", ", names);
            throw new DataFormatException(string.Create(CultureInfo.InvariantCulture,
                $"--data: the class folders of '{Path.Combine(root, TrainSplit)}' and '{Path.Combine(root, testSplit)}' differ: " +
                $"only in {TrainSplit}/: {List(onlyTrain)}; only in {testSplit}/: {List(onlyTest)}. Both splits need the same class folders " +
                $"(a label is the index of its class in the sorted list): add the missing folders or remove the extra ones."));
        }

        if (train.Count < 2)
        {
            throw new DataFormatException($"--data: '{Path.Combine(root, TrainSplit)}' has one class folder ({train.Keys.Single()}); a classifier needs at least 2 classes.");
        }

        var empty = train.Values.Concat(test.Values).Where(c => c.Images.Count == 0).ToList();
        if (empty.Count > 0)
        {
            string Describe(ClassFolder c) => c.Other.Count == 0
                ? $"{c.Path} (empty)"
                : $"{c.Path} ({Plural.Of(c.Other.Count, "other file")}, such as {Path.GetFileName(c.Other[0])})";
            throw new DataFormatException(
                $"--data: {(empty.Count == 1 ? "a class folder holds" : "class folders hold")} no .jpg, .jpeg or .png image: " +
                $"{string.Join("; ", empty.Select(Describe))}. Every class needs images in both splits: add them, or remove the class from both.");
        }

        foreach (var (split, classes) in new[] { (TrainSplit, train), (testSplit, test) })
        {
            long count = classes.Values.Sum(c => (long)c.Images.Count);
            if (count > Array.MaxLength / CifarData.PixelsPerImage)
            {
                throw new DataFormatException(string.Create(CultureInfo.InvariantCulture,
                    $"--data: '{Path.Combine(root, split)}' has {count:N0} images; this trainer holds at most {Array.MaxLength / CifarData.PixelsPerImage:N0} per split " +
                    $"in memory. Give it a folder with fewer images."));
            }
        }
    }

    private sealed record ClassFolder(string Name, string Path, List<ImageFile> Images, List<string> Other);

    /// <summary>What the scan passed over, for one line each in the log.</summary>
    private sealed class Skipped
    {
        private readonly List<string> hidden = new();
        private readonly List<string> other = new();
        private readonly SortedDictionary<string, int> extensions = new(StringComparer.Ordinal);
        private readonly List<string> loose = new();

        public void Hidden(string relative) => hidden.Add(relative);

        public void Other(string relative, string extension)
        {
            other.Add(relative);
            string key = extension.Length == 0 ? "without extension" : extension.ToLowerInvariant();
            extensions[key] = extensions.GetValueOrDefault(key) + 1;
        }

        public void Loose(string split, int count) =>
            loose.Add(string.Create(CultureInfo.InvariantCulture, $"{count} in {split}/"));

        public IEnumerable<string> Describe()
        {
            if (other.Count > 0)
            {
                string kinds = string.Join(", ", extensions.Select(e => string.Create(CultureInfo.InvariantCulture, $"{e.Value} {e.Key}")));
                yield return string.Create(CultureInfo.InvariantCulture,
                    $"Skipped {Plural.Of(other.Count, "file")} in class folders that are not .jpg, .jpeg or .png ({kinds}; such as {other[0]}): only JPEG and PNG are read.");
            }

            if (hidden.Count > 0)
            {
                yield return string.Create(CultureInfo.InvariantCulture,
                    $"Skipped {Plural.Of(hidden.Count, "hidden file or folder", "hidden files and folders")} (names starting with '.', such as {hidden[0]}).");
            }

            if (loose.Count > 0)
            {
                yield return $"Skipped files outside the class folders ({string.Join(", ", loose)}): an image belongs to the class folder it is in.";
            }
        }
    }
}
