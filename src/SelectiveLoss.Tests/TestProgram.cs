using System;
using System.IO;
using SelectiveLoss.Native;
using SelectiveLoss.Numerics;
using SelectiveLoss.Tests.Numerics;
using static TorchSharp.torch;

namespace SelectiveLoss.Tests;

/// <summary>
/// The test assembly's own entry point (the test SDK's generated one is turned off), for the tests that need a fresh
/// process (<see cref="ChildProcess"/>). <c>dotnet test</c> never calls it.
/// </summary>
public static class TestProgram
{
    /// <summary>Runs one scenario; prints what the parent test reads.</summary>
    /// <param name="args">The scenario's name.</param>
    /// <returns>0 when the scenario ran.</returns>
    public static int Main(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        switch (args.Length > 0 ? args[0] : string.Empty)
        {
            case "numerics-remembered":
                // The library loads TorchSharp (and caps oneDNN from the remembered fault), checks, then a Linear and a convolution run.
                TorchSharpNative.EnsureLoaded();
                Console.Out.WriteLine("mitigation=" + NumericsCheck.EnsureChecked()?.Mitigation);
                Console.Out.Flush();
                Convolve();
                return 0;
            case "numerics-disable":
                // Faults injected into a backend whose mitigation turns LibTorch's real oneDNN switch, then real convolutions.
                TorchSharpNative.EnsureLoaded();
                var result = NumericsCheck.Check(new NumericsCheckOptions { Notices = Console.Error },
                    new FaultyConvolutions("nan-backward-data", disables: LibTorchConvolutions.Instance), FaultMemory.In(args[1]));
                Console.Out.WriteLine("mitigation=" + result.Mitigation + " passed=" + result.Passed);
                Console.Out.Flush();
                Convolve();
                return 0;
            case "numerics-control":
                TorchSharpNative.EnsureLoaded();
                Convolve();
                return 0;
            default:
                Console.Error.WriteLine("usage: SelectiveLoss.Tests numerics-remembered | numerics-disable DIR | numerics-control");
                return 2;
        }
    }

    private static void Convolve()
    {
        using var scope = NewDisposeScope();
        var linear = nn.Linear(8, 8);
        linear.forward(ones(2, 8)).sum().backward();
        Tensor x = randn(8, 8, 8, 8).requires_grad_(true);
        Tensor w = randn(8, 8, 3, 3).requires_grad_(true);
        nn.functional.conv2d(x, w, padding: new long[] { 1, 1 }).sum().backward();
        Console.Out.WriteLine("convolved, input gradient finite: " + x.grad!.isfinite().all().item<bool>());
    }
}
