using System.Collections.Generic;
using System.Globalization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SelectiveLoss.Models;

/// <summary>
/// The feature extractor, torchvision's <c>features</c>: the stem (<c>conv0</c>, and for ImageNet <c>norm0</c>,
/// <c>relu0</c>, <c>pool0</c>), then <c>denseblock1</c>, <c>transition1</c>, ..., the last dense block, and
/// <c>norm5</c>, registered in that order so that the state_dict lists its keys as torchvision does.
/// </summary>
internal sealed class DenseNetFeatures : Module<Tensor, Tensor>
{
    private readonly Module<Tensor, Tensor> conv0;
    private readonly Module<Tensor, Tensor>? norm0;
    private readonly Module<Tensor, Tensor>? relu0;
    private readonly Module<Tensor, Tensor>? pool0;
    private readonly DenseBlock[] blocks;
    private readonly Transition[] transitions;
    private readonly Module<Tensor, Tensor> norm5;

    public DenseNetFeatures(DenseNetStem stem, long growthRate, IReadOnlyList<int> blockConfig, long numInitFeatures,
        long bnSize, double dropRate, bool memoryEfficient, NormLayerSource norms, ConvLayerSource convs)
        : base(nameof(DenseNetFeatures))
    {
        const string Prefix = "features";
        Conv2d plain0;
        if (stem == DenseNetStem.ImageNet)
        {
            plain0 = Conv2d(3, numInitFeatures, kernel_size: 7, stride: 2, padding: 3, bias: false);
            norm0 = norms.Create(numInitFeatures, Prefix + ".norm0");
            relu0 = ReLU(inplace: true);
            pool0 = MaxPool2d(kernel_size: 3, stride: 2, padding: 1);
        }
        else
        {
            plain0 = Conv2d(3, numInitFeatures, kernel_size: 3, stride: 1, padding: 1, bias: false);
        }

        init.kaiming_normal_(plain0.weight);
        conv0 = convs.Create(plain0, Prefix + ".conv0");
        register_module(nameof(conv0), conv0);
        if (norm0 is not null && relu0 is not null && pool0 is not null)
        {
            register_module(nameof(norm0), norm0);
            register_module(nameof(relu0), relu0);
            register_module(nameof(pool0), pool0);
        }

        blocks = new DenseBlock[blockConfig.Count];
        transitions = new Transition[blockConfig.Count - 1];
        long features = numInitFeatures;
        for (int i = 0; i < blockConfig.Count; i++)
        {
            string number = (i + 1).ToString(CultureInfo.InvariantCulture);
            blocks[i] = new DenseBlock(blockConfig[i], features, growthRate, bnSize, dropRate, memoryEfficient, norms, convs,
                Prefix + ".denseblock" + number);
            register_module("denseblock" + number, blocks[i]);
            features += blockConfig[i] * growthRate;
            if (i < blockConfig.Count - 1)
            {
                transitions[i] = new Transition(features, features / 2, norms, convs, Prefix + ".transition" + number);
                register_module("transition" + number, transitions[i]);
                features /= 2;
            }
        }

        norm5 = norms.Create(features, Prefix + ".norm5");
        register_module(nameof(norm5), norm5);
        NumFeatures = features;

        // Registers nothing new (every field is registered above, in torchvision's order); marks the module as done.
        RegisterComponents();
    }

    /// <summary>The number of channels this extractor outputs (the classifier's input size).</summary>
    public long NumFeatures { get; }

    public override Tensor forward(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        var x = conv0.call(input);
        if (norm0 is not null && relu0 is not null && pool0 is not null)
        {
            x = pool0.call(relu0.call(norm0.call(x)));
        }

        for (int i = 0; i < blocks.Length; i++)
        {
            x = blocks[i].call(x);
            if (i < transitions.Length)
            {
                x = transitions[i].call(x);
            }
        }

        return scope.MoveToOuter(norm5.call(x));
    }
}
