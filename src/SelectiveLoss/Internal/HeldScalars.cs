using TorchSharp;
using static TorchSharp.torch;

namespace SelectiveLoss.Internal;

/// <summary>
/// Tensor factories whose LibTorch Scalars are created explicitly and disposed after the native call. TorchSharp turns a
/// number passed as a <see cref="Scalar"/> (and the start and step <c>arange</c> fills in) into a finalizable object
/// that only its finalizer frees; the finalizer thread can free it while the native call still reads it. The step and
/// the rules run on every batch, so they hold each Scalar with <c>using</c> instead.
/// </summary>
internal static class HeldScalars
{
    /// <summary>The Int64 positions <c>[start, stop)</c> on <paramref name="device"/>.</summary>
    public static Tensor Arange(long start, long stop, Device device)
    {
        using Scalar first = start.ToScalar(), end = stop.ToScalar(), step = 1L.ToScalar();
        return arange(first, end, step, ScalarType.Int64, device);
    }
}
