using System.Collections.Generic;
using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SelectiveLoss.Models;

/// <summary>
/// A dense block, as torchvision's <c>_DenseBlock</c>: layers <c>denselayer1</c> ... <c>denselayerN</c>, each fed
/// the concatenation of the block's input and every earlier layer's output; the block returns the concatenation of all.
/// </summary>
internal sealed class DenseBlock : Module<Tensor, Tensor>
{
    private readonly DenseLayer[] layers;

    public DenseBlock(int numLayers, long numInputFeatures, long growthRate, long bnSize, double dropRate,
        bool memoryEfficient, NormLayerSource norms, ConvLayerSource convs, string prefix)
        : base(nameof(DenseBlock))
    {
        layers = new DenseLayer[numLayers];
        for (int i = 0; i < numLayers; i++)
        {
            string name = "denselayer" + (i + 1).ToString(CultureInfo.InvariantCulture);
            layers[i] = new DenseLayer(numInputFeatures + (i * growthRate), growthRate, bnSize, dropRate,
                memoryEfficient, norms, convs, prefix + "." + name);
            register_module(name, layers[i]);
        }

        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        var features = new List<Tensor>(layers.Length + 1) { input };
        foreach (var layer in layers)
        {
            features.Add(layer.forward(features));
        }

        return scope.MoveToOuter(torch.cat(features, 1));
    }
}
