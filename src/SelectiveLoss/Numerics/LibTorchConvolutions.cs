using static TorchSharp.torch;

namespace SelectiveLoss.Numerics;

/// <summary>LibTorch's own convolution and its oneDNN switch.</summary>
internal sealed class LibTorchConvolutions : IConvolutionBackend
{
    public static LibTorchConvolutions Instance { get; } = new();

    public bool CanDisableOneDnn => AtenOneDnnSwitch.Available;

    public bool OneDnnEnabled => AtenOneDnnSwitch.Enabled;

    public Tensor Conv2d(Tensor input, Tensor weight, Tensor bias, long stride, long padding) =>
        nn.functional.conv2d(input, weight, bias, strides: new[] { stride, stride }, padding: new[] { padding, padding });

    public void DisableOneDnn() => AtenOneDnnSwitch.Enabled = false;
}
