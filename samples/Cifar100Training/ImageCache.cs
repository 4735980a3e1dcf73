using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;

namespace Cifar100Training;

/// <summary>
/// The decoded images of one image folder in one file, so a folder is decoded once: one file per data folder
/// (<c>&lt;folder name&gt;-&lt;hash of its full path&gt;.imgcache</c>) in the cache folder, holding the
/// fingerprint of the folder's files and the decoder's settings it was made from, then every image of both splits in
/// file order, raw (3,072 bytes each). It is written atomically (a reader sees the old file or the new one) and
/// replaced when the fingerprint changes, so a changed, added, removed or touched image decodes the folder again; a
/// damaged or foreign file is decoded over, never trusted.
/// </summary>
internal static class ImageCache
{
    public const string Extension = ".imgcache";
    private const int FormatVersion = 1;
    private const long EndMarker = 0x444E455F45484341; // "ACHE_END"
    private static readonly byte[] Magic = "SLIMGCCH"u8.ToArray();

    /// <summary>
    /// Where the cache goes when the caller names no folder: <c>$XDG_CACHE_HOME/selectiveloss/image-folders</c>, else
    /// <c>~/.cache/selectiveloss/image-folders</c> (on Windows, under LocalApplicationData). Never the data folder,
    /// which may be read-only or a checkout.
    /// </summary>
    public static string DefaultDirectory()
    {
        string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        string root = !string.IsNullOrEmpty(xdg) && Path.IsPathRooted(xdg) ? xdg
            : OperatingSystem.IsWindows() ? Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData)
            : !string.IsNullOrEmpty(home) ? Path.Combine(home, ".cache")
            : Path.GetTempPath();
        return Path.Combine(root, "selectiveloss", "image-folders");
    }

    /// <summary>The cache file of the data folder <paramref name="root"/> in <paramref name="cacheDirectory"/>.</summary>
    public static string PathFor(string cacheDirectory, string root)
    {
        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(full)))[..16];
        string name = new(Path.GetFileName(full).Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_').ToArray());
        return Path.Combine(Path.GetFullPath(cacheDirectory), $"{(name.Length == 0 ? "root" : name)}-{hash}{Extension}");
    }

    /// <summary>The cached images when the file exists and was made from <paramref name="fingerprint"/>; else null and why.</summary>
    public static DecodedImages? TryRead(string path, string settings, string fingerprint, int trainCount, int testCount, out string reason)
    {
        if (!File.Exists(path))
        {
            reason = "there is no cache of this folder yet";
            return null;
        }

        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            using var reader = new BinaryReader(stream, Encoding.UTF8);
            if (!reader.ReadBytes(Magic.Length).AsSpan().SequenceEqual(Magic) || reader.ReadInt32() != FormatVersion)
            {
                reason = "it is not a cache file of this version";
                return null;
            }

            string storedSettings = reader.ReadString();
            if (storedSettings != settings)
            {
                reason = $"it was decoded with other settings ({storedSettings})";
                return null;
            }

            if (reader.ReadString() != fingerprint)
            {
                reason = "the folder's images changed since it was written (names, sizes or modification times)";
                return null;
            }

            int train = reader.ReadInt32();
            int test = reader.ReadInt32();
            var conversions = new ConversionCounts(reader.ReadInt32(), reader.ReadInt32(), reader.ReadInt32(), Optional(reader), Optional(reader), Optional(reader));
            long expected = stream.Position + (((long)train + test) * CifarData.PixelsPerImage) + sizeof(long);
            if (train != trainCount || test != testCount || stream.Length != expected)
            {
                reason = string.Create(CultureInfo.InvariantCulture,
                    $"it is damaged ({stream.Length:N0} bytes where {train:N0} + {test:N0} images need {expected:N0})");
                return null;
            }

            var trainPixels = new byte[train * CifarData.PixelsPerImage];
            var testPixels = new byte[test * CifarData.PixelsPerImage];
            stream.ReadExactly(trainPixels);
            stream.ReadExactly(testPixels);
            if (reader.ReadInt64() != EndMarker)
            {
                reason = "it is damaged (its end marker is missing)";
                return null;
            }

            reason = string.Empty;
            return new DecodedImages(trainPixels, testPixels, conversions);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            reason = $"it cannot be read ({e.Message})";
            return null;
        }
    }

    /// <summary>Writes the cache file atomically; temporary files of writers killed over an hour ago are removed first.</summary>
    public static void Write(string path, string settings, string fingerprint, DecodedImages images)
    {
        ArgumentNullException.ThrowIfNull(images);
        RemoveStaleTemporaries(path);
        AtomicFile.Write(path, temp =>
        {
            using var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
            using var writer = new BinaryWriter(stream, Encoding.UTF8);
            writer.Write(Magic);
            writer.Write(FormatVersion);
            writer.Write(settings);
            writer.Write(fingerprint);
            writer.Write(images.Train.Length / CifarData.PixelsPerImage);
            writer.Write(images.Test.Length / CifarData.PixelsPerImage);
            ConversionCounts c = images.Conversions;
            writer.Write(c.Grey);
            writer.Write(c.Alpha);
            writer.Write(c.Resized);
            writer.Write(c.GreyExample ?? string.Empty);
            writer.Write(c.AlphaExample ?? string.Empty);
            writer.Write(c.ResizedExample ?? string.Empty);
            writer.Write(images.Train);
            writer.Write(images.Test);
            writer.Write(EndMarker);
        });
    }

    private static string? Optional(BinaryReader reader)
    {
        string s = reader.ReadString();
        return s.Length == 0 ? null : s;
    }

    private static void RemoveStaleTemporaries(string path)
    {
        string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is null || !Directory.Exists(directory))
        {
            return;
        }

        foreach (var stale in new DirectoryInfo(directory).EnumerateFiles(Path.GetFileName(path) + ".tmp-*")
            .Where(f => f.LastWriteTimeUtc < DateTime.UtcNow.AddHours(-1)))
        {
            try
            {
                stale.Delete();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Another user's, or still open: left where it is; it never takes the cache file's name.
            }
        }
    }
}
