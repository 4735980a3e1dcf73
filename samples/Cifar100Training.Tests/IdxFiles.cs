using System;
using System.Buffers.Binary;
using System.IO;
using System.IO.Compression;

namespace Cifar100Training.Tests;

/// <summary>Builds tiny MNIST-format IDX files for the reader tests.</summary>
internal static class IdxFiles
{
    /// <summary>An images file: magic, count, rows, columns, then image i filled with (i + 1) * 10 + pixel index % 7.</summary>
    public static byte[] Images(int count, int rows = 28, int columns = 28, int magic = IdxReader.ImagesMagic)
    {
        var bytes = new byte[16 + (count * rows * columns)];
        BinaryPrimitives.WriteInt32BigEndian(bytes, magic);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(8), rows);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(12), columns);
        for (int i = 0; i < count * rows * columns; i++)
        {
            bytes[16 + i] = (byte)((((i / (rows * columns)) + 1) * 10) + (i % 7));
        }

        return bytes;
    }

    public static byte[] Labels(params byte[] labels)
    {
        var bytes = new byte[8 + labels.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes, IdxReader.LabelsMagic);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), labels.Length);
        labels.CopyTo(bytes, 8);
        return bytes;
    }

    public static byte[] Gzip(byte[] data)
    {
        using var result = new MemoryStream();
        using (var gzip = new GZipStream(result, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(data);
        }

        return result.ToArray();
    }

    /// <summary>Writes a complete, valid MNIST-format folder: 3 training and 2 test images, gzipped.</summary>
    public static void WriteFolder(string directory)
    {
        File.WriteAllBytes(Path.Combine(directory, "train-images-idx3-ubyte.gz"), Gzip(Images(3)));
        File.WriteAllBytes(Path.Combine(directory, "train-labels-idx1-ubyte.gz"), Gzip(Labels(7, 0, 9)));
        File.WriteAllBytes(Path.Combine(directory, "t10k-images-idx3-ubyte.gz"), Gzip(Images(2)));
        File.WriteAllBytes(Path.Combine(directory, "t10k-labels-idx1-ubyte.gz"), Gzip(Labels(1, 2)));
    }
}
