using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SelectiveLoss.Models;

/// <summary>
/// A transition between dense blocks, as torchvision's <c>_Transition</c>: norm, ReLU, 1x1 conv that halves the
/// channels (compression 0.5), 2x2 average pool with stride 2.
/// </summary>
internal sealed class Transition : Module<Tensor, Tensor>
{
    private readonly Module<Tensor, Tensor> norm;
    private readonly Module<Tensor, Tensor> relu;
    private readonly Module<Tensor, Tensor> conv;
    private readonly Module<Tensor, Tensor> pool;

    public Transition(long numInputFeatures, long numOutputFeatures, NormLayerSource norms, ConvLayerSource convs, string prefix)
        : base(nameof(Transition))
    {
        norm = norms.Create(numInputFeatures, prefix + ".norm");
        relu = ReLU(inplace: true);
        Conv2d plain = Conv2d(numInputFeatures, numOutputFeatures, kernel_size: 1, stride: 1, bias: false);
        init.kaiming_normal_(plain.weight);
        conv = convs.Create(plain, prefix + ".conv");
        pool = AvgPool2d(kernel_size: 2, stride: 2);

        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        return scope.MoveToOuter(pool.call(conv.call(relu.call(norm.call(input)))));
    }
}
