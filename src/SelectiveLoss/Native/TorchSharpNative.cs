
namespace SelectiveLoss.Native;

/// <summary>
/// Loads TorchSharp's native library the way SelectiveLoss does, for code that uses TorchSharp before any
/// SelectiveLoss type: notebooks and scripts on Debian 12 or Ubuntu 22.04, where TorchSharp 0.107.0 cannot load as
/// shipped and no build step has fixed it.
/// </summary>
/// <remarks>
/// Call it once, before the first <c>torch.*</c> call (in a notebook: the cell after the <c>#r</c> lines). In a built
/// application the package's build step has already fixed the copy in the output folder, and this only checks that
/// TorchSharp loads. Where TorchSharp is loaded from the NuGet package cache (a notebook kernel), it loads a patched
/// copy of libLibTorchSharp.so kept in <c>~/.cache/selectiveloss</c>; the package cache itself is never modified.
/// Once TorchSharp has failed to load in a process, it cannot be retried: restart the kernel and call this first.
/// </remarks>
/// <example>
/// <code>
/// #r "nuget: SelectiveLoss, 0.1.0"
/// #r "nuget: libtorch-cpu-linux-x64, 2.10.0"
/// SelectiveLoss.Native.TorchSharpNative.EnsureLoaded();
/// </code>
/// </example>
public static class TorchSharpNative
{
    /// <summary>Loads TorchSharp's CPU backend, fixing the Debian 12 load failure where needed.</summary>
    /// <exception cref="TorchSharpLoadException">TorchSharp cannot be loaded; the message names the cause and the fix.</exception>
    public static void EnsureLoaded() => TorchRuntime.EnsureLoaded();

    /// <summary>What the run-time fix did in this process, in one sentence (for logs and bug reports).</summary>
    public static string LastFixOutcome => PackageCachePreloader.LastOutcome;
}
