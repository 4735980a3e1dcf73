using System;
using System.IO;
using System.Linq;

namespace Cifar100Training;

/// <summary>
/// Reads the data set in a --data folder, recognised by the files present: CIFAR-100 (train.bin, test.bin), CIFAR-10
/// (data_batch_1.bin ... data_batch_5.bin, test_batch.bin) or MNIST-format IDX files, checked in that order.
/// </summary>
internal static class DataFolder
{
    public static (CifarData Train, CifarData Test, DataFormat Format) Read(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (!Directory.Exists(directory))
        {
            throw new DataFormatException($"--data: the folder '{directory}' does not exist. {Layouts}");
        }

        switch (Detect(directory))
        {
            case DataFormat.Cifar100:
                var (train, test) = CifarBinaryReader.ReadFolder(directory);
                return (train, test, DataFormat.Cifar100);
            case DataFormat.Cifar10:
                (train, test) = CifarBinaryReader.ReadCifar10Folder(directory);
                return (train, test, DataFormat.Cifar10);
            case DataFormat.Idx:
                (train, test) = IdxReader.ReadFolder(directory);
                return (train, test, DataFormat.Idx);
            default:
                string? inner = Directory.GetDirectories(directory).FirstOrDefault(d => Detect(d) is not null);
                throw new DataFormatException($"--data: '{directory}' holds none of the files of a known data set. {Layouts}" +
                    (inner is null ? string.Empty : $" The folder '{inner}' does: give that one."));
        }
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

        return IdxReader.AnyPresent(directory) ? DataFormat.Idx : null;
    }

    /// <summary>The folder layouts --data accepts, for error messages.</summary>
    public const string Layouts =
        "--data takes a folder with the CIFAR-100 binary version (train.bin, test.bin), the CIFAR-10 binary version " +
        "(data_batch_1.bin ... data_batch_5.bin, test_batch.bin) or MNIST-format IDX files (train-images-idx3-ubyte, " +
        "train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each plain or .gz).";
}
