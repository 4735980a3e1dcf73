
namespace SelectiveLoss.Native;

/// <summary>
/// Loads TorchSharp's native library the way SelectiveLoss does, for code that uses TorchSharp before any
/// SelectiveLoss type: notebooks and scripts on Debian 12 or Ubuntu 22.04, where TorchSharp 0.107.0 cannot load as
/// shipped and no build step has fixed it.
/// </summary>
/// <remarks>
/// Call it once, before the first <c>torch.*</c> call (in a notebook: the cell after the <c>#r</c> lines). In a built
/// application the package's build step has already fixed the copy in the output folder, and this only checks that
/// TorchSharp loads. Where TorchSharp is loaded from the NuGet package cache (a notebook kernel) on a host that needs
/// it, it writes a patched copy of libLibTorchSharp.so to
/// <c>~/.cache/selectiveloss/native/&lt;hash&gt;/libLibTorchSharp.so</c> (under <c>$XDG_CACHE_HOME</c> when that is set)
/// and loads it; the package cache itself is never modified. Setting the environment variable
/// <c>SELECTIVELOSS_PATCH_LIBTORCHSHARP=false</c> turns that off: nothing is then written or loaded.
/// The constructors of <see cref="Models.DenseNet"/> and <see cref="Normalization.ChannelGroupNorm"/> and the
/// <see cref="Models.DenseNets"/> builders do the same on their first call.
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

    /// <summary>
    /// What the run-time fix did in this process, in one sentence (for logs and bug reports): for example that the
    /// application has its own copy, that it preloaded a patched copy (and its path), or that
    /// <c>SELECTIVELOSS_PATCH_LIBTORCHSHARP=false</c> turned it off.
    /// </summary>
    public static string LastFixOutcome => PackageCachePreloader.LastOutcome;
}
