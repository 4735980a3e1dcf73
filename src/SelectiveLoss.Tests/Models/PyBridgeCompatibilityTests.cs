using System;
using System.IO;
using System.Linq;
using FluentAssertions;
using SelectiveLoss.Models;
using TorchSharp;
using TorchSharp.PyBridge;
using Xunit;
using static TorchSharp.torch;

namespace SelectiveLoss.Tests.Models;

/// <summary>
/// TorchSharp.PyBridge 1.4.4 with the TorchSharp this library pins (its package lists no TorchSharp dependency), and
/// what PyBridge alone does with the cases <see cref="StateDicts.load_state_dict"/> handles: the evidence for keeping
/// that layer. When one of the "Lacks" tests fails, PyBridge has changed and the layer may shrink.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class PyBridgeCompatibilityTests : IDisposable
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "pybridge-" + Guid.NewGuid().ToString("N"));

    public PyBridgeCompatibilityTests() => Directory.CreateDirectory(directory);

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public void PyBridge_WithPinnedTorchSharp_RoundTripsAStateDict()
    {
        typeof(torch).Assembly.GetName().Version!.ToString(3).Should().StartWith("0.107.", "the library pins TorchSharp [0.107.0, 0.108.0)");
        typeof(PyBridgeModuleExtensions).Assembly.GetName().Name.Should().Be("TorchSharp.PyBridge");
        using var model = TorchvisionFixture.Build();
        string path = Path.Combine(directory, "roundtrip.pth");

        model.save_py(path);
        using var copy = TorchvisionFixture.Build();
        copy.load_py(path);
        string safetensors = Path.Combine(directory, "roundtrip.safetensors");
        model.save_safetensors(safetensors);
        using var fromSafetensors = TorchvisionFixture.Build();
        fromSafetensors.load_safetensors(safetensors);

        foreach (var (key, tensor) in model.state_dict())
        {
            copy.state_dict()[key].equal(tensor).all().item<bool>().Should().BeTrue(key);
            fromSafetensors.state_dict()[key].equal(tensor).all().item<bool>().Should().BeTrue(key);
        }
    }

    [Fact]
    public void PyBridge_ReadsTorchvisionsZipFile_WithTorchvisionsLogits()
    {
        using var model = TorchvisionFixture.Build();

        model.load_py(TorchvisionFixture.Path(TorchvisionFixture.Pth));

        using var expected = TorchvisionFixture.Logits();
        using var actual = TorchvisionFixture.LogitsOf(model);
        TorchvisionFixture.MaxDifference(actual, expected).Should().BeLessThan(1e-5);
    }

    [Fact]
    public void PyBridge_Lacks_LegacyFormat()
    {
        using var model = TorchvisionFixture.Build();

        var act = () => model.load_py(TorchvisionFixture.Path(TorchvisionFixture.OldKeysLegacyPth));

        act.Should().Throw<NotImplementedException>().WithMessage("*old PyTorch format*");
    }

    [Fact]
    public void PyBridge_Lacks_TorchvisionsOldKeyNamesAndNamedKeysInErrors()
    {
        using var model = TorchvisionFixture.Build();

        var act = () => model.load_py(TorchvisionFixture.Path(TorchvisionFixture.OldKeysPth));

        act.Should().Throw<InvalidOperationException>().Which.Message.Should().NotContain("norm.1", "its message names no key");
    }

    [Fact]
    public void PyBridge_Lacks_ShapeCheck_ReadsASmallerTensorIntoALargerParameter()
    {
        using var model = TorchvisionFixture.Build(num_classes: 7);
        using var before = model.state_dict()["classifier.weight"].clone();

        // strict: false only excuses missing and unexpected keys; the 5-class classifier goes into the 7-class one.
        model.load_py(TorchvisionFixture.Path(TorchvisionFixture.Pth), strict: false);

        using var reference = TorchvisionFixture.Build(weights: TorchvisionFixture.Path(TorchvisionFixture.Pth));
        var weight = model.state_dict()["classifier.weight"];
        weight[..5].equal(reference.state_dict()["classifier.weight"]).all().item<bool>().Should().BeTrue("the first 5 rows were overwritten");
        weight[5..].equal(before[5..]).all().item<bool>().Should().BeTrue("the last 2 kept their values, and nothing was reported");
    }

    [Fact]
    public void PyBridge_Lacks_AtomicLoad_ChangesTheModelBeforeFailing()
    {
        // A 5-class file into a 3-class model: PyBridge writes the tensors it reads before the classifier fails.
        using var model = TorchvisionFixture.Build(num_classes: 3);
        using var before = model.state_dict()["features.conv0.weight"].clone();

        var act = () => model.load_py(TorchvisionFixture.Path(TorchvisionFixture.Pth));

        act.Should().Throw<Exception>();
        model.state_dict()["features.conv0.weight"].equal(before).all().item<bool>().Should().BeFalse("part of the file was loaded");
    }

    [Fact]
    public void PyBridge_Lacks_ClearErrorForNonPyTorchFile()
    {
        string path = Path.Combine(directory, "page.pth");
        File.WriteAllText(path, "<html>Not found</html>");
        using var model = TorchvisionFixture.Build();

        var act = () => model.load_py(path);

        act.Should().Throw<NotImplementedException>().Which.Message.Should().NotContain(path, "it blames the old PyTorch format and names no file");
    }

    [Fact]
    public void PyBridge_TruncatedSafetensors_ThrowsEndOfStream()
    {
        byte[] bytes = File.ReadAllBytes(TorchvisionFixture.Path(TorchvisionFixture.Safetensors));
        string path = Path.Combine(directory, "cut.safetensors");
        File.WriteAllBytes(path, bytes[..^64]);
        using var model = TorchvisionFixture.Build();

        var act = () => model.load_safetensors(path);

        // StateDicts relies on this (and names the file around it) rather than checking the extents itself.
        act.Should().Throw<EndOfStreamException>();
    }
}
