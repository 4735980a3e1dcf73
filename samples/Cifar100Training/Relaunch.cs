using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using SelectiveLoss.Numerics;

namespace Cifar100Training;

/// <summary>
/// After the numerics check found LibTorch's convolutions wrong in this process, oneDNN is off for the rest of it (5.2x a
/// training step of the small DenseNet, docs/numerics.md). A fresh process started with oneDNN capped at AVX
/// (<c>DNNL_MAX_CPU_ISA=AVX</c>, 1.8x; only possible before oneDNN's first use) trains the same runs faster, so the
/// trainer starts itself again that way, once, and passes on its exit code. The new process checks again at AVX and
/// turns oneDNN off itself if AVX is not enough.
/// </summary>
internal static class Relaunch
{
    /// <summary>Set in the relaunched process, so it never relaunches again.</summary>
    public const string Variable = "CIFAR_TRAINER_RELAUNCHED";

    private static readonly string[] CapVariables = { "DNNL_MAX_CPU_ISA", "ONEDNN_MAX_CPU_ISA" };

    /// <summary>Whether the check found a fault in this process and made the convolutions right by turning oneDNN off.</summary>
    public static bool TurnedOneDnnOff(NumericsCheckResult? result) =>
        result is { Passed: true, Mitigation: NumericsMitigation.OneDnnDisabled, Faults.Count: > 0 };

    /// <summary>Whether to relaunch: the check turned oneDNN off for a fault it found, this process is the trainer itself
    /// (not a test host calling its entry point), it is not a relaunch already, and nobody set oneDNN's cap.</summary>
    public static bool Wanted(bool oneDnnTurnedOff, bool trainerIsEntryPoint, Func<string, string?> environment) =>
        oneDnnTurnedOff
        && trainerIsEntryPoint
        && string.IsNullOrEmpty(environment(Variable))
        && CapVariables.All(v => string.IsNullOrEmpty(environment(v)));

    /// <summary>Whether the running program is the trainer (tests call <see cref="Program.Main"/> from a test host).</summary>
    public static bool TrainerIsEntryPoint() => Assembly.GetEntryAssembly() == typeof(Program).Assembly;

    /// <summary>How to start the trainer again with the same arguments and oneDNN capped at AVX.</summary>
    /// <param name="processPath">This process's executable: the trainer's own, or the dotnet host.</param>
    /// <param name="assemblyPath">The trainer's assembly, which the dotnet host needs as its first argument.</param>
    /// <param name="arguments">The trainer's arguments.</param>
    public static ProcessStartInfo StartInfo(string processPath, string assemblyPath, IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(processPath) { UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(processPath) == "dotnet")
        {
            start.ArgumentList.Add(assemblyPath);
        }

        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment[Variable] = "1";
        start.Environment[CapVariables[0]] = "AVX";
        return start;
    }

    /// <summary>Runs the trainer again as <see cref="StartInfo"/> says, on this console, and returns its exit code.</summary>
    public static int Run()
    {
        using var child = Process.Start(StartInfo(Environment.ProcessPath!, typeof(Program).Assembly.Location, Environment.GetCommandLineArgs().Skip(1)))!;
        child.WaitForExit();
        return child.ExitCode;
    }
}
