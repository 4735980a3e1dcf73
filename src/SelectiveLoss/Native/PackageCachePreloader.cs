using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace SelectiveLoss.Native;

/// <summary>
/// The run-time half of the Debian 12 loading fix, for hosts where no build step ran: notebooks and scripts, whose
/// kernel loads TorchSharp from the NuGet package cache rather than from a build output folder.
/// </summary>
/// <remarks>
/// It never edits the package cache. It copies TorchSharp's libLibTorchSharp.so into a per-user cache folder, applies
/// <see cref="LibTorchSharpFix"/> to the copy (atomically), loads LibTorch's own libraries from the package cache by
/// full path, then the patched copy. Its SONAME is libLibTorchSharp.so, so when TorchSharp then asks the dynamic
/// loader for that name it gets the library already loaded instead of the unloadable original.
/// Setting the environment variable <see cref="SwitchVariable"/> to <c>false</c> turns it off: it then reads, writes
/// and loads nothing. docs/debian12-loading.md describes what it writes, where and when.
/// </remarks>
internal static class PackageCachePreloader
{
    /// <summary>
    /// The environment variable that turns the run-time fix off when set to <c>false</c> (any case). It is named after
    /// the MSBuild property <c>SelectiveLossPatchLibTorchSharp</c>, which turns off the build-time fix.
    /// </summary>
    internal const string SwitchVariable = "SELECTIVELOSS_PATCH_LIBTORCHSHARP";

    private static readonly string[] LibTorchLibraries = { "libc10.so", "libtorch_cpu.so", "libtorch.so" };

    /// <summary>What the last attempt did, for diagnostics.</summary>
    public static string LastOutcome { get; private set; } = "not attempted";

    /// <summary>Preloads a patched copy when it is needed, possible and not turned off; never throws.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void TryPreload(string torchSharpAssemblyPath)
    {
        try
        {
            LastOutcome = Preload(torchSharpAssemblyPath, Environment.GetEnvironmentVariable(SwitchVariable),
                AppContext.BaseDirectory, HostVersions, CacheRoot(), path => NativeLibrary.Load(path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or DllNotFoundException or BadImageFormatException or ArgumentException)
        {
            LastOutcome = "failed: " + e.Message;
        }
    }

    /// <summary>
    /// Finds the TorchSharp package's own libLibTorchSharp.so and a LibTorch native folder beside it in the package
    /// cache, from the path of TorchSharp.dll (…/torchsharp/VERSION/lib/TFM/TorchSharp.dll).
    /// </summary>
    internal static (string? LibTorchSharp, string? LibTorchFolder) FindInPackageCache(string torchSharpAssemblyPath, string rid)
    {
        var libDir = new DirectoryInfo(Path.GetDirectoryName(torchSharpAssemblyPath) ?? ".");
        DirectoryInfo? package = libDir.Parent?.Parent;              // torchsharp/VERSION
        DirectoryInfo? packages = package?.Parent?.Parent;           // the packages root
        if (package is null || packages is null)
        {
            return (null, null);
        }

        string libTorchSharp = Path.Combine(package.FullName, "runtimes", rid, "native", "libLibTorchSharp.so");
        string? folder = Directory.Exists(Path.Combine(packages.FullName, "libtorch-cpu-" + rid))
            ? Directory.GetDirectories(Path.Combine(packages.FullName, "libtorch-cpu-" + rid))
                .Select(v => Path.Combine(v, "runtimes", rid, "native"))
                .Where(d => File.Exists(Path.Combine(d, "libtorch_cpu.so")))
                .OrderByDescending(d => d, StringComparer.Ordinal)
                .FirstOrDefault()
            : null;
        return (File.Exists(libTorchSharp) ? libTorchSharp : null, folder);
    }

    /// <summary>The per-user folder for patched copies: $XDG_CACHE_HOME/selectiveloss or ~/.cache/selectiveloss.</summary>
    internal static string CacheRoot()
    {
        string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        string root = !string.IsNullOrEmpty(xdg) ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(root, "selectiveloss", "native");
    }

    /// <summary>Makes (once, atomically) the patched copy of <paramref name="original"/> in the cache and returns its path.</summary>
    internal static string PatchedCopy(string original, ISet<string> hostVersions, string cacheRoot)
    {
        string hash;
        using (var stream = File.OpenRead(original))
        {
            hash = Convert.ToHexString(SHA256.HashData(stream))[..16].ToLowerInvariant();
        }

        string dir = Path.Combine(cacheRoot, hash);
        string target = Path.Combine(dir, "libLibTorchSharp.so");
        if (File.Exists(target) && LibTorchSharpFix.Analyze(target, hostVersions).Outcome == LibTorchSharpFixOutcome.AlreadyPatched)
        {
            return target;
        }

        Directory.CreateDirectory(dir);
        string temp = Path.Combine(dir, $"libLibTorchSharp.so.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            File.Copy(original, temp, overwrite: true);
            LibTorchSharpFixResult result = LibTorchSharpFix.Patch(temp, hostVersions);
            if (result.Outcome != LibTorchSharpFixOutcome.Patched)
            {
                throw new InvalidDataException(result.Message);
            }

            File.Move(temp, target, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
        }

        return target;
    }

    /// <summary>Whether a value of <see cref="SwitchVariable"/> turns the run-time fix off: <c>false</c> in any case.</summary>
    internal static bool IsTurnedOff(string? switchValue) =>
        string.Equals(switchValue?.Trim(), "false", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The run-time fix, with everything it depends on passed in (so that tests need no fresh process): the value of
    /// <see cref="SwitchVariable"/>, the application's folder, the host libstdc++'s symbol versions (null when none is
    /// found; asked only when needed), the cache folder, and the loader. Returns what it did, in one sentence.
    /// </summary>
    internal static string Preload(string torchSharpAssemblyPath, string? switchValue, string applicationFolder,
        Func<HashSet<string>?> hostVersions, string cacheRoot, Action<string> load)
    {
        if (IsTurnedOff(switchValue))
        {
            return "turned off by " + SwitchVariable + "=" + switchValue + ": nothing was written or loaded";
        }

        if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux))
        {
            return "not Linux";
        }

        string rid = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "linux-arm64" : "linux-x64";
        string appLocal = Path.Combine(applicationFolder, "runtimes", rid, "native", "libLibTorchSharp.so");
        if (File.Exists(appLocal) || File.Exists(Path.Combine(applicationFolder, "libLibTorchSharp.so")))
        {
            return "the application has its own copy (the build step handles it)";
        }

        var (original, libTorchFolder) = FindInPackageCache(torchSharpAssemblyPath, rid);
        if (original is null || libTorchFolder is null)
        {
            return "TorchSharp or libtorch-cpu was not found in a package cache beside " + torchSharpAssemblyPath;
        }

        HashSet<string>? versions = hostVersions();
        if (versions is null)
        {
            return "no libstdc++.so.6 found";
        }

        LibTorchSharpFixResult analysis = LibTorchSharpFix.Analyze(original, versions);
        if (analysis.Outcome != LibTorchSharpFixOutcome.Patched)
        {
            return "not needed: " + analysis.Message;
        }

        string patched = PatchedCopy(original, versions, cacheRoot);
        foreach (string library in LibTorchLibraries)
        {
            load(Path.Combine(libTorchFolder, library));
        }

        load(patched);
        return "preloaded " + patched + " (a patched copy of " + original + ")";
    }

    private static HashSet<string>? HostVersions()
    {
        string? host = LibTorchSharpFix.FindHostLibStdCxx();
        return host is null ? null : LibTorchSharpFix.ReadDefinedVersions(host);
    }
}
