using System;
using System.Buffers.Binary;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Numerics;
using System.Runtime.CompilerServices;
using Razorvine.Pickle;
using Razorvine.Pickle.Objects;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace SelectiveLoss.Models;

/// <summary>
/// Reads a state_dict that <c>torch.save</c> wrote in PyTorch's legacy format: the format of every file written
/// before PyTorch 1.6 (2020) made the zip archive the default, torchvision's published DenseNet checkpoints
/// (<c>densenet121-a639ec97.pth</c>, written by PyTorch 0.3 or older) among them. TorchSharp.PyBridge reads only the zip
/// format and refuses these with "saved using the old PyTorch format". The pickling is Razorvine.Pickle's (PyBridge's
/// own dependency); this class adds what the legacy layout needs around it.
/// </summary>
/// <remarks>
/// The layout (torch/serialization.py, <c>_legacy_save</c>): five pickles one after the other (a magic number,
/// the protocol version 1001, a dict of system facts, the object with every storage replaced by a persistent id
/// <c>('storage', type, key, location, size, view)</c>, the sorted list of storage keys), then, for each key in that
/// order, the storage's element count as a little-endian int64 followed by its bytes. Tensors are rebuilt by
/// <c>torch._utils._rebuild_tensor_v2</c> (PyTorch 0.4 and later) or <c>_rebuild_tensor</c> (0.3 and earlier), a
/// state_dict is an <c>OrderedDict</c> filled by its items (Python 3) or built from the list of them (Python 2).
/// Razorvine.Pickle keeps its constructors in one process-wide table, where PyBridge registers its own for those names
/// (for the zip format); this class wraps them, handling only the objects it creates and handing everything else to
/// PyBridge's constructor unchanged.
/// </remarks>
internal static class LegacyTorchFile
{
    // Pickle protocol 2, then LONG1 of 10 bytes: torch's MAGIC_NUMBER 0x1950a86a20f9469cfc6c, little-endian.
    private static readonly byte[] Signature = { 0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19 };
    private static readonly BigInteger Magic = BigInteger.Parse("01950a86a20f9469cfc6c", NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    private const int ProtocolVersion = 1001;

    static LegacyTorchFile()
    {
        // PyBridge registers its constructors when PyTorchUnpickler is first used; make that happen first, so that
        // ours wrap its constructors instead of being replaced by them later.
        RuntimeHelpers.RunClassConstructor(typeof(PyTorchUnpickler).TypeHandle);
        LegacyUnpickler.Install();
    }

    /// <summary>The number of bytes <see cref="Matches"/> looks at.</summary>
    public static int SignatureLength => Signature.Length;

    /// <summary>Whether a file that starts with <paramref name="head"/> is in the legacy format.</summary>
    public static bool Matches(ReadOnlySpan<byte> head) => head.StartsWith(Signature);

    /// <summary>Reads every tensor of the state_dict, on the CPU, in the file's dtypes; the caller disposes them.</summary>
    /// <exception cref="InvalidDataException">The file does not follow the layout, or ends early.</exception>
    public static Dictionary<string, Tensor> Read(Stream stream)
    {
        var unpickler = new LegacyUnpickler();
        if (unpickler.load(stream) is not BigInteger magic || magic != Magic)
        {
            throw new InvalidDataException("it does not start with torch.save's magic number");
        }

        if (unpickler.load(stream) is not int version || version != ProtocolVersion)
        {
            throw new InvalidDataException("its legacy protocol version is not " + ProtocolVersion.ToString(CultureInfo.InvariantCulture));
        }

        if (unpickler.load(stream) is Hashtable systemInfo && systemInfo["little_endian"] is false)
        {
            throw new InvalidDataException("it was written on a big-endian machine");
        }

        var tensors = new List<(string key, LegacyTensor tensor)>();
        if (unpickler.load(stream) is not IDictionary root)
        {
            throw new InvalidDataException("it holds no state_dict (a dict of tensors)");
        }

        foreach (DictionaryEntry entry in root)
        {
            if (entry.Key is string key && entry.Value is LegacyTensor tensor)
            {
                tensors.Add((key, tensor));
            }
            else
            {
                throw new InvalidDataException($"its entry '{entry.Key}' is not a tensor");
            }
        }

        if (unpickler.load(stream) is not IEnumerable keys)
        {
            throw new InvalidDataException("the list of storage keys is missing");
        }

        var storages = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (string key in keys.Cast<object>().Select(k => k as string ?? throw new InvalidDataException("a storage key is not a string")))
            {
                if (!unpickler.Storages.TryGetValue(key, out var dtype))
                {
                    throw new InvalidDataException($"storage '{key}' is listed but no tensor uses it");
                }

                storages[key] = ReadStorage(stream, dtype);
            }

            var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            try
            {
                foreach (var (key, tensor) in tensors)
                {
                    result.Add(key, tensor.Rebuild(storages, key));
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
        finally
        {
            foreach (var s in storages.Values)
            {
                s.Dispose();
            }
        }
    }

    // A storage: its element count (little-endian int64), then its bytes. A file cut short ends in an
    // EndOfStreamException, from the stream or from TorchSharp's ReadBytesFromStream.
    private static Tensor ReadStorage(Stream stream, ScalarType dtype)
    {
        Span<byte> count = stackalloc byte[8];
        stream.ReadExactly(count);
        long numel = BinaryPrimitives.ReadInt64LittleEndian(count);
        if (numel < 0 || numel > stream.Length)
        {
            throw new InvalidDataException($"a storage claims {numel} elements in a file of {stream.Length} bytes");
        }

        var storage = torch.empty(numel, dtype: dtype);
        try
        {
            storage.ReadBytesFromStream(stream);
            return storage;
        }
        catch
        {
            storage.Dispose();
            throw;
        }
    }

    private static ScalarType ScalarTypeOf(string storageType) => storageType switch
    {
        "DoubleStorage" => ScalarType.Float64,
        "FloatStorage" => ScalarType.Float32,
        "HalfStorage" => ScalarType.Float16,
        "BFloat16Storage" => ScalarType.BFloat16,
        "LongStorage" => ScalarType.Int64,
        "IntStorage" => ScalarType.Int32,
        "ShortStorage" => ScalarType.Int16,
        "CharStorage" => ScalarType.Int8,
        "ByteStorage" => ScalarType.Byte,
        "BoolStorage" => ScalarType.Bool,
        _ => throw new InvalidDataException($"storage type '{storageType}' is not supported"),
    };

    private static long[] Longs(object value) =>
        value is object[] items ? items.Select(i => Convert.ToInt64(i, CultureInfo.InvariantCulture)).ToArray()
            : throw new InvalidDataException("a tensor's size or stride is not a tuple");

    /// <summary>A storage as the pickle names it: its root storage's key, and the slice of it a view covers.</summary>
    private sealed record LegacyStorage(string Key, long Offset, long? Size);

    /// <summary>A tensor as the pickle describes it, rebuilt once every storage has been read.</summary>
    private sealed record LegacyTensor(LegacyStorage Storage, long Offset, long[] Shape, long[] Stride)
    {
        public Tensor Rebuild(Dictionary<string, Tensor> storages, string name)
        {
            if (!storages.TryGetValue(Storage.Key, out var root))
            {
                throw new InvalidDataException($"'{name}' uses storage '{Storage.Key}', which the file does not hold");
            }

            using var scope = torch.NewDisposeScope();
            var storage = Storage.Size is long size ? root.narrow(0, Storage.Offset, size) : root;
            long needed = Shape.Length == 0 ? 1 : Shape.Zip(Stride, (d, s) => d == 0 ? 0 : (d - 1) * s).Sum() + 1;
            if (Shape.Any(d => d == 0))
            {
                needed = 0;
            }

            if (Offset < 0 || Offset + needed > storage.numel())
            {
                throw new InvalidDataException($"'{name}' of shape {NormLayerSource.Format(Shape)} reaches beyond its storage of {storage.numel()} elements");
            }

            return scope.MoveToOuter(storage.as_strided(Shape, Stride, Offset).clone());
        }
    }

    private sealed class LegacyUnpickler : Unpickler
    {
        private const string Utils = "torch._utils";

        /// <summary>Each storage key the pickle names, with its dtype.</summary>
        public Dictionary<string, ScalarType> Storages { get; } = new(StringComparer.Ordinal);

        public static void Install()
        {
            foreach (string name in new[] { "_rebuild_tensor_v2", "_rebuild_tensor" })
            {
                registerConstructor(Utils, name, new RebuildTensor(Previous(Utils + "." + name)));
            }

            registerConstructor("collections", "OrderedDict", new OrderedDictFromItems(Previous("collections.OrderedDict")));
        }

        protected override object persistentLoad(object pid)
        {
            // ('storage', storage_type, root_key, location, size, view_metadata); view_metadata is None or
            // (view_key, offset, size) for a storage that is a slice of another (PyTorch 0.3 and earlier).
            if (pid is not object[] { Length: >= 5 } id || id[0] is not "storage" || id[1] is not ClassDictConstructor type
                || id[2] is not string key)
            {
                throw new InvalidDataException("it refers to data that is not a tensor storage");
            }

            var dtype = ScalarTypeOf(type.name);
            Storages[key] = dtype;
            if (id.Length > 5 && id[5] is object[] { Length: 3 } view)
            {
                return new LegacyStorage(key, Convert.ToInt64(view[1], CultureInfo.InvariantCulture),
                    Convert.ToInt64(view[2], CultureInfo.InvariantCulture));
            }

            return new LegacyStorage(key, 0, null);
        }

        private static IObjectConstructor? Previous(string name) =>
            objectConstructors.TryGetValue(name, out var constructor) ? constructor : null;
    }

    /// <summary><c>_rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks)</c> and <c>_rebuild_tensor(storage,
    /// offset, size, stride)</c> on a legacy storage; anything else goes to the constructor registered before.</summary>
    private sealed class RebuildTensor(IObjectConstructor? previous) : IObjectConstructor
    {
        public object construct(object[] args)
        {
            if (args.Length >= 4 && args[0] is LegacyStorage storage)
            {
                return new LegacyTensor(storage, Convert.ToInt64(args[1], CultureInfo.InvariantCulture), Longs(args[2]), Longs(args[3]));
            }

            return previous is not null ? previous.construct(args) : throw new PickleException("unsupported tensor in the pickle");
        }
    }

    /// <summary><c>OrderedDict(items)</c> as Python 2 pickled it; with no argument (Python 3), the constructor
    /// registered before.</summary>
    private sealed class OrderedDictFromItems(IObjectConstructor? previous) : IObjectConstructor
    {
        public object construct(object[] args)
        {
            if (args.Length == 1 && args[0] is IEnumerable items and not string)
            {
                var dict = new StateDictTable();
                foreach (object item in items)
                {
                    if (item is IList { Count: 2 } pair)
                    {
                        dict[pair[0]!] = pair[1];
                    }
                    else if (item is object[] { Length: 2 } tuple)
                    {
                        dict[tuple[0]] = tuple[1];
                    }
                }

                return dict;
            }

            return previous is not null ? previous.construct(args) : new StateDictTable();
        }
    }

    /// <summary>A state_dict: entries by key; attributes (<c>_metadata</c>) set through pickle's BUILD are ignored.</summary>
    private sealed class StateDictTable : Hashtable
    {
        // Called by the unpickler (BUILD) with the object's attributes; a state_dict's only one is _metadata.
        // ReSharper disable once UnusedMember.Local
#pragma warning disable CA1822, IDE0060
        public void __setstate__(Hashtable state)
        {
        }
#pragma warning restore CA1822, IDE0060
    }
}
