using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using SelectiveLoss.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace SelectiveLoss.Models;

/// <summary>
/// Reads and writes the <c>.safetensors</c> format (what <c>safetensors.torch.save_file</c> writes from PyTorch), so
/// that a state_dict saved by PyTorch, such as torchvision's pretrained DenseNet weights, loads into a TorchSharp
/// module by name. Names follow <c>safetensors.torch</c>: <see cref="load_file"/>, <see cref="save_file"/>,
/// <see cref="load_model"/>, <see cref="save_model"/>.
/// </summary>
/// <remarks>
/// <para>
/// The format: an 8-byte little-endian header length, a JSON header that maps each tensor name to its
/// <c>dtype</c>, <c>shape</c> and <c>data_offsets</c> (plus an optional <c>__metadata__</c> map of strings), then the raw
/// little-endian tensor data. Supported dtypes: F64, F32, F16, BF16, I64, I32, I16, I8, U8 and BOOL.
/// </para>
/// <para>
/// PyTorch's own <c>.pt</c> / <c>.pth</c> files are Python pickles: reading them means running a pickle interpreter,
/// which this library does not ship. Convert them once, in Python, with
/// <c>safetensors.torch.save_file(torchvision.models.densenet121(weights="DEFAULT").state_dict(), "densenet121.safetensors")</c>.
/// torchvision's loader already renames the old checkpoint keys (<c>denselayer1.norm.1</c> to <c>denselayer1.norm1</c>)
/// before <c>state_dict()</c> is called, so the file has the keys <see cref="DenseNet"/> uses.
/// </para>
/// </remarks>
[SuppressMessage("Naming", "CA1707:Identifiers should not contain underscores",
    Justification = "Method names are safetensors.torch's (load_file, save_model, ...).")]
public static class SafeTensors
{
    private const string MetadataKey = "__metadata__";
    private const int MaxListed = 20;
    private const long MaxHeaderBytes = 100L * 1024 * 1024;

