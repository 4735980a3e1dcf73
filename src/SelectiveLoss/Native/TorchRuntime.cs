using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using TorchSharp;

namespace SelectiveLoss.Native;

/// <summary>
/// The one guard of the Debian 12 loading fix: loads TorchSharp's native library (with the run-time fix of
/// <see cref="PackageCachePreloader"/> first) and turns a failed load into a <see cref="TorchSharpLoadException"/> that
/// names the real cause.
/// </summary>
/// <remarks>
/// Only entry points that create tensors or modules from nothing call it: the <see cref="Models.DenseNet"/> constructor
/// (and so the <see cref="Models.DenseNets"/> builders), the <see cref="Normalization.ChannelGroupNorm"/> and
/// <see cref="Normalization.HeldScalarBatchNorm2d"/> constructors, <see cref="Numerics.NumericsCheck"/>,
/// and <see cref="TorchSharpNative.EnsureLoaded"/>. It also caps oneDNN's instruction set where an earlier process found
/// its convolutions wrong (<see cref="Numerics.NumericsCheck"/>), before LibTorch can first use oneDNN. An entry point that
/// receives a tensor or a module needs no call: its caller has already loaded TorchSharp by making one.
/// </remarks>
internal static class TorchRuntime
{
    private static volatile bool loaded;

    /// <summary>Loads TorchSharp's CPU backend once; throws <see cref="TorchSharpLoadException"/> if it cannot.</summary>
    public static void EnsureLoaded()
    {
        if (loaded)
        {
            return;
        }

        PackageCachePreloader.TryPreload(typeof(torch).Assembly.Location);
        // Before LibTorch can first use oneDNN: oneDNN reads its instruction-set cap only then (Numerics.NumericsCheck).
        Numerics.OneDnnIsaCap.ApplyRemembered(Numerics.FaultMemory.Default());
        try
        {
            torch.InitializeDeviceType(DeviceType.CPU);
            loaded = true;
        }
        catch (Exception e) when (e is TypeInitializationException or NotSupportedException or DllNotFoundException)
        {
            throw new TorchSharpLoadException(
                Explain(e, CandidateLibraries(), LibTorchSharpFix.FindHostLibStdCxx(), runtimeFixOutcome: PackageCachePreloader.LastOutcome), e);
        }
    }

    /// <summary>
    /// Calls <see cref="EnsureLoaded()"/> and returns <paramref name="moduleName"/>, for a module constructor's
    /// <c>base(...)</c> call: TorchSharp's <c>Module(string)</c> constructor already calls into the native library, before
    /// the constructor's body runs, and fails there with a bare <see cref="DllNotFoundException"/>.
    /// </summary>
    /// <param name="moduleName">The name to hand to the base constructor.</param>
    /// <returns><paramref name="moduleName"/>.</returns>
    public static string EnsureLoaded(string moduleName)
    {
        EnsureLoaded();
        return moduleName;
    }

    /// <summary>
    /// Builds the message for a failed load: checks each candidate libLibTorchSharp.so against the host's libstdc++
    /// and says which symbol versions are missing and how to fix it, then (when given) what the run-time fix did.
    /// </summary>
    internal static string Explain(Exception original, IEnumerable<string> libraries, string? hostLibStdCxx,
        ISet<string>? hostVersions = null, string? runtimeFixOutcome = null)
    {
        string message = ExplainCause(original, libraries, hostLibStdCxx, hostVersions);
        return runtimeFixOutcome is null ? message : message + " (SelectiveLoss's run-time fix: " + runtimeFixOutcome + ".)";
    }

    private static string ExplainCause(Exception original, IEnumerable<string> libraries, string? hostLibStdCxx, ISet<string>? hostVersions)
    {
        string torchMessage = Innermost(original).Message;
        string header = "TorchSharp's native library could not be loaded. ";
        if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux))
        {
            return header + "Check that the application references a TorchSharp backend package (TorchSharp-cpu, or " +
                "TorchSharp-cuda-windows) of the same version as TorchSharp. TorchSharp said: " + torchMessage;
        }

        var found = libraries.Where(File.Exists).ToList();
        if (found.Count == 0)
        {
            return header + "No libLibTorchSharp.so was found next to the application. Reference a native backend " +
                "package (libtorch-cpu-linux-x64 with TorchSharp, TorchSharp-cpu, or TorchSharp-cuda-linux) of the same " +
                "version as TorchSharp and rebuild. TorchSharp said: " + torchMessage;
        }

        if (hostLibStdCxx is null)
        {
            return header + "This machine's libstdc++.so.6 was not found, and libLibTorchSharp.so needs it. Install " +
                "libstdc++ (GCC 13 or newer). TorchSharp said: " + torchMessage;
        }

        try
        {
            hostVersions ??= LibTorchSharpFix.ReadDefinedVersions(hostLibStdCxx);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            return header + "Could not read " + hostLibStdCxx + " (" + e.Message + "). TorchSharp said: " + torchMessage;
        }

        foreach (string library in found)
        {
            LibTorchSharpFixResult result;
            try
            {
                result = LibTorchSharpFix.Analyze(library, hostVersions);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }

            switch (result.Outcome)
            {
                case LibTorchSharpFixOutcome.Patched:
                    return header + "The real cause is not a missing package reference: " + library + " needs " +
                        string.Join(", ", result.MissingVersions) + " from libstdc++, and this machine's " + hostLibStdCxx +
                        " (older than GCC 13, as on Debian 12 and Ubuntu 22.04) does not define it. Fix: build the " +
                        "application with the SelectiveLoss package referenced (its build step marks that requirement " +
                        "weak in the output folder's copy; check that SelectiveLossPatchLibTorchSharp is not set to " +
                        "false), then rebuild; in a notebook or script, call SelectiveLoss.Native.TorchSharpNative." +
                        "EnsureLoaded() before the first torch call, with " + PackageCachePreloader.SwitchVariable +
                        " not set to false; or install a libstdc++ from GCC 13 or newer. TorchSharp said: " + torchMessage;
                case LibTorchSharpFixOutcome.Refused:
                    return header + "The real cause is the host's libstdc++: " + result.Message + " TorchSharp said: " + torchMessage;
                default:
                    break;
            }
        }

        return header + "libLibTorchSharp.so (" + string.Join(", ", found) + ") looks loadable on this machine's " +
            "libstdc++, so the cause is elsewhere: check that libtorch's native files of the matching version sit beside " +
            "it. TorchSharp said: " + torchMessage;
    }

    private static IEnumerable<string> CandidateLibraries()
    {
        var dirs = new List<string> { AppContext.BaseDirectory };
        string torchDir = Path.GetDirectoryName(typeof(torch).Assembly.Location) ?? string.Empty;
        if (torchDir.Length > 0)
        {
            dirs.Add(torchDir);
        }

        string rid = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "linux-arm64" : "linux-x64";
        return dirs.Distinct()
            .SelectMany(d => new[] { d, Path.Combine(d, "runtimes", rid, "native"), Path.Combine(d, "cpu"), Path.Combine(d, "cuda") })
            .Select(d => Path.Combine(d, "libLibTorchSharp.so"));
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null)
        {
            e = e.InnerException;
        }

        return e;
    }
}
