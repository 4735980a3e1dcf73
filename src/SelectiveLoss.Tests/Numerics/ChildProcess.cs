using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using FluentAssertions;

namespace SelectiveLoss.Tests.Numerics;

/// <summary>
/// Runs this test assembly as a program (<see cref="TestProgram.Main"/>) in a fresh process: oneDNN reads its
/// instruction-set cap and its verbose switch once per process, so what the mitigation does to oneDNN can only be seen
/// from a process that starts with them.
/// </summary>
internal static class ChildProcess
{
    public static (int Code, string Output, string Error) Run(string scenario, IDictionary<string, string?> environment, params string[] arguments)
    {
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host
            : Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet" ? Environment.ProcessPath! : "dotnet";
        var start = new ProcessStartInfo(dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "SelectiveLoss.Tests.dll"));
        start.ArgumentList.Add(scenario);
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (string name in new[] { "ONEDNN_VERBOSE", "DNNL_VERBOSE", "DNNL_MAX_CPU_ISA", "ONEDNN_MAX_CPU_ISA", "XDG_CACHE_HOME", SelectiveLoss.Numerics.NumericsCheck.SwitchVariable })
        {
            start.Environment.Remove(name);
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit(120_000).Should().BeTrue($"the child process ({scenario}) ends");
        return (process.ExitCode, stdout, stderr.Result);
    }
}
