using SelectiveLoss.Numerics;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SelectiveLoss.Tests.Numerics;

/// <summary>
/// A convolution backend with a fault injected into its float32 results (the float64 reference stays right), as
/// oneDNN's were on AMD Zen 5. The fault goes away once oneDNN is "disabled" when <c>heals</c>; <c>every</c> makes it
/// intermittent (every k-th float32 call). The convolution itself runs in float64, so no oneDNN primitive runs.
/// </summary>
internal sealed class FaultyConvolutions(string fault, bool heals = true, int every = 1, IConvolutionBackend? disables = null) : IConvolutionBackend
{
    public int Float32Calls { get; private set; }

    public int DisableCalls { get; private set; }

    public bool CanDisableOneDnn => true;

    public bool OneDnnEnabled { get; private set; } = true;

    public void DisableOneDnn()
    {
        DisableCalls++;
        OneDnnEnabled = false;
        disables?.DisableOneDnn();
    }

    public Tensor Conv2d(Tensor input, Tensor weight, Tensor bias, long stride, long padding)
    {
        ScalarType dtype = input.dtype;
        Tensor y = functional.conv2d(input.to(ScalarType.Float64), weight.to(ScalarType.Float64), bias.to(ScalarType.Float64),
            strides: new[] { stride, stride }, padding: new[] { padding, padding }).to(dtype);
        if (dtype != ScalarType.Float32 || (heals && !OneDnnEnabled))
        {
            return y;
        }

        Float32Calls++;
        if (Float32Calls % every != 0)
        {
            return y;
        }

        return fault switch
        {
            // sqrt's gradient at 0 is infinite, times the zero of x * 0: NaN in the input gradient, nothing in the output.
            "nan-backward-data" => y + (input * 0).sqrt().sum(),
            // Adds 1e-2 to every input-gradient element; the output is unchanged (a - a is exactly 0).
            "wrong-backward-data" => y + ((input * 1e-2) - (input * 1e-2).detach()).sum(),
            // Changes the output by 1e-3 of itself; the gradients are unchanged.
            "wrong-forward" => y + (y * 1e-3).detach(),
            // NaN in the first sample's output; the gradients are unchanged.
            "nan-forward" => y + where(zeros_like(y, dtype: ScalarType.Bool).index_fill_(0, tensor(new long[] { 0 }), true), full_like(y, double.NaN), zeros_like(y)).detach(),
            _ => y,
        };
    }
}
