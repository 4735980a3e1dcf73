using System;
using System.Buffers.Binary;
using System.Globalization;
using System.IO;
using System.IO.Compression;
using System.Linq;

namespace Cifar100Training;

/// <summary>
/// Reads MNIST-format IDX files (MNIST, Fashion-MNIST, KMNIST): <c>train-images-idx3-ubyte</c>,
/// <c>train-labels-idx1-ubyte</c>, <c>t10k-images-idx3-ubyte</c>, <c>t10k-labels-idx1-ubyte</c>, each optionally
/// gzip-compressed as <c>.gz</c>. Images are 28x28 unsigned bytes (magic 0x00000803), labels unsigned bytes 0 to 9
/// (magic 0x00000801), all integers big-endian. Each grey image is padded by 2 zero pixels on every side to 32x32 and
/// repeated to 3 channels, so the CIFAR-stem DenseNet (which takes [N, 3, H, W]) serves digits unchanged.
/// </summary>
internal static class IdxReader
{
    public const int Side = 28;
    public const int Padding = (CifarData.Side - Side) / 2;
    public const int Classes = 10;
    public const int ImagesMagic = 0x00000803;
    public const int LabelsMagic = 0x00000801;
    private const int ImagesHeader = 16;
    private const int LabelsHeader = 8;

    public static readonly string[] FileNames =
    {
        "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
    };

    /// <summary>Whether any of the four files (plain or .gz) is in the folder.</summary>
    public static bool AnyPresent(string directory) =>
        FileNames.Any(n => File.Exists(Path.Combine(directory, n)) || File.Exists(Path.Combine(directory, n + ".gz")));

    /// <summary>Reads the training and the test split from a folder.</summary>
    public static (CifarData Train, CifarData Test) ReadFolder(string directory) =>
        (Read(Find(directory, FileNames[0]), Find(directory, FileNames[1]), "train"),
         Read(Find(directory, FileNames[2]), Find(directory, FileNames[3]), "test"));

    /// <summary>Reads one split: an images file and a labels file, which must hold the same number of records.</summary>
    public static CifarData Read(string imagesPath, string labelsPath, string split)
    {
        byte[] images = Load(imagesPath);
        byte[] labels = Load(labelsPath);
        int imageCount = CheckImages(imagesPath, images);
        int labelCount = CheckLabels(labelsPath, labels);
        if (imageCount != labelCount)
        {
            throw new DataFormatException(string.Create(CultureInfo.InvariantCulture,
                $"{imagesPath} holds {imageCount} images but {labelsPath} holds {labelCount} labels: the two files of a split must hold " +
                $"the same number of records. Are they from the same data set and split (train-* with train-*, t10k-* with t10k-*)?"));
        }

        var pixels = new byte[imageCount * CifarData.PixelsPerImage];
        var classes = new int[imageCount];
        const int Plane = CifarData.Side * CifarData.Side;
        for (int i = 0; i < imageCount; i++)
        {
            byte label = labels[LabelsHeader + i];
            if (label >= Classes)
            {
                throw new DataFormatException(string.Create(CultureInfo.InvariantCulture,
                    $"{labelsPath}: record {i} has label {label}; MNIST-format labels are 0 to {Classes - 1} " +
                    $"(data sets with more classes in IDX files, such as EMNIST letters, are not supported)."));
            }

            classes[i] = label;
            int src = ImagesHeader + (i * Side * Side);
            int dst = i * CifarData.PixelsPerImage;
            for (int y = 0; y < Side; y++)
            {
                var row = images.AsSpan(src + (y * Side), Side);
                for (int c = 0; c < CifarData.Channels; c++)
                {
                    row.CopyTo(pixels.AsSpan(dst + (c * Plane) + ((y + Padding) * CifarData.Side) + Padding, Side));
                }
            }
        }

        return new CifarData(pixels, classes, Classes, string.Create(CultureInfo.InvariantCulture,
            $"MNIST-format {split} ({imageCount} images of 28x28 padded to 32x32, {Path.GetDirectoryName(Path.GetFullPath(imagesPath))})"));
    }

