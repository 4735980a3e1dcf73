using System;
using System.IO;
using System.Linq;
using FluentAssertions;
using SelectiveLoss.Numerics;
using SelectiveLoss.Selection;
using SelectiveLoss.Training;
using Xunit;
using Xunit.Abstractions;
using SelectiveLoss.Tests.Training;
using static TorchSharp.torch;

namespace SelectiveLoss.Tests.Numerics;

/// <summary>
/// The numerics self-check: it finds injected wrong results (NaN and wrong-but-finite, forward and backward, also when
/// they come and go), applies the mitigation and checks again, remembers the fault for later processes, refuses when
/// nothing helps, and leaves the caller's random state and gradient mode alone.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class NumericsCheckTests(ITestOutputHelper output) : IDisposable
{
    private readonly string memoryDirectory = Path.Combine(Path.GetTempPath(), "selectiveloss-numerics-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(memoryDirectory))
        {
            Directory.Delete(memoryDirectory, recursive: true);
        }
    }

    [Fact]
    public void Check_LibTorchConvolutions_RightOnThisCpuOrMadeRight()
    {
        var notices = new StringWriter();
        NumericsCheckResult result = NumericsCheck.Check(new NumericsCheckOptions { Notices = notices }, LibTorchConvolutions.Instance, FaultMemory.In(memoryDirectory));

        output.WriteLine($"This CPU: {result}");
        result.Passed.Should().BeTrue(result.ToString());
        result.FaultsAfterMitigation.Should().BeEmpty();
        result.Convolutions.Should().BeGreaterThanOrEqualTo(120, "5 shapes, 24 repeats each");
        result.Cpu.Should().NotBeNullOrWhiteSpace();
        result.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(5));
    }

    [Theory]
    [InlineData("nan-backward-data", "backward data", true)]
    [InlineData("wrong-backward-data", "backward data", false)]
    [InlineData("nan-forward", "forward", true)]
    [InlineData("wrong-forward", "forward", false)]
    public void Check_InjectedFault_FoundThenOneDnnDisabledAndCheckedAgain(string fault, string pass, bool nonFinite)
    {
        var backend = new FaultyConvolutions(fault);
        var notices = new StringWriter();
        var memory = FaultMemory.In(memoryDirectory);

        NumericsCheckResult result = NumericsCheck.Check(new NumericsCheckOptions { Notices = notices }, backend, memory);

        result.Faults.Should().HaveCount(5, "every probed shape was wrong").And.OnlyContain(f => f.Pass == pass && f.NonFinite == nonFinite);
        result.Faults.Should().OnlyContain(f => nonFinite ? double.IsPositiveInfinity(f.RelativeError) : f.RelativeError > 1e-4 && f.RelativeError < 1);
        result.Mitigation.Should().Be(NumericsMitigation.OneDnnDisabled);
        backend.DisableCalls.Should().Be(1);
        result.FaultsAfterMitigation.Should().BeEmpty();
        result.Passed.Should().BeTrue();
        result.Convolutions.Should().Be(5 + 120, "one faulty call per shape, then the full check again");
        File.ReadAllText(memory.Path).Should().Contain(result.Cpu, "later processes cap oneDNN from this record");
        string notice = notices.ToString();
        notice.Should().Contain("Turned LibTorch's oneDNN off").And.Contain(result.Cpu).And.Contain(pass).And.Contain(memory.Path)
            .And.Contain("2.9x").And.Contain("1.8x").And.Contain(NumericsCheck.SwitchVariable);
        notice.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().HaveCount(1, "said once");
        Directory.GetFiles(memoryDirectory, "*.tmp").Should().BeEmpty("written atomically");
    }

    [Fact]
    public void Check_IntermittentFault_FoundWithinTheRepeats()
    {
        var backend = new FaultyConvolutions("nan-backward-data", every: 6);

        NumericsCheckResult result = NumericsCheck.Check(new NumericsCheckOptions { Notices = null }, backend, FaultMemory.In(memoryDirectory));

        result.Faults.Should().NotBeEmpty("the sixth float32 convolution was wrong");
        result.Faults[0].Shape.Should().Be("8x8x8x8 -> 8, kernel 3x3, stride 1, padding 1");
        result.Passed.Should().BeTrue();
    }

    [Fact]
    public void Check_FaultSurvivesMitigation_FailsAndThrowIfFailedNamesCpuFaultAndWorkaround()
    {
        var backend = new FaultyConvolutions("nan-backward-data", heals: false);
        var memory = FaultMemory.In(memoryDirectory);

        NumericsCheckResult result = NumericsCheck.Check(new NumericsCheckOptions { Notices = null }, backend, memory);

        result.Passed.Should().BeFalse();
        result.Mitigation.Should().Be(NumericsMitigation.OneDnnDisabled);
        result.FaultsAfterMitigation.Should().HaveCount(5);
        File.Exists(memory.Path).Should().BeFalse("only a mitigation that worked is remembered");
        Action act = result.ThrowIfFailed;
        act.Should().Throw<NumericsFaultException>()
            .Where(e => e.Message.Contains(result.Cpu, StringComparison.Ordinal) && e.Message.Contains("backward data of 8x8x8x8", StringComparison.Ordinal)
                && e.Message.Contains("DNNL_MAX_CPU_ISA=AVX", StringComparison.Ordinal) && e.Message.Contains(NumericsCheck.SwitchVariable, StringComparison.Ordinal)
                && e.Result == result);
    }

    [Fact]
    public void Check_MitigateFalse_ReportsWithoutTouchingOneDnn()
    {
        var backend = new FaultyConvolutions("wrong-forward");
        var notices = new StringWriter();

        NumericsCheckResult result = NumericsCheck.Check(new NumericsCheckOptions { Mitigate = false, Notices = notices }, backend, FaultMemory.In(memoryDirectory));

        result.Passed.Should().BeFalse();
        result.Mitigation.Should().Be(NumericsMitigation.None);
        backend.DisableCalls.Should().Be(0);
        result.ToString().Should().StartWith("FAILED").And.Contain("forward of 8x8x8x8 -> 8");
        Directory.Exists(memoryDirectory).Should().BeFalse("nothing is remembered");
    }

    [Fact]
    public void Check_CallersRandomStateAndGradientMode_Untouched()
    {
        manual_seed(11);
        float expected = randn(3).sum().item<float>();
        manual_seed(11);
        using (no_grad())
        {
            NumericsCheckResult result = NumericsCheck.Check(new NumericsCheckOptions { Notices = null }, new FaultyConvolutions("nan-backward-data"), FaultMemory.In(memoryDirectory));
            result.Faults.Should().NotBeEmpty("gradients are checked even when the caller is under no_grad");
            is_grad_enabled().Should().BeFalse();
        }

        randn(3).sum().item<float>().Should().Be(expected, "the probe draws from its own generator");
    }

    [Fact]
    public void EnsureChecked_LastCheckFailed_EveryStepRefusedBeforeChangingTheModelUntilSwitchedOff()
    {
        using var scope = NewDisposeScope();
        var model = SelectiveStepTests.ConvNet(seed: 6, batchNorm: false);
        using var step = new SelectiveStep(model, optim.SGD(model.parameters(), 0.1), SelectionRules.Lowest(0.5));
        var before = SelectiveStepTests.Snapshot(model);
        Tensor x = randn(new long[] { 8, 3, 8, 8 }, dtype: ScalarType.Float64);
        Tensor y = randint(0, SelectiveStepTests.Classes, new long[] { 8 });
        try
        {
            // A tolerance no float32 result meets, without mitigation: a real check that fails.
            NumericsCheckResult failed = NumericsCheck.Run(new NumericsCheckOptions { Tolerance = 1e-300, Mitigate = false, Notices = null });
            failed.Passed.Should().BeFalse();

            for (int attempt = 0; attempt < 2; attempt++)
            {
                ((Action)(() => step.Step(x, y))).Should().Throw<NumericsFaultException>().Where(e => e.Result == failed, "every step is refused, not only the first");
            }

            SelectiveStepTests.MaxDifference(before, SelectiveStepTests.Snapshot(model)).Should().Be(0);
            System.Environment.SetEnvironmentVariable(NumericsCheck.SwitchVariable, "off");
            step.Step(x, y).Updated.Should().BeTrue("the check is switched off");
        }
        finally
        {
            System.Environment.SetEnvironmentVariable(NumericsCheck.SwitchVariable, null);
            NumericsCheck.Run(new NumericsCheckOptions { Notices = null }).Passed.Should().BeTrue("the default check passes again (or mitigates) for the tests after this one");
        }
    }

    [Theory]
    [InlineData(0, 1e-4, "Repeats")]
    [InlineData(1001, 1e-4, "Repeats")]
    [InlineData(8, 0.0, "Tolerance")]
    [InlineData(8, double.NaN, "Tolerance")]
    public void Run_OptionOutOfRange_RefusedNamingIt(int repeats, double tolerance, string name)
    {
        Action act = () => NumericsCheck.Run(new NumericsCheckOptions { Repeats = repeats, Tolerance = tolerance });

        act.Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == name);
    }

    [Theory]
    [InlineData(null, "On")]
    [InlineData("", "On")]
    [InlineData("on", "On")]
    [InlineData(" CHECK ", "CheckOnly")]
    [InlineData("off", "Off")]
    [InlineData("false", "Off")]
    public void Switch_Values_Read(string? value, string expected) =>
        NumericsSwitches.Read(value).ToString().Should().Be(expected);

    [Fact]
    public void Switch_UnknownValue_RefusedNamingTheVariableAndValues()
    {
        Action act = () => NumericsSwitches.Read("sometimes");

        act.Should().Throw<InvalidOperationException>().WithMessage("*SELECTIVELOSS_NUMERICS_CHECK='sometimes'*on*check*off*");
    }

    [Fact]
    public void CpuInfo_Zen5CpuInfo_NamesModelFamilyAndStepping()
    {
        string[] lines =
        {
            "processor\t: 0", "vendor_id\t: AuthenticAMD", "cpu family\t: 26", "model\t\t: 2", "model name\t: AMD EPYC", "stepping\t: 1",
            "microcode\t: 0xb002116", "flags\t\t: fpu avx512f", string.Empty, "processor\t: 1", "model name\t: other",
        };

        CpuInfo.Parse(lines, 2).Should().Be("AMD EPYC (AuthenticAMD, family 26, model 2, stepping 1, microcode 0xb002116), 2 logical CPUs");
    }

    [Fact]
    public void FaultMemory_UnwritableFolder_ReturnsTheErrorInsteadOfThrowing()
    {
        File.WriteAllText(memoryDirectory, "a file where the folder should be");
        try
        {
            var memory = FaultMemory.In(Path.Combine(memoryDirectory, "numerics"));
            memory.Remember("x").Should().NotBeNullOrEmpty();
            memory.Remembers().Should().BeFalse();
        }
        finally
        {
            File.Delete(memoryDirectory);
        }
    }

    [Fact]
    public void AtenOneDnnSwitch_Toggled_ReadsBackAndIsRestored()
    {
        AtenOneDnnSwitch.Available.Should().BeTrue("libtorch_cpu exports at::Context::setUserEnabledMkldnn on Linux");
        bool before = AtenOneDnnSwitch.Enabled;
        try
        {
            AtenOneDnnSwitch.Enabled = false;
            AtenOneDnnSwitch.Enabled.Should().BeFalse();
            AtenOneDnnSwitch.Enabled = true;
            AtenOneDnnSwitch.Enabled.Should().BeTrue();
        }
        finally
        {
            AtenOneDnnSwitch.Enabled = before;
        }
    }
}
