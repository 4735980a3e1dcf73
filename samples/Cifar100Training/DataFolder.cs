using System;
using System.IO;
using System.Linq;

namespace Cifar100Training;

/// <summary>
/// Reads the data set in a --data folder, recognised by what is present: CIFAR-100 (train.bin, test.bin), CIFAR-10
/// (data_batch_1.bin ... data_batch_5.bin, test_batch.bin), MNIST-format IDX files, or an image folder (train/,
/// test/ or val/ subfolders), checked in that order.
/// </summary>
internal static class DataFolder
{
    /// <summary>Reads a folder with the default <see cref="DataFolderOptions"/> and no log (an image folder then caches in <see cref="ImageCache.DefaultDirectory"/>).</summary>
    public static (CifarData Train, CifarData Test, DataFormat Format) Read(string directory)
    {
        LoadedData data = Read(directory, new DataFolderOptions(), static _ => { });
        return (data.Train, data.Test, data.Format);
    }

    /// <summary>
    /// Reads a folder: an image folder with <paramref name="options"/>' image size, cache and seed; every format cut
    /// to <paramref name="options"/>' per-class counts when they are given (a binary format keeps its order otherwise).
    /// </summary>
    /// <param name="log">Receives what reading did (decoding progress, cache, skipped and converted images, subsets), a line a call.</param>
    /// <exception cref="DataFormatException">The folder, a file or an image is missing or malformed; the message names it.</exception>
    /// <exception cref="UsageException">An option the data cannot satisfy (a per-class count above a class's images, an image size other than 32).</exception>
    public static LoadedData Read(string directory, DataFolderOptions options, Action<string> log)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(log);
        options.Validate();
        if (!Directory.Exists(directory))
        {
            throw new DataFormatException($"--data: the folder '{directory}' does not exist. {Layouts}");
        }

        CifarData train, test;
        DataFormat? format = Detect(directory);
        switch (format)
        {
            case DataFormat.Cifar100:
                (train, test) = CifarBinaryReader.ReadFolder(directory);
                break;
            case DataFormat.Cifar10:
                (train, test) = CifarBinaryReader.ReadCifar10Folder(directory);
                break;
            case DataFormat.Idx:
                (train, test) = IdxReader.ReadFolder(directory);
                break;
            case DataFormat.ImageFolder:
                ImageFolderData images = ImageFolderReader.Read(directory, options, log);
                return new LoadedData(images.Train, images.Test, DataFormat.ImageFolder, images.Classes);
            default:
                string? inner = Directory.GetDirectories(directory).FirstOrDefault(d => Detect(d) is not null);
                throw new DataFormatException($"--data: '{directory}' holds none of the files of a known data set. {Layouts}" +
                    (inner is null ? string.Empty : $" The folder '{inner}' does: give that one."));
        }

        return new LoadedData(Cap(train, options.TrainPerClass, options.Seed, train: true, log),
            Cap(test, options.TestPerClass, options.Seed, train: false, log), format.Value, null);
    }

    /// <summary>The format whose files are present, or null.</summary>
    public static DataFormat? Detect(string directory)
    {
        bool Has(string name) => File.Exists(Path.Combine(directory, name));
        if (CifarBinaryReader.Cifar100Files.Any(Has))
        {
            return DataFormat.Cifar100;
        }

        if (CifarBinaryReader.Cifar10TrainFiles.Any(Has) || Has(CifarBinaryReader.Cifar10TestFile))
        {
            return DataFormat.Cifar10;
        }

        if (IdxReader.AnyPresent(directory))
        {
            return DataFormat.Idx;
        }

        return ImageFolderLayout.AnyPresent(directory) ? DataFormat.ImageFolder : null;
    }

    /// <summary>The folder layouts --data accepts, for error messages.</summary>
    public const string Layouts =
        "--data takes a folder with the CIFAR-100 binary version (train.bin, test.bin), the CIFAR-10 binary version " +
        "(data_batch_1.bin ... data_batch_5.bin, test_batch.bin), MNIST-format IDX files (train-images-idx3-ubyte, " +
        "train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each plain or .gz), or an image folder " +
        "(train/<class>/<image> and test/<class>/<image> or val/<class>/<image>, JPEG or PNG).";

    private static CifarData Cap(CifarData data, int? perClass, ulong seed, bool train, Action<string> log)
    {
        if (perClass is null)
        {
            return data;
        }

        CifarData subset = ClassBalancedSubset.Draw(data, perClass, seed, train, c => $"class {c}").Data;
        log($"Subset: {subset.Description}.");
        return subset;
    }
}
