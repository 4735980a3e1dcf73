using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using SelectiveLoss.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace SelectiveLoss.Tests.Models;

/// <summary>
/// The parity fixtures of Models/Fixtures, made by torchvision 0.14.1 with make_densenet_fixtures.py: a small torchvision
/// DenseNet's state_dict in several files, a fixed input and torchvision's eval-mode logits on it. Read without Python.
/// </summary>
internal static class TorchvisionFixture
{
    /// <summary>torch.save(state_dict), torchvision's current key names, zip format.</summary>
    public const string Pth = "densenet_tiny.pth";

    /// <summary>The same tensors under the old key names of torchvision's published checkpoints, no num_batches_tracked.</summary>
    public const string OldKeysPth = "densenet_tiny_oldkeys.pth";

    /// <summary>The old-key state_dict in torch.save's legacy (pre-1.6) format, pickled as PyTorch 0.3 did.</summary>
    public const string OldKeysLegacyPth = "densenet_tiny_oldkeys_legacy.pth";

    /// <summary>The state_dict as safetensors.</summary>
    public const string Safetensors = "densenet_tiny.safetensors";

    /// <summary>The classes of the fixture's classifier.</summary>
    public const int NumClasses = 5;

    private static readonly Lazy<JsonDocument> Json = new(() => JsonDocument.Parse(File.ReadAllText(Path("densenet_tiny.json"))));

    /// <summary>The fixture file's path in the test output.</summary>
    public static string Path(string name) => System.IO.Path.Combine(AppContext.BaseDirectory, "Models", "Fixtures", name);

    /// <summary>torchvision's state_dict keys, in its order.</summary>
    public static IReadOnlyList<string> Keys => Json.Value.RootElement.GetProperty("state_dict_keys").EnumerateArray()
        .Select(e => e.GetString()!).ToList();

    /// <summary>Builds the fixture's configuration with this library's DenseNet (BatchNorm, ImageNet stem).</summary>
    public static DenseNet Build(int num_classes = NumClasses, string? weights = null) =>
        new(growth_rate: 4, block_config: new[] { 2, 2 }, num_init_features: 8, bn_size: 4, num_classes: num_classes,
            weights: weights);

    /// <summary>The fixed input, [2, 3, 16, 16].</summary>
    public static Tensor Input() => Floats("input", Shape("input_shape"));

    /// <summary>torchvision's eval-mode logits on <see cref="Input"/>, [2, 5].</summary>
    public static Tensor Logits() => Floats("logits", new long[] { 2, NumClasses });

    /// <summary>The model's eval-mode logits on the fixture input, under no_grad; the model is put back in its mode.</summary>
    public static Tensor LogitsOf(nn.Module<Tensor, Tensor> model)
    {
        bool training = model.training;
        model.eval();
        try
        {
            using var noGrad = torch.no_grad();
            using var x = Input();
            return model.call(x);
        }
        finally
        {
            model.train(training);
        }
    }

    /// <summary>The largest absolute difference between two tensors.</summary>
    public static double MaxDifference(Tensor a, Tensor b)
    {
        using var difference = (a.to(ScalarType.Float64) - b.to(ScalarType.Float64)).abs().max();
        return difference.item<double>();
    }

    private static long[] Shape(string name) =>
        Json.Value.RootElement.GetProperty(name).EnumerateArray().Select(e => e.GetInt64()).ToArray();

    private static Tensor Floats(string name, long[] shape) =>
        torch.tensor(Json.Value.RootElement.GetProperty(name).EnumerateArray().Select(e => (float)e.GetDouble()).ToArray()).reshape(shape);
}
