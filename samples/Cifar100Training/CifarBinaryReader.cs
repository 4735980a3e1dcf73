using System;
using System.IO;

namespace Cifar100Training;

/// <summary>
/// Reads the official CIFAR-100 binary version: records of one coarse label byte (0-19), one fine label byte (0-99)
/// and 3072 pixel bytes (R, G, B planes of 32x32), with nothing between records.
/// </summary>
internal static class CifarBinaryReader
{
    public const int RecordSize = 2 + CifarData.PixelsPerImage;
    public const int CoarseClasses = 20;

    /// <summary>Reads <c>train.bin</c> and <c>test.bin</c> from a folder.</summary>
    public static (CifarData Train, CifarData Test) ReadFolder(string directory)
    {
        if (!Directory.Exists(directory))
        {
            throw new CifarFormatException($"--data: the folder '{directory}' does not exist. Give the folder that holds train.bin and test.bin " +
                "of the CIFAR-100 binary version (cifar-100-binary.tar.gz, unpacked).");
        }

        return (Read(Path.Combine(directory, "train.bin")), Read(Path.Combine(directory, "test.bin")));
    }

    /// <summary>Reads one file, checking every record.</summary>
    public static CifarData Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new CifarFormatException($"{path}: file not found. The CIFAR-100 binary version has train.bin and test.bin in one folder.");
        }

        byte[] bytes = File.ReadAllBytes(path);
        if (bytes.Length == 0)
        {
            throw new CifarFormatException($"{path}: the file is empty; a CIFAR-100 record is {RecordSize} bytes.");
        }

        int records = bytes.Length / RecordSize;
        int rest = bytes.Length % RecordSize;
        if (rest != 0)
        {
            throw new CifarFormatException(
                $"{path}: record {records} is truncated: it has {rest} of {RecordSize} bytes " +
                $"(file length {bytes.Length} is not a multiple of {RecordSize}). The download or the copy was cut short.");
        }

        var pixels = new byte[records * CifarData.PixelsPerImage];
        var labels = new int[records];
        for (int r = 0; r < records; r++)
        {
            int offset = r * RecordSize;
            byte coarse = bytes[offset];
            byte fine = bytes[offset + 1];
            if (coarse >= CoarseClasses)
            {
                throw new CifarFormatException($"{path}: record {r} (byte offset {offset}) has coarse label {coarse}; it must be 0 to {CoarseClasses - 1}. " +
                    "Is this the CIFAR-100 binary version (not CIFAR-10, not the Python pickles)?");
            }

            if (fine >= CifarData.Classes)
            {
                throw new CifarFormatException($"{path}: record {r} (byte offset {offset + 1}) has fine label {fine}; it must be 0 to {CifarData.Classes - 1}. " +
                    "Is this the CIFAR-100 binary version (not CIFAR-10, not the Python pickles)?");
            }

            labels[r] = fine;
            Buffer.BlockCopy(bytes, offset + 2, pixels, r * CifarData.PixelsPerImage, CifarData.PixelsPerImage);
        }

        return new CifarData(pixels, labels, $"CIFAR-100 {Path.GetFileName(path)} ({records} images, {path})");
    }
}
