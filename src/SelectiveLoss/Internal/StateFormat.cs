using System;
using System.IO;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace SelectiveLoss.Internal;

/// <summary>
/// The one binary format of the library's saved states (step, selector, score memory, InfoBatch sampler): a magic
/// number and a version, then fields, with tensors in TorchSharp's own format (<c>Tensor.Save(BinaryWriter)</c>:
/// dtype, shape, bytes). Readers check everything and throw <see cref="InvalidDataException"/>, never leaving a tensor
/// to the finalizer.
/// </summary>
internal static class StateFormat
{
    public static void WriteHeader(BinaryWriter writer, int magic, int version)
    {
        writer.Write(magic);
        writer.Write(version);
    }

    /// <exception cref="InvalidDataException">The stream holds something else, or another version.</exception>
    public static void ReadHeader(BinaryReader reader, int magic, int version, string what)
    {
        int m, v;
        try
        {
            m = reader.ReadInt32();
            v = reader.ReadInt32();
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"The stream is empty or truncated; it should hold {what} (version {version}).", e);
        }

        if (m != magic || v != version)
        {
            throw new InvalidDataException($"The stream does not hold {what} (version {version}).");
        }
    }

    /// <summary>Writes a length-prefixed block, or -1 for none.</summary>
    public static void WriteBlock(BinaryWriter writer, Action<BinaryWriter>? write)
    {
        if (write is null)
        {
            writer.Write(-1);
            return;
        }

        using var buffer = new MemoryStream();
        using (var inner = new BinaryWriter(buffer, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            write(inner);
        }

        writer.Write(checked((int)buffer.Length));
        writer.Write(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary>Reads what <see cref="WriteBlock"/> wrote: the bytes, or null for none.</summary>
    public static byte[]? ReadBlock(BinaryReader reader)
    {
        int length = reader.ReadInt32();
        if (length < -1)
        {
            throw new InvalidDataException($"The saved state holds a block of {length} bytes.");
        }

        if (length == -1)
        {
            return null;
        }

        byte[] block = reader.ReadBytes(length);
        return block.Length == length ? block : throw new EndOfStreamException();
    }

    /// <summary>Reads a tensor written by TorchSharp's <c>Tensor.Save</c> (LEB128 dtype, rank and shape, then the bytes):
    /// the header is checked against the stream's length first, so a truncated or foreign stream throws before any
    /// tensor exists; the result is detached from any dispose scope (the caller owns it).</summary>
    public static Tensor ReadTensor(BinaryReader reader, string what)
    {
        Stream stream = reader.BaseStream;
        if (!stream.CanSeek)
        {
            throw new InvalidDataException($"The saved {what} must be read from a seekable stream.");
        }

        long start = stream.Position;
        long code = Leb128(reader);
        long dims = Leb128(reader);
        var dtype = (ScalarType)code;
        if (code > int.MaxValue || !Enum.IsDefined(dtype) || dims > 16)
        {
            throw new InvalidDataException($"The saved {what} is not a tensor (dtype {code}, {dims} dimensions).");
        }

        long elements = 1;
        for (long i = 0; i < dims; i++)
        {
            elements = checked(elements * Leb128(reader));
        }

        long size;
        using (Tensor probe = empty(0, dtype))
        {
            size = checked(elements * probe.ElementSize);
        }

        if (stream.Length - stream.Position < size)
        {
            throw new EndOfStreamException();
        }

        stream.Position = start;
        return TensorExtensionMethods.Load(reader).DetachFromDisposeScope();
    }

    /// <summary>TorchSharp's LEB128 decoding of a non-negative number (its own decoder is internal).</summary>
    private static long Leb128(BinaryReader reader)
    {
        long result = 0;
        for (int shift = 0; ; shift += 7)
        {
            if (shift > 56)
            {
                throw new InvalidDataException("The saved state holds a malformed number.");
            }

            byte b = reader.ReadByte();
            result |= (long)(b & 0x7f) << shift;
            if ((b & 0x80) == 0)
            {
                return result;
            }
        }
    }

    /// <summary>Reads a 1-D tensor of <paramref name="dtype"/> into a managed array.</summary>
    public static T[] ReadArray<T>(BinaryReader reader, ScalarType dtype, string what)
        where T : unmanaged
    {
        using Tensor t = ReadTensor(reader, what);
        if (t.dtype != dtype || t.dim() != 1)
        {
            throw new InvalidDataException($"The saved {what} is a {t.dim()}-D {t.dtype} tensor, not a 1-D {dtype} one.");
        }

        return t.data<T>().ToArray();
    }

    /// <summary>Runs <paramref name="read"/>, turning a truncated stream into <see cref="InvalidDataException"/>.</summary>
    public static T Guard<T>(string what, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"The saved {what} is truncated.", e);
        }
    }
}
