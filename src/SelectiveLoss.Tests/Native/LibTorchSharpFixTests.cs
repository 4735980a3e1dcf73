using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using FluentAssertions;
using SelectiveLoss.Native;
using TorchSharp;
using Xunit;

namespace SelectiveLoss.Tests.Native;

/// <summary>
/// Pins the Debian 12 loading fix on the real libLibTorchSharp.so of TorchSharp 0.107.0. Each test works on a copy in a
/// temporary folder and simulates the host's libstdc++ by a set of defined versions, so it runs the same on old and new hosts.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class LibTorchSharpFixTests : IDisposable
{
    private const string Marker = "_ZSt21ios_base_library_initv";
    private readonly string dir = Directory.CreateTempSubdirectory("selectiveloss-elf-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void ReadVersionRequirements_TorchSharp0107_NeedsGlibcxx3432ForTheMarkerOnly()
    {
        var needs = LibTorchSharpFix.ReadVersionRequirements(UnpatchedCopy());
        var v3432 = needs.Single(r => r.Version == "GLIBCXX_3.4.32");
        v3432.File.Should().Be("libstdc++.so.6");
        v3432.Symbols.Should().Equal(Marker);
        v3432.RelocatedSymbols.Should().BeEmpty();
        v3432.IsWeak.Should().BeFalse();
    }

    [Fact]
    public void Patch_HostWithoutGlibcxx3432_MarksOnlyThatRequirementWeak()
    {
        string lib = UnpatchedCopy();
        var before = LibTorchSharpFix.ReadVersionRequirements(lib);

        var result = LibTorchSharpFix.Patch(lib, OldHost());

        result.Outcome.Should().Be(LibTorchSharpFixOutcome.Patched);
        result.MissingVersions.Should().Equal("GLIBCXX_3.4.32");
        var after = LibTorchSharpFix.ReadVersionRequirements(lib);
        after.Select(r => (r.Version, r.IsWeak)).Should().Equal(before.Select(r => (r.Version, r.Version == "GLIBCXX_3.4.32" || r.IsWeak)));
    }

    [Fact]
    public void Patch_ChangesExactlyTwoBitsWorthOfOneByte()
    {
        string lib = UnpatchedCopy();
        byte[] original = File.ReadAllBytes(lib);
        LibTorchSharpFix.Patch(lib, OldHost());
        byte[] patched = File.ReadAllBytes(lib);
        patched.Length.Should().Be(original.Length);
        var diffs = Enumerable.Range(0, original.Length).Where(i => original[i] != patched[i]).ToList();
        diffs.Should().ContainSingle();
        (patched[diffs[0]] ^ original[diffs[0]]).Should().Be(LibTorchSharpFix.VerFlagWeak);
    }

    [Fact]
    public void Patch_SecondRun_IsIdempotent()
    {
        string lib = UnpatchedCopy();
        LibTorchSharpFix.Patch(lib, OldHost());
        byte[] once = File.ReadAllBytes(lib);
        DateTime stamp = File.GetLastWriteTimeUtc(lib);

        var again = LibTorchSharpFix.Patch(lib, OldHost());

        again.Outcome.Should().Be(LibTorchSharpFixOutcome.AlreadyPatched);
        File.ReadAllBytes(lib).Should().Equal(once);
        File.GetLastWriteTimeUtc(lib).Should().Be(stamp);
    }

    [Fact]
    public void Patch_KeepsTimestampSoIncrementalCopySkipsTheFile()
    {
        string lib = UnpatchedCopy();
        var stamp = new DateTime(2025, 1, 2, 3, 4, 5, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(lib, stamp);
        LibTorchSharpFix.Patch(lib, OldHost()).Outcome.Should().Be(LibTorchSharpFixOutcome.Patched);
        File.GetLastWriteTimeUtc(lib).Should().Be(stamp);
        Directory.GetFiles(dir).Should().ContainSingle("the temporary copy is renamed over the original");
    }

    [Fact]
    public void Patch_HostWithGlibcxx3432_DoesNothing()
    {
        string lib = UnpatchedCopy();
        byte[] original = File.ReadAllBytes(lib);
        var host = OldHost();
        host.Add("GLIBCXX_3.4.32");

        LibTorchSharpFix.Patch(lib, host).Outcome.Should().Be(LibTorchSharpFixOutcome.NotNeeded);
        File.ReadAllBytes(lib).Should().Equal(original);
    }

    [Fact]
    public void Patch_VersionNeededByRealSymbol_RefusesAndLeavesFileUntouched()
    {
        string lib = UnpatchedCopy();
        byte[] bytes = File.ReadAllBytes(lib);
        // Rename the marker in .dynstr to a same-length name that is not a marker: now real code seems to need 3.4.32.
        int at = IndexOf(bytes, Encoding.ASCII.GetBytes(Marker + "\0"));
        at.Should().BePositive();
        bytes[at + Marker.Length - 1] = (byte)'X';
        File.WriteAllBytes(lib, bytes);

        var result = LibTorchSharpFix.Patch(lib, OldHost());

        result.Outcome.Should().Be(LibTorchSharpFixOutcome.Refused);
        result.Message.Should().Contain("GLIBCXX_3.4.32").And.Contain("_ZSt21ios_base_library_initX").And.Contain("untouched");
        File.ReadAllBytes(lib).Should().Equal(bytes);
    }

    [Fact]
    public void Patch_NotAnElfFile_Refuses()
    {
        string path = Path.Combine(dir, "libLibTorchSharp.so");
        File.WriteAllText(path, "not a library");
        var result = LibTorchSharpFix.Patch(path, OldHost());
        result.Outcome.Should().Be(LibTorchSharpFixOutcome.Refused);
        result.Message.Should().Contain("not an ELF file");
        File.ReadAllText(path).Should().Be("not a library");
    }

    [Fact]
    public void BuildOutput_LibTorchSharpCopy_LoadsAndIsPatchedOnlyWhereHostNeedsIt()
    {
        // The test project imports the same buildTransitive targets a package consumer gets.
        string output = OutputLibrary();
        string? host = LibTorchSharpFix.FindHostLibStdCxx();
        host.Should().NotBeNull();
        bool hostHas3432 = LibTorchSharpFix.ReadDefinedVersions(host!).Contains("GLIBCXX_3.4.32");
        var requirement = LibTorchSharpFix.ReadVersionRequirements(output).Single(r => r.Version == "GLIBCXX_3.4.32");
        requirement.IsWeak.Should().Be(!hostHas3432);
        using var t = torch.ones(3);
        t.sum().item<float>().Should().Be(3f, "TorchSharp loads in this test process");
    }

    [Fact]
    public void ReadDefinedVersions_HostLibStdCxx_ListsGlibcxxVersions()
    {
        string? host = LibTorchSharpFix.FindHostLibStdCxx();
        host.Should().NotBeNull();
        LibTorchSharpFix.ReadDefinedVersions(host!).Should().Contain("GLIBCXX_3.4").And.Contain("CXXABI_1.3");
    }

    [Fact]
    public void Explain_UnpatchedLibraryOnOldHost_NamesRealCauseAndFix()
    {
        string lib = UnpatchedCopy();
        var original = new TypeInitializationException("TorchSharp.torch",
            new NotSupportedException("This application or script uses TorchSharp but doesn't contain a reference to libtorch-cpu-linux-x64"));

        string message = TorchRuntime.Explain(original, new[] { lib }, "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", OldHost());

        message.Should().Contain("not a missing package reference")
            .And.Contain("GLIBCXX_3.4.32")
            .And.Contain("SelectiveLossPatchLibTorchSharp")
            .And.Contain("GCC 13")
            .And.Contain("doesn't contain a reference", "TorchSharp's own words are kept for reference");
    }

    [Fact]
    public void Explain_UnpatchedLibraryOnOldHost_NamesTheNotebookFixAndItsSwitch()
    {
        string lib = UnpatchedCopy();
        var original = new TypeInitializationException("TorchSharp.torch", new NotSupportedException("x"));

        string message = TorchRuntime.Explain(original, new[] { lib }, "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", OldHost());

        message.Should().Contain("TorchSharpNative.EnsureLoaded()").And.Contain("SELECTIVELOSS_PATCH_LIBTORCHSHARP");
    }

    [Fact]
    public void Explain_RuntimeFixTurnedOff_SaysWhatTheRuntimeFixDid()
    {
        string lib = UnpatchedCopy();
        var original = new TypeInitializationException("TorchSharp.torch", new NotSupportedException("x"));
        const string Outcome = "turned off by SELECTIVELOSS_PATCH_LIBTORCHSHARP=false: nothing was written or loaded";

        string message = TorchRuntime.Explain(original, new[] { lib }, "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", OldHost(), Outcome);

        message.Should().Contain("GLIBCXX_3.4.32").And.EndWith("(SelectiveLoss's run-time fix: " + Outcome + ".)");
    }

    [Fact]
    public void Explain_NoNativeLibrary_SaysWhichPackageToReference()
    {
        var original = new TypeInitializationException("TorchSharp.torch", new NotSupportedException("x"));
        string message = TorchRuntime.Explain(original, new[] { Path.Combine(dir, "missing.so") }, null, null);
        message.Should().Contain("No libLibTorchSharp.so").And.Contain("libtorch-cpu-linux-x64");
    }

    private static HashSet<string> OldHost() => LibTorchSharpFixTestsHost.Old();

    /// <summary>A copy of the build output's library with the weak flag cleared again: byte for byte TorchSharp's original.</summary>
    private string UnpatchedCopy() => LibTorchSharpFixTestsHost.UnpatchedLibrary(dir);

    private static string OutputLibrary() => LibTorchSharpFixTestsHost.OutputLibrary();

    private static int IndexOf(byte[] haystack, byte[] needle)
    {
        for (int i = 0; i + needle.Length <= haystack.Length; i++)
        {
            if (haystack.AsSpan(i, needle.Length).SequenceEqual(needle))
            {
                return i;
            }
        }

        return -1;
    }
}
