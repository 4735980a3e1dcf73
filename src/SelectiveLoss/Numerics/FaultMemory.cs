using System;
using System.IO;
using System.Security.Cryptography;
using System.Text;

namespace SelectiveLoss.Numerics;

/// <summary>
/// Remembers, per CPU and TorchSharp version, that oneDNN's convolutions were wrong at the full instruction set, so that
/// later processes can cap oneDNN before its first use (the cap cannot be applied after it). One small text file per key,
/// written atomically; deleting it makes the next process check the full instruction set again.
/// </summary>
internal sealed class FaultMemory(string directory, string identity)
{
    public static FaultMemory Default() => new(DefaultDirectory(), DefaultIdentity());

    /// <summary>A memory in <paramref name="directory"/> for this CPU (tests).</summary>
    public static FaultMemory In(string directory) => new(directory, DefaultIdentity());

    /// <summary>Gets the file that holds this CPU's verdict.</summary>
    public string Path => System.IO.Path.Combine(directory, "onednn-" + Key(identity) + ".txt");

    public bool Remembers()
    {
        try
        {
            return File.Exists(Path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Writes the verdict; returns an error message instead of throwing when the folder is not writable.</summary>
    public string? Remember(string what)
    {
        try
        {
            Directory.CreateDirectory(directory);
            string temp = Path + "." + Environment.ProcessId + "." + Guid.NewGuid().ToString("N") + ".tmp";
            File.WriteAllText(temp, identity + "\n" + what + "\n");
            File.Move(temp, Path, overwrite: true);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return e.Message;
        }
    }

    internal static string DefaultDirectory()
    {
        string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        string root = !string.IsNullOrEmpty(xdg) ? xdg : System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return System.IO.Path.Combine(root, "selectiveloss", "numerics");
    }

    private static string DefaultIdentity() =>
        CpuInfo.Describe() + "; TorchSharp " + typeof(TorchSharp.torch).Assembly.GetName().Version;

    private static string Key(string text) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16].ToLowerInvariant();
}
