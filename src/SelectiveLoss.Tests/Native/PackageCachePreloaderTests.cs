using System;
using System.IO;
using System.Linq;
using FluentAssertions;
using SelectiveLoss.Native;
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
