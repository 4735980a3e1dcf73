using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FluentAssertions;
using SelectiveLoss.Native;
using TorchSharp;
using Xunit;

namespace SelectiveLoss.Tests.Native;

/// <summary>
/// The run-time fix for notebooks: it finds TorchSharp's library in a package cache and makes a patched copy in its own
/// cache folder, never touching the package cache. (The load itself is exercised by samples/notebooks/run.sh, where a
/// notebook kernel loads TorchSharp from the package cache.)
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class PackageCachePreloaderTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("selectiveloss-pkgcache-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    [Fact]
    public void FindInPackageCache_NuGetLayout_FindsTorchSharpAndNewestLibTorch()
    {
        string dll = FakePackages();
        var (lib, folder) = PackageCachePreloader.FindInPackageCache(dll, "linux-x64");
        lib.Should().Be(Path.Combine(root, "packages", "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so"));
        folder.Should().Be(Path.Combine(root, "packages", "libtorch-cpu-linux-x64", "2.10.0", "runtimes", "linux-x64", "native"));
    }

    [Fact]
    public void FindInPackageCache_NotAPackageLayout_FindsNothing()
    {
        var (lib, folder) = PackageCachePreloader.FindInPackageCache(Path.Combine(root, "TorchSharp.dll"), "linux-x64");
        lib.Should().BeNull();
        folder.Should().BeNull();
    }

    [Fact]
    public void PatchedCopy_OldHost_PatchesACopyAndLeavesThePackageCacheAlone()
    {
        string dll = FakePackages();
        var (lib, _) = PackageCachePreloader.FindInPackageCache(dll, "linux-x64");
        byte[] original = File.ReadAllBytes(lib!);
        string cache = Path.Combine(root, "cache");

        string copy = PackageCachePreloader.PatchedCopy(lib!, LibTorchSharpFixTestsHost.Old(), cache);

        copy.Should().StartWith(cache);
        File.ReadAllBytes(lib!).Should().Equal(original, "the package cache is never modified");
        LibTorchSharpFix.Analyze(copy, LibTorchSharpFixTestsHost.Old()).Outcome.Should().Be(LibTorchSharpFixOutcome.AlreadyPatched);
        Directory.GetFiles(Path.GetDirectoryName(copy)!).Should().ContainSingle("the temporary file was renamed into place");

        DateTime written = File.GetLastWriteTimeUtc(copy);
        PackageCachePreloader.PatchedCopy(lib!, LibTorchSharpFixTestsHost.Old(), cache).Should().Be(copy);
        File.GetLastWriteTimeUtc(copy).Should().Be(written, "an existing patched copy is reused");
    }

    [Theory]
    [InlineData("false")]
    [InlineData("False")]
    [InlineData("FALSE")]
    [InlineData(" false ")]
    public void Preload_SwitchFalse_ReadsWritesAndLoadsNothing(string switchValue)
    {
        string dll = FakePackages();
        string cache = Path.Combine(root, "cache");
        var loaded = new List<string>();
        bool askedHost = false;

        string outcome = PackageCachePreloader.Preload(dll, switchValue, EmptyApplicationFolder(),
            () => { askedHost = true; return LibTorchSharpFixTestsHost.Old(); }, cache, loaded.Add);

        outcome.Should().Contain("turned off by SELECTIVELOSS_PATCH_LIBTORCHSHARP").And.Contain("nothing was written or loaded");
        Directory.Exists(cache).Should().BeFalse("nothing is written when the variable turns the fix off");
        loaded.Should().BeEmpty();
        askedHost.Should().BeFalse();
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("true")]
    [InlineData("0")]
    public void Preload_SwitchNotFalse_PatchesACopyInTheCacheAndLoadsIt(string? switchValue)
    {
        // The control for the test above: the same inputs, with the fix on, do write and load.
        string dll = FakePackages();
        string cache = Path.Combine(root, "cache");
        var loaded = new List<string>();

        string outcome = PackageCachePreloader.Preload(dll, switchValue, EmptyApplicationFolder(),
            LibTorchSharpFixTestsHost.Old, cache, loaded.Add);

        string copy = Directory.GetFiles(cache, "*", SearchOption.AllDirectories).Should().ContainSingle().Subject;
        Path.GetFileName(copy).Should().Be("libLibTorchSharp.so");
        string libTorch = Path.Combine(root, "packages", "libtorch-cpu-linux-x64", "2.10.0", "runtimes", "linux-x64", "native");
        loaded.Should().Equal(
            Path.Combine(libTorch, "libc10.so"), Path.Combine(libTorch, "libtorch_cpu.so"), Path.Combine(libTorch, "libtorch.so"), copy);
        outcome.Should().StartWith("preloaded " + copy);
    }

    [Fact]
    public void Preload_ApplicationHasItsOwnCopy_WritesAndLoadsNothing()
    {
        string dll = FakePackages();
        string cache = Path.Combine(root, "cache");
        var loaded = new List<string>();

        string outcome = PackageCachePreloader.Preload(dll, null, AppContext.BaseDirectory, LibTorchSharpFixTestsHost.Old, cache, loaded.Add);

        outcome.Should().Contain("the application has its own copy");
        Directory.Exists(cache).Should().BeFalse();
        loaded.Should().BeEmpty();
    }

    [Fact]
    public void TryPreload_EnvironmentVariableFalse_LastFixOutcomeNamesTheVariable()
    {
        // Load TorchSharp first: after that no SelectiveLoss entry point calls the preloader again, so nothing else in
        // this process reads the variable or replaces the outcome while this test has it set.
        TorchSharpNative.EnsureLoaded();
        string? before = Environment.GetEnvironmentVariable(PackageCachePreloader.SwitchVariable);
        try
        {
            Environment.SetEnvironmentVariable("SELECTIVELOSS_PATCH_LIBTORCHSHARP", "false");
            PackageCachePreloader.TryPreload(typeof(torch).Assembly.Location);
            TorchSharpNative.LastFixOutcome.Should().Be(
                "turned off by SELECTIVELOSS_PATCH_LIBTORCHSHARP=false: nothing was written or loaded");
        }
        finally
        {
            Environment.SetEnvironmentVariable(PackageCachePreloader.SwitchVariable, before);
            PackageCachePreloader.TryPreload(typeof(torch).Assembly.Location);
        }
    }

    [Fact]
    public void SwitchVariable_IsTheMsBuildPropertyName_InUpperCase()
    {
        string targets = RepositoryFiles.Read("src/SelectiveLoss/Native/SelectiveLoss.targets");
        targets.Should().Contain("'$(SelectiveLossPatchLibTorchSharp)' != 'false'");
        PackageCachePreloader.SwitchVariable.Should().Be("SELECTIVELOSS_PATCH_LIBTORCHSHARP");
        PackageCachePreloader.SwitchVariable.Replace("_", string.Empty, StringComparison.Ordinal)
            .Should().Be("SelectiveLossPatchLibTorchSharp".ToUpperInvariant());
    }

    private string EmptyApplicationFolder() => Directory.CreateDirectory(Path.Combine(root, "app")).FullName;

    private string FakePackages()
    {
        string packages = Path.Combine(root, "packages");
        string lib = Path.Combine(packages, "torchsharp", "0.107.0", "lib", "net8.0");
        string native = Path.Combine(packages, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native");
        Directory.CreateDirectory(lib);
        Directory.CreateDirectory(native);
        File.WriteAllText(Path.Combine(lib, "TorchSharp.dll"), string.Empty);
        File.Copy(LibTorchSharpFixTestsHost.UnpatchedLibrary(root), Path.Combine(native, "libLibTorchSharp.so"));
        foreach (string version in new[] { "2.9.0", "2.10.0" })
        {
            string torch = Path.Combine(packages, "libtorch-cpu-linux-x64", version, "runtimes", "linux-x64", "native");
            Directory.CreateDirectory(torch);
            if (version == "2.10.0")
            {
                File.WriteAllText(Path.Combine(torch, "libtorch_cpu.so"), string.Empty);
            }
        }

        return Path.Combine(lib, "TorchSharp.dll");
    }
}
