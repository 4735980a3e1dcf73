namespace SelectiveLoss.Numerics;

/// <summary>What the numerics self-check did so that LibTorch's convolutions give right results on this CPU.</summary>
public enum NumericsMitigation
{
    /// <summary>Nothing: the convolutions were right as they are.</summary>
    None,

    /// <summary>oneDNN was asked, before its first use in this process, to use no instruction set above AVX
    /// (<c>DNNL_MAX_CPU_ISA=AVX</c> in the native environment), because an earlier process on this CPU and LibTorch found
    /// wrong results at the full instruction set.</summary>
    OneDnnCappedAtAvx,

    /// <summary>LibTorch's use of oneDNN was turned off for the rest of the process (what PyTorch calls
    /// <c>torch.backends.mkldnn.enabled = False</c>): convolutions run on ATen's own kernels, right but slower.</summary>
    OneDnnDisabled,
}
