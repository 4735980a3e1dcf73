using static TorchSharp.torch;

namespace SelectiveLoss.Numerics;

/// <summary>The convolution the self-check probes and the switch its mitigation turns: LibTorch's in the library, a
/// faulty one in tests.</summary>
internal interface IConvolutionBackend
{
    /// <summary>Gets a value indicating whether <see cref="DisableOneDnn"/> can work in this process.</summary>
    bool CanDisableOneDnn { get; }

    /// <summary>Gets a value indicating whether LibTorch may use oneDNN for convolutions.</summary>
    bool OneDnnEnabled { get; }

    /// <summary>A 2-D convolution with gradient, as <c>torch.nn.functional.conv2d</c>.</summary>
    Tensor Conv2d(Tensor input, Tensor weight, Tensor bias, long stride, long padding);

    /// <summary>Turns LibTorch's use of oneDNN off for the rest of the process.</summary>
    void DisableOneDnn();
}
