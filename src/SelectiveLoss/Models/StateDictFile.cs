using System;
using System.Buffers.Binary;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using Razorvine.Pickle;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace SelectiveLoss.Models;

/// <summary>
/// Reads a whole state_dict file into new CPU tensors, whatever its format, found from its first bytes (not its
/// extension): <c>torch.save</c>'s zip archive (PyTorch 1.6 and later; <c>.pth</c>, <c>.pt</c>, <c>.bin</c>) and
/// safetensors through TorchSharp.PyBridge, <c>torch.save</c>'s legacy format through <see cref="LegacyTorchFile"/>.
/// Every failure becomes a <see cref="FileNotFoundException"/> or an <see cref="InvalidDataException"/> that names the
/// file; PyBridge's own exceptions (a <c>NotImplementedException</c> saying "old PyTorch format" for random bytes, a zip
/// or JSON error) are kept as the inner exception.
/// </summary>
internal static class StateDictFile
{
    private const string Formats = "a state_dict written by PyTorch's torch.save (.pth, .pt, .bin) or safetensors";

    /// <summary>Reads the file's tensors by name; the caller owns and disposes them.</summary>
    public static Dictionary<string, Tensor> Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException(
                $"The state_dict file '{path}' does not exist{(Directory.Exists(path) ? " (it is a folder)" : string.Empty)}.", path);
        }

        try
        {
            using var stream = File.OpenRead(path);
            var head = new byte[Math.Max(LegacyTorchFile.SignatureLength, 9)];
            int read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
            stream.Position = 0;
            var start = head.AsSpan(0, read);
            if (start.StartsWith("PK\u0003\u0004"u8))
            {
                return FromPyBridgeArchive(stream);
            }

            if (LegacyTorchFile.Matches(start))
            {
                return LegacyTorchFile.Read(stream);
            }

            if (IsSafetensors(start, stream.Length))
            {
                return Safetensors.LoadStateDict(stream, leaveOpen: true);
            }

            throw new InvalidDataException(
                read == 0 ? "it is empty" : "it starts with neither a zip archive, torch.save's legacy magic number nor a safetensors header");
        }
        catch (Exception e) when (e is InvalidDataException or IOException or NotImplementedException or PickleException
            or JsonException or InvalidCastException or KeyNotFoundException or ArgumentException or FormatException
            or IndexOutOfRangeException or InvalidOperationException or OverflowException or NullReferenceException
            && e is not FileNotFoundException and not UnauthorizedAccessException)
        {
            throw new InvalidDataException($"'{path}' is not {Formats}, or it is damaged: {Describe(e)}", e);
        }
    }

    private static Dictionary<string, Tensor> FromPyBridgeArchive(Stream stream)
    {
        Hashtable table = PyTorchUnpickler.UnpickleStateDict(stream, leaveOpen: true);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in table)
        {
            if (entry.Key is string key && entry.Value is Tensor tensor)
            {
                result.Add(key, tensor);
            }
        }

        if (result.Count != table.Count)
        {
            foreach (var t in result.Values)
            {
                t.Dispose();
            }

            var odd = table.Cast<DictionaryEntry>().First(e => e.Key is not string || e.Value is not Tensor);
            throw new InvalidDataException($"its entry '{odd.Key}' is not a tensor, so it is not a state_dict");
        }

        return result;
    }

    // 8 bytes of header length (little-endian), then the JSON header, which starts with '{'.
    private static bool IsSafetensors(ReadOnlySpan<byte> head, long length) =>
        head.Length >= 9 && head[8] == (byte)'{' && BinaryPrimitives.ReadUInt64LittleEndian(head) is ulong n && n >= 2
        && n <= (ulong)(length - 8);

    private static string Describe(Exception e) => e switch
    {
        // PyBridge says this for anything that is not a zip; the sniffing above sends it only zips.
        NotImplementedException => "TorchSharp.PyBridge could not read it (" + e.Message + ")",
        InvalidDataException when e.InnerException is null => e.Message,
        EndOfStreamException => "it ends early, cut short (" + e.Message + ")",
        _ => e.GetType().Name + ": " + e.Message,
    } + ".";
}
