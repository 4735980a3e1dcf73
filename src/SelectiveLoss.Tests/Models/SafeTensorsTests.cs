using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using SelectiveLoss.Models;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SelectiveLoss.Tests.Models;

[Collection(TorchCollection.Name)]
public sealed class SafeTensorsTests : IDisposable
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "safetensors-" + Guid.NewGuid().ToString("N"));

    public SafeTensorsTests() => Directory.CreateDirectory(directory);

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public void load_file_FileWrittenByHandToTheSpec_ReadsDtypesShapesValuesAndMetadata()
    {
        // Written byte by byte as the format describes, independent of save_file.
        var data = new List<byte>();
        foreach (float f in new[] { 1f, 2f, 3f, -4.5f })
        {
            data.AddRange(BitConverter.GetBytes(f));
        }

        data.AddRange(BitConverter.GetBytes(7L));                 // I64 scalar
        data.AddRange(new byte[] { 0x00, 0x3C, 0x00, 0xC0 });     // F16 1.0, -2.0
        data.AddRange(new byte[] { 0x80, 0x3F, 0x00, 0x3F });     // BF16 1.0, 0.5
        string json = "{\"__metadata__\":{\"format\":\"pt\"}," +
            "\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}," +
            "\"b\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[16,24]}," +
            "\"c\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[24,28]}," +
            "\"d\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[28,32]}}";
        string path = Write("hand.safetensors", json, data.ToArray());

        var tensors = SafeTensors.load_file(path);
        try
        {
            tensors.Keys.Should().Equal("a", "b", "c", "d");
            tensors["a"].dtype.Should().Be(ScalarType.Float32);
            tensors["a"].shape.Should().Equal(2, 2);
            tensors["a"].data<float>().ToArray().Should().Equal(1f, 2f, 3f, -4.5f);
            tensors["b"].shape.Should().BeEmpty();
            tensors["b"].item<long>().Should().Be(7);
            tensors["c"].dtype.Should().Be(ScalarType.Float16);
            tensors["c"].to(ScalarType.Float32).data<float>().ToArray().Should().Equal(1f, -2f);
            tensors["d"].dtype.Should().Be(ScalarType.BFloat16);
            tensors["d"].to(ScalarType.Float32).data<float>().ToArray().Should().Equal(1f, 0.5f);
            SafeTensors.load_metadata(path).Should().Equal(new Dictionary<string, string> { ["format"] = "pt" });
        }
        finally
        {
            foreach (var t in tensors.Values)
            {
                t.Dispose();
            }
        }
    }

    [Fact]
    public void save_file_Tensors_WritesTheSpecsLayout()
    {
        string path = Path.Combine(directory, "saved.safetensors");
        using var a = torch.tensor(new float[] { 1f, -2f, 3.5f });
        using var b = torch.tensor(new long[] { 5, 6 }).reshape(2, 1);
        SafeTensors.save_file(new Dictionary<string, Tensor> { ["a"] = a, ["b"] = b }, path,
            new Dictionary<string, string> { ["source"] = "test" });

        byte[] bytes = File.ReadAllBytes(path);
        long headerLength = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        (headerLength % 8).Should().Be(0, "the header is padded so that the data is 8-byte aligned");
        using var header = JsonDocument.Parse(Encoding.UTF8.GetString(bytes, 8, (int)headerLength).TrimEnd(' '));
        var root = header.RootElement;
        root.GetProperty("__metadata__").GetProperty("source").GetString().Should().Be("test");
        root.GetProperty("a").GetProperty("dtype").GetString().Should().Be("F32");
        root.GetProperty("a").GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).Should().Equal(3);
        root.GetProperty("a").GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).Should().Equal(0, 12);
        root.GetProperty("b").GetProperty("dtype").GetString().Should().Be("I64");
        root.GetProperty("b").GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).Should().Equal(2, 1);
        root.GetProperty("b").GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).Should().Equal(12, 28);
        long start = 8 + headerLength;
        bytes.Length.Should().Be((int)(start + 28));
        BitConverter.ToSingle(bytes, (int)start + 8).Should().Be(3.5f);
        BitConverter.ToInt64(bytes, (int)start + 20).Should().Be(6);
    }

    [Fact]
    public void load_model_FileFromSaveModel_GivesIdenticalOutputs()
    {
        string path = Path.Combine(directory, "tiny.safetensors");
        using var x = torch.randn(2, 3, 8, 8);
        using var original = Tiny();
        using (torch.no_grad())
        {
            original.call(x).Dispose(); // moves BatchNorm's running statistics and num_batches_tracked
        }

        original.eval();
        SafeTensors.save_model(original, path);
        using var copy = Tiny();
        copy.eval();

        var (missing, unexpected) = SafeTensors.load_model(copy, path);

        missing.Should().BeEmpty();
        unexpected.Should().BeEmpty();
        using var noGrad = torch.no_grad();
        using var expected = original.call(x);
        using var actual = copy.call(x);
        actual.equal(expected).all().item<bool>().Should().BeTrue();
        copy.state_dict()["features.denseblock1.denselayer1.norm1.num_batches_tracked"].item<long>().Should().Be(1);
    }

    [Fact]
    public void save_model_densenet121_WritesTorchvisionsKeysInOrder()
    {
        string path = Path.Combine(directory, "densenet121.safetensors");
        using var model = DenseNets.densenet121(num_classes: 100, stem: DenseNetStem.Cifar);

        SafeTensors.save_model(model, path);

        var tensors = SafeTensors.load_file(path);
        tensors.Keys.Should().Equal(DenseNet121StateDictKeys.All.Where(k => !k.StartsWith("features.norm0.", StringComparison.Ordinal)));
        foreach (var t in tensors.Values)
        {
            t.Dispose();
        }
    }

    [Theory]
    [InlineData(ScalarType.Float64)]
    [InlineData(ScalarType.Float16)]
    [InlineData(ScalarType.BFloat16)]
    public void load_model_OtherFloatDtype_ConvertsToTheParametersDtype(ScalarType fileDtype)
    {
        string path = Path.Combine(directory, "converted.safetensors");
        using var source = Tiny();
        var converted = source.state_dict().ToDictionary(kv => kv.Key,
            kv => kv.Value.is_floating_point() ? kv.Value.to(fileDtype) : kv.Value.clone());
        SafeTensors.save_file(converted, path);
        using var target = Tiny();

        SafeTensors.load_model(target, path);

        foreach (var (name, t) in target.state_dict())
        {
            t.dtype.Should().Be(source.state_dict()[name].dtype, name);
            t.equal(converted[name].to(t.dtype)).all().item<bool>().Should().BeTrue(name);
            converted[name].Dispose();
        }
    }

    [Fact]
    public void load_model_StrictWithMissingKey_ThrowsNamingItAndLoadsNothing()
    {
        string path = SaveTinyWithout("classifier.bias");
        using var target = Tiny();
        using var before = target.state_dict()["classifier.weight"].clone();

        var act = () => SafeTensors.load_model(target, path);

        act.Should().Throw<ArgumentException>().Where(e => e.Message.Contains("missing keys (1)", StringComparison.Ordinal)
            && e.Message.Contains("classifier.bias", StringComparison.Ordinal));
        target.state_dict()["classifier.weight"].equal(before).all().item<bool>().Should().BeTrue("a failed load changes nothing");
    }

    [Fact]
    public void load_model_StrictWithUnexpectedKey_ThrowsNamingIt()
    {
        string path = Path.Combine(directory, "extra.safetensors");
        using var source = Tiny();
        using var extra = torch.zeros(3);
        var tensors = source.state_dict();
        tensors["features.denseblock9.weight"] = extra;
        SafeTensors.save_file(tensors, path);
        using var target = Tiny();

        var act = () => SafeTensors.load_model(target, path);

        act.Should().Throw<ArgumentException>().Where(e => e.Message.Contains("unexpected keys (1)", StringComparison.Ordinal)
            && e.Message.Contains("features.denseblock9.weight", StringComparison.Ordinal));
    }

    [Fact]
    public void load_model_ShapeMismatch_ThrowsNamingKeyAndBothShapesEvenWhenNotStrict()
    {
        string path = Path.Combine(directory, "shape.safetensors");
        using var source = Tiny(num_classes: 5);
        SafeTensors.save_model(source, path);
        using var target = Tiny(num_classes: 3);

        var act = () => SafeTensors.load_model(target, path, strict: false);

        act.Should().Throw<ArgumentException>().Where(e =>
            e.Message.Contains("classifier.weight: the file has shape [5, 16], the model [3, 16]", StringComparison.Ordinal)
            && e.Message.Contains("classifier.bias", StringComparison.Ordinal));
    }

    [Fact]
    public void load_model_NotStrict_LoadsTheRestAndReportsMissingAndUnexpected()
    {
        string path = SaveTinyWithout("classifier.bias", extra: "head.weight");
        using var source = Tiny();
        using var target = Tiny();

        var (missing, unexpected) = SafeTensors.load_model(target, path, strict: false);

        missing.Should().Equal("classifier.bias");
        unexpected.Should().Equal("head.weight");
        var saved = SafeTensors.load_file(path);
        target.state_dict()["classifier.weight"].equal(saved["classifier.weight"]).all().item<bool>().Should().BeTrue();
        foreach (var t in saved.Values)
        {
            t.Dispose();
        }
    }

    [Fact]
    public void load_model_IntegerFileIntoFloatParameter_ThrowsNamingDtypes()
    {
        string path = Path.Combine(directory, "int.safetensors");
        using var source = Tiny();
        var tensors = source.state_dict();
        using var ints = torch.zeros(tensors["classifier.bias"].shape, dtype: ScalarType.Int32);
        tensors["classifier.bias"] = ints;
        SafeTensors.save_file(tensors, path);
        using var target = Tiny();

        var act = () => SafeTensors.load_model(target, path);

        act.Should().Throw<ArgumentException>().Where(e => e.Message.Contains("classifier.bias: the file has dtype Int32", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,16]}}", "outside the 8 data bytes")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", "needs 12")]
    [InlineData("{\"a\":{\"dtype\":\"C64\",\"shape\":[1],\"data_offsets\":[0,8]}}", "'C64'")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", "header is not valid")]
    [InlineData("[1, 2]", "not a JSON object")]
    public void load_file_MalformedHeader_ThrowsInvalidDataSayingWhy(string json, string expected)
    {
        string path = Write("bad.safetensors", json, new byte[8]);

        var act = () => SafeTensors.load_file(path);

        act.Should().Throw<InvalidDataException>().Where(e => e.Message.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void load_file_HeaderLengthBeyondTheFile_ThrowsInvalidData()
    {
        string path = Path.Combine(directory, "short.safetensors");
        var bytes = new byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, 1000);
        File.WriteAllBytes(path, bytes);

        var act = () => SafeTensors.load_file(path);

        act.Should().Throw<InvalidDataException>().Where(e => e.Message.Contains("header length 1000", StringComparison.Ordinal));
    }

    [Fact]
    public void save_file_MetadataKeyAsTensorName_Throws()
    {
        using var t = torch.zeros(1);
        var act = () => SafeTensors.save_file(new Dictionary<string, Tensor> { ["__metadata__"] = t }, Path.Combine(directory, "x"));

        act.Should().Throw<ArgumentException>().Which.ParamName.Should().Be("tensors");
    }

    private string SaveTinyWithout(string key, string? extra = null)
    {
        string path = Path.Combine(directory, "partial.safetensors");
        using var source = Tiny();
        var tensors = source.state_dict();
        tensors.Remove(key);
        using var added = torch.ones(2);
        if (extra is not null)
        {
            tensors[extra] = added;
        }

        SafeTensors.save_file(tensors, path);
        return path;
    }

    private string Write(string name, string json, byte[] data)
    {
        string path = Path.Combine(directory, name);
        byte[] header = Encoding.UTF8.GetBytes(json);
        var length = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        File.WriteAllBytes(path, length.Concat(header).Concat(data).ToArray());
        return path;
    }

    private static DenseNet Tiny(int num_classes = 3) =>
        new(growth_rate: 4, block_config: new[] { 2, 2 }, num_init_features: 8, bn_size: 2, num_classes: num_classes,
            stem: DenseNetStem.Cifar);
}
