using System;
using System.Globalization;
using System.IO;
using System.Linq;

namespace Cifar100Training;

/// <summary>
/// Reads the official CIFAR binary versions. CIFAR-100: <c>train.bin</c> and <c>test.bin</c>, records of one coarse
/// label byte (0-19), one fine label byte (0-99) and 3072 pixel bytes (R, G, B planes of 32x32); the fine label is the
/// class. CIFAR-10: <c>data_batch_1.bin</c> to <c>data_batch_5.bin</c> and <c>test_batch.bin</c>, records of one label
/// byte (0-9) and 3072 pixel bytes. Nothing between records in either.
/// </summary>
internal static class CifarBinaryReader
{
    public const int RecordSize = 2 + CifarData.PixelsPerImage;
    public const int Cifar10RecordSize = 1 + CifarData.PixelsPerImage;
    public const int CoarseClasses = 20;
    public const int FineClasses = 100;
    public const int Cifar10Classes = 10;

    public static readonly string[] Cifar100Files = { "train.bin", "test.bin" };
    public static readonly string[] Cifar10TrainFiles = Enumerable.Range(1, 5).Select(i => string.Create(CultureInfo.InvariantCulture, $"data_batch_{i}.bin")).ToArray();
    public const string Cifar10TestFile = "test_batch.bin";

    /// <summary>Reads <c>train.bin</c> and <c>test.bin</c> of the CIFAR-100 binary version from a folder.</summary>
    public static (CifarData Train, CifarData Test) ReadFolder(string directory) =>
        (Read(Path.Combine(directory, "train.bin")), Read(Path.Combine(directory, "test.bin")));

    /// <summary>Reads the five training batches and the test batch of the CIFAR-10 binary version from a folder.</summary>
    public static (CifarData Train, CifarData Test) ReadCifar10Folder(string directory)
    {
        var parts = Cifar10TrainFiles.Select(f => ReadCifar10(Path.Combine(directory, f))).ToList();
        var pixels = new byte[parts.Sum(p => (long)p.Pixels.Length)];
        long at = 0;
        foreach (var part in parts)
        {
            Buffer.BlockCopy(part.Pixels, 0, pixels, (int)at, part.Pixels.Length);
            at += part.Pixels.Length;
        }

        var train = new CifarData(pixels, parts.SelectMany(p => p.Labels).ToArray(), Cifar10Classes,
            $"CIFAR-10 data_batch_1..5.bin ({parts.Sum(p => p.Count)} images, {directory})");
        return (train, ReadCifar10(Path.Combine(directory, Cifar10TestFile)));
    }

    /// <summary>Reads one CIFAR-100 file, checking every record.</summary>
    public static CifarData Read(string path)
    {
        byte[] bytes = ReadAll(path, "The CIFAR-100 binary version has train.bin and test.bin in one folder.");
        if (bytes.Length % RecordSize != 0 && bytes.Length % Cifar10RecordSize == 0)
        {
            throw new DataFormatException(string.Create(CultureInfo.InvariantCulture,
                $"{path}: looks like the CIFAR-10 binary version (3,073-byte records: its length {bytes.Length} is a multiple of 3,073, not of 3,074); " +
                $"this reader needs CIFAR-100's 3,074-byte records in train.bin and test.bin. For CIFAR-10, give --data the folder of the " +
                $"original data_batch_1.bin ... data_batch_5.bin and test_batch.bin (cifar-10-binary.tar.gz, unpacked): it is read as CIFAR-10."));
        }

        int records = CheckLength(path, bytes.Length, RecordSize, "CIFAR-100");
        var pixels = new byte[records * CifarData.PixelsPerImage];
        var labels = new int[records];
        for (int r = 0; r < records; r++)
        {
            int offset = r * RecordSize;
            byte coarse = bytes[offset];
            byte fine = bytes[offset + 1];
            if (coarse >= CoarseClasses)
            {
                throw new DataFormatException($"{path}: record {r} (byte offset {offset}) has coarse label {coarse}; it must be 0 to {CoarseClasses - 1}. " +
                    "Is this the CIFAR-100 binary version (not CIFAR-10, not the Python pickles)?");
            }

            if (fine >= FineClasses)
            {
                throw new DataFormatException($"{path}: record {r} (byte offset {offset + 1}) has fine label {fine}; it must be 0 to {FineClasses - 1}. " +
                    "Is this the CIFAR-100 binary version (not CIFAR-10, not the Python pickles)?");
            }

            labels[r] = fine;
            Buffer.BlockCopy(bytes, offset + 2, pixels, r * CifarData.PixelsPerImage, CifarData.PixelsPerImage);
        }

        return new CifarData(pixels, labels, FineClasses, $"CIFAR-100 {Path.GetFileName(path)} ({records} images, {path})");
    }

    /// <summary>Reads one CIFAR-10 batch file, checking every record.</summary>
    public static CifarData ReadCifar10(string path)
    {
        byte[] bytes = ReadAll(path, "The CIFAR-10 binary version has data_batch_1.bin to data_batch_5.bin and test_batch.bin in one folder.");
        if (bytes.Length % Cifar10RecordSize != 0 && bytes.Length % RecordSize == 0)
        {
            throw new DataFormatException(string.Create(CultureInfo.InvariantCulture,
                $"{path}: looks like the CIFAR-100 binary version (3,074-byte records: its length {bytes.Length} is a multiple of 3,074, not of 3,073); " +
                $"CIFAR-10's batches have 3,073-byte records. For CIFAR-100, give --data the folder of train.bin and test.bin."));
        }

        int records = CheckLength(path, bytes.Length, Cifar10RecordSize, "CIFAR-10");
        var pixels = new byte[records * CifarData.PixelsPerImage];
        var labels = new int[records];
        for (int r = 0; r < records; r++)
        {
            int offset = r * Cifar10RecordSize;
            byte label = bytes[offset];
            if (label >= Cifar10Classes)
            {
                throw new DataFormatException($"{path}: record {r} (byte offset {offset}) has label {label}; it must be 0 to {Cifar10Classes - 1}. " +
                    "Is this the CIFAR-10 binary version (not CIFAR-100, not the Python pickles)?");
            }

            labels[r] = label;
            Buffer.BlockCopy(bytes, offset + 1, pixels, r * CifarData.PixelsPerImage, CifarData.PixelsPerImage);
        }

        return new CifarData(pixels, labels, Cifar10Classes, $"CIFAR-10 {Path.GetFileName(path)} ({records} images, {path})");
    }

    private static byte[] ReadAll(string path, string layout)
    {
        if (!File.Exists(path))
        {
            throw new DataFormatException($"{path}: file not found. {layout}");
        }

        return File.ReadAllBytes(path);
    }

    private static int CheckLength(string path, long length, int recordSize, string format)
    {
        if (length == 0)
        {
            throw new DataFormatException($"{path}: the file is empty; a {format} record is {recordSize} bytes.");
        }

        long records = length / recordSize;
        long rest = length % recordSize;
        if (rest != 0)
        {
            throw new DataFormatException(
                $"{path}: record {records} is truncated: it has {rest} of {recordSize} bytes " +
                $"(file length {length} is not a multiple of {recordSize}). The download or the copy was cut short.");
        }

        return checked((int)records);
    }
}
