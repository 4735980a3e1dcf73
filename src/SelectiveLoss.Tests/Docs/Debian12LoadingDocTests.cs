using System;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using FluentAssertions;
using SelectiveLoss.Native;
using Xunit;

namespace SelectiveLoss.Tests.Docs;

/// <summary>
/// docs/debian12-loading.md says what the loading fix writes, where and when, and how to turn it off. These tests keep
/// its names (switches, targets, warnings, folders, guarded entry points) those of the code.
/// </summary>
public sealed class Debian12LoadingDocTests
{
    private const string DocPath = "docs/debian12-loading.md";

    [Fact]
    public void Doc_HasNoCSharpBlocks_SoNothingInItGoesUncompiled()
    {
        Regex.IsMatch(Doc(), "```\\s*(csharp|cs|c#)\\b", RegexOptions.IgnoreCase).Should().BeFalse(
            "a C# snippet in docs/ would need a compiled copy and a test, as README's have");
    }

    [Fact]
    public void Doc_BuildTimeNames_AreTheTargetsFileNames()
    {
        string targets = RepositoryFiles.Read("src/SelectiveLoss/Native/SelectiveLoss.targets");
        string task = RepositoryFiles.Read("src/SelectiveLoss/Native/LibTorchSharpFix.cs");
        string doc = Doc();

        foreach (string name in new[]
        {
            "SelectiveLossPatchLibTorchSharp", "SelectiveLossLibStdCxxPath", "SelectiveLossFixLibTorchSharpAfterBuild",
            "SelectiveLossFixLibTorchSharpAfterPublish", "LibTorchSharpFix.cs", "CopyFilesToOutputDirectory",
        })
        {
            targets.Should().Contain(name);
            doc.Should().Contain(name);
        }

        targets.Should().Contain("AfterTargets=\"CopyFilesToOutputDirectory\"").And.Contain("AfterTargets=\"Publish\"");

        foreach (string warning in new[] { "\"SL0001\"", "\"SL0002\"" })
        {
            task.Should().Contain(warning);
            doc.Should().Contain("`" + warning.Trim('"') + "`");
        }
    }

    [Fact]
    public void Doc_RunTimeNames_AreTheCodesNames()
    {
        string doc = Doc();
        doc.Should().Contain("`" + PackageCachePreloader.SwitchVariable + "`");
        doc.Should().Contain("TorchSharpNative.LastFixOutcome").And.Contain("TorchSharpNative.EnsureLoaded()");
        doc.Should().Contain(nameof(TorchSharpLoadException));
        PackageCachePreloader.CacheRoot().Should().EndWith(Path.Combine("selectiveloss", "native"));
        doc.Should().Contain("~/.cache/selectiveloss/native/<hash>/libLibTorchSharp.so")
            .And.Contain("$XDG_CACHE_HOME/selectiveloss/native/<hash>/libLibTorchSharp.so");
    }

    [Fact]
    public void Guard_IsCalledOnlyByEntryPointsThatCreateFromNothing_AndTheDocListsThem()
    {
        // The rule: an entry point that receives a tensor or a module needs no guard (its caller already loaded
        // TorchSharp); only those that create tensors or modules from nothing call TorchRuntime.EnsureLoaded.
        string source = Path.Combine(RepositoryFiles.Root, "src", "SelectiveLoss");
        var callers = Directory.GetFiles(source, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains(Path.DirectorySeparatorChar + "obj" + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            .Where(f => File.ReadAllText(f).Contains("TorchRuntime.EnsureLoaded(", StringComparison.Ordinal))
            .Select(Path.GetFileNameWithoutExtension)
            .Order(StringComparer.Ordinal)
            .ToList();

        callers.Should().Equal("ChannelGroupNorm", "DenseNet", "HeldScalarBatchNorm2d", "NumericsCheck", "TorchSharpNative");
        string doc = Doc();
        doc.Should().Contain("the `DenseNet` constructor").And.Contain("the `ChannelGroupNorm` and `HeldScalarBatchNorm2d` constructors")
            .And.Contain("`SelectiveLoss.Native.TorchSharpNative.EnsureLoaded()`").And.Contain("`NumericsCheck.Run` and `NumericsCheck.EnsureChecked`");
    }

    private static string Doc() => RepositoryFiles.Read(DocPath);
}
