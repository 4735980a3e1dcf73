using System.Collections.Generic;
using System.Linq;
using FluentAssertions;
using SelectiveLoss.Numerics;
using Xunit;

namespace Cifar100Training.Tests;

/// <summary>
/// The trainer starts itself again with oneDNN capped at AVX only after the numerics check turned oneDNN off for a fault
/// it found, only as the program itself (never from a test host), only once, and never over a cap someone set.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class RelaunchTests
{
    [Fact]
    public void Wanted_OnlyAfterAMitigatedFaultInTheTrainerItselfOnceAndWithoutACapSet()
    {
        var none = new Dictionary<string, string?>();

        Relaunch.Wanted(oneDnnTurnedOff: true, trainerIsEntryPoint: true, none.GetValueOrDefault).Should().BeTrue();
        Relaunch.Wanted(oneDnnTurnedOff: false, trainerIsEntryPoint: true, none.GetValueOrDefault).Should().BeFalse("no fault, or the check was off");
        Relaunch.Wanted(true, trainerIsEntryPoint: false, none.GetValueOrDefault).Should().BeFalse("a test host called Main");
        Relaunch.Wanted(true, true, new Dictionary<string, string?> { [Relaunch.Variable] = "1" }.GetValueOrDefault).Should().BeFalse("once");
        Relaunch.Wanted(true, true, new Dictionary<string, string?> { ["DNNL_MAX_CPU_ISA"] = "AVX2" }.GetValueOrDefault).Should().BeFalse("the user's cap");
        Relaunch.Wanted(true, true, new Dictionary<string, string?> { ["ONEDNN_MAX_CPU_ISA"] = "AVX" }.GetValueOrDefault).Should().BeFalse();
    }

    [Fact]
    public void TurnedOneDnnOff_ChecksThatFoundNoFaultOrCouldNotMitigate_False()
    {
        Relaunch.TurnedOneDnnOff(null).Should().BeFalse("the check was off");
        NumericsCheckResult? current = NumericsCheck.EnsureChecked();
        Relaunch.TurnedOneDnnOff(current).Should().Be(current is { Faults.Count: > 0 }, $"this process's check: {current}");
        NumericsCheckResult unmitigated = NumericsCheck.Run(new NumericsCheckOptions { Tolerance = 1e-300, Mitigate = false, Notices = null });
        try
        {
            unmitigated.Faults.Should().NotBeEmpty("no float32 result meets that tolerance");
            Relaunch.TurnedOneDnnOff(unmitigated).Should().BeFalse("nothing was mitigated");
        }
        finally
        {
            NumericsCheck.Run(new NumericsCheckOptions { Notices = null }).Passed.Should().BeTrue("the default check again, for the tests after this one");
        }
    }

    [Theory]
    [InlineData("/usr/share/dotnet/dotnet", true)]
    [InlineData("/app/Cifar100Training", false)]
    public void StartInfo_SameArgumentsOneDnnCappedAtAvxAndMarked(string processPath, bool throughDotnetHost)
    {
        var start = Relaunch.StartInfo(processPath, "/app/Cifar100Training.dll", new[] { "--epochs", "2", "--compare", "full,random" });

        start.FileName.Should().Be(processPath);
        start.ArgumentList.Should().Equal((throughDotnetHost ? new[] { "/app/Cifar100Training.dll" } : System.Array.Empty<string>())
            .Concat(new[] { "--epochs", "2", "--compare", "full,random" }));
        start.Environment["DNNL_MAX_CPU_ISA"].Should().Be("AVX");
        start.Environment[Relaunch.Variable].Should().Be("1");
        start.UseShellExecute.Should().BeFalse("the child writes to this console");
    }
}
