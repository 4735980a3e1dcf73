using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FluentAssertions;
using SelectiveLoss.Numerics;
using Xunit;
using Xunit.Abstractions;

namespace SelectiveLoss.Tests.Numerics;

/// <summary>
/// The mitigations act on the real oneDNN, seen through oneDNN's own verbose output in fresh processes: a fault
/// remembered by an earlier process caps oneDNN at AVX before its first use (a Linear layer would already fix the
/// instruction set), and a fault found in this process turns oneDNN off, so no oneDNN convolution runs afterwards.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class OneDnnMitigationTests(ITestOutputHelper output) : IDisposable
{
    private const string ConvolutionLine = "primitive,exec,cpu,convolution,";
    private readonly string cache = Path.Combine(Path.GetTempPath(), "selectiveloss-cache-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(cache))
        {
            Directory.Delete(cache, recursive: true);
        }
    }

    [Fact]
    public void RememberedFault_NextProcess_OneDnnCappedAtAvxBeforeItsFirstUse()
    {
        var memory = FaultMemory.In(Path.Combine(cache, "selectiveloss", "numerics"));
        memory.Remember("planted by the test").Should().BeNull();

        var (code, stdout, stderr) = ChildProcess.Run("numerics-remembered", Environment(("XDG_CACHE_HOME", cache)));

        Log(stdout, stderr);
        code.Should().Be(0, stderr);
        IsaLine(stdout).Should().Be("onednn_verbose,v1,info,cpu,isa:Intel AVX", "oneDNN took the cap the library set before LibTorch first used it");
        stdout.Should().Contain(ConvolutionLine).And.Contain("mitigation=OneDnnCappedAtAvx").And.Contain("input gradient finite: True");
        stderr.Should().Contain("oneDNN is capped at AVX").And.Contain(memory.Path);
    }

    [Fact]
    public void RememberedFault_UserSetTheCap_LibraryLeavesItAlone()
    {
        FaultMemory.In(Path.Combine(cache, "selectiveloss", "numerics")).Remember("planted by the test").Should().BeNull();

        var (code, stdout, stderr) = ChildProcess.Run("numerics-remembered", Environment(("XDG_CACHE_HOME", cache), ("DNNL_MAX_CPU_ISA", "SSE41")));

        Log(stdout, stderr);
        code.Should().Be(0, stderr);
        IsaLine(stdout).Should().Be("onednn_verbose,v1,info,cpu,isa:Intel SSE4.1");
        stdout.Should().Contain("mitigation=None");
    }

    [Fact]
    public void FaultFound_OneDnnTurnedOff_NoOneDnnConvolutionRunsAfterwards()
    {
        var off = Environment((NumericsCheck.SwitchVariable, "off"));
        var (controlCode, control, controlError) = ChildProcess.Run("numerics-control", off);
        var (code, stdout, stderr) = ChildProcess.Run("numerics-disable", off, Path.Combine(cache, "memory"));

        Log(stdout, stderr);
        controlCode.Should().Be(0, controlError);
        control.Should().Contain(ConvolutionLine, "without the mitigation LibTorch runs this convolution on oneDNN");
        code.Should().Be(0, stderr);
        stdout.Should().Contain("mitigation=OneDnnDisabled passed=True").And.Contain("input gradient finite: True");
        stdout.Should().NotContain(ConvolutionLine, "after the mitigation ATen's own kernels run the convolution, forward and backward");
        stderr.Should().Contain("Turned LibTorch's oneDNN off");
    }

    private static Dictionary<string, string?> Environment(params (string Name, string Value)[] extra)
    {
        var environment = new Dictionary<string, string?>
        {
            ["ONEDNN_VERBOSE"] = "1",
        };
        foreach (var (name, value) in extra)
        {
            environment[name] = value;
        }

        return environment;
    }

    private static string IsaLine(string stdout) =>
        stdout.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("onednn_verbose,v1,info,cpu,isa:", StringComparison.Ordinal)) ?? "(no isa line)";

    private void Log(string stdout, string stderr)
    {
        output.WriteLine(string.Join('\n', stdout.Split('\n').Where(l => !l.Contains("primitive,exec", StringComparison.Ordinal) || l.Contains("convolution", StringComparison.Ordinal)).Take(40)));
        output.WriteLine(stderr);
    }
}