    /// <summary>Reads every tensor of a <c>.safetensors</c> file, on the CPU, in the file's dtypes.</summary>
    /// <param name="filename">The file to read.</param>
    /// <returns>The tensors by name, in the file's order. The caller owns (and disposes) them.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="filename"/> is null.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a valid <c>.safetensors</c> file.</exception>
    /// <exception cref="TorchSharpLoadException">TorchSharp's native library cannot be loaded.</exception>
    public static Dictionary<string, Tensor> load_file(string filename)
    {
        ArgumentNullException.ThrowIfNull(filename);
        TorchRuntime.EnsureLoaded();
        using var stream = File.OpenRead(filename);
        var header = ReadHeader(stream, filename);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var entry in header.Entries)
            {
                result.Add(entry.Name, ReadTensor(stream, header, entry));
            }
        }
        catch
        {
            foreach (var t in result.Values)
            {
                t.Dispose();
            }

            throw;
        }

        return result;
    }

    /// <summary>Reads the <c>__metadata__</c> strings of a <c>.safetensors</c> file (empty if it has none).</summary>
    /// <param name="filename">The file to read.</param>
    /// <returns>The metadata.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="filename"/> is null.</exception>
    /// <exception cref="InvalidDataException">The file is not a valid <c>.safetensors</c> file.</exception>
    public static IReadOnlyDictionary<string, string> load_metadata(string filename)
    {
        ArgumentNullException.ThrowIfNull(filename);
        using var stream = File.OpenRead(filename);
        return ReadHeader(stream, filename).Metadata;
    }

    /// <summary>Writes tensors to a <c>.safetensors</c> file that PyTorch's <c>safetensors.torch.load_file</c> reads.</summary>
    /// <param name="tensors">The tensors by name; each is written from a contiguous CPU copy.</param>
    /// <param name="filename">The file to create or overwrite.</param>
    /// <param name="metadata">Optional strings stored under <c>__metadata__</c>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="tensors"/> or <paramref name="filename"/> is null.</exception>
    /// <exception cref="ArgumentException">A name is empty or <c>__metadata__</c>, a tensor is null, or its dtype has
    /// no safetensors code.</exception>
    public static void save_file(IReadOnlyDictionary<string, Tensor> tensors, string filename,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentNullException.ThrowIfNull(filename);
        EnsureLittleEndian();

        var entries = new List<(string name, string dtype, long[] shape, long begin, long end)>();
        long offset = 0;
        foreach (var (name, tensor) in tensors)
        {
            if (string.IsNullOrEmpty(name) || name == MetadataKey)
            {
                throw new ArgumentException($"'{name}' cannot be a tensor name in a safetensors file.", nameof(tensors));
            }

            if (tensor is null)
            {
                throw new ArgumentException($"The tensor '{name}' is null.", nameof(tensors));
            }

            string dtype = DtypeCode(tensor.dtype)
                ?? throw new ArgumentException($"The tensor '{name}' has dtype {tensor.dtype}, which safetensors cannot store.", nameof(tensors));
            long size = tensor.numel() * tensor.element_size();
            entries.Add((name, dtype, tensor.shape, offset, offset + size));
            offset += size;
        }

        byte[] header = WriteHeaderJson(entries, metadata);
        using var stream = File.Create(filename);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        stream.Write(length);
        stream.Write(header);
        foreach (var (name, tensor) in tensors)
        {
            using var scope = torch.NewDisposeScope();
            var data = tensor.detach().cpu().contiguous();
            data.WriteBytesToStream(stream, 1 << 20);
        }
    }

    /// <summary>Writes a module's state_dict (parameters and persistent buffers) to a <c>.safetensors</c> file.</summary>
    /// <param name="model">The module.</param>
    /// <param name="filename">The file to create or overwrite.</param>
    /// <param name="metadata">Optional strings stored under <c>__metadata__</c>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="model"/> or <paramref name="filename"/> is null.</exception>
    public static void save_model(nn.Module model, string filename, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        save_file(model.state_dict(), filename, metadata);
    }

    /// <summary>
    /// Loads a <c>.safetensors</c> state_dict into <paramref name="model"/> by name, converting each tensor to the dtype
    /// of the parameter or buffer it lands in (F32, F64, F16 and BF16 into each other; integers into integers).
    /// </summary>
    /// <param name="model">The module to load into; its parameters and buffers are overwritten in place.</param>
    /// <param name="filename">The file to read.</param>
    /// <param name="strict">If true, a key of the model missing from the file or a key of the file the model does not
    /// have is an error; if false, those are skipped and returned.</param>
    /// <returns>The model's keys the file lacks, and the file's keys the model lacks (both empty after a strict load).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="model"/> or <paramref name="filename"/> is null.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a valid <c>.safetensors</c> file.</exception>
    /// <exception cref="ArgumentException">Shapes differ, a dtype cannot be converted, or (strict) keys are missing
    /// or unexpected; the message names every such key, and the model is left unchanged.</exception>
    /// <example>
    /// <code>
    /// var model = DenseNets.densenet121();
    /// SafeTensors.load_model(model, "densenet121.safetensors");
    /// </code>
    /// </example>
    public static (IReadOnlyList<string> missing, IReadOnlyList<string> unexpected) load_model(nn.Module model,
        string filename, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(filename);

        using var stream = File.OpenRead(filename);
        var header = ReadHeader(stream, filename);
        var targets = model.state_dict();
        var byName = header.Entries.ToDictionary(e => e.Name, StringComparer.Ordinal);

        var missing = targets.Keys.Where(k => !byName.ContainsKey(k)).ToList();
        var unexpected = header.Entries.Select(e => e.Name).Where(k => !targets.ContainsKey(k)).ToList();
        var problems = new List<string>();
        foreach (var (name, target) in targets)
        {
            if (!byName.TryGetValue(name, out var entry))
            {
                continue;
            }

            if (!entry.Shape.SequenceEqual(target.shape))
            {
                problems.Add($"{name}: the file has shape {Shape(entry.Shape)}, the model {Shape(target.shape)}");
            }
            else if (!Convertible(entry.Dtype, target.dtype))
            {
                problems.Add($"{name}: the file has dtype {entry.Dtype}, which does not convert to the model's {target.dtype}");
            }
        }

        if (strict && missing.Count > 0)
        {
            problems.Add($"missing keys ({missing.Count}), in the model but not in the file: {List(missing)}");
        }

        if (strict && unexpected.Count > 0)
        {
            problems.Add($"unexpected keys ({unexpected.Count}), in the file but not in the model: {List(unexpected)}");
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException(
                $"'{filename}' does not fit the {model.GetType().Name} (nothing was loaded): " + string.Join("; ", problems) + ".",
                nameof(filename));
        }

        using (torch.no_grad())
        {
            foreach (var (name, target) in targets)
            {
                if (byName.TryGetValue(name, out var entry))
                {
                    using var loaded = ReadTensor(stream, header, entry);
                    target.copy_(loaded);
                }
            }
        }

        return (missing, unexpected);
    }

    private static Tensor ReadTensor(Stream stream, Header header, Entry entry)
    {
        EnsureLittleEndian();
        stream.Seek(header.DataStart + entry.Begin, SeekOrigin.Begin);
        var tensor = torch.empty(entry.Shape, dtype: entry.Dtype);
        try
        {
            tensor.ReadBytesFromStream(stream, 1 << 20);
        }
        catch
        {
            tensor.Dispose();
            throw;
        }

        return tensor;
    }

    private static Header ReadHeader(Stream stream, string filename)
    {
        Span<byte> lengthBytes = stackalloc byte[8];
        if (stream.Length < 8 || stream.Read(lengthBytes) != 8)
        {
            throw Invalid(filename, "it is shorter than the 8-byte header length");
        }

        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength < 2 || headerLength > (ulong)MaxHeaderBytes || (long)headerLength > stream.Length - 8)
        {
            throw Invalid(filename, $"its header length {headerLength} does not fit a file of {stream.Length} bytes");
        }

        byte[] json = new byte[headerLength];
        stream.ReadExactly(json);
        long dataStart = 8 + (long)headerLength;
        long dataLength = stream.Length - dataStart;

        var entries = new List<Entry>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            using var document = JsonDocument.Parse(json);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw Invalid(filename, "its header is not a JSON object");
            }

            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.Name == MetadataKey)
                {
                    foreach (var item in property.Value.EnumerateObject())
                    {
                        metadata[item.Name] = item.Value.GetString() ?? string.Empty;
                    }

                    continue;
                }

                entries.Add(ParseEntry(property, filename, dataLength));
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException or FormatException)
        {
            throw Invalid(filename, "its header is not valid: " + e.Message, e);
        }

        return new Header(dataStart, entries, metadata);
    }

    private static Entry ParseEntry(JsonProperty property, string filename, long dataLength)
    {
        var value = property.Value;
        string code = value.GetProperty("dtype").GetString() ?? string.Empty;
        ScalarType dtype = ScalarTypeOf(code) ?? throw Invalid(filename, $"'{property.Name}' has dtype '{code}', which is not supported");
        long[] shape = value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
        long[] offsets = value.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()).ToArray();
        if (shape.Any(d => d < 0))
        {
            throw Invalid(filename, $"'{property.Name}' has a negative dimension in shape {Shape(shape)}");
        }

        if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] < offsets[0] || offsets[1] > dataLength)
        {
            throw Invalid(filename, $"'{property.Name}' has data_offsets [{string.Join(", ", offsets)}] outside the {dataLength} data bytes");
        }

        long expected = shape.Aggregate(1L, (a, b) => checked(a * b)) * ElementSize(dtype);
        if (offsets[1] - offsets[0] != expected)
        {
            throw Invalid(filename, $"'{property.Name}' has {offsets[1] - offsets[0]} data bytes, but {code} {Shape(shape)} needs {expected}");
        }

        return new Entry(property.Name, dtype, shape, offsets[0]);
    }

    private static byte[] WriteHeaderJson(List<(string name, string dtype, long[] shape, long begin, long end)> entries,
        IReadOnlyDictionary<string, string>? metadata)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            if (metadata is not null && metadata.Count > 0)
            {
                writer.WriteStartObject(MetadataKey);
                foreach (var (key, value) in metadata)
                {
                    writer.WriteString(key, value);
                }

                writer.WriteEndObject();
            }

            foreach (var (name, dtype, shape, begin, end) in entries)
            {
                writer.WriteStartObject(name);
                writer.WriteString("dtype", dtype);
                writer.WriteStartArray("shape");
                foreach (long d in shape)
                {
                    writer.WriteNumberValue(d);
                }

                writer.WriteEndArray();
                writer.WriteStartArray("data_offsets");
                writer.WriteNumberValue(begin);
                writer.WriteNumberValue(end);
                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            writer.WriteEndObject();
        }

        // The format pads the header with spaces so that the data starts 8-byte aligned.
        while (buffer.Length % 8 != 0)
        {
            buffer.WriteByte((byte)' ');
        }

        return buffer.ToArray();
    }

    private static string? DtypeCode(ScalarType type) => type switch
    {
        ScalarType.Float64 => "F64",
        ScalarType.Float32 => "F32",
        ScalarType.Float16 => "F16",
        ScalarType.BFloat16 => "BF16",
        ScalarType.Int64 => "I64",
        ScalarType.Int32 => "I32",
        ScalarType.Int16 => "I16",
        ScalarType.Int8 => "I8",
        ScalarType.Byte => "U8",
        ScalarType.Bool => "BOOL",
        _ => null,
    };

    private static ScalarType? ScalarTypeOf(string code) => code switch
    {
        "F64" => ScalarType.Float64,
        "F32" => ScalarType.Float32,
        "F16" => ScalarType.Float16,
        "BF16" => ScalarType.BFloat16,
        "I64" => ScalarType.Int64,
        "I32" => ScalarType.Int32,
        "I16" => ScalarType.Int16,
        "I8" => ScalarType.Int8,
        "U8" => ScalarType.Byte,
        "BOOL" => ScalarType.Bool,
        _ => null,
    };

    private static long ElementSize(ScalarType type) => type switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        _ => 1,
    };

    private static bool IsFloat(ScalarType type) =>
        type is ScalarType.Float64 or ScalarType.Float32 or ScalarType.Float16 or ScalarType.BFloat16;

    private static bool Convertible(ScalarType from, ScalarType to) =>
        from == to || (IsFloat(from) && IsFloat(to)) || (!IsFloat(from) && from != ScalarType.Bool && !IsFloat(to) && to != ScalarType.Bool);

    private static void EnsureLittleEndian()
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("safetensors data is little-endian; this machine is big-endian.");
        }
    }

    private static string Shape(long[] shape) => NormLayerSource.Format(shape);

    private static string List(List<string> keys) =>
        string.Join(", ", keys.Take(MaxListed)) +
        (keys.Count > MaxListed ? ", ... and " + (keys.Count - MaxListed).ToString(CultureInfo.InvariantCulture) + " more" : string.Empty);

    private static InvalidDataException Invalid(string filename, string why, Exception? inner = null) =>
        new($"'{filename}' is not a valid safetensors file: {why}.", inner);

    private sealed record Entry(string Name, ScalarType Dtype, long[] Shape, long Begin);

    private sealed record Header(long DataStart, List<Entry> Entries, Dictionary<string, string> Metadata);
}
