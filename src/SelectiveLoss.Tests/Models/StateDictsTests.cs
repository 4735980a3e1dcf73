using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using FluentAssertions;
using SelectiveLoss.Models;
using SelectiveLoss.Normalization;
using SelectiveLoss.Selection;
using SelectiveLoss.Training;
using TorchSharp;
using TorchSharp.PyBridge;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace SelectiveLoss.Tests.Models;

/// <summary>
/// PyTorch files in and out: torchvision's own files (made by Models/Fixtures/make_densenet_fixtures.py with
/// torchvision 0.14.1) load with torchvision's logits; files saved here reload; every failure names the file and the key
/// and leaves the model as it was.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class StateDictsTests : IDisposable
{
    private const double Tolerance = 1e-5;
    private readonly ITestOutputHelper output;
    private readonly string directory = Path.Combine(Path.GetTempPath(), "statedicts-" + Guid.NewGuid().ToString("N"));

    public StateDictsTests(ITestOutputHelper output)
    {
        this.output = output;
        Directory.CreateDirectory(directory);
    }

    public void Dispose() => Directory.Delete(directory, recursive: true);

    public static TheoryData<string> TorchvisionFiles => new()
    {
        TorchvisionFixture.Pth,
        TorchvisionFixture.OldKeysPth,
        TorchvisionFixture.OldKeysLegacyPth,
        TorchvisionFixture.Safetensors,
    };

    [Theory]
    [MemberData(nameof(TorchvisionFiles))]
    public void load_state_dict_TorchvisionFile_GivesTorchvisionsLogits(string name)
    {
        using var model = TorchvisionFixture.Build();

        var report = model.load_state_dict(TorchvisionFixture.Path(name));

        using var expected = TorchvisionFixture.Logits();
        using var actual = TorchvisionFixture.LogitsOf(model);
        double difference = TorchvisionFixture.MaxDifference(actual, expected);
        output.WriteLine($"{name}: max |C# - torchvision| logit difference {difference:g3}; {report}");
        difference.Should().BeLessThan(Tolerance);
        report.MissingKeys.Should().BeEmpty();
        report.UnexpectedKeys.Should().BeEmpty();
        report.ShapeMismatches.Should().BeEmpty();
        report.ConvertedKeys.Should().BeEmpty();
        model.state_dict().Keys.Should().Equal(TorchvisionFixture.Keys, "the DenseNet has torchvision's keys in torchvision's order");
    }

    [Theory]
    [InlineData(TorchvisionFixture.OldKeysPth)]
    [InlineData(TorchvisionFixture.OldKeysLegacyPth)]
    public void load_state_dict_OldTorchvisionKeys_RenamedAsTorchvisionDoesAndCountersSetToZero(string name)
    {
        using var model = TorchvisionFixture.Build();
        using (torch.no_grad())
        {
            model.state_dict()["features.norm0.num_batches_tracked"].fill_(7);
        }

        var report = model.load_state_dict(TorchvisionFixture.Path(name));

        // 4 dense layers, each with norm1, conv1, norm2, conv2: 4 * (4 + 1 + 4 + 1) keys renamed.
        report.RenamedKeys.Should().HaveCount(40);
        report.RenamedKeys["features.denseblock1.denselayer1.norm.1.weight"].Should().Be("features.denseblock1.denselayer1.norm1.weight");
        report.RenamedKeys["features.denseblock2.denselayer2.conv.2.weight"].Should().Be("features.denseblock2.denselayer2.conv2.weight");
        // The published files predate num_batches_tracked: PyTorch's BatchNorm sets it to 0 for them, and so does this.
        report.DefaultedKeys.Should().HaveCount(11).And.OnlyContain(k => k.EndsWith(".num_batches_tracked", StringComparison.Ordinal));
        report.LoadedKeys.Should().HaveCount(TorchvisionFixture.Keys.Count - 11);
        model.state_dict()["features.norm0.num_batches_tracked"].item<long>().Should().Be(0);
    }

    [Fact]
    public void load_state_dict_NewKeyFile_LoadsNumBatchesTracked()
    {
        using var model = TorchvisionFixture.Build();

        var report = model.load_state_dict(TorchvisionFixture.Path(TorchvisionFixture.Pth));

        report.RenamedKeys.Should().BeEmpty();
        report.DefaultedKeys.Should().BeEmpty();
        report.LoadedKeys.Should().Equal(TorchvisionFixture.Keys);
        model.state_dict()["features.norm0.num_batches_tracked"].item<long>().Should().Be(3, "the generator ran 3 training passes");
    }

    [Fact]
    public void DenseNet_WeightsArgument_LoadsStrictlyWithTorchvisionsLogits()
    {
        using var model = TorchvisionFixture.Build(weights: TorchvisionFixture.Path(TorchvisionFixture.OldKeysLegacyPth));

        using var expected = TorchvisionFixture.Logits();
        using var actual = TorchvisionFixture.LogitsOf(model);
        TorchvisionFixture.MaxDifference(actual, expected).Should().BeLessThan(Tolerance);
    }

    [Fact]
    public void DenseNet_WeightsForOtherClassCount_ThrowsNamingClassifierAndTheFix()
    {
        string path = TorchvisionFixture.Path(TorchvisionFixture.Pth);

        var act = () => TorchvisionFixture.Build(num_classes: 3, weights: path);

        act.Should().Throw<ArgumentException>().Where(e => e.Message.Contains(path, StringComparison.Ordinal)
            && e.Message.Contains("classifier.weight: the file has [5, 16], the model [3, 16]", StringComparison.Ordinal)
            && e.Message.Contains("ignore_mismatched_sizes: true", StringComparison.Ordinal));
    }

    [Fact]
    public void load_state_dict_ImageNetClassifierInto3ClassModel_SkipsAndReportsClassifierLoadsTheRest()
    {
        using var model = TorchvisionFixture.Build(num_classes: 3);
        var before = Snapshot(model);

        var report = model.load_state_dict(TorchvisionFixture.Path(TorchvisionFixture.OldKeysPth), ignore_mismatched_sizes: true);

        report.ShapeMismatches.Select(m => m.ToString()).Should().Equal(
            "classifier.weight: the file has [5, 16], the model [3, 16]",
            "classifier.bias: the file has [5], the model [3]");
        report.ShapeMismatches[0].FileShape.Should().Equal(5, 16);
        report.ShapeMismatches[0].ModelShape.Should().Equal(3, 16);
        report.LoadedKeys.Should().HaveCount(TorchvisionFixture.Keys.Count - 11 - 2);
        report.ToString().Should().Contain("Skipped, shapes differ (2): classifier.weight");
        Same(model, before, "classifier.weight").Should().BeTrue("a skipped key keeps its value");
        Same(model, before, "features.conv0.weight").Should().BeFalse("everything else is loaded");
        using var reference = TorchvisionFixture.Build(weights: TorchvisionFixture.Path(TorchvisionFixture.Pth));
        model.state_dict()["features.norm5.running_var"].allclose(reference.state_dict()["features.norm5.running_var"]).Should().BeTrue();
    }

    [Fact]
    public void load_state_dict_SwappedModelNotStrict_LoadsAffineAndReportsRunningStatistics()
    {
        using var model = TorchvisionFixture.Build();
        model.ReplaceBatchNorm(new GroupNormOptions { StandardizeConvWeights = false });
        string path = TorchvisionFixture.Path(TorchvisionFixture.OldKeysPth);
        var before = Snapshot(model);

        var strict = () => model.load_state_dict(path);
        strict.Should().Throw<ArgumentException>().Where(e => e.Message.Contains("unexpected keys (22)", StringComparison.Ordinal)
            && e.Message.Contains("features.denseblock1.denselayer1.norm1.running_mean", StringComparison.Ordinal));
        model.state_dict().Keys.Should().OnlyContain(k => Same(model, before, k), "a failed load changes nothing");

        var report = model.load_state_dict(path, strict: false);

        // 11 norm layers: running_mean and running_var are in the old file (num_batches_tracked is not), under their
        // renamed keys.
        report.RenamedKeys.Should().HaveCount(40);
        report.UnexpectedKeys.Should().HaveCount(22).And.OnlyContain(k => k.EndsWith("running_mean", StringComparison.Ordinal)
            || k.EndsWith("running_var", StringComparison.Ordinal));
        report.MissingKeys.Should().BeEmpty();
        report.LoadedKeys.Should().HaveCount(model.state_dict().Count);
        using var reference = TorchvisionFixture.Build(weights: path);
        model.state_dict()["features.norm5.weight"].equal(reference.state_dict()["features.norm5.weight"]).all().item<bool>().Should().BeTrue();
    }

    [Fact]
    public void save_py_TrainedModel_ReloadsToTheSameLogitsAndPyTorchCanCheckIt()
    {
        using var model = TorchvisionFixture.Build();
        model.load_state_dict(TorchvisionFixture.Path(TorchvisionFixture.Pth));
        Train(model, steps: 3);
        string pth = Path.Combine(directory, "trained.pth");
        string safetensors = Path.Combine(directory, "trained.safetensors");

        model.save_py(pth);
        model.save_safetensors(safetensors);

        using var expected = TorchvisionFixture.LogitsOf(model);
        foreach (string path in new[] { pth, safetensors })
        {
            using var copy = TorchvisionFixture.Build();
            var report = copy.load_state_dict(path);
            report.LoadedKeys.Should().Equal(TorchvisionFixture.Keys);
            using var actual = TorchvisionFixture.LogitsOf(copy);
            actual.equal(expected).all().item<bool>().Should().BeTrue($"{Path.GetFileName(path)} holds the trained values exactly");
            copy.state_dict()["features.norm0.num_batches_tracked"].item<long>().Should().Be(6, "3 from the fixture, 3 from training");
        }

        ExportForPyTorchCheck(pth, safetensors, expected);
    }

    [Fact]
    public void load_state_dict_Float16File_ConvertsEveryFloatToTheModelsDtypeAndSaysSo()
    {
        using var source = TorchvisionFixture.Build(weights: TorchvisionFixture.Path(TorchvisionFixture.Pth));
        var half = source.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.is_floating_point() ? kv.Value.to(ScalarType.Float16) : kv.Value);
        string path = Path.Combine(directory, "half.pth");
        PyTorchPickler.PickleStateDict(path, half);
        using var model = TorchvisionFixture.Build();

        var report = model.load_state_dict(path);

        report.ConvertedKeys.Should().HaveCount(TorchvisionFixture.Keys.Count - 11, "every tensor but the 11 int64 counters");
        model.parameters().Should().OnlyContain(p => p.dtype == ScalarType.Float32);
        using var expected = TorchvisionFixture.Logits();
        using var actual = TorchvisionFixture.LogitsOf(model);
        TorchvisionFixture.MaxDifference(actual, expected).Should().BeLessThan(1e-2, "float16 keeps about 3 significant digits");
    }

    [Fact]
    public void load_state_dict_IntegerTensorForFloatParameter_ThrowsNamingFileKeyAndDtypes()
    {
        using var source = TorchvisionFixture.Build(weights: TorchvisionFixture.Path(TorchvisionFixture.Pth));
        var tensors = source.state_dict();
        using var ints = torch.zeros(tensors["classifier.bias"].shape, dtype: ScalarType.Int32);
        tensors["classifier.bias"] = ints;
        string path = Path.Combine(directory, "int.pth");
        PyTorchPickler.PickleStateDict(path, tensors);

        AssertFailsUnchanged<ArgumentException>(path, "classifier.bias: the file has Int32, the model Float32");
    }

    [Fact]
    public void load_state_dict_StrictWithMissingKey_ThrowsNamingItAndLoadsNothing()
    {
        string path = Path.Combine(directory, "missing.pth");
        using (var source = TorchvisionFixture.Build(weights: TorchvisionFixture.Path(TorchvisionFixture.Pth)))
        {
            source.save_py(path, skip: new[] { "classifier.bias" });
        }

        AssertFailsUnchanged<ArgumentException>(path, "missing keys (1), in the model but not in the file (pass strict: false to load the rest): classifier.bias");

        using var model = TorchvisionFixture.Build();
        model.load_state_dict(path, strict: false).MissingKeys.Should().Equal("classifier.bias");
    }

    [Fact]
    public void load_state_dict_StrictWithUnexpectedKey_ThrowsNamingIt()
    {
        using var source = TorchvisionFixture.Build(weights: TorchvisionFixture.Path(TorchvisionFixture.Pth));
        var tensors = source.state_dict();
        using var extra = torch.ones(3);
        tensors["features.denseblock9.weight"] = extra;
        string path = Path.Combine(directory, "extra.safetensors");
        TorchSharp.PyBridge.Safetensors.SaveStateDict(path, tensors);

        AssertFailsUnchanged<ArgumentException>(path, "unexpected keys (1), in the file but not in the model (pass strict: false to ignore them): features.denseblock9.weight");
    }

    [Fact]
    public void load_state_dict_ShapeMismatch_ThrowsNamingKeyAndBothShapesEvenWhenNotStrict()
    {
        string path = TorchvisionFixture.Path(TorchvisionFixture.Safetensors);
        using var model = TorchvisionFixture.Build(num_classes: 7);
        var before = Snapshot(model);

        var act = () => model.load_state_dict(path, strict: false);

        act.Should().Throw<ArgumentException>().Where(e => e.Message.Contains(path, StringComparison.Ordinal)
            && e.Message.Contains("classifier.weight: the file has [5, 16], the model [7, 16]", StringComparison.Ordinal));
        model.state_dict().Keys.Should().OnlyContain(k => Same(model, before, k), "a failed load changes nothing");
    }

    [Fact]
    public void load_state_dict_MissingFile_ThrowsFileNotFoundNamingIt()
    {
        string path = Path.Combine(directory, "densenet121-a639ec97.pth");

        var exception = AssertFailsUnchanged<FileNotFoundException>(path, path);

        exception.FileName.Should().Be(path);
    }

    [Theory]
    [InlineData(TorchvisionFixture.Pth, "End of Central Directory")]
    [InlineData(TorchvisionFixture.OldKeysLegacyPth, "it ends early, cut short")]
    [InlineData(TorchvisionFixture.Safetensors, "it ends early, cut short")]
    public void load_state_dict_TruncatedFile_ThrowsInvalidDataNamingIt(string name, string why)
    {
        byte[] bytes = File.ReadAllBytes(TorchvisionFixture.Path(name));
        string path = Path.Combine(directory, "truncated-" + name);
        File.WriteAllBytes(path, bytes[..(bytes.Length * 2 / 3)]);

        AssertFailsUnchanged<InvalidDataException>(path, $"'{path}' is not a state_dict written by PyTorch's torch.save", why);
    }

    [Fact]
    public void load_state_dict_TruncatedInsideLastTensor_ThrowsInvalidData()
    {
        byte[] bytes = File.ReadAllBytes(TorchvisionFixture.Path(TorchvisionFixture.OldKeysLegacyPth));
        string path = Path.Combine(directory, "cut.pth");
        File.WriteAllBytes(path, bytes[..^3]);

        AssertFailsUnchanged<InvalidDataException>(path, path, "it ends early, cut short");
    }

    [Theory]
    [InlineData("random")]
    [InlineData("text")]
    [InlineData("empty")]
    public void load_state_dict_NotAPyTorchFile_ThrowsInvalidDataNamingIt(string kind)
    {
        string path = Path.Combine(directory, kind + ".pth");
        var random = new Random(5);
        byte[] noise = new byte[4096];
        random.NextBytes(noise);
        switch (kind)
        {
            case "random":
                File.WriteAllBytes(path, noise);
                break;
            case "text":
                File.WriteAllText(path, "<!DOCTYPE html><html><body>Access denied</body></html>\n");
                break;
            default:
                File.WriteAllBytes(path, Array.Empty<byte>());
                break;
        }

        AssertFailsUnchanged<InvalidDataException>(path, $"'{path}' is not a state_dict written by PyTorch's torch.save (.pth, .pt, .bin) or safetensors");
    }

    [Fact]
    public void load_state_dict_ArgumentsChecked_NamesTheArgument()
    {
        using var model = TorchvisionFixture.Build();

        ((Action)(() => StateDicts.load_state_dict(model, null!))).Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("path");
        ((Action)(() => model.load_state_dict(string.Empty))).Should().Throw<ArgumentException>().Which.ParamName.Should().Be("path");
        ((Action)(() => StateDicts.load_state_dict(null!, "x.pth"))).Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("module");
    }

    [Fact]
    public void load_state_dict_ReadmeFineTuning_LoadsSwapsAndTrainsWithSelectiveStep()
    {
        string pretrained = TorchvisionFixture.Path(TorchvisionFixture.OldKeysPth);  // made by torchvision, old key names
        const int Classes = 3;
        using var model = TorchvisionFixture.Build(num_classes: Classes);                 // README: DenseNets.densenet121(num_classes: 100)
        manual_seed(3);
        var batches = Enumerable.Range(0, 3).Select(_ => (x: randn(8, 3, 16, 16), y: randint(0, Classes, new long[] { 8 }))).ToList();
        var results = new List<StepResult>();

        // <finetune>
        StateDictLoadReport report = model.load_state_dict(pretrained, ignore_mismatched_sizes: true);   // all but the classifier
        Console.WriteLine(report);   // ... Skipped, shapes differ (2): classifier.weight: the file has [1000, 1024], ...
        model.ReplaceBatchNorm(new GroupNormOptions { StandardizeConvWeights = false });   // optional: see "When to swap"
        using var optimizer = optim.SGD(model.parameters(), learningRate: 0.01, momentum: 0.9);
        using var step = new SelectiveStep(model, optimizer, SelectionRules.Lowest(keepRatio: 0.6));
        foreach (var (x, y) in batches)
        {
            results.Add(step.Step(x, y));
        }
        // </finetune>

        report.ShapeMismatches.Select(m => m.Key).Should().Equal("classifier.weight", "classifier.bias");
        results.Should().HaveCount(3).And.OnlyContain(r => r.KeptCount == 5 && double.IsFinite(r.Loss));
        model.modules().Should().NotContain(m => m.GetType().Name.Contains("BatchNorm", StringComparison.Ordinal));
    }

    private static void Train(DenseNet model, int steps)
    {
        manual_seed(11);
        using var optimizer = optim.SGD(model.parameters(), learningRate: 0.05, momentum: 0.9);
        using var step = new SelectiveStep(model, optimizer, SelectionRules.Lowest(keepRatio: 0.5));
        model.train();
        for (int i = 0; i < steps; i++)
        {
            using var scope = NewDisposeScope();
            step.Step(randn(8, 3, 16, 16), randint(0, TorchvisionFixture.NumClasses, new long[] { 8 }));
        }
    }

    // With SELECTIVELOSS_PYTORCH_CHECK_DIR set, leaves the saved files and their C# logits there for
    // `make_densenet_fixtures.py --check FILE`, which loads them into torchvision with load_state_dict(strict=True).
    private static void ExportForPyTorchCheck(string pth, string safetensors, Tensor logits)
    {
        string? target = Environment.GetEnvironmentVariable("SELECTIVELOSS_PYTORCH_CHECK_DIR");
        if (string.IsNullOrEmpty(target))
        {
            return;
        }

        Directory.CreateDirectory(target);
        string json = JsonSerializer.Serialize(new { logits = logits.data<float>().ToArray() });
        foreach (string file in new[] { pth, safetensors })
        {
            string copy = Path.Combine(target, Path.GetFileName(file));
            File.Copy(file, copy, overwrite: true);
            File.WriteAllText(copy + ".logits.json", json);
        }
    }

    private static TException AssertFailsUnchanged<TException>(string path, params string[] fragments)
        where TException : Exception
    {
        using var model = TorchvisionFixture.Build();
        var before = Snapshot(model);

        var act = () => model.load_state_dict(path);

        var exception = act.Should().Throw<TException>().Which;
        foreach (string fragment in fragments)
        {
            exception.Message.Should().Contain(fragment);
        }

        model.state_dict().Keys.Should().OnlyContain(k => Same(model, before, k), "a failed load changes nothing");
        return exception;
    }

    private static Dictionary<string, Tensor> Snapshot(nn.Module model) =>
        model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());

    private static bool Same(nn.Module model, Dictionary<string, Tensor> before, string key) =>
        model.state_dict()[key].equal(before[key]).all().item<bool>();
}