    /// <summary>The file's bytes, decompressed when its name ends in .gz.</summary>
    public static byte[] Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new DataFormatException($"{path}: file not found.");
        }

        byte[] raw = File.ReadAllBytes(path);
        if (!path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase))
        {
            return raw;
        }

        if (raw.Length < 2 || raw[0] != 0x1f || raw[1] != 0x8b)
        {
            throw new DataFormatException(string.Create(CultureInfo.InvariantCulture,
                $"{path}: not a gzip file (it starts with {Hex(raw, 2)}; gzip files start with 1f 8b). " +
                $"If it is already unpacked, remove the .gz from its name."));
        }

        try
        {
            using var gzip = new GZipStream(new MemoryStream(raw), CompressionMode.Decompress);
            using var result = new MemoryStream();
            gzip.CopyTo(result);
            return result.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw new DataFormatException($"{path}: the gzip data is damaged ({e.Message}). Download the file again.", e);
        }
    }

    private static int CheckImages(string path, byte[] bytes)
    {
        int count = CheckHeader(path, bytes, ImagesMagic, ImagesHeader, "images", 3);
        int rows = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(8));
        int columns = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(12));
        if (rows != Side || columns != Side)
        {
            throw new DataFormatException(string.Create(CultureInfo.InvariantCulture,
                $"{path}: images are {rows}x{columns} pixels; this reader needs MNIST-format images of {Side}x{Side}."));
        }

        CheckRecords(path, bytes.Length, ImagesHeader, Side * Side, count, "image");
        return count;
    }

    private static int CheckLabels(string path, byte[] bytes)
    {
        int count = CheckHeader(path, bytes, LabelsMagic, LabelsHeader, "labels", 1);
        CheckRecords(path, bytes.Length, LabelsHeader, 1, count, "label");
        return count;
    }

    /// <summary>Checks the magic number and the header's length; returns the record count.</summary>
    private static int CheckHeader(string path, byte[] bytes, int magic, int headerSize, string what, int dimensions)
    {
        if (bytes.Length < 4)
        {
            throw new DataFormatException(string.Create(CultureInfo.InvariantCulture,
                $"{path}: truncated: {bytes.Length} bytes, not even the 4-byte magic number of an IDX {what} file."));
        }

        int found = BinaryPrimitives.ReadInt32BigEndian(bytes);
        if (found != magic)
        {
            string hint = bytes[0] == 0x1f && bytes[1] == 0x8b
                ? " It looks gzip-compressed: name it .gz or unpack it."
                : found == (magic == ImagesMagic ? LabelsMagic : ImagesMagic)
                    ? $" That is the magic number of an IDX {(magic == ImagesMagic ? "labels" : "images")} file: are the file names swapped?"
                    : string.Empty;
            throw new DataFormatException(string.Create(CultureInfo.InvariantCulture,
                $"{path}: wrong magic number 0x{found:x8}; an IDX {what} file of unsigned bytes with {dimensions} dimension{(dimensions == 1 ? string.Empty : "s")} starts with 0x{magic:x8}.{hint}"));
        }

        if (bytes.Length < headerSize)
        {
            throw new DataFormatException(string.Create(CultureInfo.InvariantCulture,
                $"{path}: truncated in its header: {bytes.Length} bytes where the IDX {what} header needs {headerSize}."));
        }

        int count = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4));
        if (count <= 0)
        {
            throw new DataFormatException(string.Create(CultureInfo.InvariantCulture, $"{path}: the header says {count} records; it must be at least 1."));
        }

        return count;
    }

    private static void CheckRecords(string path, long length, int headerSize, int recordSize, int count, string record)
    {
        long expected = headerSize + ((long)count * recordSize);
        if (length < expected)
        {
            long complete = (length - headerSize) / recordSize;
            throw new DataFormatException(string.Create(CultureInfo.InvariantCulture,
                $"{path}: truncated at {record} {complete}: the file has {length} bytes where the {count} records its header announces need {expected}. " +
                $"The download or the copy was cut short."));
        }

        if (length > expected)
        {
            throw new DataFormatException(string.Create(CultureInfo.InvariantCulture,
                $"{path}: {length - expected} bytes after the last of the {count} records its header announces (the file has {length} bytes, " +
                $"{expected} expected): the header's count does not match the data."));
        }
    }

    /// <summary>The plain file when present, else the .gz one; names both when neither is there.</summary>
    private static string Find(string directory, string name)
    {
        string plain = Path.Combine(directory, name);
        string gz = plain + ".gz";
        if (File.Exists(plain))
        {
            return plain;
        }

        if (File.Exists(gz))
        {
            return gz;
        }

        throw new DataFormatException(
            $"{plain}: file not found (nor {gz}). MNIST-format data needs all four of {string.Join(", ", FileNames)}, each plain or .gz, in one folder.");
    }

    private static string Hex(byte[] bytes, int count) =>
        bytes.Length == 0 ? "nothing (the file is empty)" : string.Join(' ', bytes.Take(count).Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));
}
