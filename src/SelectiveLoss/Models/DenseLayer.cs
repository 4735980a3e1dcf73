using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SelectiveLoss.Models;

/// <summary>
/// One layer of a dense block, as torchvision's <c>_DenseLayer</c>: norm1, ReLU, 1x1 bottleneck conv1 to
/// <c>bn_size * growth_rate</c> channels, norm2, ReLU, 3x3 conv2 to <c>growth_rate</c> channels, then dropout when
/// the drop rate is above zero. Its input is the concatenation of every earlier feature map of the block.
/// </summary>
internal sealed class DenseLayer : Module<Tensor, Tensor>
{
    // Field names are the state_dict keys; norms and convolutions are typed Module<Tensor, Tensor> so that any norm layer
    // and any conv_layer replacement (weight standardisation) fits.
    private readonly Module<Tensor, Tensor> norm1;
    private readonly Module<Tensor, Tensor> relu1;
    private readonly Module<Tensor, Tensor> conv1;
    private readonly Module<Tensor, Tensor> norm2;
    private readonly Module<Tensor, Tensor> relu2;
    private readonly Module<Tensor, Tensor> conv2;

    private readonly double dropRate;
    private readonly bool memoryEfficient;

    public DenseLayer(long numInputFeatures, long growthRate, long bnSize, double dropRate, bool memoryEfficient,
        NormLayerSource norms, ConvLayerSource convs, string prefix)
        : base(nameof(DenseLayer))
    {
        long bottleneck = bnSize * growthRate;
        norm1 = norms.Create(numInputFeatures, prefix + ".norm1");
        relu1 = ReLU(inplace: true);
        Conv2d plain1 = Conv2d(numInputFeatures, bottleneck, kernel_size: 1, stride: 1, bias: false);
        norm2 = norms.Create(bottleneck, prefix + ".norm2");
        relu2 = ReLU(inplace: true);
        Conv2d plain2 = Conv2d(bottleneck, growthRate, kernel_size: 3, stride: 1, padding: 1, bias: false);

        // torchvision's initialisation, in torchvision's order, then the caller's conv_layer (if any).
        init.kaiming_normal_(plain1.weight);
        init.kaiming_normal_(plain2.weight);
        conv1 = convs.Create(plain1, prefix + ".conv1");
        conv2 = convs.Create(plain2, prefix + ".conv2");
        this.dropRate = dropRate;
        this.memoryEfficient = memoryEfficient;
        RegisterComponents();
    }

    /// <summary>Runs the layer on one feature map (a block with a single input).</summary>
    public override Tensor forward(Tensor input) => forward(new[] { input });

    /// <summary>Runs the layer on the block's feature maps so far and returns its <c>growth_rate</c> new channels.</summary>
    public Tensor forward(IReadOnlyList<Tensor> features)
    {
        using var scope = torch.NewDisposeScope();
        Tensor bottleneck = memoryEfficient && torch.is_grad_enabled() && features.Any(f => f.requires_grad)
            ? CheckpointedBottleneck.Apply(this, features)
            : Bottleneck(features);
        var output = conv2.call(relu2.call(norm2.call(bottleneck)));
        if (dropRate > 0)
        {
            output = functional.dropout(output, dropRate, training);
        }

        return scope.MoveToOuter(output);
    }

    /// <summary>The concatenation, norm1, ReLU and conv1: the part that memory-efficient mode recomputes.</summary>
    internal Tensor Bottleneck(IReadOnlyList<Tensor> features)
    {
        using var scope = torch.NewDisposeScope();
        // Always a fresh tensor (even for one input), so that the in-place ReLU never writes into the block's features.
        var concatenated = torch.cat(features.ToArray(), 1);
        return scope.MoveToOuter(conv1.call(relu1.call(norm1.call(concatenated))));
    }

    /// <summary>
    /// Copies norm1's buffers (BatchNorm's running statistics), so that memory-efficient mode can put them back after
    /// recomputing the bottleneck: the forward pass has already moved them once for this batch.
    /// </summary>
    internal List<(Tensor buffer, Tensor saved)> SnapshotNorm1Buffers()
    {
        using var noGrad = torch.no_grad();
        return norm1.buffers().Select(b => (b, b.detach().clone())).ToList();
    }

    /// <summary>
    /// Puts back what <see cref="SnapshotNorm1Buffers"/> copied. Only after the recomputed graph has been
    /// differentiated: BatchNorm's backward checks that the statistics it saved were not changed in place.
    /// </summary>
    internal static void RestoreBuffers(List<(Tensor buffer, Tensor saved)> snapshot)
    {
        using var noGrad = torch.no_grad();
        foreach (var (buffer, saved) in snapshot)
        {
            buffer.copy_(saved);
            saved.Dispose();
        }
    }

    /// <summary>The parameters of <see cref="Bottleneck"/>, in a fixed order.</summary>
    internal IEnumerable<Parameter> BottleneckParameters() => norm1.parameters().Concat(conv1.parameters());
}
